// soketi (a Pusher-protocol server) on loopback, as a reference peer.
//
// soketi's cluster discovery (node-discover) always starts and, unless told
// otherwise, binds 0.0.0.0 and broadcasts UDP hellos to 255.255.255.255. This
// helper always forces loopback: SOKETI_HOST, SOKETI_METRICS_HOST and
// SOKETI_CLUSTER_HOST are 127.0.0.1 and SOKETI_CLUSTER_UNICAST_ADDRESSES is
// 127.0.0.1 (unicast replaces broadcast). SOKETI_CLUSTER_HOST only names the
// node; the UDP socket's bind address is `cluster.address`, which has no env
// variable, so it is set to 127.0.0.1 through a --config JSON file as well.
// Never start soketi another way.
import dgram from 'node:dgram';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { freePort } from './free-port.mjs';
import { spawnTracked, makeTempDir, removeTempDir } from './proc.mjs';
import { poll } from './wait.mjs';

const require = createRequire(import.meta.url);

/** The env that keeps soketi on loopback; applied last, over any caller env. */
export const soketiLoopbackEnv = {
  SOKETI_HOST: '127.0.0.1',
  SOKETI_METRICS_HOST: '127.0.0.1',
  SOKETI_CLUSTER_HOST: '127.0.0.1',
  SOKETI_CLUSTER_UNICAST_ADDRESSES: '127.0.0.1',
};

async function freeUdpPort() {
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', resolve);
  });
  const { port } = sock.address();
  await new Promise((r) => sock.close(r));
  return port;
}

/**
 * startSoketi runs @soketi/soketi 1.6.1 with one app and resolves with
 *   {host, port, appId, key, secret, wsHost, httpUrl, child, stop()}
 * once GET / answers. Options: appId/key/secret ['app-id','app-key',
 * 'app-secret'], env (extra SOKETI_* settings), t (node:test context).
 */
export async function startSoketi({
  t, appId = 'app-id', key = 'app-key', secret = 'app-secret', env = {},
} = {}) {
  const bin = path.join(path.dirname(require.resolve('@soketi/soketi/package.json')), 'bin', 'server.js');
  const port = await freePort();
  const metricsPort = await freePort();
  const clusterPort = await freeUdpPort();
  const dir = makeTempDir('gatehouse-e2e-soketi-');
  const configFile = path.join(dir, 'soketi.json');
  fs.writeFileSync(configFile, JSON.stringify({
    'cluster.address': '127.0.0.1',
    // Tests stop it at once; soketi waits 3 s for clients by default.
    shutdownGracePeriod: 100,
  }));
  const child = spawnTracked(process.execPath, [bin, 'start', `--config=${configFile}`], {
    name: 'soketi',
    env: {
      SOKETI_PORT: String(port),
      SOKETI_METRICS_SERVER_PORT: String(metricsPort),
      SOKETI_CLUSTER_PORT: String(clusterPort),
      SOKETI_DEFAULT_APP_ID: appId,
      SOKETI_DEFAULT_APP_KEY: key,
      SOKETI_DEFAULT_APP_SECRET: secret,
      SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: 'true',
      ...env,
      ...soketiLoopbackEnv,
    },
  });
  const httpUrl = `http://127.0.0.1:${port}`;
  try {
    await poll(async () => {
      if (!child.running()) throw new Error(`soketi exited: ${child.output()}`);
      return (await fetch(`${httpUrl}/`)).ok;
    }, { timeout: 20000, interval: 50, what: 'soketi GET /' });
  } catch (err) {
    await child.stop({ signal: 'SIGKILL' });
    removeTempDir(dir);
    throw err;
  }
  const handle = {
    host: '127.0.0.1',
    port,
    metricsPort,
    appId,
    key,
    secret,
    wsHost: '127.0.0.1',
    httpUrl,
    child,
    async stop() {
      const r = await child.stop({ timeout: 5000 });
      removeTempDir(dir);
      return r;
    },
  };
  if (t) t.after(() => handle.stop());
  return handle;
}
