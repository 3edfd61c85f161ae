// The demo chat of `gatehouse dev`.
//
// Design: the page speaks the Pusher protocol 7 to the hosted layer over a
// plain WebSocket (pusher-socket.js) and chats in one presence channel.
// Presence gives "who is here" for everyone, anonymous or logged in: the
// channel is authorized by POST /pusher/auth with the page's realtime token
// as a Bearer credential (a session token when logged in, an anonymous one
// otherwise), so the member id is the token's subject and a logout closes
// the socket (the token's session id is bound to it). Messages and likes are
// client events, which the server stamps with the sender's user_id and does
// not echo, so the page shows its own at once.
import { PusherSocket } from './pusher-socket.js';
import { TokenSource } from './token.js';

const { appKey, appId, channel: channelName } = document.body.dataset;
const $ = (id) => document.getElementById(id);
const ui = {
  me: $('me'), login: $('login'), logoutForm: $('logout-form'),
  messages: $('messages'), form: $('send-form'), text: $('text'), send: $('send'),
  status: $('status'), members: $('members'), count: $('count'),
};

const tokens = new TokenSource();
const names = new Map(); // user id -> display name, kept after members leave
const messages = new Map(); // message id -> {likes: Set, button}
let socket = null;
let channel = null;
let restarted = false;

function displayName(id, info) {
  if (info && info.name) return info.name;
  if (names.has(id)) return names.get(id);
  const tail = String(id).replace(/[^a-zA-Z0-9]/g, '').slice(-4);
  return `guest-${tail}`;
}

function remember(id, info) {
  const n = displayName(id, info);
  names.set(id, n);
  return n;
}

function setStatus(text) {
  ui.status.textContent = text;
}

function setReady(ready) {
  ui.text.disabled = !ready;
  ui.send.disabled = !ready;
  document.body.dataset.state = ready ? 'ready' : 'waiting';
}

function renderMembers() {
  ui.members.replaceChildren();
  const entries = [...channel.members].sort((a, b) => displayName(...a).localeCompare(displayName(...b)));
  for (const [id, info] of entries) {
    const li = document.createElement('li');
    li.textContent = remember(id, info);
    li.dataset.userId = id;
    if (channel.me && id === channel.me.id) {
      li.classList.add('me');
      li.textContent += ' (you)';
    }
    ui.members.append(li);
  }
  ui.count.textContent = String(channel.members.size);
}

function scrollDown() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function systemLine(text) {
  const li = document.createElement('li');
  li.className = 'system';
  li.textContent = text;
  ui.messages.append(li);
  scrollDown();
}

function addMessage({ id, text }, userId, mine) {
  if (typeof id !== 'string' || typeof text !== 'string' || messages.has(id)) return;
  const li = document.createElement('li');
  li.dataset.messageId = id;
  if (mine) li.classList.add('mine');
  const author = document.createElement('span');
  author.className = 'author';
  author.textContent = mine ? 'you' : displayName(userId, channel.members.get(userId));
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  const like = document.createElement('button');
  like.type = 'button';
  like.className = 'like';
  like.title = 'Like';
  const entry = { likes: new Set(), button: like };
  messages.set(id, entry);
  renderLikes(entry);
  like.addEventListener('click', () => {
    const me = channel.me?.id;
    if (!me || entry.likes.has(me)) return;
    if (channel.trigger('client-like', { id })) {
      entry.likes.add(me);
      renderLikes(entry);
    }
  });
  li.append(author, body, like);
  ui.messages.append(li);
  scrollDown();
}

function renderLikes(entry) {
  const liked = channel.me && entry.likes.has(channel.me.id);
  entry.button.textContent = `♥ ${entry.likes.size}`;
  entry.button.classList.toggle('liked', Boolean(liked));
}

function newID() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

async function authorize(socketId, name) {
  const res = await fetch(`/pusher/auth?app=${encodeURIComponent(appId)}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      Authorization: `Bearer ${tokens.token}`,
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    },
    body: new URLSearchParams({ socket_id: socketId, channel_name: name }),
  });
  if (!res.ok) {
    const err = new Error(`authorization refused (${res.status})`);
    err.status = res.status;
    throw err;
  }
  return res.json();
}

function showIdentity() {
  if (tokens.user) {
    ui.me.textContent = tokens.user.name || tokens.user.sub;
    ui.login.hidden = true;
    ui.logoutForm.hidden = false;
  } else {
    ui.me.textContent = 'anonymous';
    ui.login.hidden = false;
    ui.logoutForm.hidden = true;
  }
}

function connect() {
  socket = new PusherSocket({ key: appKey, authorize });
  channel = socket.subscribe(channelName);
  channel.bind('pusher:subscription_succeeded', () => {
    // Gatehouse's history extension: the chat's last messages, for a late
    // joiner (plain Pusher clients never ask and never see it).
    socket.send({ event: 'gatehouse:history', data: { channel: channelName, limit: 50 } });
    renderMembers();
    setReady(true);
    setStatus(`Connected as ${channel.me ? displayName(channel.me.id, channel.me.info) : 'guest'}.`);
  });
  channel.bind('pusher:subscription_error', (e) => {
    setReady(false);
    setStatus(`Could not join the chat: ${e.error || e.status}.`);
  });
  channel.bind('pusher:member_added', ({ id, info }) => {
    renderMembers();
    systemLine(`${remember(id, info)} joined`);
  });
  channel.bind('pusher:member_removed', ({ id, info }) => {
    renderMembers();
    systemLine(`${displayName(id, info)} left`);
  });
  channel.bind('client-message', (data, meta) => addMessage(data ?? {}, meta.user_id, false));
  channel.bind('gatehouse:history', (data) => {
    for (const ev of data?.events ?? []) {
      if (ev.event !== 'client-message') continue;
      try { addMessage(JSON.parse(ev.data) ?? {}, ev.user_id, ev.user_id === channel.me?.id); } catch { /* not a chat message */ }
    }
  });
  channel.bind('client-like', (data, meta) => {
    const entry = messages.get(data?.id);
    if (!entry || !meta.user_id) return;
    entry.likes.add(meta.user_id);
    renderLikes(entry);
  });
  socket.addEventListener('state', (e) => {
    if (e.detail === 'connecting') setStatus('Connecting…');
    if (e.detail === 'unavailable') {
      setReady(false);
      setStatus('Connection lost, reconnecting…');
    }
  });
  socket.addEventListener('error', (e) => console.warn('pusher:error', e.detail));
  socket.addEventListener('closed', (e) => {
    setReady(false);
    if (e.detail.code === 4009 && !restarted) {
      // The session this socket was bound to ended (logout elsewhere):
      // carry on anonymously.
      restarted = true;
      systemLine('Your session ended.');
      restart();
    } else if (e.detail.code >= 4000 && e.detail.code < 4100) {
      setStatus(`Disconnected: ${e.detail.reason || e.detail.code}.`);
    }
  });
  socket.connect();
}

async function restart() {
  socket?.disconnect();
  try {
    await tokens.start();
  } catch (err) {
    setStatus(`No token: ${err.message}`);
    return;
  }
  showIdentity();
  connect();
}

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.text.value.trim();
  if (!text || !channel?.subscribed) return;
  const msg = { id: newID(), text };
  if (!channel.trigger('client-message', msg)) {
    setStatus('Not connected.');
    return;
  }
  addMessage(msg, channel.me?.id, true);
  ui.text.value = '';
  ui.text.focus();
});

tokens.addEventListener('session-ended', () => {
  if (restarted) return;
  restarted = true;
  systemLine('Your session ended.');
  restart();
});

setReady(false);
restart();
