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
        // Whole and fractional parts as integers: through f64, `.123`
        // after ten digits of seconds comes back as `.122999…`.
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty() || whole.len() > 11 || frac.contains('.') {
            return None;
        }
        let secs: i64 = whole.parse().ok()?;
        if secs >= 100_000_000_000 {
            return None;
        }
        let digits = &frac[..frac.len().min(9)];
        let nanos = if digits.is_empty() {
            0
        } else {
            digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
        };
        return Utc.timestamp_opt(secs, nanos).single();
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
        // Exact to the digit written (not through a float).
        assert_eq!(z.timestamp_subsec_millis(), 537);
        assert_eq!(
            parse_timestamp("1639510000.123")
                .unwrap()
                .timestamp_millis(),
            1_639_510_000_123
        );
        assert_eq!(
            parse_timestamp("1605004000.123456789123")
                .unwrap()
                .timestamp_subsec_nanos(),
            123_456_789
        );
        assert!(parse_timestamp("1.2.3").is_none());
        assert!(parse_timestamp(".5").is_none());
        assert!(parse_timestamp("yesterday").is_none());
        assert!(parse_timestamp("").is_none());
        assert!(parse_timestamp("99999999999999999999").is_none());
    }
}
