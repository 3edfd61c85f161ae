// No accepted event lost when a Redis Cluster primary dies: two gatehouse
// nodes on a 3-primary cluster with a replica each (realtime.redis.cluster,
// wait_replicas 1), pusher-js and realtime-pubsub-client subscribers on both
// nodes, the `pusher` SDK
// publishing through both, and the primary holding the channel's event
// stream killed with SIGKILL while events flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventStream, startRedisCluster } from '../lib/redis.mjs';
import { pubsubClient, pusherTicks, subscribeTopic, twoRedisNodes } from '../lib/nodes.mjs';
import { pusherServer } from '../lib/realtime.mjs';
import { poll } from '../lib/wait.mjs';

const app = { id: 'chaos', key: 'chaos-key', secret: 'chaos-secret-0123456789' };

test('kill -9 of a Redis Cluster primary while events flow: every accepted event reaches the Pusher and topic clients on both nodes', async (t) => {
  const cluster = await startRedisCluster({ t, primaries: 3, replicas: 1 });
  // The configuration docs/redis.md shows for a Cluster.
  const [a, b] = await twoRedisNodes(t, {
    cluster: { addrs: cluster.addrs.slice(0, 3) },
    wait_replicas: 1,
    wait_timeout: '500ms',
  }, { app });
  const subs = [await pusherTicks(t, a, app), await pusherTicks(t, b, app)];
  const got = subs.map((s) => s.got);
  const clients = subs.map((s) => s.client);
  // realtime-pubsub-client subscribers on both nodes too (the topic and
  // Pusher protocols share channels).
  const { mintToken } = await import('../lib/jwt.mjs');
  const token = await mintToken(a, ['--sub', 'svc', '--perm', 'realtime:subscriber:read:topic:public-feed']);
  const topicGot = [[], []];
  for (const [i, node] of [a, b].entries()) {
    const c = await pubsubClient(t, node, app.id, token);
    c.on('public-feed.tick', (m) => topicGot[i].push(m.data.payload.n));
    await subscribeTopic(c, 'public-feed');
  }
  const victim = await cluster.primaryFor(eventStream(app.id, 'public-feed'));
  const heir = await cluster.replicaOf(victim);

  // Publishers on both nodes, one event at a time; the primary holding the
  // channel's stream is killed after 100 events and its replica takes
  // over while publishing goes on; the killed server then comes back (as
  // its supervisor would bring it) and rejoins as the replica.
  const sdks = [pusherServer(a, app), pusherServer(b, app)];
  const accepted = [];
  let refused = 0;
  let failover = null;
  let acceptedAfter = 0;
  for (let n = 0; ; n++) {
    if (n === 100) {
      failover = (async () => {
        await victim.kill();
        await poll(async () => (await heir.command('ROLE').catch(() => ['']))[0] === 'master',
          { timeout: 30000, interval: 50, what: 'the replica promoted' });
        await victim.start();
        await cluster.healthy();
        return true;
      })();
      failover.done = false;
      failover.then(() => { failover.done = true; }, () => { failover.done = true; });
    }
    try {
      const res = await sdks[n % 2].trigger('public-feed', 'tick', { n });
      if (res.status === 200) {
        accepted.push(n);
        if (failover?.done) acceptedAfter++;
      } else {
        refused++;
      }
    } catch {
      refused++; // surfaced to the publisher as an error: not accepted
    }
    if (acceptedAfter >= 200 || n > 20000) break;
  }
  assert.equal(await failover, true, 'the cluster failed over and healed');
  assert.ok(refused > 0, 'publishes were refused while the stream had no primary');
  for (const [i, g] of got.entries()) {
    await poll(() => accepted.every((n) => g.includes(n)), { timeout: 20000, what: `node ${i}'s client has every accepted event` });
    assert.deepEqual(g.filter((n) => accepted.includes(n)), accepted, `node ${i}: every accepted event once, in order`);
    assert.equal(new Set(g).size, g.length, `node ${i}: no duplicates`);
    assert.equal(clients[i].connection.state, 'connected', `node ${i}'s client stayed connected`);
  }
  for (const [i, g] of topicGot.entries()) {
    await poll(() => { const have = new Set(g); return accepted.every((n) => have.has(n)); },
      { timeout: 20000, what: `node ${i}'s topic client has every accepted event` });
    assert.deepEqual(g.filter((n) => accepted.includes(n)), accepted, `topic client on node ${i}: every accepted event once, in order`);
    assert.equal(new Set(g).size, g.length, `topic client on node ${i}: no duplicates`);
  }
  // Occupancy agrees on both nodes once they wrote their share again.
  for (const sdk of sdks) {
    await poll(async () => {
      const res = await sdk.get({ path: '/channels/public-feed', params: { info: 'subscription_count' } });
      return (await res.json()).subscription_count === 4; // a Pusher and a topic socket per node
    }, { timeout: 10000, what: 'subscription_count 4 on both nodes' });
  }
  const metrics = await (await fetch(`${b.url}/metrics`)).text();
  assert.match(metrics, /gatehouse_realtime_resyncs_total 0\b/, 'no socket was told to resync');
  t.diagnostic(`accepted ${accepted.length}, refused ${refused} during the failover`);
});

