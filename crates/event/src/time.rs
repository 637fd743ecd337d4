use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// Event time, always UTC.
pub type Timestamp = DateTime<Utc>;

/// Parse the timestamp forms found in evidence: RFC 3339 (`2020-06-10T02:50:56.537Z`),
/// space-separated (`2020-06-09 22:50:54.631`, taken as UTC as Sysmon's `UtcTime`
/// is), and epoch seconds with optional fraction (Zeek `ts`).
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y/%m/%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f %z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let secs: f64 = s.parse().ok()?;
        if secs.is_finite() && (0.0..1e11).contains(&secs) {
            let whole = secs.trunc() as i64;
            let nanos = ((secs - secs.trunc()) * 1e9) as u32;
            return Utc.timestamp_opt(whole, nanos).single();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms_as_utc() {
        let a = parse_timestamp("2020-06-10T02:50:56.537Z").unwrap();
        let b = parse_timestamp("2020-06-10 02:50:56.537").unwrap();
        assert_eq!(a, b);
        let c = parse_timestamp("2020-06-10T12:50:56.537+10:00").unwrap();
        assert_eq!(a, c);
        let z = parse_timestamp("1591757456.537").unwrap();
        assert_eq!(z.timestamp(), 1591757456);
        assert!(parse_timestamp("yesterday").is_none());
        assert!(parse_timestamp("").is_none());
        assert!(parse_timestamp("99999999999999999999").is_none());
    }
}
