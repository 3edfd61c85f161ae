// Runs @deepstream/server with the JSON config in DEEPSTREAM_E2E_CONFIG and
// prints "deepstream-e2e started" once it listens. SIGTERM stops it cleanly and
// exits (the server leaves interval timers behind after stop(), so it lives in
// its own process rather than in the test process). Started by deepstream.mjs.
'use strict';
const { Deepstream } = require('@deepstream/server');

const config = JSON.parse(process.env.DEEPSTREAM_E2E_CONFIG || '{}');
const server = new Deepstream(config);
server.on('started', () => process.stdout.write('deepstream-e2e started\n'));
server.on('error', (err) => {
  process.stderr.write(`deepstream-e2e error: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 5000);
  force.unref();
  server.once('stopped', () => process.exit(0));
  try { server.stop(); } catch { process.exit(0); }
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('disconnect', shutdown);
server.start();
