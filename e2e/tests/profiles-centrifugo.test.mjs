// Centrifugo tokens from /token/anonymous, verified the way Centrifugo does
// with token_jwks_public_endpoint: signature through our JWKS, aud and iss
// as configured, and the claims its docs list. (The Centrifugo server itself
// is not available here; issuer/testdata/centrifugo*.golden pin the shape.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { freePort } from '../lib/free-port.mjs';
import { makeTempDir, spawnTracked } from '../lib/proc.mjs';
import { poll } from '../lib/wait.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.GATEHOUSE_BIN || path.join(root, 'bin', 'gatehouse');

async function startGatehouse(t, config) {
  assert.ok(fs.existsSync(binary), `${binary} missing: go build -o bin/gatehouse ./cmd/gatehouse`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = makeTempDir('gatehouse-cf-');
  const file = path.join(dataDir, 'gatehouse.yaml');
  fs.writeFileSync(file, `server: {public_url: "${base}"}\n${config}`);
  const gh = spawnTracked(binary, ['dev', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir, '--config', file], { name: 'gatehouse' });
  t.after(() => gh.stop());
  await poll(async () => (await fetch(base + '/readyz').catch(() => ({}))).status === 200, { timeout: 15000, what: 'gatehouse /readyz' })
    .catch((e) => { throw new Error(`${e.message}\n${gh.output()}`); });
  return { base };
}

async function anonToken(base, query, init = {}) {
  const res = await fetch(`${base}/token/anonymous?${query}`, { method: 'POST', ...init });
  return { status: res.status, body: await res.json() };
}

test('centrifugo connection and subscription tokens verify through the JWKS', async (t) => {
  const gh = await startGatehouse(t, `profiles:
  centrifugo: {audience: my-centrifugo}
policy:
  anonymous: {subscribe: ["public:*", "news"]}
`);
  const jwks = createRemoteJWKSet(new URL(`${gh.base}/.well-known/jwks.json`));
  const verify = (tok) => jwtVerify(tok, jwks, { issuer: gh.base, audience: 'my-centrifugo', algorithms: ['ES256', 'ES384', 'ES512', 'RS256'] });

  await t.test('connection token', async () => {
    const { status, body } = await anonToken(gh.base, 'profile=centrifugo');
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
    const { status, body } = await anonToken(gh.base, 'profile=centrifugo', { body: '{"alg":"EdDSA"}', headers: { 'content-type': 'application/json' } });
    assert.equal(status, 400);
    assert.equal(body.error, 'invalid_request');
  });

  await t.test('subscription token for a granted channel', async () => {
    const { status, body } = await anonToken(gh.base, 'profile=centrifugo-sub&channel=public:room');
    assert.equal(status, 200);
    const { payload } = await verify(body.access_token);
    assert.equal(payload.channel, 'public:room');
    assert.deepEqual(Object.keys(payload).sort(), ['aud', 'channel', 'exp', 'iat', 'iss', 'jti', 'sub']);
  });

  await t.test('subscription token refusals', async () => {
    let r = await anonToken(gh.base, 'profile=centrifugo-sub&channel=secret:room');
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'access_denied');
    r = await anonToken(gh.base, 'profile=centrifugo-sub');
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
  });

  await t.test('a centrifugo token is not a gatehouse token', async () => {
    const { body } = await anonToken(gh.base, 'profile=centrifugo');
    const res = await fetch(`${gh.base}/webhooks/deepstream`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ connectionData: { headers: {} }, authData: { token: body.access_token } }),
    });
    assert.equal(res.status, 401);
  });
});
