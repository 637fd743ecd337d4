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
    /// 4688's account of the new process as Sysmon's `User`: the `Target*`
    /// account when the event names one (Windows 10+ logs the creator as
    /// `Subject*` and the new process's account as `Target*` when they
    /// differ), else the `Subject*` one; `DOMAIN\name`, with the
    /// well-known service SIDs spelled as Sysmon does (`NT AUTHORITY\SYSTEM`
    /// rather than `WORKGROUP\HOST$`).
    DomainUser,
    /// 4688's logon id of the new process: `TargetLogonId` when set, else
    /// `SubjectLogonId`.
    ProcessLogonId,
    /// WFP `Direction` (`%%14593` outbound) → Sysmon's `Initiated` (`true`).
    Direction,
    /// `\REGISTRY\MACHINE\…` → `HKLM\…` and `ObjectName\ObjectValueName`.
    RegistryPath,
    /// Kernel device path → drive path, see [`drive_path`].
    DevicePath,
    /// 4657 `NewValue` as Sysmon writes `Details`: `DWORD (0x00000001)`
    /// for `REG_DWORD` (`%%1876`, logged in decimal), `QWORD
    /// (0xHIGH-0xLOW)` for `REG_QWORD` (`%%1883`), `Binary Data` for
    /// `REG_BINARY` (`%%1875`); strings as they are.
    RegistryDetails,
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
pub(crate) fn drive_path(path: &str) -> Option<String> {
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
            let (domain, user, sid) = match e.get_str("TargetUserName") {
                Some(t) if !t.is_empty() && t != "-" => ("TargetDomainName", t, "TargetUserSid"),
                _ => ("SubjectDomainName", v, "SubjectUserSid"),
            };
            if let Some(name) = e.get_str(sid).and_then(|s| well_known_account(&s)) {
                out.push_str(name);
            } else {
                if let Some(dom) = e.get_str(domain)
                    && !dom.is_empty()
                    && dom != "-"
                {
                    out.push_str(&dom);
                    out.push('\\');
                }
                out.push_str(&user);
            }
        }
        Transform::ProcessLogonId => match e.get_str("TargetLogonId") {
            Some(t) if !t.is_empty() && t != "-" && t != "0x0" => out.push_str(&t),
            _ => out.push_str(&v),
        },
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
        Transform::RegistryDetails => {
            let number = || {
                let t = v.trim();
                match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    Some(h) => u64::from_str_radix(h, 16).ok(),
                    None => t.parse::<u64>().ok(),
                }
            };
            match e.get_str("NewValueType").as_deref().map(str::trim) {
                Some("%%1876") if let Some(n) = number() => {
                    out.push_str(&format!("DWORD (0x{:08x})", n as u32));
                }
                Some("%%1883") if let Some(n) = number() => {
                    out.push_str(&format!("QWORD (0x{:08x}-0x{:08x})", n >> 32, n as u32));
                }
                Some("%%1875") => out.push_str("Binary Data"),
                _ => out.push_str(&v),
            }
        }
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

/// Sysmon's name for the service accounts Security logs as the host's
/// machine account (`HOST$` in `WORKGROUP`/the domain) plus a SID.
fn well_known_account(sid: &str) -> Option<&'static str> {
    Some(match sid.trim() {
        "S-1-5-18" => "NT AUTHORITY\\SYSTEM",
        "S-1-5-19" => "NT AUTHORITY\\LOCAL SERVICE",
        "S-1-5-20" => "NT AUTHORITY\\NETWORK SERVICE",
        _ => return None,
    })
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

    #[test]
    fn process_user_is_the_new_process_account() {
        // Windows 10 4688: created by SYSTEM (the machine account as
        // subject) for IEUser (target).
        let e = event(&[
            ("SubjectUserSid", "S-1-5-18"),
            ("SubjectUserName", "MSEDGEWIN10$"),
            ("SubjectDomainName", "WORKGROUP"),
            ("SubjectLogonId", "0x3e7"),
            ("TargetUserSid", "S-1-5-21-1-2-3-1000"),
            ("TargetUserName", "IEUser"),
            ("TargetDomainName", "MSEDGEWIN10"),
            ("TargetLogonId", "0x2a1b3"),
        ]);
        assert_eq!(
            apply(Transform::DomainUser, &e, "SubjectUserName").as_deref(),
            Some("MSEDGEWIN10\\IEUser")
        );
        assert_eq!(
            apply(Transform::ProcessLogonId, &e, "SubjectLogonId").as_deref(),
            Some("0x2a1b3")
        );
        // Older 4688 (no target) by SYSTEM: Sysmon's spelling of SYSTEM.
        let e = event(&[
            ("SubjectUserSid", "S-1-5-18"),
            ("SubjectUserName", "PC01$"),
            ("SubjectDomainName", "EXAMPLE"),
            ("SubjectLogonId", "0x3e7"),
            ("TargetUserName", "-"),
            ("TargetLogonId", "0x0"),
        ]);
        assert_eq!(
            apply(Transform::DomainUser, &e, "SubjectUserName").as_deref(),
            Some("NT AUTHORITY\\SYSTEM")
        );
        assert_eq!(
            apply(Transform::ProcessLogonId, &e, "SubjectLogonId").as_deref(),
            Some("0x3e7")
        );
        let e = event(&[
            ("SubjectUserSid", "S-1-5-21-9"),
            ("SubjectUserName", "bob"),
            ("SubjectDomainName", "CORP"),
        ]);
        assert_eq!(
            apply(Transform::DomainUser, &e, "SubjectUserName").as_deref(),
            Some("CORP\\bob")
        );
    }

    #[test]
    fn registry_values_read_as_sysmon_details() {
        let dword = event(&[("NewValue", "1"), ("NewValueType", "%%1876")]);
        assert_eq!(
            apply(Transform::RegistryDetails, &dword, "NewValue").as_deref(),
            Some("DWORD (0x00000001)")
        );
        let qword = event(&[("NewValue", "0x100000002"), ("NewValueType", "%%1883")]);
        assert_eq!(
            apply(Transform::RegistryDetails, &qword, "NewValue").as_deref(),
            Some("QWORD (0x00000001-0x00000002)")
        );
        let sz = event(&[("NewValue", "C:\\x.exe"), ("NewValueType", "%%1873")]);
        assert_eq!(
            apply(Transform::RegistryDetails, &sz, "NewValue").as_deref(),
            Some("C:\\x.exe")
        );
        let odd = event(&[("NewValue", "n/a"), ("NewValueType", "%%1876")]);
        assert_eq!(
            apply(Transform::RegistryDetails, &odd, "NewValue").as_deref(),
            Some("n/a")
        );
    }
}
