// Centrifugo v6's connect, refresh, subscribe and publish proxies answered
// by Gatehouse, against a real Centrifugo and the centrifuge npm client:
// connect by token, by session cookie, anonymously; refused when the
// credential is bad or logged out; subscribe and publish decided by the
// policy; a logout ends live Centrifugo connections within 1 s (server
// API), also when the logout reaches another node of a Redis-backed pair,
// and without the API at the next refresh. The configurations are
// docs/centrifugo.md's (e2e/configs/centrifugo-proxy.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WS from 'ws';
import { Centrifuge } from 'centrifuge';
import jwt from 'jsonwebtoken';
import { startCentrifugo } from '../lib/centrifugo.mjs';
import { devLogin, logout, sessionToken } from '../lib/devidp.mjs';
import { freePort } from '../lib/free-port.mjs';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { launchBrowser } from '../lib/browser.mjs';
import { startRedis } from '../lib/redis.mjs';
import { startOidcProvider } from '../lib/oidc.mjs';
import { makeTempDir } from '../lib/proc.mjs';
import { CookieJar, location } from '../lib/http.mjs';
import { withTimeout } from '../lib/wait.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROXY_SECRET = 'e2e-proxy-secret-0123456789';
const API_KEY = 'e2e-centrifugo-api-key-0123456789';

/**
 * gatehouseConfig is docs/centrifugo.md's Gatehouse config
 * (e2e/configs/gatehouse-centrifugo.yaml), without its `api` line when api
 * is false, plus a trusted issuer for the trusted-issuer case.
 */
function gatehouseConfig({ api = true } = {}) {
  let yaml = fs.readFileSync(path.join(here, '..', 'configs', 'gatehouse-centrifugo.yaml'), 'utf8');
  if (!api) yaml = yaml.split('\n').filter((l) => !l.startsWith('  api:')).join('\n');
  return yaml + `
issuers:
  - name: svc
    issuer: https://svc.example/
    secret: e2e-service-hs256-secret-0123456789abcdef
    algorithms: [HS256]
    audience: centrifugo
    grants: token
    fronts: [centrifugo]
`;
}

/** rig starts Gatehouse and Centrifugo, each knowing the other's URL. */
async function rig(t, opts) {
  const ghPort = await freePort();
  const cfPort = await freePort();
  const ghURL = `http://127.0.0.1:${ghPort}`;
  const gh = await startGatehouse({
    t, port: ghPort, publicUrl: true, config: gatehouseConfig(opts),
    env: { CENTRIFUGO_PROXY_SECRET: PROXY_SECRET, CENTRIFUGO_API_URL: `http://127.0.0.1:${cfPort}/api`, CENTRIFUGO_API_KEY: API_KEY },
  });
  const cf = await startCentrifugo({ t, config: centrifugoConfig(ghURL), port: cfPort });
  return { gh, cf };
}

/** centrifugoConfig is docs/centrifugo.md's Centrifugo config, pointed at ghURL. */
function centrifugoConfig(ghURL) {
  const raw = fs.readFileSync(path.join(here, '..', 'configs', 'centrifugo-proxy.json'), 'utf8')
    .replaceAll('GATEHOUSE_URL', ghURL).replaceAll('PROXY_SECRET', PROXY_SECRET).replaceAll('CENTRIFUGO_API_KEY', API_KEY);
  return JSON.parse(raw);
}

/** wsWith is a WebSocket class sending headers on the handshake (a browser's cookie). */
function wsWith(headers) {
  return class extends WS {
    constructor(url, protocols) { super(url, protocols, { headers }); }
  };
}

function firstOf(events, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`none of ${events.map((e) => e[1]).join(', ')} within ${ms} ms`)), ms);
    for (const [emitter, event, label] of events) {
      emitter.once(event, (ctx) => { clearTimeout(timer); resolve({ [label]: ctx ?? true }); });
    }
  });
}

async function connect(t, cf, { data, headers } = {}) {
  const client = new Centrifuge(cf.ws, { websocket: headers ? wsWith(headers) : WS, data, maxReconnectDelay: 100000, minReconnectDelay: 100000 });
  t.after(() => client.disconnect());
  const outcome = firstOf([[client, 'connected', 'connected'], [client, 'disconnected', 'disconnected']]);
  client.connect();
  return { client, ...(await outcome) };
}

/**
 * connectServerSide connects and resolves with the channels the connect
 * reply subscribed server-side. centrifuge-js emits 'connected' and then, in
 * the same call, one 'subscribed' per server-side subscription: by the next
 * turn of the event loop all of them have been seen.
 */
async function connectServerSide(t, cf, data) {
  const client = new Centrifuge(cf.ws, { websocket: WS, data, maxReconnectDelay: 100000, minReconnectDelay: 100000 });
  t.after(() => client.disconnect());
  const serverSide = [];
  client.on('subscribed', (ctx) => serverSide.push(ctx.channel));
  const ready = new Promise((resolve) => client.once('connected', () => setImmediate(resolve)));
  client.connect();
  await withTimeout(ready, 10000, 'connected');
  return { client, serverSide };
}

async function subscribe(client, channel) {
  const sub = client.newSubscription(channel);
  const outcome = firstOf([[sub, 'subscribed', 'subscribed'], [sub, 'unsubscribed', 'refused'], [sub, 'error', 'refused']]);
  sub.subscribe();
  return { sub, ...(await outcome) };
}

test('centrifugo proxy: token, cookie and anonymous connects; the policy decides subscribe and publish', async (t) => {
  const { gh, cf } = await rig(t);

  await t.test('connect with a Gatehouse token in the connect data', async () => {
    const token = await sessionToken(gh, 'ada');
    const { client, connected } = await connect(t, cf, { data: { token } });
    assert.ok(connected, 'connected');
    assert.equal(connected.client.length > 0, true);
    const { sub, subscribed } = await subscribe(client, 'chat:room');
    assert.ok(subscribed, 'chat:room granted');
    const got = firstOf([[sub, 'publication', 'pub']]);
    assert.equal((await cf.api('publish', { channel: 'chat:room', data: { n: 1 } })).status, 200);
    assert.deepEqual((await got).pub.data, { n: 1 });
    await sub.publish({ from: 'ada' }); // the publish proxy allows chat:*
    const pub = await subscribe(client, 'public:news');
    assert.ok(pub.subscribed);
    await assert.rejects(pub.sub.publish({ spam: true }), (e) => e.code === 103, 'publish on public:* refused by the policy');
  });

  await t.test('server-side subscription to exactly the literal channel the policy grants', async () => {
    const token = await sessionToken(gh, 'hana');
    const { client, serverSide } = await connectServerSide(t, cf, { token });
    assert.equal(serverSide.length, 1, `server-side: ${serverSide} (chat:* and public:* are patterns)`);
    const [channel] = serverSide;
    assert.match(channel, /^personal:./, 'personal:{sub} subscribed by the server');
    const got = firstOf([[client, 'publication', 'pub']]);
    assert.equal((await cf.api('publish', { channel, data: { to: 'hana' } })).status, 200);
    const { pub } = await got;
    assert.equal(pub.channel, channel);
    assert.deepEqual(pub.data, { to: 'hana' });
    // Nobody subscribes there by asking, not even another logged-in user.
    const other = (await connect(t, cf, { data: { token: await sessionToken(gh, 'ivan') } })).client;
    assert.ok((await subscribe(other, channel)).refused, `another user asking for ${channel}`);
  });

  await t.test('connect with a trusted issuer\'s token; its permissions decide', async () => {
    const token = jwt.sign({ permissions: ['realtime:subscriber:read:topic:chat:ops'] }, 'e2e-service-hs256-secret-0123456789abcdef',
      { algorithm: 'HS256', issuer: 'https://svc.example/', audience: 'centrifugo', subject: 'svc-1', expiresIn: '5m' });
    // chat:ops, a literal, comes as a server-side subscription.
    const { serverSide } = await connectServerSide(t, cf, { token });
    assert.deepEqual(serverSide, ['chat:ops']);
    const other = (await connect(t, cf, { data: { token } })).client;
    assert.ok((await subscribe(other, 'chat:room')).refused, 'not in the token\'s permissions');
  });

  await t.test('connect with the session cookie a browser on the same site sends', async () => {
    const jar = await devLogin(gh.url, 'bob');
    const { client, connected } = await connect(t, cf, { headers: { Cookie: jar.header(gh.url) } });
    assert.ok(connected);
    assert.ok((await subscribe(client, 'chat:room')).subscribed);
  });

  await t.test('anonymous: public channels only', async () => {
    const { client, connected } = await connect(t, cf);
    assert.ok(connected);
    assert.ok((await subscribe(client, 'public:news')).subscribed);
    assert.ok((await subscribe(client, 'chat:room')).refused, 'chat:* is for logged-in users');
  });

  await t.test('bad credentials are refused, never anonymous instead', async () => {
    const token = await sessionToken(gh, 'carol');
    const tampered = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    assert.ok((await connect(t, cf, { data: { token: tampered } })).disconnected);
    assert.ok((await connect(t, cf, { headers: { Authorization: 'Bearer nope' } })).disconnected);
    assert.ok((await connect(t, cf, { headers: { Cookie: 'gatehouse=forged' } })).disconnected);
  });

  await t.test('a proxy request without the shared header is refused', async () => {
    const ask = (headers) => fetch(`${gh.url}/webhooks/centrifugo/connect`, { method: 'POST', body: '{"client":"x"}', headers: { 'content-type': 'application/json', ...headers } });
    assert.equal((await ask({})).status, 401);
    assert.equal((await ask({ 'X-Centrifugo-Proxy-Key': PROXY_SECRET.slice(0, -1) + 'X' })).status, 401, 'a near miss is refused');
    assert.equal((await ask({ 'X-Centrifugo-Proxy-Key': PROXY_SECRET + 'X' })).status, 401, 'a longer value is refused');
    const ok = await ask({ 'X-Centrifugo-Proxy-Key': PROXY_SECRET });
    assert.equal(ok.status, 200);
    assert.ok((await ok.json()).result.user, 'with the header: an anonymous identity');
  });

  await t.test('logout ends live Centrifugo connections within 1 s, and the cookie is refused after', async () => {
    const jar = await devLogin(gh.url, 'dave');
    const cookie = jar.header(gh.url);
    const { client, connected } = await connect(t, cf, { headers: { Cookie: cookie } });
    assert.ok(connected);
    const gone = firstOf([[client, 'disconnected', 'gone']], 1000);
    assert.equal((await logout(gh.url, jar)).status, 302);
    const { gone: ctx } = await gone;
    assert.equal(ctx.code, 4501);
    assert.ok((await connect(t, cf, { headers: { Cookie: cookie } })).disconnected, 'the logged-out cookie is refused');
  });
});

test('centrifugo proxy without the server API: the refresh proxy ends a logged-out session\'s connection', async (t) => {
  const { gh, cf } = await rig(t, { api: false });
  const jar = await devLogin(gh.url, 'erin');
  const { client, connected } = await connect(t, cf, { headers: { Cookie: jar.header(gh.url) } });
  assert.ok(connected);
  // The server closing the connection shows as 'connecting' (the client
  // would reconnect, and its logged-out cookie would then be refused).
  const gone = firstOf([[client, 'disconnected', 'gone'], [client, 'connecting', 'gone']], 10000);
  assert.equal((await logout(gh.url, jar)).status, 302);
  // refresh_interval 2s: Centrifugo asks the refresh proxy, which answers
  // expired, and Centrifugo closes the connection.
  const { gone: ctx } = await gone;
  assert.equal(ctx.code, 3005, `closed as expired (${ctx.code} ${ctx.reason})`);
});

test('centrifugo proxy in Chromium: a page on Gatehouse\'s site connects to Centrifugo with the session cookie', async (t) => {
  const { gh, cf } = await rig(t);
  // The account page's CSP forbids inline scripts; the test injects the
  // client library as one, so the context bypasses CSP.
  const b = await launchBrowser({ t, timeout: 15000, contextOptions: { bypassCSP: true } });
  const { page } = b;
  await page.goto(gh.url + '/login');
  await page.click('#login-dev');
  await page.waitForSelector('#username');
  await page.fill('#username', 'grace');
  await Promise.all([page.waitForURL(gh.url + '/account'), page.click('#login')]);
  // centrifuge-js in the page; the browser sends the cookie of 127.0.0.1
  // (cookies ignore ports) on the WebSocket handshake to Centrifugo.
  await page.addScriptTag({ path: path.join(here, '..', 'node_modules', 'centrifuge', 'dist', 'centrifuge.js') });
  const result = await page.evaluate(async (ws) => {
    const c = new window.Centrifuge(ws);
    const connected = new Promise((resolve, reject) => {
      c.on('connected', (ctx) => resolve(ctx));
      c.on('disconnected', (ctx) => reject(new Error(`disconnected ${ctx.code} ${ctx.reason}`)));
    });
    c.connect();
    const ctx = await connected;
    const sub = c.newSubscription('chat:room');
    const subscribed = new Promise((resolve, reject) => {
      sub.on('subscribed', () => resolve(true));
      sub.on('unsubscribed', (e) => reject(new Error(`unsubscribed ${e.code}`)));
    });
    sub.subscribe();
    await subscribed;
    c.disconnect();
    return { client: ctx.client, ok: true };
  }, cf.ws);
  assert.equal(result.ok, true);
  assert.ok(result.client);
});

test('two nodes on Redis: a logout on node B ends, within 1 s, the Centrifugo connection node A let in', async (t) => {
  const redis = await startRedis({ t });
  const [portA, portB, cfPort] = [await freePort(), await freePort(), await freePort()];
  const publicURL = `http://127.0.0.1:${portA}`;
  const idp = await startOidcProvider({ t, redirectUris: [`${publicURL}/auth/callback`] });
  const key = () => crypto.randomBytes(32).toString('base64');
  // docs/centrifugo.md's Gatehouse config, plus what two nodes share: the
  // public URL, signing keys, session keys and Redis.
  const config = gatehouseConfig() + `
server: {public_url: "${publicURL}"}
keys: {dir: "${makeTempDir('gatehouse-e2e-cf-keys-')}"}
oidc:
  providers:
    - {name: op, issuer: "${idp.issuer}", client_id: "${idp.client.client_id}", client_secret: "${idp.client.client_secret}", insecure_allow_http: true}
  session: {hash_keys: ["${key()}"], block_keys: ["${key()}"]}
realtime: {backplane: redis, redis: {url: "${redis.url}"}}
`;
  const env = { CENTRIFUGO_PROXY_SECRET: PROXY_SECRET, CENTRIFUGO_API_URL: `http://127.0.0.1:${cfPort}/api`, CENTRIFUGO_API_KEY: API_KEY };
  // One at a time: the first node generates the signing keys the other loads.
  const a = await startGatehouse({ t, args: ['serve'], port: portA, config, env });
  const b = await startGatehouse({ t, args: ['serve'], port: portB, config, env });
  // Centrifugo asks node A only.
  const cf = await startCentrifugo({ t, config: centrifugoConfig(a.url), port: cfPort });

  const jar = new CookieJar();
  const res = await jar.fetch(`${a.url}/auth/login?provider=op&return_to=/`);
  assert.equal(res.status, 302);
  assert.equal((await jar.fetch(await idp.login(location(res, a.url), 'ada'))).status, 302, 'callback sets the session');
  const cookie = jar.header(a.url);
  const { client, connected } = await connect(t, cf, { headers: { Cookie: cookie } });
  assert.ok(connected, 'connected through node A with the session cookie');
  assert.ok((await subscribe(client, 'chat:room')).subscribed);

  const gone = firstOf([[client, 'disconnected', 'gone']], 1000);
  const out = await fetch(`${b.url}/auth/logout`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie, origin: publicURL, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ return_to: '/' }),
  });
  assert.ok(out.status >= 300 && out.status < 400, `logout on node B: ${out.status}`);
  assert.equal((await gone).gone.code, 4501, 'node A disconnected it through the server API');
  assert.ok((await connect(t, cf, { headers: { Cookie: cookie } })).disconnected, 'the logged-out cookie is refused');
  for (const gh of [a, b]) assert.doesNotMatch(gh.output(), /panic/);
});

test('docs/centrifugo.md shows exactly the configs this file runs', () => {
  const doc = fs.readFileSync(path.join(here, '..', '..', 'docs', 'centrifugo.md'), 'utf8');
  const blocks = [...doc.matchAll(/```(yaml|json)\n([\s\S]*?)```/g)].map((m) => m[2]);
  for (const file of ['gatehouse-centrifugo.yaml', 'centrifugo-proxy.json']) {
    const want = fs.readFileSync(path.join(here, '..', 'configs', file), 'utf8');
    assert.ok(blocks.includes(want), `docs/centrifugo.md has a block equal to e2e/configs/${file}`);
  }
});
