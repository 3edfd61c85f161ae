// Free loopback TCP ports for programs the tests start.
import net from 'node:net';

/**
 * freePort asks the kernel for an unused port on 127.0.0.1 and releases it.
 * Another process could take it before the caller binds it; helpers that
 * start a child retry once on "address already in use".
 */
export async function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** accepting resolves true when something accepts TCP connections on port of 127.0.0.1, else false. */
export function accepting(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}
