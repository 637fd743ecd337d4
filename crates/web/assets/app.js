// kahu analyst UI. Evidence is attacker-controlled: every value reaches the
// page through textContent or attribute setters; no HTML-parsing sinks.
'use strict';

const CSRF = document.querySelector('meta[name="kahu-csrf"]').content;
const ROW = 24;
const FILTER_KEYS = ['from', 'to', 'host', 'account', 'channel', 'event_id', 'rule', 'level', 'q'];
const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'];
// A Map, not an object: a field named `constructor` or `__proto__` (field
// names come from evidence) found Object.prototype's members and got a
// "filter" button that did nothing.
const PIVOTS = new Map(Object.entries({
  Computer: 'host', host: 'host', hostname: 'host', 'host.name': 'host',
  Channel: 'channel', EventID: 'event_id',
  TargetUserName: 'account', SubjectUserName: 'account', User: 'account', 'user.name': 'account', AccountName: 'account',
}));

// ---------- helpers ----------
// Invisible characters that reorder or hide text are shown as \u{…}:
// U+202E makes "C:\Users\x\u202etxt.exe" read "…exe.txt", U+200B makes
// "bob\u200b" look like "bob" (the CSVs escape them the same way).
const SPOOF = /[\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;
function shown(v) { return String(v).replace(SPOOF, c => '\\u{' + c.codePointAt(0).toString(16) + '}'); }

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = shown(v);
    else if (k === 'class') e.className = v;
    // CSSOM, not a style attribute: the CSP forbids inline style attributes.
    else if (k === 'style') Object.assign(e.style, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(shown(k)));
  }
  return e;
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
function analyst() { return localStorage.getItem('kahu_user') || ''; }
function status(msg, isError) {
  const s = document.getElementById('status');
  s.textContent = msg || '';
  s.className = isError ? 'error' : '';
}
async function api(path, opts) {
  const o = Object.assign({ headers: {} }, opts || {});
  o.headers = Object.assign({ 'Accept': 'application/json' }, o.headers);
  // Percent-encoded: a header value is Latin-1 only, and a name such as
  // "Māui" made fetch throw on every call.
  if (analyst()) o.headers['X-Kahu-User'] = encodeURIComponent(analyst());
  if (o.method && o.method !== 'GET') {
    o.headers['X-CSRF-Token'] = CSRF;
    if (o.json !== undefined) { o.headers['Content-Type'] = 'application/json'; o.body = JSON.stringify(o.json); }
  }
  const r = await fetch(path, o);
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error((body && body.error) || (r.status + ' ' + r.statusText));
  return body;
}
function fmtNum(n) { return Number(n || 0).toLocaleString('en'); }
function usToIso(us) { return new Date(Math.floor(us / 1000)).toISOString(); }
function badge(level) { return level ? el('span', { class: 'badge b-' + level, text: level }) : ''; }
function hashParams() {
  const h = location.hash.replace(/^#\/?/, '');
  const i = h.indexOf('?');
  return { view: (i < 0 ? h : h.slice(0, i)) || 'timeline', params: new URLSearchParams(i < 0 ? '' : h.slice(i + 1)) };
}
function go(view, params) {
  const q = params ? params.toString() : '';
  location.hash = '#/' + view + (q ? '?' + q : '');
}
function filterParams(p) {
  const out = new URLSearchParams();
  for (const k of FILTER_KEYS) for (const v of p.getAll(k)) if (v) out.append(k, v);
  return out;
}

// ---------- router ----------
const views = {};
let current = null;
async function route() {
  const { view, params } = hashParams();
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === view);
  const main = clear(document.getElementById('main'));
  current = view;
  document.getElementById('detail').hidden = true;
  try { await (views[view] || views.timeline)(main, params); }
  catch (e) { main.append(el('p', { class: 'error', text: 'Error: ' + e.message })); }
}
window.addEventListener('hashchange', route);

// ---------- timeline ----------
views.timeline = async function (main, params) {
  const fp = filterParams(params);
  const facets = await api('/api/facets?k=200');
  const bar = el('div', { class: 'filters' });
  const input = (name, label, size) => el('label', {}, label, el('input', { name, size: size || 10, value: fp.get(name) || '' }));
  const select = (name, label, values) => el('label', {}, label,
    el('select', { name }, el('option', { value: '', text: 'any' }),
      values.map(v => el('option', { value: v.value, text: v.value + (v.count !== undefined ? ' (' + fmtNum(v.count) + ')' : ''), selected: fp.get(name) === v.value }))));
  bar.append(
    input('q', 'Search', 24), input('from', 'From (UTC)', 22), input('to', 'To (UTC)', 22),
    select('host', 'Host', facets.hosts), select('channel', 'Channel', facets.channels),
    select('event_id', 'Event ID', facets.event_ids), select('account', 'Account', facets.accounts),
    input('rule', 'Rule id', 14), select('level', 'Level', LEVELS.map(v => ({ value: v }))),
    el('button', { id: 'apply', text: 'Apply', onclick: apply }),
    el('button', { text: 'Clear', onclick: () => go('timeline') }));
  bar.addEventListener('keydown', e => { if (e.key === 'Enter') apply(); });
  function apply() {
    const p = new URLSearchParams();
    // Keep repeated values that the bar cannot show (multi-host pivots).
    for (const k of FILTER_KEYS) {
      const f = bar.querySelector('[name="' + k + '"]');
      const v = f ? f.value.trim() : '';
      const all = fp.getAll(k);
      if (f && v) { p.append(k, v); for (const x of all) if (x !== v && all.length > 1) p.append(k, x); }
      else if (!f) for (const x of all) p.append(k, x);
    }
    go('timeline', p);
  }
  const chips = el('div', { class: 'chips' });
  for (const [k, v] of fp.entries()) {
    chips.append(el('span', { class: 'chip' }, k + ' = ' + v, el('button', {
      title: 'remove', text: '×', onclick: () => {
        const p = new URLSearchParams();
        for (const [k2, v2] of fp.entries()) if (!(k2 === k && v2 === v)) p.append(k2, v2);
        go('timeline', p);
      }
    })));
  }
  const canvas = el('canvas', { id: 'hist', title: 'Drag to narrow the time range; double-click to reset' });
  const head = el('div', { class: 'trow thead', style: { position: 'relative' } },
    el('span', { text: 'Time (UTC)' }), el('span', { text: 'Level' }), el('span', { text: 'Host' }), el('span', { text: 'Channel' }),
    el('span', { text: 'ID' }), el('span', { text: 'Account' }), el('span', { text: 'Summary' }));
  const box = el('div', { id: 'timeline' });
  const spacer = el('div', { class: 'spacer' });
  box.append(spacer);
  const count = el('span', { class: 'muted', id: 'count' });
  main.append(bar, chips, el('div', {}, count, ' ',
    el('a', { href: '/api/export.csv?' + fp.toString(), text: 'CSV of this filter', download: 'kahu-timeline.csv' }), ' · ',
    el('a', { href: '/api/export.csv?format=timesketch&' + fp.toString(), text: 'for Timesketch', download: 'kahu-timeline-timesketch.csv' })),
    canvas, head, box);

  histogram(canvas, fp, count);

  let rows = [], next = null, loading = false, done = false, selected = null;
  async function more() {
    if (loading || done) return;
    loading = true;
    const p = new URLSearchParams(fp);
    p.set('limit', '500');
    if (next) p.set('cursor', next);
    try {
      const page = await api('/api/events?' + p.toString());
      rows = rows.concat(page.events);
      next = page.next;
      done = !next;
      if (!rows.length) spacer.append(el('p', { class: 'muted', text: 'No events match.' }));
      render();
    } catch (e) { status(e.message, true); done = true; }
    loading = false;
  }
  let pending = false;
  function render() {
    pending = false;
    const top = box.scrollTop, h = box.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - 15);
    const last = Math.min(rows.length, Math.ceil((top + h) / ROW) + 15);
    spacer.style.height = ((rows.length + (done ? 0 : 20)) * ROW) + 'px';
    for (const n of [...spacer.querySelectorAll('.trow')]) n.remove();
    for (let i = first; i < last; i++) {
      const r = rows[i];
      const div = el('div', {
        class: 'trow' + (r.level ? ' lvl-' + r.level : '') + (selected === r.id ? ' sel' : ''),
        style: { top: (i * ROW) + 'px' }, 'data-id': r.id,
        onclick: () => { selected = r.id; openEvent(r.id); render(); },
      },
        el('span', { text: r.time || '(no time)' }), el('span', { class: 'level' }, r.level ? badge(r.level) : ''), el('span', { text: r.host || '' }),
        el('span', { text: r.channel || '' }), el('span', { text: r.event_id ?? '' }),
        el('span', { text: r.account || '' }), el('span', { text: r.summary || '' }));
      spacer.append(div);
    }
    if (!done && last >= rows.length - 50) more();
  }
  box.addEventListener('scroll', () => { if (!pending) { pending = true; requestAnimationFrame(render); } });
  await more();
};

async function histogram(canvas, fp, countEl) {
  const width = canvas.clientWidth || 1000;
  const buckets = Math.max(20, Math.min(400, Math.floor(width / 4)));
  const h = await api('/api/histogram?' + fp.toString() + '&buckets=' + buckets);
  countEl.textContent = fmtNum(h.total) + ' events' + (h.counts.length ? ' from ' + usToIso(h.from) + ' to ' + usToIso(h.to) : '') +
    (h.undated ? ' and ' + fmtNum(h.undated) + ' without a time' : '');
  const dpr = window.devicePixelRatio || 1;
  canvas.width = width * dpr; canvas.height = 90 * dpr;
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  const max = Math.max(1, ...h.counts);
  const bw = width / Math.max(1, h.counts.length);
  function draw(sel) {
    ctx.clearRect(0, 0, width, 90);
    ctx.fillStyle = '#4f7cac';
    h.counts.forEach((c, i) => {
      if (!c) return;
      const bh = Math.max(1, 84 * Math.log1p(c) / Math.log1p(max));
      ctx.fillRect(i * bw, 88 - bh, Math.max(1, bw - 1), bh);
    });
    if (sel) { ctx.fillStyle = 'rgba(11,92,173,.2)'; ctx.fillRect(Math.min(sel[0], sel[1]), 0, Math.abs(sel[1] - sel[0]), 90); }
  }
  draw();
  let start = null;
  const x = e => e.clientX - canvas.getBoundingClientRect().left;
  canvas.onmousedown = e => { start = x(e); };
  canvas.onmousemove = e => { if (start !== null) draw([start, x(e)]); else {
    const i = Math.floor(x(e) / bw);
    if (h.counts[i] !== undefined) canvas.title = usToIso(h.from + i * h.bucket_us) + ': ' + fmtNum(h.counts[i]) + ' events';
  } };
  canvas.onmouseup = e => {
    if (start === null) return;
    let a = Math.min(start, x(e)), b = Math.max(start, x(e));
    start = null;
    if (b - a < 3) { a = Math.floor(a / bw) * bw; b = a + bw; }
    const us = px => h.from + Math.round((px / width) * (h.to - h.from));
    const p = new URLSearchParams(fp);
    p.set('from', usToIso(us(a)));
    p.set('to', usToIso(us(b)));
    go('timeline', p);
  };
  canvas.ondblclick = () => { const p = new URLSearchParams(fp); p.delete('from'); p.delete('to'); go('timeline', p); };
}

// ---------- event detail ----------
function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj || {})) {
    const name = prefix ? prefix + '.' + k : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, name, out);
    else out.push([name, Array.isArray(v) ? v.map(x => typeof x === 'object' ? JSON.stringify(x) : String(x)).join(', ') : (v === null ? '' : String(v))]);
  }
  return out;
}
function pivot(field, value) {
  const { params } = hashParams();
  const p = filterParams(params);
  p.delete('cursor');
  const f = PIVOTS.get(field);
  if (f) p.append(f, value); else p.set('q', '"' + value.replace(/"/g, ' ') + '"');
  go('timeline', p);
}
async function openEvent(id) {
  const aside = clear(document.getElementById('detail'));
  aside.hidden = false;
  aside.append(el('button', { text: 'Close', onclick: () => { aside.hidden = true; } }));
  let ev;
  try { ev = await api('/api/events/' + encodeURIComponent(id)); }
  catch (e) { aside.append(el('p', { class: 'error', text: e.message })); return; }
  const prov = ev.provenance;
  const loc = prov.location.kind + (prov.location.value !== undefined ? ' ' + prov.location.value : '');
  aside.append(el('h2', { text: 'Event ' + ev.id }),
    el('table', {}, [
      ['Time', ev.time || '(none)'], ['Host', ev.host], ['Channel', ev.channel], ['Provider', ev.provider],
      ['Event ID', ev.event_id], ['Account', ev.account],
      ['Evidence', prov.file + (prov.member ? ' ! ' + prov.member : '')], ['Location', loc],
    ].map(([k, v]) => el('tr', {}, el('th', { text: k }), el('td', { class: 'val', text: v ?? '' })))));
  if (ev.findings.length) {
    aside.append(el('h3', { text: 'Findings' }), el('ul', {}, ev.findings.map(f =>
      el('li', {}, badge(f.level), ' ', f.title, ' ', ruleLink(f.rule_id),
        f.techniques.length ? ' — ' + f.techniques.join(', ') : ''))));
  }
  const guid = ev.fields && (ev.fields.ProcessGuid || ev.fields.NewProcessId);
  if (guid && ev.host) {
    aside.append(el('p', {}, el('a', { href: '#/tree?host=' + encodeURIComponent(ev.host) + '&root=' + encodeURIComponent(ev.fields.ProcessGuid || ev.id), text: 'Process tree from here' })));
  }
  aside.append(el('h3', { text: 'Fields' }), el('table', { class: 'fields' }, flatten(ev.fields, '', []).map(([k, v]) =>
    el('tr', {}, el('th', { text: k }), el('td', { class: 'val' }, el('span', { class: 'v', text: v })),
      el('td', {}, v ? [
        el('button', { class: 'pivot', title: 'Filter the timeline by this value', text: PIVOTS.has(k) ? 'filter' : 'search', onclick: () => pivot(k, v) }),
      ] : [])))));
  aside.append(notesBox('event', String(ev.id)));
}

// A rule as the case stores it (`rules` document, written by `kahu assess`):
// what it is, where it came from, why it may be wrong.
let rulesDoc;
async function openRule(id) {
  const aside = clear(document.getElementById('detail'));
  aside.hidden = false;
  aside.append(el('button', { text: 'Close', onclick: () => { aside.hidden = true; } }));
  if (rulesDoc === undefined) {
    try { const d = await api('/api/documents/rules'); rulesDoc = (d && d.body) || {}; }
    catch (e) { aside.append(el('p', { class: 'error', text: e.message })); return; }
  }
  const r = rulesDoc[id];
  aside.append(el('h2', { class: 'rule-title', text: r ? r.title : 'Rule ' + id }));
  if (!r) {
    aside.append(el('p', { class: 'muted', text: 'No details stored for this rule (indicator, YARA or analytic finding, or a case written by hunt --case). `kahu rules show ' + id + '` prints a Sigma rule with its text.' }));
    return;
  }
  const link = u => /^https?:\/\//i.test(u) ? el('a', { href: u, rel: 'noreferrer noopener', target: '_blank', text: u }) : el('span', { text: u });
  aside.append(el('table', { class: 'rule' }, [
    ['Id', id], ['File', r.relative_file && r.relative_file !== r.file ? r.relative_file + '  (' + r.file + ')' : r.file], ['Level', r.level], ['Status', r.status], ['Author', r.author],
    ['Description', r.description], ['Tags', (r.tags || []).join(', ')],
  ].map(([k, v]) => el('tr', {}, el('th', { text: k }), el('td', { class: 'val', text: v ?? '' })))));
  aside.append(el('h3', { text: 'False positives' }), (r.falsepositives || []).length
    ? el('ul', {}, r.falsepositives.map(x => el('li', { text: x }))) : el('p', { class: 'muted', text: 'None listed by the rule.' }));
  aside.append(el('h3', { text: 'References' }), (r.references || []).length
    ? el('ul', {}, r.references.map(x => el('li', {}, link(x)))) : el('p', { class: 'muted', text: 'None listed by the rule.' }));
  // The rule's text as the run read it (set with textContent: shown, never run).
  aside.append(el('h3', { text: 'Rule text' }));
  if (r.text) {
    aside.append(el('pre', { class: 'rule-text', text: r.text }));
    if (r.text_cut_bytes > 0) aside.append(el('p', { class: 'muted', text: 'The last ' + fmtNum(r.text_cut_bytes) + ' bytes are not stored in the case: kahu rules show ' + id + ' prints the whole rule.' }));
  } else {
    aside.append(el('p', { class: 'muted', text: 'Not stored in this case (written before kahu kept rule texts, or the file could not be read): kahu rules show ' + id + ' (with the rule directories of the run).' }));
  }
}
function ruleLink(id) {
  return el('a', { href: '#', class: 'rule-id muted', title: 'Open the rule', text: id, onclick: e => { e.preventDefault(); openRule(id); } });
}

function notesBox(kind, id) {
  const box = el('div', {}, el('h3', { text: 'Notes' }));
  const list = el('ul');
  const ta = el('textarea', { rows: 2, placeholder: 'Add a note' });
  async function load() {
    const notes = await api('/api/notes?target_kind=' + encodeURIComponent(kind) + '&target_id=' + encodeURIComponent(id));
    clear(list).append(...notes.map(n => el('li', {}, el('b', { text: n.author }), ' ', el('span', { class: 'muted', text: n.created_at }), ': ', n.body)));
  }
  box.append(list, ta, el('button', {
    text: 'Add note', onclick: async () => {
      try { await api('/api/notes', { method: 'POST', json: { target_kind: kind, target_id: id, body: ta.value } }); ta.value = ''; load(); }
      catch (e) { status(e.message, true); }
    }
  }));
  load().catch(e => status(e.message, true));
  return box;
}

// ---------- detections ----------
views.detections = async function (main, params) {
  const technique = params.get('technique');
  if (!technique) {
    const rules = await api('/api/rules');
    main.append(el('h2', { text: 'Detections by rule' }));
    if (!rules.length) main.append(el('p', { class: 'muted', text: 'No findings in this case.' }));
    else main.append(el('table', {}, el('tr', {}, ['Level', 'Rule', 'Findings', 'Hosts', 'First', 'Last', 'Techniques'].map(h => el('th', { text: h }))),
      rules.map(r => el('tr', {}, el('td', {}, badge(r.level)),
        el('td', {}, el('a', { href: '#/timeline?rule=' + encodeURIComponent(r.rule_id), text: r.title }), el('div', {}, ruleLink(r.rule_id))),
        el('td', { text: fmtNum(r.count) }), el('td', { text: r.hosts }), el('td', { text: r.first || '' }), el('td', { text: r.last || '' }),
        el('td', { text: (r.techniques || []).join(', ') })))));
  }
  const p = new URLSearchParams({ limit: '200' });
  if (technique) p.set('technique', technique);
  const f = await api('/api/findings?' + p.toString());
  main.append(el('h2', { text: technique ? 'Findings for ' + technique : 'First findings in time order' }),
    el('table', {}, el('tr', {}, ['Time', 'Level', 'Title', 'Host', 'Key fields'].map(h => el('th', { text: h }))),
      f.findings.map(x => el('tr', { class: 'clickable', onclick: () => x.event && openEvent(x.event) },
        el('td', { text: x.time || '' }), el('td', {}, badge(x.level)), el('td', { text: x.title }), el('td', { text: x.host || '' }),
        el('td', { class: 'val', text: x.fields.map(([k, v]) => k + ': ' + v).join('\n') })))));
};

// ---------- generic JSON documents ----------
function renderJson(v, depth) {
  depth = depth || 0;
  if (v === null || v === undefined) return el('span', { class: 'muted', text: '—' });
  if (typeof v !== 'object') return el('span', { text: String(v) });
  if (depth > 6) return el('span', { class: 'val', text: JSON.stringify(v).slice(0, 2000) });
  if (Array.isArray(v)) {
    if (v.every(x => x === null || typeof x !== 'object')) return el('span', { text: v.join(', ') });
    return el('ol', {}, v.slice(0, 1000).map(x => el('li', {}, renderJson(x, depth + 1))));
  }
  return el('table', {}, Object.entries(v).map(([k, x]) => el('tr', {}, el('th', { text: k }), el('td', {}, renderJson(x, depth + 1)))));
}
// A stored time ("2021-09-06T02:05:01Z") as the UI shows times: UTC, said so.
function utc(t) {
  if (!t) return '—';
  const d = new Date(t);
  return isNaN(d) ? String(t) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, '') + ' UTC';
}
function span(first, last) {
  if (!first) return '—';
  const ms = new Date(last || first) - new Date(first);
  const dur = !isFinite(ms) || ms <= 0 ? '' : ms < 3600e3 ? ' (' + Math.round(ms / 60e3) + ' min)'
    : ms < 86400e3 ? ' (' + (ms / 3600e3).toFixed(1) + ' h)' : ' (' + (ms / 86400e3).toFixed(1) + ' days)';
  return utc(first) + ' → ' + utc(last || first) + dur;
}
const arr = v => Array.isArray(v) ? v : [];
function incidentCard(i) {
  const hosts = arr(i.hosts), accounts = arr(i.accounts), techniques = arr(i.techniques), steps = arr(i.evidence), phases = arr(i.phases);
  return el('section', { class: 'incident', 'data-incident': String(i.id ?? '') },
    el('h3', {}, badge(i.severity), ' ', el('span', { class: 'muted', text: String(i.id ?? '') }), ' ', String(i.title ?? '')),
    el('table', { class: 'facts' },
      el('tr', {}, el('th', { text: 'Level' }), el('td', {}, badge(i.severity))),
      el('tr', {}, el('th', { text: 'Time span' }), el('td', { class: 'span', text: span(i.first_seen, i.last_seen) })),
      el('tr', {}, el('th', { text: 'Hosts' }), el('td', { class: 'hosts', text: hosts.join(', ') || 'none named' })),
      el('tr', {}, el('th', { text: 'Accounts' }), el('td', { text: accounts.join(', ') || 'none named' })),
      el('tr', {}, el('th', { text: 'Counts' }), el('td', { class: 'counts', text: steps.length + ' steps · ' + hosts.length + ' hosts · ' + accounts.length + ' accounts · ' + techniques.length + ' techniques' })),
      el('tr', {}, el('th', { text: 'Kill chain' }), el('td', {}, el('div', { class: 'chips' }, phases.map(p => el('span', { class: 'chip', text: p }))))),
      el('tr', {}, el('th', { text: 'Techniques' }), el('td', { class: 'techniques' }, techniques.flatMap(t => [el('a', { href: '#/detections?technique=' + encodeURIComponent(t), text: t }), ' '])))),
    el('h4', { text: 'Steps (' + steps.length + ')' }),
    el('ol', { class: 'steps' }, steps.slice(0, 500).map(s => el('li', { class: 'val', text: String(s) }))));
}
function scopeTable(kind, items) {
  const rows = arr(items);
  return [el('h3', { text: kind + ' (' + rows.length + ')' }), rows.length ? el('table', { class: 'scope' },
    el('tr', {}, ['Value', 'Kind', 'First (UTC)', 'Last (UTC)', 'Detections', 'Implicated by'].map(h => el('th', { text: h }))),
    rows.slice(0, 1000).map(e => el('tr', {}, el('td', { class: 'val', text: String(e.value ?? '') }), el('td', { text: String(e.kind ?? '') }),
      el('td', { text: utc(e.first_seen) }), el('td', { text: utc(e.last_seen) }), el('td', { text: fmtNum(e.detections) }),
      el('td', { text: arr(e.rules).join('; ') }))))
    : el('p', { class: 'muted', text: 'None.' })];
}
views.incidents = async function (main) {
  // `kahu assess` stores incidents and scope inside its `assessment`
  // document; stand-alone documents of their own kind take precedence.
  let assessment;
  for (const kind of ['incidents', 'scope']) {
    let d = await api('/api/documents/' + kind);
    if (!d) {
      if (assessment === undefined) assessment = await api('/api/documents/assessment');
      const b = assessment && assessment.body && assessment.body[kind];
      if (b !== undefined && b !== null) d = Object.assign({}, assessment, { body: b, author: assessment.author + ' (assessment)' });
    }
    main.append(el('h2', { text: kind === 'incidents' ? 'Incidents' : 'Scope' }));
    if (!d) { main.append(el('p', { class: 'muted', text: 'No ' + kind + ' document in this case.' })); continue; }
    main.append(el('p', { class: 'muted', text: 'version ' + d.version + ', ' + d.created_at + ' by ' + d.author }));
    const body = d.body;
    if (kind === 'incidents' && Array.isArray(body)) {
      if (!body.length) main.append(el('p', { class: 'muted', text: 'No incidents.' }));
      main.append(...body.slice(0, 200).map(incidentCard));
    } else if (kind === 'scope' && body && typeof body === 'object' && !Array.isArray(body)) {
      for (const [k, label] of [['hosts', 'Hosts'], ['accounts', 'Accounts'], ['ips', 'IP addresses'], ['files', 'Files']]) main.append(...scopeTable(label, body[k]));
    } else {
      // A document of another shape (written by another tool): shown as data.
      main.append(renderJson(body));
    }
  }
};

// ---------- ATT&CK matrix ----------
views.attack = async function (main) {
  const m = await api('/api/attack-matrix');
  main.append(el('h2', { text: 'ATT&CK techniques observed in this case' }));
  main.append(el('div', { class: 'matrix' }, m.tactics.map(t => el('div', { class: 'tactic' },
    el('h3', { text: t.name }),
    t.techniques.map(x => el('div', { class: 'tech hot', title: x.findings + ' findings on ' + x.hosts + ' hosts', onclick: () => go('detections', new URLSearchParams({ technique: x.id })) },
      el('b', { text: x.id }), ' ', el('span', { class: 'muted', text: '×' + x.findings })))))));
  if (m.unmapped.length) {
    main.append(el('h3', { text: 'Techniques without a tactic mapping' }), el('div', { class: 'chips' }, m.unmapped.map(x =>
      el('span', { class: 'chip tech', onclick: () => go('detections', new URLSearchParams({ technique: x.id })) }, x.id + ' ×' + x.findings))));
  }
};

// ---------- attribution ----------
function candidatesOf(body) {
  if (Array.isArray(body)) return body;
  for (const k of ['candidates', 'ranking', 'ranked', 'groups', 'actors']) if (body && Array.isArray(body[k])) return body[k];
  return [];
}
function pick(o, keys) { for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k]; return undefined; }
// Lists of evidence an analyst can dispute; others (aliases, hunt_next) are
// descriptive and get no dispute button.
const EVIDENCE_LISTS = new Set(['supporting', 'contradicting', 'unexplained', 'evidence']);
// The dispute target of an evidence item. Re-attribution removes disputed
// items by id, so the id must be the bare item id (T1505.003, S0020, a CVE,
// an IP), never a display string.
function itemRef(item, candId, key, i) {
  if (typeof item === 'string') {
    const m = /^(T\d{4}(?:\.\d{3})?)\b/.exec(item);
    return m ? { kind: 'technique', id: m[1] } : { kind: 'evidence', id: candId + '/' + key + '/' + i };
  }
  if (item && typeof item.kind === 'string' && (typeof item.id === 'string' || typeof item.id === 'number')) {
    // related / implied techniques are the same technique to dispute.
    return { kind: /technique/.test(item.kind) ? 'technique' : item.kind, id: String(item.id) };
  }
  const f = pick(item, ['finding_id', 'finding']);
  if (f !== undefined && typeof f !== 'object') return { kind: 'finding', id: String(f) };
  const t = pick(item, ['technique', 'technique_id', 'id']);
  if (typeof t === 'string' && /^T\d{4}/.test(t)) return { kind: 'technique', id: t };
  const e = pick(item, ['event', 'event_id']);
  if (e !== undefined && typeof e !== 'object') return { kind: 'event', id: String(e) };
  return { kind: 'evidence', id: candId + '/' + key + '/' + i };
}
function itemText(item) {
  if (item === null || typeof item !== 'object') return String(item);
  const parts = [];
  for (const k of ['technique', 'technique_id', 'id', 'name', 'title', 'description', 'reason', 'detail', 'weight', 'source']) {
    if (item[k] === undefined || typeof item[k] === 'object') continue;
    const v = String(item[k]);
    // Details usually restate the id: "S0020 China Chopper used by …".
    if (k === 'detail' && parts.length === 1 && v.startsWith(parts[0] + ' ')) parts.pop();
    parts.push((k === 'weight' ? 'weight ' : '') + v);
  }
  return parts.length ? parts.join(' — ') : JSON.stringify(item).slice(0, 500);
}
// Analyst words for the attribution document's keys: the UI never shows
// a raw key such as `likelihood_words` or `absent_penalty`.
const LIST_WORDS = {
  supporting: 'Supporting evidence', contradicting: 'Contradicting evidence',
  unexplained: 'Observed, not explained by this actor', hunt_next: 'Hunt next: known for this actor, not yet observed',
  evidence: 'Evidence',
};
const pct = v => typeof v === 'number' && v >= 0 && v <= 1 ? Math.round(v * 100) + '%' : String(v);
// "Likely (58%) that APT40 is responsible" in the estimative words the ranking chose.
function candidateWords(c) {
  // `attribution.json` stores the band as a key (`very_likely`): shown as words.
  const words = String(c.likelihood_words || (typeof c.likelihood === 'string' ? c.likelihood : '')).replace(/_/g, ' ');
  const p = typeof c.likelihood === 'number' ? c.likelihood : c.probability;
  const w = words ? words.charAt(0).toUpperCase() + words.slice(1) : 'Likelihood';
  return w + (p !== undefined ? ' (' + pct(p) + ')' : '') + ' that this actor is responsible.';
}
function candidateFacts(c) {
  const out = [];
  if (Array.isArray(c.aliases) && c.aliases.length) out.push(['Also known as', c.aliases.join(', ')]);
  if (typeof c.score === 'number') out.push(['Score', c.score.toFixed(2) + ' (sum of the weights of the evidence, less the penalty below)']);
  if (typeof c.absent_penalty === 'number') out.push(['Not observed', 'known techniques of this actor missing from the evidence lower the score by ' + c.absent_penalty.toFixed(2)]);
  if (typeof c.profiled === 'boolean') out.push(['Actor profile', c.profiled ? 'used: victims, exploited CVEs and infrastructure count as evidence' : 'none: behaviour (ATT&CK techniques and software) only']);
  if (c.confidence !== undefined && typeof c.confidence !== 'object') out.push(['Analytic confidence', String(c.confidence)]);
  const known = new Set(['rank', 'id', 'group_id', 'name', 'aliases', 'score', 'likelihood', 'likelihood_words', 'probability', 'profiled', 'absent_penalty', 'confidence']);
  for (const [k, v] of Object.entries(c)) {
    if (known.has(k) || v === null || typeof v === 'object') continue;
    const words = k.replace(/_/g, ' ');
    out.push([words.charAt(0).toUpperCase() + words.slice(1), typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v)]);
  }
  return out;
}
// The document-level judgement: analytic confidence and the chance that
// an actor outside the knowledge base did it.
function documentWords(body) {
  const out = [];
  const conf = body && body.confidence;
  if (conf && typeof conf === 'object' && conf.level) out.push(['Analytic confidence', conf.level + (Array.isArray(conf.reasons) && conf.reasons.length ? ': ' + conf.reasons.join('; ') : '')]);
  if (body && body.likelihood_unknown !== undefined) out.push(['An actor not in the knowledge base', (body.likelihood_unknown_words || '') + ' (' + pct(body.likelihood_unknown) + ')']);
  if (body && body.outcome && typeof body.outcome === 'object') out.push(['Outcome', [body.outcome.kind, body.outcome.name, body.outcome.id && '(' + body.outcome.id + ')'].filter(Boolean).join(' ')]);
  return out;
}
views.attribution = async function (main) {
  const a = await api('/api/attribution');
  const doc = a.document;
  main.append(el('h2', { text: 'Attribution' }));
  if (!doc) { main.append(el('p', { class: 'muted', text: 'No attribution document in this case.' })); return; }
  // The revision is the stored document's id (each recompute stores a new
  // one); `version` is the schema of its body, the same for every revision.
  main.append(el('p', { class: 'muted', text: 'Revision ' + doc.id + ', stored ' + doc.created_at + ' by ' + doc.author + ' (body schema ' + doc.version + ')' }));
  const active = new Map();
  for (const d of a.disputes) if (!d.withdrawn_at) active.set(d.target_kind + '\u0000' + d.target_id, d);
  // A recomputed attribution drops disputed evidence from the candidates,
  // so list every active dispute here: otherwise it could not be seen or
  // withdrawn any more.
  if (active.size) {
    main.append(el('section', { class: 'disputes' }, el('h3', { text: 'Disputed evidence (' + active.size + ')' }),
      el('ul', {}, [...active.values()].map(d => el('li', { 'data-ref': d.target_kind + ':' + d.target_id },
        el('span', { class: 'disputed', text: d.target_kind + ' ' + d.target_id }), ' ',
        el('span', { class: 'muted', text: 'disputed by ' + d.author + ' at ' + d.created_at + (d.reason ? ': ' + d.reason : '') }), ' ',
        el('button', { class: 'pivot withdraw', text: 'withdraw', onclick: () => act(() => api('/api/disputes/' + d.id + '/withdraw', { method: 'POST' })) }))))));
  }
  // What the ranking cannot see (profile coverage, feed-based evidence).
  const caveats = Array.isArray(doc.body?.caveats) ? doc.body.caveats : [];
  if (caveats.length) {
    main.append(el('section', { class: 'caveats' }, el('h3', { text: 'Caveats' }),
      el('ul', {}, caveats.map(c => el('li', { text: String(c) })))));
  }
  const judged = documentWords(doc.body);
  if (judged.length) main.append(el('table', { class: 'facts judgement' }, judged.map(([k, v]) => el('tr', {}, el('th', { text: k }), el('td', { text: v })))));
  const cands = candidatesOf(doc.body);
  if (!cands.length) main.append(renderJson(doc.body));
  cands.forEach((c, idx) => {
    const id = String(pick(c, ['id', 'group_id', 'attack_id', 'external_id', 'group']) ?? idx);
    const name = pick(c, ['name', 'group_name', 'title']) ?? id;
    const box = el('section', { class: 'cand', 'data-candidate': id });
    box.append(el('h3', { text: '#' + (c.rank ?? idx + 1) + ' ' + name + (name !== id ? ' (' + id + ')' : '') }));
    box.append(el('p', { class: 'judgement', text: candidateWords(c) }));
    const facts = candidateFacts(c);
    if (facts.length) box.append(el('table', { class: 'facts' }, facts.map(([k, v]) => el('tr', {}, el('th', { text: k }), el('td', { text: v })))));
    for (const [key, list] of Object.entries(c)) {
      if (!Array.isArray(list) || key === 'aliases') continue;
      box.append(el('h4', { text: (LIST_WORDS[key] || key.replace(/_/g, ' ')) + ' (' + list.length + ')' }));
      box.append(el('ul', { class: 'evlist' }, list.slice(0, 500).map((item, i) => {
        const ref = itemRef(item, id, key, i);
        const d = active.get(ref.kind + '\u0000' + ref.id);
        const li = el('li', { 'data-ref': ref.kind + ':' + ref.id }, el('span', { class: d ? 'disputed' : '', text: itemText(item) }));
        if (!EVIDENCE_LISTS.has(key)) return li;
        if (d) {
          li.append(' ', el('span', { class: 'muted', text: 'disputed by ' + d.author + (d.reason ? ': ' + d.reason : '') }), ' ',
            el('button', { class: 'pivot', text: 'withdraw', onclick: async () => { await act(() => api('/api/disputes/' + d.id + '/withdraw', { method: 'POST' })); } }));
        } else {
          li.append(' ', el('button', {
            class: 'pivot dispute', text: 'dispute', onclick: () => {
              const reason = el('input', { size: 40, placeholder: 'why is this evidence wrong?' });
              li.append(' ', reason, el('button', { class: 'pivot', text: 'save', onclick: () => act(() => api('/api/disputes', { method: 'POST', json: { target_kind: ref.kind, target_id: ref.id, reason: reason.value } })) }));
              reason.focus();
            }
          }));
        }
        return li;
      })));
    }
    const verdicts = a.verdicts.filter(v => v.target_kind === 'candidate' && v.target_id === id);
    const vlist = el('ul', { class: 'verdicts' }, verdicts.map(v => el('li', {}, el('b', { text: v.author }), ' ', el('span', { class: 'badge ' + (v.verdict === 'agree' ? 'b-low' : 'b-high'), text: v.verdict }), ' ', el('span', { class: 'muted', text: v.created_at }), ': ', v.rationale)));
    const rationale = el('textarea', { rows: 2, placeholder: 'Rationale (required)', class: 'rationale' });
    const sel = el('select', { class: 'verdict' }, el('option', { value: 'agree', text: 'I agree' }), el('option', { value: 'disagree', text: 'I disagree' }));
    box.append(el('h4', { text: 'Analyst verdicts' }), vlist, sel, rationale,
      el('button', { class: 'record', text: 'Record verdict', onclick: () => act(() => api('/api/verdicts', { method: 'POST', json: { target_kind: 'candidate', target_id: id, verdict: sel.value, rationale: rationale.value } })) }),
      notesBox('candidate', id));
    main.append(box);
  });
  async function act(f) {
    try { await f(); await route(); status('Saved.'); } catch (e) { status(e.message, true); }
  }
};

// ---------- process tree ----------
views.tree = async function (main, params) {
  const facets = await api('/api/facets?k=500');
  const host = params.get('host') || (facets.hosts[0] && facets.hosts[0].value) || '';
  const root = params.get('root') || '';
  const sel = el('select', { name: 'host' }, facets.hosts.map(h => el('option', { value: h.value, text: h.value, selected: h.value === host })));
  const rootIn = el('input', { name: 'root', value: root, size: 40, placeholder: 'ProcessGuid or event id (optional)' });
  main.append(el('div', { class: 'filters' }, el('label', {}, 'Host', sel), el('label', {}, 'Root', rootIn),
    el('button', { text: 'Show', onclick: () => go('tree', new URLSearchParams({ host: sel.value, root: rootIn.value })) })));
  if (!host) return;
  const trees = await api('/api/process-tree?host=' + encodeURIComponent(host) + (root ? '&root=' + encodeURIComponent(root) : ''));
  let budget = 5000;
  function node(n) {
    if (--budget < 0) return null;
    const img = n.image || '(unknown image)';
    const label = el('span', {}, el('span', { class: 'muted', text: (n.time || '') + ' ' }),
      el('span', { class: 'img', text: img.split(/[\\/]/).pop() }), ' ',
      el('span', { class: 'muted', text: 'pid ' + (n.pid ?? '?') + (n.user ? ' · ' + n.user : '') + ' · ' + n.source }), ' ',
      el('span', { class: 'cmd', text: n.command_line || '' }));
    if (n.event) { label.style.cursor = 'pointer'; label.addEventListener('click', e => { e.preventDefault(); openEvent(n.event); }); }
    if (!n.children.length) return el('li', {}, label);
    return el('li', {}, el('details', { open: true }, el('summary', {}, label), el('ul', {}, n.children.map(node))));
  }
  main.append(trees.length ? el('div', { class: 'tree' }, el('ul', {}, trees.map(node))) :
    el('p', { class: 'muted', text: 'No Sysmon 1 / Security 4688 process creation events for this host.' }));
  if (budget < 0) main.append(el('p', { class: 'muted', text: 'Tree cut at 5,000 nodes; pick a root to narrow it.' }));
};

// ---------- audit ----------
views.audit = async function (main) {
  const a = await api('/api/audit?limit=1000');
  const j = v => v === null || v === undefined ? '' : JSON.stringify(v).slice(0, 600);
  main.append(el('h2', { text: 'Audit trail' }), el('table', {}, el('tr', {}, ['When', 'Who', 'Action', 'Target', 'Before', 'After'].map(h => el('th', { text: h }))),
    a.map(x => el('tr', {}, el('td', { text: x.at }), el('td', { text: x.who }), el('td', { text: x.action }), el('td', { text: x.target }),
      el('td', { class: 'val', text: j(x.before) }), el('td', { class: 'val', text: j(x.after) })))));
};

// ---------- exports ----------
views.exports = async function (main) {
  const c = await api('/api/case');
  main.append(el('h2', { text: 'Exports' }), el('ul', {},
    c.files.map(f => el('li', {}, el('a', { href: '/files/' + f, text: f, target: '_blank', rel: 'noopener' }))),
    el('li', {}, el('a', { href: '/api/export.csv', text: 'Whole timeline as CSV (streamed)' })),
    el('li', {}, el('a', { href: '/api/export.csv?format=timesketch', text: 'Whole timeline for Timesketch import (CSV: message, datetime, timestamp_desc; events without a time left out)' })),
    el('li', { class: 'muted', text: 'CSV of a filtered timeline: use the link above the timeline.' })));
  if (!c.files.length) main.append(el('p', { class: 'muted', text: 'No report.html / stix-bundle.json / navigator-layer.json in this case directory.' }));
};

// ---------- start ----------
// The case line; while the server builds the full-text index (a case just
// written by `kahu assess`) it says "indexing…" and checks again.
function caseStatus(c) {
  let msg = fmtNum(c.summary.events) + ' events · ' + fmtNum(c.summary.findings) + ' findings · ' + fmtNum(c.summary.hosts) + ' hosts';
  if (c.indexed_in_part) msg += ' · ' + fmtNum(c.indexed_in_part) + ' events indexed only in part (padded or very long values): a search may miss words in them; search ' + c.indexed_in_part_word + ' to list them';
  if (c.indexing && c.indexing.error) msg += ' · search unavailable: ' + c.indexing.error;
  else if (c.indexing) {
    msg += ' · indexing… (' + fmtNum(c.indexing.remaining) + ' events to go; a search waits for it)';
    setTimeout(() => api('/api/case').then(caseStatus).catch(() => {}), 2000);
  }
  status(msg, !!(c.indexing && c.indexing.error));
}

async function start() {
  const who = document.getElementById('analyst');
  try {
    const s = await api('/api/session');
    who.value = analyst() || s.default_user;
    caseStatus(await api('/api/case'));
  } catch (e) { status(e.message, true); }
  who.addEventListener('change', () => {
    const v = who.value.trim();
    if (v) localStorage.setItem('kahu_user', v); else localStorage.removeItem('kahu_user');
  });
  await route();
}
document.addEventListener('DOMContentLoaded', start);
