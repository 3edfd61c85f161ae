import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import * as jose from 'jose';
import { startOidcProvider } from '../lib/oidc.mjs';
import { CookieJar } from '../lib/http.mjs';
import { withTimeout } from '../lib/wait.mjs';

test('oidc-provider serves discovery for an http loopback issuer', async (t) => {
  const idp = await startOidcProvider({ t });
  assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.issuer, idp.issuer);
  assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
  assert.ok(doc.end_session_endpoint);
  assert.equal(doc.backchannel_logout_supported, true);
  assert.ok(doc.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
  const jwks = await (await fetch(doc.jwks_uri)).json();
  assert.ok(jwks.keys.length >= 1);
  for (const k of jwks.keys) assert.equal(k.d, undefined, 'no private parts in JWKS');
});

test('code flow with PKCE through the login form yields an ID token with roles and groups', async (t) => {
  // A stand-in relying party that receives the back-channel logout token.
  const logoutTokens = [];
  let gotLogout;
  const logoutSeen = new Promise((r) => { gotLogout = r; });
  const rp = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      logoutTokens.push(new URLSearchParams(body).get('logout_token'));
      res.end();
      gotLogout();
    });
  });
  await new Promise((r) => rp.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => { rp.closeAllConnections(); rp.close(r); }));
  const rpBase = `http://127.0.0.1:${rp.address().port}`;

  const redirect = `${rpBase}/auth/callback`;
  const idp = await startOidcProvider({
    t,
    client: {
      redirect_uris: [redirect],
      post_logout_redirect_uris: [`${rpBase}/`],
      backchannel_logout_uri: `${rpBase}/auth/backchannel-logout`,
      backchannel_logout_session_required: true,
    },
  });
  const { client_id: clientId, client_secret: clientSecret } = idp.client;
  const doc = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();

  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  const state = crypto.randomBytes(16).toString('base64url');
  const nonce = crypto.randomBytes(16).toString('base64url');
  const authz = new URL(doc.authorization_endpoint);
  authz.search = new URLSearchParams({
    client_id: clientId, response_type: 'code', scope: 'openid profile email',
    redirect_uri: redirect, state, nonce, code_challenge: challenge, code_challenge_method: 'S256',
  }).toString();

  // Without PKCE the IdP refuses.
  const noPkce = new URL(authz);
  noPkce.searchParams.delete('code_challenge');
  noPkce.searchParams.delete('code_challenge_method');
  const refused = await fetch(noPkce, { redirect: 'manual' });
  const refusedAt = new URL(refused.headers.get('location'), idp.issuer);
  assert.equal(refusedAt.searchParams.get('error'), 'invalid_request');

  const jar = new CookieJar();
  const back = new URL(await idp.login(authz.toString(), 'ada', { jar }));
  assert.equal(back.origin + back.pathname, redirect);
  assert.equal(back.searchParams.get('state'), state);
  const code = back.searchParams.get('code');
  assert.ok(code);

  const tokenRes = await fetch(doc.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: 'Basic ' + Buffer.from(`${clientId}:${clientSecret}`).toString('base64'),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier }),
  });
  assert.equal(tokenRes.status, 200, await tokenRes.clone().text());
  const tokens = await tokenRes.json();
  const jwks = jose.createRemoteJWKSet(new URL(doc.jwks_uri));
  const { payload } = await jose.jwtVerify(tokens.id_token, jwks, { issuer: idp.issuer, audience: clientId });
  assert.equal(payload.sub, 'ada');
  assert.equal(payload.nonce, nonce);
  assert.equal(payload.name, 'Ada Lovelace');
  assert.equal(payload.email, 'ada@example.com');
  assert.deepEqual(payload.roles, ['admin']);
  assert.deepEqual(payload.groups, ['engineering']);
  assert.ok(payload.sid, 'sid present for back-channel logout');

  // RP-initiated logout triggers the back-channel logout token to the RP.
  const end = new URL(doc.end_session_endpoint);
  end.search = new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: `${rpBase}/` }).toString();
  let res = await jar.fetch(end.toString());
  assert.equal(res.status, 200); // confirmation form
  const html = await res.text();
  const xsrf = html.match(/name="xsrf" value="([^"]+)"/)[1];
  const action = new URL(html.match(/action="([^"]+)"/)[1], idp.issuer);
  res = await jar.fetch(action.toString(), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }),
  });
  assert.ok(res.status >= 300 && res.status < 400, `logout status ${res.status}`);
  await withTimeout(logoutSeen, 5000, 'back-channel logout');
  const lt = jose.decodeJwt(logoutTokens[0]);
  assert.equal(lt.sub, 'ada');
  assert.equal(lt.sid, payload.sid);
  assert.ok(lt.events['http://schemas.openid.net/event/backchannel-logout']);
});
