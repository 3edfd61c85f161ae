// No accepted event lost when the nodes' connections to Redis drop: two
// gatehouse nodes on one redis-server, a pusher-js client on node B, the
// `pusher` SDK publishing through node A while every node's event-reading
// connection is killed again and again (CLIENT KILL, as a network blip or a
// proxy restart would). Before event streams, 15 of 559 events were lost
// this way. Also: realtime-pubsub-client publishers and subscribers on both
// nodes through blips, and a node's kill -9. Failovers of Redis itself are
// in redis-sentinel-failover.test.mjs and redis-cluster-failover.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherJS from 'pusher-js';
import { startRedis } from '../lib/redis.mjs';
import { pubsubClient, pusherTicks, subscribeTopic, twoRedisNodes } from '../lib/nodes.mjs';
import { pusherJsOptions, pusherServer } from '../lib/realtime.mjs';
import { devLogin, sessionToken } from '../lib/devidp.mjs';
import http from 'node:http';
import { poll, waitForEvent } from '../lib/wait.mjs';

const app = { id: 'chaos', key: 'chaos-key', secret: 'chaos-secret-0123456789' };

/**
 * readers lists the ids of the connections that carry events to the nodes:
 * the event-stream readers (named gatehouse-events-<node>) and every pub/sub
 * subscriber (revocations; the events of earlier versions).
 */
async function readers(redis) {
  const list = await redis.command('CLIENT', 'LIST');
  return String(list).split('\n').filter((l) => / name=gatehouse-events-| sub=[1-9]/.test(l)).map((l) => /(?:^| )id=(\d+)/.exec(l)[1]);
}

test('event-reading connections killed 8 times while events flow: none lost, none repeated', async (t) => {
  const redis = await startRedis({ t });
  const [a, b] = await twoRedisNodes(t, { url: redis.url }, { app });
  const { client, got } = await pusherTicks(t, b, app);
  assert.ok((await readers(redis)).length >= 2, 'each node reads events from Redis');

  const sdk = pusherServer(a, app);
  const total = 600;
  let kills = 0;
  for (let n = 0; n < total; n++) {
    const res = await sdk.trigger('public-feed', 'tick', { n });
    assert.equal(res.status, 200, `publish ${n} accepted`);
    if (n % 70 === 35 && kills < 8) {
      for (const id of await readers(redis)) await redis.command('CLIENT', 'KILL', 'ID', id);
      kills++;
    }
  }
  assert.equal(kills, 8);
  await poll(() => got.length >= total, { timeout: 15000, what: `all ${total} events (have ${got.length})` });
  assert.deepEqual(got, Array.from({ length: total }, (_, i) => i), 'every accepted event once, in order');
  assert.equal(client.connection.state, 'connected', 'the client never had to reconnect');

  // The blips happened and were counted; nobody was told to resync.
  const metrics = await (await fetch(`${b.url}/metrics`)).text();
  const errors = Number(/gatehouse_backplane_background_errors_total (\d+)/.exec(metrics)?.[1] ?? 0);
  assert.ok(errors >= 1, `background errors counted on node B: ${errors}`);
  assert.match(metrics, /gatehouse_realtime_resyncs_total 0\b/);
});

/** webhookSink collects the Pusher webhook events POSTed to it. */
async function webhookSink(t) {
  const events = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      for (const e of JSON.parse(body).events) events.push(e);
      res.end('ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, events };
}

test('kill -9 of a node: its presence member leaves on the other node and the survivor sends the webhooks', async (t) => {
  const redis = await startRedis({ t });
  const sink = await webhookSink(t);
  const hooked = { ...app, webhooks: [{ url: sink.url, events: ['channel_vacated', 'member_removed'] }] };
  const [a, b] = await twoRedisNodes(t, { url: redis.url }, { app: hooked });
  const stay = new PusherJS(app.key, pusherJsOptions(a, await sessionToken(a, await devLogin(a.url, 'ada'))));
  const doomed = new PusherJS(app.key, pusherJsOptions(b, await sessionToken(a, await devLogin(a.url, 'bob'))));
  t.after(() => { stay.disconnect(); doomed.disconnect(); });
  const connected = async (c) => { if (c.connection.state !== 'connected') await waitForEvent(c.connection, 'connected', 5000); };
  await connected(stay);
  const room = stay.subscribe('presence-room');
  await waitForEvent(room, 'pusher:subscription_succeeded', 5000);
  await connected(doomed);
  const added = waitForEvent(room, 'pusher:member_added', 5000);
  await waitForEvent(doomed.subscribe('presence-room'), 'pusher:subscription_succeeded', 5000);
  assert.equal((await added).id, 'dev|bob');
  await waitForEvent(doomed.subscribe('public-solo'), 'pusher:subscription_succeeded', 5000);
  // The count reaches Redis just after the client hears it is subscribed:
  // wait until the other node sees it, so the crash below leaves it behind.
  const sdk = pusherServer(a, app);
  await poll(async () => {
    const res = await sdk.get({ path: '/channels/public-solo', params: { info: 'subscription_count' } });
    return (await res.json()).occupied === true;
  }, { timeout: 5000, what: 'public-solo occupied as node A sees it' });

  const removed = waitForEvent(room, 'pusher:member_removed', 15000);
  doomed.connection.unbind(); // the client would reconnect elsewhere; not part of this test
  b.proc.kill('SIGKILL');
  assert.equal((await removed).id, 'dev|bob', 'ada on A hears bob of the dead node leave (heartbeat TTL)');
  await poll(() => sink.events.some((e) => e.name === 'member_removed' && e.user_id === 'dev|bob'),
    { timeout: 10000, what: 'member_removed webhook from the surviving node' });
  await poll(() => sink.events.some((e) => e.name === 'channel_vacated' && e.channel === 'public-solo'),
    { timeout: 10000, what: 'channel_vacated webhook for the dead node\'s channel' });
  assert.equal(sink.events.filter((e) => e.name === 'member_removed' && e.user_id === 'dev|bob').length, 1, 'sent once');
  assert.ok(!sink.events.some((e) => e.name === 'channel_vacated' && e.channel === 'presence-room'), 'ada still holds presence-room');
});

test('topic clients on both nodes publish and subscribe through blips: every acknowledged message arrives once, in order', async (t) => {
  const { mintToken } = await import('../lib/jwt.mjs');
  const redis = await startRedis({ t });
  // Publishing as fast as acks come back: lift the per-connection rate.
  const [a, b] = await twoRedisNodes(t, { url: redis.url }, { app, limits: { client_events_per_second: 10000 } });
  const token = await mintToken(a, ['--sub', 'svc', '--perm', 'realtime:subscriber:read:topic:feed-*', '--perm', 'realtime:publisher:write:topic:feed-*']);
  const open = (gh) => pubsubClient(t, gh, app.id, token);
  const [pubA, pubB, subA, subB] = await Promise.all([open(a), open(b), open(a), open(b)]);
  const got = { A: [], B: [] };
  for (const [name, c] of [['A', subA], ['B', subB]]) {
    c.on('feed-x.tick', (m) => got[name].push(`${m.data.payload.from}:${m.data.payload.n}`));
    await subscribeTopic(c, 'feed-x').catch((e) => { throw new Error(`subscribe ack on ${name}: ${e.message}`); });
  }
  const per = 150;
  const acked = [];
  let kills = 0;
  for (let n = 0; n < per; n++) {
    for (const [from, p] of [['a', pubA], ['b', pubB]]) {
      await p.publish('feed-x', { from, n }, { messageType: 'tick' }).waitForAck(5000).catch((e) => { throw new Error(`ack of ${from}:${n} after ${kills} kills: ${e.message}`); });
      acked.push(`${from}:${n}`);
    }
    if (n % 30 === 15) {
      for (const id of await readers(redis)) await redis.command('CLIENT', 'KILL', 'ID', id);
      kills++;
    }
  }
  assert.ok(kills >= 4);
  await poll(() => got.A.length >= acked.length && got.B.length >= acked.length, { timeout: 15000, what: `all ${acked.length} on both nodes (A ${got.A.length}, B ${got.B.length})` });
  for (const side of ['A', 'B']) {
    assert.equal(new Set(got[side]).size, got[side].length, `no duplicates on ${side}`);
    assert.deepEqual([...got[side]].sort(), [...acked].sort(), `every acknowledged message on ${side}`);
    for (const from of ['a', 'b']) {
      const seq = got[side].filter((x) => x.startsWith(`${from}:`)).map((x) => Number(x.split(':')[1]));
      assert.deepEqual(seq, Array.from({ length: per }, (_, i) => i), `${from}'s order kept on ${side}`);
    }
  }
});
