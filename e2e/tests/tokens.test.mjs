// The token foundation (README: "Quick start", "HTTP endpoints", "Tokens"):
// anonymous tokens from `gatehouse dev`, verified by an outside JOSE library
// against the published JWKS, and keys that survive a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { startGatehouse } from '../lib/gatehouse.mjs';

const PERMISSION = /^realtime:(subscriber:read|publisher:write):topic:.+$/;

async function mintAnonymous(gh, body) {
  const init = { method: 'POST' };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await gh.fetch('/token/anonymous', init);
  const text = await res.text();
  assert.equal(res.status, 200, `POST /token/anonymous ${init.body ?? ''}: ${res.status} ${text}`);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const json = JSON.parse(text);
  assert.equal(json.token_type, 'Bearer');
  assert.equal(json.expires_in, 300);
  assert.equal(typeof json.access_token, 'string');
  return json.access_token;
}

/** verify checks a token as a broker would, with jose and our JWKS only. */
async function verify(gh, token, jwks, alg) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
    issuer: gh.url,
    audience: 'realtime',
    typ: 'at+jwt',
    algorithms: [alg],
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
  });
  assert.equal(protectedHeader.alg, alg);
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(typeof protectedHeader.kid, 'string');
  assert.ok(protectedHeader.kid.length > 0);
  for (const h of ['jku', 'x5u', 'jwk']) assert.equal(protectedHeader[h], undefined, `no ${h} header`);
  return { payload, protectedHeader };
}

function checkAnonymousClaims(gh, payload) {
  assert.equal(payload.iss, gh.url);
  assert.equal(payload.aud, 'realtime');
  assert.match(payload.sub, /^anon:.+/);
  assert.equal(payload.anon, true);
  assert.equal(payload.sid, undefined, 'anonymous tokens carry no sid');
  assert.deepEqual(payload.roles, []);
  assert.deepEqual(payload.groups, []);
  assert.ok(Array.isArray(payload.permissions), 'permissions is an array');
  for (const p of payload.permissions) assert.match(p, PERMISSION);
  // dev's default policy lets anonymous callers read public-* (README, "Configuration reference").
  assert.ok(payload.permissions.includes('realtime:subscriber:read:topic:public-*'), JSON.stringify(payload.permissions));
  assert.equal(typeof payload.jti, 'string');
  assert.ok(Buffer.from(payload.jti, 'base64url').length >= 16 || payload.jti.length >= 32, 'jti has 128 random bits');
  assert.equal(payload.exp - payload.iat, 300);
  if (payload.nbf !== undefined) assert.ok(payload.nbf <= payload.iat);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(payload.iat - now) <= 30, `iat ${payload.iat} near now ${now}`);
}

async function assertJsonError(res, status, error) {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const body = await res.json();
  assert.equal(typeof body.error, 'string');
  assert.equal(typeof body.error_description, 'string');
  if (error) assert.equal(body.error, error);
  return body;
}

test('anonymous tokens from gatehouse dev verify against the JWKS and survive a restart', async (t) => {
  const gh = await startGatehouse({ t, args: ['dev'] });

  // Health, discovery and JWKS.
  const health = await gh.fetch('/healthz');
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });

  const disco = await gh.fetch('/.well-known/openid-configuration');
  assert.equal(disco.status, 200);
  assert.doesNotMatch(disco.headers.get('cache-control') ?? '', /no-store/);
  const doc = await disco.json();
  assert.equal(doc.issuer, gh.url);
  assert.equal(doc.jwks_uri, `${gh.url}/.well-known/jwks.json`);
  assert.equal(typeof doc.token_endpoint, 'string');
  assert.ok(Array.isArray(doc.grant_types_supported));
  assert.ok(Array.isArray(doc.id_token_signing_alg_values_supported));

  const jwksRes = await fetch(doc.jwks_uri);
  assert.equal(jwksRes.status, 200);
  assert.equal(jwksRes.headers.get('cache-control'), 'public, max-age=300');
  const { keys } = await jwksRes.json();
  for (const k of keys) {
    assert.equal(k.use, 'sig');
    assert.equal(typeof k.kid, 'string');
    assert.equal(typeof k.alg, 'string');
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(k[priv], undefined, `JWKS leaks ${priv}`);
  }
  const algs = keys.map((k) => k.alg);
  assert.ok(algs.includes('ES256') && algs.includes('EdDSA'), `JWKS algs ${algs}`);
  assert.equal(new Set(keys.map((k) => k.kid)).size, keys.length, 'kids are unique');
  const kids = keys.map((k) => k.kid).sort();

  // Mint: default (ES256), and each of dev's anonymous algorithms by name.
  const jwks = jose.createRemoteJWKSet(new URL(doc.jwks_uri));
  const minted = [];
  for (const [body, alg] of [[undefined, 'ES256'], [{}, 'ES256'], [{ alg: 'ES256' }, 'ES256'], [{ alg: 'EdDSA' }, 'EdDSA']]) {
    const token = await mintAnonymous(gh, body);
    const { payload, protectedHeader } = await verify(gh, token, jwks, alg);
    checkAnonymousClaims(gh, payload);
    assert.ok(kids.includes(protectedHeader.kid), `kid ${protectedHeader.kid} is published`);
    assert.equal(keys.find((k) => k.kid === protectedHeader.kid).alg, alg);
    minted.push({ token, alg, payload });
  }
  assert.equal(new Set(minted.map((m) => m.payload.jti)).size, minted.length, 'jti is unique per token');
  assert.equal(new Set(minted.map((m) => m.payload.sub)).size, minted.length, 'each anonymous caller gets its own sub');

  // Same data dir, new process: the same keys are loaded, old tokens still verify.
  await gh.restart();
  const after = await (await gh.fetch('/.well-known/jwks.json')).json();
  assert.deepEqual(after.keys.map((k) => k.kid).sort(), kids, 'kids survive a restart');
  const freshJwks = jose.createRemoteJWKSet(new URL('/.well-known/jwks.json', gh.url));
  for (const m of minted) {
    const { payload } = await verify(gh, m.token, freshJwks, m.alg);
    assert.equal(payload.jti, m.payload.jti);
  }
  const again = await mintAnonymous(gh, { alg: 'EdDSA' });
  await verify(gh, again, freshJwks, 'EdDSA');

  const stop = await gh.stop();
  assert.equal(stop.killed, false, 'exits on SIGTERM within the grace period');
  assert.doesNotMatch(gh.allOutput(), /panic:/);
});

test('POST /token/anonymous refuses other algorithms, bad JSON and big bodies with JSON errors', async (t) => {
  const gh = await startGatehouse({ t });
  const post = (body, headers = { 'content-type': 'application/json' }) => gh.fetch('/token/anonymous', { method: 'POST', headers, body });

  // Not in dev's tokens.anonymous.algorithms [ES256, EdDSA].
  for (const alg of ['ES512', 'RS256', 'HS256', 'none']) {
    await assertJsonError(await post(JSON.stringify({ alg })), 400, 'invalid_request');
  }
  // Malformed JSON.
  for (const body of ['{"alg":', '{alg: ES256}', 'not json']) {
    await assertJsonError(await post(body), 400, 'invalid_request');
  }
  // Over 64 KiB.
  const big = JSON.stringify({ alg: 'ES256', pad: 'x'.repeat(64 * 1024) });
  await assertJsonError(await post(big), 413);
  // Exactly at the limit is not "over" it; it may still be refused as a bad
  // request for other reasons, but never with 413.
  const atLimit = '{"alg":"ES256","pad":"' + 'x'.repeat(64 * 1024 - 24) + '"}';
  assert.equal(Buffer.byteLength(atLimit), 64 * 1024);
  const atRes = await post(atLimit);
  assert.notEqual(atRes.status, 413);
  await atRes.arrayBuffer();

  // The process is still healthy after all of that.
  assert.equal((await gh.fetch('/healthz')).status, 200);
});

test('anonymous minting is rate limited per IP with 429 and Retry-After', async (t) => {
  const gh = await startGatehouse({
    t,
    config: { tokens: { anonymous: { rate: { per_ip: 3, per: '1m' } } } },
  });
  for (let i = 0; i < 3; i++) {
    const res = await gh.fetch('/token/anonymous', { method: 'POST' });
    assert.equal(res.status, 200, `request ${i + 1}`);
    await res.arrayBuffer();
  }
  const res = await gh.fetch('/token/anonymous', { method: 'POST' });
  await assertJsonError(res, 429, 'rate_limited');
  const retry = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${res.headers.get('retry-after')}`);
});
