// ably-js 2 fetches gatehouse's Ably JWT through authUrl (no Ably network:
// Auth.requestToken with an authUrl only calls that URL and, for a JWT
// answer, hands the string back), and the capability inside is what the
// policy grants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Ably from 'ably';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { CookieJar, location, parseForm } from '../lib/http.mjs';
import { freePort } from '../lib/free-port.mjs';
import { makeTempDir, spawnTracked } from '../lib/proc.mjs';
import { poll } from '../lib/wait.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.GATEHOUSE_BIN || path.join(root, 'bin', 'gatehouse');
const ablyKeyName = 'appId.keyId';
const ablyKeySecret = 'EVKVTCBlzLBPYJiCZTsIW_pqylJ9WVRB5K9P19Ap1y0';

async function startGatehouse(t, config) {
  assert.ok(fs.existsSync(binary), `${binary} missing: go build -o bin/gatehouse ./cmd/gatehouse`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = makeTempDir('gatehouse-ably-');
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
  const gh = await startGatehouse(t, config);

  await t.test('anonymous, authMethod POST', async () => {
    const rest = new Ably.Rest({ authUrl: `${gh.base}/token/anonymous?profile=ably`, authMethod: 'POST' });
    const details = await rest.auth.requestToken();
    // public-* has no Ably equivalent and is left out rather than widened.
    await checkAblyJWT(details.token, { news: ['subscribe'], 'public:*': ['subscribe'], 'public:chat': ['publish'] }, /^anon:/);
  });

  await t.test('anonymous, authParams carry the profile', async () => {
    const rest = new Ably.Rest({ authUrl: `${gh.base}/token/anonymous`, authMethod: 'POST', authParams: { profile: 'ably' } });
    const details = await rest.auth.requestToken();
    await checkAblyJWT(details.token, { news: ['subscribe'], 'public:*': ['subscribe'], 'public:chat': ['publish'] }, /^anon:/);
  });

  await t.test('logged in, through /token with the session cookie', async () => {
    const cookie = await devLogin(gh.base, 'ada', ['admin']);
    const rest = new Ably.Rest({
      authUrl: `${gh.base}/token`,
      authMethod: 'POST',
      authParams: { profile: 'ably' },
      // /token wants a same-origin Origin on cookie POSTs; the bare JWT is
      // asked for explicitly (ably-js's default Accept is JSON or text).
      authHeaders: { cookie, origin: gh.base, accept: 'application/jwt' },
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
  const gh = await startGatehouse(t, '');
  const res = await fetch(`${gh.base}/token/anonymous?profile=ably`, { method: 'POST' });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, 'invalid_request');
});
