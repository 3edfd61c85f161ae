// Debian's rabbitmq-server on free loopback ports, with its own node name,
// data, log and config, started as the current user (Debian's wrapper in
// /usr/sbin would switch to the rabbitmq user).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { accepting, freePort } from './free-port.mjs';
import { makeTempDir, removeTempDir, spawnTracked } from './proc.mjs';
import { poll, withTimeout } from './wait.mjs';

const e2eDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bin = process.env.RABBITMQ_SERVER_BIN || '/usr/lib/rabbitmq/bin/rabbitmq-server';

/**
 * startRabbitMQ runs RabbitMQ with e2e/configs/rabbitmq.conf (placeholders
 * from vars and the ports it picks), the plugins the tests need, and waits
 * until every listener accepts connections (about 10 s; each plugin opens
 * its own, in no fixed order, so one being up says nothing of the others).
 * Resolves with
 * {ports: {amqp, mqtt, webMqtt, stomp, webStomp, management}, stop()}.
 * ports.management may be given (Gatehouse must know it first). authUrls
 * sends some checks elsewhere than GATEHOUSE: {user: 'http://…', vhost: …}
 * (several Gatehouse nodes, each answering some of them).
 */
export async function startRabbitMQ({ t, vars = {}, managementPort, authUrls = {} }) {
  const ports = {
    amqp: await freePort(), mqtt: await freePort(), webMqtt: await freePort(), stomp: await freePort(),
    webStomp: await freePort(), management: managementPort ?? await freePort(), dist: await freePort(), epmd: await freePort(),
  };
  const dir = makeTempDir('gatehouse-e2e-rabbitmq-');
  for (const d of ['mnesia', 'log']) fs.mkdirSync(path.join(dir, d));
  let conf = fs.readFileSync(path.join(e2eDir, 'configs', 'rabbitmq.conf'), 'utf8')
    .replaceAll('WEB_MQTT_PORT', ports.webMqtt).replaceAll('WEB_STOMP_PORT', ports.webStomp)
    .replaceAll('MQTT_PORT', ports.mqtt).replaceAll('STOMP_PORT', ports.stomp)
    .replaceAll('AMQP_PORT', ports.amqp).replaceAll('MANAGEMENT_PORT', ports.management);
  for (const [check, base] of Object.entries(authUrls)) {
    conf = conf.replace(`auth_http.${check}_path = GATEHOUSE/`, `auth_http.${check}_path = ${base}/`);
  }
  for (const [k, v] of Object.entries(vars)) conf = conf.replaceAll(k, v);
  fs.writeFileSync(path.join(dir, 'rabbitmq.conf'), conf);
  fs.writeFileSync(path.join(dir, 'enabled_plugins'),
    '[rabbitmq_auth_backend_http,rabbitmq_mqtt,rabbitmq_web_mqtt,rabbitmq_stomp,rabbitmq_web_stomp,rabbitmq_management].\n');
  const node = `gatehouse-e2e-${ports.dist}@localhost`;
  const env = {
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_FEATURE_FLAGS_FILE: path.join(dir, 'feature_flags'),
    RABBITMQ_PLUGINS_EXPAND_DIR: path.join(dir, 'plugins-expand'),
    RABBITMQ_PID_FILE: path.join(dir, 'pid'),
    RABBITMQ_DIST_PORT: String(ports.dist),
    ERL_EPMD_PORT: String(ports.epmd),
    // The script then execs the Erlang VM instead of waiting on it, so the
    // tracked pid is the broker's and a SIGKILL at exit leaves no orphan.
    RUNNING_UNDER_SYSTEMD: '1',
  };
  const proc = spawnTracked(bin, [], { name: 'rabbitmq', env });
  const stop = async () => {
    await proc.stop({ timeout: 15000 });
    // The Erlang port mapper the node started outlives it: end it too.
    await new Promise((resolve) => execFile('epmd', ['-kill'], { env: { ...process.env, ERL_EPMD_PORT: String(ports.epmd) } }, () => resolve()));
    removeTempDir(dir);
  };
  if (t) t.after(stop);
  const listeners = ['amqp', 'mqtt', 'webMqtt', 'stomp', 'webStomp', 'management'];
  const waiting = new Set(listeners);
  await poll(async () => {
    if (!proc.running()) throw new Error(`rabbitmq-server exited:\n${proc.output()}`);
    for (const name of [...waiting]) if (await accepting(ports[name])) waiting.delete(name);
    return waiting.size === 0;
  }, { timeout: 60000, interval: 200, what: 'rabbitmq listeners' }).catch((err) => {
    throw new Error(`${err.message} (not listening: ${[...waiting].join(', ')})`);
  });
  return { ports, stop, output: () => proc.output() };
}

/** MANAGEMENT_PASSWORD is the management user's password in e2e/configs/rabbitmq.conf's tests. */
export const MANAGEMENT_PASSWORD = 'e2e-rabbitmq-admin-0123456789';

/**
 * gatehouseRabbitConfig is the Gatehouse config section the RabbitMQ tests
 * share: the backend on, logout through the management API on mgmtPort
 * (password from RABBITMQ_ADMIN_PASSWORD, see rabbitmqEnv), and a policy
 * letting logged-in users subscribe to chat.* and publish on chat.room.
 */
export function gatehouseRabbitConfig(mgmtPort) {
  return `
rabbitmq:
  enabled: true
  management: {url: "http://127.0.0.1:${mgmtPort}", user: gatehouse-admin, password: "\${RABBITMQ_ADMIN_PASSWORD}"}
policy:
  rules:
    - when: {authenticated: true}
      subscribe: ["chat.*"]
      publish: ["chat.room"]
`;
}

/** rabbitmqEnv is the environment gatehouseRabbitConfig reads. */
export const rabbitmqEnv = { RABBITMQ_ADMIN_PASSWORD: MANAGEMENT_PASSWORD };

/**
 * mqttConnect connects the `mqtt` client (MQTT 3.1.1, no reconnection) to
 * url as username with password; resolves with {c} (ended after the test)
 * or {error}.
 */
export async function mqttConnect(t, url, username, password) {
  const { default: mqtt } = await import('mqtt');
  try {
    const c = await withTimeout(mqtt.connectAsync(url, { username, password, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4 }), 10000, 'mqtt connect');
    t.after(() => c.endAsync(true).catch(() => {}));
    return { c };
  } catch (error) {
    return { error };
  }
}
