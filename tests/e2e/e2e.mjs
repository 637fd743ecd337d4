// kahu web UI end to end, in headless Chromium. Expects KAHU_URL (the
// server) and SCREENSHOTS (a directory). Prints "N passed, M failed".
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const URL = process.env.KAHU_URL;
const SHOTS = process.env.SCREENSHOTS || 'target/e2e-screenshots';
if (!URL) { console.error('KAHU_URL is not set'); process.exit(2); }

const profile = mkdtempSync(join(tmpdir(), 'kahu-e2e-profile-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1500, height: 950 },
});
const page = ctx.pages()[0] || await ctx.newPage();
const dialogs = [], consoleErrors = [];
page.on('dialog', d => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
page.on('console', m => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', e => consoleErrors.push(String(e)));
page.setDefaultTimeout(15000);

let passed = 0, failed = 0;
async function step(name, fn) {
  try { await fn(); passed++; console.log('ok   ' + name); }
  catch (e) {
    failed++; console.log('FAIL ' + name + ': ' + (e && e.message || e));
    await page.screenshot({ path: join(SHOTS, 'failed-' + name.replace(/\W+/g, '-') + '.png') }).catch(() => {});
  }
}
function assert(c, msg) { if (!c) throw new Error(msg); }
const shot = n => page.screenshot({ path: join(SHOTS, n + '.png'), fullPage: false });
const rows = () => page.locator('#timeline .trow[data-id]');
async function openTimeline(hash) {
  await page.goto(URL + (hash || '#/timeline'));
  await page.waitForSelector('#timeline .trow[data-id], #timeline p.muted');
}

await step('timeline loads with histogram and virtualised rows', async () => {
  await openTimeline();
  await page.waitForFunction(() => /events/.test(document.getElementById('count').textContent));
  const count = await page.textContent('#count');
  const total = Number(count.split(' ')[0].replace(/,/g, ''));
  assert(total >= 20000, 'histogram total ' + count);
  const rendered = await rows().count();
  assert(rendered > 10 && rendered < 150, 'rendered rows ' + rendered);
  // Scrolling deep fetches more pages by cursor while the DOM stays small.
  const before = await page.$eval('#timeline .spacer', e => e.offsetHeight);
  for (let i = 0; i < 6; i++) {
    await page.$eval('#timeline', e => { e.scrollTop = e.scrollHeight; });
    await page.waitForTimeout(250);
  }
  const after = await page.$eval('#timeline .spacer', e => e.offsetHeight);
  assert(after > before, 'no more rows loaded on scroll');
  assert(await rows().count() < 150, 'DOM grew with scrolling');
  await shot('timeline');
});

await step('filter by host', async () => {
  await openTimeline();
  await page.selectOption('select[name="host"]', 'DC01.corp.local');
  await page.click('#apply');
  await page.waitForFunction(() => location.hash.includes('host=DC01'));
  await page.waitForSelector('#timeline .trow[data-id]');
  const hosts = await page.$$eval('#timeline .trow[data-id] span:nth-child(2)', s => s.map(x => x.textContent));
  assert(hosts.length > 0 && hosts.every(h => h === 'DC01.corp.local'), 'hosts ' + [...new Set(hosts)]);
  assert(await page.locator('.chip', { hasText: 'host = DC01.corp.local' }).count() === 1, 'filter chip');
  await shot('timeline-filtered');
});

await step('search, open an event, pivot', async () => {
  await openTimeline();
  await page.fill('input[name="q"]', 'sekurlsa');
  await page.click('#apply');
  await page.waitForFunction(() => location.hash.includes('q=sekurlsa'));
  await page.waitForSelector('#timeline .trow[data-id]');
  assert(await rows().count() === 1, 'expected one hit');
  await rows().first().click();
  await page.waitForSelector('#detail h2');
  const fields = await page.textContent('#detail table.fields');
  assert(fields.includes('sekurlsa::logonpasswords'), 'command line in detail');
  assert((await page.textContent('#detail')).includes('Mimikatz Command Line'), 'finding shown');
  await shot('event-detail');
  // Pivot on the host: the timeline is re-filtered by it.
  await page.locator('#detail table.fields tr', { hasText: 'Computer' }).locator('button').click();
  await page.waitForFunction(() => location.hash.includes('host=WS01.corp.local'));
});

await step('process tree', async () => {
  await page.goto(URL + '#/tree?host=WS01.corp.local&root=' + encodeURIComponent('{aaaaaaaa-0001-0000-0000-000000000001}'));
  await page.waitForSelector('.tree');
  const t = await page.textContent('.tree');
  for (const x of ['WINWORD.EXE', 'powershell.exe', 'm.exe', 'reg.exe', 'net.exe']) assert(t.includes(x), 'tree lacks ' + x);
  await shot('process-tree');
});

await step('detections and ATT&CK views', async () => {
  await page.goto(URL + '#/detections');
  await page.waitForSelector('table');
  assert((await page.textContent('main')).includes('Mimikatz Command Line'), 'rule listed');
  await shot('detections');
  await page.goto(URL + '#/attack');
  await page.waitForSelector('.matrix');
  const cred = await page.locator('.tactic', { hasText: 'Credential Access' }).textContent();
  assert(cred.includes('T1003.001'), 'T1003.001 under Credential Access');
  await shot('attack-matrix');
});

await step('attribution: disagree and dispute, persisted after reload', async () => {
  await page.goto(URL + '#/timeline');
  await page.fill('#analyst', 'e2e-analyst');
  await page.dispatchEvent('#analyst', 'change');
  await page.goto(URL + '#/attribution');
  const cand = page.locator('section.cand[data-candidate="G0065"]');
  await cand.waitFor();
  assert((await cand.textContent()).includes('APT40'), 'candidate name');
  await cand.locator('select.verdict').selectOption('disagree');
  await cand.locator('textarea.rationale').fill('Commodity credential theft; no web shell on internet-facing hosts');
  await cand.locator('button.record').click();
  await page.waitForFunction(() => document.querySelector('section.cand[data-candidate="G0065"] ul.verdicts')?.textContent.includes('Commodity credential theft'));
  const item = cand.locator('li[data-ref="technique:T1069.002"]');
  await item.locator('button.dispute').click();
  await item.locator('input').fill('net group is routine helpdesk activity here');
  await item.locator('button', { hasText: 'save' }).click();
  await page.waitForFunction(() => document.querySelector('li[data-ref="technique:T1069.002"]')?.textContent.includes('disputed by e2e-analyst'));
  await page.reload();
  const c2 = page.locator('section.cand[data-candidate="G0065"]');
  await c2.waitFor();
  const text = await c2.textContent();
  assert(text.includes('disagree') && text.includes('Commodity credential theft'), 'verdict not persisted');
  assert(text.includes('disputed by e2e-analyst'), 'dispute not persisted');
  await shot('attribution');
  await page.goto(URL + '#/audit');
  await page.waitForSelector('table');
  const audit = await page.textContent('main');
  assert(audit.includes('verdict.set') && audit.includes('dispute.add') && audit.includes('e2e-analyst'), 'audit trail');
  await shot('audit');
});

await step('XSS payloads in evidence render inert', async () => {
  await openTimeline('#/timeline?q=kahuxssmarker');
  await page.waitForSelector('#timeline .trow[data-id]');
  const summary = await rows().first().textContent();
  assert(summary.includes("<script>alert('kahu-xss')</script>"), 'payload visible as text: ' + summary);
  await rows().first().click();
  await page.waitForSelector('#detail h2');
  const detail = await page.textContent('#detail');
  assert(detail.includes("<img src=x onerror=alert('kahu-xss')>"), 'img payload visible as text');
  assert(detail.includes(`"><svg onload=alert('kahu-xss')>`), 'svg payload visible as text');
  await page.waitForTimeout(500);
  const injected = await page.evaluate(() => document.querySelectorAll('main img, aside img, svg, #detail script, main script').length);
  assert(injected === 0, 'payload became markup: ' + injected + ' elements');
  await shot('xss-inert');
});

await step('no dialogs and no console errors', async () => {
  assert(dialogs.length === 0, 'dialogs: ' + dialogs.join(' | '));
  const uniq = [...new Set(consoleErrors)];
  assert(uniq.length === 0, consoleErrors.length + ' console errors, e.g.: ' + uniq.slice(0, 3).map(e => e.slice(0, 300)).join(' | '));
});

await ctx.close();
rmSync(profile, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
