//! The normalised event model shared by every kahu evidence reader.
//!
//! Every reader (EVTX, JSON, web logs, Linux logs, Zeek…) turns its records
//! into [`Event`]s. Detection engines only ever see this type, so a new
//! evidence format never changes the detection code.
//!
//! Field names follow what Sigma rules use for the log source: for Windows
//! events the `EventData` names (`Image`, `CommandLine`, `TargetUserName`…)
//! sit at the top level beside the `System` names (`EventID`, `Channel`,
//! `Computer`, `Provider_Name`); nested values are reached with dotted names
//! (`process.parent.name`).

mod evidence_name;
mod fields;
mod filter;
mod provenance;
pub mod text;
mod time;
mod value;

pub use evidence_name::{
    EvidenceName, display_evidence_path, evidence_name, forget_evidence_names_under,
    register_evidence_name,
};
pub use fields::Fields;
pub use filter::{EventFilter, Excluded, TimeBoundError, parse_time_bound};
pub use provenance::{Location, Provenance};
pub use time::{Timestamp, parse_timestamp};
pub use value::Value;

use serde::Serialize;
use std::sync::Arc;

/// Sigma log-source attributes a reader knows about the events it produces
/// (for example `product: linux`, `service: auth`, or `category: webserver`).
///
/// Windows events usually leave these empty: the Sigma engine derives the
/// log source from channel, provider and event id instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct LogSource {
    /// Sigma `product` (`windows`, `linux`, `zeek`…).
    pub product: Option<Arc<str>>,
    /// Sigma `service` (`security`, `sysmon`, `auth`, `conn`…).
    pub service: Option<Arc<str>>,
    /// Sigma `category` (`process_creation`, `webserver`, `proxy`…).
    pub category: Option<Arc<str>>,
}

impl LogSource {
    /// A log source with only a product set.
    pub fn product(product: &str) -> Self {
        LogSource {
            product: Some(Arc::from(product)),
            ..Default::default()
        }
    }

    /// Builder: set the service.
    pub fn with_service(mut self, service: &str) -> Self {
        self.service = Some(Arc::from(service));
        self
    }

    /// Builder: set the category.
    pub fn with_category(mut self, category: &str) -> Self {
        self.category = Some(Arc::from(category));
        self
    }
}

/// One normalised record of evidence.
///
/// The well-known attributes are hoisted into typed members so that
/// dispatch (by channel and event id) and reporting never have to search
/// the field list; all original fields stay in [`Event::fields`].
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// When the event happened, in UTC; `None` if the record had no usable time.
    pub timestamp: Option<Timestamp>,
    /// The computer the event was recorded on (`Computer`, `host.name`, syslog host…).
    pub host: Option<Arc<str>>,
    /// Windows channel (`Security`, `Microsoft-Windows-Sysmon/Operational`) or
    /// the log's name for other formats (`auth`, `conn`, `access`…).
    pub channel: Option<Arc<str>>,
    /// Windows provider name, or the emitting program for other formats.
    pub provider: Option<Arc<str>>,
    /// Windows event id, where the format has one.
    pub event_id: Option<u32>,
    /// Log-source attributes known from the format itself.
    pub logsource: LogSource,
    /// Further log sources the same record also belongs to. One record can
    /// legitimately answer to several Sigma log sources: an sshd line in
    /// `auth.log` is `linux/auth`, `linux/sshd` and `linux/syslog`; a Zeek
    /// `http.log` entry is `zeek/http` and `category: proxy`. A rule's
    /// log source matches the event when it matches [`Event::logsource`]
    /// or any entry here. Empty for most formats.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alt_logsources: Vec<LogSource>,
    /// Every field of the record, addressable by Sigma field name.
    pub fields: Fields,
    /// Where the record came from.
    pub provenance: Provenance,
}

impl Event {
    /// An event with no attributes yet, from the given place.
    pub fn new(provenance: Provenance) -> Self {
        Event {
            timestamp: None,
            host: None,
            channel: None,
            provider: None,
            event_id: None,
            logsource: LogSource::default(),
            alt_logsources: Vec::new(),
            fields: Fields::default(),
            provenance,
        }
    }

    /// Every log source of the event: [`Event::logsource`] first, then
    /// [`Event::alt_logsources`].
    pub fn logsources(&self) -> impl Iterator<Item = &LogSource> {
        std::iter::once(&self.logsource).chain(self.alt_logsources.iter())
    }

    /// Look a field up by Sigma name; dotted names descend into objects.
    ///
    /// The typed members are also reachable under their Windows names
    /// (`EventID`, `Channel`, `Computer`, `Provider_Name`) when the record
    /// itself did not carry them as fields.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get_path(name)
    }

    /// The field's value rendered as text, if present and scalar.
    pub fn get_str(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.get(name).and_then(Value::as_text)
    }
}
