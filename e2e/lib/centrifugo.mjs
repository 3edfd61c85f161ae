// Centrifugo v6 (built by scripts/brokers.sh) on a free loopback port.
import fs from 'node:fs';
import path from 'node:path';
import { centrifugoBin } from './brokers.mjs';
import { freePort } from './free-port.mjs';
import { makeTempDir, removeTempDir, spawnTracked } from './proc.mjs';
import { poll } from './wait.mjs';

/**
 * startCentrifugo writes config (an object; `http_server` is set to a free
 * port) to a temp dir, starts Centrifugo and waits for /health. Resolves
 * with {url, ws, port, api(method, body), stop()}. port: a port picked
 * beforehand (freePort) when Gatehouse must know the URL first. The config must enable
 * health and set http_api.key when api() is used.
 */
export async function startCentrifugo({ t, config, port }) {
  port ??= await freePort();
  const dir = makeTempDir('gatehouse-e2e-centrifugo-');
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ ...config, http_server: { address: '127.0.0.1', port }, health: { enabled: true } }, null, 2));
  const proc = spawnTracked(centrifugoBin(), ['--config', file], { name: 'centrifugo' });
  const stop = async () => { await proc.stop(); removeTempDir(dir); };
  if (t) t.after(stop);
  const url = `http://127.0.0.1:${port}`;
  await poll(async () => {
    if (!proc.running()) throw new Error(`centrifugo exited: ${proc.output()}`);
    return (await fetch(`${url}/health`).catch(() => ({ ok: false }))).ok;
  }, { timeout: 20000, what: 'centrifugo /health' });
  return {
    url, port, proc, stop,
    ws: `ws://127.0.0.1:${port}/connection/websocket`,
    api: (method, body) => fetch(`${url}/api/${method}`, {
      method: 'POST', headers: { 'X-API-Key': config.http_api.key, 'content-type': 'application/json' }, body: JSON.stringify(body),
    }),
  };
}
