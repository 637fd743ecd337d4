//! Malware and tool family names → ATT&CK software ids, for tagging IOC
//! and YARA findings whose names, descriptions or tags name a family.
//!
//! The table (`data/software-aliases.tsv`) is generated from ATT&CK's
//! software names and aliases by `data/gen_software_aliases.py`; names
//! that are everyday words are left out so unrelated text is not tagged.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::sync::{Arc, OnceLock};

const TABLE: &str = include_str!("../data/software-aliases.tsv");

struct Aliases {
    ac: AhoCorasick,
    ids: Vec<Arc<str>>,
}

fn aliases() -> &'static Aliases {
    static A: OnceLock<Aliases> = OnceLock::new();
    A.get_or_init(|| {
        let mut names = Vec::new();
        let mut ids = Vec::new();
        for line in TABLE.lines() {
            if line.starts_with('#') {
                continue;
            }
            if let Some((name, id)) = line.split_once('\t') {
                names.push(name.to_string());
                ids.push(Arc::from(id.trim()));
            }
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&names)
            // The table is committed data with a few thousand plain
            // strings; building it cannot exceed the automaton's limits.
            .expect("software alias automaton builds");
        Aliases { ac, ids }
    })
}

/// Lower-case `text` and turn every run of non-alphanumerics into one
/// space, the form the alias table is written in (`China_Chopper`,
/// `china-chopper` and `China Chopper` all become `china chopper`).
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    let mut space = true;
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    out.push(' ');
    out
}

/// ATT&CK software ids (`S0020`) of the malware and tool families named
/// in `text`, whole words only, in order of first mention, without
/// duplicates.
pub fn software_ids_in(text: &str) -> Vec<Arc<str>> {
    let a = aliases();
    let folded = fold(text);
    let b = folded.as_bytes();
    let mut out: Vec<Arc<str>> = Vec::new();
    for m in a.ac.find_iter(&folded) {
        // Whole words: the folded text has a space (or the padding) on
        // both sides of a word.
        if b.get(m.start().wrapping_sub(1)) != Some(&b' ') || b.get(m.end()) != Some(&b' ') {
            continue;
        }
        let id = &a.ids[m.pattern().as_usize()];
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

/// Add `id` to `list` unless present.
pub(crate) fn push_unique(list: &mut Vec<Arc<str>>, id: &str) {
    if !list.iter().any(|x| &**x == id) {
        list.push(Arc::from(id));
    }
}

/// Tag an indicator's metadata with the software its name, description
/// and labels mention, and with ATT&CK ids written as labels.
pub(crate) fn tag_meta(meta: &mut crate::indicator::IndicatorMeta) {
    // TLP tags (MISP `tlp:amber`, STIX labels) tighten the marking, never loosen it.
    let tagged = meta
        .labels
        .iter()
        .filter(|l| l.trim_start().to_ascii_lowercase().starts_with("tlp"))
        .filter_map(|l| crate::Tlp::parse(l))
        .max();
    meta.tlp = meta.tlp.max(tagged);
    let mut text = String::new();
    for s in meta
        .name
        .iter()
        .chain(meta.description.iter())
        .chain(meta.labels.iter())
    {
        text.push_str(s);
        text.push('\n');
    }
    if text.is_empty() {
        return;
    }
    for id in software_ids_in(&text) {
        push_unique(&mut meta.software, &id);
    }
    for l in meta.labels.clone() {
        for (kind, id) in crate::attack_ids_in(&l) {
            let list = match kind {
                'T' => &mut meta.techniques,
                'S' => &mut meta.software,
                'G' => &mut meta.groups,
                _ => continue,
            };
            push_unique(list, &id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_by_name_and_alias() {
        let ids = |t: &str| {
            software_ids_in(t)
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("Webshell_ChinaChopper_aspx"), vec!["S0020"]);
        assert_eq!(ids("china-chopper one-liner"), vec!["S0020"]);
        assert_eq!(
            ids("Mimikatz and Cobalt Strike beacons, then PsExec"),
            vec!["S0002", "S0154", "S0029"]
        );
        assert_eq!(
            ids("PlugX (aka Korplug) via impacket"),
            vec!["S0013", "S0357"]
        );
        // Whole words only, and ordinary words are not families.
        assert!(ids("mimikatzz").is_empty());
        assert!(ids("ran cmd.exe and net use, ping host").is_empty());
    }
}
