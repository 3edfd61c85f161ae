// A throwaway redis-server on loopback, with no persistence.
import net from 'node:net';
import { freePort } from './free-port.mjs';
import { spawnTracked, makeTempDir, removeTempDir } from './proc.mjs';
import { poll, withTimeout } from './wait.mjs';

/**
 * startRedis runs `redis-server` from PATH (Debian package redis-server) on a
 * free 127.0.0.1 port with `--save "" --appendonly no`, waits until PING
 * answers PONG and returns
 *   {url: "redis://127.0.0.1:PORT/0", host, port, command(...args), stop()}.
 * Pass {t} (a node:test context) to stop it automatically after the test.
 */
export async function startRedis({ t, bin = process.env.REDIS_SERVER_BIN || 'redis-server', args = [] } = {}) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const dir = makeTempDir('gatehouse-e2e-redis-');
    const child = spawnTracked(bin, [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--protected-mode', 'yes',
      '--daemonize', 'no',
      '--dir', dir,
      '--loglevel', 'warning',
      ...args,
    ], { name: 'redis-server' });
    try {
      await poll(async () => {
        if (!child.running()) throw new Error(`redis-server exited: ${child.output()}`);
        return (await redisCommand(port, ['PING'], 500)) === 'PONG';
      }, { timeout: 10000, interval: 25, what: 'redis-server PING' });
    } catch (err) {
      await child.stop();
      removeTempDir(dir);
      if (attempt === 0 && /in use/i.test(child.output())) continue;
      throw err;
    }
    const handle = {
      url: `redis://127.0.0.1:${port}/0`,
      host: '127.0.0.1',
      port,
      child,
      /** command sends one command and resolves with its decoded reply. */
      command: (...cmd) => redisCommand(port, cmd),
      async stop() {
        const r = await child.stop();
        removeTempDir(dir);
        return r;
      },
    };
    if (t) t.after(() => handle.stop());
    return handle;
  }
}

/**
 * redisCommand opens a connection to 127.0.0.1:port, sends one command in
 * RESP and resolves with the decoded reply (string, number, null, array);
 * an error reply rejects.
 */
export function redisCommand(port, args, ms = 5000) {
  const p = new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('connect', () => {
      let req = `*${args.length}\r\n`;
      for (const a of args) {
        const b = Buffer.from(String(a));
        req += `$${b.length}\r\n${b.toString('binary')}\r\n`;
      }
      sock.write(Buffer.from(req, 'binary'));
    });
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const r = parseReply(buf, 0);
      if (!r) return;
      sock.end();
      if (r.value instanceof Error) reject(r.value); else resolve(r.value);
    });
  });
  return withTimeout(p, ms, `redis ${args[0]}`);
}

function parseReply(buf, i) {
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[i]);
  const line = buf.toString('utf8', i + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+': return { value: line, next };
    case '-': return { value: new Error(line), next };
    case ':': return { value: Number(line), next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      if (buf.length < next + n + 2) return null;
      return { value: buf.toString('utf8', next, next + n), next: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      const out = [];
      let j = next;
      for (let k = 0; k < n; k++) {
        const r = parseReply(buf, j);
        if (!r) return null;
        out.push(r.value);
        j = r.next;
      }
      return { value: out, next: j };
    }
    default:
      return { value: new Error(`unexpected RESP type ${type}`), next };
  }
}
