// Several gatehouse nodes on one redis-server (realtime.backplane: redis):
// events, presence and revocation cross nodes (README, "Several nodes").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherJS from 'pusher-js';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { startRedis } from '../lib/redis.mjs';
import { freePort } from '../lib/free-port.mjs';
import { makeTempDir } from '../lib/proc.mjs';
import { devLogin, logout, sessionToken } from '../lib/devidp.mjs';
import {
  pusherAuth, pusherJsOptions, pusherServer, refusedTopicSocket, releaseCloseTimer, topicSocket,
} from '../lib/realtime.mjs';
import { waitForEvent, withTimeout } from '../lib/wait.mjs';

const app = { id: 'cluster', key: 'cluster-key', secret: 'cluster-secret-0123456789', client_events: true };

/**
 * cluster starts redis-server and `count` gatehouse dev nodes on it sharing
 * the app, the signing keys and the issuer (node 0's URL), so a token or a
 * login of one node is good on every node. start() adds a node later.
 */
async function cluster(t, count) {
  const redis = await startRedis({ t });
  const keysDir = makeTempDir('gatehouse-e2e-cluster-keys-');
  const firstPort = await freePort();
  const publicURL = `http://127.0.0.1:${firstPort}`;
  const config = {
    server: { public_url: publicURL },
    keys: { dir: keysDir },
    apps: [app],
    realtime: { backplane: 'redis', redis: { url: redis.url } },
  };
  // One at a time: the first node generates the keys the others load.
  const start = (port) => startGatehouse({ t, port, config });
  const nodes = [await start(firstPort)];
  for (let i = 1; i < count; i++) nodes.push(await start());
  return { redis, nodes, start };
}

/** client opens pusher-js on node gh, authorizing channels there with token. */
function client(t, gh, token) {
  const c = new PusherJS(app.key, pusherJsOptions(gh, token));
  t.after(() => c.disconnect());
  return c;
}

async function subscribed(c, name) {
  if (c.connection.state !== 'connected') await waitForEvent(c.connection, 'connected', 5000);
  const ch = c.subscribe(name);
  const [data] = await waitForEvent(ch, 'pusher:subscription_succeeded', 5000, { all: true });
  return { ch, data };
}

test('an event published through the HTTP API of node B reaches a pusher-js client on node A', async (t) => {
  const { nodes: [a, b] } = await cluster(t, 2);
  const { ch } = await subscribed(client(t, a), 'public-news');
  const got = waitForEvent(ch, 'headline', 5000);
  const sdk = pusherServer(b, app);
  const data = { title: 'über', n: 1 };
  const res = await sdk.trigger('public-news', 'headline', data);
  assert.equal(res.status, 200);
  assert.deepEqual(await got, data);

  // Node B counts the subscription held on node A.
  const viaB = await (await sdk.get({ path: '/channels/public-news', params: { info: 'subscription_count' } })).json();
  assert.equal(viaB.occupied, true);
  assert.equal(viaB.subscription_count, 1);
});

test('presence members are shared by the nodes', async (t) => {
  const { nodes: [a, b] } = await cluster(t, 2);
  const ada = client(t, a, await sessionToken(a, await devLogin(a.url, 'ada')));
  const bob = client(t, b, await sessionToken(a, await devLogin(a.url, 'bob')));

  const { ch: adaRoom } = await subscribed(ada, 'presence-room');
  const added = waitForEvent(adaRoom, 'pusher:member_added', 5000);
  const { ch: bobRoom } = await subscribed(bob, 'presence-room');
  assert.deepEqual(Object.keys(bobRoom.members.members).sort(), ['dev|ada', 'dev|bob'], 'bob on B sees ada of A');
  assert.equal((await added).id, 'dev|bob', 'ada on A hears bob of B join');

  const removed = waitForEvent(adaRoom, 'pusher:member_removed', 5000);
  bob.disconnect();
  assert.equal((await removed).id, 'dev|bob', 'ada on A hears bob of B leave');
  assert.equal(adaRoom.members.count, 1);
});

test('logout on node A closes the session\'s sockets on node B within 1 s; every node refuses its token after, one started later too', async (t) => {
  const { nodes: [a, b], start } = await cluster(t, 2);
  const jar = await devLogin(a.url, 'ada');
  const token = await sessionToken(a, jar);

  // A Pusher socket on B, bound to the session by B's /pusher/auth, and a
  // topic socket on B opened with the token.
  const ada = client(t, b, token);
  await subscribed(ada, 'presence-room');
  const pusherClosed = new Promise((resolve) => {
    ada.connection.bind('state_change', ({ current }) => { if (current !== 'connected') resolve(Date.now()); });
  });
  const { closed: topicClosed } = await topicSocket(b, token, app.id);

  const res = await logout(a.url, jar);
  const loggedOut = Date.now();
  assert.ok([302, 303].includes(res.status), `logout: ${res.status}`);
  const [pAt, tc] = await withTimeout(Promise.all([pusherClosed, topicClosed]), 1000, 'sockets on node B closed after logout on node A');
  assert.ok(pAt - loggedOut <= 1000 && tc.at - loggedOut <= 1000);
  assert.equal(tc.code, 4003);
  releaseCloseTimer(ada.connection.connection?.transport?.socket);

  // Node B, and a node started after the logout, refuse the token.
  const c = await start();
  for (const gh of [b, c]) {
    const auth = await pusherAuth(gh, token, 'presence-room');
    assert.equal(auth.status, 401, `${gh.url} /pusher/auth with the revoked token`);
    const refused = await refusedTopicSocket(gh, token, app.id);
    assert.ok(refused === 401 || (refused >= 4000 && refused < 5000), `${gh.url} refused with ${refused}`);
  }
  for (const gh of [a, b, c]) assert.doesNotMatch(gh.output(), /panic/);
});
