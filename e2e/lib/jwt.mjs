// Realtime tokens for tests: ask Gatehouse for one, mint one with the
// binary, read one's claims.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gatehouseBin } from './gatehouse.mjs';
import { makeTempDir, removeTempDir } from './proc.mjs';

const run = promisify(execFile);

/** claims decodes a JWT's payload without verifying it. */
export function claims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

/** anonymousToken resolves with an access token from POST /token/anonymous of gh. */
export async function anonymousToken(gh) {
  const res = await gh.fetch('/token/anonymous', { method: 'POST' });
  assert.equal(res.status, 200);
  return (await res.json()).access_token;
}

/**
 * mintToken runs `gatehouse token mint ...args` with the keys (data dir) and
 * issuer of the running Gatehouse gh (a startGatehouse handle): its config
 * file when it has one, else one that sets only server.public_url to gh.url.
 * Resolves with the token.
 */
export async function mintToken(gh, args) {
  let dir;
  let cfg = gh.configFile;
  if (!cfg) {
    dir = makeTempDir('gatehouse-mint-');
    cfg = path.join(dir, 'mint.yaml');
    fs.writeFileSync(cfg, `server: {public_url: "${gh.url}"}\n`);
  }
  try {
    const { stdout } = await run(gatehouseBin, ['token', 'mint', '--config', cfg, '--data-dir', gh.dataDir, ...args], { timeout: 10000 });
    return stdout.trim();
  } finally {
    removeTempDir(dir);
  }
}
