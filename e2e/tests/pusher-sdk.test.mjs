// The `pusher` server SDK 5.3 (unmodified) against Gatehouse's Pusher HTTP
// API (README, "Hosting the realtime layer"): events, batch events, channel and user queries, and signed
// requests with a wrong secret refused. pusher-js clients receive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherJS from 'pusher-js';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { anonymousToken } from '../lib/jwt.mjs';
import { pusherJsOptions, pusherServer } from '../lib/realtime.mjs';
import { waitForEvent, withTimeout } from '../lib/wait.mjs';

/**
 * start runs `gatehouse dev` for one test; the pusher-js clients it opens
 * are disconnected before gatehouse stops (a client whose server went away
 * first keeps reconnecting).
 */
async function start(t) {
  const clients = [];
  t.after(() => { for (const c of clients) c.disconnect(); });
  const gh = await startGatehouse({ t });
  const app = gh.devApp();
  const sdk = (over = {}) => pusherServer(gh, app, over);
  async function client(token) {
    const c = new PusherJS(app.key, pusherJsOptions(gh, token));
    clients.push(c);
    await waitForEvent(c.connection, 'connected', 5000);
    return c;
  }
  return { gh, app, sdk, client };
}

async function subscribed(c, name) {
  const ch = c.subscribe(name);
  await waitForEvent(ch, 'pusher:subscription_succeeded', 5000);
  return ch;
}

/** refusedStatus resolves with the HTTP status the SDK's promise rejects with. */
async function refusedStatus(promise) {
  const err = await promise.then(() => assert.fail('request accepted'), (e) => e);
  assert.ok(err.status, `no status on ${err}`);
  return err.status;
}

test('pusher SDK: trigger reaches subscribers on several channels, string data byte for byte', async (t) => {
  const { sdk, client } = await start(t);
  const c = await client();
  const a = await subscribed(c, 'public-a');
  const b = await subscribed(c, 'public-b');
  const gotA = waitForEvent(a, 'news', 5000);
  const gotB = waitForEvent(b, 'news', 5000);
  const res = await sdk().trigger(['public-a', 'public-b'], 'news', { n: 1, s: 'ü ✓' });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  assert.deepEqual(await gotA, { n: 1, s: 'ü ✓' });
  assert.deepEqual(await gotB, { n: 1, s: 'ü ✓' });

  // A string that is not JSON arrives unchanged.
  const raw = waitForEvent(a, 'raw', 5000);
  await sdk().trigger('public-a', 'raw', 'not json {');
  assert.equal(await raw, 'not json {');
});

test('pusher SDK: trigger with socket_id excludes that connection', async (t) => {
  const { sdk, client } = await start(t);
  const me = await client();
  const other = await client();
  const mine = await subscribed(me, 'public-x');
  const theirs = await subscribed(other, 'public-x');
  const seen = [];
  mine.bind('ping', (d) => seen.push(d));
  const got = waitForEvent(theirs, 'ping', 5000);
  await sdk().trigger('public-x', 'ping', { k: 1 }, { socket_id: me.connection.socket_id });
  assert.deepEqual(await got, { k: 1 });
  // A later event to both shows the first one was not on its way to `me`.
  const after = waitForEvent(mine, 'pong', 5000);
  await sdk().trigger('public-x', 'pong', {});
  await after;
  assert.deepEqual(seen, []);
});

test('pusher SDK: batch events reach every channel named', async (t) => {
  const { sdk, client } = await start(t);
  const c = await client();
  const one = await subscribed(c, 'public-one');
  const two = await subscribed(c, 'public-two');
  const g1 = waitForEvent(one, 'e1', 5000);
  const g2 = waitForEvent(two, 'e2', 5000);
  const res = await sdk().triggerBatch([
    { channel: 'public-one', name: 'e1', data: { i: 1 } },
    { channel: 'public-two', name: 'e2', data: { i: 2 } },
  ]);
  assert.equal(res.status, 200);
  assert.deepEqual(await g1, { i: 1 });
  assert.deepEqual(await g2, { i: 2 });
});

test('pusher SDK: channels, channel info and presence users', async (t) => {
  const { gh, sdk, client } = await start(t);
  const c1 = await client(await anonymousToken(gh));
  const c2 = await client(await anonymousToken(gh));
  await subscribed(c1, 'public-room');
  await subscribed(c2, 'public-room');
  const p1 = await subscribed(c1, 'presence-lobby');
  const joined = waitForEvent(p1, 'pusher:member_added', 5000);
  await subscribed(c2, 'presence-lobby');
  await joined;

  let res = await sdk().get({ path: '/channels' });
  assert.equal(res.status, 200);
  const all = await res.json();
  assert.deepEqual(Object.keys(all.channels).sort(), ['presence-lobby', 'public-room']);

  res = await sdk().get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } });
  assert.deepEqual(await res.json(), { channels: { 'presence-lobby': { user_count: 2 } } });

  res = await sdk().get({ path: '/channels/public-room', params: { info: 'subscription_count' } });
  assert.deepEqual(await res.json(), { occupied: true, subscription_count: 2 });

  res = await sdk().get({ path: '/channels/public-empty' });
  assert.deepEqual(await res.json(), { occupied: false });

  res = await sdk().get({ path: '/channels/presence-lobby/users' });
  const users = (await res.json()).users.map((u) => u.id).sort();
  const ids = [];
  p1.members.each((m) => ids.push(m.id));
  assert.deepEqual(users, ids.sort());
  assert.equal(users.length, 2);
  for (const id of users) assert.match(id, /^anon:/);
});

test('pusher SDK: a wrong secret, an unknown key or an unknown app is refused', async (t) => {
  const { app, sdk } = await start(t);
  assert.equal(await refusedStatus(sdk({ secret: 'not-the-secret-at-all' }).trigger('public-a', 'e', {})), 401);
  assert.equal(await refusedStatus(sdk({ secret: 'not-the-secret-at-all' }).get({ path: '/channels' })), 401);
  assert.equal(await refusedStatus(sdk({ key: 'not-the-key' }).trigger('public-a', 'e', {})), 401);
  assert.equal(await refusedStatus(sdk({ appId: 'nope' }).get({ path: '/channels' })), 404);
  // The right credentials still work afterwards.
  const ok = await withTimeout(sdk().trigger('public-a', 'e', {}), 5000, 'trigger');
  assert.equal(ok.status, 200);
  assert.equal(app.id, 'dev');
});

test('pusher SDK: invalid channel names and oversized data are 400/413', async (t) => {
  const { sdk } = await start(t);
  // The SDK checks channel names itself; a raw signed request shows the server does too.
  const s = sdk();
  const bad = await refusedStatus(s.post({ path: '/events', body: { name: 'e', channels: ['bad channel!'], data: '{}' } }));
  assert.equal(bad, 400);
  const big = await refusedStatus(s.post({ path: '/events', body: { name: 'e', channels: ['public-a'], data: 'x'.repeat(11 * 1024) } }));
  assert.ok([400, 413].includes(big), `status ${big}`);
});
