// The demo chat of `gatehouse dev` (README, "Hosting the realtime layer") in Chromium: two browser
// profiles, one logged in through the dev identity provider and one
// anonymous, see each other present, exchange messages and likes; a logout
// drops the user from the other's member list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser } from '../lib/browser.mjs';
import { startGatehouse } from '../lib/gatehouse.mjs';

/** openChat opens the chat in a fresh browser profile and waits until it joined. */
async function openChat(t, gh) {
  const b = await launchBrowser({ t, timeout: 15000 });
  // Errors of the chat page only (the dev IdP's login page is not under test here).
  const errors = [];
  const onChat = () => new URL(b.page.url()).pathname === '/';
  b.page.on('pageerror', (e) => { if (onChat()) errors.push(e.message); });
  // Chromium logs every 4xx as a console error without its URL; responses
  // are checked instead (401 from /auth/me is how an anonymous page learns
  // it has no session).
  b.page.on('console', (m) => {
    if (m.type() === 'error' && onChat() && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  b.page.on('response', (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400 && onChat() && !(u.pathname === '/auth/me' && r.status() === 401)) errors.push(`${r.status()} ${u.pathname}`);
  });
  await b.page.goto(gh.url + '/');
  return { ...b, errors };
}

async function joined(page) {
  await page.waitForSelector('body[data-state="ready"]');
}

async function members(page) {
  return page.$$eval('#members li', (lis) => lis.map((li) => li.textContent));
}

test('chat: a logged-in and an anonymous visitor see each other, chat and like', async (t) => {
  const gh = await startGatehouse({ t });
  const ada = await openChat(t, gh);
  const guest = await openChat(t, gh);

  // Ada logs in through the dev identity provider and comes back to the chat.
  await ada.page.click('#login');
  await ada.page.waitForSelector('#username');
  await ada.page.fill('#username', 'ada');
  await Promise.all([ada.page.waitForURL(gh.url + '/'), ada.page.click('#login')]);
  await joined(ada.page);
  assert.equal(await ada.page.textContent('#me'), 'ada');
  assert.equal(await ada.page.isVisible('#logout'), true);

  await joined(guest.page);
  assert.equal(await guest.page.textContent('#me'), 'anonymous');

  // Presence: each sees both.
  await ada.page.waitForFunction(() => document.querySelectorAll('#members li').length === 2);
  await guest.page.waitForFunction(() => document.querySelectorAll('#members li').length === 2);
  const seenByGuest = await members(guest.page);
  assert.ok(seenByGuest.includes('ada'), JSON.stringify(seenByGuest));
  assert.ok(seenByGuest.some((m) => /^guest-\w+ \(you\)$/.test(m)), JSON.stringify(seenByGuest));
  assert.ok((await members(ada.page)).includes('ada (you)'));
  assert.equal(await guest.page.textContent('#count'), '2');

  // Ada writes; the guest reads it under her name.
  await ada.page.fill('#text', 'Hello from Ada');
  await ada.page.click('#send');
  const fromAda = guest.page.locator('#messages li[data-message-id]', { hasText: 'Hello from Ada' });
  await fromAda.waitFor();
  assert.equal(await fromAda.locator('.author').textContent(), 'ada');
  assert.equal(await ada.page.locator('#messages li.mine .text').first().textContent(), 'Hello from Ada');

  // The guest answers and likes Ada's message; Ada sees both.
  await guest.page.fill('#text', 'Hi Ada, <b>not bold</b>');
  await guest.page.press('#text', 'Enter');
  const fromGuest = ada.page.locator('#messages li[data-message-id]', { hasText: 'Hi Ada' });
  await fromGuest.waitFor();
  assert.equal(await fromGuest.locator('.text').textContent(), 'Hi Ada, <b>not bold</b>', 'text, not HTML');
  assert.match(await fromGuest.locator('.author').textContent(), /^guest-/);

  await fromAda.locator('.like').click();
  const liked = ada.page.locator('#messages li.mine .like', { hasText: '♥ 1' });
  await liked.waitFor();

  // Ada logs out: the guest sees her leave. (Her page returns to the chat
  // as a new anonymous guest, so the member count is not a stable signal;
  // her name disappearing is.)
  await Promise.all([ada.page.waitForURL((u) => u.pathname !== '/auth/logout'), ada.page.click('#logout')]);
  await guest.page.waitForFunction(() => ![...document.querySelectorAll('#members li')].some((li) => li.textContent === 'ada'));
  assert.ok(!(await members(guest.page)).includes('ada'));

  assert.deepEqual(ada.errors.filter((e) => !/WebSocket|ERR_ABORTED/.test(e)), []);
  assert.deepEqual(guest.errors, []);
  assert.doesNotMatch(gh.output(), /panic/);
});

test('chat: pages reconnect by themselves after the server restarts (4200) and keep chatting', async (t) => {
  const gh = await startGatehouse({ t });
  const one = await openChat(t, gh);
  const two = await openChat(t, gh);
  await joined(one.page);
  await joined(two.page);
  await one.page.waitForFunction(() => document.querySelectorAll('#members li').length === 2);

  // SIGTERM closes every Pusher socket with 4200; the same data dir keeps
  // the keys, so the pages' tokens stay valid across the restart. A page may
  // be out of the ready state for only a moment (4200 means "reconnect at
  // once"), too briefly to poll for, so each page records the transition.
  for (const b of [one, two]) {
    await b.page.evaluate(() => {
      window.lostConnection = false;
      new MutationObserver(() => {
        if (document.body.dataset.state !== 'ready') window.lostConnection = true;
      }).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
    });
  }
  await gh.restart();
  for (const b of [one, two]) await b.page.waitForFunction(() => window.lostConnection === true);

  await joined(one.page);
  await joined(two.page);
  await one.page.waitForFunction(() => document.querySelectorAll('#members li').length === 2);
  await two.page.waitForFunction(() => document.querySelectorAll('#members li').length === 2);
  await one.page.fill('#text', 'still here after the restart');
  await one.page.click('#send');
  await two.page.locator('#messages li[data-message-id]', { hasText: 'still here after the restart' }).waitFor();

  // Connection attempts while the server was down fail by design.
  for (const b of [one, two]) {
    assert.deepEqual(b.errors.filter((e) => !/WebSocket|ERR_/.test(e)), []);
  }
});

test('chat: a late joiner sees the messages written before it came (history)', async (t) => {
  const gh = await startGatehouse({ t });
  const first = await openChat(t, gh);
  await joined(first.page);
  await first.page.fill('#text', 'written before you came');
  await first.page.click('#send');
  await first.page.locator('#messages li.mine', { hasText: 'written before you came' }).waitFor();

  const late = await openChat(t, gh);
  await joined(late.page);
  const earlier = late.page.locator('#messages li[data-message-id]', { hasText: 'written before you came' });
  await earlier.waitFor();
  assert.match(await earlier.locator('.author').textContent(), /^guest-/);
  assert.deepEqual(late.errors, []);
});
