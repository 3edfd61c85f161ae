// A deepstream server (@deepstream/server 7) on loopback, and its client.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { freePort } from './free-port.mjs';
import { spawnTracked } from './proc.mjs';

const require = createRequire(import.meta.url);
const runner = fileURLToPath(new URL('./deepstream-runner.cjs', import.meta.url));
const e2eDir = path.dirname(path.dirname(runner));

/** allowAll is a Valve permission config that allows every action. */
export const allowAll = {
  presence: { '*': { allow: true } },
  record: { '*': { create: true, write: true, read: true, delete: true, listen: true, notify: true } },
  event: { '*': { publish: true, subscribe: true, listen: true } },
  rpc: { '*': { provide: true, request: true } },
};

/**
 * httpAuth returns the deepstream `auth` entry the README ("Answering brokers") tells operators to use,
 * pointing at endpointUrl (e.g. `${gatehouse.url}/webhooks/deepstream`).
 */
export function httpAuth(endpointUrl, options = {}) {
  return {
    type: 'http',
    options: {
      endpointUrl,
      permittedStatusCodes: [200],
      requestTimeout: 2000,
      retryStatusCodes: [502, 503, 504],
      retryAttempts: 2,
      retryInterval: 100,
      ...options,
    },
  };
}

/**
 * startDeepstream starts @deepstream/server 7 on a free 127.0.0.1 port and
 * resolves with
 *   {url: "ws://127.0.0.1:PORT/deepstream", httpUrl, port, child, stop()}
 * once it is listening. The server runs in a child Node process
 * (deepstream-runner.cjs): after stop() it leaves interval timers behind
 * that would keep a test process alive, and a child can always be killed.
 *
 * Options:
 *   webhookUrl   shorthand for auth: [httpAuth(webhookUrl)]
 *   auth         deepstream `auth` list [[{type: 'none'}]]
 *   permissions  Valve permissions object (see allowAll) -> permission type config
 *   permission   raw deepstream `permission` entry (overrides permissions)
 *   config       any other top-level deepstream options, merged over the defaults
 *   logLevel     deepstream LOG_LEVEL number [3 = ERROR; E2E_VERBOSE=1 gives 0]
 *   t            node:test context; stop() runs after the test
 *
 * Only the binary WebSocket endpoint (/deepstream, what @deepstream/client 7
 * speaks) and the HTTP API endpoint (/api, /api/auth) are opened; the default
 * MQTT endpoint (0.0.0.0:1883) is left out. Telemetry stays off.
 * Everything must be JSON (the config crosses a process boundary).
 */
export async function startDeepstream({
  t, webhookUrl, auth, permissions, permission, config = {}, logLevel,
} = {}) {
  const level = logLevel ?? (process.env.E2E_VERBOSE === '1' ? 0 : 3);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const dsConfig = {
      serverName: `e2e-${port}`,
      showLogo: false,
      logLevel: level,
      exitOnFatalError: true,
      httpServer: {
        type: 'default',
        options: { host: '127.0.0.1', port, healthCheckPath: '/health-check', allowAllOrigins: true },
      },
      connectionEndpoints: [
        { type: 'ws-binary', options: { urlPath: '/deepstream' } },
        { type: 'http', options: { allowAuthData: true, enableAuthEndpoint: true, authPath: '/api/auth', postPath: '/api', getPath: '/api' } },
      ],
      auth: auth ?? (webhookUrl ? [httpAuth(webhookUrl)] : [{ type: 'none', options: {} }]),
      permission: permission ?? (permissions
        ? { type: 'config', options: { permissions, maxRuleIterations: 3, cacheEvacuationInterval: 60000 } }
        : { type: 'none', options: {} }),
      telemetry: { type: 'deepstreamIO', options: { enabled: false } },
      logger: { type: 'default', options: { logLevel: level } },
      ...config,
    };
    const child = spawnTracked(process.execPath, [runner], {
      name: 'deepstream',
      cwd: e2eDir,
      env: { DEEPSTREAM_E2E_CONFIG: JSON.stringify(dsConfig) },
    });
    try {
      await child.waitForOutput(/deepstream-e2e started/, 15000);
    } catch (err) {
      await child.stop({ signal: 'SIGKILL' });
      if (attempt === 0 && /EADDRINUSE/.test(child.output())) continue;
      throw err;
    }
    const handle = {
      url: `ws://127.0.0.1:${port}/deepstream`,
      httpUrl: `http://127.0.0.1:${port}`,
      port,
      child,
      stop: () => child.stop({ timeout: 6000 }),
    };
    if (t) t.after(() => handle.stop());
    return handle;
  }
}

/**
 * deepstreamClient makes an @deepstream/client DeepstreamClient for url with
 * quick, bounded reconnection; close it with client.close(), or pass {t} to
 * close it after the test.
 *
 * subscriptionInterval is 0: by default the client batches subscriptions for
 * 100 ms before sending them, which makes "subscribe, then something else
 * happens" racy. With 0 every subscribe goes out at once, in order, so
 * `await roundTrip(client)` after subscribing means the server has it.
 */
export function deepstreamClient(url, { t, ...options } = {}) {
  const { DeepstreamClient } = require('@deepstream/client');
  const client = new DeepstreamClient(url, {
    maxReconnectAttempts: 1,
    reconnectIntervalIncrement: 100,
    subscriptionInterval: 0,
    ...options,
  });
  if (t) t.after(() => client.close());
  return client;
}

/**
 * roundTrip resolves after a request/response on client's connection, so
 * everything the client sent before it has been processed by the server.
 */
export function roundTrip(client) {
  return client.record.has('__e2e_round_trip__');
}
