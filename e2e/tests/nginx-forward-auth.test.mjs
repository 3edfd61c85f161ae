// nginx's auth_request and Nchan's nchan_authorize_request answered by
// Gatehouse, with Debian's nginx + libnginx-mod-nchan (e2e/configs/nginx.conf,
// the configuration docs/nginx.md shows) and Chromium: a WebSocket app
// behind one login (allowed with the session cookie, a redirect to the login
// without it, 403 without the role), and an Nchan channel the policy lets
// people read but only admins write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import WS, { WebSocketServer } from 'ws';
import { launchBrowser } from '../lib/browser.mjs';
import { devLogin, sessionToken } from '../lib/devidp.mjs';
import { freePort } from '../lib/free-port.mjs';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { startNginx } from '../lib/nginx.mjs';
import { withTimeout } from '../lib/wait.mjs';

/** upstream is the app behind nginx: it greets X-User and echoes WebSocket messages. */
async function upstream(t) {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<title>app</title><p id=who>hello ${req.headers['x-user'] ?? 'nobody'}</p>`);
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => ws.on('message', (m) => ws.send(`${req.headers['x-user']}: ${m}`)));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => { wss.close(); server.closeAllConnections(); server.close(r); }));
  return server.address().port;
}

async function rig(t) {
  const ghPort = await freePort();
  const nginxPort = await freePort();
  // The nginx URL is known before nginx starts: Gatehouse's login accepts
  // it as return_to.
  const gh = await startGatehouse({ t, port: ghPort, publicUrl: true, config: `
oidc:
  redirect_allowlist: ["http://127.0.0.1:${nginxPort}"]
policy:
  anonymous: {subscribe: ["news"]}
  rules:
    - when: {authenticated: true}
      subscribe: ["news"]
    - when: {role: admin}
      subscribe: ["*"]
      publish: ["*"]
` });
  const up = await upstream(t);
  const nginx = await startNginx({ t, port: nginxPort, vars: { GATEHOUSE: `127.0.0.1:${ghPort}`, UPSTREAM_PORT: up } });
  return { gh, nginx };
}

test('nginx auth_request: a WebSocket app behind one login, in Chromium', async (t) => {
  const { gh, nginx } = await rig(t);
  const b = await launchBrowser({ t, timeout: 15000 });
  const { page } = b;

  // Not logged in: nginx sends the browser to Gatehouse's login, and the
  // login brings it back to the app.
  await page.goto(`${nginx.url}/app/`);
  assert.ok(page.url().startsWith(`${gh.url}/login?return_to=`), `at Gatehouse's login page: ${page.url()}`);
  await page.click('#login-dev');
  await page.waitForSelector('#username');
  await page.fill('#username', 'ada');
  await page.click('#login');
  await page.waitForSelector('#who'); // the app, after the login's redirects
  assert.equal(page.url(), `${nginx.url}/app/`);
  assert.equal(await page.textContent('#who'), 'hello dev|ada');

  // The page's WebSocket through nginx carries the cookie: allowed.
  const echo = await page.evaluate((url) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.onopen = () => ws.send('ping');
    ws.onmessage = (e) => { resolve(e.data); ws.close(); };
    ws.onerror = () => reject(new Error('websocket refused'));
  }), nginx.url.replace('http', 'ws') + '/app/ws');
  assert.equal(echo, 'dev|ada: ping');

  // Without the admin role: 403.
  const admin = await page.goto(`${nginx.url}/admin/`);
  assert.equal(admin.status(), 403);

  // A WebSocket without the cookie is refused by nginx (401, no upgrade).
  const status = await withTimeout(new Promise((resolve) => {
    const ws = new WS(nginx.url.replace('http', 'ws') + '/app/ws');
    ws.on('open', () => { ws.close(); resolve(101); });
    ws.on('unexpected-response', (_q, res) => { res.resume(); resolve(res.statusCode); });
    ws.on('error', () => {});
  }), 5000, 'handshake');
  assert.equal(status, 302, 'sent to the login instead');

  // An admin gets in.
  const root = await devLogin(gh.url, 'root', ['admin']);
  const res = await fetch(`${nginx.url}/admin/`, { headers: { cookie: root.header(gh.url) }, redirect: 'manual' });
  assert.equal(res.status, 200);
  assert.match(await res.text(), /hello dev\|root/);
});

test('Gatehouse refuses to send the login anywhere but allowed origins', async (t) => {
  const { gh } = await rig(t);
  const res = await fetch(`${gh.url}/auth/verify`, { headers: { 'X-Original-URL': 'https://evil.example/steal' } });
  assert.equal(res.status, 401);
  const login = res.headers.get('x-auth-request-redirect');
  assert.ok(login.startsWith(`${gh.url}/login?return_to=`));
  const page = await (await fetch(login)).text();
  assert.doesNotMatch(page, /evil\.example/, 'the login page drops an off-allowlist return_to');
});

test('Nchan: the policy lets anyone read the news channel and only admins publish', async (t) => {
  const { gh, nginx } = await rig(t);
  const sub = new WS(nginx.url.replace('http', 'ws') + '/sub/news');
  t.after(() => sub.close());
  await withTimeout(new Promise((resolve, reject) => { sub.once('open', resolve); sub.once('unexpected-response', (_q, r) => reject(new Error(`subscribe ${r.statusCode}`))); }), 5000, 'nchan subscriber');
  const got = new Promise((resolve) => sub.once('message', (m) => resolve(String(m))));

  // A logged-in member may read but not publish.
  const member = await sessionToken(gh, 'bob');
  let res = await fetch(`${nginx.url}/pub/news`, { method: 'POST', body: 'from bob', headers: { authorization: `Bearer ${member}` } });
  assert.equal(res.status, 403);
  res = await fetch(`${nginx.url}/pub/news`, { method: 'POST', body: 'anonymous' });
  assert.equal(res.status, 403);
  // An admin publishes; the subscriber receives it.
  const admin = await sessionToken(gh, 'root', ['admin']);
  res = await fetch(`${nginx.url}/pub/news`, { method: 'POST', body: 'breaking', headers: { authorization: `Bearer ${admin}` } });
  assert.ok(res.status >= 200 && res.status < 300, `admin publish: ${res.status}`);
  assert.equal(await withTimeout(got, 5000, 'nchan message'), 'breaking');

  // A channel the policy does not let anyone read.
  const denied = await withTimeout(new Promise((resolve) => {
    const ws = new WS(nginx.url.replace('http', 'ws') + '/sub/secret');
    ws.on('open', () => { ws.close(); resolve(101); });
    ws.on('unexpected-response', (_q, r) => { r.resume(); resolve(r.statusCode); });
    ws.on('error', () => {});
  }), 5000, 'secret subscribe');
  assert.equal(denied, 403);
});
