// Reference peer: pusher-js and the pusher server SDK against soketi, so the
// client libraries themselves are known to work here without Gatehouse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import PusherJS from 'pusher-js';
import { startSoketi } from '../lib/soketi.mjs';
import { waitForEvent } from '../lib/wait.mjs';

test('pusher-js connects to soketi on loopback and receives a server event', async (t) => {
  const s = await startSoketi({ t });
  const server = new Pusher({
    appId: s.appId, key: s.key, secret: s.secret, host: s.host, port: String(s.port), useTLS: false,
  });
  const client = new PusherJS(s.key, {
    wsHost: s.wsHost, wsPort: s.port, forceTLS: false, enabledTransports: ['ws'], disableStats: true,
    cluster: 'local',
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, cb) => cb(null, server.authorizeChannel(socketId, channelName)),
    },
  });
  t.after(() => client.disconnect());
  await waitForEvent(client.connection, 'connected', 10000);
  assert.match(client.connection.socket_id, /^\d+\.\d+$/);

  const ch = client.subscribe('private-smoke');
  await waitForEvent(ch, 'pusher:subscription_succeeded', 5000);
  const got = waitForEvent(ch, 'greeting', 5000);
  const res = await server.trigger('private-smoke', 'greeting', { text: 'hi' });
  assert.equal(res.status, 200);
  assert.deepEqual(await got, { text: 'hi' });
});
