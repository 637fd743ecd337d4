//! Event selection flags shared by `hunt` and `assess`.

use anyhow::{Result, anyhow};
use kahu_event::{EventFilter, parse_time_bound};

/// Which events to examine.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct FilterArgs {
    /// Only events at or after this time (UTC): `2021-03-01`,
    /// `2021-03-01T10:00:00Z`, `2021-03-01 10:00:00`. Events without a time
    /// are left out while a window is set (and counted).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only events at or before this time (UTC); a date alone means the
    /// end of that day.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Only these hosts (repeatable or comma-separated; `ws01` also matches
    /// `WS01.corp.example`).
    #[arg(long = "host", value_name = "HOST", value_delimiter = ',')]
    pub hosts: Vec<String>,
    /// Leave these hosts out.
    #[arg(long = "exclude-host", value_name = "HOST", value_delimiter = ',')]
    pub exclude_hosts: Vec<String>,
    /// Only these channels / log names (`Security`,
    /// `Microsoft-Windows-Sysmon/Operational`, `auth`, `conn`).
    #[arg(long = "channel", value_name = "CHANNEL", value_delimiter = ',')]
    pub channels: Vec<String>,
    /// Leave these channels out.
    #[arg(
        long = "exclude-channel",
        value_name = "CHANNEL",
        value_delimiter = ','
    )]
    pub exclude_channels: Vec<String>,
    /// Only these event ids.
    #[arg(long = "event-id", value_name = "ID", value_delimiter = ',')]
    pub event_ids: Vec<u32>,
    /// Leave these event ids out.
    #[arg(long = "exclude-event-id", value_name = "ID", value_delimiter = ',')]
    pub exclude_event_ids: Vec<u32>,
}

impl FilterArgs {
    /// The filter, or an error naming the flag at fault.
    pub(crate) fn filter(&self) -> Result<EventFilter> {
        let from = self
            .from
            .as_deref()
            .map(|s| parse_time_bound(s, false).map_err(|e| anyhow!("--from: {e}")))
            .transpose()?;
        let to = self
            .to
            .as_deref()
            .map(|s| parse_time_bound(s, true).map_err(|e| anyhow!("--to: {e}")))
            .transpose()?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            anyhow::bail!("--from {f} is after --to {t}: the window is empty");
        }
        let clean = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        Ok(EventFilter {
            from,
            to,
            hosts: clean(&self.hosts),
            exclude_hosts: clean(&self.exclude_hosts),
            channels: clean(&self.channels),
            exclude_channels: clean(&self.exclude_channels),
            event_ids: self.event_ids.clone(),
            exclude_event_ids: self.exclude_event_ids.clone(),
        })
    }
}
