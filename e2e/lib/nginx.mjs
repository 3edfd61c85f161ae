// Debian's nginx with libnginx-mod-nchan, on a free loopback port, with its
// own prefix, pid file and temp dirs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { accepting, freePort } from './free-port.mjs';
import { makeTempDir, removeTempDir, spawnTracked } from './proc.mjs';
import { poll } from './wait.mjs';

const e2eDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * startNginx runs nginx with e2e/configs/<config>, its placeholders (PREFIX,
 * NGINX_PORT and vars) filled in, and waits until it listens. Resolves with
 * {url, port, prefix, errorLog(), stop()}. port: one picked beforehand
 * (freePort) when another program must know the URL first.
 */
export async function startNginx({ t, config = 'nginx.conf', vars = {}, port, bin = process.env.NGINX_BIN || '/usr/sbin/nginx' }) {
  port ??= await freePort();
  const prefix = makeTempDir('gatehouse-e2e-nginx-');
  // Workers may run as another user: let them use the temp dirs.
  fs.chmodSync(prefix, 0o777);
  fs.mkdirSync(path.join(prefix, 'tmp'), { mode: 0o777 });
  let conf = fs.readFileSync(path.join(e2eDir, 'configs', config), 'utf8')
    .replaceAll('PREFIX', prefix).replaceAll('NGINX_PORT', String(port));
  for (const [k, v] of Object.entries(vars)) conf = conf.replaceAll(k, String(v));
  const file = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(file, conf);
  const proc = spawnTracked(bin, ['-p', prefix, '-c', file, '-e', path.join(prefix, 'error.log'), '-g', 'daemon off;'], { name: 'nginx' });
  await poll(async () => {
    if (!proc.running()) throw new Error(`nginx exited: ${proc.output()}\n${readLog(prefix)}`);
    return accepting(port);
  }, { timeout: 10000, what: 'nginx listening' });
  const handle = {
    url: `http://127.0.0.1:${port}`,
    port,
    prefix,
    errorLog: () => readLog(prefix),
    async stop() { await proc.stop(); removeTempDir(prefix); },
  };
  if (t) t.after(() => handle.stop());
  return handle;
}

function readLog(prefix) {
  try { return fs.readFileSync(path.join(prefix, 'error.log'), 'utf8'); } catch { return ''; }
}
