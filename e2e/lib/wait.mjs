// Bounded waiting: every wait in the suite has a deadline and fails loudly.
import { setTimeout as delay } from 'node:timers/promises';

/**
 * withTimeout settles like promise, or rejects with a named error after ms.
 */
export function withTimeout(promise, ms, what = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * waitForEvent resolves with the first argument of emitter's next `event`
 * (or with all arguments when `all` is set), rejecting after ms.
 * Works with EventEmitter (`once`/`off`) and pusher-js style binders
 * (`bind`/`unbind`).
 */
export function waitForEvent(emitter, event, ms = 5000, { all = false } = {}) {
  let handler;
  const p = new Promise((resolve) => {
    handler = (...args) => resolve(all ? args : args[0]);
    if (typeof emitter.once === 'function') emitter.once(event, handler);
    else if (typeof emitter.bind === 'function') emitter.bind(event, handler);
    else emitter.addEventListener(event, handler, { once: true });
  });
  return withTimeout(p, ms, `event ${event}`).finally(() => {
    if (typeof emitter.off === 'function') emitter.off(event, handler);
    else if (typeof emitter.unbind === 'function') emitter.unbind(event, handler);
    else if (typeof emitter.removeEventListener === 'function') emitter.removeEventListener(event, handler);
  });
}

/**
 * poll calls fn until it returns a truthy value (which it resolves with) or
 * the deadline passes. Meant for readiness endpoints and external state, not
 * as a substitute for waiting on an event a test can observe.
 */
export async function poll(fn, { timeout = 10000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const why = lastErr ? `: last error: ${lastErr.message}` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${why}`);
    }
    await delay(interval);
  }
}
