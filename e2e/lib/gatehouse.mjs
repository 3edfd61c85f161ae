// The gatehouse binary under test, on a free loopback port.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.mjs';
import { spawnTracked, makeTempDir, removeTempDir } from './proc.mjs';
import { poll } from './wait.mjs';

const e2eDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** gatehouseBin is $GATEHOUSE_BIN, or ../bin/gatehouse relative to e2e/. */
const execFileP = promisify(execFile);

export const gatehouseBin = process.env.GATEHOUSE_BIN
  ? path.resolve(process.env.GATEHOUSE_BIN)
  : path.resolve(e2eDir, '..', 'bin', 'gatehouse');

/**
 * startGatehouse runs the gatehouse binary (it builds nothing: set
 * GATEHOUSE_BIN or run `go build -o bin/gatehouse ./cmd/gatehouse` first) and
 * resolves once GET /readyz answers 200. Options:
 *   args      the command and its own flags [['dev']]; the helper appends
 *             --addr 127.0.0.1:PORT, --data-dir and --config
 *   port      the port to listen on [a free one]; pass one picked with
 *             freePort() when another program must know the URL first
 *             (e.g. an IdP's redirect_uris)
 *   config    YAML string, or an object written as JSON (JSON is YAML), to
 *             a temp file passed as --config
 *   publicUrl true: the config also sets server.public_url to the URL
 *             the process listens on (a config of '' is just that line)
 *   dataDir   directory for --data-dir [a fresh temp dir, removed on stop];
 *             a path you pass is kept; false passes no --data-dir
 *   env       extra environment; GATEHOUSE_* variables of the outer
 *             environment are not inherited, so only yours apply
 *   readyTimeout  ms to wait for /readyz [15000]
 *   readyPath     the path that must answer 200 ['/readyz']; '/healthz' for a
 *             process that is expected to stay unready
 *   t         node:test context: stop() runs after the test
 * Resolves with
 *   {url, port, dataDir, configFile, proc, pid, stdout(), stderr(), output(),
 *    waitForOutput(re, ms), devApp(), fetch(path, init), stop(), restart()}
 * url is http://127.0.0.1:PORT (the issuer `dev` derives from --addr).
 * stdout() etc. hold the current process's output (each restart starts anew;
 * allOutput() keeps every run's). stop() sends SIGTERM, awaits exit
 * (SIGKILL after 10 s) and resolves with {code, signal, killed}; it also
 * removes the temp dirs the helper made. restart({env}) stops the process and
 * starts the same command on the same port and data dir, then waits for
 * readiness again.
 */
export async function startGatehouse({
  t, args = ['dev'], port, config, dataDir, env = {}, readyTimeout = 15000, readyPath = '/readyz', publicUrl = false,
} = {}) {
  if (!fs.existsSync(gatehouseBin)) {
    throw new Error(`${gatehouseBin} not found: build it with (cd .. && go build -o bin/gatehouse ./cmd/gatehouse) or set GATEHOUSE_BIN`);
  }
  const madeDirs = [];
  let dir = dataDir;
  if (dir === undefined) {
    dir = makeTempDir('gatehouse-e2e-data-');
    madeDirs.push(dir);
  }
  // The process's working directory: the data dir, or an empty temp dir, so
  // that nothing (e.g. the default ./.gatehouse) lands in the checkout.
  let cwd = dir;
  if (!cwd) {
    cwd = makeTempDir('gatehouse-e2e-cwd-');
    madeDirs.push(cwd);
  }
  let configFile;
  if (config !== undefined || publicUrl) {
    const cdir = makeTempDir('gatehouse-e2e-config-');
    madeDirs.push(cdir);
    configFile = path.join(cdir, 'gatehouse.yaml');
  }
  // Written before every launch: with publicUrl it names the current port.
  const writeConfig = () => {
    if (!configFile) return;
    const url = `http://127.0.0.1:${listenPort}`;
    let text;
    if (typeof config === 'object' && config !== null) {
      const c = publicUrl ? { ...config, server: { ...config.server, public_url: url } } : config;
      text = JSON.stringify(c, null, 2);
    } else {
      text = (publicUrl ? `server: {public_url: "${url}"}\n` : '') + (config ?? '');
    }
    fs.writeFileSync(configFile, text);
  };
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
  const pickedPort = port === undefined;
  let listenPort = port ?? await freePort();
  let child;
  let runEnv = env;
  let previous = '';
  let stopped = false;

  const argv = () => [
    ...args,
    '--addr', `127.0.0.1:${listenPort}`,
    ...(dir ? ['--data-dir', dir] : []),
    ...(configFile ? ['--config', configFile] : []),
  ];

  async function launch() {
    for (let attempt = 0; ; attempt++) {
      writeConfig();
      child = spawnTracked(gatehouseBin, argv(), { name: 'gatehouse', env: runEnv, baseEnv, cwd });
      const url = `http://127.0.0.1:${listenPort}`;
      try {
        await poll(async () => {
          if (!child.running()) throw new Error('exited');
          return (await fetch(`${url}${readyPath}`)).status === 200;
        }, { timeout: readyTimeout, interval: 25, what: `${url}${readyPath}` });
        return;
      } catch (err) {
        const exited = !child.running();
        await child.stop({ signal: 'SIGKILL' });
        if (exited && pickedPort && attempt === 0 && /address already in use/i.test(child.output())) {
          listenPort = await freePort();
          continue;
        }
        const ex = await child.exited.catch(() => ({}));
        throw new Error(`gatehouse ${argv().join(' ')} did not become ready (${exited ? `exited ${ex.code ?? ex.signal}` : err.message}); output:\n${child.output()}`);
      }
    }
  }

  await launch();

  const handle = {
    get url() { return `http://127.0.0.1:${listenPort}`; },
    get port() { return listenPort; },
    dataDir: dir || undefined,
    configFile,
    get proc() { return child.proc; },
    get pid() { return child.pid; },
    get child() { return child; },
    stdout: () => child.stdout(),
    stderr: () => child.stderr(),
    output: () => child.output(),
    allOutput: () => previous + child.output(),
    waitForOutput: (re, ms) => child.waitForOutput(re, ms),
    /** devApp parses the `dev` app's key and secret that `gatehouse dev` prints. */
    devApp() {
      const m = child.output().match(/app dev\s+key=(\S+)\s+secret=(\S+)/);
      if (!m) throw new Error(`no dev app key/secret in gatehouse output:\n${child.output()}`);
      return { id: 'dev', key: m[1], secret: m[2] };
    },
    /** fetch is global fetch relative to url. */
    fetch: (p, init) => fetch(new URL(p, `http://127.0.0.1:${listenPort}`), init),
    async stop() {
      if (stopped) return child.exited.then((r) => ({ ...r, killed: false }), () => ({}));
      stopped = true;
      const r = await child.stop({ signal: 'SIGTERM', timeout: 10000 });
      for (const d of madeDirs) removeTempDir(d);
      return r;
    },
    async restart({ env: newEnv } = {}) {
      if (stopped) throw new Error('gatehouse: restart after stop');
      const r = await child.stop({ signal: 'SIGTERM', timeout: 10000 });
      previous += child.output();
      if (newEnv) runEnv = newEnv;
      await launch();
      return r;
    },
  };
  if (t) t.after(async () => { await disconnectPusherClients(); await handle.stop(); });
  return handle;
}

/**
 * runGatehouse runs the binary once with args (a command such as `config
 * check` or a `serve` expected to refuse its config) and resolves with
 * {code, stdout, stderr}; only PATH is inherited from the environment.
 */
export async function runGatehouse(args, { timeout = 20000 } = {}) {
  try {
    const { stdout, stderr } = await execFileP(gatehouseBin, args, { timeout, env: { PATH: process.env.PATH } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    if (typeof err.code !== 'number') throw err;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/**
 * disconnectPusherClients disconnects every pusher-js client still open
 * before a test's Gatehouse stops. A test's after hooks run in the order
 * they were added, so the server (started first) would stop before the
 * test's own client teardown: it tells each socket 4200 "reconnect", and a
 * pusher-js client told that just after its disconnect() starts connecting
 * again and keeps retrying, holding the test file open until its timeout.
 */
async function disconnectPusherClients() {
  const { default: Pusher } = await import('pusher-js');
  for (const p of [...(Pusher.instances ?? [])]) p.disconnect();
}
