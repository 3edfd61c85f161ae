// Login sessions across several gatehouse nodes on one redis-server
// (realtime.backplane: redis): a session too large for its cookie, made on
// node A, is good on node B; a back-channel logout that reaches node B ends
// that session everywhere: its cookie, its tokens and its sockets; and a
// logout on a node that hosts no apps closes the session's sockets on the
// nodes that do (README, "Logging people in" and "Several nodes").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { startRedis } from '../lib/redis.mjs';
import { startOidcProvider, defaultAccounts } from '../lib/oidc.mjs';
import { freePort } from '../lib/free-port.mjs';
import { makeTempDir } from '../lib/proc.mjs';
import { CookieJar, location } from '../lib/http.mjs';
import PusherJS from 'pusher-js';
import {
  pusherAuth, pusherJsOptions, refusedTopicSocket, releaseCloseTimer, topicSocket,
} from '../lib/realtime.mjs';
import { waitForEvent, withTimeout } from '../lib/wait.mjs';

const app = { id: 'sessions', key: 'sessions-key', secret: 'sessions-secret-0123456789' };

// 150 groups: the session (groups, and the ID token kept for the logout
// hint) cannot fit a 4 KiB cookie, so its bulk is kept server-side.
const groups = Array.from({ length: 150 }, (_, i) => `a-rather-long-group-name-${String(i).padStart(3, '0')}`);
const accounts = {
  ...defaultAccounts,
  grace: {
    sub: 'grace', name: 'Grace Hopper', email: 'grace@example.com', email_verified: true,
    roles: ['admin'], groups,
  },
};

/**
 * cluster starts redis-server, oidc-provider and two `gatehouse serve` nodes
 * on that Redis with the same session keys, signing keys and public URL
 * (node A's). The provider sends back-channel logout tokens to node B only.
 * With appsOnA false, node A hosts no apps (`apps: []`): it only logs
 * people in and out.
 */
async function cluster(t, { appsOnA = true } = {}) {
  const redis = await startRedis({ t });
  const [portA, portB] = [await freePort(), await freePort()];
  const publicURL = `http://127.0.0.1:${portA}`;
  const nodeB = `http://127.0.0.1:${portB}`;
  const idp = await startOidcProvider({
    t,
    accounts,
    redirectUris: [`${publicURL}/auth/callback`],
    client: {
      backchannel_logout_uri: `${nodeB}/auth/backchannel-logout`,
      backchannel_logout_session_required: true,
    },
  });
  const key = () => crypto.randomBytes(32).toString('base64');
  const config = {
    server: { public_url: publicURL },
    keys: { dir: makeTempDir('gatehouse-e2e-sessions-keys-') },
    oidc: {
      providers: [{
        name: 'op', issuer: idp.issuer, client_id: idp.client.client_id, client_secret: idp.client.client_secret,
        roles_claim: 'roles', groups_claim: 'groups', insecure_allow_http: true,
      }],
      session: { hash_keys: [key()], block_keys: [key()], max_age: '12h', idle_timeout: '1h' },
    },
    policy: { rules: [{ when: { authenticated: true }, subscribe: ['private-*'] }] },
    apps: [app],
    realtime: { backplane: 'redis', redis: { url: redis.url } },
  };
  // One at a time: the first node generates the signing keys the other loads.
  const a = await startGatehouse({ t, args: ['serve'], port: portA, config: appsOnA ? config : { ...config, apps: [] } });
  const b = await startGatehouse({ t, args: ['serve'], port: portB, config });
  return { redis, idp, a, b };
}

/** login signs name in through node A and resolves with the session cookie. */
async function login(a, idp, name) {
  const jar = new CookieJar();
  const res = await jar.fetch(`${a.url}/auth/login?provider=op&return_to=/`);
  assert.equal(res.status, 302, 'login redirects to the IdP');
  const idpJar = new CookieJar();
  const back = await idp.login(location(res, a.url), name, { jar: idpJar });
  const cb = await jar.fetch(back);
  assert.equal(cb.status, 302, `callback: ${cb.status} ${await cb.text()}`);
  const cookie = jar.get(a.url, 'gatehouse');
  assert.ok(cookie, 'session cookie set');
  return { cookie: `gatehouse=${cookie.value}`, idpJar };
}

function me(gh, cookie) {
  return fetch(`${gh.url}/auth/me`, { headers: { cookie } });
}

/** token mints a realtime token from the session cookie on node gh. */
function token(gh, cookie, origin) {
  return fetch(`${gh.url}/token`, { method: 'POST', headers: { cookie, origin } });
}

/** idpLogout ends the provider session in idpJar (RP-less, confirmed). */
async function idpLogout(idp, idpJar) {
  const doc = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
  let res = await idpJar.fetch(doc.end_session_endpoint);
  assert.equal(res.status, 200, 'logout confirmation form');
  const html = await res.text();
  const xsrf = html.match(/name="xsrf" value="([^"]+)"/)[1];
  const action = new URL(html.match(/action="([^"]+)"/)[1], idp.issuer);
  res = await idpJar.fetch(action.toString(), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }),
  });
  assert.ok(res.status >= 300 && res.status < 400, `IdP logout: ${res.status}`);
}

test('a session kept server-side on node A is whole on node B; a back-channel logout on B ends it on every node', async (t) => {
  const { redis, idp, a, b } = await cluster(t);
  const { cookie, idpJar } = await login(a, idp, 'grace');
  const origin = a.url; // the public URL's origin, the same for both nodes

  // The session's bulk went to Redis, for as long as the session lives.
  const spilled = await redis.command('KEYS', 'gatehouse:session:*');
  assert.equal(spilled.length, 1, 'one session part in Redis');
  const ttl = await redis.command('PTTL', spilled[0]);
  assert.ok(ttl > 11.9 * 3600e3 && ttl <= 12 * 3600e3 + 1000, `spill ttl ${ttl} ms`);
  assert.ok(cookie.length < 4096);

  // Node B reads it whole and mints from it.
  for (const gh of [a, b]) {
    const res = await me(gh, cookie);
    assert.equal(res.status, 200, `${gh.url} /auth/me`);
    const body = await res.json();
    assert.equal(body.sub, 'grace');
    assert.deepEqual(body.groups, groups);
  }
  const minted = await token(b, cookie, origin);
  assert.equal(minted.status, 200, `node B /token: ${await minted.clone().text()}`);
  const { access_token: tok } = await minted.json();

  // Sockets opened with the token on both nodes.
  const onA = await topicSocket(a, tok, app.id);
  const onB = await topicSocket(b, tok, app.id);
  for (const gh of [a, b]) assert.equal((await pusherAuth(gh, tok, 'private-x')).status, 200);

  // The provider ends its session; its logout token reaches node B, which
  // never saw this login.
  await idpLogout(idp, idpJar);
  const [ca, cb] = await withTimeout(Promise.all([onA.closed, onB.closed]), 5000,
    'sockets of the session closed after the back-channel logout on node B');
  assert.equal(ca.code, 4003);
  assert.equal(cb.code, 4003);
  assert.deepEqual(idp.errors, [], 'the provider delivered the logout token');

  for (const gh of [a, b]) {
    assert.equal((await me(gh, cookie)).status, 401, `${gh.url} /auth/me after the logout`);
    assert.equal((await token(gh, cookie, origin)).status, 401, `${gh.url} /token after the logout`);
    assert.equal((await pusherAuth(gh, tok, 'private-x')).status, 401, `${gh.url} /pusher/auth with the token`);
    const refused = await refusedTopicSocket(gh, tok, app.id);
    assert.ok(refused === 401 || (refused >= 4000 && refused < 5000), `${gh.url} refused with ${refused}`);
    assert.doesNotMatch(gh.output(), /panic/);
  }
  assert.match(b.output(), /back-channel logout/);
});

test('a logout on a node that hosts no apps closes the session\'s sockets on the other nodes within 1 s', async (t) => {
  const { a, b, idp } = await cluster(t, { appsOnA: false });
  const { cookie } = await login(a, idp, 'grace');
  const origin = a.url;
  const minted = await token(a, cookie, origin);
  assert.equal(minted.status, 200, `node A /token: ${await minted.clone().text()}`);
  const { access_token: tok } = await minted.json();
  assert.equal((await pusherAuth(a, tok, 'private-x')).status, 404, 'node A hosts no apps');

  // On node B: a topic socket opened with the token, and a pusher-js socket
  // whose private channel B's /pusher/auth authorized with it.
  const topic = await topicSocket(b, tok, app.id);
  const pusher = new PusherJS(app.key, pusherJsOptions(b, tok));
  t.after(() => pusher.disconnect());
  await waitForEvent(pusher.connection, 'connected', 5000);
  await waitForEvent(pusher.subscribe('private-x'), 'pusher:subscription_succeeded', 5000);
  const pusherClosed = new Promise((resolve) => {
    pusher.connection.bind('state_change', ({ current }) => { if (current !== 'connected') resolve(Date.now()); });
  });

  const res = await fetch(`${a.url}/auth/logout`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ return_to: '/' }),
  });
  const loggedOut = Date.now();
  assert.ok(res.status >= 300 && res.status < 400, `logout on node A: ${res.status}`);
  const [tc, pAt] = await withTimeout(Promise.all([topic.closed, pusherClosed]), 1000,
    'sockets on node B closed after the logout on node A');
  assert.equal(tc.code, 4003);
  assert.ok(tc.at - loggedOut <= 1000 && pAt - loggedOut <= 1000);
  releaseCloseTimer(pusher.connection.connection?.transport?.socket);
  assert.equal((await pusherAuth(b, tok, 'private-x')).status, 401, 'node B refuses the token');
  for (const gh of [a, b]) assert.doesNotMatch(gh.output(), /panic/);
});
