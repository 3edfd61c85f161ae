// pusher-js 8 (the Node build, unmodified) against the Pusher protocol 7
// server Gatehouse hosts (README, "Hosting the realtime layer"), with channel authorization and user
// authentication from Gatehouse's own /pusher/auth and /pusher/user-auth
// deciding by the dev policy (README, "Policy").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherJS from 'pusher-js';
import WebSocket from 'ws';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { sessionToken } from '../lib/devidp.mjs';
import { anonymousToken, mintToken } from '../lib/jwt.mjs';
import { pusherJsOptions, pusherServer, releaseCloseTimer } from '../lib/realtime.mjs';
import { waitForEvent, withTimeout } from '../lib/wait.mjs';

/**
 * connect opens a pusher-js client to gatehouse with token as the Bearer
 * credential of its authorization and user authentication calls.
 */
async function connect(t, gh, app, token) {
  if (!gh.clients) throw new Error('start gatehouse with start(t)');
  const client = new PusherJS(app.key, pusherJsOptions(gh, token, { userAuth: true }));
  gh.clients.push(client);
  await waitForEvent(client.connection, 'connected', 5000);
  assert.match(client.connection.socket_id, /^\d+\.\d+$/);
  return client;
}

/** subscribed subscribes and resolves once it succeeded (with the presence members), rejecting on an error. */
async function subscribed(client, name) {
  const ch = client.subscribe(name);
  let ok; let failed;
  const members = await withTimeout(new Promise((resolve, reject) => {
    ok = resolve;
    failed = (e) => reject(new Error(`subscription to ${name} failed: ${JSON.stringify(e)}`));
    ch.bind('pusher:subscription_succeeded', ok);
    ch.bind('pusher:subscription_error', failed);
  }), 5000, `subscription to ${name}`).finally(() => {
    ch.unbind('pusher:subscription_succeeded', ok);
    ch.unbind('pusher:subscription_error', failed);
  });
  return { ch, members };
}

/**
 * start runs `gatehouse dev` for one test. Clients are disconnected before
 * gatehouse stops: a pusher-js socket closed by the server's shutdown (4200)
 * reconnects, and a disconnect() while it is connecting leaves its
 * reconnect timers running, which keeps node alive.
 */
async function start(t) {
  const clients = [];
  t.after(() => { for (const c of clients) c.disconnect(); });
  const gh = await startGatehouse({ t });
  gh.clients = clients;
  return gh;
}

test('pusher-js: public channel receives an event the SDK triggers, data intact', async (t) => {
  const gh = await start(t);
  const app = gh.devApp();
  const client = await connect(t, gh, app);
  const { ch } = await subscribed(client, 'public-news');
  const got = waitForEvent(ch, 'headline', 5000);
  const data = { title: 'Gatehouse hosts pusher-js', n: 1, nested: { ü: 'ünïcode ✓' } };
  const res = await pusherServer(gh, app).trigger('public-news', 'headline', data);
  assert.equal(res.status, 200);
  assert.deepEqual(await got, data);
});

test('pusher-js: private channel allowed for a session token, denied (403) for an anonymous one', async (t) => {
  const gh = await start(t);
  const app = gh.devApp();

  const member = await connect(t, gh, app, await sessionToken(gh, 'ada'));
  const { ch } = await subscribed(member, 'private-chat');
  assert.equal(ch.subscribed, true);

  const anon = await connect(t, gh, app, await anonymousToken(gh));
  const denied = anon.subscribe('private-chat');
  const err = await waitForEvent(denied, 'pusher:subscription_error', 5000);
  assert.equal(err.status, 403, JSON.stringify(err));
  assert.equal(denied.subscribed, false);

  // Without any credential and anonymous grants not covering it: 403 too.
  const none = await connect(t, gh, app);
  const err2 = await waitForEvent(none.subscribe('private-other'), 'pusher:subscription_error', 5000);
  assert.equal(err2.status, 403, JSON.stringify(err2));
});

test('pusher-js: presence with two clients sees members, member_added and member_removed', async (t) => {
  const gh = await start(t);
  const app = gh.devApp();
  const alice = await connect(t, gh, app, await sessionToken(gh, 'alice'));
  const bob = await connect(t, gh, app, await sessionToken(gh, 'bob'));

  const a = await subscribed(alice, 'presence-room');
  assert.equal(a.members.count, 1);
  assert.equal(a.members.me.id, 'dev|alice');
  assert.deepEqual(a.members.me.info, { name: 'alice' });

  const added = waitForEvent(a.ch, 'pusher:member_added', 5000);
  const b = await subscribed(bob, 'presence-room');
  assert.equal(b.members.count, 2);
  const ids = [];
  b.members.each((m) => ids.push(m.id));
  assert.deepEqual(ids.sort(), ['dev|alice', 'dev|bob']);
  assert.equal(b.members.get('dev|alice').info.name, 'alice');
  const m = await added;
  assert.equal(m.id, 'dev|bob');
  assert.deepEqual(m.info, { name: 'bob' });
  assert.equal(a.ch.members.count, 2);

  const removed = waitForEvent(a.ch, 'pusher:member_removed', 5000);
  bob.disconnect();
  assert.equal((await removed).id, 'dev|bob');
  assert.equal(a.ch.members.count, 1);

  // The HTTP API sees the same member list.
  const res = await pusherServer(gh, app).get({ path: '/channels/presence-room/users' });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { users: [{ id: 'dev|alice' }] });
});

test('pusher-js: client events reach the other subscriber with user_id and are not echoed', async (t) => {
  const gh = await start(t);
  const app = gh.devApp();
  const alice = await connect(t, gh, app, await sessionToken(gh, 'alice'));
  const bob = await connect(t, gh, app, await sessionToken(gh, 'bob'));
  const { ch: ca } = await subscribed(alice, 'presence-room');
  const { ch: cb } = await subscribed(bob, 'presence-room');

  const echoed = [];
  ca.bind('client-typing', (d) => echoed.push(d));
  const got = waitForEvent(cb, 'client-typing', 5000, { all: true });
  assert.equal(ca.trigger('client-typing', { text: 'hi bob' }), true);
  const [data, meta] = await got;
  assert.deepEqual(data, { text: 'hi bob' });
  assert.equal(meta.user_id, 'dev|alice', 'server adds user_id on presence channels');

  // Bob answers; frames reach alice in order, so an echo of her own event
  // would have arrived before this answer.
  const answer = waitForEvent(ca, 'client-ack', 5000);
  cb.trigger('client-ack', { ok: true });
  assert.deepEqual(await answer, { ok: true });
  assert.deepEqual(echoed, [], 'own client event not echoed');

  // Client events on a public channel are refused in band.
  const { ch: pub } = await subscribed(alice, 'public-x');
  const refused = waitForEvent(alice.connection, 'error', 5000);
  pub.trigger('client-nope', {});
  const e = await refused;
  assert.equal(e.data?.code ?? e.error?.data?.code, 4301, JSON.stringify(e));
});

async function signedIn(t, gh, app, token, id) {
  const client = await connect(t, gh, app, token);
  client.signin();
  await withTimeout(client.user.signinDonePromise, 5000, 'signin');
  assert.equal(client.user.user_data.id, id);
  // pusher-js subscribes #server-to-user-<id> right after signin.
  await waitForEvent(client.user.serverToUserChannel, 'pusher:subscription_succeeded', 5000);
  return client;
}

test('pusher-js: signin through /pusher/user-auth, sendToUser and terminate_connections', async (t) => {
  const gh = await start(t);
  const app = gh.devApp();
  const client = await signedIn(t, gh, app, await mintToken(gh, ['--sub', 'grace', '--name', 'Grace']), 'grace');
  assert.deepEqual(client.user.user_data.user_info, { name: 'Grace' });

  const sdk = pusherServer(gh, app);
  const got = waitForEvent(client.user, 'note', 5000);
  const res = await sdk.sendToUser('grace', 'note', { hello: 'grace' });
  assert.equal(res.status, 200);
  assert.deepEqual(await got, { hello: 'grace' });

  const socket = client.connection.connection.transport.socket;
  const gone = new Promise((resolve) => {
    client.connection.bind('state_change', ({ current }) => { if (current !== 'connected') resolve(current); });
  });
  const term = await sdk.terminateUserConnections('grace');
  assert.equal(term.status, 200);
  assert.equal(await withTimeout(gone, 5000, 'termination'), 'disconnected', '4009 is final: no reconnect');
  releaseCloseTimer(socket);
});

test('pusher-js: a signed-in dev IdP user (sub "dev|name") gets server-to-user events', async (t) => {
  const gh = await start(t);
  const app = gh.devApp();
  const client = await signedIn(t, gh, app, await sessionToken(gh, 'grace'), 'dev|grace');
  const got = waitForEvent(client.user, 'note', 5000);
  const res = await pusherServer(gh, app).sendToUser('dev|grace', 'note', { hello: 'grace' });
  assert.equal(res.status, 200);
  assert.deepEqual(await got, { hello: 'grace' });
});

test('pusher-js: signin is refused without a credential', async (t) => {
  const gh = await start(t);
  const app = gh.devApp();
  const client = await connect(t, gh, app);
  const err = waitForEvent(client.user, 'pusher:signin_error', 5000);
  client.signin();
  assert.ok([401, 403].includes((await err).status));
});

test('pusher-js: gatehouse shutdown closes Pusher sockets with 4200 (reconnect) and topic sockets with 1001', async (t) => {
  const gh = await start(t);
  const app = gh.devApp();
  const pusherWS = new WebSocket(`ws://127.0.0.1:${gh.port}/app/${app.key}?protocol=7`);
  const first = await withTimeout(new Promise((resolve) => pusherWS.once('message', (m) => resolve(JSON.parse(m.toString())))), 5000, 'connection_established');
  assert.equal(first.event, 'pusher:connection_established');
  const token = (await (await gh.fetch('/token/anonymous', { method: 'POST' })).json()).access_token;
  const topicWS = new WebSocket(`ws://127.0.0.1:${gh.port}/apps/dev?access_token=${token}`);
  await withTimeout(new Promise((resolve) => topicWS.once('message', resolve)), 5000, 'welcome');
  const closes = Promise.all([pusherWS, topicWS].map((ws) => new Promise((resolve) => ws.once('close', (code) => resolve(code)))));
  const frames = [];
  pusherWS.on('message', (m) => frames.push(JSON.parse(m.toString())));
  const stopped = await gh.stop();
  assert.equal(stopped.code, 0, 'clean exit');
  assert.deepEqual(await withTimeout(closes, 5000, 'closes'), [4200, 1001]);
  assert.equal(frames.at(-1)?.event, 'pusher:error');
  assert.equal(frames.at(-1)?.data?.code, 4200);
});
