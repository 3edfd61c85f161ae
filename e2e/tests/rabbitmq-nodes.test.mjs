// Two Gatehouse nodes on Redis answering one RabbitMQ (Debian's
// rabbitmq-server 3.10, rabbitmq_auth_backend_http): RabbitMQ sends the
// user check (the only one with the password) to node A and the vhost,
// resource and topic checks to node B, so every MQTT connection needs what
// A verified to be known on B. A logout on A closes the live connections
// under the session's user names through the management API (whichever
// node drops the session's users closes them; another session's connection
// under the same name too, and its token connects again), and the
// logged-out token is refused after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claims } from '../lib/jwt.mjs';
import { devLogin, logout, sessionToken } from '../lib/devidp.mjs';
import { freePort } from '../lib/free-port.mjs';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { makeTempDir } from '../lib/proc.mjs';
import { gatehouseRabbitConfig, MANAGEMENT_PASSWORD, mqttConnect, rabbitmqEnv, startRabbitMQ } from '../lib/rabbitmq.mjs';
import { startRedis } from '../lib/redis.mjs';
import { withTimeout } from '../lib/wait.mjs';

test('rabbitmq on two nodes: the user check on node A, every other check on node B', async (t) => {
  const redis = await startRedis({ t });
  const [portA, portB, mgmtPort] = [await freePort(), await freePort(), await freePort()];
  const config = `
server: {public_url: "http://127.0.0.1:${portA}"}
keys: {dir: "${makeTempDir('gatehouse-e2e-rmq-nodes-keys-')}"}
realtime: {backplane: redis, redis: {url: "${redis.url}"}}
${gatehouseRabbitConfig(mgmtPort)}`;
  const env = rabbitmqEnv;
  // One at a time: the first node generates the signing keys the other loads.
  const a = await startGatehouse({ t, port: portA, config, env });
  const b = await startGatehouse({ t, port: portB, config, env });
  const rmq = await startRabbitMQ({
    t, managementPort: mgmtPort,
    vars: { GATEHOUSE: b.url, MANAGEMENT_PASSWORD },
    authUrls: { user: a.url },
  });
  const tcp = `mqtt://127.0.0.1:${rmq.ports.mqtt}`;

  const jar = await devLogin(a.url, 'ada');
  const token = await sessionToken(a, jar);
  const sub = claims(token).sub;

  const { c, error } = await mqttConnect(t, tcp, sub, token);
  assert.ifError(error); // the vhost check on B found what A verified
  await c.subscribeAsync('chat/+');
  const got = new Promise((resolve) => c.once('message', (topic, m) => resolve([topic, String(m)])));
  await c.publishAsync('chat/room', 'across two nodes', { qos: 1 });
  assert.deepEqual(await withTimeout(got, 10000, 'message'), ['chat/room', 'across two nodes']);

  // B holds A's verification to the policy: a topic outside it is refused
  // (RabbitMQ 3.10 answers 128 or closes the connection).
  const { c: other, error: e2 } = await mqttConnect(t, tcp, `${sub}/second`, token);
  assert.ifError(e2);
  const outcome = await other.subscribeAsync('admin/#').catch((err) => err);
  assert.ok(JSON.stringify(outcome).includes('128') || /close|disconnect/i.test(String(outcome)), JSON.stringify(outcome));

  // The same person logged in a second time (another session, the same
  // subject) connects under the same user name: one record, two sessions.
  const jar2 = await devLogin(a.url, 'ada');
  const token2 = await sessionToken(a, jar2);
  const { c: c2, error: e3 } = await mqttConnect(t, tcp, sub, token2);
  assert.ifError(e3);

  // A logout of the first session closes every connection under the name
  // (either may be the session's); the second session's token connects
  // again, the first's is refused.
  const closed = Promise.all([c, c2].map((x) => new Promise((resolve) => x.once('close', resolve))));
  assert.equal((await logout(a.url, jar)).status, 302);
  await withTimeout(closed, 10000, 'both closed after logout');
  assert.ok((await mqttConnect(t, tcp, sub, token)).error, 'the logged-out token is refused');
  assert.ifError((await mqttConnect(t, tcp, sub, token2)).error);
});
