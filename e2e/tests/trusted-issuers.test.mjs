// Bring your own identity provider: tokens Gatehouse did not mint, signed
// with the `jsonwebtoken` package exactly as the 21no.de examples do (RS256
// and ES512 PEM keys, an HS256 secret, `permissions`, `issuer`, `subject`,
// `expiresIn`), opening realtime-pubsub-client sockets through an app's
// auth_key and publishing through its admin_key on /api/topics/{id}/publish.
// The app config is the one docs/trusted-issuers.md shows; the seed app,
// as in SPEC section 11, has no Pusher key and secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import { RealtimeClient } from 'realtime-pubsub-client';
import WS from 'ws';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { withTimeout } from '../lib/wait.mjs';

const pem = (k) => k.export({ type: 'spki', format: 'pem' });
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' });
const otherRsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const adminSecret = crypto.randomBytes(32).toString('base64url');
const ISSUER = 'https://auth.example.org/';

const READ = (t) => `realtime:subscriber:read:topic:${t}`;
const WRITE = (t) => `realtime:publisher:write:topic:${t}`;

function indent(text, n) {
  return text.trim().split('\n').join('\n' + ' '.repeat(n));
}

const config = `
apps:
  - id: seed                        # no key/secret: JWT-topic clients only (SPEC section 11)
    grants: token                   # the token's permissions decide, as on 21no.de
    auth_key:
      source: raw
      key: |
        ${indent(pem(rsa.publicKey), 8)}
      algorithms: [RS256]
      issuer: ["${ISSUER}"]
    admin_key:
      source: raw
      key: "${adminSecret}"
      algorithms: [HS256]
      audience: www.example.org
      issuer: []
  - id: curve
    key: curve-key
    secret: curve-secret-0123456789
    grants: token
    gatehouse_tokens: false
    auth_key:
      source: raw
      key: |
        ${indent(pem(ec.publicKey), 8)}
      algorithms: [ES512]
      issuer: ["${ISSUER}"]
`;

/** userToken signs a socket token as the 21no.de examples do. */
function userToken(permissions, { key = rsa.privateKey, algorithm = 'RS256', issuer = ISSUER, expiresIn = '5m', subject = 'user-1' } = {}) {
  return jwt.sign({ permissions }, key, { algorithm, issuer, subject, expiresIn });
}

/** adminToken signs a publish-API token with the app's HS secret. */
function adminToken(permissions, { secret = adminSecret, algorithm = 'HS256', audience = 'www.example.org', expiresIn = '5m' } = {}) {
  return jwt.sign({ permissions }, secret, { algorithm, audience, subject: 'backend', expiresIn });
}

/** handshake resolves with the HTTP status of a WebSocket handshake to app with token. */
function handshake(gh, app, token) {
  return withTimeout(new Promise((resolve) => {
    const ws = new WS(`ws://127.0.0.1:${gh.port}/apps/${app}?access_token=${encodeURIComponent(token)}`);
    ws.on('open', () => { ws.close(); resolve(101); });
    ws.on('unexpected-response', (_req, res) => { res.resume(); resolve(res.statusCode); });
    ws.on('error', () => {});
  }), 5000, 'handshake');
}

async function connect(gh, app, token, closers) {
  const url = `ws://127.0.0.1:${gh.port}/apps/${app}?access_token=${encodeURIComponent(token)}`;
  const client = new RealtimeClient({ websocketOptions: { WebSocket: WS, maxRetries: 0, urlProvider: () => url } });
  client.on('error', () => {});
  closers.push(() => client.disconnect());
  const started = client.waitFor('session.started', { timeout: 5000 });
  await client.connect();
  const [info] = await started;
  return { client, info };
}

let seq = 0;
/** subscribe subscribes with an id; resolves 'ok' on the ack or the error code. */
function subscribe(client, topic) {
  const id = `s${++seq}`;
  return withTimeout(new Promise((resolve) => {
    client.on(`ack.${id}`, () => resolve('ok'));
    client.on('priv/errors.error', (m) => { if (m.data.id === id) resolve(m.data.code); });
    client.ws.send(JSON.stringify({ type: 'subscribe', data: { topic, id } }));
  }), 5000, `subscribe ${topic}`);
}

/** publish posts to the app's publish API as a backend would (axios-style JSON POST). */
function publish(gh, app, token, body) {
  return fetch(`${gh.url}/api/topics/${app}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

test('21no.de app keys: RS256 and ES512 sockets, HS256 publishing, every refusal', async (t) => {
  const closers = [];
  t.after(() => { for (const c of closers) c(); });
  const gh = await startGatehouse({ t, config });

  const { client, info } = await connect(gh, 'seed', userToken([READ('chat.*'), WRITE('chat.room')]), closers);
  assert.deepEqual(info.permissions, [READ('chat.*'), WRITE('chat.room')]);
  assert.equal(await subscribe(client, 'chat.room'), 'ok');
  assert.equal(await subscribe(client, 'admin'), 'forbidden', 'a topic the token does not grant');

  // The backend publishes with the admin key; the socket receives it.
  const got = client.waitFor('chat.room.text-message', { timeout: 5000 });
  let res = await publish(gh, 'seed', adminToken([WRITE('chat.*')]), { topic: 'chat.room', messageType: 'text-message', message: { hello: 'world' } });
  assert.equal(res.status, 200, await res.text());
  const [m] = await got;
  assert.deepEqual(m.data.payload, { hello: 'world' });
  assert.equal(m.data.client.sub, 'backend');

  // Refusals of the publish API.
  const msg = { topic: 'chat.room', messageType: 'x', message: 1 };
  res = await publish(gh, 'seed', adminToken([WRITE('other')]), msg);
  assert.equal(res.status, 403, 'denied by permission');
  for (const [what, tok] of [
    ['wrong audience', adminToken([WRITE('*')], { audience: 'elsewhere' })],
    ['wrong algorithm', adminToken([WRITE('*')], { algorithm: 'HS384' })],
    ['expired', adminToken([WRITE('*')], { expiresIn: -10 })],
    ['another secret', adminToken([WRITE('*')], { secret: crypto.randomBytes(32).toString('base64url') })],
    ['the auth key is not the admin key', userToken([WRITE('*')])],
  ]) {
    res = await publish(gh, 'seed', tok, msg);
    assert.equal(res.status, 401, what);
    assert.equal((await res.json()).error, 'invalid_token', what);
  }

  // Refusals of the socket handshake.
  for (const [what, app, tok] of [
    ['wrong issuer', 'seed', userToken([READ('*')], { issuer: 'https://evil.example/' })],
    ['expired', 'seed', userToken([READ('*')], { expiresIn: -10 })],
    ['key of another app', 'seed', userToken([READ('*')], { key: ec.privateKey, algorithm: 'ES512' })],
    ['unknown key', 'seed', userToken([READ('*')], { key: otherRsa.privateKey })],
    ['alg confusion: the PEM as an HS secret', 'seed', jwt.sign({ permissions: [READ('*')] }, pem(rsa.publicKey), { algorithm: 'HS256', issuer: ISSUER, subject: 'x', expiresIn: '5m' })],
    ['RS256 on the ES512 app', 'curve', userToken([READ('*')])],
  ]) {
    assert.equal(await handshake(gh, app, tok), 401, what);
  }

  // ES512 opens the curve app, which refuses Gatehouse's own tokens.
  const c2 = await connect(gh, 'curve', userToken([READ('feed')], { key: ec.privateKey, algorithm: 'ES512' }), closers);
  assert.equal(await subscribe(c2.client, 'feed'), 'ok');
  const anon = await (await fetch(`${gh.url}/token/anonymous`, { method: 'POST' })).json();
  assert.equal(await handshake(gh, 'curve', anon.access_token), 401, 'gatehouse_tokens: false');
  assert.equal(await handshake(gh, 'seed', anon.access_token), 101, 'gatehouse tokens still open the seed app');
});

test('config check explains a bad trusted key by its key and warns about an empty issuer list', async (t) => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { gatehouseBin } = await import('../lib/gatehouse.mjs');
  const { makeTempDir, removeTempDir } = await import('../lib/proc.mjs');
  const dir = makeTempDir('gatehouse-trust-');
  t.after(() => removeTempDir(dir));
  const run = (cfg) => {
    const f = path.join(dir, 'c.yaml');
    fs.writeFileSync(f, `server: {addr: 127.0.0.1:18999, public_url: http://127.0.0.1:18999}\nkeys: {dir: ${dir}/keys}\n${cfg}`);
    return promisify(execFile)(gatehouseBin, ['config', 'check', '--config', f]).then((r) => ({ code: 0, ...r }), (e) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
  };
  let r = await run('issuers: [{name: svc, secret: too-short, algorithms: [HS256]}]\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /issuers\[0\] \(line 3\): secret: 9 bytes is too short/);
  r = await run(`issuers: [{name: svc, secret: "${adminSecret}", algorithms: [HS256], audience: api}]\n`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: issuers\[0\] \(svc\): no issuer list/);
  assert.doesNotMatch(r.stdout, new RegExp(adminSecret), 'the secret is redacted');
});
