// Logins through the built-in dev identity provider (`gatehouse dev`), over
// plain HTTP with a cookie jar: no browser.
import assert from 'node:assert/strict';
import { CookieJar, location, parseForm } from './http.mjs';

/**
 * devLogin logs name in through the dev identity provider of the Gatehouse
 * at base (with the dev IdP's role boxes in roles ticked) and resolves with
 * the CookieJar holding the session; jar.header(base) is the Cookie header.
 * Every redirect of the flow is checked on the way.
 */
export async function devLogin(base, name, roles = []) {
  const jar = new CookieJar();
  let res = await jar.fetch(`${base}/auth/login?provider=dev&return_to=/`);
  assert.equal(res.status, 302, 'login redirects to the dev IdP');
  res = await jar.fetch(location(res, base));
  const form = parseForm(await res.text(), base);
  const body = new URLSearchParams({ ...form.fields, username: name });
  for (const r of roles) body.append('role', r);
  res = await jar.fetch(form.action, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(res.status, 302, 'dev IdP redirects back');
  res = await jar.fetch(location(res, form.action));
  assert.equal(res.status, 302, `callback sets the session: ${res.status}`);
  return jar;
}

/** devCookie is devLogin's session as a Cookie header value. */
export async function devCookie(base, name, roles = []) {
  return (await devLogin(base, name, roles)).header(base);
}

/**
 * sessionToken resolves with the realtime token POST /token mints from a
 * login session of Gatehouse gh (a startGatehouse handle). who is a
 * CookieJar from devLogin, or a user name to log in first (with roles).
 */
export async function sessionToken(gh, who, roles = []) {
  const jar = typeof who === 'string' ? await devLogin(gh.url, who, roles) : who;
  const res = await jar.fetch(`${gh.url}/token`, { method: 'POST', headers: { origin: gh.url } });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).access_token;
}

/**
 * logout posts the session in jar to base's /auth/logout the way the logout
 * form does (same origin) and resolves with the response (a redirect).
 */
export function logout(base, jar) {
  return jar.fetch(`${base}/auth/logout`, {
    method: 'POST',
    headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ return_to: '/' }),
  });
}
