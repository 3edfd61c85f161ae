import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startDeepstream, deepstreamClient, allowAll, roundTrip } from '../lib/deepstream.mjs';
import { withTimeout } from '../lib/wait.mjs';

test('deepstream with auth type none accepts a client login and delivers events', async (t) => {
  const ds = await startDeepstream({ t, permissions: allowAll });
  const health = await fetch(`${ds.httpUrl}/health-check`);
  assert.equal(health.status, 200);

  const a = deepstreamClient(ds.url, { t });
  const b = deepstreamClient(ds.url, { t });
  await withTimeout(a.login({}), 5000, 'login a');
  await withTimeout(b.login({ username: 'b' }), 5000, 'login b');

  const got = new Promise((resolve) => b.event.subscribe('news', resolve));
  // The subscription is not acknowledged to the caller; a request/response
  // round trip on b's connection after subscribing orders the two.
  await withTimeout(roundTrip(b), 5000, 'round trip');
  a.event.emit('news', { hello: 'world' });
  assert.deepEqual(await withTimeout(got, 5000, 'event'), { hello: 'world' });
});

test('deepstream http auth posts connectionData/authData to the webhook and honours its answer', async (t) => {
  const seen = [];
  const hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const msg = JSON.parse(body);
      seen.push({ headers: req.headers, msg });
      if (msg.authData.token === 'good') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: 'user-1', clientData: { name: 'Ada' }, serverData: { roles: ['admin'] } }));
      } else {
        res.statusCode = 401;
        res.setHeader('content-type', 'text/plain');
        res.end('invalid credentials');
      }
    });
  });
  await new Promise((r) => hook.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => { hook.closeAllConnections(); hook.close(r); }));

  const ds = await startDeepstream({ t, webhookUrl: `http://127.0.0.1:${hook.address().port}/webhooks/deepstream` });

  const ok = deepstreamClient(ds.url, { t });
  const clientData = await withTimeout(ok.login({ token: 'good' }), 5000, 'good login');
  assert.deepEqual(clientData, { name: 'Ada' });
  assert.match(seen[0].headers['content-type'], /^application\/json/);
  assert.deepEqual(seen[0].msg.authData, { token: 'good' });
  assert.ok(seen[0].msg.connectionData.headers, 'upgrade headers are forwarded');

  const bad = deepstreamClient(ds.url, { t });
  const err = await withTimeout(bad.login({ token: 'bad' }).then(() => null, (e) => e), 5000, 'bad login');
  assert.ok(err, 'login with a bad token is refused');
  // deepstream rejects with a plain object, not an Error.
  assert.deepEqual(err, { reason: { error: 'invalid credentials' } });
});
