//! IOC matching on real web-server evidence from the shared data set
//! (EVTX-ATTACK-SAMPLES "Command and Control": an Apache log with a JSP
//! web shell and an IIS log of a Tunna tunnel through `conn.aspx`),
//! read by kahu's own ingest. Expected counts were taken from the logs
//! with grep (see the comments), not from kahu.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::Event;
use kahu_ingest::{Sink, Warning};
use kahu_intel::IocSet;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Default)]
struct Collect(Vec<Event>);
impl Sink for Collect {
    fn event(&mut self, e: Event) -> bool {
        self.0.push(e);
        true
    }
    fn warning(&mut self, _w: Warning) {}
}

fn shared() -> PathBuf {
    kahu_test_support::shared_dir()
}

fn matches_per_indicator(set: &IocSet, file: &str) -> Option<BTreeMap<String, usize>> {
    let path = shared()
        .join("evtx/EVTX-ATTACK-SAMPLES/Command and Control")
        .join(file);
    if !path.exists() {
        eprintln!("SKIP: {} not found", path.display());
        return None;
    }
    let mut sink = Collect::default();
    kahu_ingest::read_path(&path, &mut sink).expect("log reads");
    assert!(!sink.0.is_empty(), "{file}: ingest produced no events");
    let mut counts = BTreeMap::new();
    let mut out = Vec::new();
    for e in &sink.0 {
        out.clear();
        set.match_event(e, &mut out);
        for m in &out {
            *counts
                .entry(set.indicators()[m.indicator].value.to_string())
                .or_default() += 1;
        }
    }
    Some(counts)
}

#[test]
fn web_shell_and_tunnel_found_in_real_logs() {
    let mut set = IocSet::new();
    set.load_bytes(
        b"/error/cmd.jsp\ncmd.jsp\n10.0.2.17\n/erp/conn.aspx\nconn.aspx\n",
        "case-iocs.txt",
    )
    .unwrap();
    // grep -a -c "/error/cmd.jsp" web_attack_and_isp_webshell_localhost_access_log.txt → 21
    if let Some(c) =
        matches_per_indicator(&set, "web_attack_and_isp_webshell_localhost_access_log.txt")
    {
        assert_eq!(c.get("/error/cmd.jsp"), Some(&21), "{c:?}");
        assert_eq!(c.get("cmd.jsp"), Some(&21), "{c:?}");
    }
    // grep -a -v "^#" Tunna_rdp_tunnel_IIS.log | grep -c "conn.aspx" → 4298, and
    // grep -c " 10.0.2.17 " → 4298 (every request came from the tunnel client).
    if let Some(c) = matches_per_indicator(&set, "Tunna_rdp_tunnel_IIS.log") {
        assert_eq!(c.get("10.0.2.17"), Some(&4298), "{c:?}");
        assert_eq!(c.get("/erp/conn.aspx"), Some(&4298), "{c:?}");
        assert_eq!(c.get("conn.aspx"), Some(&4298), "{c:?}");
    }
}
