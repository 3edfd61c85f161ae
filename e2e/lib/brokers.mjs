// Where the broker binaries built by scripts/brokers.sh live: one cache
// outside the checkout, keyed by name and version, shared by every test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** CENTRIFUGO_VERSION and NATS_SERVER_VERSION are the pinned versions. */
export const CENTRIFUGO_VERSION = 'v6.9.1';
export const NATS_SERVER_VERSION = 'v2.15.3';

/** cacheDir is $GATEHOUSE_CACHE_DIR, or ~/.cache/gatehouse. */
export function cacheDir() {
  return process.env.GATEHOUSE_CACHE_DIR || path.join(os.homedir(), '.cache', 'gatehouse');
}

function cached(name, version, binary) {
  const p = path.join(cacheDir(), `${name}-${version}`, binary);
  if (!fs.existsSync(p)) {
    throw new Error(`${p} is missing: run scripts/brokers.sh (make deps) to build ${name} ${version}`);
  }
  return p;
}

/** centrifugoBin returns the path of the cached Centrifugo binary. */
export function centrifugoBin() {
  return process.env.CENTRIFUGO_BIN || cached('centrifugo', CENTRIFUGO_VERSION, 'centrifugo');
}

/** natsServerBin returns the path of the cached nats-server binary. */
export function natsServerBin() {
  return process.env.NATS_SERVER_BIN || cached('nats-server', NATS_SERVER_VERSION, 'nats-server');
}
