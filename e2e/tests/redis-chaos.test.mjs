// No accepted event lost when the nodes' connections to Redis drop: two
// gatehouse nodes on one redis-server, a pusher-js client on node B, the
// `pusher` SDK publishing through node A while every node's event-reading
// connection is killed again and again (CLIENT KILL, as a network blip or a
// proxy restart would). Before event streams, 15 of 559 events were lost
// this way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherJS from 'pusher-js';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { startRedis } from '../lib/redis.mjs';
import { freePort } from '../lib/free-port.mjs';
import { makeTempDir } from '../lib/proc.mjs';
import { pusherJsOptions, pusherServer } from '../lib/realtime.mjs';
import { poll, waitForEvent } from '../lib/wait.mjs';

const app = { id: 'chaos', key: 'chaos-key', secret: 'chaos-secret-0123456789' };

async function twoNodes(t, redis) {
  const keysDir = makeTempDir('gatehouse-e2e-chaos-keys-');
  const firstPort = await freePort();
  const config = {
    server: { public_url: `http://127.0.0.1:${firstPort}` },
    keys: { dir: keysDir },
    apps: [app],
    realtime: { backplane: 'redis', redis: { url: redis.url } },
  };
  const a = await startGatehouse({ t, port: firstPort, config });
  const b = await startGatehouse({ t, config });
  return [a, b];
}

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
  const [a, b] = await twoNodes(t, redis);
  const client = new PusherJS(app.key, pusherJsOptions(b));
  t.after(() => client.disconnect());
  await waitForEvent(client.connection, 'connected', 5000);
  const ch = client.subscribe('public-feed');
  await waitForEvent(ch, 'pusher:subscription_succeeded', 5000);
  const got = [];
  ch.bind('tick', (d) => got.push(d.n));
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
