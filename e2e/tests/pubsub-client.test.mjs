// realtime-pubsub-client 1.0 (unmodified) against Gatehouse's JWT-topic
// protocol (README, "Hosting the realtime layer"): session start, publish with ack, refused publish and
// subscribe, token expiry and in-band refresh, and delivery across
// protocols with pusher-js and the pusher SDK.
//
// Client quirks: on Node 20 it needs the `ws` package's WebSocket passed
// in websocketOptions; it ignores frames without messageType; it reconnects
// forever after a refused handshake unless maxRetries is set; its
// subscribeRemoteTopic sends no id, so a subscription is confirmed here by a
// subscribe frame with an id (acknowledged by the server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherJS from 'pusher-js';
import { RealtimeClient } from 'realtime-pubsub-client';
import WS from 'ws';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { anonymousToken, mintToken } from '../lib/jwt.mjs';
import { pusherJsOptions, pusherServer } from '../lib/realtime.mjs';
import { waitForEvent, withTimeout } from '../lib/wait.mjs';

const ALL = ['realtime:subscriber:read:topic:*', 'realtime:publisher:write:topic:*'];

/** start runs `gatehouse dev`; every client opened through it is closed before gatehouse stops. */
async function start(t) {
  const closers = [];
  t.after(() => { for (const c of closers) c(); });
  const gh = await startGatehouse({ t });
  gh.closers = closers;
  return gh;
}

/** mint mints a token for sub with perms (and ttl) with the dev server's keys and issuer. */
function mint(gh, sub, perms, { ttl } = {}) {
  return mintToken(gh, ['--sub', sub, ...perms.flatMap((p) => ['--perm', p]), ...(ttl ? ['--ttl', ttl] : [])]);
}

/**
 * connect opens a RealtimeClient with token and resolves with it and the
 * welcome's connection info once session.started fired.
 */
async function connect(gh, token) {
  const url = `ws://127.0.0.1:${gh.port}/apps/dev?access_token=${encodeURIComponent(token)}`;
  const client = new RealtimeClient({ websocketOptions: { WebSocket: WS, maxRetries: 0, urlProvider: () => url } });
  client.on('error', () => {}); // an unhandled 'error' would throw
  gh.closers.push(() => client.disconnect());
  const started = client.waitFor('session.started', { timeout: 5000 });
  await client.connect();
  const [info] = await started;
  return { client, info };
}

let seq = 0;
function nextID() { seq++; return `id${seq}`; }

/** errorFor resolves with the priv/errors frame answering id. */
function errorFor(client, id, ms = 5000) {
  let h;
  const p = new Promise((resolve) => {
    h = (m) => { if (m.data.id === id) resolve(m.data); };
    client.on('priv/errors.error', h);
  });
  return withTimeout(p, ms, `error for ${id}`).finally(() => client.off('priv/errors.error', h));
}

/** subscribe subscribes with an id and waits for the server's ack (or fails on its error). */
async function subscribe(client, topic) {
  const id = nextID();
  const failed = errorFor(client, id).then((e) => { throw new Error(`subscribe ${topic}: ${JSON.stringify(e)}`); });
  failed.catch(() => {});
  client.ws.send(JSON.stringify({ type: 'subscribe', data: { topic, id } }));
  await Promise.race([client.waitFor(`ack.${id}`, { timeout: 5000 }), failed]);
}

/** next resolves with the next message of messageType on topic. */
function next(client, topic, messageType, ms = 5000) {
  return client.waitFor(`${topic}.${messageType}`, { timeout: ms }).then(([m]) => m);
}

function pusherClient(gh, token) {
  const app = gh.devApp();
  const c = new PusherJS(app.key, pusherJsOptions(gh, token));
  gh.closers.unshift(() => c.disconnect());
  return c;
}

test('pubsub-client: session.started carries the connection id and the token\'s permissions', async (t) => {
  const gh = await start(t);
  const { info } = await connect(gh, await anonymousToken(gh));
  assert.equal(typeof info.id, 'string');
  assert.ok(info.id.length > 0);
  assert.ok(info.permissions.includes('realtime:subscriber:read:topic:public-*'), JSON.stringify(info.permissions));
});

test('pubsub-client: publish is acknowledged and reaches subscribers, the publisher included', async (t) => {
  const gh = await start(t);
  const token = await mint(gh, 'svc-a', ALL);
  const { client: pub, info } = await connect(gh, token);
  const { client: sub } = await connect(gh, await anonymousToken(gh));
  await subscribe(sub, 'public-feed');
  await subscribe(pub, 'public-feed');

  const got = next(sub, 'public-feed', 'note');
  const own = next(pub, 'public-feed', 'note');
  await pub.publish('public-feed', { text: 'hello', n: 1 }, { messageType: 'note' }).waitForAck(5000);
  const m = await got;
  assert.deepEqual(m.data.payload, { text: 'hello', n: 1 });
  assert.equal(m.data.client.connectionId, info.id);
  assert.equal(m.data.client.sub, 'svc-a');
  assert.equal(m.compression, false, 'text frames');
  assert.deepEqual((await own).data.payload, { text: 'hello', n: 1 });

  // A string payload stays a string.
  const s = next(sub, 'public-feed', 'line');
  await pub.publish('public-feed', 'just text', { messageType: 'line' }).waitForAck(5000);
  assert.equal((await s).data.payload, 'just text');
});

test('pubsub-client: refused publish and subscribe get priv/errors and deliver nothing', async (t) => {
  const gh = await start(t);
  const { client: anon } = await connect(gh, await anonymousToken(gh));
  const { client: watcher } = await connect(gh, await anonymousToken(gh));
  const { client: admin } = await connect(gh, await mint(gh, 'svc-admin', ALL));
  await subscribe(watcher, 'public-x');

  const seen = [];
  watcher.on('public-x.*', (m) => seen.push(m));

  // Anonymous callers may read public-* but not publish there.
  const id = nextID();
  const denied = errorFor(anon, id);
  anon.publish('public-x', { sneaky: true }, { messageType: 'spam', id });
  const e = await denied;
  assert.equal(e.code, 'forbidden');
  assert.equal(e.topic, 'public-x');

  // Nor subscribe to private channels.
  const sid = nextID();
  const subDenied = errorFor(anon, sid);
  anon.ws.send(JSON.stringify({ type: 'subscribe', data: { topic: 'private-chat', id: sid } }));
  assert.equal((await subDenied).code, 'forbidden');

  // An allowed publish after the refused one arrives first and alone.
  const marker = next(watcher, 'public-x', 'marker');
  await admin.publish('public-x', 'ok', { messageType: 'marker' }).waitForAck(5000);
  await marker;
  assert.deepEqual(seen.map((m) => m.messageType), ['marker']);

  // The server's topics are not the client's to use.
  const rid = nextID();
  const reserved = errorFor(admin, rid);
  admin.publish('main', 'x', { messageType: 'welcome', id: rid });
  assert.ok(['reserved_topic', 'forbidden', 'invalid_topic'].includes((await reserved).code));
});

test('pubsub-client: a token that expires closes the socket unless refreshed in band', async (t) => {
  const gh = await start(t);
  const perms = ['realtime:subscriber:read:topic:public-*', 'realtime:publisher:write:topic:public-*'];
  const short = await mint(gh, 'svc-r', perms, { ttl: '2s' });
  const { client: control } = await connect(gh, short);
  const { client: refreshed } = await connect(gh, short);
  const controlClosed = waitForEvent(control, 'close', 8000);
  const refreshedClosed = [];
  refreshed.on('close', (e) => refreshedClosed.push(e.code));

  const id = nextID();
  refreshed.ws.send(JSON.stringify({ type: 'refresh', data: { access_token: await mint(gh, 'svc-r', perms), id } }));
  await refreshed.waitFor(`ack.${id}`, { timeout: 5000 });

  // The control client, on the same short token, is closed at its expiry...
  const closed = await controlClosed;
  assert.equal(closed.code, 4001);
  // ...while the refreshed one still publishes.
  await refreshed.publish('public-r', 'still here', { messageType: 'm' }).waitForAck(5000);
  assert.deepEqual(refreshedClosed, []);

  // A refresh for another subject is refused.
  const bad = nextID();
  const err = errorFor(refreshed, bad);
  refreshed.ws.send(JSON.stringify({ type: 'refresh', data: { access_token: await mint(gh, 'someone-else', perms), id: bad } }));
  assert.ok(['invalid_token', 'forbidden'].includes((await err).code));
});

test('pubsub-client: a bad token is refused at the handshake, and maxRetries stops the reconnect loop', async (t) => {
  const gh = await start(t);
  const url = `ws://127.0.0.1:${gh.port}/apps/dev?access_token=not-a-token`;
  const client = new RealtimeClient({ websocketOptions: { WebSocket: WS, maxRetries: 0, urlProvider: () => url } });
  gh.closers.push(() => client.disconnect());
  const failed = waitForEvent(client, 'error', 5000);
  await client.connect().catch(() => {});
  assert.ok(await failed);
  const res = await fetch(`${gh.url}/apps/dev?access_token=not-a-token`);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error, 'invalid_token');
});

test('pubsub-client ↔ pusher-js: topic publishes reach Pusher subscribers and Pusher events reach topic subscribers', async (t) => {
  const gh = await start(t);
  const app = gh.devApp();
  const { client: topicClient } = await connect(gh, await mint(gh, 'svc-x', ALL));
  // /pusher/auth grants what the token carries: alice may use private-room.
  const pusher = pusherClient(gh, await mint(gh, 'alice', [
    'realtime:subscriber:read:topic:private-room', 'realtime:publisher:write:topic:private-room']));
  await waitForEvent(pusher.connection, 'connected', 5000);

  // Topic → Pusher: messageType is the event name, the payload arrives as JSON data.
  const pub = pusher.subscribe('public-bridge');
  await waitForEvent(pub, 'pusher:subscription_succeeded', 5000);
  const toPusher = waitForEvent(pub, 'greeting', 5000);
  await topicClient.publish('public-bridge', { from: 'topics', ok: true }, { messageType: 'greeting' }).waitForAck(5000);
  assert.deepEqual(await toPusher, { from: 'topics', ok: true });

  // Pusher HTTP API → topic.
  await subscribe(topicClient, 'public-bridge');
  const fromAPI = next(topicClient, 'public-bridge', 'api-event');
  const sdk = pusherServer(gh, app);
  await sdk.trigger('public-bridge', 'api-event', { from: 'sdk' });
  assert.deepEqual((await fromAPI).data.payload, { from: 'sdk' });

  // pusher-js client event → topic subscriber (private channel, authorized by /pusher/auth).
  const priv = pusher.subscribe('private-room');
  await waitForEvent(priv, 'pusher:subscription_succeeded', 5000);
  await subscribe(topicClient, 'private-room');
  const fromClient = next(topicClient, 'private-room', 'client-wave');
  assert.equal(priv.trigger('client-wave', { hand: 'right' }), true);
  const m = await fromClient;
  assert.deepEqual(m.data.payload, { hand: 'right' });
  // The Pusher socket id is never shown to topic subscribers: it is a
  // secret of its owner (and it has no sub until it signs in).
  assert.equal(m.data.client?.connectionId, undefined);

  // Topic → pusher-js on the private channel too.
  const back = waitForEvent(priv, 'reply', 5000);
  await topicClient.publish('private-room', 'plain string', { messageType: 'reply' }).waitForAck(5000);
  assert.equal(await back, 'plain string');
});
