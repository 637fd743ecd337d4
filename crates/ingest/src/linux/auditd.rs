//! Raw Linux audit logs (`/var/log/audit/audit.log`):
//! `type=SYSCALL msg=audit(1605004000.123:456): key=value …`.

use crate::text::{
    Line, LineReader, head_lines, is_texty, line_warning, num_or_str, set_host, too_long_warning,
};
use crate::{Format, Input, Origin, Sink};
use kahu_event::{Event, Fields, Location, LogSource, Timestamp, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

/// Events still collecting records before the oldest is emitted. The kernel
/// writes the records of one event back to back, but records of events on
/// other CPUs can interleave; a small window joins them without letting a
/// hostile file grow memory.
const MAX_PENDING: usize = 64;
/// Records joined into one event at most (a `PATH` per file touched);
/// further records of the same serial are dropped with a warning.
const MAX_RECORDS: usize = 256;
/// Distinct field names per joined event; a hostile record with thousands
/// of `key=value` pairs would otherwise make joining quadratic.
const MAX_FIELDS: usize = 1024;
/// `EXECVE` arguments kept per event, and their total size.
const MAX_ARGS: usize = 65_536;
const MAX_ARG_BYTES: usize = 4 * 1024 * 1024;
/// Processes remembered for `ParentImage`/`ParentCommandLine`.
const MAX_PROCESSES: usize = 16_384;

/// Raw auditd logs, as written by `auditd` in the `RAW` or `ENRICHED`
/// format (the latter appends interpreted upper-case fields such as
/// `SYSCALL=execve UID="root"` after a `0x1d` separator).
///
/// # Joining
///
/// The records of one audit event share a serial number (`:456` in
/// `msg=audit(…:456)`) and are joined into one [`Event`], emitted when the
/// end-of-event (`EOE`) record arrives, when more than 64 events are pending
/// (oldest first), or at the end of the file. Provenance is the line of the
/// event's first record.
///
/// # Fields
///
/// Every record's fields keep their auditd names (`type`, `syscall`,
/// `success`, `exe`, `comm`, `key`, `a0`…, `uid`, `auid`, `pid`, `ppid`,
/// `name`, `cwd`, `proctitle`…), as SigmaHQ `service: auditd` rules use
/// them. When records of one event carry the same name with different
/// values (`type` is `SYSCALL`, `EXECVE`, `PATH`…; the raw `a0` of the
/// system call and the first `EXECVE` argument; the `name` of each `PATH`),
/// the field becomes a list of the distinct values in record order, so a
/// rule such as `type: EXECVE` + `a0: uname` matches when any element does
/// (the Sigma engine must treat lists that way). Hex-encoded strings
/// (`proctitle`, `EXECVE` arguments, `name`, `cwd`, `exe`, `comm`, `cmd`,
/// `acct`, `data`…) are decoded; `proctitle`'s NUL separators become
/// spaces; long `EXECVE` arguments split as `aN[i]` are reassembled. The
/// `SYSCALL` name is taken from the enriched record or, for x86-64, mapped
/// from the number. `USER_*` records' `msg='…'` payload is parsed too.
///
/// Events with an `EXECVE` record also get the Sysmon-style names used by
/// SigmaHQ's Linux `process_creation` rules: `Image` (`exe`), `CommandLine`
/// (the arguments joined by spaces), `User` (enriched `UID`, or `root` for
/// uid 0; unset for another bare number, which names no account),
/// `LogonId` (`auid`), `ProcessId`,
/// `ParentProcessId`, `CurrentDirectory`, and `ParentImage`/
/// `ParentCommandLine` when the parent's own execution was seen earlier in
/// the same file. Their log sources are `product: linux, service: auditd`
/// plus `product: linux, category: process_creation`.
///
/// Channel `auditd`; host from `node=` when present.
#[derive(Debug, Default, Clone, Copy)]
pub struct Auditd;

impl Format for Auditd {
    fn name(&self) -> &'static str {
        "auditd"
    }

    fn detect(&self, head: &[u8], _file_name: &str) -> bool {
        if !is_texty(head) {
            return false;
        }
        head_lines(head)
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| parse_record(&l).is_some())
    }

    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()> {
        let mut lines = LineReader::new(input.open()?);
        let mut st = State::default();
        while let Some((n, line)) = lines.next_line()? {
            let line = match line {
                Line::Text(t) => t,
                Line::TooLong(len) => {
                    sink.warning(too_long_warning(origin, n, len));
                    continue;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            let Some(rec) = parse_record(&line) else {
                sink.warning(line_warning(
                    origin,
                    n,
                    "not an auditd record (expected `type=… msg=audit(…)`); skipped",
                ));
                continue;
            };
            if rec.rtype == "EOE" {
                if let Some(i) = st
                    .pending
                    .iter()
                    .position(|p| p.serial == rec.serial && p.time_key == rec.time)
                {
                    let p = st.pending.remove(i).expect("index from position");
                    if !st.emit(p, origin, sink) {
                        return Ok(());
                    }
                }
                continue;
            }
            let idx = match st
                .pending
                .iter()
                .position(|p| p.serial == rec.serial && p.time_key == rec.time)
            {
                Some(i) => i,
                None => {
                    if st.pending.len() >= MAX_PENDING {
                        let oldest = st.pending.pop_front().expect("pending is full");
                        if !st.emit(oldest, origin, sink) {
                            return Ok(());
                        }
                    }
                    st.pending.push_back(Pending::new(&rec, n));
                    st.pending.len() - 1
                }
            };
            let p = &mut st.pending[idx];
            if p.records >= MAX_RECORDS {
                if !p.overflow_warned {
                    p.overflow_warned = true;
                    sink.warning(line_warning(
                        origin,
                        n,
                        format!("audit event {} has more than {MAX_RECORDS} records; the rest are ignored", rec.serial),
                    ));
                }
                continue;
            }
            p.add(&rec);
        }
        while let Some(p) = st.pending.pop_front() {
            if !st.emit(p, origin, sink) {
                return Ok(());
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct State {
    pending: VecDeque<Pending>,
    /// pid → (Image, CommandLine) of the last execution seen.
    processes: HashMap<i64, (Arc<str>, Arc<str>)>,
}

impl State {
    fn emit(&mut self, p: Pending, origin: &Origin, sink: &mut dyn Sink) -> bool {
        let missing = p.missing_arguments();
        if let Some((argc, read)) = missing {
            sink.warning(line_warning(
                origin,
                p.first_line,
                format!(
                    "audit event {}: EXECVE says argc={argc} but {read} argument(s) were read (the record is cut off); its command line is incomplete",
                    p.serial
                ),
            ));
        }
        let mut ev = p.finish(origin, &mut self.processes);
        if missing.is_some() {
            // Rules see `bash` where the command was `bash -c "curl … |
            // bash"`: say so on the event too.
            ev.fields.insert("truncated", Value::Bool(true));
        }
        sink.event(ev)
    }
}

/// One parsed record line.
struct Record<'a> {
    node: Option<&'a str>,
    rtype: &'a str,
    time: &'a str,
    serial: u64,
    body: &'a str,
}

/// `[node=N ]type=T msg=audit(SECS.MS:SERIAL): body`
fn parse_record(line: &str) -> Option<Record<'_>> {
    let mut s = line.trim_start();
    let mut node = None;
    if let Some(r) = s.strip_prefix("node=") {
        let (n, rest) = r.split_once(' ')?;
        node = Some(n);
        s = rest.trim_start();
    }
    let r = s.strip_prefix("type=")?;
    let (rtype, rest) = r.split_once(' ')?;
    if rtype.is_empty() || rtype.len() > 40 {
        return None;
    }
    let rest = rest.trim_start().strip_prefix("msg=audit(")?;
    let close = rest.find(')')?;
    let (time, serial) = rest[..close].split_once(':')?;
    if time.is_empty() || !time.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let serial = serial.parse().ok()?;
    let body = rest[close + 1..]
        .strip_prefix(':')
        .unwrap_or(&rest[close + 1..]);
    Some(Record {
        node,
        rtype,
        time,
        serial,
        body: body.trim_start(),
    })
}

/// An event being joined.
struct Pending {
    serial: u64,
    /// The `SECS.MS` text, part of the identity: serials restart at reboot.
    time_key: String,
    time: Option<Timestamp>,
    first_line: u64,
    node: Option<String>,
    records: usize,
    overflow_warned: bool,
    fields: Fields,
    types: Vec<Value>,
    /// EXECVE arguments by index; chunked ones appended in order.
    args: BTreeMap<usize, String>,
    args_bytes: usize,
    /// Arguments were dropped at kahu's own limits (not missing).
    args_capped: bool,
    has_execve: bool,
}

impl Pending {
    fn new(rec: &Record<'_>, line: u64) -> Self {
        Pending {
            serial: rec.serial,
            time_key: rec.time.to_owned(),
            time: kahu_event::parse_timestamp(rec.time),
            first_line: line,
            node: rec.node.map(str::to_owned),
            records: 0,
            overflow_warned: false,
            fields: Fields::with_capacity(32),
            types: Vec::new(),
            args: BTreeMap::new(),
            args_bytes: 0,
            args_capped: false,
            has_execve: false,
        }
    }

    fn add(&mut self, rec: &Record<'_>) {
        self.records += 1;
        let t = Value::str(rec.rtype);
        if !self.types.contains(&t) {
            self.types.push(t);
        }
        let execve = rec.rtype == "EXECVE";
        self.has_execve |= execve;
        for (k, v) in kv_pairs(rec.body) {
            if k == "msg" {
                if let RawValue::Single(inner) = v {
                    for (ik, iv) in kv_pairs(inner) {
                        let val = decode(ik, iv);
                        self.merge(ik, val);
                    }
                    self.merge("msg", Value::str(inner));
                }
                continue;
            }
            if execve && let Some(i) = arg_index(k) {
                let text = decode_text(v, false);
                if self.args_bytes + text.len() > MAX_ARG_BYTES
                    || (self.args.len() >= MAX_ARGS && !self.args.contains_key(&i))
                {
                    self.args_capped = true;
                    continue;
                }
                self.args_bytes += text.len();
                self.args.entry(i).or_default().push_str(&text);
                continue;
            }
            let val = decode(k, v);
            self.merge(k, val);
        }
    }

    /// `(argc, arguments read)` when an EXECVE record names more arguments
    /// than it holds: the line was cut (a log copied while written).
    fn missing_arguments(&self) -> Option<(i64, usize)> {
        if !self.has_execve || self.args_capped {
            return None;
        }
        let argc = self.fields.get_exact("argc")?.as_i64()?;
        let read = self.args.len();
        (argc > read as i64).then_some((argc, read))
    }

    /// Add a value, turning the field into a list on a differing repeat.
    fn merge(&mut self, k: &str, v: Value) {
        let Some(existing) = self.fields.remove(k) else {
            if self.fields.len() < MAX_FIELDS {
                self.fields.insert(k, v);
            }
            return;
        };
        let merged = match existing {
            Value::Array(mut a) => {
                if !a.contains(&v) && a.len() < MAX_RECORDS {
                    a.push(v);
                }
                Value::Array(a)
            }
            e if e == v => e,
            e => Value::Array(vec![e, v]),
        };
        self.fields.insert(k, merged);
    }

    fn finish(
        mut self,
        origin: &Origin,
        processes: &mut HashMap<i64, (Arc<str>, Arc<str>)>,
    ) -> Event {
        let mut ev = Event::new(origin.provenance(Location::Line(self.first_line)));
        ev.timestamp = self.time;
        ev.channel = Some(Arc::from("auditd"));
        ev.provider = Some(Arc::from("auditd"));
        set_host(&mut ev, self.node.as_deref(), origin);
        ev.logsource = LogSource::product("linux").with_service("auditd");
        let types = std::mem::take(&mut self.types);
        let mut f = Fields::with_capacity(self.fields.len() + 12);
        f.insert(
            "type",
            if types.len() == 1 {
                types.into_iter().next().unwrap_or_default()
            } else {
                Value::Array(types)
            },
        );
        f.insert("serial", Value::UInt(self.serial));
        // Exact name: `get` would fall back to the raw `syscall` number.
        if !self.fields.iter().any(|(k, _)| k == "SYSCALL") {
            let arch = self
                .fields
                .get("arch")
                .and_then(Value::as_text)
                .map(|c| c.into_owned());
            let nr = self.fields.get("syscall").and_then(Value::as_i64);
            if let (Some("c000003e"), Some(nr)) = (arch.as_deref(), nr)
                && let Some(name) = x86_64_syscall(nr)
            {
                f.insert("SYSCALL", Value::str(name));
            }
        }
        for (k, v) in self.fields.iter() {
            if k != "type" {
                f.insert(k, v.clone());
            }
        }
        if self.has_execve {
            // The arguments also appear under their auditd names (`a0`…),
            // beside the system call's raw register values.
            // Only the first arguments get their own field (rules name a0-a9);
            // all of them are in `CommandLine`.
            for (i, a) in self.args.iter().take(128) {
                let name = format!("a{i}");
                match f.remove(&name) {
                    None => f.insert(&name, Value::str(a)),
                    Some(Value::Array(mut v)) => {
                        v.push(Value::str(a));
                        f.insert(&name, Value::Array(v));
                    }
                    Some(old) => f.insert(&name, Value::Array(vec![old, Value::str(a)])),
                }
            }
            let cmd: Arc<str> = Arc::from(
                self.args
                    .values()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            let image: Option<Arc<str>> = first_text(&f, "exe").map(Arc::from);
            if let Some(img) = &image {
                f.insert("Image", Value::Str(img.clone()));
            }
            f.insert("CommandLine", Value::Str(cmd.clone()));
            // The account name: ENRICHED logs carry it as `UID` (exact
            // case: `Fields::get` would fall back to the numeric `uid`).
            // Without it only uid 0 has a name everywhere; another number
            // is no account name (it reached accounts-to-reset as "0" and
            // "1002"), so `User` is left unset and `uid` keeps the number.
            let user = match f.get_exact("UID").and_then(Value::as_text) {
                Some(u) => Some(u.into_owned()),
                None => first_text(&f, "uid")
                    .filter(|u| u == "0")
                    .map(|_| "root".to_owned()),
            };
            if let Some(u) = user {
                f.insert("User", Value::from(u));
            }
            if let Some(a) = f.get("auid").and_then(Value::as_i64) {
                f.insert("LogonId", Value::Int(a));
            }
            if let Some(c) = first_text(&f, "cwd") {
                f.insert("CurrentDirectory", Value::from(c));
            }
            let pid = f.get("pid").and_then(Value::as_i64);
            let ppid = f.get("ppid").and_then(Value::as_i64);
            if let Some(p) = pid {
                f.insert("ProcessId", Value::Int(p));
            }
            if let Some(pp) = ppid {
                f.insert("ParentProcessId", Value::Int(pp));
                if let Some((pi, pc)) = processes.get(&pp) {
                    f.insert("ParentImage", Value::Str(pi.clone()));
                    f.insert("ParentCommandLine", Value::Str(pc.clone()));
                }
            }
            if let (Some(p), Some(img)) = (pid, image) {
                if processes.len() >= MAX_PROCESSES {
                    processes.clear();
                }
                processes.insert(p, (img, cmd));
            }
            ev.alt_logsources
                .push(LogSource::product("linux").with_category("process_creation"));
        }
        ev.fields = f;
        ev
    }
}

fn first_text(f: &Fields, k: &str) -> Option<String> {
    match f.get(k)? {
        Value::Array(a) => a.first().and_then(Value::as_text).map(|c| c.into_owned()),
        v => v.as_text().map(|c| c.into_owned()),
    }
}

/// `a3` → 3, `a3[0]` → 3; `argc`, `a3_len` → None.
fn arg_index(k: &str) -> Option<usize> {
    let rest = k.strip_prefix('a')?;
    let digits = rest.split('[').next()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if rest.len() != digits.len() && !(rest[digits.len()..].starts_with('[') && rest.ends_with(']'))
    {
        return None;
    }
    digits.parse().ok().filter(|i| *i < 100_000)
}

/// A value as written in the record.
#[derive(Clone, Copy)]
pub(super) enum RawValue<'a> {
    /// `"…"`: a plain string.
    Quoted(&'a str),
    /// `'…'`: a nested list of pairs (`USER_*` records' `msg`).
    Single(&'a str),
    /// Unquoted: a number, an enum, or a hex-encoded string.
    Bare(&'a str),
}

/// Iterate `key=value` pairs separated by spaces (or the enriched format's
/// 0x1d separator).
pub(super) fn kv_pairs(mut s: &str) -> impl Iterator<Item = (&str, RawValue<'_>)> {
    std::iter::from_fn(move || {
        loop {
            s = s.trim_start_matches([' ', '\u{1d}', '\t']);
            if s.is_empty() {
                return None;
            }
            let eq = s.find(['=', ' ', '\u{1d}']).unwrap_or(s.len());
            if s.as_bytes().get(eq) != Some(&b'=') {
                // A word without `=` (kernel oddities): skip it.
                s = &s[eq..];
                continue;
            }
            let key = &s[..eq];
            let rest = &s[eq + 1..];
            let (val, next) = match rest.as_bytes().first() {
                Some(b'"') => match rest[1..].find('"') {
                    Some(e) => (RawValue::Quoted(&rest[1..1 + e]), &rest[e + 2..]),
                    None => (RawValue::Quoted(&rest[1..]), ""),
                },
                Some(b'\'') => match rest[1..].find('\'') {
                    Some(e) => (RawValue::Single(&rest[1..1 + e]), &rest[e + 2..]),
                    None => (RawValue::Single(&rest[1..]), ""),
                },
                _ => {
                    let e = rest.find([' ', '\u{1d}']).unwrap_or(rest.len());
                    (RawValue::Bare(&rest[..e]), &rest[e..])
                }
            };
            s = next;
            if key.is_empty() {
                continue;
            }
            return Some((key, val));
        }
    })
}

/// Fields auditd writes hex-encoded when they contain spaces, quotes or
/// control characters (its "untrusted strings").
fn is_encoded_field(k: &str) -> bool {
    matches!(
        k,
        "proctitle"
            | "name"
            | "cwd"
            | "exe"
            | "comm"
            | "ocomm"
            | "path"
            | "dir"
            | "cmd"
            | "acct"
            | "data"
            | "key"
            | "root_dir"
            | "cgroup"
            | "grp"
            | "new_group"
    )
}

pub(super) fn decode(k: &str, v: RawValue<'_>) -> Value {
    match v {
        RawValue::Quoted(s) | RawValue::Single(s) => Value::str(s),
        RawValue::Bare(_) if is_encoded_field(k) => {
            Value::from(decode_text(v, k == "proctitle").into_owned())
        }
        RawValue::Bare(s) => num_or_str(s),
    }
}

/// Text of a value, decoding hex; NULs become spaces when `nul_space`
/// (`proctitle`, whose arguments are NUL-separated), else are dropped.
fn decode_text(v: RawValue<'_>, nul_space: bool) -> std::borrow::Cow<'_, str> {
    let s = match v {
        RawValue::Quoted(s) | RawValue::Single(s) => return s.into(),
        RawValue::Bare(s) => s,
    };
    if s.len() < 2 || s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) || s == "(null)"
    {
        return s.into();
    }
    let mut bytes: Vec<u8> = s
        .as_bytes()
        .chunks_exact(2)
        .filter_map(|c| {
            std::str::from_utf8(c)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    if nul_space {
        for b in &mut bytes {
            if *b == 0 {
                *b = b' ';
            }
        }
    } else {
        bytes.retain(|b| *b != 0);
    }
    String::from_utf8_lossy(&bytes).into_owned().into()
}

/// x86-64 system call names for the numbers that matter to detection
/// (SigmaHQ's `SYSCALL` values and common audit rule targets).
fn x86_64_syscall(nr: i64) -> Option<&'static str> {
    Some(match nr {
        0 => "read",
        1 => "write",
        2 => "open",
        3 => "close",
        9 => "mmap",
        10 => "mprotect",
        41 => "socket",
        42 => "connect",
        43 => "accept",
        44 => "sendto",
        49 => "bind",
        50 => "listen",
        56 => "clone",
        57 => "fork",
        58 => "vfork",
        59 => "execve",
        62 => "kill",
        63 => "uname",
        76 => "truncate",
        77 => "ftruncate",
        82 => "rename",
        83 => "mkdir",
        84 => "rmdir",
        85 => "creat",
        86 => "link",
        87 => "unlink",
        88 => "symlink",
        90 => "chmod",
        91 => "fchmod",
        92 => "chown",
        93 => "fchown",
        94 => "lchown",
        99 => "sysinfo",
        101 => "ptrace",
        103 => "syslog",
        105 => "setuid",
        106 => "setgid",
        113 => "setreuid",
        114 => "setregid",
        117 => "setresuid",
        119 => "setresgid",
        133 => "mknod",
        135 => "personality",
        157 => "prctl",
        161 => "chroot",
        165 => "mount",
        166 => "umount2",
        169 => "reboot",
        175 => "init_module",
        176 => "delete_module",
        188 => "setxattr",
        189 => "lsetxattr",
        190 => "fsetxattr",
        227 => "clock_settime",
        246 => "kexec_load",
        257 => "openat",
        258 => "mkdirat",
        259 => "mknodat",
        260 => "fchownat",
        263 => "unlinkat",
        264 => "renameat",
        265 => "linkat",
        266 => "symlinkat",
        268 => "fchmodat",
        272 => "unshare",
        288 => "accept4",
        304 => "open_by_handle_at",
        308 => "setns",
        310 => "process_vm_readv",
        311 => "process_vm_writev",
        313 => "finit_module",
        316 => "renameat2",
        319 => "memfd_create",
        320 => "kexec_file_load",
        321 => "bpf",
        322 => "execveat",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_header() {
        let r =
            parse_record("node=srv1 type=EXECVE msg=audit(1604996384.965:93777): argc=2 a0=\"dd\"")
                .unwrap();
        assert_eq!(r.node, Some("srv1"));
        assert_eq!(r.rtype, "EXECVE");
        assert_eq!(r.serial, 93777);
        assert_eq!(r.body, "argc=2 a0=\"dd\"");
        assert!(parse_record("type=X msg=audit(abc:1): x").is_none());
    }

    #[test]
    fn hex_decoding() {
        // "dd\0if=/dev/zero\0bs=1\0count=1" from the Mordor dd sample.
        let v = decode_text(
            RawValue::Bare("64640069663D2F6465762F7A65726F0062733D3100636F756E743D31"),
            true,
        );
        assert_eq!(v, "dd if=/dev/zero bs=1 count=1");
        assert_eq!(decode_text(RawValue::Bare("(null)"), false), "(null)");
        assert_eq!(arg_index("a12"), Some(12));
        assert_eq!(arg_index("a1[3]"), Some(1));
        assert_eq!(arg_index("a1_len"), None);
        assert_eq!(arg_index("arch"), None);
    }

    #[test]
    fn kv_with_nested_msg() {
        let pairs: Vec<_> =
            kv_pairs("pid=1 uid=0 msg='op=PAM:session_open acct=\"root\" res=success' x")
                .map(|(k, v)| (k.to_owned(), matches!(v, RawValue::Single(_))))
                .collect();
        assert_eq!(
            pairs,
            vec![
                ("pid".into(), false),
                ("uid".into(), false),
                ("msg".into(), true)
            ]
        );
    }
}
