// Centrifugo tokens from /token/anonymous, verified the way Centrifugo does
// with token_jwks_public_endpoint: signature through our JWKS, aud and iss
// as configured, and the claims its docs list (issuer/testdata/centrifugo*.golden
// pin the shape; centrifugo-tokens.test.mjs runs them against Centrifugo v6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startGatehouse } from '../lib/gatehouse.mjs';

async function anonToken(base, query, init = {}) {
  const res = await fetch(`${base}/token/anonymous?${query}`, { method: 'POST', ...init });
  return { status: res.status, body: await res.json() };
}

test('centrifugo connection and subscription tokens verify through the JWKS', async (t) => {
  const gh = await startGatehouse({ t, publicUrl: true, config: `profiles:
  centrifugo: {audience: my-centrifugo}
policy:
  anonymous: {subscribe: ["public:*", "news"]}
` });
  const jwks = createRemoteJWKSet(new URL(`${gh.url}/.well-known/jwks.json`));
  const verify = (tok) => jwtVerify(tok, jwks, { issuer: gh.url, audience: 'my-centrifugo', algorithms: ['ES256', 'ES384', 'ES512', 'RS256'] });

  await t.test('connection token', async () => {
    const { status, body } = await anonToken(gh.url, 'profile=centrifugo');
    assert.equal(status, 200);
    const { payload, protectedHeader } = await verify(body.access_token);
    assert.equal(protectedHeader.typ, 'JWT');
    assert.ok(protectedHeader.kid);
    assert.deepEqual(Object.keys(payload).sort(), ['aud', 'exp', 'iat', 'info', 'iss', 'jti', 'sub']);
    assert.match(payload.sub, /^anon:/);
    assert.deepEqual(payload.info, { name: '' });
    assert.equal(payload.channels, undefined);
  });

  await t.test('EdDSA is refused (Centrifugo cannot verify it)', async () => {
    const { status, body } = await anonToken(gh.url, 'profile=centrifugo', { body: '{"alg":"EdDSA"}', headers: { 'content-type': 'application/json' } });
    assert.equal(status, 400);
    assert.equal(body.error, 'invalid_request');
  });

  await t.test('subscription token for a granted channel', async () => {
    const { status, body } = await anonToken(gh.url, 'profile=centrifugo-sub&channel=public:room');
    assert.equal(status, 200);
    const { payload } = await verify(body.access_token);
    assert.equal(payload.channel, 'public:room');
    assert.deepEqual(Object.keys(payload).sort(), ['aud', 'channel', 'exp', 'iat', 'iss', 'jti', 'sub']);
  });

  await t.test('subscription token refusals', async () => {
    let r = await anonToken(gh.url, 'profile=centrifugo-sub&channel=secret:room');
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'access_denied');
    r = await anonToken(gh.url, 'profile=centrifugo-sub');
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
  });

  await t.test('a centrifugo token is not a gatehouse token', async () => {
    const { body } = await anonToken(gh.url, 'profile=centrifugo');
    const res = await fetch(`${gh.url}/webhooks/deepstream`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ connectionData: { headers: {} }, authData: { token: body.access_token } }),
    });
    assert.equal(res.status, 401);
  });
});
