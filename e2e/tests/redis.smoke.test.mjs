import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis } from '../lib/redis.mjs';

test('redis helper starts a private redis-server that answers PING', async (t) => {
  const redis = await startRedis({ t });
  assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+\/0$/);
  assert.equal(await redis.command('PING'), 'PONG');
  assert.equal(await redis.command('SET', 'k', 'v'), 'OK');
  assert.equal(await redis.command('GET', 'k'), 'v');
  // No persistence configured.
  const save = await redis.command('CONFIG', 'GET', 'save');
  assert.deepEqual(save, ['save', '']);
  const r = await redis.stop();
  assert.equal(r.killed, false);
});
