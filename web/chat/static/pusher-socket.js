// A small client of the Pusher Channels protocol 7 over the browser's own
// WebSocket: connection, ping/pong, private and presence subscriptions
// authorized by a caller-supplied function, client events, and the close
// codes' reconnect rules (4000-4099 give up, 4100-4199 back off,
// 4200-4299 reconnect at once). Enough for the demo chat; pusher-js is the
// full client.

const PONG_TIMEOUT_MS = 30000;
const MAX_BACKOFF_MS = 10000;

/** Channel is one subscription: its events, and for presence its members. */
export class Channel {
  constructor(socket, name) {
    this.socket = socket;
    this.name = name;
    this.subscribed = false;
    this.presence = name.startsWith('presence-');
    /** members maps user_id to user_info (presence channels). */
    this.members = new Map();
    /** me is this socket's member ({id, info}) on a presence channel. */
    this.me = null;
    this.handlers = new Map();
  }

  /** bind calls fn(data, meta) for every event named event. */
  bind(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(fn);
    return this;
  }

  /** unbind removes fn. */
  unbind(event, fn) {
    this.handlers.get(event)?.delete(fn);
    return this;
  }

  /** trigger sends a client event (name must start with client-). */
  trigger(event, data) {
    if (!event.startsWith('client-')) throw new Error('client events start with client-');
    if (!this.subscribed) return false;
    return this.socket.send({ event, channel: this.name, data });
  }

  emit(event, data, meta = {}) {
    for (const fn of this.handlers.get(event) ?? []) {
      try { fn(data, meta); } catch (err) { console.error(err); }
    }
  }
}

/**
 * PusherSocket connects to ws(s)://host/app/{key}. authorize(socketId,
 * channelName) resolves with the /pusher/auth answer ({auth, channel_data})
 * for private and presence channels. Events on the socket (EventTarget):
 * 'state' (detail: the new state), 'error' (detail: pusher:error data),
 * 'closed' (detail: {code, reason}).
 */
export class PusherSocket extends EventTarget {
  constructor({ key, host = location.host, secure = location.protocol === 'https:', authorize }) {
    super();
    this.url = `${secure ? 'wss' : 'ws'}://${host}/app/${encodeURIComponent(key)}?protocol=7&client=gatehouse-chat&version=1`;
    this.authorize = authorize;
    this.channels = new Map();
    this.state = 'initialized';
    this.socketId = null;
    this.ws = null;
    this.attempt = 0;
    this.timers = {};
    this.stopped = false;
  }

  /** connect opens the socket (again after a disconnect). */
  connect() {
    this.stopped = false;
    this.open();
  }

  /** disconnect closes the socket for good. */
  disconnect() {
    this.stopped = true;
    this.clearTimers();
    if (this.ws) this.ws.close(1000, 'bye');
    this.setState('disconnected');
  }

  /** subscribe returns the channel, subscribing now or once connected. */
  subscribe(name) {
    let ch = this.channels.get(name);
    if (!ch) {
      ch = new Channel(this, name);
      this.channels.set(name, ch);
    }
    if (this.state === 'connected') this.sendSubscribe(ch);
    return ch;
  }

  /** send writes one frame; false when not connected. */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.dispatchEvent(new CustomEvent('state', { detail: s }));
  }

  clearTimers() {
    for (const t of Object.values(this.timers)) clearTimeout(t);
    this.timers = {};
  }

  open() {
    this.clearTimers();
    this.setState('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onmessage = (m) => this.onFrame(m.data);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onClose(e.code, e.reason);
    };
  }

  onClose(code, reason) {
    this.clearTimers();
    this.socketId = null;
    for (const ch of this.channels.values()) {
      ch.subscribed = false;
      ch.members.clear();
    }
    this.dispatchEvent(new CustomEvent('closed', { detail: { code, reason } }));
    if (this.stopped) return;
    if (code >= 4000 && code < 4100) {
      // Refused: reconnecting would be refused again.
      this.setState('failed');
      return;
    }
    this.setState('unavailable');
    let wait;
    if (code >= 4200 && code < 4300) wait = 0;
    else wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.attempt, 4));
    this.attempt++;
    this.timers.reconnect = setTimeout(() => this.open(), wait);
  }

  // Any frame counts as activity; after activity_timeout of silence we ping,
  // and a missing pong closes the socket so that it reconnects.
  activity() {
    clearTimeout(this.timers.activity);
    clearTimeout(this.timers.pong);
    if (!this.activityMs) return;
    this.timers.activity = setTimeout(() => {
      this.send({ event: 'pusher:ping', data: {} });
      this.timers.pong = setTimeout(() => this.ws?.close(), PONG_TIMEOUT_MS);
    }, this.activityMs);
  }

  onFrame(raw) {
    let f;
    try { f = JSON.parse(raw); } catch { return; }
    this.activity();
    const data = parseData(f.data);
    switch (f.event) {
      case 'pusher:connection_established':
        this.socketId = data.socket_id;
        this.activityMs = Math.max(1, Number(data.activity_timeout) || 120) * 1000;
        this.attempt = 0;
        this.activity();
        this.setState('connected');
        for (const ch of this.channels.values()) this.sendSubscribe(ch);
        return;
      case 'pusher:ping':
        this.send({ event: 'pusher:pong', data: {} });
        return;
      case 'pusher:pong':
        return;
      case 'pusher:error':
        this.dispatchEvent(new CustomEvent('error', { detail: data }));
        return;
    }
    const ch = f.channel && this.channels.get(f.channel);
    if (!ch) return;
    switch (f.event) {
      case 'pusher_internal:subscription_succeeded':
        ch.subscribed = true;
        ch.members.clear();
        if (ch.presence && data && data.presence) {
          for (const id of data.presence.ids ?? []) ch.members.set(id, data.presence.hash?.[id] ?? null);
        }
        ch.emit('pusher:subscription_succeeded', ch.presence ? ch.members : data);
        return;
      case 'pusher:subscription_error':
        ch.emit('pusher:subscription_error', data);
        return;
      case 'pusher_internal:member_added':
        ch.members.set(data.user_id, data.user_info ?? null);
        ch.emit('pusher:member_added', { id: data.user_id, info: data.user_info ?? null });
        return;
      case 'pusher_internal:member_removed': {
        const info = ch.members.get(data.user_id) ?? null;
        ch.members.delete(data.user_id);
        ch.emit('pusher:member_removed', { id: data.user_id, info });
        return;
      }
    }
    ch.emit(f.event, data, { user_id: f.user_id });
  }

  async sendSubscribe(ch) {
    const frame = { event: 'pusher:subscribe', data: { channel: ch.name } };
    if (ch.name.startsWith('private-') || ch.presence) {
      const socketId = this.socketId;
      let answer;
      try {
        answer = await this.authorize(socketId, ch.name);
      } catch (err) {
        ch.emit('pusher:subscription_error', { type: 'AuthError', error: err.message, status: err.status ?? 0 });
        return;
      }
      if (socketId !== this.socketId) return; // reconnected meanwhile; that connection subscribes again
      frame.data.auth = answer.auth;
      if (answer.channel_data) {
        frame.data.channel_data = answer.channel_data;
        const me = JSON.parse(answer.channel_data);
        ch.me = { id: me.user_id, info: me.user_info ?? null };
      }
    }
    this.send(frame);
  }
}

// parseData returns a frame's data: Pusher sends most of it as a JSON string.
function parseData(d) {
  if (typeof d !== 'string') return d;
  try { return JSON.parse(d); } catch { return d; }
}
