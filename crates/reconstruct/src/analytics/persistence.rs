//! New services (System 7045, Security 4697) and scheduled tasks
//! (Security 4698/4702, TaskScheduler 106/140/200).

use crate::util::{CappedMap, MAX_TEXT, Samples, Span, clip, text};
use kahu_event::{Event, Provenance, Timestamp};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct EntryKey {
    host: Box<str>,
    name: Box<str>,
    command: Box<str>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct EntryAcc {
    source_event: u32,
    action: &'static str,
    account: Option<String>,
    detail: Option<String>,
    count: u64,
    span: Span,
    samples: Samples,
}

/// Services and tasks seen.
#[derive(Debug, Clone)]
pub(crate) struct PersistenceTables {
    services: CappedMap<EntryKey, EntryAcc>,
    tasks: CappedMap<EntryKey, EntryAcc>,
}

/// Extract `<tag>…</tag>` from task XML (4698 `TaskContent`). Task XML is
/// small and regular; a full XML parser is not worth its cost here.
fn xml_tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let s = xml.find(&open)? + open.len();
    let e = xml[s..].find(&close)? + s;
    Some(xml[s..e].trim())
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl PersistenceTables {
    pub(crate) fn new(cap: usize) -> Self {
        PersistenceTables {
            services: CappedMap::new(cap),
            tasks: CappedMap::new(cap),
        }
    }

    pub(crate) fn observe(&mut self, e: &Event) {
        let Some(eid) = e.event_id else { return };
        let channel = e.channel.as_deref().unwrap_or("");
        let is_task_channel = channel.contains("TaskScheduler");
        let security = super::auth::is_security(e);
        match eid {
            7045 if !is_task_channel => {
                let name = text(e, &["ServiceName"]);
                let image = text(e, &["ImagePath", "ServiceFileName"]);
                let detail = text(e, &["StartType"]).map(|s| format!("start: {s}"));
                self.add_service(
                    e,
                    7045,
                    name,
                    image,
                    text(e, &["AccountName", "ServiceAccount"]),
                    detail,
                );
            }
            4697 if security => {
                let name = text(e, &["ServiceName"]);
                let image = text(e, &["ServiceFileName", "ImagePath"]);
                let acct = text(e, &["SubjectUserName"]);
                let detail = text(e, &["ServiceAccount"]).map(|s| format!("runs as: {s}"));
                self.add_service(e, 4697, name, image, acct, detail);
            }
            4698 | 4702 if security => {
                let name = text(e, &["TaskName"]);
                let xml = text(e, &["TaskContent", "TaskContentNew"]);
                let cmd = xml.as_deref().and_then(|x| {
                    let c = xml_tag(x, "Command")?;
                    Some(match xml_tag(x, "Arguments") {
                        Some(a) if !a.is_empty() => unescape(&format!("{c} {a}")),
                        _ => unescape(c),
                    })
                });
                let action = if eid == 4698 { "created" } else { "updated" };
                let acct = text(e, &["SubjectUserName"]).map(|s| s.into_owned());
                self.add_task(e, eid, action, name.map(|s| s.into_owned()), cmd, acct);
            }
            106 | 140 | 200 if is_task_channel => {
                let name = text(e, &["TaskName"]).map(|s| s.into_owned());
                let (action, cmd, acct) = match eid {
                    106 => ("registered", None, text(e, &["UserContext", "UserName"])),
                    140 => ("updated", None, text(e, &["UserName", "UserContext"])),
                    _ => ("launched", text(e, &["ActionName"]), None),
                };
                self.add_task(
                    e,
                    eid,
                    action,
                    name,
                    cmd.map(|s| s.into_owned()),
                    acct.map(|s| s.into_owned()),
                );
            }
            _ => {}
        }
    }

    fn add_service(
        &mut self,
        e: &Event,
        eid: u32,
        name: Option<std::borrow::Cow<'_, str>>,
        image: Option<std::borrow::Cow<'_, str>>,
        account: Option<std::borrow::Cow<'_, str>>,
        detail: Option<String>,
    ) {
        let key = EntryKey {
            host: e.host.as_deref().unwrap_or("").into(),
            name: clip(name.as_deref().unwrap_or(""), MAX_TEXT).into(),
            command: clip(image.as_deref().unwrap_or(""), 4096).into(),
        };
        add(
            &mut self.services,
            key,
            e,
            eid,
            "installed",
            account.map(|a| a.into_owned()),
            detail,
        );
    }

    fn add_task(
        &mut self,
        e: &Event,
        eid: u32,
        action: &'static str,
        name: Option<String>,
        command: Option<String>,
        account: Option<String>,
    ) {
        let key = EntryKey {
            host: e.host.as_deref().unwrap_or("").into(),
            name: clip(name.as_deref().unwrap_or(""), MAX_TEXT).into(),
            command: clip(command.as_deref().unwrap_or(""), 4096).into(),
        };
        add(&mut self.tasks, key, e, eid, action, account, None);
    }

    pub(crate) fn merge(&mut self, o: PersistenceTables) {
        let f = |a: &mut EntryAcc, b: EntryAcc| {
            a.count += b.count;
            a.span.merge(&b.span);
            a.samples.merge(b.samples);
            a.represent(b.source_event, b.action, b.account, b.detail);
        };
        self.services.merge(o.services, f);
        self.tasks.merge(o.tasks, f);
    }

    pub(crate) fn dropped(&self) -> [(&'static str, u64); 2] {
        [
            ("services", self.services.dropped),
            ("tasks", self.tasks.dropped),
        ]
    }

    pub(crate) fn finish(self) -> (Vec<PersistenceEntry>, Vec<PersistenceEntry>) {
        let conv = |m: CappedMap<EntryKey, EntryAcc>| {
            let mut v: Vec<PersistenceEntry> = m
                .map
                .into_iter()
                .map(|(k, a)| PersistenceEntry {
                    suspicious: suspicious_command(&k.command),
                    host: k.host.into(),
                    name: k.name.into(),
                    command: k.command.into(),
                    account: a.account,
                    action: a.action,
                    event_id: a.source_event,
                    detail: a.detail,
                    count: a.count,
                    first_seen: a.span.first_seen,
                    last_seen: a.span.last_seen,
                    samples: a.samples.provenances().cloned().collect(),
                })
                .collect();
            v.sort_by(|a, b| {
                (a.first_seen, &a.host, &a.name).cmp(&(b.first_seen, &b.host, &b.name))
            });
            v
        };
        (conv(self.services), conv(self.tasks))
    }
}

fn add(
    m: &mut CappedMap<EntryKey, EntryAcc>,
    key: EntryKey,
    e: &Event,
    eid: u32,
    action: &'static str,
    account: Option<String>,
    detail: Option<String>,
) {
    if let Some(a) = m.slot(&key, || {
        (
            key.clone(),
            EntryAcc {
                source_event: eid,
                action,
                ..Default::default()
            },
        )
    }) {
        a.count += 1;
        a.span.observe(e.timestamp);
        a.samples.add(e.timestamp, &e.provenance);
        a.represent(eid, action, account.map(|s| clip(&s, MAX_TEXT)), detail);
    }
}

impl EntryAcc {
    /// Keep one representative event id, action, account and detail. Files
    /// are read on several threads, so "the first seen" differs between
    /// runs; the smallest value does not, which keeps outputs identical.
    fn represent(
        &mut self,
        eid: u32,
        action: &'static str,
        account: Option<String>,
        detail: Option<String>,
    ) {
        if (eid, action) < (self.source_event, self.action) {
            self.source_event = eid;
            self.action = action;
        }
        self.account = smallest(self.account.take(), account);
        self.detail = smallest(self.detail.take(), detail);
    }
}

fn smallest(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Markers of malicious service and task commands: interpreters with
/// inline code, user-writable locations, admin shares, encoded payloads.
/// Each entry explains why it is on the list.
pub fn suspicious_command(cmd: &str) -> Option<&'static str> {
    let c = cmd.to_lowercase();
    const MARKERS: &[(&str, &str)] = &[
        ("powershell", "PowerShell in a service/task command"),
        ("pwsh", "PowerShell in a service/task command"),
        ("cmd.exe", "command shell as service/task command"),
        ("cmd /c", "command shell one-liner"),
        (
            "%comspec%",
            "command shell via %COMSPEC% (Metasploit/Impacket style)",
        ),
        ("-enc", "encoded command"),
        ("frombase64string", "base64 payload"),
        (
            "\\\\127.0.0.1\\",
            "loopback admin share (PsExec/Impacket style)",
        ),
        ("\\admin$\\", "admin share"),
        ("\\appdata\\", "user-writable AppData"),
        ("\\temp\\", "temporary directory"),
        ("\\users\\public\\", "public user directory"),
        ("\\programdata\\", "ProgramData (user-writable)"),
        ("\\perflogs\\", "PerfLogs (user-writable)"),
        ("mshta", "mshta script host"),
        ("rundll32", "rundll32 proxy execution"),
        ("regsvr32", "regsvr32 proxy execution"),
        ("wscript", "Windows script host"),
        ("cscript", "Windows script host"),
        ("certutil", "certutil download/decode"),
        ("bitsadmin", "BITS download"),
        ("http://", "remote URL"),
        ("https://", "remote URL"),
    ];
    MARKERS
        .iter()
        .find(|(m, _)| c.contains(m))
        .map(|(_, why)| *why)
}

/// A service installed or a scheduled task created, updated or run.
#[derive(Debug, Clone, Serialize)]
pub struct PersistenceEntry {
    /// Host it was seen on.
    pub host: String,
    /// Service or task name.
    pub name: String,
    /// Image path or task command (with arguments).
    pub command: String,
    /// Account that created it, or that it runs as.
    pub account: Option<String>,
    /// `installed`, `created`, `updated`, `registered`, `launched`.
    pub action: &'static str,
    /// Event id of the first record kept for this entry.
    pub event_id: u32,
    /// Extra detail (start type, service account).
    pub detail: Option<String>,
    /// Times seen.
    pub count: u64,
    /// First seen.
    pub first_seen: Option<Timestamp>,
    /// Last seen.
    pub last_seen: Option<Timestamp>,
    /// Why the command looks malicious, if it does.
    pub suspicious: Option<&'static str>,
    /// Earliest records.
    pub samples: Vec<Provenance>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_xml_command() {
        let x = "<Actions><Exec><Command>C:\\a.exe</Command><Arguments>-x &quot;y&quot;</Arguments></Exec></Actions>";
        assert_eq!(xml_tag(x, "Command"), Some("C:\\a.exe"));
        assert_eq!(unescape(xml_tag(x, "Arguments").unwrap()), "-x \"y\"");
        assert_eq!(xml_tag("<Command>unterminated", "Command"), None);
    }

    #[test]
    fn suspicious_markers() {
        assert!(suspicious_command("%COMSPEC% /Q /c echo x > \\\\127.0.0.1\\C$\\a").is_some());
        assert!(suspicious_command("C:\\Windows\\System32\\svchost.exe -k netsvcs").is_none());
    }
}
