//! Containment and eradication material: block lists and the accounts,
//! hosts and files to act on, as plain text (one value per line, for
//! firewalls and EDR consoles) and CSV (with reasons, for people).

use crate::safe::{SpreadsheetCsv, single_line};
use crate::sink::OutputSink;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

/// One value to act on and why.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema, PartialEq, Eq)]
pub struct Item {
    /// The IP, domain, account, host or path.
    pub value: String,
    /// Why (rule titles, indicator names), short.
    pub reason: String,
    /// First time seen in the evidence (RFC 3339), if known.
    pub first_seen: Option<String>,
    /// Last time seen.
    pub last_seen: Option<String>,
    /// Number of detections behind it.
    pub detections: u64,
}

/// The lists that ask for an action (the others inform).
const ACTIONABLE: &[&str] = &[
    "blocklist-ips",
    "blocklist-cidrs",
    "blocklist-domains",
    "blocklist-urls",
    "blocklist-hashes",
    "accounts-to-reset",
    "hosts-to-isolate",
    "files-to-remove",
    "internal-ips-to-investigate",
];

/// The start of the `excluded` reason of an entry left out because its
/// value holds control characters: a line break in a list a firewall reads
/// line by line would smuggle in a second entry (`evil.example\nwindowsupdate.com`).
pub const CONTROL_CHARACTERS_REJECTED: &str = "rejected: the value contains control characters (line breaks, escapes) that could inject entries into a list";

/// What to block, reset, isolate and remove.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Containment {
    /// External IP addresses to block.
    pub ips: Vec<Item>,
    /// CIDR ranges to block.
    pub cidrs: Vec<Item>,
    /// Domains to block or sinkhole.
    pub domains: Vec<Item>,
    /// URLs to block at the proxy.
    pub urls: Vec<Item>,
    /// File hashes to block (EDR).
    pub hashes: Vec<Item>,
    /// Accounts whose credentials must be reset.
    pub accounts: Vec<Item>,
    /// Hosts to isolate and image.
    pub hosts: Vec<Item>,
    /// Files (web shells, tools) to collect and remove.
    pub files: Vec<Item>,
    /// Internal addresses the evidence shows in an attacker's role (a
    /// compromised process connecting to it on an unusual port): possible
    /// internal command and control or pivot. Investigate before blocking.
    #[serde(default)]
    pub internal_ips: Vec<Item>,
    /// External addresses in shared infrastructure (CDNs, large clouds):
    /// implicated, but blocking them would cut off legitimate services.
    /// Never part of a block list.
    #[serde(default)]
    pub shared_infrastructure: Vec<Item>,
    /// What was considered and left out of the lists, and why (Windows
    /// binaries whose hashes were seen, accounts that never authenticated…).
    #[serde(default)]
    pub excluded: Vec<Item>,
    /// Eradication steps the evidence calls for, each with its reason.
    #[serde(default)]
    pub actions: Vec<Item>,
}

impl Containment {
    /// `true` when there is nothing to act on.
    pub fn is_empty(&self) -> bool {
        self.lists()
            .iter()
            .filter(|(name, _, _)| ACTIONABLE.contains(name))
            .all(|(_, _, l)| l.is_empty())
    }

    /// Move every entry whose value holds control characters out of the
    /// lists into `excluded` (its value shown escaped), and return how many
    /// were moved.
    pub fn reject_control_characters(&mut self) -> usize {
        let mut rejected = Vec::new();
        for list in [
            &mut self.ips,
            &mut self.cidrs,
            &mut self.domains,
            &mut self.urls,
            &mut self.hashes,
            &mut self.accounts,
            &mut self.hosts,
            &mut self.files,
            &mut self.internal_ips,
            &mut self.shared_infrastructure,
            &mut self.actions,
        ] {
            list.retain(|item| {
                let bad = item.value.chars().any(char::is_control);
                if bad {
                    rejected.push(Item {
                        value: single_line(&item.value),
                        reason: format!("{CONTROL_CHARACTERS_REJECTED} ({})", item.reason),
                        ..item.clone()
                    });
                }
                !bad
            });
        }
        for item in &mut self.excluded {
            if item.value.chars().any(char::is_control) {
                item.value = single_line(&item.value);
            }
        }
        let n = rejected.len();
        self.excluded.extend(rejected);
        n
    }

    /// How many entries [`Containment::reject_control_characters`] moved
    /// to `excluded`.
    pub fn rejected_for_control_characters(&self) -> usize {
        self.excluded
            .iter()
            .filter(|i| i.reason.starts_with(CONTROL_CHARACTERS_REJECTED))
            .count()
    }

    fn lists(&self) -> [(&'static str, &'static str, &Vec<Item>); 11] {
        [
            ("blocklist-ips", "ip", &self.ips),
            ("blocklist-cidrs", "cidr", &self.cidrs),
            ("blocklist-domains", "domain", &self.domains),
            ("blocklist-urls", "url", &self.urls),
            ("blocklist-hashes", "hash", &self.hashes),
            ("accounts-to-reset", "account", &self.accounts),
            ("hosts-to-isolate", "host", &self.hosts),
            ("files-to-remove", "file", &self.files),
            ("internal-ips-to-investigate", "ip", &self.internal_ips),
            (
                "shared-infrastructure-do-not-block",
                "ip",
                &self.shared_infrastructure,
            ),
            ("excluded", "value", &self.excluded),
        ]
    }

    /// Write `<name>.txt` and `<name>.csv` per list, plus `blocklist.csv`
    /// combining every network/hash indicator, into `dir`.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        self.write_to(&mut crate::sink::DirSink::new(dir)?, "")
    }

    /// Write the lists through `sink`, each name after `prefix` (the
    /// assessment writes them as `containment/…`).
    pub fn write_to(&self, sink: &mut dyn OutputSink, prefix: &str) -> io::Result<()> {
        let mut combined = SpreadsheetCsv::new(sink.create(&format!("{prefix}blocklist.csv"))?);
        combined.row([
            "type",
            "value",
            "reason",
            "first_seen",
            "last_seen",
            "detections",
        ])?;
        let rejected = self.rejected_for_control_characters();
        for (name, kind, list) in self.lists() {
            let mut txt = sink.create(&format!("{prefix}{name}.txt"))?;
            // Lines that would be entries are never control-character
            // free by accident: an entry with one is left out (and counted).
            let clean = list
                .iter()
                .filter(|i| !i.value.chars().any(char::is_control));
            let left_out = list.len() - clean.clone().count();
            let n = list.len() - left_out;
            write!(
                txt,
                "# kahu containment list: {name} ({n} {}",
                if n == 1 { "entry" } else { "entries" }
            )?;
            if rejected > 0 && name != "excluded" {
                write!(
                    txt,
                    "; {rejected} {} of all lists rejected for control characters, see excluded.csv",
                    if rejected == 1 { "entry" } else { "entries" }
                )?;
            }
            writeln!(txt, ")")?;
            let mut w = SpreadsheetCsv::new(sink.create(&format!("{prefix}{name}.csv"))?);
            w.row(["value", "reason", "first_seen", "last_seen", "detections"])?;
            for item in list {
                if !item.value.chars().any(char::is_control) {
                    writeln!(txt, "{}", item.value)?;
                }
                let detections = item.detections.to_string();
                let row = [
                    item.value.as_str(),
                    &item.reason,
                    item.first_seen.as_deref().unwrap_or(""),
                    item.last_seen.as_deref().unwrap_or(""),
                    &detections,
                ];
                w.row(row)?;
                if name.starts_with("blocklist") {
                    combined.row(std::iter::once(kind).chain(row))?;
                }
            }
            w.flush()?;
            txt.flush()?;
        }
        combined.flush()?;
        Ok(())
    }
}

/// Reasons, first seen, last seen and count of one value.
type Tally = (Vec<String>, Option<String>, Option<String>, u64);

/// Collects items by value, merging reasons and time ranges.
#[derive(Debug, Default)]
pub struct ItemSet {
    items: BTreeMap<String, Tally>,
}

impl ItemSet {
    /// Add a sighting of `value` for `reason` at `time` (RFC 3339 strings
    /// compare correctly as text).
    pub fn add(&mut self, value: &str, reason: &str, time: Option<&str>) {
        self.merge(value, reason, time, time, 1);
    }

    /// Add a scope entity: `value` seen from `first` to `last` in
    /// `detections` findings. Lists built from the scope use this, so an
    /// address that beaconed for two weeks says so, not one sighting.
    pub fn add_seen(
        &mut self,
        value: &str,
        reason: &str,
        first: Option<&str>,
        last: Option<&str>,
        detections: u64,
    ) {
        self.merge(value, reason, first, last, detections.max(1));
    }

    fn merge(
        &mut self,
        value: &str,
        reason: &str,
        first: Option<&str>,
        last: Option<&str>,
        detections: u64,
    ) {
        let e = self.items.entry(value.to_string()).or_default();
        if !e.0.iter().any(|r| r == reason) && e.0.len() < 5 {
            e.0.push(reason.to_string());
        }
        if let Some(t) = first
            && e.1.as_deref().is_none_or(|f| t < f)
        {
            e.1 = Some(t.to_string());
        }
        if let Some(t) = last
            && e.2.as_deref().is_none_or(|l| t > l)
        {
            e.2 = Some(t.to_string());
        }
        e.3 += detections;
    }

    /// The items, most detections first.
    pub fn into_items(self) -> Vec<Item> {
        let mut v: Vec<Item> = self
            .items
            .into_iter()
            .map(|(value, (reasons, first, last, n))| Item {
                value,
                reason: reasons.join("; "),
                first_seen: first,
                last_seen: last,
                detections: n,
            })
            .collect();
        v.sort_by(|a, b| b.detections.cmp(&a.detections).then(a.value.cmp(&b.value)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_text_and_csv_lists() {
        let dir = tempfile::tempdir().unwrap();
        let mut ips = ItemSet::default();
        ips.add("203.0.113.7", "C2", Some("2021-05-02T00:00:00Z"));
        ips.add("203.0.113.7", "Exfil", Some("2021-05-01T00:00:00Z"));
        let c = Containment {
            ips: ips.into_items(),
            ..Default::default()
        };
        assert_eq!(c.ips[0].first_seen.as_deref(), Some("2021-05-01T00:00:00Z"));
        assert_eq!(c.ips[0].detections, 2);
        c.write(dir.path()).unwrap();
        let txt = std::fs::read_to_string(dir.path().join("blocklist-ips.txt")).unwrap();
        assert!(txt.lines().any(|l| l == "203.0.113.7"));
        let all = std::fs::read_to_string(dir.path().join("blocklist.csv")).unwrap();
        assert!(all.contains("ip,203.0.113.7,C2; Exfil"));
        assert!(dir.path().join("accounts-to-reset.csv").exists());

        // The same lists through a memory sink: the same names, the same bytes.
        let mut mem = crate::sink::MemorySink::default();
        c.write_to(&mut mem, "containment/").unwrap();
        let out = mem.outputs();
        let mut on_disk: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| format!("containment/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        on_disk.sort();
        assert_eq!(out.keys().cloned().collect::<Vec<_>>(), on_disk);
        assert_eq!(out["containment/blocklist.csv"], all.as_bytes());
    }

    #[test]
    fn evidence_text_cannot_inject_lines_or_formulas() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = ItemSet::default();
        files.add(
            "C:\\x.exe\nC:\\Windows",
            "=HYPERLINK(\"http://evil\")",
            None,
        );
        files.add("C:\\ok.exe", "+cmd|' /C calc'!A0", None);
        let c = Containment {
            files: files.into_items(),
            ..Default::default()
        };
        c.write(dir.path()).unwrap();
        let txt = std::fs::read_to_string(dir.path().join("files-to-remove.txt")).unwrap();
        let values: Vec<&str> = txt.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            values,
            ["C:\\ok.exe"],
            "the value with a line break is not listed raw"
        );
        let mut r = csv::Reader::from_path(dir.path().join("files-to-remove.csv")).unwrap();
        for rec in r.records() {
            let rec = rec.unwrap();
            for cell in rec.iter() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@']),
                    "formula cell {cell:?}"
                );
                assert!(!cell.contains('\n'), "line break in {cell:?}");
            }
        }
    }

    #[test]
    fn entries_with_control_characters_are_rejected_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut domains = ItemSet::default();
        domains.add("evil.example\nwindowsupdate.com", "DNS query", None);
        domains.add("c2.example", "DNS query", None);
        let mut hosts = ItemSet::default();
        hosts.add("WEB01\u{1b}[2J", "web shell", None);
        let mut c = Containment {
            domains: domains.into_items(),
            hosts: hosts.into_items(),
            ..Default::default()
        };
        assert_eq!(c.reject_control_characters(), 2);
        assert_eq!(c.rejected_for_control_characters(), 2);
        assert_eq!(c.domains.len(), 1);
        assert!(c.hosts.is_empty());
        assert!(
            c.excluded
                .iter()
                .any(|i| i.value == "evil.example\\nwindowsupdate.com")
        );
        c.write(dir.path()).unwrap();
        let txt = std::fs::read_to_string(dir.path().join("blocklist-domains.txt")).unwrap();
        assert!(!txt.lines().any(|l| l == "windowsupdate.com"), "{txt}");
        assert!(txt.contains("2 entries of all lists rejected"), "{txt}");
        let excluded = std::fs::read_to_string(dir.path().join("excluded.txt")).unwrap();
        assert!(!excluded.lines().any(|l| l == "windowsupdate.com"));
    }

    #[test]
    fn informational_lists_do_not_make_containment_non_empty() {
        let mut shared = ItemSet::default();
        shared.add("104.16.1.1", "Cloudflare", None);
        let c = Containment {
            shared_infrastructure: shared.into_items(),
            ..Default::default()
        };
        assert!(c.is_empty());
    }
}
