// Two gatehouse nodes ride out a redis-server restart: readiness follows
// Redis, the nodes subscribe again, write their share back into the empty
// Redis, and events cross nodes again (docs/redis.md, failure behaviour).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherJS from 'pusher-js';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { redisCommand } from '../lib/redis.mjs';
import { pusherJsOptions, pusherServer } from '../lib/realtime.mjs';
import { freePort } from '../lib/free-port.mjs';
import { makeTempDir, spawnTracked } from '../lib/proc.mjs';
import { poll, waitForEvent } from '../lib/wait.mjs';

const app = { id: 'cluster', key: 'cluster-key', secret: 'cluster-secret-0123456789' };

/** restartableRedis runs redis-server on one port, so it can be killed and started again there, empty. */
async function restartableRedis(t) {
  const port = await freePort();
  const dir = makeTempDir('gatehouse-e2e-redis-restart-');
  let child;
  const start = async () => {
    child = spawnTracked(process.env.REDIS_SERVER_BIN || 'redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--loglevel', 'warning',
    ], { name: 'redis-server' });
    await poll(async () => {
      if (!child.running()) throw new Error(`redis-server exited: ${child.output()}`);
      return (await redisCommand(port, ['PING'], 500).catch(() => null)) === 'PONG';
    }, { timeout: 10000, interval: 25, what: 'redis-server PING' });
  };
  await start();
  t.after(() => child.stop());
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    start,
    kill: () => child.stop({ signal: 'SIGKILL' }),
  };
}

async function readyz(gh) {
  const res = await gh.fetch('/readyz');
  return { status: res.status, body: await res.text() };
}

async function metric(gh, name) {
  const text = await (await gh.fetch('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : undefined;
}

test('a redis-server restart: readiness follows Redis, the share is written back and events cross nodes again', async (t) => {
  const redis = await restartableRedis(t);
  const config = {
    keys: { dir: makeTempDir('gatehouse-e2e-cluster-keys-') },
    apps: [app],
    realtime: { backplane: 'redis', redis: { url: redis.url } },
  };
  const a = await startGatehouse({ t, config });
  const b = await startGatehouse({ t, config });

  const c = new PusherJS(app.key, pusherJsOptions(a));
  t.after(() => c.disconnect());
  await waitForEvent(c.connection, 'connected', 5000);
  const news = c.subscribe('public-news');
  await waitForEvent(news, 'pusher:subscription_succeeded', 5000);
  const sdk = pusherServer(b, app);
  const counted = async () => {
    const info = await (await sdk.get({ path: '/channels/public-news', params: { info: 'subscription_count' } })).json();
    return info.subscription_count === 1;
  };
  // subscription_succeeded comes before the count reaches Redis.
  await poll(counted, { timeout: 5000, what: 'the subscription on A counted' });

  await redis.kill();
  await poll(async () => (await readyz(a)).status === 503, { timeout: 10000, what: 'node A unready without Redis' });
  const down = await readyz(b);
  assert.equal(down.status, 503);
  assert.match(down.body, /backplane|revocations/);

  await redis.start(); // empty: no persistence
  for (const gh of [a, b]) {
    await poll(async () => (await readyz(gh)).status === 200, { timeout: 10000, what: `${gh.url} ready again` });
  }
  // Node A wrote its subscription back into the empty Redis: node B sees it.
  await poll(counted, { timeout: 10000, what: 'the subscription on A counted again' });

  const got = waitForEvent(news, 'headline', 5000);
  assert.equal((await sdk.trigger('public-news', 'headline', { after: 'restart' })).status, 200);
  assert.deepEqual(await got, { after: 'restart' });
  assert.equal(c.connection.state, 'connected', 'the client never noticed');

  assert.ok(await metric(a, 'gatehouse_backplane_background_errors_total') > 0, 'the lost connection is counted');
  for (const gh of [a, b]) assert.doesNotMatch(gh.output(), /panic/);
});
