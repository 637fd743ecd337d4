//! The Arrow schema of a kahu Parquet shard, and the codes it uses.
//!
//! One row per [`kahu_event::Event`]. The typed members an engine filters
//! on (time, host, channel, provider, event id, log source) are flat
//! columns, so a query engine can push predicates on them down to Parquet
//! statistics; provenance is flat too. The fields are one list column of
//! nodes in pre-order (see [`FIELDS`]), which keeps what a map column
//! cannot: the order of fields, duplicate names, nesting, and the exact
//! value type of every scalar (`Int(5)` and `UInt(5)` stay different, as
//! do `"5"` and `5`).

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use std::sync::{Arc, OnceLock};

/// Key of the Parquet key-value metadata entry that marks a shard as
/// written by kahu, and its value for this layout. A shard with another
/// value (or none) is refused by the reader instead of misread.
pub const FORMAT_KEY: &str = "kahu.columnar.format";
/// The layout written by this version.
pub const FORMAT_VERSION: &str = "kahu-events/1";

/// Event time in microseconds since the epoch, UTC. Microseconds (not
/// nanoseconds) so every time chrono can hold fits: a nanosecond
/// timestamp ends in 2262, and evidence holds stranger dates than that.
pub const TIME: &str = "time";
/// The whole sub-second part of the time in nanoseconds (0 to
/// 1,999,999,999: chrono keeps a leap second as a second nanosecond
/// range). With [`TIME`]'s whole seconds it gives the exact time back;
/// EVTX times have 100 ns steps that microseconds alone would round.
pub const TIME_NANOS: &str = "time_nanos";
/// `Event::host`.
pub const HOST: &str = "host";
/// `Event::channel`.
pub const CHANNEL: &str = "channel";
/// `Event::provider`.
pub const PROVIDER: &str = "provider";
/// `Event::event_id`.
pub const EVENT_ID: &str = "event_id";
/// `Event::logsource.product`.
pub const PRODUCT: &str = "product";
/// `Event::logsource.service`.
pub const SERVICE: &str = "service";
/// `Event::logsource.category`.
pub const CATEGORY: &str = "category";
/// `Event::alt_logsources`: list of structs of product, service, category.
pub const ALT_LOGSOURCES: &str = "alt_logsources";
/// `Event::provenance.file`: the evidence file the event was read from.
pub const FILE: &str = "file";
/// `Event::provenance.member`: the member inside an archive.
pub const MEMBER: &str = "member";
/// `Event::provenance.location` kind: `record`, `line`, `offset` or `file`.
pub const LOCATION_KIND: &str = "location_kind";
/// `Event::provenance.location` position (null for `file`).
pub const LOCATION: &str = "location";
/// `Event::fields`: a list of nodes in pre-order, each a struct of
/// `depth` (0 for a top-level field), `key` (the field name; null for an
/// array element), `kind` (a [`Kind`] code) and one payload column per
/// scalar type (`str`, `int`, `uint`, `float`, `bool`; null unless the
/// kind says so). An array or object node is followed by its children at
/// `depth + 1`. A top-level field `CommandLine` is the node with depth 0
/// and key `CommandLine`.
pub const FIELDS: &str = "fields";

/// Deepest nesting written or read. kahu's JSON readers stop at 100
/// levels; a shard claiming more is hostile and refused rather than
/// recursed into.
pub const MAX_DEPTH: u32 = 256;

/// The type of a field node, stored as its code in the `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// `Value::Null`.
    Null = 0,
    /// `Value::Bool`, payload in `bool`.
    Bool = 1,
    /// `Value::Int`, payload in `int`.
    Int = 2,
    /// `Value::UInt`, payload in `uint`.
    UInt = 3,
    /// `Value::Float`, payload in `float` (NaN and infinities kept).
    Float = 4,
    /// `Value::Str`, payload in `str`.
    Str = 5,
    /// `Value::Array`: its elements follow, keyless, one level deeper.
    Array = 6,
    /// `Value::Object`: its fields follow, keyed, one level deeper.
    Object = 7,
}

impl Kind {
    /// The kind with this code, if any.
    pub fn from_code(code: u8) -> Option<Kind> {
        Some(match code {
            0 => Kind::Null,
            1 => Kind::Bool,
            2 => Kind::Int,
            3 => Kind::UInt,
            4 => Kind::Float,
            5 => Kind::Str,
            6 => Kind::Array,
            7 => Kind::Object,
            _ => return None,
        })
    }
}

/// Names of the location kinds in [`LOCATION_KIND`].
pub mod location_kind {
    /// `Location::Record`.
    pub const RECORD: &str = "record";
    /// `Location::Line`.
    pub const LINE: &str = "line";
    /// `Location::Offset`.
    pub const OFFSET: &str = "offset";
    /// `Location::File`.
    pub const FILE: &str = "file";
}

/// The struct of one log source in [`ALT_LOGSOURCES`].
pub(crate) fn logsource_fields() -> Fields {
    Fields::from(vec![
        Field::new(PRODUCT, DataType::Utf8, true),
        Field::new(SERVICE, DataType::Utf8, true),
        Field::new(CATEGORY, DataType::Utf8, true),
    ])
}

/// The struct of one field node in [`FIELDS`].
pub(crate) fn node_fields() -> Fields {
    Fields::from(vec![
        Field::new("depth", DataType::UInt32, false),
        Field::new("key", DataType::Utf8, true),
        Field::new("kind", DataType::UInt8, false),
        Field::new("str", DataType::Utf8, true),
        Field::new("int", DataType::Int64, true),
        Field::new("uint", DataType::UInt64, true),
        Field::new("float", DataType::Float64, true),
        Field::new("bool", DataType::Boolean, true),
    ])
}

/// The list item field of [`ALT_LOGSOURCES`].
pub(crate) fn logsource_item() -> Arc<Field> {
    Arc::new(Field::new(
        "item",
        DataType::Struct(logsource_fields()),
        false,
    ))
}

/// The list item field of [`FIELDS`].
pub(crate) fn node_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Struct(node_fields()), false))
}

/// The schema of every shard this version writes.
pub fn event_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let utf8 = |name: &str| Field::new(name, DataType::Utf8, true);
            Arc::new(Schema::new(vec![
                Field::new(
                    TIME,
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    true,
                ),
                Field::new(TIME_NANOS, DataType::UInt32, true),
                utf8(HOST),
                utf8(CHANNEL),
                utf8(PROVIDER),
                Field::new(EVENT_ID, DataType::UInt32, true),
                utf8(PRODUCT),
                utf8(SERVICE),
                utf8(CATEGORY),
                Field::new(ALT_LOGSOURCES, DataType::List(logsource_item()), false),
                Field::new(FILE, DataType::Utf8, false),
                utf8(MEMBER),
                Field::new(LOCATION_KIND, DataType::Utf8, false),
                Field::new(LOCATION, DataType::UInt64, true),
                Field::new(FIELDS, DataType::List(node_item()), false),
            ]))
        })
        .clone()
}
