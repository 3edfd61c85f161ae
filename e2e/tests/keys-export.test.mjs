// `gatehouse keys export`: the public key, a JWK and a self-signed
// certificate bound to the signing key, checked with openssl, against the
// JWKS (whose x5c is the same certificate, stable across restarts), and by
// the jsonwebtoken package verifying a Gatehouse token with the exported
// certificate, as a verifier that loads a PEM certificate does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import jwt from 'jsonwebtoken';
import { gatehouseBin, startGatehouse } from '../lib/gatehouse.mjs';
import { anonymousToken } from '../lib/jwt.mjs';
import { makeTempDir, removeTempDir } from '../lib/proc.mjs';

const run = promisify(execFile);

test('keys export: PEM, JWK and certificate agree with the JWKS, openssl and jsonwebtoken', async (t) => {
  const gh = await startGatehouse({ t, publicUrl: true });
  const exp = async (...args) => (await run(gatehouseBin, ['keys', 'export', '--config', gh.configFile, '--data-dir', gh.dataDir, ...args])).stdout;
  const dir = makeTempDir('gatehouse-e2e-export-');
  t.after(() => removeTempDir(dir));

  const jwks = await (await gh.fetch('/.well-known/jwks.json')).json();
  const active = jwks.keys[0];
  assert.ok(active.x5c?.length === 1 && active['x5t#S256'], 'the JWKS entry carries x5c and x5t#S256');

  const pub = await exp('--format', 'pem');
  const cert = await exp('--format', 'x509');
  const jwk = JSON.parse(await exp('--format', 'jwk', '--kid', active.kid));
  assert.deepEqual(jwk, active, 'the exported JWK is the JWKS entry');

  // openssl: the certificate's public key is the exported key, and its DER
  // is the JWKS x5c.
  fs.writeFileSync(path.join(dir, 'cert.pem'), cert);
  const { stdout: certPub } = await run('openssl', ['x509', '-in', path.join(dir, 'cert.pem'), '-pubkey', '-noout']);
  assert.equal(certPub.trim(), pub.trim());
  const { stdout: der } = await run('openssl', ['x509', '-in', path.join(dir, 'cert.pem'), '-outform', 'DER'], { encoding: 'buffer' });
  assert.equal(der.toString('base64'), active.x5c[0]);
  assert.equal(crypto.createHash('sha256').update(der).digest('base64url'), active['x5t#S256']);
  const { stdout: text } = await run('openssl', ['x509', '-in', path.join(dir, 'cert.pem'), '-noout', '-subject']);
  assert.match(text, new RegExp(`Gatehouse signing key ${active.kid}`));

  // jsonwebtoken verifies a Gatehouse token with the certificate PEM.
  const token = await anonymousToken(gh);
  const claims = jwt.verify(token, cert, { algorithms: ['ES256'], issuer: gh.url });
  assert.match(claims.sub, /^anon:/);

  // Restart: the same certificate.
  await gh.restart();
  const after = await (await gh.fetch('/.well-known/jwks.json')).json();
  assert.equal(after.keys[0].x5c[0], active.x5c[0], 'stable across restarts');
  assert.equal(await exp('--format', 'x509'), cert);

  // An unknown kid is a clear error.
  await assert.rejects(exp('--kid', 'nope'), /no key with kid "nope"/);
});
