// No accepted event lost when Redis Sentinel fails the primary over: two
// gatehouse nodes following a primary through three sentinels
// (realtime.redis.sentinel, wait_replicas 1), a pusher-js client on node
// B, the `pusher` SDK publishing through node A, SENTINEL FAILOVER while
// events flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSentinelSet } from '../lib/redis.mjs';
import { pusherTicks, twoRedisNodes } from '../lib/nodes.mjs';
import { pusherServer } from '../lib/realtime.mjs';
import { poll } from '../lib/wait.mjs';

const app = { id: 'chaos', key: 'chaos-key', secret: 'chaos-secret-0123456789' };

test('a Sentinel failover while events flow: every accepted event reaches the connected client', async (t) => {
  const set = await startSentinelSet({ t });
  // The configuration docs/redis.md shows for Sentinel.
  const [a, b] = await twoRedisNodes(t, {
    sentinel: { master: set.masterName, addrs: set.addrs },
    wait_replicas: 1,
    wait_timeout: '500ms',
  }, { app });
  const { client, got } = await pusherTicks(t, b, app);

  const sdk = pusherServer(a, app);
  const accepted = [];
  let refused = 0;
  let failedOver = false;
  const before = await set.master();
  for (let n = 0; n < 400 || !failedOver || accepted.length < 200; n++) {
    if (n === 100) {
      await set.failover();
      failedOver = true;
    }
    try {
      const res = await sdk.trigger('public-feed', 'tick', { n });
      if (res.status === 200) accepted.push(n); else refused++;
    } catch {
      refused++; // surfaced to the publisher as an error: not accepted
    }
    if (n > 5000) break;
  }
  assert.notEqual(await set.master(), before, 'the primary changed');
  // Refused publishes may arrive too (refused means not guaranteed), so
  // wait for the accepted ones themselves, not for a count.
  await poll(() => { const have = new Set(got); return accepted.every((n) => have.has(n)); },
    { timeout: 20000, what: `all ${accepted.length} accepted events (have ${got.length})` });
  assert.deepEqual(got.filter((n) => accepted.includes(n)), accepted, 'every accepted event once, in order');
  assert.equal(new Set(got).size, got.length, 'no duplicates');
  assert.equal(client.connection.state, 'connected');
  t.diagnostic(`accepted ${accepted.length}, refused ${refused} during the failover`);
});

