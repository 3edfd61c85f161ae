// Per-socket abuse limits against the real binary: one unauthenticated
// socket flooding 50,000 public-channel subscriptions is refused past the
// per-connection cap and closed as a flood, and the server's memory stays
// flat (before these limits it grew by about 57 MB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import WebSocket from 'ws';
import { startGatehouse } from '../lib/gatehouse.mjs';
import { poll, withTimeout } from '../lib/wait.mjs';

function rssKiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(m[1]);
}

async function metric(gh, name) {
  const text = await (await gh.fetch('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{') && l.includes(name));
  return line ? Number(line.trim().split(/\s+/).pop()) : NaN;
}

async function refusals(gh, reason) {
  const text = await (await gh.fetch('/metrics')).text();
  const m = text.match(new RegExp(`^gatehouse_realtime_refusals_total\\{reason="${reason}"\\} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

test('a 50,000-channel subscription flood from one socket is refused past the cap and memory stays flat', async (t) => {
  const gh = await startGatehouse({ t });
  const app = gh.devApp();
  const before = rssKiB(gh.pid);

  const ws = new WebSocket(`ws://127.0.0.1:${gh.port}/app/${app.key}?protocol=7&client=js&version=8.6.0`);
  const counts = { succeeded: 0, refused: 0 };
  let established;
  const ready = new Promise((resolve) => { established = resolve; });
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (raw) => {
    const f = JSON.parse(raw.toString());
    if (f.event === 'pusher:connection_established') established();
    if (f.event === 'pusher_internal:subscription_succeeded') counts.succeeded++;
    if (f.event === 'pusher:subscription_error') {
      assert.match(JSON.parse(f.data).error, /channels per connection/);
      counts.refused++;
    }
  });
  await withTimeout(ready, 5000, 'connection_established');
  for (let i = 0; i < 50000 && ws.readyState === WebSocket.OPEN; i++) {
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: `public-flood-${i}` } }));
  }
  const code = await withTimeout(closed, 20000, 'the flooding socket to be closed');
  assert.equal(code, 4100, 'a flood is told to back off');
  assert.equal(counts.succeeded, 200, 'the per-connection cap');
  assert.ok(counts.refused > 0, 'subscriptions past the cap are refused');

  await poll(async () => (await metric(gh, 'gatehouse_connections')) === 0, { what: 'the socket to be gone' });
  assert.equal(await metric(gh, 'gatehouse_subscriptions'), 0);
  assert.equal(await refusals(gh, 'frame_flood'), 1);
  assert.equal(await refusals(gh, 'channel_cap'), counts.refused);

  const grown = rssKiB(gh.pid) - before;
  assert.ok(grown < 10 * 1024, `RSS grew by ${grown} KiB`);
});

test('the per-address connection cap is opt-in and refuses the next socket with 4100', async (t) => {
  const gh = await startGatehouse({ t, config: 'realtime: {limits: {connections_per_ip: 2}}\n' });
  const app = gh.devApp();
  const url = `ws://127.0.0.1:${gh.port}/app/${app.key}?protocol=7&client=js&version=8.6.0`;
  const open = async () => {
    const ws = new WebSocket(url);
    t.after(() => ws.terminate());
    const first = await withTimeout(new Promise((resolve) => ws.once('message', (m) => resolve(JSON.parse(m.toString())))), 5000, 'first frame');
    return { ws, first };
  };
  assert.equal((await open()).first.event, 'pusher:connection_established');
  assert.equal((await open()).first.event, 'pusher:connection_established');
  const third = await open();
  assert.equal(third.first.event, 'pusher:error');
  const data = typeof third.first.data === 'string' ? JSON.parse(third.first.data) : third.first.data;
  assert.equal(data.code, 4100);
  assert.equal(await refusals(gh, 'ip_cap'), 1);
});
