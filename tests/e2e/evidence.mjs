// The test oracle: expected values come from the evidence files and the
// demo's ground truth, read here independently of kahu, never from kahu's
// own output.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every file under the given files/directories, sorted for determinism. */
export function files(paths) {
  const out = [];
  const walk = p => {
    const st = statSync(p);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n));
    else if (st.isFile()) out.push(p);
  };
  for (const p of paths) walk(p);
  return out;
}

/**
 * One record per line of every evidence file: `{ file, rel, line, text, ev }`
 * with `line` 1-based and `ev` the parsed Windows event (EVTX JSON rendering:
 * `{"Event":{"System":…,"EventData":…}}`) when the line is one.
 */
export function records(paths, base) {
  const out = [];
  for (const f of files(paths)) {
    const lines = readFileSync(f, 'utf8').split('\n');
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    lines.forEach((text, i) => {
      let ev = null;
      if (text.startsWith('{"Event"')) {
        try { ev = JSON.parse(text).Event; } catch { ev = null; }
      }
      out.push({ file: f, rel: base ? relative(base, f) : f, line: i + 1, text, ev });
    });
  }
  return out;
}

/** `SystemTime` of a Windows event as kahu's UI prints it (ISO 8601, ms). */
export function eventTime(ev) {
  const t = ev?.System?.TimeCreated?.['#attributes']?.SystemTime;
  return t ? new Date(t).toISOString() : null;
}

/** The basename of a Windows or POSIX path. */
export function basename(p) {
  return String(p || '').split(/[\\/]/).pop();
}

/** ATT&CK tactic slug (`credential-access`) to its matrix name (`Credential Access`). */
export function tacticName(slug) {
  const special = { 'command-and-control': 'Command and Control' };
  if (special[slug]) return special[slug];
  return slug.split('-').map(w => w[0].toUpperCase() + w.slice(1)).join(' ');
}
