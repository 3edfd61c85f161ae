// NATS auth callout answered by Gatehouse, against a real nats-server 2.15
// and the `nats` and `nats.ws` npm clients: a Gatehouse token as auth_token
// or as the password (any user name), publish and subscribe allowed and
// denied per the policy mapped to subjects, tampered and revoked
// credentials refused, the encrypted (xkey) variant, a logout kicking live
// connections (TCP and nats.ws) through the system account (and, without
// it, connections ending at their JWT's expiry), the callout surviving a
// Gatehouse restart, and /readyz naming it while NATS is down.
// Configurations: docs/nats.md, byte for byte (e2e/configs/nats-server.conf,
// e2e/configs/gatehouse-nats.yaml).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

const SYSTEM_PASSWORD = 'e2e-nats-system-password-0123';
const here = path.dirname(fileURLToPath(import.meta.url));
const configFile = (name) => fs.readFileSync(path.join(here, '..', 'configs', name), 'utf8');

/**
 * gatehouseConfig is docs/nats.md's Gatehouse config
 * (e2e/configs/gatehouse-nats.yaml), without its xkey_seed line when xkey
 * is false and without its system user when system is false.
 */
function gatehouseConfig({ xkey, system }) {
  let lines = configFile('gatehouse-nats.yaml').split('\n');
  if (!xkey) lines = lines.filter((l) => !l.startsWith('  xkey_seed:'));
  if (!system) lines = lines.filter((l) => !/^  system:|^    (user|password):/.test(l));
  const yaml = lines.join('\n');
  assert.equal(/xkey_seed:/.test(yaml), xkey, 'xkey_seed kept only when asked');
  assert.equal(/system:|gatehouse-sys/.test(yaml), system, 'the system user kept only when asked');
  return yaml;
}

async function rig(t, { xkey = true, system = true, extra = '' } = {}) {
  const issuer = nkeys.createAccount();
  const curve = nkeys.createCurve();
  const nats = await startNats({ t, vars: {
    NATS_AUTH_PASSWORD: AUTH_PASSWORD,
    NATS_SYSTEM_PASSWORD: SYSTEM_PASSWORD,
    ISSUER_PUBLIC_KEY: issuer.getPublicKey(),
    XKEY_LINE: xkey ? `xkey: ${curve.getPublicKey()}` : '',
  } });
  const gh = await startGatehouse({ t, publicUrl: true, config: gatehouseConfig({ xkey, system }) + extra, env: {
    NATS_URL: nats.url, NATS_AUTH_PASSWORD: AUTH_PASSWORD, NATS_SYSTEM_PASSWORD: SYSTEM_PASSWORD,
    NATS_ISSUER_SEED: dec(issuer.getSeed()), NATS_XKEY_SEED: dec(curve.getSeed()),
  } });
  return { gh, nats };
}

/** wsConnect is nats.ws's connect (it uses the platform WebSocket). */
async function wsConnect(opts) {
  globalThis.WebSocket ??= (await import('ws')).WebSocket;
  const { connect: connectWs } = await import('nats.ws');
  return connectWs(opts);
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

  await t.test('a logout kicks the session\'s live connections (TCP and nats.ws) at once; other sessions stay', async () => {
    const jar = await devLogin(gh.url, 'fay');
    const token = await sessionToken(gh, jar);
    // The token (and so each user JWT) lasts tokens.ttl, 5 minutes here:
    // a connection closed within the deadlines below was kicked, not expired.
    const { exp } = jwt.decode(token);
    assert.ok(exp * 1000 - Date.now() > 4 * 60 * 1000, `the token lasts minutes (exp ${exp})`);

    const first = (await open(t, nats, { token })).nc;
    // A client that reconnects: its reconnection meets the callout again.
    const second = await connect({ servers: nats.url, token, reconnect: true, reconnectTimeWait: 50, maxReconnectAttempts: 50, timeout: 5000 });
    t.after(() => second.close().catch(() => {}));
    // A browser-style client over nats-server's websocket listener.
    const ws = await wsConnect({ servers: nats.wsUrl, user: 'browser', pass: token, reconnect: false, timeout: 5000 });
    t.after(() => ws.close().catch(() => {}));
    const other = (await open(t, nats, { token: await sessionToken(gh, 'gus') })).nc;
    assert.ok(first && other);

    const started = Date.now();
    assert.equal((await logout(gh.url, jar)).status, 302);
    await withTimeout(first.closed(), 10000, 'the logged-out session\'s TCP connection closes');
    await withTimeout(ws.closed(), 10000, 'the logged-out session\'s nats.ws connection closes');
    t.diagnostic(`kicked ${Date.now() - started} ms after the logout`);
    const why = await withTimeout(second.closed(), 20000, 'the reconnecting client gives up');
    assert.match(String(why), /Authorization Violation/, 'its reconnection is refused');

    const sub = other.subscribe('chat.still', { max: 1 });
    await other.flush();
    other.publish('chat.still', sc.encode('still here'));
    for await (const m of sub) assert.equal(sc.decode(m.data), 'still here');

    // The system user's permissions in docs/nats.md (kick requests, their
    // answers, the account's disconnect events) are all Gatehouse needs.
    await other.flush();
    assert.doesNotMatch(gh.allOutput(), /asynchronous error|violation/i);
  });

  await t.test('the callout survives a Gatehouse restart', async () => {
    await gh.restart();
    const token = await sessionToken(gh, 'erin');
    const { error } = await open(t, nats, { token });
    assert.ifError(error);
  });

  await t.test('after the restart, a logout still kicks the connections opened since', async () => {
    const jar = await devLogin(gh.url, 'hal');
    const nc = (await open(t, nats, { token: await sessionToken(gh, jar) })).nc;
    assert.ok(nc);
    assert.equal((await logout(gh.url, jar)).status, 302);
    await withTimeout(nc.closed(), 10000, 'the logged-out session\'s connection closes');
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
  const { gh, nats } = await rig(t, { xkey: false, system: false, extra: `issuers:
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
  const { gh, nats } = await rig(t, { xkey: false, system: false, extra: 'tokens: {ttl: 3s}\n' });
  const token = await sessionToken(gh, 'ada');
  const { nc, error } = await open(t, nats, { token });
  assert.ifError(error);
  const errs = errorsOf(nc);
  const closed = await withTimeout(nc.closed(), 15000, 'the connection closes at the JWT expiry');
  assert.match(String(closed ?? errs.join(' ')), /expired|AUTHENTICATION_EXPIRED/i);
  const again = await open(t, nats, { token });
  assert.match(String(again.error), /Authorization Violation/, 'the expired token is refused');
});

test('docs/nats.md shows exactly the configs this file runs', () => {
  const doc = fs.readFileSync(path.join(here, '..', '..', 'docs', 'nats.md'), 'utf8');
  const blocks = [...doc.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]);
  for (const file of ['gatehouse-nats.yaml', 'nats-server.conf']) {
    assert.ok(blocks.includes(configFile(file)), `docs/nats.md has a block equal to e2e/configs/${file}`);
  }
});
