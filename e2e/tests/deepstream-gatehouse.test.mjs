// The deepstream login webhook end to end: a real @deepstream/server 7 asks
// the gatehouse binary about every login of a real @deepstream/client 7, and
// Valve permissions decide from the serverData gatehouse returned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, decodeJwt, importPKCS8 } from 'jose';
import { startDeepstream, deepstreamClient } from '../lib/deepstream.mjs';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { devCookie } from '../lib/devidp.mjs';
import { mintToken } from '../lib/jwt.mjs';
import { poll, withTimeout } from '../lib/wait.mjs';

/** expiredToken signs, with the server's own ES256 key, a token that expired two minutes ago. */
async function expiredToken(gh) {
  const jwks = await (await fetch(gh.url + '/.well-known/jwks.json')).json();
  const jwk = jwks.keys.find((k) => k.alg === 'ES256');
  const dir = path.join(gh.dataDir, 'keys');
  const pemFile = fs.readdirSync(dir).find((f) => /es256/i.test(f));
  const pem = fs.readFileSync(path.join(dir, pemFile), 'utf8');
  const key = await importPKCS8(pem.replace(/EC PRIVATE KEY/g, 'PRIVATE KEY'), 'ES256').catch(() => null);
  assert.ok(key, `cannot import ${pemFile} as PKCS#8`);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'late', anon: false, roles: [], groups: [], permissions: [] })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'at+jwt' })
    .setIssuer(gh.url).setAudience('realtime').setIssuedAt(now - 600).setNotBefore(now - 600)
    .setExpirationTime(now - 120).setJti('expired-e2e').sign(key);
}

const isAdmin = "user.data.roles.indexOf('admin') > -1";
const canChat = "user.data.permissions.indexOf('realtime:publisher:write:topic:private-*') > -1";

/** Valve rules that read what the webhook put into user.data. */
const permissions = {
  presence: { '*': { allow: true } },
  record: {
    '*': { create: true, write: true, read: true, delete: true, listen: true, notify: true },
    'admin/*': { create: isAdmin, write: isAdmin, read: isAdmin, delete: isAdmin, listen: isAdmin, notify: isAdmin },
    'mine/$owner': { create: 'user.id === $owner', write: 'user.id === $owner', read: true, delete: true, listen: true, notify: true },
  },
  event: {
    '*': { publish: true, subscribe: true, listen: true },
    'private-chat': { publish: canChat, subscribe: canChat, listen: false },
  },
  rpc: { '*': { provide: true, request: true } },
};

/** deniedError matches deepstream's refusal of an action by Valve. */
const deniedError = (e) => { assert.match(String(e?.message ?? e), /DENIED/); return true; };

/** login resolves with clientData, or with {refused: reason}. */
function login(client, authData) {
  return withTimeout(client.login(authData).then((d) => d, (e) => ({ refused: e.reason ?? e })), 5000, 'deepstream login');
}

/** denied resolves with the deepstream error event a denied action raises, or null. */
function watchDenied(client) {
  const seen = [];
  client.on('error', (err, event, topic) => seen.push({ err, event, topic }));
  return seen;
}

test('deepstream logins through the gatehouse webhook, with Valve deciding from serverData', async (t) => {
  const gh = await startGatehouse({ t, publicUrl: true, config: 'deepstream: {enabled: true}\n' });
  const ds = await startDeepstream({ t, webhookUrl: `${gh.url}/webhooks/deepstream`, permissions });

  await t.test('minted operator token', async () => {
    const tok = await mintToken(gh, ['--sub', 'svc-1', '--name', 'Service', '--role', 'admin', '--perm', 'realtime:publisher:write:topic:private-*']);
    const c = deepstreamClient(ds.url, { t });
    const data = await login(c, { token: tok });
    assert.equal(data.name, 'Service');
    assert.equal(data.anon, false);
    assert.equal(data.expires_at, decodeJwt(tok).exp);
    // Valve: admin role and chat permission come from serverData.
    await withTimeout(c.record.setDataWithAck('admin/settings', { motd: 'hi' }), 5000, 'admin write');
    assert.deepEqual(await withTimeout(c.record.snapshot('admin/settings'), 5000, 'admin read'), { motd: 'hi' });
    await withTimeout(c.record.setDataWithAck('mine/svc-1', { v: 1 }), 5000, 'own record');
  });

  await t.test('anonymous token from /token/anonymous', async () => {
    const res = await fetch(`${gh.url}/token/anonymous`, { method: 'POST' });
    assert.equal(res.status, 200);
    const { access_token: tok } = await res.json();
    const c = deepstreamClient(ds.url, { t });
    const data = await login(c, { token: tok });
    assert.equal(data.anon, true);
    // Valve: no admin role, no chat permission.
    await assert.rejects(withTimeout(c.record.snapshot('admin/settings'), 5000, 'anon admin read'), deniedError);
    const denied = watchDenied(c);
    c.event.emit('private-chat', 'nope');
    await poll(() => denied.some((d) => d.event === 'MESSAGE_DENIED'), { timeout: 5000, what: 'MESSAGE_DENIED for private-chat' });
  });

  await t.test('session cookie forwarded in the upgrade headers', async () => {
    const cookie = await devCookie(gh.url, 'ada', ['admin']);
    const c = deepstreamClient(ds.url, { t, socketOptions: { headers: { cookie } } });
    const data = await login(c, {});
    assert.equal(data.name, 'ada');
    assert.equal(data.anon, false);
    await withTimeout(c.record.setDataWithAck('admin/by-ada', { ok: true }), 5000, 'admin write with a session');
    await withTimeout(c.record.setDataWithAck('mine/dev|ada', { v: 1 }), 5000, 'own record by sub');
    // A broken cookie is refused, never treated as anonymous.
    const bad = deepstreamClient(ds.url, { t, socketOptions: { headers: { cookie: cookie.replace(/=([^;]{8})/, '=AAAAAAAA') } } });
    assert.deepEqual((await login(bad, {})).refused, { error: 'invalid credentials' });
  });

  await t.test('anonymous without credentials', async () => {
    const c = deepstreamClient(ds.url, { t });
    const data = await login(c, {});
    assert.equal(data.anon, true);
    assert.equal(data.name, '');
    await assert.rejects(withTimeout(c.record.setDataWithAck('mine/someone-else', { v: 1 }), 5000, 'foreign record'), deniedError);
  });

  await t.test('tampered and expired tokens are refused with the text reason', async () => {
    const good = await mintToken(gh, ['--sub', 'svc-2']);
    const parts = good.split('.');
    const tampered = [parts[0], Buffer.from(JSON.stringify({ ...decodeJwt(good), sub: 'root' })).toString('base64url'), parts[2]].join('.');
    for (const [what, tok] of [['tampered', tampered], ['expired', await expiredToken(gh)], ['garbage', 'x.y.z']]) {
      const c = deepstreamClient(ds.url, { t });
      assert.deepEqual((await login(c, { token: tok })).refused, { error: 'invalid credentials' }, what);
    }
  });

  await t.test('decisions are counted', async () => {
    const m = await (await fetch(`${gh.url}/metrics`)).text();
    assert.match(m, /gatehouse_webhook_decisions_total\{decision="allow",front="deepstream"\} [4-9]/);
    assert.match(m, /gatehouse_webhook_decisions_total\{decision="deny",front="deepstream"\} [4-9]/);
  });
});

test('deepstream webhook off: deepstream refuses every login', async (t) => {
  const gh = await startGatehouse({ t, publicUrl: true, config: 'deepstream: {enabled: false}\n' });
  const res = await fetch(`${gh.url}/webhooks/deepstream`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 404);
  const ds = await startDeepstream({ t, webhookUrl: `${gh.url}/webhooks/deepstream`, permissions });
  const c = deepstreamClient(ds.url, { t });
  assert.ok((await login(c, {})).refused);
});
