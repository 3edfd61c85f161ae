// Child processes and temp dirs that never outlive the test process.
//
// Every child started through spawnTracked is killed (SIGKILL) when the test
// process exits for any reason, and every dir made by makeTempDir is removed,
// so a failed or timed-out test leaves nothing running on the machine.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withTimeout } from './wait.mjs';

const children = new Set();
const tempDirs = new Set();
let hooked = false;

function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      cleanupSync();
      process.exit(128 + (os.constants.signals[sig] ?? 1));
    });
  }
}

/** cleanupSync kills every tracked child and removes every tracked temp dir. */
export function cleanupSync() {
  for (const child of children) {
    try {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    } catch { /* already gone */ }
  }
  children.clear();
  for (const dir of tempDirs) {
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ }
  }
  tempDirs.clear();
}

/** makeTempDir creates a fresh private directory removed at process exit. */
export function makeTempDir(prefix = 'gatehouse-e2e-') {
  hookExit();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** removeTempDir removes a dir made by makeTempDir now. */
export function removeTempDir(dir) {
  if (!dir) return;
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/**
 * spawnTracked starts cmd with args, captures its output and returns a handle:
 *   proc                the ChildProcess
 *   stdout(), stderr()  everything printed so far (strings)
 *   output()            both, interleaved in arrival order
 *   exited              promise of {code, signal}, settles when the process ends
 *   running()           true until it ends
 *   waitForOutput(re, ms)  resolves with the match once stdout/stderr match re
 *   stop({signal, timeout})  sends signal (SIGTERM), waits for exit, SIGKILLs
 *                       after timeout ms; resolves with {code, signal, killed}
 * The child's environment is baseEnv (default process.env) plus env.
 * Set E2E_VERBOSE=1 to echo the child's output to the test's stderr.
 */
export function spawnTracked(cmd, args = [], { env, baseEnv = process.env, cwd, name = path.basename(cmd) } = {}) {
  hookExit();
  const proc = spawn(cmd, args, {
    cwd,
    env: { ...baseEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  let out = '';
  let err = '';
  let all = '';
  const watchers = new Set();
  const verbose = process.env.E2E_VERBOSE === '1';
  const onData = (which) => (chunk) => {
    const s = chunk.toString('utf8');
    if (which === 'out') out += s; else err += s;
    all += s;
    if (verbose) process.stderr.write(`[${name}] ${s}`);
    for (const w of watchers) w();
  };
  proc.stdout.on('data', onData('out'));
  proc.stderr.on('data', onData('err'));

  const exited = new Promise((resolve, reject) => {
    proc.once('error', (e) => {
      children.delete(proc);
      reject(new Error(`${name}: cannot start ${cmd}: ${e.message}`));
    });
    proc.once('close', (code, signal) => {
      children.delete(proc);
      for (const w of watchers) w();
      resolve({ code, signal });
    });
  });
  exited.catch(() => {}); // observed through the handle; avoid unhandled rejections

  const running = () => proc.exitCode === null && proc.signalCode === null && children.has(proc);

  function waitForOutput(re, ms = 10000) {
    let watcher;
    const p = new Promise((resolve, reject) => {
      watcher = () => {
        const m = all.match(re);
        if (m) resolve(m);
        else if (!running()) reject(new Error(`${name} exited before printing ${re}; output:\n${all}`));
      };
      watchers.add(watcher);
      watcher();
    });
    return withTimeout(p, ms, `${name} to print ${re}`).finally(() => watchers.delete(watcher));
  }

  async function stop({ signal = 'SIGTERM', timeout = 10000 } = {}) {
    if (!running()) {
      const r = await exited.catch(() => ({ code: null, signal: null }));
      return { ...r, killed: false };
    }
    proc.kill(signal);
    try {
      const r = await withTimeout(exited, timeout, `${name} to exit after ${signal}`);
      return { ...r, killed: false };
    } catch {
      proc.kill('SIGKILL');
      const r = await exited;
      return { ...r, killed: true };
    }
  }

  return {
    proc,
    pid: proc.pid,
    stdout: () => out,
    stderr: () => err,
    output: () => all,
    exited,
    running,
    waitForOutput,
    stop,
  };
}
