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

/**
 * startRedisCluster runs a Redis Cluster of `primaries` primaries with
 * `replicas` replicas each (redis-server with cluster mode on, node timeout
 * 1 s, no persistence), joined by `redis-cli --cluster create` as an
 * operator would, and waits until every node says the cluster is ok and
 * every replica is in sync. Resolves with
 *   {nodes: [{port, addr, command, kill(), start()}], addrs,
 *    primaryFor(key): the node holding key's slot,
 *    replicaOf(node): the node replicating it,
 *    healthy(): resolves once the cluster is ok again}.
 */
export async function startRedisCluster({ t, primaries = 3, replicas = 1 } = {}) {
  const { execFile } = await import('node:child_process');
  const nodes = [];
  for (let i = 0; i < primaries * (1 + replicas); i++) {
    const port = await freePort();
    // The cluster bus defaults to port + 10000, which may be taken: give
    // it a free port of its own.
    const busPort = await freePort();
    const dir = makeTempDir('gatehouse-e2e-redis-cluster-');
    const node = {
      port,
      addr: `127.0.0.1:${port}`,
      command: (...cmd) => redisCommand(port, cmd),
      child: null,
      async start() {
        node.child = spawnTracked(process.env.REDIS_SERVER_BIN || 'redis-server', [
          '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
          '--daemonize', 'no', '--dir', dir, '--loglevel', 'warning',
          '--cluster-enabled', 'yes', '--cluster-config-file', `${dir}/nodes.conf`, '--cluster-node-timeout', '1000',
          '--cluster-port', String(busPort),
        ], { name: 'redis-cluster-node' });
        await poll(async () => {
          if (!node.child.running()) throw new Error(`redis-server exited: ${node.child.output()}`);
          return (await redisCommand(port, ['PING'], 500).catch(() => '')) === 'PONG';
        }, { timeout: 10000, interval: 25, what: `cluster node ${port} PING` });
      },
      /** kill ends the server with SIGKILL, as a crash would. */
      kill: () => node.child.stop({ signal: 'SIGKILL' }),
    };
    if (t) t.after(async () => { await node.child?.stop(); removeTempDir(dir); });
    await node.start();
    nodes.push(node);
  }
  const addrs = nodes.map((n) => n.addr);
  await new Promise((resolve, reject) => {
    execFile('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', String(replicas), '--cluster-yes'],
      (err, stdout, stderr) => (err ? reject(new Error(`redis-cli --cluster create: ${err.message}\n${stdout}${stderr}`)) : resolve()));
  });
  const live = () => nodes.filter((n) => n.child.running());
  async function healthy() {
    await poll(async () => {
      for (const n of live()) {
        const info = await n.command('CLUSTER', 'INFO').catch(() => '');
        if (!info.includes('cluster_state:ok') || !info.includes(`cluster_size:${primaries}`)) return false;
        const repl = await n.command('INFO', 'replication').catch(() => '');
        if (repl.includes('role:slave') && !repl.includes('master_link_status:up')) return false;
      }
      return true;
    }, { timeout: 30000, interval: 50, what: 'redis cluster ok' });
  }
  await healthy();
  /** nodesView parses CLUSTER NODES as one live node sees it. */
  async function nodesView() {
    const text = await live()[0].command('CLUSTER', 'NODES');
    return text.trim().split('\n').map((line) => {
      const f = line.split(' ');
      return { id: f[0], addr: f[1].split('@')[0], flags: f[2].split(','), master: f[3], slots: f.slice(8) };
    });
  }
  const byAddr = (addr) => nodes.find((n) => n.addr === addr);
  return {
    nodes,
    addrs,
    healthy,
    async primaryFor(key) {
      const slot = await live()[0].command('CLUSTER', 'KEYSLOT', key);
      for (const n of await nodesView()) {
        if (!n.flags.includes('master') || n.flags.includes('fail')) continue;
        for (const range of n.slots) {
          const [lo, hi = lo] = range.split('-').map(Number);
          if (slot >= lo && slot <= hi) return byAddr(n.addr);
        }
      }
      throw new Error(`no primary holds slot ${slot}`);
    },
    async replicaOf(node) {
      const view = await nodesView();
      const me = view.find((n) => n.addr === node.addr);
      const r = view.find((n) => n.master === me.id && !n.flags.includes('fail'));
      if (!r) throw new Error(`no replica of ${node.addr}`);
      return byAddr(r.addr);
    },
  };
}

/**
 * eventStream returns the Redis key of the event stream that carries a
 * channel's events (Gatehouse's default key prefix and 16 shards: FNV-1a
 * of app, NUL, channel).
 */
export function eventStream(app, channel, { prefix = 'gatehouse:', shards = 16 } = {}) {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(`${app}\0${channel}`)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${prefix}ev:{${h % shards}}`;
}
