// ably-js 2 fetches gatehouse's Ably JWT through authUrl (no Ably network:
// Auth.requestToken with an authUrl only calls that URL and, for a JWT
// answer, hands the string back), and the capability inside is what the
// policy grants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Ably from 'ably';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { devCookie } from '../lib/devidp.mjs';

const ablyKeyName = 'appId.keyId';
const ablyKeySecret = 'EVKVTCBlzLBPYJiCZTsIW_pqylJ9WVRB5K9P19Ap1y0';

const config = `profiles:
  ably: {key_name: "${ablyKeyName}", key_secret: "${ablyKeySecret}"}
policy:
  anonymous: {subscribe: ["news", "public:*", "public-*"], publish: ["public:chat"]}
  rules:
    - when: {authenticated: true}
      subscribe: ["news", "chat:*", "presence-lobby", "user:{sub}"]
      publish: ["chat:*"]
    - when: {role: admin}
      subscribe: ["*"]
      publish: ["*"]
`;

async function checkAblyJWT(token, wantCapability, clientIdRe) {
  const hdr = decodeProtectedHeader(token);
  assert.deepEqual(hdr, { alg: 'HS256', kid: ablyKeyName, typ: 'JWT' });
  // Signed with the Ably key secret, as Ably's servers will check.
  await jwtVerify(token, new TextEncoder().encode(ablyKeySecret), { algorithms: ['HS256'] });
  const claims = decodeJwt(token);
  assert.equal(typeof claims['x-ably-capability'], 'string', 'capability is a JSON string');
  assert.deepEqual(JSON.parse(claims['x-ably-capability']), wantCapability);
  assert.match(claims['x-ably-clientId'], clientIdRe);
  assert.ok(claims.exp > claims.iat);
}

test('ably-js authUrl gets an Ably JWT whose capability is the policy', async (t) => {
  const gh = await startGatehouse({ t, config, publicUrl: true });

  await t.test('anonymous, authMethod POST', async () => {
    const rest = new Ably.Rest({ authUrl: `${gh.url}/token/anonymous?profile=ably`, authMethod: 'POST' });
    const details = await rest.auth.requestToken();
    // public-* has no Ably equivalent and is left out rather than widened.
    await checkAblyJWT(details.token, { news: ['subscribe'], 'public:*': ['subscribe'], 'public:chat': ['publish'] }, /^anon:/);
  });

  await t.test('anonymous, authParams carry the profile', async () => {
    const rest = new Ably.Rest({ authUrl: `${gh.url}/token/anonymous`, authMethod: 'POST', authParams: { profile: 'ably' } });
    const details = await rest.auth.requestToken();
    await checkAblyJWT(details.token, { news: ['subscribe'], 'public:*': ['subscribe'], 'public:chat': ['publish'] }, /^anon:/);
  });

  await t.test('logged in, through /token with the session cookie', async () => {
    const cookie = await devCookie(gh.url, 'ada', ['admin']);
    const rest = new Ably.Rest({
      authUrl: `${gh.url}/token`,
      authMethod: 'POST',
      authParams: { profile: 'ably' },
      // /token wants a same-origin Origin on cookie POSTs; the bare JWT is
      // asked for explicitly (ably-js's default Accept is JSON or text).
      authHeaders: { cookie, origin: gh.url, accept: 'application/jwt' },
    });
    const details = await rest.auth.requestToken();
    await checkAblyJWT(details.token, {
      '*': ['presence', 'publish', 'subscribe'],
      news: ['subscribe'],
      'chat:*': ['publish', 'subscribe'],
      'presence-lobby': ['presence', 'subscribe'],
      'user:dev=7Cada': ['subscribe'],
    }, /^dev\|ada$/);
  });
});

test('ably profile is absent without profiles.ably', async (t) => {
  const gh = await startGatehouse({ t, config: '', publicUrl: true });
  const res = await fetch(`${gh.url}/token/anonymous?profile=ably`, { method: 'POST' });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, 'invalid_request');
});
