//! Value transforms of the Security↔Sysmon field mappings: how a rule
//! written for Sysmon's spelling of a value reads the Security log's
//! spelling of the same fact.
//!
//! Transforms only shape the value a rule is compared with; the event keeps
//! the original (`Application` still holds `\device\harddiskvolume2\…`), so
//! findings and reports quote what the log said.

use kahu_event::Event;

/// How a mapped field's value is derived from the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    /// The field's value as is.
    None,
    /// `MandatoryLabel` SID (`S-1-16-12288`) → Sysmon's `High` etc.
    IntegrityLabel,
    /// `SubjectDomainName` + `\` + `SubjectUserName` as Sysmon's `User`.
    DomainUser,
    /// WFP `Direction` (`%%14593` outbound) → Sysmon's `Initiated` (`true`).
    Direction,
    /// `\REGISTRY\MACHINE\…` → `HKLM\…` and `ObjectName\ObjectValueName`.
    RegistryPath,
    /// Kernel device path → drive path, see [`drive_path`].
    DevicePath,
    /// WFP protocol number (`6`) → Sysmon's name (`tcp`).
    IpProtocol,
    /// IPv4-mapped IPv6 (`::ffff:10.0.0.5`) → the IPv4 address Sysmon writes.
    IpAddress,
}

/// The drive-letter form of a Windows kernel path, or `None` when `path` is
/// not a kernel path.
///
/// `\Device\HarddiskVolumeN\…` becomes `C:\…` whatever N is: the event does
/// not say which letter the volume has, and the system volume (the one
/// SigmaHQ's exclusions such as `C:\Windows\System32\lsass.exe` are written
/// for) is `C:` on practically every Windows host. A program on another
/// volume is therefore read as if it were on `C:`; rules keyed on a
/// `C:\Windows\…` location could in principle match it, which is the
/// lesser error next to every system process failing every exclusion.
/// `\Device\Mup\server\share` (network redirector) becomes
/// `\\server\share`, `\??\C:\…` becomes `C:\…` and `\SystemRoot\…` becomes
/// `C:\Windows\…`.
pub fn drive_path(path: &str) -> Option<String> {
    const VOLUME: &str = "\\device\\harddiskvolume";
    const MUP: &str = "\\device\\mup\\";
    const NT_PREFIX: &str = "\\??\\";
    const SYSTEMROOT: &str = "\\systemroot\\";
    let starts = |p: &str| {
        path.len() >= p.len()
            && path.is_char_boundary(p.len())
            && path[..p.len()].eq_ignore_ascii_case(p)
    };
    if starts(VOLUME) {
        let rest = &path[VOLUME.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let tail = &rest[digits..];
        if !(tail.is_empty() || tail.starts_with('\\')) {
            return None;
        }
        return Some(format!("C:{}", if tail.is_empty() { "\\" } else { tail }));
    }
    if starts(MUP) {
        return Some(format!("\\\\{}", &path[MUP.len()..]));
    }
    if starts(NT_PREFIX) {
        let rest = &path[NT_PREFIX.len()..];
        let b = rest.as_bytes();
        if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
            return Some(rest.to_owned());
        }
        return None;
    }
    if starts(SYSTEMROOT) {
        return Some(format!("C:\\Windows\\{}", &path[SYSTEMROOT.len()..]));
    }
    None
}

/// Apply a value transform into `out`; `false` when the event lacks the
/// inputs (the field then counts as absent).
pub fn transform_value(tr: Transform, e: &Event, name: &str, out: &mut String) -> bool {
    out.clear();
    if tr == Transform::None {
        return false;
    }
    let Some(v) = e.get_str(name) else {
        return false;
    };
    match tr {
        Transform::None => return false,
        Transform::IntegrityLabel => out.push_str(integrity_label(&v).unwrap_or(&v)),
        Transform::DomainUser => {
            if let Some(dom) = e.get_str("SubjectDomainName")
                && !dom.is_empty()
                && dom != "-"
            {
                out.push_str(&dom);
                out.push('\\');
            }
            out.push_str(&v);
        }
        Transform::Direction => out.push_str(match v.trim() {
            "%%14593" | "Outbound" => "true",
            "%%14592" | "Inbound" => "false",
            other => other,
        }),
        Transform::RegistryPath => {
            registry_path(&v, out);
            if let Some(name) = e.get_str("ObjectValueName")
                && !name.is_empty()
                && name != "-"
            {
                out.push('\\');
                out.push_str(&name);
            }
        }
        Transform::DevicePath => match drive_path(&v) {
            Some(p) => out.push_str(&p),
            None => out.push_str(&v),
        },
        Transform::IpProtocol => out.push_str(match v.trim() {
            // IANA protocol numbers Sysmon names; others stay numbers.
            "6" => "tcp",
            "17" => "udp",
            "1" => "icmp",
            "58" => "icmpv6",
            other => other,
        }),
        Transform::IpAddress => {
            let t = v.trim();
            let mapped = t
                .get(..7)
                .filter(|p| p.eq_ignore_ascii_case("::ffff:"))
                .map(|_| &t[7..])
                .filter(|rest| rest.parse::<std::net::Ipv4Addr>().is_ok());
            out.push_str(mapped.unwrap_or(t));
        }
    }
    true
}

fn integrity_label(sid: &str) -> Option<&'static str> {
    Some(match sid.trim().to_ascii_uppercase().as_str() {
        "S-1-16-0" => "Untrusted",
        "S-1-16-4096" => "Low",
        "S-1-16-8192" => "Medium",
        "S-1-16-8448" => "MediumPlus",
        "S-1-16-12288" => "High",
        "S-1-16-16384" => "System",
        "S-1-16-20480" => "ProtectedProcess",
        _ => return None,
    })
}

fn registry_path(obj: &str, out: &mut String) {
    let prefixed = |p: &str| {
        obj.len() >= p.len()
            && obj.is_char_boundary(p.len())
            && obj[..p.len()].eq_ignore_ascii_case(p)
    };
    let rest = if prefixed("\\REGISTRY\\MACHINE") {
        out.push_str("HKLM");
        &obj["\\REGISTRY\\MACHINE".len()..]
    } else if prefixed("\\REGISTRY\\USER") {
        out.push_str("HKU");
        &obj["\\REGISTRY\\USER".len()..]
    } else {
        obj
    };
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::{Location, Provenance, Value};

    fn event(fields: &[(&str, &str)]) -> Event {
        let mut e = Event::new(Provenance::new("t".into(), Location::Record(1)));
        for (k, v) in fields {
            e.fields.insert(k, Value::str(v));
        }
        e
    }

    fn apply(tr: Transform, e: &Event, name: &str) -> Option<String> {
        let mut out = String::new();
        transform_value(tr, e, name, &mut out).then_some(out)
    }

    #[test]
    fn device_paths_become_drive_paths() {
        assert_eq!(
            drive_path("\\device\\harddiskvolume2\\windows\\system32\\lsass.exe").as_deref(),
            Some("C:\\windows\\system32\\lsass.exe")
        );
        assert_eq!(
            drive_path("\\Device\\HarddiskVolume11\\Program Files\\x.exe").as_deref(),
            Some("C:\\Program Files\\x.exe")
        );
        assert_eq!(
            drive_path("\\Device\\Mup\\srv\\share\\a.exe").as_deref(),
            Some("\\\\srv\\share\\a.exe")
        );
        assert_eq!(drive_path("\\??\\D:\\x.exe").as_deref(), Some("D:\\x.exe"));
        assert_eq!(
            drive_path("\\SystemRoot\\System32\\drivers\\x.sys").as_deref(),
            Some("C:\\Windows\\System32\\drivers\\x.sys")
        );
        // Not kernel paths, or not volume paths: untouched.
        assert_eq!(drive_path("C:\\Windows\\x.exe"), None);
        assert_eq!(drive_path("System"), None);
        assert_eq!(drive_path("\\device\\harddiskvolumeX\\a"), None);
        assert_eq!(drive_path("\\device\\harddiskvolume3abc"), None);
        assert_eq!(drive_path("\\??\\pipe\\x"), None);
        // Multi-byte text right at the prefix length must not panic.
        assert_eq!(drive_path("\\device\\harddiskvolum€"), None);
    }

    #[test]
    fn security_spellings_read_as_sysmon_ones() {
        let e = event(&[
            (
                "Application",
                "\\device\\harddiskvolume4\\windows\\system32\\lsass.exe",
            ),
            ("Protocol", "6"),
            ("DestAddress", "::ffff:10.0.0.5"),
            ("SourceAddress", "fe80::1"),
            ("Direction", "%%14593"),
        ]);
        assert_eq!(
            apply(Transform::DevicePath, &e, "Application").as_deref(),
            Some("C:\\windows\\system32\\lsass.exe")
        );
        // The event itself keeps the original for provenance.
        assert_eq!(
            e.get_str("Application").as_deref(),
            Some("\\device\\harddiskvolume4\\windows\\system32\\lsass.exe")
        );
        assert_eq!(
            apply(Transform::IpProtocol, &e, "Protocol").as_deref(),
            Some("tcp")
        );
        assert_eq!(
            apply(Transform::IpAddress, &e, "DestAddress").as_deref(),
            Some("10.0.0.5")
        );
        assert_eq!(
            apply(Transform::IpAddress, &e, "SourceAddress").as_deref(),
            Some("fe80::1")
        );
        assert_eq!(
            apply(Transform::Direction, &e, "Direction").as_deref(),
            Some("true")
        );
        assert_eq!(apply(Transform::DevicePath, &e, "Missing"), None);
    }
}
