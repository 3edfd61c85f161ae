// Channel history through the signed HTTP API with the `pusher` SDK, on
// the in-memory backplane (the app's own apps[].history) and on two nodes
// sharing a real redis-server (SPEC's realtime.history, for every app),
// and through the topic protocol's history frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RealtimeClient } from 'realtime-pubsub-client';
import WS from 'ws';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { startRedis } from '../lib/redis.mjs';
import { freePort } from '../lib/free-port.mjs';
import { makeTempDir } from '../lib/proc.mjs';
import { mintToken } from '../lib/jwt.mjs';
import { pusherServer } from '../lib/realtime.mjs';
import { withTimeout } from '../lib/wait.mjs';

const app = { id: 'hist', key: 'hist-key', secret: 'hist-secret-0123456789' };
const rules = [{ channels: ['presence-lobby', 'chat-*'], last: 3, ttl: '10m' }];
const appWithHistory = { ...app, history: rules };

async function history(sdk, channel, params = {}) {
  const res = await sdk.get({ path: `/channels/${channel}/history`, params });
  assert.equal(res.status, 200);
  return (await res.json()).events;
}

async function exercise(a, b) {
  const sdk = pusherServer(a, app);
  const before = Date.now();
  for (let i = 1; i <= 5; i++) {
    assert.equal((await sdk.trigger('chat-room', 'msg', { n: i })).status, 200);
  }
  await sdk.trigger('other', 'msg', { n: 0 });
  // Read through the other node: the last 3, oldest first.
  const viaB = pusherServer(b, app);
  const evs = await history(viaB, 'chat-room');
  assert.deepEqual(evs.map((e) => JSON.parse(e.data).n), [3, 4, 5]);
  // SPEC's shape: id, event, data, published_at (Unix ms).
  for (const e of evs) {
    assert.deepEqual(Object.keys(e).sort(), ['data', 'event', 'id', 'published_at']);
    assert.equal(e.event, 'msg');
    assert.match(e.id, /^\d+$/);
    assert.ok(e.published_at >= before - 1000 && e.published_at <= Date.now() + 1000, String(e.published_at));
  }
  // Paging back from the newest.
  const older = await history(viaB, 'chat-room', { before: evs[2].id, limit: 1 });
  assert.deepEqual(older.map((e) => JSON.parse(e.data).n), [4]);
  // No rule, no history.
  assert.deepEqual(await history(viaB, 'other'), []);
  // The API is signed like every other.
  const bad = await fetch(`${b.url}/apps/${app.id}/channels/chat-room/history?auth_key=${app.key}&auth_timestamp=1&auth_version=1.0&auth_signature=00`);
  assert.equal(bad.status, 401);
}

test('history through the HTTP API on one in-memory node', async (t) => {
  const gh = await startGatehouse({ t, publicUrl: true, config: { apps: [appWithHistory] } });
  await exercise(gh, gh);
});

test('history through the HTTP API across two nodes on Redis', async (t) => {
  const redis = await startRedis({ t });
  const keysDir = makeTempDir('gatehouse-e2e-hist-keys-');
  const port = await freePort();
  const config = { server: { public_url: `http://127.0.0.1:${port}` }, keys: { dir: keysDir }, apps: [app], realtime: { backplane: 'redis', redis: { url: redis.url }, history: rules } };
  const a = await startGatehouse({ t, port, config });
  const b = await startGatehouse({ t, config });
  await exercise(a, b);
});

test('a topic client asks for history when it joins', async (t) => {
  const gh = await startGatehouse({ t, publicUrl: true, config: { apps: [appWithHistory] } });
  const sdk = pusherServer(gh, app);
  for (let i = 1; i <= 4; i++) await sdk.trigger('chat-lobby', 'msg', { n: i });
  const token = await mintToken(gh, ['--sub', 'late', '--perm', 'realtime:subscriber:read:topic:chat-*']);
  const url = `ws://127.0.0.1:${gh.port}/apps/${app.id}?access_token=${encodeURIComponent(token)}`;
  const client = new RealtimeClient({ websocketOptions: { WebSocket: WS, maxRetries: 0, urlProvider: () => url } });
  client.on('error', () => {});
  t.after(() => client.disconnect());
  const started = client.waitFor('session.started', { timeout: 5000 });
  await client.connect();
  await started;
  const got = withTimeout(new Promise((resolve) => client.once('priv/history.history', (m) => resolve(m.data))), 5000, 'history frame');
  client.ws.send(JSON.stringify({ type: 'history', data: { topic: 'chat-lobby', limit: 2, id: 'h1' } }));
  const h = await got;
  assert.equal(h.topic, 'chat-lobby');
  assert.equal(h.id, 'h1');
  assert.deepEqual(h.events.map((e) => JSON.parse(e.data).n), [3, 4]);
  // A topic the token cannot read: refused.
  const refused = withTimeout(new Promise((resolve) => client.on('priv/errors.error', (m) => { if (m.data.id === 'h2') resolve(m.data.code); })), 5000, 'refusal');
  client.ws.send(JSON.stringify({ type: 'history', data: { topic: 'admin-log', id: 'h2' } }));
  assert.equal(await refused, 'forbidden');
});

test('pusher-js: a client that asks gets gatehouse:history; one that does not sees nothing new', async (t) => {
  const { default: PusherJS } = await import('pusher-js');
  const { pusherJsOptions } = await import('../lib/realtime.mjs');
  const { waitForEvent } = await import('../lib/wait.mjs');
  const gh = await startGatehouse({ t, publicUrl: true, config: { apps: [appWithHistory], policy: { anonymous: { subscribe: ['chat-*'] } } } });
  const sdk = pusherServer(gh, app);
  for (let i = 1; i <= 3; i++) await sdk.trigger('chat-pub', 'msg', { n: i });

  const plain = new PusherJS(app.key, pusherJsOptions(gh));
  const asking = new PusherJS(app.key, pusherJsOptions(gh));
  t.after(() => { plain.disconnect(); asking.disconnect(); });
  const seen = [];
  plain.bind_global((event) => { if (!event.startsWith('pusher')) seen.push(event); });
  await waitForEvent(plain.subscribe('chat-pub'), 'pusher:subscription_succeeded', 5000);

  const ch = asking.subscribe('chat-pub');
  await waitForEvent(ch, 'pusher:subscription_succeeded', 5000);
  const got = waitForEvent(ch, 'gatehouse:history', 5000);
  asking.send_event('gatehouse:history', { channel: 'chat-pub', limit: 2 }, 'chat-pub');
  const h = await got;
  assert.deepEqual(h.events.map((e) => JSON.parse(e.data).n), [2, 3]);

  // A live event still reaches both; the plain client saw nothing else.
  const live = waitForEvent(plain.channel('chat-pub'), 'msg', 5000);
  await sdk.trigger('chat-pub', 'msg', { n: 4 });
  assert.deepEqual(await live, { n: 4 });
  assert.deepEqual(seen, ['msg']);
});
