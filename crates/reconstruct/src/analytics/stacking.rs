//! Process stacking: how often each image ran on each host (Sysmon 1,
//! Security 4688), so the rarest images, the ones an intruder brings,
//! surface first.

use crate::util::{CappedMap, MAX_TEXT, Span, clip, ms, text};
use hashbrown::HashMap;
use kahu_event::{Event, Timestamp};
use serde::Serialize;

#[derive(Debug, Clone, Default)]
pub(crate) struct ProcAcc {
    count: u64,
    span: Span,
    /// Earliest execution's command line, user and parent.
    first: Option<(i64, String, Option<String>, Option<String>)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Stacking {
    procs: CappedMap<(Box<str>, Box<str>), ProcAcc>,
}

fn is_process_creation(e: &Event) -> bool {
    match e.event_id {
        Some(1) => e.channel.as_deref().is_some_and(|c| c.contains("Sysmon")),
        Some(4688) => super::auth::is_security(e),
        _ => e.logsource.category.as_deref() == Some("process_creation"),
    }
}

impl Stacking {
    pub(crate) fn new(cap: usize) -> Self {
        Stacking {
            procs: CappedMap::new(cap),
        }
    }

    pub(crate) fn observe(&mut self, e: &Event) {
        if !is_process_creation(e) {
            return;
        }
        let Some(image) = text(e, &["Image", "NewProcessName", "exe", "process.executable"]) else {
            return;
        };
        // Paths differ only in case on Windows, and one host has several
        // names (FQDN, short): stacking must not split them.
        let key: (Box<str>, Box<str>) = (
            e.host
                .as_deref()
                .and_then(crate::host::host_key)
                .unwrap_or_default()
                .into(),
            clip(&image.to_lowercase(), MAX_TEXT).into(),
        );
        let Some(acc) = self.procs.slot(&key, || (key.clone(), ProcAcc::default())) else {
            return;
        };
        acc.count += 1;
        acc.span.observe(e.timestamp);
        let t = e.timestamp.as_ref().map(ms).unwrap_or(i64::MAX);
        if acc.first.as_ref().is_none_or(|f| t < f.0) {
            let cmd = text(e, &["CommandLine", "ProcessCommandLine", "proctitle"])
                .map(|c| clip(&c, 2048))
                .unwrap_or_default();
            let user = text(e, &["User", "SubjectUserName", "user"]).map(|u| clip(&u, 256));
            let parent = text(e, &["ParentImage", "ParentProcessName"]).map(|p| clip(&p, MAX_TEXT));
            acc.first = Some((t, cmd, user, parent));
        }
    }

    pub(crate) fn merge(&mut self, o: Stacking) {
        self.procs.merge(o.procs, |a, b| {
            a.count += b.count;
            a.span.merge(&b.span);
            if let Some(bf) = b.first
                && a.first.as_ref().is_none_or(|af| bf.0 < af.0)
            {
                a.first = Some(bf);
            }
        });
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.procs.dropped
    }

    pub(crate) fn finish(self, top: usize, per_host_top: usize, max_hosts: usize) -> ProcessStacks {
        let mut images: HashMap<&str, (usize, u64, Span, Vec<&str>)> = HashMap::new();
        for ((host, image), acc) in &self.procs.map {
            let e = images.entry(image).or_default();
            e.0 += 1;
            e.1 += acc.count;
            e.2.merge(&acc.span);
            // The first five by name, not by the map's (random) order.
            e.3.push(host);
            if e.3.len() > 5 {
                e.3.sort_unstable();
                e.3.truncate(5);
            }
        }
        let mut rarest: Vec<StackRow> = images
            .iter()
            .map(|(image, (hosts, count, span, hs))| {
                let mut hs: Vec<String> = hs.iter().map(|h| h.to_string()).collect();
                hs.sort();
                StackRow {
                    image: image.to_string(),
                    host_count: *hosts,
                    executions: *count,
                    hosts: hs,
                    first_seen: span.first_seen,
                    last_seen: span.last_seen,
                }
            })
            .collect();
        rarest.sort_by(|a, b| {
            (a.host_count, a.executions, &a.image).cmp(&(b.host_count, b.executions, &b.image))
        });
        let distinct_images = rarest.len();
        rarest.truncate(top);

        let mut per_host: HashMap<&str, Vec<HostImage>> = HashMap::new();
        for ((host, image), acc) in &self.procs.map {
            let (cmd, user, parent) = acc
                .first
                .as_ref()
                .map(|f| (f.1.clone(), f.2.clone(), f.3.clone()))
                .unwrap_or_default();
            per_host.entry(host).or_default().push(HostImage {
                image: image.to_string(),
                executions: acc.count,
                fleet_hosts: images.get(&**image).map(|i| i.0).unwrap_or(1),
                first_seen: acc.span.first_seen,
                last_seen: acc.span.last_seen,
                command_line: cmd,
                user,
                parent,
            });
        }
        let mut hosts: Vec<HostStack> = per_host
            .into_iter()
            .map(|(host, mut v)| {
                let distinct = v.len();
                v.sort_by(|a, b| {
                    (a.fleet_hosts, a.executions, &a.image).cmp(&(
                        b.fleet_hosts,
                        b.executions,
                        &b.image,
                    ))
                });
                v.truncate(per_host_top);
                HostStack {
                    host: host.to_string(),
                    distinct_images: distinct,
                    rarest: v,
                }
            })
            .collect();
        hosts.sort_by(|a, b| a.host.cmp(&b.host));
        hosts.truncate(max_hosts);
        ProcessStacks {
            distinct_images,
            rarest,
            hosts,
        }
    }
}

/// Process stacking across the fleet and per host.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessStacks {
    /// Distinct images seen (before truncation).
    pub distinct_images: usize,
    /// Images on the fewest hosts, then with the fewest executions.
    pub rarest: Vec<StackRow>,
    /// Per host, its rarest images by fleet prevalence.
    pub hosts: Vec<HostStack>,
}

/// One image across the fleet.
#[derive(Debug, Clone, Serialize)]
pub struct StackRow {
    /// Lower-cased image path.
    pub image: String,
    /// Hosts it ran on.
    pub host_count: usize,
    /// Executions in all.
    pub executions: u64,
    /// Up to five of those hosts.
    pub hosts: Vec<String>,
    /// First execution anywhere.
    pub first_seen: Option<Timestamp>,
    /// Last execution anywhere.
    pub last_seen: Option<Timestamp>,
}

/// The rarest images of one host.
#[derive(Debug, Clone, Serialize)]
pub struct HostStack {
    /// Host (lower-case).
    pub host: String,
    /// Distinct images run on it.
    pub distinct_images: usize,
    /// Least prevalent first.
    pub rarest: Vec<HostImage>,
}

/// One image on one host.
#[derive(Debug, Clone, Serialize)]
pub struct HostImage {
    /// Lower-cased image path.
    pub image: String,
    /// Executions on this host.
    pub executions: u64,
    /// Hosts in the fleet that ran it.
    pub fleet_hosts: usize,
    /// First execution here.
    pub first_seen: Option<Timestamp>,
    /// Last execution here.
    pub last_seen: Option<Timestamp>,
    /// Command line of the first execution.
    pub command_line: String,
    /// User of the first execution.
    pub user: Option<String>,
    /// Parent image of the first execution.
    pub parent: Option<String>,
}
