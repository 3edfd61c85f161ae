// A certified OpenID provider (oidc-provider) issuing JWT access tokens for
// a resource (RFC 8707 resource indicators, client credentials), trusted by
// Gatehouse through discovery and its JWKS on three fronts: the topic
// socket (realtime-pubsub-client), the deepstream webhook (a real
// @deepstream/server) and /pusher/auth (pusher-js). The provider rotates
// its keys mid-test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherJS from 'pusher-js';
import { RealtimeClient } from 'realtime-pubsub-client';
import WS from 'ws';
import { startDeepstream, deepstreamClient } from '../lib/deepstream.mjs';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { startOidcProvider } from '../lib/oidc.mjs';
import { pusherJsOptions } from '../lib/realtime.mjs';
import { poll, waitForEvent, withTimeout } from '../lib/wait.mjs';

const RESOURCE = 'https://realtime.example.test';
const PERMS = {
  'svc-reader': ['realtime:subscriber:read:topic:news-*', 'realtime:subscriber:read:topic:private-chat'],
};

async function startIdP(t) {
  return startOidcProvider({
    t,
    clients: [{
      client_id: 'svc-reader', client_secret: 'svc-reader-secret-0123456789abcdef',
      grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    config: {
      features: {
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({
            scope: 'realtime', audience: RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
      extraTokenClaims: (_ctx, token) => ({ permissions: PERMS[token.clientId] ?? [], name: token.clientId }),
    },
  });
}

/** accessToken gets a JWT access token for the resource by client credentials. */
async function accessToken(idp, client = 'svc-reader') {
  const res = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: 'Basic ' + Buffer.from(`${client}:${client}-secret-0123456789abcdef`).toString('base64'),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'realtime', resource: RESOURCE }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.access_token.split('.').length, 3, 'a JWT access token');
  return body.access_token;
}

function kid(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url')).kid;
}

/** topicHandshake resolves with the status of a topic socket handshake. */
function topicHandshake(gh, token) {
  return withTimeout(new Promise((resolve) => {
    const ws = new WS(`ws://127.0.0.1:${gh.port}/apps/dev?access_token=${encodeURIComponent(token)}`);
    ws.on('open', () => { ws.close(); resolve(101); });
    ws.on('unexpected-response', (_req, res) => { res.resume(); resolve(res.statusCode); });
    ws.on('error', () => {});
  }), 5000, 'handshake');
}

test('JWT access tokens of an OpenID provider, through its JWKS, on the topic socket, deepstream and Pusher auth', async (t) => {
  const idp = await startIdP(t);
  const gh = await startGatehouse({ t, publicUrl: true, config: `
deepstream: {enabled: true}
issuers:
  - name: test-idp
    issuer: ${idp.issuer}
    audience: ${RESOURCE}
    algorithms: [RS256, ES256]
    grants: token
    fronts: [topics, deepstream, pusher]
    insecure_allow_http: true
    jwks_min_refresh: 1s
` });
  const closers = [];
  t.after(() => { for (const c of closers) c(); });
  const token = await accessToken(idp);

  await t.test('/readyz once the JWKS loaded', async () => {
    await poll(async () => (await fetch(`${gh.url}/readyz`)).status === 200, { timeout: 10000, what: 'readyz' });
  });

  await t.test('topic socket', async () => {
    const url = `ws://127.0.0.1:${gh.port}/apps/dev?access_token=${encodeURIComponent(token)}`;
    const client = new RealtimeClient({ websocketOptions: { WebSocket: WS, maxRetries: 0, urlProvider: () => url } });
    client.on('error', () => {});
    closers.push(() => client.disconnect());
    const started = client.waitFor('session.started', { timeout: 5000 });
    await client.connect();
    const [info] = await started;
    assert.deepEqual(info.permissions, PERMS['svc-reader']);
    const denied = new Promise((resolve) => client.on('priv/errors.error', (m) => resolve(m.data.code)));
    client.ws.send(JSON.stringify({ type: 'subscribe', data: { topic: 'admin', id: 'a1' } }));
    assert.equal(await withTimeout(denied, 5000, 'denied'), 'forbidden');
  });

  await t.test('deepstream webhook', async () => {
    const ds = await startDeepstream({ t, webhookUrl: `${gh.url}/webhooks/deepstream` });
    const c = deepstreamClient(ds.url, { t });
    const data = await withTimeout(c.login({ token }), 5000, 'deepstream login');
    assert.equal(data.anon, false);
    const bad = deepstreamClient(ds.url, { t });
    const refused = await withTimeout(bad.login({ token: token.slice(0, -3) + 'AAA' }).then(() => 'allowed', () => 'refused'), 5000, 'bad login');
    assert.equal(refused, 'refused');
  });

  await t.test('pusher auth', async () => {
    const app = gh.devApp();
    const client = new PusherJS(app.key, pusherJsOptions(gh, token));
    closers.push(() => client.disconnect());
    await waitForEvent(client.connection, 'connected', 5000);
    await waitForEvent(client.subscribe('private-chat'), 'pusher:subscription_succeeded', 5000);
    const [err] = await waitForEvent(client.subscribe('private-admin'), 'pusher:subscription_error', 5000, { all: true });
    assert.equal(err.status, 403);
  });

  await t.test('the provider rotates its keys: new tokens verify, old ones stop', async () => {
    const before = kid(token);
    const unused = await accessToken(idp); // old key, never presented (so not cached)
    idp.rotateKeys();
    const fresh = await accessToken(idp);
    assert.notEqual(kid(fresh), before, 'signed with a new key');
    // The unknown kid refetches the JWKS (at most once per jwks_min_refresh).
    await poll(async () => (await topicHandshake(gh, fresh)) === 101, { timeout: 10000, what: 'rotated key accepted' });
    // A token of a key the provider no longer publishes is refused.
    assert.equal(await topicHandshake(gh, unused), 401);
  });
});

test('/readyz names a trusted issuer whose keys never loaded', async (t) => {
  const { freePort } = await import('../lib/free-port.mjs');
  const dead = await freePort(); // nothing listens there
  const gh = await startGatehouse({ t, publicUrl: true, readyPath: '/healthz', config: `
issuers:
  - name: gone-idp
    jwks_url: http://127.0.0.1:${dead}/jwks
    issuer: https://gone.example/
    algorithms: [RS256]
    fronts: [topics]
    insecure_allow_http: true
` });
  const res = await fetch(`${gh.url}/readyz`);
  assert.equal(res.status, 503);
  assert.match(await res.text(), /issuer:gone-idp/);
});
