// What a new operator hits first: a minimal production config with one
// signing key, and a policy that is exactly what they wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runGatehouse, startGatehouse } from '../lib/gatehouse.mjs';
import { freePort } from '../lib/free-port.mjs';
import { claims } from '../lib/jwt.mjs';
import { makeTempDir } from '../lib/proc.mjs';

const cli = runGatehouse;

test('one ES256 key and nothing about anonymous tokens: config check, serve, token mint and dev all accept it', async (t) => {
  const dir = makeTempDir('gatehouse-e2e-minimal-');
  const pem = path.join(dir, 'es256.pem');
  assert.equal((await cli(['keys', 'generate', '--alg', 'ES256', '--out', pem])).code, 0);
  const port = await freePort();
  // The config, byte for byte but for the key's path and the port.
  const file = path.join(dir, 'gatehouse.yaml');
  fs.writeFileSync(file, `server: {addr: 127.0.0.1:${port}, public_url: http://127.0.0.1:${port}}
keys:
  signing:
    - {kid: a, alg: ES256, file: ${pem}}
`);

  const check = await cli(['config', 'check', '--config', file]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /algorithms:\s*\n\s*- ES256\s*\n(?!\s*- )/, check.stdout);

  const mint = await cli(['token', 'mint', '--config', file, '--sub', 'svc:indexer', '--perm', 'realtime:publisher:write:topic:news']);
  assert.equal(mint.code, 0, mint.stderr);
  assert.equal(claims(mint.stdout.trim()).sub, 'svc:indexer');

  const gh = await startGatehouse({ t, args: ['serve'], port, config: fs.readFileSync(file, 'utf8') });
  const jwks = await (await gh.fetch('/.well-known/jwks.json')).json();
  assert.deepEqual(jwks.keys.map((k) => [k.kid, k.alg]), [['a', 'ES256']]);
  // serve leaves anonymous tokens off unless written.
  assert.equal((await gh.fetch('/token/anonymous', { method: 'POST' })).status, 404);
  await gh.stop();

  // dev with the same file: anonymous tokens on, signed by the one key.
  const dev = await startGatehouse({ t, args: ['dev'], port, config: fs.readFileSync(file, 'utf8') });
  const res = await dev.fetch('/token/anonymous', { method: 'POST' });
  assert.equal(res.status, 200);
  const tok = (await res.json()).access_token;
  assert.equal(JSON.parse(Buffer.from(tok.split('.')[0], 'base64url')).kid, 'a');
  // Asking for an algorithm no key has is a clear 400, not a start-up failure.
  const bad = await dev.fetch('/token/anonymous', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"alg":"EdDSA"}' });
  assert.equal(bad.status, 400);
});

test('a written anonymous algorithm without a key is refused, naming the line the operator wrote', async () => {
  const dir = makeTempDir('gatehouse-e2e-minimal-');
  const pem = path.join(dir, 'es256.pem');
  assert.equal((await cli(['keys', 'generate', '--alg', 'ES256', '--out', pem])).code, 0);
  const file = path.join(dir, 'gatehouse.yaml');
  fs.writeFileSync(file, `server: {public_url: http://127.0.0.1:1}
keys:
  signing:
    - {kid: a, alg: ES256, file: ${pem}}
tokens:
  anonymous:
    enabled: true
    algorithms: [ES256, EdDSA]
`);
  const check = await cli(['config', 'check', '--config', file]);
  assert.equal(check.code, 1);
  assert.match(check.stderr, /tokens\.anonymous\.algorithms\[1\] \(line 8\): no key in keys\.signing has alg "EdDSA"/);
  const serve = await cli(['serve', '--config', file, '--addr', '127.0.0.1:1']);
  assert.equal(serve.code, 1);
  assert.match(serve.stderr, /line 8/);
});

test('a written policy is exactly what applies: no default grant survives, and dev says the demo chat is not granted', async (t) => {
  const gh = await startGatehouse({ t, config: 'policy: {anonymous: {subscribe: ["public-*", "news"]}}\n' });
  const res = await gh.fetch('/token/anonymous', { method: 'POST' });
  assert.equal(res.status, 200);
  const perms = claims((await res.json()).access_token).permissions;
  assert.deepEqual(perms.sort(), [
    'realtime:subscriber:read:topic:news',
    'realtime:subscriber:read:topic:public-*',
  ]);
  await gh.waitForOutput(/demo chat.*anonymous visitors subscribe to presence-lobby/, 5000);
});
