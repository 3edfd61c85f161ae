// Clients of the two protocols Gatehouse hosts: Pusher (pusher-js and the
// `pusher` server SDK) and the JWT-topic WebSocket.
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import WebSocket from 'ws';
import { withTimeout } from './wait.mjs';

/**
 * pusherJsOptions are pusher-js options for Gatehouse gh: plain ws on
 * loopback, no stats, channel authorization at /pusher/auth with token (if
 * any) as the Bearer credential, and with userAuth also user
 * authentication at /pusher/user-auth. pusher-js 8 throws without `cluster`
 * even when wsHost is given, hence cluster: 'x'.
 */
export function pusherJsOptions(gh, token, { userAuth = false } = {}) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  return {
    cluster: 'x',
    wsHost: '127.0.0.1',
    wsPort: gh.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: { endpoint: `${gh.url}/pusher/auth`, transport: 'ajax', headers },
    ...(userAuth ? { userAuthentication: { endpoint: `${gh.url}/pusher/user-auth`, transport: 'ajax', headers } } : {}),
  };
}

/** pusherServer is the `pusher` server SDK for app on Gatehouse gh's HTTP API. */
export function pusherServer(gh, app, over = {}) {
  return new Pusher({
    appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(gh.port), useTLS: false, ...over,
  });
}

/**
 * releaseCloseTimer works around a quirk of the WebSocket client bundled in
 * pusher-js's Node build (faye-websocket): when the server refuses a socket
 * (pusher:error 4000-4099), pusher-js calls close() on it, which arms a 30 s
 * timer that nothing clears even after the server has closed the socket, so
 * node stays alive 30 s longer.
 */
export function releaseCloseTimer(socket) {
  if (socket && socket._closeTimer) clearTimeout(socket._closeTimer);
}

/**
 * topicSocket opens a JWT-topic socket to app appId on gh with token and
 * resolves once the welcome frame arrived, with {ws, welcome, closed};
 * closed resolves with {code, reason, at} when the socket closes.
 */
export async function topicSocket(gh, token, appId = 'dev') {
  const ws = new WebSocket(`ws://127.0.0.1:${gh.port}/apps/${appId}?access_token=${encodeURIComponent(token)}`);
  const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })));
  const welcome = await withTimeout(new Promise((resolve, reject) => {
    ws.once('message', (m) => resolve(JSON.parse(m.toString())));
    ws.once('error', reject);
  }), 5000, 'topic welcome');
  assert.equal(welcome.messageType, 'welcome');
  return { ws, welcome, closed };
}

/**
 * refusedTopicSocket opens a JWT-topic socket with a token that must be
 * refused and resolves with how: the HTTP status of a refused handshake, or
 * the close code of a socket closed after it opened.
 */
export async function refusedTopicSocket(gh, token, appId = 'dev') {
  const ws = new WebSocket(`ws://127.0.0.1:${gh.port}/apps/${appId}?access_token=${encodeURIComponent(token)}`);
  ws.on('error', () => {}); // terminate() after a refused handshake emits one
  return withTimeout(new Promise((resolve) => {
    ws.once('close', (code) => resolve(code));
    ws.once('unexpected-response', (_req, r) => { resolve(r.statusCode); ws.terminate(); });
  }), 5000, 'refusal of a revoked token');
}

/**
 * pusherAuth posts a channel authorization request to gh's /pusher/auth
 * with token as the Bearer credential and resolves with the response.
 */
export function pusherAuth(gh, token, channel, socketId = '123.456') {
  return fetch(`${gh.url}/pusher/auth`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ socket_id: socketId, channel_name: channel }),
  });
}
