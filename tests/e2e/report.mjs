// kahu's offline HTML report in headless Chromium, opened from file://.
//
// Env: KAHU_CASE (the assess output directory with report.html), KAHU_DEMO
// (the demo directory with demo/ground-truth.json), SCREENSHOTS (directory).
// Prints "N passed, M failed"; exits 1 on any failure.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch, assert, assertQuiet } from './harness.mjs';
import { MARKER, PAYLOADS } from './hostile.mjs';

const CASE = process.env.KAHU_CASE;
const DEMO = process.env.KAHU_DEMO;
const SHOTS = process.env.SCREENSHOTS || 'target/e2e-screenshots';
if (!CASE || !DEMO) { console.error('KAHU_CASE and KAHU_DEMO must be set'); process.exit(2); }
const REPORT = pathToFileURL(join(CASE, 'report.html')).href;
const truth = JSON.parse(readFileSync(join(DEMO, 'demo', 'ground-truth.json'), 'utf8'));
const SECTIONS = ['summary', 'attribution', 'timeline', 'matrix', 'scope', 'incidents', 'containment', 'hunts', 'detections', 'evidence'];

const { page, seen, step, finish } = await launch(SHOTS);

await step('report opens offline with every section', async () => {
  const r = await page.goto(REPORT, { waitUntil: 'load' });
  assert(r === null || r.ok(), 'load status');
  for (const id of SECTIONS) {
    const n = await page.locator(`section#${id}`).count();
    assert(n === 1, `section #${id}: ${n}`);
    const text = (await page.textContent(`section#${id}`)).trim();
    assert(text.length > 0, `section #${id} is empty`);
  }
});

await step('attribution names the modelled actor', async () => {
  const text = await page.textContent('section#attribution');
  assert(text.includes(truth.modelled_actor_attack_id), 'attribution lacks ' + truth.modelled_actor_attack_id);
  const names = truth.modelled_actor.match(/[A-Za-z0-9]+/g);
  assert(names.some(n => text.includes(n)), `attribution names none of ${names}`);
  const summary = await page.textContent('section#summary');
  assert(summary.includes(truth.modelled_actor_attack_id), 'summary lacks the leading hypothesis');
});

await step('scope and containment name the compromised hosts', async () => {
  const scope = (await page.textContent('section#scope')).toLowerCase();
  const missing = truth.compromised_hosts.filter(h => !scope.includes(h.toLowerCase()));
  assert(missing.length === 0, 'scope lacks ' + missing);
  const c2 = truth.infrastructure.c2_ips;
  const containment = await page.textContent('section#containment');
  assert(c2.every(ip => containment.includes(ip)), 'containment lacks C2 ' + c2);
});

await step('hostile evidence renders as text', async () => {
  const body = await page.textContent('body');
  assert(body.includes(MARKER), 'the hostile finding is not in the report');
  const shown = Object.entries(PAYLOADS).filter(([, v]) => body.includes(v)).map(([k]) => k);
  assert(shown.includes('CommandLine'), 'command line payload not shown as text; shown: ' + shown);
  const injected = await page.evaluate(() => document.querySelectorAll('script, img, svg[onload], iframe, #kahu-xss-b, [onerror], [onload]').length);
  assert(injected === 0, 'payload became markup: ' + injected + ' elements');
});

await step('full-page screenshot', async () => {
  // The report is tens of thousands of pixels tall: a slow capture, not a hang.
  await page.screenshot({ path: join(SHOTS, 'report.png'), fullPage: true, timeout: 120000 });
});

await step('prints to PDF', async () => {
  await page.emulateMedia({ media: 'print' });
  const pdf = await page.pdf({ format: 'A4', printBackground: true });
  writeFileSync(join(SHOTS, 'report.pdf'), pdf);
  const head = pdf.subarray(0, 5).toString('latin1');
  assert(head === '%PDF-', 'not a PDF: ' + head);
  // Page objects, not the /Pages tree node.
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page(?!s)/g) || []).length;
  assert(pages > 1, 'PDF pages: ' + pages);
  console.log(`     report.pdf: ${pages} pages, ${pdf.length} bytes`);
});

await step('no network requests, dialogs or console errors', async () => {
  const foreign = seen.requests.filter(u => u !== REPORT && !u.startsWith('data:'));
  assert(foreign.length === 0, 'requests: ' + foreign.slice(0, 5).join(' '));
  assertQuiet(seen);
});

process.exit(await finish());
