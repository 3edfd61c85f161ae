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

/**
 * startSentinelSet runs a Redis primary, one replica and three sentinels
 * (quorum 2, down-after 1 s) on free loopback ports and waits until the
 * sentinels know the replica and each other. Resolves with
 *   {masterName, primary, replica, sentinels: [{port, command}], addrs,
 *    master(): port of the current primary, failover(): forces a failover
 *    and resolves with the new primary's port}.
 */
export async function startSentinelSet({ t, masterName = 'gatehouse' } = {}) {
  const primary = await startRedis({ t });
  const replica = await startRedis({ t, args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  await poll(async () => /master_link_status:up/.test(await replica.command('INFO', 'replication')),
    { timeout: 10000, what: 'replica in sync' });
  const sentinels = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const dir = makeTempDir('gatehouse-e2e-sentinel-');
    const conf = `${dir}/sentinel.conf`;
    (await import('node:fs')).writeFileSync(conf, [
      `port ${port}`, 'bind 127.0.0.1', 'daemonize no', `dir ${dir}`, 'loglevel warning',
      `sentinel monitor ${masterName} 127.0.0.1 ${primary.port} 2`,
      `sentinel down-after-milliseconds ${masterName} 1000`,
      `sentinel failover-timeout ${masterName} 5000`,
      `sentinel parallel-syncs ${masterName} 1`,
    ].join('\n') + '\n');
    const child = spawnTracked(process.env.REDIS_SERVER_BIN || 'redis-server', [conf, '--sentinel'], { name: 'redis-sentinel' });
    const s = { port, child, command: (...cmd) => redisCommand(port, cmd), stop: async () => { await child.stop(); removeTempDir(dir); } };
    if (t) t.after(() => s.stop());
    await poll(async () => (await redisCommand(port, ['PING'], 500).catch(() => '')) === 'PONG', { timeout: 10000, what: 'sentinel PING' });
    sentinels.push(s);
  }
  await poll(async () => {
    for (const s of sentinels) {
      const replicas = await s.command('SENTINEL', 'REPLICAS', masterName);
      const others = await s.command('SENTINEL', 'SENTINELS', masterName);
      if (replicas.length < 1 || others.length < 2) return false;
    }
    return true;
  }, { timeout: 20000, interval: 100, what: 'sentinels discover the replica and each other' });
  const master = async () => Number((await sentinels[0].command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName))[1]);
  return {
    masterName, primary, replica, sentinels,
    addrs: sentinels.map((s) => `127.0.0.1:${s.port}`),
    master,
    async failover() {
      const before = await master();
      await sentinels[0].command('SENTINEL', 'FAILOVER', masterName);
      await poll(async () => (await master()) !== before, { timeout: 20000, interval: 50, what: 'sentinel failover' });
      return master();
    },
  };
}
