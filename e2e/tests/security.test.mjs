// Attacks on authorization, tried against the real binary with the real
// clients (README, "Security"; SECURITY.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherJS from 'pusher-js';
import WebSocket from 'ws';
import { runGatehouse, startGatehouse } from '../lib/gatehouse.mjs';
import { freePort } from '../lib/free-port.mjs';
import { anonymousToken } from '../lib/jwt.mjs';
import { pusherJsOptions, pusherServer } from '../lib/realtime.mjs';
import { waitForEvent, withTimeout } from '../lib/wait.mjs';

/** topicFrames opens a topic socket and returns it with a queue of frames. */
async function topicSocket(gh, app, token) {
  const ws = new WebSocket(`ws://127.0.0.1:${gh.port}/apps/${app}?access_token=${token}`);
  const frames = [];
  const waiters = [];
  ws.on('message', (raw) => {
    const f = JSON.parse(raw.toString());
    const i = waiters.findIndex((w) => w.match(f));
    if (i >= 0) waiters.splice(i, 1)[0].resolve(f); else frames.push(f);
  });
  await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 5000, 'topic socket');
  const next = (match, ms = 5000) => {
    const i = frames.findIndex(match);
    if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]);
    return withTimeout(new Promise((resolve) => waiters.push({ match, resolve })), ms, 'topic frame');
  };
  return { ws, next };
}

test('V1: a name the policy restricts cannot be read over Pusher without a credential; a public one can', async (t) => {
  const gh = await startGatehouse({ t });
  const app = gh.devApp();
  // The topic side refuses an anonymous token the restricted topic.
  const topic = await topicSocket(gh, app.id, await anonymousToken(gh));
  t.after(() => topic.ws.terminate());
  topic.ws.send(JSON.stringify({ type: 'subscribe', data: { topic: 'admin-alerts', id: 's1' } }));
  const err = await topic.next((f) => f.topic === 'priv/errors');
  assert.equal(err.data.code, 'forbidden');

  // A bare Pusher socket (the app key is public) is refused it too.
  const client = new PusherJS(app.key, pusherJsOptions(gh));
  await waitForEvent(client.connection, 'connected', 5000);
  const admin = client.subscribe('admin-alerts');
  const [refusal] = await waitForEvent(admin, 'pusher:subscription_error', 5000, { all: true });
  assert.equal(refusal.status, 401);
  const leaked = [];
  admin.bind('secret', (d) => leaked.push(d));

  // The same socket reads a channel the anonymous policy grants.
  const pub = client.subscribe('public-news');
  await waitForEvent(pub, 'pusher:subscription_succeeded', 5000);
  const got = waitForEvent(pub, 'headline', 5000);
  const sdk = pusherServer(gh, app);
  assert.equal((await sdk.trigger('admin-alerts', 'secret', { launch: 'codes' })).status, 200);
  assert.equal((await sdk.trigger('public-news', 'headline', { n: 1 })).status, 200);
  assert.deepEqual(await got, { n: 1 });
  // Events are delivered in order per socket: the admin event, published
  // first, would have arrived before the headline.
  assert.deepEqual(leaked, []);
  // Before Gatehouse stops, or pusher-js would reconnect and keep node alive.
  client.disconnect();
});

test('V2: serve refuses the development identity provider unless an insecure_ switch says so, and warns whenever it runs', async (t) => {
  const keys = `oidc: {session: {hash_keys: ["${'A'.repeat(43)}="], block_keys: ["${'B'.repeat(43)}="]}}\n`;
  const dir = (await import('../lib/proc.mjs')).makeTempDir('gatehouse-e2e-v2-');
  const fs = await import('node:fs');
  const write = (name, text) => { const f = `${dir}/${name}`; fs.writeFileSync(f, text); return f; };

  const silent = write('plain.yaml', `server: {public_url: "http://127.0.0.1:1"}\nkeys: {dir: "${dir}/k"}\ndev_idp: {enabled: true}\n${keys}`);
  for (const args of [['config', 'check', '--config', silent], ['serve', '--config', silent, '--addr', '127.0.0.1:1']]) {
    const r = await runGatehouse(args);
    assert.equal(r.code, 1, `${args[0]} accepted the dev IdP: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /dev_idp\.enabled \(line 3\): the development identity provider lets anyone log in as anyone/);
  }
  const https = write('https.yaml', `server: {public_url: "https://rt.example.com"}\nkeys: {dir: "${dir}/k"}\ndev_idp: {enabled: true, insecure_allow_in_serve: true}\n${keys}`);
  const r = await runGatehouse(['config', 'check', '--config', https]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refused with an https public_url/);

  // With the switch on http it runs, and says so loudly.
  const port = await freePort();
  const gh = await startGatehouse({ t, args: ['serve'], port,
    config: `server: {public_url: "http://127.0.0.1:${port}"}\nkeys: {dir: "${dir}/k"}\ndev_idp: {enabled: true, insecure_allow_in_serve: true}\n${keys}` });
  assert.match(gh.stderr(), /NOT FOR PRODUCTION/);
  assert.match(gh.stderr(), /"level":"WARN","msg":"the development identity provider is on/);
});

test('V5: anonymous visitors from one address cannot fill the presence channel; a logged-in user still joins', async (t) => {
  const gh = await startGatehouse({ t, config: 'realtime: {limits: {anonymous_presence_per_ip: 3}}\n' });
  const app = gh.devApp();
  const clients = [];
  const outcome = async (client) => {
    await waitForEvent(client.connection, 'connected', 5000);
    const ch = client.subscribe('presence-lobby');
    return withTimeout(new Promise((resolve) => {
      ch.bind('pusher:subscription_succeeded', () => resolve('joined'));
      ch.bind('pusher:subscription_error', (e) => resolve(e.status === 4100 ? 'refused' : `error ${JSON.stringify(e)}`));
    }), 5000, 'presence outcome');
  };
  try {
    const results = [];
    for (let i = 0; i < 5; i++) {
      const c = new PusherJS(app.key, pusherJsOptions(gh));
      clients.push(c);
      results.push(await outcome(c));
    }
    assert.deepEqual(results, ['joined', 'joined', 'joined', 'refused', 'refused']);
    const { sessionToken, devLogin } = await import('../lib/devidp.mjs');
    const ada = new PusherJS(app.key, pusherJsOptions(gh, await sessionToken(gh, await devLogin(gh.url, 'ada'))));
    clients.push(ada);
    assert.equal(await outcome(ada), 'joined');
    const text = await (await gh.fetch('/metrics')).text();
    assert.match(text, /gatehouse_realtime_refusals_total\{reason="anonymous_presence"\} 2/);
  } finally {
    for (const c of clients) c.disconnect();
  }
});
