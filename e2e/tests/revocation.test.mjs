// Revocation (SPEC §9): a login session's sockets, on both hosted
// protocols, close within 1 s of POST /auth/logout, and the session's
// tokens are refused afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherJS from 'pusher-js';
import WebSocket from 'ws';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { CookieJar, location, parseForm } from '../lib/http.mjs';
import { waitForEvent, withTimeout } from '../lib/wait.mjs';

/** devLogin logs name in through the dev identity provider over HTTP and returns the cookie jar. */
async function devLogin(base, name) {
  const jar = new CookieJar();
  let res = await jar.fetch(`${base}/auth/login?provider=dev&return_to=/`);
  res = await jar.fetch(location(res, base));
  const form = parseForm(await res.text(), base);
  res = await jar.fetch(form.action, {
    method: 'POST',
    body: new URLSearchParams({ ...form.fields, username: name }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  res = await jar.fetch(location(res, form.action));
  assert.equal(res.status, 302, 'session set');
  return jar;
}

async function sessionToken(gh, jar) {
  const res = await jar.fetch(`${gh.url}/token`, { method: 'POST', headers: { origin: gh.url } });
  assert.equal(res.status, 200);
  return (await res.json()).access_token;
}

function claims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

/** topicSocket opens a JWT-topic socket and resolves once the welcome frame arrived. */
async function topicSocket(gh, token) {
  const ws = new WebSocket(`ws://127.0.0.1:${gh.port}/apps/dev?access_token=${encodeURIComponent(token)}`);
  const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })));
  const first = await withTimeout(new Promise((resolve, reject) => {
    ws.once('message', (m) => resolve(JSON.parse(m.toString())));
    ws.once('error', reject);
  }), 5000, 'topic welcome');
  assert.equal(first.messageType, 'welcome');
  return { ws, closed };
}

test('logout closes the session\'s Pusher and topic sockets within 1 s; its token is refused after', async (t) => {
  const clients = [];
  t.after(() => { for (const c of clients) c.disconnect(); });
  const gh = await startGatehouse({ t });
  const app = gh.devApp();

  const jar = await devLogin(gh.url, 'ada');
  const token = await sessionToken(gh, jar);
  assert.ok(claims(token).sid, 'session token carries a sid');

  // A bystander with another session keeps its sockets.
  const otherToken = await sessionToken(gh, await devLogin(gh.url, 'bob'));

  const pusher = (tok) => {
    const c = new PusherJS(app.key, {
      cluster: 'x', wsHost: '127.0.0.1', wsPort: gh.port, forceTLS: false, enabledTransports: ['ws'], disableStats: true,
      channelAuthorization: { endpoint: `${gh.url}/pusher/auth`, transport: 'ajax', headers: { Authorization: `Bearer ${tok}` } },
    });
    clients.push(c);
    return c;
  };
  const ada = pusher(token);
  await waitForEvent(ada.connection, 'connected', 5000);
  // Authorizing a channel is what binds the Pusher socket to the session.
  await waitForEvent(ada.subscribe('presence-lobby'), 'pusher:subscription_succeeded', 5000);
  const adaSocket = ada.connection.connection.transport.socket;
  const adaGone = new Promise((resolve) => {
    ada.connection.bind('state_change', ({ current }) => { if (current !== 'connected') resolve({ state: current, at: Date.now() }); });
  });
  const adaError = waitForEvent(ada.connection, 'error', 5000);

  const bob = pusher(otherToken);
  await waitForEvent(bob.connection, 'connected', 5000);
  const bobLobby = bob.subscribe('presence-lobby');
  await waitForEvent(bobLobby, 'pusher:subscription_succeeded', 5000);

  const topic = await topicSocket(gh, token);
  const bystander = await topicSocket(gh, otherToken);

  const left = waitForEvent(bobLobby, 'pusher:member_removed', 5000);
  const res = await jar.fetch(`${gh.url}/auth/logout`, {
    method: 'POST',
    headers: { origin: gh.url, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ return_to: '/' }),
  });
  const loggedOut = Date.now();
  assert.ok([302, 303].includes(res.status), `logout: ${res.status}`);

  const [p, tc] = await withTimeout(Promise.all([adaGone, topic.closed]), 1000, 'sockets closed after logout');
  assert.ok(p.at - loggedOut <= 1000 && tc.at - loggedOut <= 1000);
  assert.equal(p.state, 'disconnected', 'pusher-js treats the close as final');
  const e = await adaError;
  assert.equal(e.data?.code ?? e.error?.data?.code, 4009, JSON.stringify(e));
  assert.equal(tc.code, 4003);
  releaseCloseTimer(adaSocket);
  assert.equal((await left).id, 'dev|ada', 'presence tells the others');

  // The other session's sockets stay up.
  assert.equal(bob.connection.state, 'connected');
  assert.equal(bystander.ws.readyState, WebSocket.OPEN);
  bystander.ws.close();

  // The revoked session's token opens nothing any more.
  const auth = await fetch(`${gh.url}/pusher/auth`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ socket_id: '123.456', channel_name: 'presence-lobby' }),
  });
  assert.equal(auth.status, 401);
  const again = new WebSocket(`ws://127.0.0.1:${gh.port}/apps/dev?access_token=${encodeURIComponent(token)}`);
  again.on('error', () => {}); // terminate() after a refused handshake emits one
  const refused = await withTimeout(new Promise((resolve) => {
    again.once('close', (code) => resolve(code));
    again.once('unexpected-response', (_req, r) => { resolve(r.statusCode); again.terminate(); });
  }), 5000, 'refusal of a revoked token');
  assert.ok(refused === 401 || (refused >= 4000 && refused < 5000), `refused with ${refused}`);
  assert.doesNotMatch(gh.output(), /panic/);
});

/**
 * releaseCloseTimer: after a refusal, pusher-js's bundled WebSocket client
 * arms a 30 s close timer nothing clears; release it so node can exit.
 */
function releaseCloseTimer(socket) {
  if (socket && socket._closeTimer) clearTimeout(socket._closeTimer);
}
