// The `pusher` server SDK as an oracle: for the same app, socket id, channel
// and user, its authorizeChannel / authenticateUser output must equal what
// gatehouse's /pusher/auth and /pusher/user-auth answer, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import Pusher from 'pusher';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { devCookie, devLogin, sessionToken } from '../lib/devidp.mjs';

const app = {
  id: 'chat',
  key: '278d425bdf160c739803',
  secret: '7ad3773142a6692b25b8',
  masterKey: crypto.randomBytes(32).toString('base64'),
};

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
  const gh = await startGatehouse({ t, publicUrl: true, config: `apps:
  - {id: ${app.id}, key: "${app.key}", secret: "${app.secret}", encryption_master_key: "${app.masterKey}"}
policy:
  anonymous: {subscribe: ["public-*", "presence-lobby"]}
  rules:
    - when: {authenticated: true}
      subscribe: ["public-*", "private-chat", "private-cache-*", "private-encrypted-*", "presence-*", "private-user-{sub}"]
      publish: ["private-chat"]
` });
  const oracle = new Pusher({ appId: app.id, key: app.key, secret: app.secret, encryptionMasterKeyBase64: app.masterKey, cluster: 'mt1' });
  const jar = await devLogin(gh.url, 'ada');
  const cookie = jar.header(gh.url);
  const bearer = await sessionToken(gh, jar); // for the Bearer case

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
      const ours = await post(gh.url, '/pusher/auth', { socket_id: c.socket, channel_name: c.channel }, c.headers);
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
      const ours = await post(gh.url, '/pusher/user-auth', { socket_id: '1234.1234' }, headers);
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
      const r = await post(gh.url, '/pusher/auth', fields, headers);
      assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
      assert.equal(r.json.error, code, what);
      assert.doesNotMatch(r.text, /signature|expired|kid/i, `${what}: no detail in the body`);
    }
    // Anonymous callers may take what the policy's anonymous grants cover.
    const anon = await post(gh.url, '/pusher/auth', { socket_id: '2.2', channel_name: 'presence-lobby' });
    assert.equal(anon.status, 200, anon.text);
    const data = JSON.parse(anon.json.channel_data);
    assert.match(data.user_id, /^anon:/);
    assert.equal(anon.text, JSON.stringify(oracle.authorizeChannel('2.2', 'presence-lobby', data)));
  });

  await t.test('CORS preflight for a configured origin only', async () => {
    const ok = await fetch(`${gh.url}/pusher/auth`, { method: 'OPTIONS', headers: { origin: gh.url, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), gh.url);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    const no = await fetch(`${gh.url}/pusher/auth`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(no.headers.get('access-control-allow-origin'), null);
  });
});

test('encrypted channels need a master key', async (t) => {
  const gh = await startGatehouse({ t, publicUrl: true, config: `apps:\n  - {id: plain, key: "plainkey", secret: "plain-secret-0123456789"}\n` });
  const cookie = await devCookie(gh.url, 'bob');
  const r = await post(gh.url, '/pusher/auth', { socket_id: '1.2', channel_name: 'private-encrypted-x' }, { cookie });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'invalid_request');
});
