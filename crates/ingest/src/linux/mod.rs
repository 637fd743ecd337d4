//! Linux evidence: syslog files (RFC 3164 and RFC 5424, including
//! `auth.log`/`secure` with sshd, sudo, su, PAM and account-management
//! messages, and Sysmon for Linux events) and raw auditd logs.
//!
//! Log sources follow SigmaHQ's Linux conventions: `product: linux` with
//! `service` `auth`, `syslog`, `sshd`, `sudo`, `cron`, `vsftpd`, `clamav`,
//! `guacamole` or `auditd`, and Sysmon-style `category`
//! (`process_creation`, `network_connection`, `file_event`…). One line often
//! answers to several of them (an sshd line in `auth.log` is `linux/auth`,
//! `linux/sshd` and, by transport, `linux/syslog`): the extra ones go to
//! [`kahu_event::Event::alt_logsources`].

mod auditd;
mod auoms;
mod auth;
mod sysmon;

pub(crate) use sysmon::data_elements;

pub use auditd::Auditd;

use crate::text::{
    Line, LineReader, base_name, head_lines, is_texty, line_warning, month_from_abbr, set_host,
    too_long_warning,
};
use crate::{Format, Input, Origin, Sink};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use kahu_event::{Event, Location, LogSource, Timestamp, Value};
use std::sync::Arc;

/// Syslog text files: `/var/log/syslog`, `messages`, `auth.log`, `secure`,
/// `cron`, `kern.log`… in the traditional BSD format (RFC 3164,
/// `Mmm dd hh:mm:ss host prog[pid]: msg`), the rsyslog high-precision
/// format (`2024-03-01T12:00:00.123456+01:00 host prog[pid]: msg`) and
/// RFC 5424 (`<165>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] msg`).
///
/// # Year-less timestamps
///
/// RFC 3164 timestamps have no year and no zone. The year is inferred from a
/// *reference time*: the file's modification time when reading a file on
/// disk (the last line was written no later than that), otherwise the
/// reference set with [`Syslog::with_reference`], otherwise the current
/// time. Each line gets the reference year, unless that would put it more
/// than two days after the reference (the slack absorbs clock skew and zone
/// differences), in which case it gets the year before. So a log running
/// from December into January with an mtime in January dates December lines
/// to the previous year. This holds for any file spanning less than a year,
/// which logrotate makes the normal case; it is computed per line, so lines
/// out of order do not disturb it. Files spanning more than a year (rare)
/// have their older lines dated one year late; archive members (no mtime
/// reaches the reader) use the configured reference.
///
/// The zone of year-less timestamps is unknown; they are taken as UTC
/// unless [`Syslog::with_utc_offset`] says otherwise. Timestamps with an
/// explicit offset (RFC 5424, rsyslog high precision) are converted exactly.
///
/// # Fields
///
/// `host` (also [`Event::host`]), `program` (also [`Event::provider`]),
/// `pid`, `msg` and `message` (the free text, which most SigmaHQ Linux rules
/// match as keywords); RFC 5424 adds `facility`, `severity`, `msgid` and
/// `structured_data`. Authentication messages add `user`, `src_ip`
/// (also `IpAddress`), `port`, `auth_method`, `outcome`
/// (`success`/`failure`), `action` and, for sudo, `USER`, `COMMAND`, `TTY`,
/// `PWD`. Sysmon for Linux lines (`<Event>…</Event>` from program `sysmon`
/// or naming `Linux-Sysmon`) become Sysmon events (see the `sysmon`
/// module); auoms records (`type=AUOMS_…`) become audit events (see the
/// `auoms` module).
///
/// Channel: `auth` for authentication logs (by file name `auth.log*`,
/// `secure*`, or by program), else `syslog`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Syslog {
    reference: Option<Timestamp>,
    utc_offset_secs: i32,
}

/// Offset east of UTC, in seconds, of zone-less syslog times for the
/// readers [`crate::all_formats`] makes (`kahu --syslog-offset`).
static SYSLOG_UTC_OFFSET: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Read zone-less syslog times (BSD `Nov 29 02:50:05`, ISO without a zone)
/// as local time at `seconds` east of UTC instead of as UTC, in every
/// reader [`crate::all_formats`] makes from now on. Most servers log in
/// local time: read as UTC, a host at +13:00 had its reverse shell 13 hours
/// before the logon that opened it. Process-wide, like
/// [`crate::json::set_parallel_lines`].
pub fn set_syslog_utc_offset(seconds: i32) {
    SYSLOG_UTC_OFFSET.store(seconds, std::sync::atomic::Ordering::Relaxed);
}

/// The offset [`set_syslog_utc_offset`] set (0: UTC).
pub fn syslog_utc_offset() -> i32 {
    SYSLOG_UTC_OFFSET.load(std::sync::atomic::Ordering::Relaxed)
}

impl Syslog {
    /// A reader that dates year-less lines against `reference` when the
    /// input has no modification time (archive members).
    pub fn with_reference(mut self, reference: Timestamp) -> Self {
        self.reference = Some(reference);
        self
    }

    /// A reader that takes zone-less timestamps as local time at this offset
    /// east of UTC, in seconds, instead of UTC.
    pub fn with_utc_offset(mut self, seconds: i32) -> Self {
        self.utc_offset_secs = seconds;
        self
    }
}

impl Format for Syslog {
    fn name(&self) -> &'static str {
        "syslog"
    }

    fn detect(&self, head: &[u8], _file_name: &str) -> bool {
        if !is_texty(head) {
            return false;
        }
        let lines: Vec<_> = head_lines(head).collect();
        let complete = if head.ends_with(b"\n") {
            lines.len()
        } else {
            lines.len().saturating_sub(1).max(1)
        };
        let (mut good, mut total) = (0, 0);
        for l in lines
            .iter()
            .take(complete)
            .filter(|l| !l.trim().is_empty() && !is_journal_marker(l.trim_end()))
            .take(20)
        {
            total += 1;
            if let Some(h) = parse_header(l, 2024) {
                // A program tag is what distinguishes syslog from any other
                // line that happens to start with a date.
                if h.program.is_some() || h.rfc5424 {
                    good += 1;
                }
            }
        }
        good > 0 && good * 2 > total
    }

    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()> {
        // Year-less lines are dated against when the log was last written:
        // the file's time, an archive member's or the gzip header's (the
        // walk puts it in `origin`), never the day kahu runs, unless there
        // is nothing else, and then it says so.
        let known = origin
            .modified
            .or_else(|| match input {
                Input::File(p) | Input::FileFrom(p, _) => std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .ok()
                    .map(DateTime::<Utc>::from),
                Input::Memory(_) => None,
            })
            .or(self.reference);
        let reference = known.unwrap_or_else(Utc::now);
        let mut year_guessed = known.is_none();
        let name = base_name(origin.member.as_deref().unwrap_or(&origin.file));
        let auth_file = name.starts_with("auth.log")
            || name.starts_with("secure")
            || name.starts_with("auth_log");
        let ctx = Ctx::new(auth_file);
        let mut lines = LineReader::new(input.open()?);
        while let Some((n, line)) = lines.next_line()? {
            let line = match line {
                Line::Text(t) => t,
                Line::TooLong(len) => {
                    sink.warning(too_long_warning(origin, n, len));
                    continue;
                }
            };
            let line = line.trim_end_matches(['\r', '\n', '\0']);
            if line.trim().is_empty() || is_journal_marker(line) {
                continue;
            }
            let mut ev = Event::new(origin.provenance(Location::Line(n)));
            let Some(h) = parse_header(line, reference.year()) else {
                sink.warning(line_warning(
                    origin,
                    n,
                    "not a syslog line; kept as raw message only",
                ));
                ev.logsource = ctx.linux_syslog.clone();
                ev.channel = Some(ctx.syslog.clone());
                set_host(&mut ev, None, origin);
                ev.fields.insert("message", Value::str(line));
                ev.fields.insert("msg", Value::str(line));
                if !sink.event(ev) {
                    return Ok(());
                }
                continue;
            };
            ev.timestamp = h.time.resolve(reference, self.utc_offset_secs);
            if ev.timestamp.is_none() {
                let why = if matches!(h.time, SyslogTime::Absent) {
                    "no timestamp (RFC 5424 `-`: the sender had none); read without a time"
                } else {
                    "unusable timestamp"
                };
                sink.warning(line_warning(origin, n, why));
            }
            set_host(&mut ev, h.host, origin);
            if let Some(p) = h.program {
                ev.provider = Some(Arc::from(p));
            }
            // auoms (Azure Monitor's audit daemon): one joined audit event.
            if auoms::is_auoms(h.msg) && auoms::apply(h.msg, &mut ev) {
                if !sink.event(ev) {
                    return Ok(());
                }
                continue;
            }
            // Sysmon for Linux: the XML event replaces the syslog fields.
            // Forwarders retag it (`Linux-Sysmon`, `sysmon-for-linux`), so
            // the XML itself also identifies it.
            if h.msg.trim_start().starts_with("<Event")
                && (h
                    .program
                    .is_some_and(|p| p.to_ascii_lowercase().contains("sysmon"))
                    || h.msg.contains("Linux-Sysmon"))
            {
                match sysmon::parse(h.msg) {
                    Some(s) => {
                        if s.truncated {
                            sink.warning(line_warning(
                                origin,
                                n,
                                "Sysmon for Linux XML is cut off (no </Event>; syslog's message size limit?): the fields after the cut are missing",
                            ));
                        }
                        s.apply(&mut ev);
                        if !sink.event(ev) {
                            return Ok(());
                        }
                        continue;
                    }
                    None => sink.warning(line_warning(
                        origin,
                        n,
                        "malformed Sysmon for Linux event XML; kept as syslog text",
                    )),
                }
            }
            let f = &mut ev.fields;
            if let Some(host) = h.host {
                f.insert("host", Value::str(host));
            }
            if let Some(p) = h.program {
                f.insert("program", Value::str(p));
            }
            if let Some(pid) = h.pid {
                f.insert("pid", crate::text::num_or_str(pid));
            }
            if let Some(pri) = h.pri {
                f.insert("facility", Value::Int(i64::from(pri / 8)));
                f.insert("severity", Value::Int(i64::from(pri % 8)));
            }
            if let Some(m) = h.msgid {
                f.insert("msgid", Value::str(m));
            }
            if let Some(sd) = h.structured_data {
                f.insert("structured_data", Value::str(sd));
            }
            let msg: Arc<str> = Arc::from(h.msg);
            f.insert("msg", Value::Str(msg.clone()));
            f.insert("message", Value::Str(msg));
            let is_auth = auth::extract(h.program.unwrap_or(""), h.msg, f);
            ctx.logsources(&mut ev, h.program, is_auth);
            // Only here: auoms and Sysmon records carry their own full time.
            if year_guessed && matches!(h.time, SyslogTime::YearLess(..)) {
                year_guessed = false;
                sink.warning(line_warning(
                    origin,
                    n,
                    "timestamps without a year are dated against the current date: \
                     the input records no time it was written (check the years)",
                ));
            }
            if !sink.event(ev) {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// One syslog message that reached kahu without its syslog line (a Log
/// Analytics `Syslog` record keeps the message, program, host and time in
/// columns): an auoms record or a Sysmon for Linux event becomes that event,
/// as in [`Syslog`]; other text becomes a syslog message (`msg`, `message`,
/// `program`, the authentication fields) with the `auth` or `syslog`
/// channel. `ev` already has provenance, host and time. Returns `false`
/// when the message looked like Sysmon XML but could not be read (it is
/// then kept as syslog text).
pub(crate) fn message_event(program: Option<&str>, msg: &str, ev: &mut Event) -> bool {
    if auoms::is_auoms(msg) && auoms::apply(msg, ev) {
        return true;
    }
    let mut readable = true;
    if msg.trim_start().starts_with("<Event")
        && (program.is_some_and(|p| p.to_ascii_lowercase().contains("sysmon"))
            || msg.contains("Linux-Sysmon"))
    {
        match sysmon::parse(msg) {
            Some(s) => {
                s.apply(ev);
                return true;
            }
            None => readable = false,
        }
    }
    let f = &mut ev.fields;
    if let Some(p) = program {
        f.insert("program", Value::str(p));
        ev.provider = Some(Arc::from(p));
    }
    let text: Arc<str> = Arc::from(msg);
    f.insert("msg", Value::Str(text.clone()));
    f.insert("message", Value::Str(text));
    let is_auth = auth::extract(program.unwrap_or(""), msg, f);
    Ctx::new(false).logsources(ev, program, is_auth);
    readable
}

/// Interned log sources and channels for one file.
struct Ctx {
    auth_file: bool,
    auth: Arc<str>,
    syslog: Arc<str>,
    linux_syslog: LogSource,
    linux_auth: LogSource,
}

impl Ctx {
    fn new(auth_file: bool) -> Self {
        Ctx {
            auth_file,
            auth: Arc::from("auth"),
            syslog: Arc::from("syslog"),
            linux_syslog: LogSource::product("linux").with_service("syslog"),
            linux_auth: LogSource::product("linux").with_service("auth"),
        }
    }

    /// `auth` for authentication files and messages, else `syslog`; the
    /// program's own SigmaHQ service (`sshd`, `sudo`, `cron`…) as an
    /// alternative, and `syslog` as the transport for auth lines.
    fn logsources(&self, ev: &mut Event, program: Option<&str>, auth_msg: bool) {
        let prog = program.map(|p| p.to_ascii_lowercase());
        let auth = self.auth_file || auth_msg || prog.as_deref().is_some_and(auth::is_auth_program);
        if auth {
            ev.logsource = self.linux_auth.clone();
            ev.channel = Some(self.auth.clone());
            ev.alt_logsources.push(self.linux_syslog.clone());
        } else {
            ev.logsource = self.linux_syslog.clone();
            ev.channel = Some(self.syslog.clone());
        }
        if let Some(svc) = prog.as_deref().and_then(program_service) {
            ev.alt_logsources
                .push(LogSource::product("linux").with_service(svc));
        }
    }
}

/// SigmaHQ `service` for a syslog program name (lower-cased).
fn program_service(p: &str) -> Option<&'static str> {
    Some(match p {
        "sshd" | "sshd-session" => "sshd",
        "sudo" => "sudo",
        "cron" | "crond" | "anacron" => "cron",
        "vsftpd" => "vsftpd",
        "clamd" | "freshclam" | "clamav" | "clamscan" => "clamav",
        "guacd" | "guacamole" => "guacamole",
        "auditd" | "audispd" => "auditd",
        _ => return None,
    })
}

/// A syslog timestamp as written.
#[derive(Debug, Clone, Copy)]
enum SyslogTime {
    /// Full timestamp with zone.
    Exact(Timestamp),
    /// RFC 3164: month, day, h, m, s (no year, no zone).
    YearLess(u32, u32, u32, u32, u32),
    /// RFC 3164 variant with a year but no zone (`Mmm dd yyyy hh:mm:ss`),
    /// or an ISO time without a zone (syslog-ng and rsyslog templates).
    NoZone(i32, u32, u32, u32, u32, u32),
    /// RFC 5424's NILVALUE (`-`): the sender had no time.
    Absent,
}

/// `journalctl`'s own lines between records (`-- Journal begins at … --`,
/// `-- Boot 3f2a… --`, `-- No entries --`): not log records.
fn is_journal_marker(line: &str) -> bool {
    line.starts_with("-- ") && line.ends_with(" --")
}

/// An ISO 8601 time with a zone, or without one (taken as written, as the
/// BSD form is): `2026-03-01T10:00:01`, `2026-03-01T10:00:01.123`. The
/// zone may be RFC 3339's (`Z`, `+13:00`) or the basic `+1300` that
/// `journalctl -o short-iso` prints.
fn iso_time(ts: &str) -> Option<SyslogTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(ts) {
        return Some(SyslogTime::Exact(t.with_timezone(&Utc)));
    }
    if let Ok(t) = DateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(SyslogTime::Exact(t.with_timezone(&Utc)));
    }
    let t = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some(SyslogTime::NoZone(
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second().min(59),
    ))
}

impl SyslogTime {
    fn resolve(self, reference: Timestamp, offset: i32) -> Option<Timestamp> {
        let local = |y: i32, mo, d, h, mi, s| -> Option<Timestamp> {
            let naive = NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_opt(h, mi, s)?;
            Some(Utc.from_utc_datetime(&naive) - Duration::seconds(i64::from(offset)))
        };
        match self {
            SyslogTime::Exact(t) => Some(t),
            SyslogTime::NoZone(y, mo, d, h, mi, s) => local(y, mo, d, h, mi, s),
            SyslogTime::Absent => None,
            SyslogTime::YearLess(mo, d, h, mi, s) => {
                let limit = reference + Duration::days(2);
                // Feb 29 exists only in leap years: walk back to one.
                let mut year = reference.year();
                for _ in 0..8 {
                    if let Some(t) = local(year, mo, d, h, mi, s)
                        && t <= limit
                    {
                        return Some(t);
                    }
                    year -= 1;
                }
                None
            }
        }
    }
}

/// The header of a syslog line, borrowing from it.
#[derive(Debug)]
struct Header<'a> {
    pri: Option<u32>,
    rfc5424: bool,
    time: SyslogTime,
    host: Option<&'a str>,
    program: Option<&'a str>,
    pid: Option<&'a str>,
    msgid: Option<&'a str>,
    structured_data: Option<&'a str>,
    msg: &'a str,
}

/// Split off the first space-delimited token.
fn token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    if s.is_empty() {
        return None;
    }
    Some(match s.find(' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    })
}

/// Parse the header of a syslog line in any supported flavour. `year` is
/// only used by detection to validate dates.
fn parse_header(line: &str, _year: i32) -> Option<Header<'_>> {
    let mut s = line.trim_start_matches('\u{feff}');
    let mut pri = None;
    if let Some(rest) = s.strip_prefix('<') {
        let end = rest.find('>')?;
        if end == 0 || end > 3 {
            return None;
        }
        let p: u32 = rest[..end].parse().ok()?;
        if p > 191 {
            return None;
        }
        pri = Some(p);
        s = &rest[end + 1..];
        if let Some(r) = s.strip_prefix("1 ") {
            return parse_5424(pri, r);
        }
    }
    // ISO timestamp (rsyslog high precision) or BSD `Mmm dd hh:mm:ss`.
    let (time, rest) = if s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let (ts, rest) = token(s)?;
        (iso_time(ts)?, rest)
    } else {
        let month = month_from_abbr(s.get(..3)?)?;
        let rest = s.get(3..)?.strip_prefix(' ')?;
        let (day, rest) = token(rest)?;
        let day: u32 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
        let (mut hms, mut rest) = token(rest)?;
        let mut year = None;
        if hms.len() == 4 && hms.bytes().all(|b| b.is_ascii_digit()) {
            year = hms.parse::<i32>().ok();
            (hms, rest) = token(rest)?;
        }
        let hms = hms.split('.').next()?;
        let mut it = hms.split(':');
        let h: u32 = it.next()?.parse().ok().filter(|h| *h < 24)?;
        let m: u32 = it.next()?.parse().ok().filter(|m| *m < 60)?;
        let sec: u32 = it.next()?.parse().ok().filter(|s| *s < 61)?;
        if it.next().is_some() {
            return None;
        }
        let sec = sec.min(59);
        let t = match year {
            Some(y) => SyslogTime::NoZone(y, month, day, h, m, sec),
            None => SyslogTime::YearLess(month, day, h, m, sec),
        };
        (t, rest)
    };
    let (host, rest) = token(rest).unwrap_or(("", ""));
    let (program, pid, msg) = split_tag(rest);
    // A "host" that is really the tag (`Mar 1 10:00:00 sshd[12]: …`, as
    // some forwarders write) is recognised by its colon.
    let (host, program, pid, msg) =
        if program.is_none() && host.ends_with(':') || host.contains('[') {
            let (p, pid, m) = split_tag(line_after(line, host));
            (None, p, pid, m)
        } else {
            (Some(host).filter(|h| !h.is_empty()), program, pid, msg)
        };
    Some(Header {
        pri,
        rfc5424: false,
        time,
        host,
        program,
        pid,
        msgid: None,
        structured_data: None,
        msg,
    })
}

/// The suffix of `line` starting at the sub-slice `part`.
fn line_after<'a>(line: &'a str, part: &'a str) -> &'a str {
    let start = part.as_ptr() as usize - line.as_ptr() as usize;
    &line[start..]
}

/// `prog[pid]: msg` or `prog: msg`; no tag → (None, None, whole).
fn split_tag(s: &str) -> (Option<&str>, Option<&str>, &str) {
    let Some((tag, msg)) = s
        .split_once(": ")
        .or_else(|| s.strip_suffix(':').map(|t| (t, "")))
    else {
        return (None, None, s);
    };
    if tag.is_empty() || tag.len() > 64 || tag.contains(' ') {
        return (None, None, s);
    }
    let (prog, pid) = match tag.split_once('[') {
        Some((p, rest)) => (p, rest.strip_suffix(']')),
        None => (tag, None),
    };
    if prog.is_empty() {
        return (None, None, s);
    }
    (Some(prog), pid, msg)
}

/// RFC 5424 after `<PRI>1 `.
fn parse_5424(pri: Option<u32>, s: &str) -> Option<Header<'_>> {
    let (ts, rest) = token(s)?;
    let time = if ts == "-" {
        SyslogTime::Absent
    } else {
        iso_time(ts)?
    };
    let (host, rest) = token(rest)?;
    let (app, rest) = token(rest)?;
    let (procid, rest) = token(rest)?;
    let (msgid, rest) = token(rest)?;
    fn nil(v: &str) -> Option<&str> {
        (v != "-").then_some(v)
    }
    let rest = rest.trim_start_matches(' ');
    let (sd, msg) = if rest.starts_with('[') {
        let end = sd_end(rest)?;
        (
            Some(&rest[..end]),
            rest[end..].strip_prefix(' ').unwrap_or(&rest[end..]),
        )
    } else if let Some(r) = rest.strip_prefix('-') {
        (None, r.strip_prefix(' ').unwrap_or(r))
    } else {
        (None, rest)
    };
    Some(Header {
        pri,
        rfc5424: true,
        time,
        host: nil(host),
        program: nil(app),
        pid: nil(procid),
        msgid: nil(msgid),
        structured_data: sd,
        msg: msg.trim_start_matches('\u{feff}'),
    })
}

/// End of the structured-data elements (`[id k="v"][id2 …]`), honouring
/// `\"` and `\]` escapes inside values.
fn sd_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] == b'[' {
        let mut in_q = false;
        i += 1;
        loop {
            let c = *b.get(i)?;
            match c {
                b'\\' if in_q => i += 1,
                b'"' => in_q = !in_q,
                b']' if !in_q => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        kahu_event::parse_timestamp(s).unwrap()
    }

    #[test]
    fn bsd_header() {
        let h = parse_header(
            "Mar  5 06:25:01 web01 sshd[4242]: Accepted password for bob from 1.2.3.4 port 2 ssh2",
            2024,
        )
        .unwrap();
        assert_eq!(h.host, Some("web01"));
        assert_eq!(h.program, Some("sshd"));
        assert_eq!(h.pid, Some("4242"));
        assert!(h.msg.starts_with("Accepted"));
        let k = parse_header("Mar  5 06:25:01 web01 kernel: [  1.0] x", 2024).unwrap();
        assert_eq!(k.program, Some("kernel"));
        assert_eq!(k.pid, None);
    }

    #[test]
    fn rfc5424_header() {
        let h = parse_header(
            r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appl\"ic]ation"] BOMAn application event"#,
            2024,
        )
        .unwrap();
        assert!(h.rfc5424);
        assert_eq!(h.host, Some("mymachine.example.com"));
        assert_eq!(h.program, Some("evntslog"));
        assert_eq!(h.pid, None);
        assert_eq!(h.msgid, Some("ID47"));
        assert_eq!(h.msg, "BOMAn application event");
        assert!(h.structured_data.unwrap().ends_with("ation\"]"));
    }

    #[test]
    fn year_inference_rolls_back_over_new_year() {
        let reference = ts("2024-01-05T00:00:00Z");
        let dec = SyslogTime::YearLess(12, 30, 10, 0, 0)
            .resolve(reference, 0)
            .unwrap();
        assert_eq!(dec, ts("2023-12-30T10:00:00Z"));
        let jan = SyslogTime::YearLess(1, 4, 10, 0, 0)
            .resolve(reference, 0)
            .unwrap();
        assert_eq!(jan, ts("2024-01-04T10:00:00Z"));
        // Two days of slack for skew.
        let jan6 = SyslogTime::YearLess(1, 6, 10, 0, 0)
            .resolve(reference, 0)
            .unwrap();
        assert_eq!(jan6, ts("2024-01-06T10:00:00Z"));
        // Feb 29 goes to the last leap year not after the reference.
        let leap = SyslogTime::YearLess(2, 29, 0, 0, 0)
            .resolve(ts("2023-06-01T00:00:00Z"), 0)
            .unwrap();
        assert_eq!(leap, ts("2020-02-29T00:00:00Z"));
        // Local time at +10:00 is ten hours ahead of UTC.
        let off = SyslogTime::YearLess(1, 4, 10, 0, 0)
            .resolve(reference, 36000)
            .unwrap();
        assert_eq!(off, ts("2024-01-04T00:00:00Z"));
    }
}
