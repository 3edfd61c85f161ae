// NATS auth callout answered by Gatehouse, against a real nats-server 2.15
// and the `nats` npm client: a Gatehouse token as auth_token or as the
// password (any user name), publish and subscribe allowed and denied per
// the policy mapped to subjects, tampered and revoked credentials refused,
// the encrypted (xkey) variant, the callout surviving a Gatehouse restart,
// and /readyz naming it while NATS is down. Configurations: docs/nats.md
// (e2e/configs/nats-server.conf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec } from 'nats';
import nkeys from 'nkeys.js';
import jwt from 'jsonwebtoken';
import { devLogin, logout, sessionToken } from '../lib/devidp.mjs';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { startNats } from '../lib/nats.mjs';
import { poll, withTimeout } from '../lib/wait.mjs';

const sc = StringCodec();
const AUTH_PASSWORD = 'e2e-nats-auth-password-0123';
const dec = (b) => new TextDecoder().decode(b);

const policy = `policy:
  anonymous: {subscribe: ["public.*"]}
  rules:
    - when: {authenticated: true}
      subscribe: ["public.*", "chat.*", "user.{sub}.*", "user-*"]
      publish: ["chat.*"]
    - when: {role: admin}
      subscribe: ["*"]
      publish: ["*"]
`;

async function rig(t, { xkey = true, extra = '' } = {}) {
  const issuer = nkeys.createAccount();
  const curve = nkeys.createCurve();
  const nats = await startNats({ t, vars: {
    NATS_AUTH_PASSWORD: AUTH_PASSWORD,
    ISSUER_PUBLIC_KEY: issuer.getPublicKey(),
    XKEY_LINE: xkey ? `xkey: ${curve.getPublicKey()}` : '',
  } });
  const gh = await startGatehouse({ t, publicUrl: true, config: `${policy}${extra}
nats:
  url: "\${NATS_URL}"
  user: gatehouse
  password: "\${NATS_AUTH_PASSWORD}"
  issuer_seed: "\${NATS_ISSUER_SEED}"
${xkey ? '  xkey_seed: "${NATS_XKEY_SEED}"\n' : ''}  account: APP
`, env: {
    NATS_URL: nats.url, NATS_AUTH_PASSWORD: AUTH_PASSWORD,
    NATS_ISSUER_SEED: dec(issuer.getSeed()), NATS_XKEY_SEED: dec(curve.getSeed()),
  } });
  return { gh, nats };
}

/** open connects with opts; resolves {nc} or {error}. */
async function open(t, nats, opts) {
  try {
    const nc = await connect({ servers: nats.url, reconnect: false, timeout: 5000, ...opts });
    t.after(() => nc.close().catch(() => {}));
    return { nc };
  } catch (error) {
    return { error };
  }
}

/** errorsOf collects the async errors (permission violations) of nc. */
function errorsOf(nc) {
  const seen = [];
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error') seen.push(`${s.data} ${s.permissionContext?.operation} ${s.permissionContext?.subject}`);
    }
  })();
  return seen;
}

test('nats auth callout (xkey): tokens in, the policy decides subjects, bad and revoked credentials out', async (t) => {
  const { gh, nats } = await rig(t);

  await t.test('a Gatehouse token as auth_token: allowed and denied subjects', async () => {
    const token = await sessionToken(gh, 'ada');
    const { nc, error } = await open(t, nats, { token });
    assert.ifError(error);
    const errs = errorsOf(nc);
    const sub = nc.subscribe('chat.room', { max: 1 });
    await nc.flush();
    nc.publish('chat.room', sc.encode('hello'));
    for await (const m of sub) assert.equal(sc.decode(m.data), 'hello');

    // Publishing where the policy grants only reading is refused by NATS.
    nc.publish('public.news', sc.encode('spam'));
    await nc.flush();
    await poll(() => errs.includes('PERMISSIONS_VIOLATION publish public.news'), { timeout: 5000, what: 'publish violation' });
    // Subscribing outside the grants is refused too.
    const denied = nc.subscribe('admin.secrets');
    await nc.flush();
    await poll(() => errs.includes('PERMISSIONS_VIOLATION subscription admin.secrets'), { timeout: 5000, what: 'subscription violation' });
    await withTimeout(denied.closed, 5000, 'the denied subscription closes');
    assert.equal(denied.isClosed(), true);
  });

  await t.test('the token as the password with any user name (nats.ws style)', async () => {
    const token = await sessionToken(gh, 'bob');
    const { nc, error } = await open(t, nats, { user: 'whoever', pass: token });
    assert.ifError(error);
    // user.{sub}.* became user.dev=7Cbob.> (the sub escaped for a subject token).
    const sub = nc.subscribe('user.dev=7Cbob.inbox', { max: 1 });
    await nc.flush();
    const admin = (await open(t, nats, { token: await sessionToken(gh, 'root', ['admin']) })).nc;
    admin.publish('user.dev=7Cbob.inbox', sc.encode('for bob'));
    for await (const m of sub) assert.equal(sc.decode(m.data), 'for bob');
  });

  await t.test('nats.ws through the websocket listener, as a browser connects', async () => {
    const ws = await import('ws');
    globalThis.WebSocket ??= ws.WebSocket; // nats.ws uses the platform WebSocket
    const { connect: wsConnect } = await import('nats.ws');
    const token = await sessionToken(gh, 'wanda');
    const nc = await wsConnect({ servers: nats.wsUrl, user: 'browser', pass: token, reconnect: false, timeout: 5000 });
    t.after(() => nc.close().catch(() => {}));
    const sub = nc.subscribe('chat.ws', { max: 1 });
    await nc.flush();
    nc.publish('chat.ws', sc.encode('over websocket'));
    for await (const m of sub) assert.equal(sc.decode(m.data), 'over websocket');
    await assert.rejects(wsConnect({ servers: nats.wsUrl, user: 'browser', pass: 'garbage', reconnect: false, timeout: 5000 }), /Authorization Violation/);
  });

  await t.test('tampered, garbage and missing credentials are refused', async () => {
    const token = await sessionToken(gh, 'carol');
    const tampered = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const opts of [{ token: tampered }, { token: 'garbage' }, { user: 'x', pass: 'y' }]) {
      const { error } = await open(t, nats, opts);
      assert.match(String(error), /Authorization Violation/, JSON.stringify(opts));
    }
  });

  await t.test('a logged-out session\'s token is refused', async () => {
    const jar = await devLogin(gh.url, 'dave');
    const token = await sessionToken(gh, jar);
    assert.ifError((await open(t, nats, { token })).error);
    assert.equal((await logout(gh.url, jar)).status, 302);
    const { error } = await open(t, nats, { token });
    assert.match(String(error), /Authorization Violation/);
  });

  await t.test('the callout survives a Gatehouse restart', async () => {
    await gh.restart();
    const token = await sessionToken(gh, 'erin');
    const { error } = await open(t, nats, { token });
    assert.ifError(error);
  });

  await t.test('/readyz names the callout while NATS is down', async () => {
    await nats.stop();
    await poll(async () => {
      const res = await fetch(`${gh.url}/readyz`);
      return res.status === 503 && /nats/.test(await res.text());
    }, { timeout: 10000, what: '/readyz 503 naming nats' });
  });
});

const SERVICE_SECRET = 'e2e-service-hs256-secret-0123456789abcdef';

test('nats auth callout without xkey; a trusted issuer\'s token works too', async (t) => {
  const { gh, nats } = await rig(t, { xkey: false, extra: `issuers:
  - name: svc
    issuer: https://svc.example/
    secret: ${SERVICE_SECRET}
    algorithms: [HS256]
    audience: nats
    grants: token
    fronts: [nats]
` });
  const ext = jwt.sign({ permissions: ['realtime:subscriber:read:topic:telemetry.*', 'realtime:publisher:write:topic:telemetry.*'] },
    SERVICE_SECRET, { algorithm: 'HS256', issuer: 'https://svc.example/', audience: 'nats', subject: 'sensor-7', expiresIn: '5m' });
  const viaIssuer = await open(t, nats, { token: ext });
  assert.ifError(viaIssuer.error);
  const tsub = viaIssuer.nc.subscribe('telemetry.temp', { max: 1 });
  await viaIssuer.nc.flush();
  viaIssuer.nc.publish('telemetry.temp', sc.encode('21.5'));
  for await (const m of tsub) assert.equal(sc.decode(m.data), '21.5');
  const wrongAud = jwt.sign({ permissions: [] }, SERVICE_SECRET, { algorithm: 'HS256', issuer: 'https://svc.example/', audience: 'other', subject: 's', expiresIn: '5m' });
  assert.match(String((await open(t, nats, { token: wrongAud })).error), /Authorization Violation/);

  const { nc, error } = await open(t, nats, { token: await sessionToken(gh, 'ada') });
  assert.ifError(error);
  const sub = nc.subscribe('chat.x', { max: 1 });
  await nc.flush();
  nc.publish('chat.x', sc.encode('plain'));
  for await (const m of sub) assert.equal(sc.decode(m.data), 'plain');
});

test('a NATS connection ends when its user JWT does (at most tokens.ttl); the expired token is refused', async (t) => {
  const { gh, nats } = await rig(t, { xkey: false, extra: 'tokens: {ttl: 3s}\n' });
  const token = await sessionToken(gh, 'ada');
  const { nc, error } = await open(t, nats, { token });
  assert.ifError(error);
  const errs = errorsOf(nc);
  const closed = await withTimeout(nc.closed(), 15000, 'the connection closes at the JWT expiry');
  assert.match(String(closed ?? errs.join(' ')), /expired|AUTHENTICATION_EXPIRED/i);
  const again = await open(t, nats, { token });
  assert.match(String(again.error), /Authorization Violation/, 'the expired token is refused');
});
