// The `pusher` server SDK as an oracle: for the same app, socket id, channel
// and user, its authorizeChannel / authenticateUser output must equal what
// gatehouse's /pusher/auth and /pusher/user-auth answer, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Pusher from 'pusher';
import { CookieJar, location, parseForm } from '../lib/http.mjs';
import { freePort } from '../lib/free-port.mjs';
import { makeTempDir, spawnTracked } from '../lib/proc.mjs';
import { poll } from '../lib/wait.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.GATEHOUSE_BIN || path.join(root, 'bin', 'gatehouse');

const app = {
  id: 'chat',
  key: '278d425bdf160c739803',
  secret: '7ad3773142a6692b25b8',
  masterKey: crypto.randomBytes(32).toString('base64'),
};

async function startGatehouse(t, config) {
  assert.ok(fs.existsSync(binary), `${binary} missing: go build -o bin/gatehouse ./cmd/gatehouse`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = makeTempDir('gatehouse-pusher-');
  const file = path.join(dataDir, 'gatehouse.yaml');
  fs.writeFileSync(file, `server: {public_url: "${base}"}\n${config}`);
  const gh = spawnTracked(binary, ['dev', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir, '--config', file], { name: 'gatehouse' });
  t.after(() => gh.stop());
  await poll(async () => (await fetch(base + '/readyz').catch(() => ({}))).status === 200, { timeout: 15000, what: 'gatehouse /readyz' })
    .catch((e) => { throw new Error(`${e.message}\n${gh.output()}`); });
  return { base };
}

async function devLogin(base, name, roles = []) {
  const jar = new CookieJar();
  let res = await jar.fetch(`${base}/auth/login?provider=dev&return_to=/`);
  res = await jar.fetch(location(res, base));
  const form = parseForm(await res.text(), base);
  const body = new URLSearchParams({ ...form.fields, username: name });
  for (const r of roles) body.append('role', r);
  res = await jar.fetch(form.action, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  res = await jar.fetch(location(res, form.action));
  assert.equal(res.status, 302, 'session set');
  return jar.header(base);
}

/** post sends a form the way pusher-js 8's ajax authorizer does. */
async function post(base, p, fields, headers = {}) {
  const res = await fetch(base + p, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  const text = await res.text();
  return { status: res.status, text, json: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : null };
}

test('pusher SDK oracle agrees with /pusher/auth and /pusher/user-auth', async (t) => {
  const gh = await startGatehouse(t, `apps:
  - {id: ${app.id}, key: "${app.key}", secret: "${app.secret}", encryption_master_key: "${app.masterKey}"}
policy:
  anonymous: {subscribe: ["public-*", "presence-lobby"]}
  rules:
    - when: {authenticated: true}
      subscribe: ["public-*", "private-chat", "private-cache-*", "private-encrypted-*", "presence-*", "private-user-{sub}"]
      publish: ["private-chat"]
`);
  const oracle = new Pusher({ appId: app.id, key: app.key, secret: app.secret, encryptionMasterKeyBase64: app.masterKey, cluster: 'mt1' });
  const cookie = await devLogin(gh.base, 'ada');
  const tokRes = await fetch(`${gh.base}/token`, { method: 'POST', headers: { cookie, origin: gh.base } });
  assert.equal(tokRes.status, 200, 'session token for the Bearer case');
  const { access_token: bearer } = await tokRes.json();

  const cases = [
    { name: 'private, cookie', channel: 'private-chat', socket: '1234.1234', headers: { cookie } },
    { name: 'private, bearer', channel: 'private-user-dev=7Cada', socket: '99.1', headers: { authorization: `Bearer ${bearer}` } },
    { name: 'presence', channel: 'presence-lobby', socket: '1234.1234', headers: { cookie } },
    { name: 'presence, bearer', channel: 'presence-room', socket: '7.42', headers: { authorization: `Bearer ${bearer}` } },
    { name: 'private cache', channel: 'private-cache-news', socket: '3.3', headers: { cookie } },
    { name: 'encrypted', channel: 'private-encrypted-secrets', socket: '55.66', headers: { cookie } },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const ours = await post(gh.base, '/pusher/auth', { socket_id: c.socket, channel_name: c.channel }, c.headers);
      assert.equal(ours.status, 200, ours.text);
      const presenceData = ours.json.channel_data ? JSON.parse(ours.json.channel_data) : undefined;
      const theirs = oracle.authorizeChannel(c.socket, c.channel, presenceData);
      assert.equal(ours.text, JSON.stringify(theirs), 'same bytes as the SDK');
      if (presenceData) {
        assert.equal(presenceData.user_id, 'dev|ada');
        assert.deepEqual(presenceData.user_info, { name: 'ada' });
      }
      if (c.channel.startsWith('private-encrypted-')) assert.ok(ours.json.shared_secret);
    });
  }

  await t.test('signin', async () => {
    for (const headers of [{ cookie }, { authorization: `Bearer ${bearer}` }]) {
      const ours = await post(gh.base, '/pusher/user-auth', { socket_id: '1234.1234' }, headers);
      assert.equal(ours.status, 200, ours.text);
      const theirs = oracle.authenticateUser('1234.1234', JSON.parse(ours.json.user_data));
      assert.equal(ours.text, JSON.stringify(theirs));
      assert.equal(JSON.parse(ours.json.user_data).id, 'dev|ada');
    }
  });

  await t.test('refusals', async () => {
    const cases = [
      ['policy denies another user channel', { socket_id: '1.1', channel_name: 'private-user-eve' }, { cookie }, 403, 'access_denied'],
      ['bad socket id', { socket_id: '1.1.1', channel_name: 'private-chat' }, { cookie }, 400, 'invalid_request'],
      ['bad channel', { socket_id: '1.1', channel_name: 'private chat' }, { cookie }, 400, 'invalid_request'],
      ['tampered bearer', { socket_id: '1.1', channel_name: 'private-chat' }, { authorization: `Bearer ${bearer.slice(0, -3)}AAA` }, 401, 'invalid_token'],
      ['anonymous private', { socket_id: '1.1', channel_name: 'private-chat' }, {}, 403, 'access_denied'],
      ['foreign origin with cookie', { socket_id: '1.1', channel_name: 'private-chat' }, { cookie, origin: 'https://evil.example' }, 403, 'access_denied'],
    ];
    for (const [what, fields, headers, status, code] of cases) {
      const r = await post(gh.base, '/pusher/auth', fields, headers);
      assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
      assert.equal(r.json.error, code, what);
      assert.doesNotMatch(r.text, /signature|expired|kid/i, `${what}: no detail in the body`);
    }
    // Anonymous callers may take what the policy's anonymous grants cover.
    const anon = await post(gh.base, '/pusher/auth', { socket_id: '2.2', channel_name: 'presence-lobby' });
    assert.equal(anon.status, 200, anon.text);
    const data = JSON.parse(anon.json.channel_data);
    assert.match(data.user_id, /^anon:/);
    assert.equal(anon.text, JSON.stringify(oracle.authorizeChannel('2.2', 'presence-lobby', data)));
  });

  await t.test('CORS preflight for a configured origin only', async () => {
    const ok = await fetch(`${gh.base}/pusher/auth`, { method: 'OPTIONS', headers: { origin: gh.base, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), gh.base);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    const no = await fetch(`${gh.base}/pusher/auth`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(no.headers.get('access-control-allow-origin'), null);
  });
});

test('encrypted channels need a master key', async (t) => {
  const gh = await startGatehouse(t, `apps:\n  - {id: plain, key: "plainkey", secret: "plain-secret-0123456789"}\n`);
  const cookie = await devLogin(gh.base, 'bob');
  const r = await post(gh.base, '/pusher/auth', { socket_id: '1.2', channel_name: 'private-encrypted-x' }, { cookie });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'invalid_request');
});
