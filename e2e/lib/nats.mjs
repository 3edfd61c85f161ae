// nats-server v2 (built by scripts/brokers.sh) on free loopback ports.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { natsServerBin } from './brokers.mjs';
import { accepting, freePort } from './free-port.mjs';
import { makeTempDir, removeTempDir, spawnTracked } from './proc.mjs';
import { poll } from './wait.mjs';

const e2eDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * startNats runs nats-server with e2e/configs/nats-server.conf, its
 * placeholders filled from vars, and waits until both its client and
 * websocket listeners accept connections. Resolves with {url, wsUrl, port,
 * output(), stop()}.
 */
export async function startNats({ t, vars }) {
  const port = await freePort();
  const wsPort = await freePort();
  const dir = makeTempDir('gatehouse-e2e-nats-');
  let conf = fs.readFileSync(path.join(e2eDir, 'configs', 'nats-server.conf'), 'utf8')
    .replaceAll('NATS_WS_PORT', String(wsPort)).replaceAll('NATS_PORT', String(port));
  for (const [k, v] of Object.entries(vars)) conf = conf.replaceAll(k, v);
  const file = path.join(dir, 'nats.conf');
  fs.writeFileSync(file, conf);
  let proc;
  const start = async () => {
    proc = spawnTracked(natsServerBin(), ['-c', file], { name: 'nats-server' });
    // Both listeners: the client port being up says nothing of the websocket one.
    await poll(async () => {
      if (!proc.running()) throw new Error(`nats-server exited: ${proc.output()}`);
      return await accepting(port) && await accepting(wsPort);
    }, { timeout: 10000, what: 'nats-server listening (client and websocket ports)' });
  };
  await start();
  const handle = {
    url: `nats://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    port,
    output: () => proc.output(),
    async stop() { await proc.stop(); removeTempDir(dir); },
  };
  if (t) t.after(() => handle.stop());
  return handle;
}
