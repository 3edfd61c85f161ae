// Revocation (README, "Logging people in"): a login session's sockets, on both hosted
// protocols, close within 1 s of POST /auth/logout, and the session's
// tokens are refused afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherJS from 'pusher-js';
import WebSocket from 'ws';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { devLogin, logout, sessionToken } from '../lib/devidp.mjs';
import { claims } from '../lib/jwt.mjs';
import { pusherAuth, pusherJsOptions, refusedTopicSocket, releaseCloseTimer, topicSocket } from '../lib/realtime.mjs';
import { waitForEvent, withTimeout } from '../lib/wait.mjs';

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
    const c = new PusherJS(app.key, pusherJsOptions(gh, tok));
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
  const res = await logout(gh.url, jar);
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
  const auth = await pusherAuth(gh, token, 'presence-lobby');
  assert.equal(auth.status, 401);
  const refused = await refusedTopicSocket(gh, token);
  assert.ok(refused === 401 || (refused >= 4000 && refused < 5000), `refused with ${refused}`);
  assert.doesNotMatch(gh.output(), /panic/);
});
