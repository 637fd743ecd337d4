// Shared by the e2e scripts: Debian chromium in a throwaway profile, page
// error capture, and a tiny step runner that screenshots failures.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Launch chromium; the returned page records dialogs, console errors and requests. */
export async function launch(shots) {
  const profile = mkdtempSync(join(tmpdir(), 'kahu-e2e-profile-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // The fresh profile directory becomes --user-data-dir (playwright refuses it in args).
    args: CHROMIUM_ARGS,
    viewport: { width: 1500, height: 950 },
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const seen = { dialogs: [], consoleErrors: [], requests: [] };
  page.on('dialog', d => { seen.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('console', m => { if (m.type() === 'error') seen.consoleErrors.push(m.text()); });
  page.on('pageerror', e => seen.consoleErrors.push(String(e)));
  page.on('request', r => seen.requests.push(r.url()));
  page.setDefaultTimeout(15000);

  let passed = 0, failed = 0;
  async function step(name, fn) {
    const t0 = Date.now();
    try { await fn(); passed++; console.log(`ok   ${name} (${Date.now() - t0} ms)`); }
    catch (e) {
      failed++; console.log('FAIL ' + name + ': ' + (e && e.message || e));
      await page.screenshot({ path: join(shots, 'failed-' + name.replace(/\W+/g, '-') + '.png') }).catch(() => {});
    }
  }
  async function finish() {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
    console.log(`${passed} passed, ${failed} failed`);
    return failed ? 1 : 0;
  }
  return { ctx, page, seen, step, finish };
}

export function assert(c, msg) { if (!c) throw new Error(msg); }

/** No dialog opened and nothing logged as an error during the run. */
export function assertQuiet(seen) {
  assert(seen.dialogs.length === 0, 'dialogs: ' + seen.dialogs.join(' | '));
  const uniq = [...new Set(seen.consoleErrors)];
  assert(uniq.length === 0, seen.consoleErrors.length + ' console errors, e.g.: ' + uniq.slice(0, 3).map(e => e.slice(0, 300)).join(' | '));
}
