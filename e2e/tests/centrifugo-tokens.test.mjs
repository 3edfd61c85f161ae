// Gatehouse's Centrifugo token shapes against a real Centrifugo v6: the
// connection token and subscription tokens verify through Gatehouse's JWKS,
// and one visitor keeps one identity across both shapes (anonymous and
// logged in), so Centrifugo's "token user mismatch" never happens. The
// flows are the ones docs/centrifugo.md shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { Centrifuge } from 'centrifuge';
import { centrifugoBin } from '../lib/brokers.mjs';
import { devLogin } from '../lib/devidp.mjs';
import { freePort } from '../lib/free-port.mjs';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { makeTempDir, removeTempDir, spawnTracked } from '../lib/proc.mjs';
import { poll, waitForEvent } from '../lib/wait.mjs';

const API_KEY = 'e2e-centrifugo-api-key';

/** startCentrifugo runs Centrifugo v6 trusting gh's JWKS (the config of docs/centrifugo.md). */
async function startCentrifugo(t, gh) {
  const port = await freePort();
  const dir = makeTempDir('gatehouse-e2e-centrifugo-');
  const config = {
    client: {
      token: {
        jwks_public_endpoint: `${gh.url}/.well-known/jwks.json`,
        audience: 'centrifugo',
        issuer: gh.url,
        // Loopback HTTP in the test; production points at https.
        insecure_skip_jwks_endpoint_safety_check: true,
      },
    },
    channel: { namespaces: [{ name: 'public' }, { name: 'chat' }] },
    http_api: { key: API_KEY },
    http_server: { address: '127.0.0.1', port },
    health: { enabled: true },
  };
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  const proc = spawnTracked(centrifugoBin(), ['--config', file], { name: 'centrifugo' });
  t.after(async () => { await proc.stop(); removeTempDir(dir); });
  const url = `http://127.0.0.1:${port}`;
  await poll(async () => (await fetch(`${url}/health`).catch(() => ({ ok: false }))).ok, { timeout: 20000, what: 'centrifugo /health' });
  return {
    ws: `ws://127.0.0.1:${port}/connection/websocket`,
    publish: (channel, data) => fetch(`${url}/api/publish`, {
      method: 'POST', headers: { 'X-API-Key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ channel, data }),
    }),
  };
}

/** token POSTs to gh path with init and returns the bare JWT. */
async function bareToken(gh, pathAndQuery, headers = {}) {
  const res = await fetch(`${gh.url}${pathAndQuery}`, { method: 'POST', headers: { accept: 'application/jwt', ...headers } });
  const body = await res.text();
  if (res.status !== 200) throw Object.assign(new Error(`${pathAndQuery}: ${res.status} ${body}`), { status: res.status });
  return body;
}

/**
 * firstOf resolves with {[label]: payload} of the first of events to fire:
 * a list of [emitter, event, label]; it rejects after ms.
 */
function firstOf(events, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`none of ${events.map((e) => e[1]).join(', ')} within ${ms} ms`)), ms);
    for (const [emitter, event, label] of events) {
      emitter.once(event, (ctx) => { clearTimeout(timer); resolve({ [label]: ctx ?? true }); });
    }
  });
}

/** connect opens a centrifuge-js client with token and waits for the outcome. */
async function connect(cf, token) {
  const client = new Centrifuge(cf.ws, { websocket: WebSocket, token });
  const outcome = firstOf([[client, 'connected', 'connected'], [client, 'disconnected', 'disconnected']]);
  client.connect();
  return { client, ...(await outcome) };
}

/**
 * subscribe subscribes client to channel with getToken and waits for the
 * outcome: Centrifugo answers a token of another user or channel by
 * disconnecting the client (3500 invalid token), other refusals unsubscribe.
 */
async function subscribe(client, channel, getToken) {
  const sub = client.newSubscription(channel, { getToken });
  const outcome = firstOf([
    [sub, 'subscribed', 'subscribed'], [sub, 'unsubscribed', 'refused'], [client, 'disconnected', 'refused'],
  ]);
  sub.subscribe();
  return { sub, ...(await outcome) };
}

/** receives checks that sub gets what Centrifugo's HTTP API publishes. */
async function receives(cf, sub, channel) {
  const got = waitForEvent(sub, 'publication', 10000);
  const res = await cf.publish(channel, { n: 1 });
  assert.equal(res.status, 200, await res.text());
  assert.deepEqual((await got).data, { n: 1 });
}

function tamper(jwt) {
  const [h, p, s] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.sub = 'someone-else';
  return [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
}

test('centrifugo v6 accepts Gatehouse tokens through the JWKS, one identity per visitor', async (t) => {
  const gh = await startGatehouse({ t, config: `policy:
  anonymous: {subscribe: ["public:*"]}
  rules:
    - when: {authenticated: true}
      subscribe: ["public:*", "chat:*"]
` });
  const cf = await startCentrifugo(t, gh);
  const clients = [];
  t.after(() => { for (const c of clients) c.disconnect(); });

  await t.test('anonymous: one Gatehouse token buys the connection and subscription tokens', async () => {
    const own = await bareToken(gh, '/token/anonymous');
    const bearer = { authorization: `Bearer ${own}` };
    const conn = await bareToken(gh, '/token/anonymous?profile=centrifugo', bearer);
    const { client, connected } = await connect(cf, conn);
    clients.push(client);
    assert.ok(connected, 'anonymous connection token accepted');
    assert.match(connected.client, /.+/);
    const { sub, subscribed } = await subscribe(client, 'public:room',
      () => bareToken(gh, '/token/anonymous?profile=centrifugo-sub&channel=public:room', bearer));
    assert.ok(subscribed, 'subscription token of the same visitor accepted');
    await receives(cf, sub, 'public:room');

    // Without the bearer each request is a new visitor: Centrifugo refuses
    // the subscription token of another user (the defect this fixes).
    const fresh = async () => {
      const c = (await connect(cf, await bareToken(gh, '/token/anonymous?profile=centrifugo', bearer))).client;
      clients.push(c);
      return c;
    };
    const other = await subscribe(await fresh(), 'public:other',
      () => bareToken(gh, '/token/anonymous?profile=centrifugo-sub&channel=public:other'));
    assert.ok(other.refused, 'a subscription token for another user is refused');

    // A subscription token minted for another channel is refused.
    const wrong = await subscribe(await fresh(), 'public:lobby',
      () => bareToken(gh, '/token/anonymous?profile=centrifugo-sub&channel=public:room', bearer));
    assert.ok(wrong.refused, 'a token for another channel is refused');

    // Gatehouse refuses a channel the anonymous policy does not grant.
    await assert.rejects(bareToken(gh, '/token/anonymous?profile=centrifugo-sub&channel=chat:index', bearer), (e) => e.status === 403);
  });

  await t.test('anonymous: a tampered connection token is refused', async () => {
    const own = await bareToken(gh, '/token/anonymous');
    const conn = await bareToken(gh, '/token/anonymous?profile=centrifugo', { authorization: `Bearer ${own}` });
    const { client, connected, disconnected } = await connect(cf, tamper(conn));
    clients.push(client);
    assert.ok(!connected, 'tampered token refused');
    assert.ok(disconnected);
  });

  await t.test('logged in: the session buys both tokens; tampered and ungranted are refused', async () => {
    const jar = await devLogin(gh.url, 'ada');
    const session = { cookie: jar.header(gh.url), origin: gh.url };
    const conn = await bareToken(gh, '/token?profile=centrifugo', session);
    const { client, connected } = await connect(cf, conn);
    clients.push(client);
    assert.ok(connected, 'logged-in connection token accepted');
    const { sub, subscribed } = await subscribe(client, 'chat:index',
      () => bareToken(gh, '/token?profile=centrifugo-sub&channel=chat:index', session));
    assert.ok(subscribed);
    await receives(cf, sub, 'chat:index');

    const fresh = async () => {
      const c = (await connect(cf, await bareToken(gh, '/token?profile=centrifugo', session))).client;
      clients.push(c);
      return c;
    };
    const wrong = await subscribe(await fresh(), 'chat:other',
      () => bareToken(gh, '/token?profile=centrifugo-sub&channel=chat:index', session));
    assert.ok(wrong.refused, 'a token for another channel is refused');
    const forged = await subscribe(await fresh(), 'chat:forged',
      async () => tamper(await bareToken(gh, '/token?profile=centrifugo-sub&channel=chat:forged', session)));
    assert.ok(forged.refused, 'a tampered subscription token is refused');

    const bad = await connect(cf, tamper(conn));
    clients.push(bad.client);
    assert.ok(!bad.connected, 'tampered connection token refused');
  });
});
