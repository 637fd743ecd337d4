//! The zone `hunt --tz` shows times in: a fixed UTC offset or a named
//! IANA zone, whose offset (daylight saving included) is taken per event.

use chrono::{DateTime, FixedOffset, Utc};

/// A zone to show times in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputZone {
    /// The same offset for every time (`+12:00`).
    Fixed(FixedOffset),
    /// An IANA zone (`Pacific/Auckland`): the offset in force at each time.
    Named(chrono_tz::Tz),
}

impl OutputZone {
    /// `+12:00`, `-0500`, `Z`, `UTC`, or an IANA zone name
    /// (`Pacific/Auckland`, `America/New_York`), as `--tz` takes them.
    pub(crate) fn parse(s: &str) -> Result<OutputZone, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return Ok(OutputZone::Fixed(
                FixedOffset::east_opt(0).expect("zero offset"),
            ));
        }
        if t.starts_with(['+', '-']) {
            return parse_offset(s, t).map(OutputZone::Fixed);
        }
        t.parse::<chrono_tz::Tz>()
            .map(OutputZone::Named)
            .map_err(|_| {
                format!(
                    "{s:?}: give an offset like +12:00 or -05:00, or a time zone name like \
                 Pacific/Auckland"
                )
            })
    }

    /// The instant as RFC 3339 with the zone's offset at that instant, so
    /// a shifted time still says which instant it is.
    pub(crate) fn rfc3339(&self, t: DateTime<Utc>) -> String {
        match self {
            OutputZone::Fixed(o) => t.with_timezone(o).to_rfc3339(),
            OutputZone::Named(z) => t.with_timezone(z).fixed_offset().to_rfc3339(),
        }
    }
}

/// `+12:00`, `-0500` or `+12` as a fixed offset.
fn parse_offset(s: &str, t: &str) -> Result<FixedOffset, String> {
    let sign = if t.starts_with('-') { -1 } else { 1 };
    let digits: String = t[1..].chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok(), Some(0)),
        4 => (
            digits[..2].parse::<i32>().ok(),
            digits[2..].parse::<i32>().ok(),
        ),
        _ => (None, None),
    };
    match (h, m) {
        (Some(h), Some(m)) if h <= 14 && m < 60 => {
            FixedOffset::east_opt(sign * (h * 3600 + m * 60))
                .ok_or_else(|| format!("{s:?}: offset out of range"))
        }
        _ => Err(format!("{s:?}: give an offset like +12:00 or -05:00")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_named_zone_takes_the_offset_in_force_at_each_time_across_a_dst_change() {
        let nz = OutputZone::parse("Pacific/Auckland").unwrap();
        // New Zealand daylight time ended at 2024-04-07 03:00 NZDT
        // (2024-04-06 14:00 UTC): the clock went back to 02:00 NZST.
        let before = Utc.with_ymd_and_hms(2024, 4, 6, 13, 59, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2024, 4, 6, 14, 1, 0).unwrap();
        assert_eq!(nz.rfc3339(before), "2024-04-07T02:59:00+13:00");
        assert_eq!(nz.rfc3339(after), "2024-04-07T02:01:00+12:00");
        // And daylight time started again on 2024-09-29 02:00 NZST.
        let spring = Utc.with_ymd_and_hms(2024, 9, 28, 14, 0, 0).unwrap();
        assert_eq!(nz.rfc3339(spring), "2024-09-29T03:00:00+13:00");
        // A fixed offset does not move.
        let fixed = OutputZone::parse("+12:00").unwrap();
        assert_eq!(fixed.rfc3339(before), "2024-04-07T01:59:00+12:00");
        assert_eq!(fixed.rfc3339(after), "2024-04-07T02:01:00+12:00");
    }

    #[test]
    fn offsets_names_and_nonsense() {
        assert_eq!(
            OutputZone::parse("-0500"),
            Ok(OutputZone::Fixed(FixedOffset::west_opt(5 * 3600).unwrap()))
        );
        assert_eq!(
            OutputZone::parse("UTC"),
            Ok(OutputZone::Fixed(FixedOffset::east_opt(0).unwrap()))
        );
        assert_eq!(
            OutputZone::parse("America/New_York"),
            Ok(OutputZone::Named(chrono_tz::America::New_York))
        );
        for bad in ["Atlantis/Capital", "+25:00", "12:00", ""] {
            let e = OutputZone::parse(bad).unwrap_err();
            assert!(e.contains("give an offset"), "{bad}: {e}");
        }
    }
}
