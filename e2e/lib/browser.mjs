// Debian's Chromium driven by playwright-core. No browser is ever downloaded.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { makeTempDir, removeTempDir } from './proc.mjs';

/** Flags Chromium needs on a machine with no outside network, run as root. */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** chromiumPath is the browser binary: $CHROMIUM_BIN or Debian's /usr/bin/chromium. */
export const chromiumPath = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

/**
 * launchBrowser starts Chromium with a fresh, empty profile (a temp
 * user-data-dir removed on close) and resolves with
 *   {context, page, newPage(), close()}
 * where context is a Playwright BrowserContext (cookies live there) and page
 * its first page. Pass {t} to close it after the test; when the test failed,
 * a screenshot of each open page is written to $E2E_ARTIFACTS (if set).
 * Extra Playwright context options (viewport, locale, ...) go in `contextOptions`.
 */
export async function launchBrowser({ t, args = [], contextOptions = {}, timeout = 10000 } = {}) {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} not found: apt-get install -y chromium (or set CHROMIUM_BIN)`);
  }
  const userDataDir = makeTempDir('gatehouse-e2e-chromium-');
  // launchPersistentContext is how Playwright takes an explicit user-data-dir;
  // plain chromium.launch() refuses --user-data-dir in args.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumArgs, ...args],
    timeout,
    ...contextOptions,
  });
  context.setDefaultTimeout(timeout);
  context.setDefaultNavigationTimeout(timeout);
  const page = context.pages()[0] ?? await context.newPage();
  let closed = false;
  const handle = {
    context,
    page,
    newPage: () => context.newPage(),
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => {});
      removeTempDir(userDataDir);
    },
  };
  if (t) {
    t.after(async () => {
      const dir = process.env.E2E_ARTIFACTS;
      if (dir && !closed && t.passed === false) {
        fs.mkdirSync(dir, { recursive: true });
        const base = t.name.replace(/[^a-zA-Z0-9_-]+/g, '_').slice(0, 80);
        let i = 0;
        for (const p of context.pages()) {
          await p.screenshot({ path: `${dir}/${base}-${i++}.png` }).catch(() => {});
        }
      }
      await handle.close();
    });
  }
  return handle;
}
