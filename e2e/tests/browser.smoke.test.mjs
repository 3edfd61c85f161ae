import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { launchBrowser } from '../lib/browser.mjs';

test('Debian chromium opens a data: URL page and runs its script', async (t) => {
  const b = await launchBrowser({ t });
  const html = '<title>hello</title><button id=b onclick="document.title=\'clicked\'">go</button>';
  await b.page.goto('data:text/html,' + encodeURIComponent(html));
  assert.equal(await b.page.title(), 'hello');
  await b.page.click('#b');
  assert.equal(await b.page.title(), 'clicked');
  const ua = await b.page.evaluate(() => navigator.userAgent);
  assert.match(ua, /Chrome\/\d+/);
});

test('chromium reaches a loopback server and keeps its cookies in the context', async (t) => {
  const srv = http.createServer((req, res) => {
    if (req.url === '/set') {
      res.setHeader('set-cookie', 'probe=1; HttpOnly; SameSite=Lax; Path=/');
      res.end('<title>set</title>');
      return;
    }
    res.setHeader('content-type', 'text/html');
    res.end(`<title>${req.headers.cookie ?? 'none'}</title>`);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }));
  const base = `http://127.0.0.1:${srv.address().port}`;

  const b = await launchBrowser({ t });
  await b.page.goto(`${base}/set`);
  await b.page.goto(`${base}/echo`);
  assert.equal(await b.page.title(), 'probe=1');
  const cookies = await b.context.cookies(base);
  assert.equal(cookies.find((c) => c.name === 'probe')?.httpOnly, true);
});
