// The web UI's layout as the browser lays it out, shared by e2e.mjs.
import { assert } from './harness.mjs';

// The page's layout, measured in the browser: header above the view and the
// detail pane, footer below both, and every table row, list item or
// timeline row visible in the view drawn on top (not under the header,
// footer or detail pane). Scrolled to the end of the view first, where a
// fixed footer used to cover the last rows.
export async function checkLayout(page, where) {
  const r = await page.evaluate(() => {
    const box = e => { if (!e || e.hidden) return null; const b = e.getBoundingClientRect(); return { top: b.top, bottom: b.bottom, left: b.left, right: b.right }; };
    const main = document.getElementById('main');
    main.scrollTop = main.scrollHeight;
    const tl = document.getElementById('timeline');
    if (tl) tl.scrollTop = 0;
    const m = box(main);
    const covered = [];
    let checked = 0;
    for (const e of main.querySelectorAll('tr, li, .trow[data-id], h2, h3')) {
      const b = e.getBoundingClientRect();
      if (b.height < 4 || b.width < 4) continue;
      const x = b.left + Math.min(20, b.width / 2), y = b.top + b.height / 2;
      // Only what is scrolled into the view's visible area.
      if (y < m.top + 1 || y > m.bottom - 1 || x < m.left || x > m.right || y > window.innerHeight - 1) continue;
      let inTimeline = tl && tl.contains(e);
      if (inTimeline) { const t = tl.getBoundingClientRect(); if (y < t.top + 1 || y > t.bottom - 1) continue; }
      checked++;
      const hit = document.elementFromPoint(x, y);
      if (!hit || !(e.contains(hit) || hit.contains(e))) covered.push(e.tagName + ' "' + (e.textContent || '').slice(0, 40) + '" under ' + (hit ? hit.tagName + (hit.id ? '#' + hit.id : '') : 'nothing'));
    }
    return { header: box(document.querySelector('header')), main: m, footer: box(document.getElementById('status')),
      aside: box(document.getElementById('detail')), covered, checked, vh: window.innerHeight };
  });
  assert(r.checked > 0, where + ': no content rows measured');
  assert(r.covered.length === 0, where + ': content covered: ' + r.covered.slice(0, 3).join(' | '));
  assert(r.header.bottom <= r.main.top + 0.5, `${where}: header (bottom ${r.header.bottom}) overlaps the view (top ${r.main.top})`);
  assert(r.main.bottom <= r.footer.top + 0.5, `${where}: view (bottom ${r.main.bottom}) runs under the footer (top ${r.footer.top})`);
  assert(r.footer.bottom <= r.vh + 0.5 && r.footer.bottom - r.footer.top > 10, where + ': footer not on screen');
  if (r.aside) {
    assert(r.aside.top >= r.header.bottom - 0.5, `${where}: header (bottom ${r.header.bottom}) covers the detail pane (top ${r.aside.top})`);
    assert(r.aside.bottom <= r.footer.top + 0.5, where + ': detail pane runs under the footer');
    assert(r.aside.left >= r.main.right - 0.5, where + ': detail pane covers the view');
  }
}
