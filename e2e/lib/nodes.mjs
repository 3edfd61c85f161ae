// Two gatehouse nodes of one deployment on a shared Redis backplane, and
// realtime-pubsub-client sockets on them: what the Redis chaos and failover
// tests share.
import { startGatehouse } from './gatehouse.mjs';
import { pusherJsOptions } from './realtime.mjs';
import { waitForEvent } from './wait.mjs';
import { freePort } from './free-port.mjs';
import { makeTempDir } from './proc.mjs';

/**
 * twoRedisNodes starts two `gatehouse dev` nodes sharing one app, the
 * signing keys (one keys dir) and the issuer (node A's URL), on the Redis
 * backplane redisConfig (realtime.redis: {url} | {sentinel} | {cluster},
 * …). limits, when given, is realtime.limits. Resolves with [a, b].
 */
export async function twoRedisNodes(t, redisConfig, { app, limits } = {}) {
  const keysDir = makeTempDir('gatehouse-e2e-redis-nodes-keys-');
  const firstPort = await freePort();
  const config = {
    server: { public_url: `http://127.0.0.1:${firstPort}` },
    keys: { dir: keysDir },
    apps: [app],
    realtime: { backplane: 'redis', redis: redisConfig, ...(limits ? { limits } : {}) },
  };
  const a = await startGatehouse({ t, port: firstPort, config });
  const b = await startGatehouse({ t, config });
  return [a, b];
}

/**
 * pubsubClient connects a realtime-pubsub-client to gh's app appId with
 * token (no reconnection), waits for session.started and disconnects it
 * after the test.
 */
export async function pubsubClient(t, gh, appId, token) {
  const { RealtimeClient } = await import('realtime-pubsub-client');
  const { default: WSC } = await import('ws');
  const url = `ws://127.0.0.1:${gh.port}/apps/${appId}?access_token=${encodeURIComponent(token)}`;
  const c = new RealtimeClient({ websocketOptions: { WebSocket: WSC, maxRetries: 0, urlProvider: () => url } });
  c.on('error', () => {});
  t.after(() => c.disconnect());
  const started = c.waitFor('session.started', { timeout: 5000 });
  await c.connect();
  await started;
  return c;
}

/** subscribeTopic subscribes c to topic and waits for the server's ack. */
export async function subscribeTopic(c, topic, id = 's') {
  const ack = c.waitFor(`ack.${id}`, { timeout: 5000 });
  c.ws.send(JSON.stringify({ type: 'subscribe', data: { topic, id } }));
  await ack;
}

/**
 * pusherTicks connects pusher-js to node with app's key (disconnected
 * after the test), subscribes it to channel and resolves with {client,
 * got}: got is the list the `n` of each `tick` event is pushed to, in
 * arrival order.
 */
export async function pusherTicks(t, node, app, channel = 'public-feed') {
  const { default: PusherJS } = await import('pusher-js');
  const client = new PusherJS(app.key, pusherJsOptions(node));
  t.after(() => client.disconnect());
  await waitForEvent(client.connection, 'connected', 5000);
  const ch = client.subscribe(channel);
  await waitForEvent(ch, 'pusher:subscription_succeeded', 5000);
  const got = [];
  ch.bind('tick', (d) => got.push(d.n));
  return { client, got };
}
