// RabbitMQ's HTTP auth backend answered by Gatehouse, against Debian's
// rabbitmq-server 3.10 (plugins rabbitmq_auth_backend_http, mqtt,
// web_mqtt, stomp, web_stomp; e2e/configs/rabbitmq.conf, the configuration
// docs/rabbitmq.md shows): the `mqtt` client over TCP and Web MQTT with a
// Gatehouse token as the password, publish and subscribe decided by the
// policy, bad and logged-out tokens refused, a logout closing live
// connections through the management API; @stomp/stompjs over Web STOMP
// for one allowed and one denied destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client as StompClient } from '@stomp/stompjs';
import WS from 'ws';
import { claims } from '../lib/jwt.mjs';
import { devLogin, logout, sessionToken } from '../lib/devidp.mjs';
import { freePort } from '../lib/free-port.mjs';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { gatehouseRabbitConfig, MANAGEMENT_PASSWORD, mqttConnect, rabbitmqEnv, startRabbitMQ } from '../lib/rabbitmq.mjs';
import { withTimeout } from '../lib/wait.mjs';

async function rig(t) {
  const ghPort = await freePort();
  const mgmtPort = await freePort();
  const gh = await startGatehouse({ t, port: ghPort, publicUrl: true, config: gatehouseRabbitConfig(mgmtPort), env: rabbitmqEnv });
  const rmq = await startRabbitMQ({ t, managementPort: mgmtPort, vars: { GATEHOUSE: `http://127.0.0.1:${ghPort}`, MANAGEMENT_PASSWORD } });
  return { gh, rmq };
}

/** login returns a session token for name and its subject (the MQTT user name). */
async function login(gh, name) {
  const jar = await devLogin(gh.url, name);
  const token = await sessionToken(gh, jar);
  return { jar, token, sub: claims(token).sub };
}

test('rabbitmq: MQTT and Web MQTT with Gatehouse tokens; the policy decides topics', async (t) => {
  const { gh, rmq } = await rig(t);
  const tcp = `mqtt://127.0.0.1:${rmq.ports.mqtt}`;
  const web = `ws://127.0.0.1:${rmq.ports.webMqtt}/ws`;

  await t.test('publish and subscribe where the policy allows (TCP and Web MQTT)', async () => {
    const ada = await login(gh, 'ada');
    const { c: sub, error } = await mqttConnect(t, web, ada.sub, ada.token);
    assert.ifError(error);
    await sub.subscribeAsync('chat/+');
    const got = new Promise((resolve) => sub.once('message', (topic, m) => resolve([topic, String(m)])));
    const bob = await login(gh, 'bob');
    const { c: pub, error: e2 } = await mqttConnect(t, tcp, bob.sub, bob.token);
    assert.ifError(e2);
    await pub.publishAsync('chat/room', 'hello over MQTT', { qos: 1 });
    assert.deepEqual(await withTimeout(got, 10000, 'message'), ['chat/room', 'hello over MQTT']);
  });

  await t.test('a publish outside the grants closes the connection', async () => {
    const carol = await login(gh, 'carol');
    const { c, error } = await mqttConnect(t, tcp, carol.sub, carol.token);
    assert.ifError(error);
    const closed = new Promise((resolve) => c.once('close', resolve));
    c.publish('chat/other', 'not granted', { qos: 1 });
    await withTimeout(closed, 10000, 'connection closed by RabbitMQ');
  });

  await t.test('a subscription outside the grants is refused', async () => {
    const dave = await login(gh, 'dave');
    const { c, error } = await mqttConnect(t, tcp, dave.sub, dave.token);
    assert.ifError(error);
    const outcome = await withTimeout(c.subscribeAsync('admin/#').then((granted) => granted.map((g) => g.qos), (e) => String(e)), 10000, 'subscribe');
    // RabbitMQ 3.10 answers a failed SUBACK (0x80) or closes the connection.
    assert.ok(JSON.stringify(outcome).includes('128') || /close|disconnect/i.test(String(outcome)), JSON.stringify(outcome));
  });

  await t.test('tampered tokens, other users\' names and missing passwords are refused', async () => {
    const erin = await login(gh, 'erin');
    const tampered = erin.token.slice(0, -4) + (erin.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const [user, pass] of [[erin.sub, tampered], ['dev|someone-else', erin.token], [erin.sub, '']]) {
      const { error } = await mqttConnect(t, tcp, user, pass);
      assert.ok(error, `refused: ${user}`);
    }
    // sub/client-id names are the subject's too.
    const { error } = await mqttConnect(t, tcp, `${erin.sub}/phone`, erin.token);
    assert.ifError(error);
  });

  await t.test('logout closes live MQTT connections (management API) and refuses the token after', async () => {
    const fay = await login(gh, 'fay');
    const { c, error } = await mqttConnect(t, tcp, fay.sub, fay.token);
    assert.ifError(error);
    const closed = new Promise((resolve) => c.once('close', resolve));
    assert.equal((await logout(gh.url, fay.jar)).status, 302);
    await withTimeout(closed, 10000, 'closed after logout');
    assert.ok((await mqttConnect(t, tcp, fay.sub, fay.token)).error, 'the logged-out token is refused');
  });
});

test('rabbitmq: STOMP over WebSocket, one allowed and one denied destination', async (t) => {
  const { gh, rmq } = await rig(t);
  const gus = await login(gh, 'gus');
  const client = new StompClient({
    brokerURL: `ws://127.0.0.1:${rmq.ports.webStomp}/ws`,
    webSocketFactory: () => new WS(`ws://127.0.0.1:${rmq.ports.webStomp}/ws`, ['v12.stomp']),
    connectHeaders: { login: gus.sub, passcode: gus.token },
    reconnectDelay: 0,
  });
  // With reconnectDelay 0 a socket that closes before CONNECTED is final:
  // say so instead of waiting out the timeout.
  const connected = new Promise((resolve, reject) => {
    client.onConnect = resolve;
    client.onStompError = (f) => reject(new Error(f.headers.message));
    client.onWebSocketClose = (e) => reject(new Error(`Web STOMP socket closed before CONNECTED (code ${e.code})`));
  });
  client.activate();
  t.after(() => client.deactivate());
  await withTimeout(connected, 10000, 'stomp connect');
  const got = new Promise((resolve) => client.subscribe('/topic/chat.room', (m) => resolve(m.body)));
  client.publish({ destination: '/topic/chat.room', body: 'hello over STOMP' });
  assert.equal(await withTimeout(got, 10000, 'stomp message'), 'hello over STOMP');

  // RabbitMQ asks Gatehouse, is refused, and ends the session (an ERROR
  // frame or the socket's close, depending on timing).
  const refused = new Promise((resolve) => {
    client.onStompError = (f) => resolve(`error: ${f.headers.message}`);
    client.onWebSocketClose = () => resolve('closed');
  });
  client.publish({ destination: '/topic/admin.alerts', body: 'no' });
  await withTimeout(refused, 10000, 'stomp refusal');
  await gh.waitForOutput(/rabbitmq topic denied.*"routing_key":"admin\.alerts"/, 5000);
});
