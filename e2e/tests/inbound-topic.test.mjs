// The inbound topic with the real realtime-pubsub-client: a client's send()
// reaches the backend subscribed to the app's inbound topic (secure/inbound,
// a name with "/" that Pusher cannot reach), carrying the sender's
// connection id and subject; the backend's reply() reaches exactly that
// client, whose waitForReply() resolves. Only a connection whose permission
// names the inbound topic may read it or reply; apps without it refuse send().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RealtimeClient } from 'realtime-pubsub-client';
import WS from 'ws';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { mintToken } from '../lib/jwt.mjs';
import { withTimeout } from '../lib/wait.mjs';

const config = `
apps:
  - id: seed
    key: seed-key
    secret: seed-secret-0123456789
    inbound_topic: {enabled: true}        # secure/inbound
  - id: plain
    key: plain-key
    secret: plain-secret-0123456789
`;

async function connect(t, gh, app, token) {
  const url = `ws://127.0.0.1:${gh.port}/apps/${app}?access_token=${encodeURIComponent(token)}`;
  const client = new RealtimeClient({ websocketOptions: { WebSocket: WS, maxRetries: 0, urlProvider: () => url } });
  client.on('error', () => {});
  t.after(() => client.disconnect());
  const started = client.waitFor('session.started', { timeout: 5000 });
  await client.connect();
  const [info] = await started;
  return { client, info };
}

function errorFor(client, id) {
  return withTimeout(new Promise((resolve) => client.on('priv/errors.error', (m) => { if (m.data.id === id) resolve(m.data); })), 5000, `error ${id}`);
}

async function subscribe(client, topic, id) {
  const res = Promise.race([client.waitFor(`ack.${id}`, { timeout: 5000 }).then(() => 'ok'), errorFor(client, id).then((e) => e.code)]);
  client.ws.send(JSON.stringify({ type: 'subscribe', data: { topic, id } }));
  return res;
}

test('send() → backend on secure/inbound → reply() → waitForReply()', async (t) => {
  const gh = await startGatehouse({ t, publicUrl: true, config });
  const backendToken = await mintToken(gh, ['--sub', 'backend', '--perm', 'realtime:subscriber:read:topic:secure/inbound']);
  const { client: backend } = await connect(t, gh, 'seed', backendToken);
  assert.equal(await subscribe(backend, 'secure/inbound', 's1'), 'ok');
  backend.on('secure/inbound.create', (m, reply) => {
    reply({ created: m.data.payload.name, for: m.data.client.sub }, 'ok').waitForAck().catch(() => {});
  });

  const userToken = await mintToken(gh, ['--sub', 'ada', '--perm', 'realtime:subscriber:read:topic:news']);
  const { client: user, info } = await connect(t, gh, 'seed', userToken);
  const seen = new Promise((resolve) => backend.once('secure/inbound.create', (m) => resolve(m)));
  const [res] = await user.send({ name: 'thing' }, { messageType: 'create' }).waitForReply(5000);
  assert.deepEqual(res.data, { created: 'thing', for: 'ada' });
  assert.equal(res.status, 'ok');
  const m = await seen;
  assert.equal(m.data.client.connectionId, info.id, 'the backend sees the sender\'s connection id');

  // Another client never sees the reply meant for the first.
  const { client: other } = await connect(t, gh, 'seed', userToken);
  const leaked = [];
  other.on('*.response', (x) => leaked.push(x));
  await user.send({ name: 'again' }, { messageType: 'create' }).waitForReply(5000);
  assert.deepEqual(leaked, []);
});

test('the inbound topic is for explicit permissions only; replies too; send() needs the app to turn it on', async (t) => {
  const gh = await startGatehouse({ t, publicUrl: true, config });
  // A wildcard grant does not reach the inbound topic.
  const wide = await mintToken(gh, ['--sub', 'wide', '--perm', 'realtime:subscriber:read:topic:*', '--perm', 'realtime:publisher:write:topic:*']);
  const { client } = await connect(t, gh, 'seed', wide);
  assert.equal(await subscribe(client, 'secure/inbound', 'w1'), 'forbidden');
  // Nor may it reply to another connection.
  const err = errorFor(client, 'r1');
  client.ws.send(JSON.stringify({ type: 'publish', data: { topic: 'priv/1.1', messageType: 'response', payload: { id: 'x' }, id: 'r1' } }));
  assert.equal((await err).code, 'forbidden');
  // Other "/" topics work like any topic.
  assert.equal(await subscribe(client, 'rooms/lobby', 'w2'), 'ok');

  // An app without an inbound topic refuses send().
  const { client: plain } = await connect(t, gh, 'plain', wide);
  const refused = errorFor(plain, 'm1');
  plain.send({ x: 1 }, { id: 'm1' });
  assert.equal((await refused).code, 'unsupported_type');
});
