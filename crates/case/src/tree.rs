//! Process trees from Sysmon event 1 (`ProcessGuid`/`ParentProcessGuid`)
//! and Security 4688 (`NewProcessId`/`ProcessId` on one host).
//!
//! Sysmon GUIDs are unique per process instance; 4688 only has PIDs, which
//! Windows reuses, so a 4688 parent is the latest process with that PID
//! started at or before the child.

use crate::{Case, NO_TIME, Result, format_micros};
use rusqlite::params_from_iter;
use rusqlite::types::Value as Sql;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Most process-creation records read for one tree.
const MAX_RECORDS: i64 = 50_000;
/// Deeper chains are cut: forged GUIDs could otherwise recurse forever.
const MAX_DEPTH: usize = 200;

/// One process in a tree.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessNode {
    /// Case id of the creation event; `None` for a parent known only from
    /// its child's `ParentImage`.
    pub event: Option<i64>,
    /// Stable key: the Sysmon GUID, or `pid:<pid>@<µs>` for 4688.
    pub key: String,
    /// Creation time, RFC 3339.
    pub time: Option<String>,
    /// Process id.
    pub pid: Option<i64>,
    /// Executable path.
    pub image: Option<String>,
    /// Command line.
    pub command_line: Option<String>,
    /// Account.
    pub user: Option<String>,
    /// `sysmon`, `4688` or `inferred`.
    pub source: &'static str,
    /// Children, oldest first.
    pub children: Vec<ProcessNode>,
}

struct Raw {
    node: ProcessNode,
    ts: i64,
    parent_key: Option<String>,
    parent_pid: Option<i64>,
    parent_image: Option<String>,
    parent_cmd: Option<String>,
}

fn s(f: &serde_json::Value, name: &str) -> Option<String> {
    match f.get(name)? {
        serde_json::Value::String(s) if !s.is_empty() && s != "-" => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn pid(f: &serde_json::Value, name: &str) -> Option<i64> {
    let v = s(f, name)?;
    let v = v.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

fn guid(f: &serde_json::Value, name: &str) -> Option<String> {
    let g = s(f, name)?;
    let g = g
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .to_ascii_lowercase();
    (!g.is_empty() && g != "00000000-0000-0000-0000-000000000000").then_some(g)
}

impl Raw {
    /// A process creation record: Sysmon event 1 keyed by its GUID, else
    /// Security 4688 keyed by PID and time. `None` without that key.
    fn from_creation(id: i64, ts: i64, eid: i64, f: &serde_json::Value) -> Option<Raw> {
        if eid == 1 {
            let key = guid(f, "ProcessGuid")?;
            Some(Raw {
                node: ProcessNode {
                    event: Some(id),
                    key,
                    time: format_micros(ts),
                    pid: pid(f, "ProcessId"),
                    image: s(f, "Image"),
                    command_line: s(f, "CommandLine"),
                    user: s(f, "User"),
                    source: "sysmon",
                    children: Vec::new(),
                },
                ts,
                parent_key: guid(f, "ParentProcessGuid"),
                parent_pid: pid(f, "ParentProcessId"),
                parent_image: s(f, "ParentImage"),
                parent_cmd: s(f, "ParentCommandLine"),
            })
        } else {
            let p = pid(f, "NewProcessId")?;
            Some(Raw {
                node: ProcessNode {
                    event: Some(id),
                    key: format!("pid:{p}@{ts}"),
                    time: format_micros(ts),
                    pid: Some(p),
                    image: s(f, "NewProcessName"),
                    command_line: s(f, "CommandLine"),
                    user: s(f, "TargetUserName").or_else(|| s(f, "SubjectUserName")),
                    source: "4688",
                    children: Vec::new(),
                },
                ts,
                parent_key: None,
                parent_pid: pid(f, "ProcessId"),
                parent_image: s(f, "ParentProcessName"),
                parent_cmd: None,
            })
        }
    }
}

/// Each record's parent: by GUID (Sysmon), else the latest process with
/// the parent PID started at or before the child (4688). A parent named
/// by a child but never seen starting is added as an inferred node after
/// the records; returns each node's parent and how many were records.
fn link_parents(raws: &mut Vec<Raw>) -> (Vec<Option<usize>>, usize) {
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut by_pid: HashMap<i64, Vec<(i64, usize)>> = HashMap::new();
    for (i, r) in raws.iter().enumerate() {
        by_key.insert(r.node.key.clone(), i);
        if let Some(p) = r.node.pid {
            by_pid.entry(p).or_default().push((r.ts, i));
        }
    }
    // Resolve parents; unknown Sysmon parents become inferred nodes.
    let mut parent_of: Vec<Option<usize>> = vec![None; raws.len()];
    let mut inferred: Vec<Raw> = Vec::new();
    let mut inferred_idx: HashMap<String, usize> = HashMap::new();
    let n = raws.len();
    for i in 0..n {
        let r = &raws[i];
        let by_guid = r.parent_key.as_ref().and_then(|k| by_key.get(k).copied());
        let by_p = || {
            let list = by_pid.get(&r.parent_pid?)?;
            list.iter()
                .rev()
                .find(|(t, j)| *t <= r.ts && *j != i)
                .map(|(_, j)| *j)
        };
        let found = by_guid.or_else(|| if r.parent_key.is_none() { by_p() } else { None });
        if found.is_some() {
            parent_of[i] = found;
            continue;
        }
        let Some(pk) = r.parent_key.clone().or_else(|| {
            r.parent_image
                .as_ref()
                .map(|_| format!("pid:{}@?", r.parent_pid.unwrap_or(-1)))
        }) else {
            continue;
        };
        let idx = *inferred_idx.entry(pk.clone()).or_insert_with(|| {
            inferred.push(Raw {
                node: ProcessNode {
                    event: None,
                    key: pk.clone(),
                    time: None,
                    pid: r.parent_pid,
                    image: r.parent_image.clone(),
                    command_line: r.parent_cmd.clone(),
                    user: None,
                    source: "inferred",
                    children: Vec::new(),
                },
                ts: NO_TIME,
                parent_key: None,
                parent_pid: None,
                parent_image: None,
                parent_cmd: None,
            });
            n + inferred.len() - 1
        });
        parent_of[i] = Some(idx);
    }
    raws.extend(inferred);
    parent_of.resize(raws.len(), None);
    (parent_of, n)
}

impl Case {
    /// Process trees of `host`. With `root` (a Sysmon ProcessGuid, a tree
    /// key, or an event id), only that process and its descendants.
    pub fn process_tree(&self, host: &str, root: Option<&str>) -> Result<Vec<ProcessNode>> {
        let hosts = self.name_ids_nocase("host", host)?;
        if hosts.is_empty() {
            return Ok(Vec::new());
        }
        let mut raws = self.creations(hosts)?;
        let (parent_of, n) = link_parents(&mut raws);
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); raws.len()];
        for (i, p) in parent_of.iter().enumerate() {
            if let Some(p) = p {
                children[*p].push(i);
            }
        }
        let roots: Vec<usize> = match root {
            Some(want) => {
                let want_l = want
                    .trim()
                    .trim_start_matches('{')
                    .trim_end_matches('}')
                    .to_ascii_lowercase();
                let ev: Option<i64> = want.trim().parse().ok();
                raws.iter()
                    .position(|r| r.node.key == want_l || (ev.is_some() && r.node.event == ev))
                    .into_iter()
                    .collect()
            }
            None => {
                // Roots in order of appearance; an inferred parent sits
                // where its first child does.
                let mut r: Vec<usize> = (0..raws.len())
                    .filter(|i| parent_of[*i].is_none())
                    .collect();
                r.sort_by_key(|&i| {
                    if i >= n {
                        children[i].iter().copied().min().unwrap_or(i)
                    } else {
                        i
                    }
                });
                r
            }
        };
        let mut nodes: Vec<Option<ProcessNode>> = raws.into_iter().map(|r| Some(r.node)).collect();
        let mut visited = vec![false; nodes.len()];
        let mut out = Vec::new();
        for r in roots {
            if let Some(n) = build(r, &children, &mut nodes, &mut visited, 0) {
                out.push(n);
            }
        }
        // Cycles have no root: surface their members rather than hide them.
        if root.is_none() {
            for i in 0..nodes.len() {
                if !visited[i]
                    && let Some(n) = build(i, &children, &mut nodes, &mut visited, 0)
                {
                    out.push(n);
                }
            }
        }
        Ok(out)
    }

    /// The process creation records of these host ids, oldest first, each
    /// process once (the same GUID twice is duplicate evidence: the first
    /// is kept).
    fn creations(&self, hosts: Vec<i64>) -> Result<Vec<Raw>> {
        let mut sql = String::from(
            "SELECT e.id, e.ts, e.event_id, e.fields, e.block_id, e.block_pos FROM events e WHERE e.event_id IN (1, 4688) AND e.host_id IN (",
        );
        for i in 0..hosts.len() {
            sql.push_str(if i == 0 { "?" } else { ",?" });
        }
        sql.push_str(") ORDER BY e.ts, e.id LIMIT ?");
        let mut args: Vec<Sql> = hosts.into_iter().map(Sql::Integer).collect();
        args.push(Sql::Integer(MAX_RECORDS));
        let mut st = self.conn.prepare_cached(&sql)?;
        let mut rows = st.query(params_from_iter(args))?;
        let mut raws: Vec<Raw> = Vec::new();
        let mut cache = crate::blocks::BlockCache::default();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let ts: i64 = r.get(1)?;
            let eid: i64 = r.get(2)?;
            let f = crate::blocks::event_fields(
                &self.conn,
                &mut cache,
                r.get_ref(3)?,
                (r.get(4)?, r.get(5)?),
            )?;
            raws.extend(Raw::from_creation(id, ts, eid, &f));
        }
        // Same GUID twice (duplicate evidence): keep the first.
        let mut seen = HashSet::new();
        raws.retain(|r| seen.insert(r.node.key.clone()));
        Ok(raws)
    }

    fn name_ids_nocase(&self, kind: &str, value: &str) -> Result<Vec<i64>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM names WHERE kind = ?1 AND value = ?2 COLLATE NOCASE")?;
        let rows = st.query_map([kind, value], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn build(
    i: usize,
    children: &[Vec<usize>],
    nodes: &mut [Option<ProcessNode>],
    visited: &mut [bool],
    depth: usize,
) -> Option<ProcessNode> {
    if visited[i] || depth > MAX_DEPTH {
        return None;
    }
    visited[i] = true;
    let mut node = nodes[i].take()?;
    for &c in &children[i] {
        if let Some(child) = build(c, children, nodes, visited, depth + 1) {
            node.children.push(child);
        }
    }
    Some(node)
}
