//! Timestamps are microseconds since the Unix epoch, UTC, and are rendered
//! in the exact forms each log format uses.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

/// Microseconds in one second, minute, hour and day.
pub(crate) const SEC: i64 = 1_000_000;
/// One minute.
pub(crate) const MIN: i64 = 60 * SEC;
/// One hour.
pub(crate) const HOUR: i64 = 60 * MIN;
/// One day.
pub(crate) const DAY: i64 = 24 * HOUR;

fn dt(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t).unwrap_or_default()
}

/// Midnight UTC of a calendar date, in microseconds.
pub(crate) fn midnight(y: i32, m: u32, d: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(0, |n| n.and_utc().timestamp_micros())
}

/// EVTX `SystemTime`: `2021-09-06T02:13:45.123456Z`.
pub(crate) fn system_time(t: i64) -> String {
    dt(t).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Sysmon `UtcTime`: `2021-09-06 02:13:45.123`.
pub(crate) fn sysmon_time(t: i64) -> String {
    dt(t).format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// IIS `date time`: `2021-09-06 02:13:45`.
pub(crate) fn iis_time(t: i64) -> String {
    dt(t).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// IIS daily file suffix: `210906`.
pub(crate) fn iis_date(t: i64) -> String {
    dt(t).format("%y%m%d").to_string()
}

/// RFC 3164 syslog time: `Sep  6 02:13:45`.
pub(crate) fn syslog_time(t: i64) -> String {
    dt(t).format("%b %e %H:%M:%S").to_string()
}

/// Zeek `ts`: epoch seconds with microseconds.
pub(crate) fn zeek_ts(t: i64) -> String {
    format!("{}.{:06}", t.div_euclid(SEC), t.rem_euclid(SEC))
}

/// Hour of day (UTC) and weekday (0 = Monday) of `t`.
pub(crate) fn hour_weekday(t: i64) -> (u32, u32) {
    let d = dt(t);
    (d.hour(), d.weekday().num_days_from_monday())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_formats() {
        let t = midnight(2021, 9, 6) + 2 * HOUR + 13 * MIN + 45 * SEC + 123_456;
        assert_eq!(system_time(t), "2021-09-06T02:13:45.123456Z");
        assert_eq!(sysmon_time(t), "2021-09-06 02:13:45.123");
        assert_eq!(iis_time(t), "2021-09-06 02:13:45");
        assert_eq!(iis_date(t), "210906");
        assert_eq!(syslog_time(t), "Sep  6 02:13:45");
        assert_eq!(zeek_ts(t), "1630894425.123456");
    }
}
