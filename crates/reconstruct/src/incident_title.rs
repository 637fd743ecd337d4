//! Incident titles: what happened (the two most severe tactics) and where
//! (the host, or "host unknown" with the log directory), with counts.

use crate::tactic::Tactic;
use hashbrown::HashMap;
use kahu_finding::{Finding, Level};

/// Where an incident happened, for its title.
pub(crate) struct Where<'a> {
    pub(crate) hosts: &'a [String],
    pub(crate) host_unknown: usize,
    pub(crate) log_dir: Option<&'a str>,
    pub(crate) accounts: &'a [String],
}

/// The last `n` components of a path, for a short label.
fn tail(path: &str, n: usize) -> String {
    let mut cut = path.len();
    for _ in 0..n {
        match path[..cut].rfind(['/', '\\']) {
            Some(i) => cut = i,
            None => return path.to_string(),
        }
    }
    // What is left out is said to be: "work/shared/…" read as a relative
    // path when only the root's `/` was cut.
    if path[..cut].is_empty() {
        path.to_string()
    } else {
        format!("…{}", &path[cut..])
    }
}

/// "Credential access and lateral movement on WS01 (4 hosts, 2 accounts)":
/// the two most severe tactics (later phase wins ties, as it says more
/// about how far the intruder got), in kill-chain order, then where. An
/// incident with no known host says so and names the log directory.
pub(crate) fn title(
    tactic_level: &HashMap<Tactic, Level>,
    at: &Where<'_>,
    members: &[Finding],
    max_level: Level,
    detections: u64,
) -> String {
    let mut t: Vec<(Tactic, Level)> = tactic_level.iter().map(|(t, l)| (*t, *l)).collect();
    t.sort_by_key(|&(t, l)| std::cmp::Reverse((l, t)));
    t.truncate(2);
    t.sort();
    let what = match t.as_slice() {
        [] => members
            .iter()
            .find(|f| f.level == max_level)
            .map(|f| f.title.to_string())
            .unwrap_or_else(|| "Activity".to_string()),
        [(a, _)] => a.label().to_string(),
        [(a, _), (b, _), ..] => format!("{} and {}", a.label(), b.label().to_lowercase()),
    };
    let mut s = what;
    match (at.hosts.first(), at.log_dir) {
        (Some(h), _) => {
            s.push_str(" on ");
            s.push_str(h);
        }
        (None, Some(dir)) if !dir.is_empty() => {
            s.push_str(&format!(" on host unknown (logs in {})", tail(dir, 5)));
        }
        (None, _) => s.push_str(" on host unknown"),
    }
    let mut extra = Vec::new();
    if at.hosts.len() > 1 {
        extra.push(format!("{} hosts", at.hosts.len()));
    }
    if !at.hosts.is_empty() && at.host_unknown > 0 {
        extra.push(format!("{} findings with host unknown", at.host_unknown));
    }
    match at.accounts.len() {
        0 => {}
        1 => extra.push(format!("account {}", at.accounts[0])),
        n => extra.push(format!("{n} accounts")),
    }
    // Every title counts its findings, the unit of the summary's cards;
    // repeats a finding stands for are counted apart (an incident of 4
    // findings once read "869 findings" in a case of 47).
    let n = members.len() as u64;
    let noun = if n == 1 { "finding" } else { "findings" };
    if detections > n {
        extra.push(format!("{n} {noun}, {detections} detections with repeats"));
    } else {
        extra.push(format!("{n} {noun}"));
    }
    if !extra.is_empty() {
        s.push_str(&format!(" ({})", extra.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::tail;

    // "logs in work/shared/evtx/…" read as a relative path: the root's `/`
    // was all that was cut. A cut says so with "…".
    #[test]
    fn a_shortened_log_directory_says_it_is_shortened() {
        assert_eq!(
            tail(
                "/work/shared/evtx/EVTX-ATTACK-SAMPLES/Command and Control",
                5
            ),
            "/work/shared/evtx/EVTX-ATTACK-SAMPLES/Command and Control"
        );
        assert_eq!(tail("/a/b/c/d/e/f/g", 5), "…/c/d/e/f/g");
        assert_eq!(tail("C:\\cases\\x\\y\\z\\w\\v", 5), "…\\x\\y\\z\\w\\v");
        assert_eq!(tail("logs", 5), "logs");
    }
}
