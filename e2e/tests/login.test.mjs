// Browser logins end to end: Chromium, the gatehouse binary, and a real
// certified OpenID provider (oidc-provider) or the built-in dev provider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { launchBrowser } from '../lib/browser.mjs';
import { startOidcProvider } from '../lib/oidc.mjs';
import { freePort } from '../lib/free-port.mjs';
import { startGatehouse } from '../lib/gatehouse.mjs';

/** getToken clicks the account page's button and returns the token it shows. */
async function getToken(page) {
  await page.click('#get-token');
  await page.waitForSelector('#token-claims:not([hidden])');
  return page.getAttribute('#token-claims', 'data-token');
}

async function verifyToken(base, token) {
  const jwks = createRemoteJWKSet(new URL(base + '/.well-known/jwks.json'));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: base, audience: 'realtime' });
  assert.equal(protectedHeader.typ, 'at+jwt');
  return payload;
}

test('login through oidc-provider in Chromium, token, logout, dead cookie', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const idp = await startOidcProvider({
    t,
    redirectUris: [base + '/auth/callback'],
    client: { post_logout_redirect_uris: [base + '/logged-out'] },
  });
  const key = (n) => crypto.randomBytes(n).toString('base64');
  // /readyz turns 200 once every provider's discovery succeeded.
  const gh = await startGatehouse({
    t,
    args: ['serve'],
    port,
    config: `
server: {public_url: "${base}"}
oidc:
  providers:
    - name: op
      issuer: "${idp.issuer}"
      client_id: "${idp.client.client_id}"
      client_secret: "${idp.client.client_secret}"
      roles_claim: roles
      insecure_allow_http: true
  session: {hash_keys: ["${key(32)}"], block_keys: ["${key(32)}"]}
policy:
  rules:
    - when: {authenticated: true}
      subscribe: ["public-*", "private-chat", "private-user-{sub}"]
      publish: ["private-chat"]
    - when: {role: admin}
      subscribe: ["*"]
`,
  });

  const b = await launchBrowser({ t, timeout: 15000 });
  const { page } = b;
  await page.goto(base + '/login');
  await page.click('#login-op');
  // oidc-provider's own login form (devInteractions).
  await page.waitForSelector('input[name="login"]');
  await page.fill('input[name="login"]', 'ada');
  await page.fill('input[name="password"]', 'anything');
  await Promise.all([
    page.waitForURL(base + '/account'),
    page.click('button[type="submit"]'),
  ]);
  assert.equal(await page.textContent('#sub'), 'ada');
  assert.equal(await page.textContent('#provider'), 'op');
  assert.match(await page.textContent('#roles'), /admin/);

  const token = await getToken(page);
  const claims = await verifyToken(base, token);
  assert.equal(claims.sub, 'ada');
  assert.equal(claims.anon, false);
  assert.ok(claims.sid, 'token carries the session id');
  assert.ok(claims.permissions.includes('realtime:subscriber:read:topic:*'), 'admin rule applied');

  const cookies = await b.context.cookies(base);
  const session = cookies.find((c) => c.name === 'gatehouse');
  assert.ok(session && session.httpOnly && session.sameSite === 'Lax', 'httpOnly Lax session cookie');
  const me = await fetch(base + '/auth/me', { headers: { cookie: `gatehouse=${session.value}` } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).sid, claims.sid);

  // Log out: Gatehouse sends the browser to the provider's end_session,
  // which asks for confirmation and comes back to /logged-out.
  await page.click('#logout');
  await page.waitForURL((u) => u.origin === idp.issuer).catch(async (e) => { throw new Error(`${e.message}\nat ${page.url()}: ${(await page.content()).slice(0, 800)}`); });
  await Promise.all([
    page.waitForURL(base + '/logged-out'),
    page.click('button[value="yes"]'),
  ]);
  assert.match(await page.textContent('#logged-out'), /logged out/);

  // The old cookie replayed by hand is refused everywhere.
  const replayMe = await fetch(base + '/auth/me', { headers: { cookie: `gatehouse=${session.value}` } });
  assert.equal(replayMe.status, 401);
  const replayToken = await fetch(base + '/token', {
    method: 'POST', headers: { cookie: `gatehouse=${session.value}`, origin: base },
  });
  assert.equal(replayToken.status, 401);
  assert.equal((await replayToken.json()).error, 'invalid_token');
  assert.doesNotMatch(gh.output(), /panic/);
});

test('login through the built-in dev identity provider in Chromium', async (t) => {
  const { url: base } = await startGatehouse({ t, args: ['dev'] });
  const b = await launchBrowser({ t, timeout: 15000 });
  const { page } = b;
  await page.goto(base + '/login');
  await page.click('#login-dev');
  await page.waitForSelector('#username');
  assert.match(await page.textContent('body'), /DEVELOPMENT ONLY/);
  await page.fill('#username', 'grace');
  await page.check('input[value="admin"]');
  await Promise.all([
    page.waitForURL(base + '/account'),
    page.click('#login'),
  ]);
  assert.equal(await page.textContent('#sub'), 'dev|grace');
  assert.match(await page.textContent('#roles'), /admin/);
  const claims = await verifyToken(base, await getToken(page));
  assert.equal(claims.sub, 'dev|grace');
  assert.deepEqual(claims.roles, ['admin']);

  // Cross-origin POST /token with the browser's cookie is refused (CSRF).
  const cookies = await b.context.cookies(base);
  const session = cookies.find((c) => c.name === 'gatehouse');
  const csrf = await fetch(base + '/token', {
    method: 'POST', headers: { cookie: `gatehouse=${session.value}`, origin: 'https://evil.example' },
  });
  assert.equal(csrf.status, 403);
});
