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

test('server.metrics_addr moves /metrics off the public listener', async (t) => {
  const metricsPort = await freePort();
  const gh = await startGatehouse({ t, config: `server: {metrics_addr: "127.0.0.1:${metricsPort}"}\n` });
  assert.equal((await gh.fetch('/metrics')).status, 404);
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /gatehouse_http_requests_total/);
  assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status, 404);
});

async function exchange(gh, subject, type = 'urn:ietf:params:oauth:token-type:jwt') {
  return gh.fetch('/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: subject, subject_token_type: type }),
  });
}

test('V3: exchanges never outlive the credential; the ID token of a logged-out login buys nothing', async (t) => {
  const { devLogin, logout } = await import('../lib/devidp.mjs');
  const { claims } = await import('../lib/jwt.mjs');
  const { location } = await import('../lib/http.mjs');
  const gh = await startGatehouse({ t, config: 'oidc: {session: {max_age: 40s}}\n' });
  const jar = await devLogin(gh.url, 'ada');
  const res = await jar.fetch(`${gh.url}/token`, { method: 'POST', headers: { origin: gh.url } });
  assert.equal(res.status, 200);
  let tok = (await res.json()).access_token;
  const end = claims(tok).end;
  assert.ok(end - Math.floor(Date.now() / 1000) <= 40, `a 40 s session's token ends within it (${end})`);
  for (let i = 0; i < 3; i++) {
    const r = await exchange(gh, tok);
    assert.equal(r.status, 200, await r.clone().text());
    tok = (await r.json()).access_token;
    assert.equal(claims(tok).end, end, 'the end travels through the chain');
    assert.ok(claims(tok).exp <= end, 'no exchanged token outlives the session');
  }
  // Logging out sends the ID token to the provider as id_token_hint.
  const out = await logout(gh.url, jar);
  const hint = new URL(location(out, gh.url)).searchParams.get('id_token_hint');
  assert.ok(hint, 'the logout redirect carries the ID token');
  const replay = await exchange(gh, hint, 'urn:ietf:params:oauth:token-type:id_token');
  assert.equal(replay.status, 401, 'the ID token of a logged-out login is refused');
  assert.equal((await exchange(gh, tok)).status, 401, 'and tokens of the session are revoked');
});

test('V4: authorizing someone else\'s Pusher socket and logging out does not close it', async (t) => {
  const { devLogin, sessionToken, logout } = await import('../lib/devidp.mjs');
  const gh = await startGatehouse({ t });
  const app = gh.devApp();
  const clients = [];
  try {
    // The victim holds private-chat with its own session.
    const victim = new PusherJS(app.key, pusherJsOptions(gh, await sessionToken(gh, 'bob')));
    clients.push(victim);
    await waitForEvent(victim.connection, 'connected', 5000);
    const chat = victim.subscribe('private-chat');
    await waitForEvent(chat, 'pusher:subscription_succeeded', 5000);

    // The attacker authorizes the victim's socket (its id learnt somehow)
    // with its own session, for the victim's channel and for others.
    const jar = await devLogin(gh.url, 'mallory');
    for (const ch of ['private-chat', 'private-other', 'presence-lobby']) {
      const r = await jar.fetch(`${gh.url}/pusher/auth`, {
        method: 'POST', headers: { origin: gh.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ socket_id: victim.connection.socket_id, channel_name: ch }),
      });
      assert.equal(r.status, 200);
    }
    // The attacker's own socket, bound to its session, tells when the
    // logout has been applied.
    const own = new PusherJS(app.key, pusherJsOptions(gh, await sessionToken(gh, jar)));
    clients.push(own);
    await waitForEvent(own.connection, 'connected', 5000);
    await waitForEvent(own.subscribe('private-chat'), 'pusher:subscription_succeeded', 5000);
    const ownGone = waitForEvent(own.connection, 'state_change', 5000, { all: true });
    assert.equal((await logout(gh.url, jar)).status, 302);
    await ownGone;

    // The victim still receives.
    const got = waitForEvent(chat, 'still-here', 5000);
    assert.equal((await pusherServer(gh, app).trigger('private-chat', 'still-here', { ok: 1 })).status, 200);
    assert.deepEqual(await got, { ok: 1 });
    assert.equal(victim.connection.state, 'connected');
  } finally {
    for (const c of clients) c.disconnect();
  }
});
