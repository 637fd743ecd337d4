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
// In document order: the executive part (what happened, what is affected,
// what to do, who did it), then the appendix.
const SECTIONS = ['summary', 'scope', 'containment', 'attribution', 'timeline', 'activity', 'lateral', 'logons', 'matrix', 'incidents', 'hunts', 'detections', 'rules', 'evidence'];
const EXECUTIVE = ['summary', 'scope', 'containment', 'attribution'];

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
  const order = await page.$$eval('section[id]', s => s.map(x => x.id));
  assert(JSON.stringify(order) === JSON.stringify(SECTIONS), 'section order ' + order);
  const exec = await page.$$eval('.exec > section', s => s.map(x => x.id));
  assert(JSON.stringify(exec) === JSON.stringify(EXECUTIVE), 'executive part ' + exec);
  assert(await page.$eval('#appendix', a => a.closest('.appendix') !== null), 'appendix heading');
});

// Each chart: present, drawn (an SVG of real size with marks in it), not a
// "no data" paragraph, screenshotted on its own.
async function chart(id, marks, min) {
  const fig = page.locator('figure#' + id);
  assert(await fig.count() === 1, 'no chart #' + id + (await page.locator('.nodata').count() ? ' (no data shown)' : ''));
  await fig.scrollIntoViewIfNeeded();
  const box = await fig.locator('svg').boundingBox();
  assert(box && box.width > 200 && box.height > 40, `#${id} size ${JSON.stringify(box)}`);
  const n = await fig.locator(marks).count();
  assert(n >= min, `#${id}: ${n} ${marks}, want >= ${min}`);
  await fig.screenshot({ path: join(SHOTS, 'report-' + id + '.png') });
  return fig;
}

await step('charts: kill chain, detections over time, heat map, lateral movement, logons', async () => {
  const strip = await chart('killchain', 'g.tactic', 14);
  // Each tactic's name and count are drawn inside its own box.
  const spill = await strip.locator('g.tactic').evaluateAll(gs => gs.flatMap(g => {
    const r = g.querySelector('rect').getBoundingClientRect();
    return [...g.querySelectorAll('text')].filter(x => { const b = x.getBoundingClientRect(); return b.left < r.left || b.right > r.right || b.top < r.top || b.bottom > r.bottom; })
      .map(x => x.textContent);
  }));
  assert(spill.length === 0, 'kill-chain labels outside their box: ' + spill.slice(0, 5));
  const seen = await strip.locator('g.tactic.seen').count();
  const phases = new Set(truth.steps.map(s => s.tactic));
  assert(seen >= Math.min(phases.size, 14) - 2 && seen >= 3, `kill chain marks ${seen} tactics, ground truth has ${phases.size}`);
  const activity = await chart('activity-chart', 'rect[fill]', 10);
  assert(await activity.locator('rect.legend').count() === 5, 'activity legend');
  const labels = await activity.locator('text').allTextContents();
  assert(labels.some(t => /^\d{4}-\d\d-\d\d \d\d:\d\d$/.test(t)), 'activity axis dates with year: ' + labels.slice(0, 5));
  assert(labels.some(t => t.includes('UTC')), 'activity axis says UTC');
  const heat = await chart('heatmap', 'rect.cell', 4);
  // Host and day labels stay clear of each other and of the cells.
  const heatClash = await heat.locator('svg').evaluate(svg => {
    // Day labels are rotated: their boxes (axis-aligned) overlap by
    // construction, so they are checked against the cells only.
    const ls = [...svg.querySelectorAll('text')].map(x => ({ t: x.textContent, b: x.getBoundingClientRect(), rotated: !!x.getAttribute('transform') })).filter(l => l.b.width > 0);
    const cells = [...svg.querySelectorAll('rect.cell')].map(r => r.getBoundingClientRect());
    const hit = (a, c) => a.left < c.right - 1 && c.left < a.right - 1 && a.top < c.bottom - 1 && c.top < a.bottom - 1;
    const out = [];
    for (let i = 0; i < ls.length; i++) {
      for (let j = i + 1; j < ls.length; j++) if (!(ls[i].rotated && ls[j].rotated) && hit(ls[i].b, ls[j].b)) out.push(ls[i].t + ' / ' + ls[j].t);
      if (cells.some(c => hit(ls[i].b, c))) out.push(ls[i].t + ' / a cell');
    }
    return out;
  });
  assert(heatClash.length === 0, 'heat-map labels overlap: ' + heatClash.slice(0, 3));
  const hosts = (await heat.locator('text.host-label').allTextContents()).map(h => h.toLowerCase());
  const missing = truth.compromised_hosts.filter(h => !hosts.some(x => x.startsWith(h.toLowerCase())));
  assert(missing.length === 0, 'heat map lacks compromised hosts ' + missing + ' in ' + hosts);
  const hot = await heat.locator('rect.cell').evaluateAll(r => r.filter(x => x.getAttribute('fill') !== '#f6f8fa').length);
  assert(hot > 0, 'heat map has no coloured cell');
  const graph = await chart('lateral-graph', 'g.node', 2);
  assert(await graph.locator('g.edge').count() >= 1, 'lateral graph has no edge');
  const nodes = (await graph.locator('text.node-label').allTextContents()).map(x => x.toLowerCase());
  assert(truth.compromised_hosts.some(h => nodes.some(n => n.startsWith(h.toLowerCase()))), 'lateral graph names no compromised host: ' + nodes);
  const edgeLabels = await graph.locator('text.edge-label').allTextContents();
  assert(edgeLabels.every(l => /^\d+× from \d{4}-\d\d-\d\d \d\d:\d\d UTC$/.test(l)), 'edge labels: ' + edgeLabels.slice(0, 3));
  // Nodes are drawn inside the graph's box, not clipped away.
  const outside = await graph.locator('svg').evaluate(svg => {
    const b = svg.getBoundingClientRect();
    return [...svg.querySelectorAll('circle')].filter(c => { const r = c.getBoundingClientRect(); return r.left < b.left || r.right > b.right || r.top < b.top || r.bottom > b.bottom; }).length;
  });
  assert(outside === 0, outside + ' graph nodes outside the chart');
  // No label is drawn over another (node names, hop counts and dates).
  const clash = await graph.locator('svg').evaluate(svg => {
    const ls = [...svg.querySelectorAll('text')].map(x => ({ t: x.textContent, b: x.getBoundingClientRect() })).filter(l => l.b.width > 0);
    const out = [];
    for (let i = 0; i < ls.length; i++) for (let j = i + 1; j < ls.length; j++) {
      const a = ls[i].b, c = ls[j].b;
      if (a.left < c.right - 1 && c.left < a.right - 1 && a.top < c.bottom - 1 && c.top < a.bottom - 1) out.push(ls[i].t + ' / ' + ls[j].t);
    }
    return out;
  });
  assert(clash.length === 0, 'lateral-graph labels overlap: ' + clash.slice(0, 3));
  const logons = page.locator('table#logon-table');
  assert(await logons.locator('tr').count() > 1, 'logon table empty');
  await logons.scrollIntoViewIfNeeded();
  await logons.screenshot({ path: join(SHOTS, 'report-logon-table.png') });
  assert((await page.locator('.nodata').count()) === 0, 'a chart says no data on the demo case');
});

await step('every time says UTC', async () => {
  const bare = await page.$$eval('td, .card b, figcaption', cells => cells.map(c => c.textContent.trim())
    .filter(t => /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d/.test(t) && !t.includes('UTC')));
  assert(bare.length === 0, bare.length + ' times without UTC, e.g. ' + bare.slice(0, 3));
  assert((await page.textContent('header .meta')).includes('UTC'), 'generation time without UTC');
  // Prose too: the headline, key points, incident headings and steps.
  const prose = await page.$$eval('#summary p, #summary li, #incidents summary, #incidents li', e => e.map(x => x.textContent));
  const bareProse = prose.filter(t => /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?! UTC)/.test(t));
  assert(bareProse.length === 0, bareProse.length + ' sentences with a time without UTC, e.g. ' + bareProse.slice(0, 2));
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

await step('executive print: summary, scope, containment and attribution in <= 5 pages', async () => {
  await page.emulateMedia({ media: 'print' });
  // The appendix starts on a page of its own.
  assert(await page.$eval('#appendix', a => getComputedStyle(a).breakBefore) === 'page', 'appendix does not start a new page');
  const pdf = await page.pdf({ format: 'A4', printBackground: true, pageRanges: '1-40' });
  // Print the executive part alone: the appendix removed, the rest as printed.
  const appendix = await page.evaluateHandle(() => { const a = document.querySelector('.appendix'); const p = a.parentNode; a.remove(); return { a, p }; });
  const exec = await page.pdf({ format: 'A4', printBackground: true });
  await page.evaluate(({ a, p }) => p.appendChild(a), appendix);
  writeFileSync(join(SHOTS, 'report-executive.pdf'), exec);
  const pages = (exec.toString('latin1').match(/\/Type\s*\/Page(?!s)/g) || []).length;
  console.log(`     report-executive.pdf: ${pages} pages`);
  assert(pages >= 1 && pages <= 5, 'executive part prints in ' + pages + ' pages');
  assert(pdf.length > exec.length, 'the appendix adds pages');
  await page.emulateMedia({ media: 'screen' });
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
