//! Events into Arrow record batches of the [`crate::schema`] layout.

use crate::schema::{self, Kind, MAX_DEPTH, location_kind};
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
    UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray, UInt8Array, UInt32Array};
use arrow_buffer::{OffsetBuffer, ScalarBuffer};
use arrow_schema::ArrowError;
use kahu_event::{Event, Fields, Location, LogSource, Value};
use std::sync::Arc;

/// Largest event accepted, by the bytes of its text. A batch's strings
/// share one 32-bit offset space (2 GiB); an event this large cannot come
/// from kahu's readers (their largest record is a 512 MiB archive member
/// read as one line), so refusing it costs nothing real.
pub const MAX_EVENT_BYTES: usize = 1 << 30;

/// Why one event was not converted. The conversion goes on without it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// Fields nested deeper than [`MAX_DEPTH`].
    #[error("fields nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// More text than [`MAX_EVENT_BYTES`].
    #[error("event larger than {MAX_EVENT_BYTES} bytes")]
    TooLarge,
}

/// Accumulates events as columns until [`BatchBuilder::finish`].
pub(crate) struct BatchBuilder {
    time: TimestampMicrosecondBuilder,
    time_nanos: UInt32Builder,
    host: StringBuilder,
    channel: StringBuilder,
    provider: StringBuilder,
    event_id: UInt32Builder,
    product: StringBuilder,
    service: StringBuilder,
    category: StringBuilder,
    alt_offsets: Vec<i32>,
    alt_count: usize,
    alt_product: StringBuilder,
    alt_service: StringBuilder,
    alt_category: StringBuilder,
    file: StringBuilder,
    member: StringBuilder,
    location_kind: StringBuilder,
    location: UInt64Builder,
    nodes: Nodes,
    rows: usize,
    bytes: usize,
}

/// The flattened field nodes of the rows so far.
#[derive(Default)]
struct Nodes {
    offsets: Vec<i32>,
    depth: Vec<u32>,
    key: StringBuilder,
    kind: Vec<u8>,
    str: StringBuilder,
    int: Int64Builder,
    uint: UInt64Builder,
    float: Float64Builder,
    bool: BooleanBuilder,
}

/// Fixed cost of a row and of a field node in [`BatchBuilder::bytes`]:
/// close to what the builders hold, which is what the estimate bounds.
const ROW_BYTES: usize = 64;
const NODE_BYTES: usize = 40;

impl BatchBuilder {
    pub(crate) fn new() -> Self {
        BatchBuilder {
            time: TimestampMicrosecondBuilder::new(),
            time_nanos: UInt32Builder::new(),
            host: StringBuilder::new(),
            channel: StringBuilder::new(),
            provider: StringBuilder::new(),
            event_id: UInt32Builder::new(),
            product: StringBuilder::new(),
            service: StringBuilder::new(),
            category: StringBuilder::new(),
            alt_offsets: vec![0],
            alt_count: 0,
            alt_product: StringBuilder::new(),
            alt_service: StringBuilder::new(),
            alt_category: StringBuilder::new(),
            file: StringBuilder::new(),
            member: StringBuilder::new(),
            location_kind: StringBuilder::new(),
            location: UInt64Builder::new(),
            nodes: Nodes {
                offsets: vec![0],
                ..Nodes::default()
            },
            rows: 0,
            bytes: 0,
        }
    }

    /// Rows added since the last [`BatchBuilder::finish`].
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Estimated bytes held (text plus a fixed cost per row and node).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Add one event, or say why it cannot be stored (nothing is added then).
    pub(crate) fn push(&mut self, e: &Event) -> Result<(), SkipReason> {
        let size = event_bytes(e)?;
        let time = e.timestamp.as_ref().map(time_parts);
        match time {
            Some(Some((micros, nanos))) => {
                self.time.append_value(micros);
                self.time_nanos.append_value(nanos);
            }
            // chrono's range always fits; `None` would be a chrono change.
            Some(None) | None => {
                self.time.append_null();
                self.time_nanos.append_null();
            }
        }
        self.host.append_option(e.host.as_deref());
        self.channel.append_option(e.channel.as_deref());
        self.provider.append_option(e.provider.as_deref());
        self.event_id.append_option(e.event_id);
        push_logsource(
            [&mut self.product, &mut self.service, &mut self.category],
            &e.logsource,
        );
        for ls in &e.alt_logsources {
            push_logsource(
                [
                    &mut self.alt_product,
                    &mut self.alt_service,
                    &mut self.alt_category,
                ],
                ls,
            );
        }
        self.alt_count += e.alt_logsources.len();
        // In range: the writer closes a batch long before 2^31 entries.
        self.alt_offsets.push(self.alt_count as i32);
        self.file.append_value(&e.provenance.file);
        self.member.append_option(e.provenance.member.as_deref());
        let (kind, at) = match e.provenance.location {
            Location::Record(n) => (location_kind::RECORD, Some(n)),
            Location::Line(n) => (location_kind::LINE, Some(n)),
            Location::Offset(n) => (location_kind::OFFSET, Some(n)),
            Location::File => (location_kind::FILE, None),
        };
        self.location_kind.append_value(kind);
        self.location.append_option(at);
        for (k, v) in e.fields.iter() {
            self.nodes.push(0, Some(k), v);
        }
        // In range: a batch is closed at a few MiB and an event is at most
        // MAX_EVENT_BYTES, each node counted as NODE_BYTES.
        self.nodes.offsets.push(self.nodes.kind.len() as i32);
        self.rows += 1;
        self.bytes += size;
        Ok(())
    }

    /// The rows added so far as one record batch; the builder is empty after.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let logsources = |p: &mut StringBuilder, s: &mut StringBuilder, c: &mut StringBuilder| {
            StructArray::try_new(
                schema::logsource_fields(),
                vec![
                    Arc::new(p.finish()) as ArrayRef,
                    Arc::new(s.finish()),
                    Arc::new(c.finish()),
                ],
                None,
            )
        };
        let alt_values = logsources(
            &mut self.alt_product,
            &mut self.alt_service,
            &mut self.alt_category,
        )?;
        let alt = ListArray::try_new(
            schema::logsource_item(),
            offsets(std::mem::replace(&mut self.alt_offsets, vec![0])),
            Arc::new(alt_values),
            None,
        )?;
        let n = &mut self.nodes;
        let node_values = StructArray::try_new(
            schema::node_fields(),
            vec![
                Arc::new(UInt32Array::from(std::mem::take(&mut n.depth))) as ArrayRef,
                Arc::new(n.key.finish()),
                Arc::new(UInt8Array::from(std::mem::take(&mut n.kind))),
                Arc::new(n.str.finish()),
                Arc::new(n.int.finish()),
                Arc::new(n.uint.finish()),
                Arc::new(n.float.finish()),
                Arc::new(n.bool.finish()),
            ],
            None,
        )?;
        let fields = ListArray::try_new(
            schema::node_item(),
            offsets(std::mem::replace(&mut n.offsets, vec![0])),
            Arc::new(node_values),
            None,
        )?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.time.finish().with_timezone("UTC")),
            Arc::new(self.time_nanos.finish()),
            Arc::new(self.host.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.provider.finish()),
            Arc::new(self.event_id.finish()),
            Arc::new(self.product.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.category.finish()),
            Arc::new(alt),
            Arc::new(self.file.finish()),
            Arc::new(self.member.finish()),
            Arc::new(self.location_kind.finish()),
            Arc::new(self.location.finish()),
            Arc::new(fields),
        ];
        self.rows = 0;
        self.bytes = 0;
        self.alt_count = 0;
        RecordBatch::try_new(schema::event_schema(), columns)
    }
}

impl Nodes {
    /// One node and, for arrays and objects, its children (pre-order).
    /// Depth was checked by [`event_bytes`] before anything was added.
    fn push(&mut self, depth: u32, key: Option<&str>, v: &Value) {
        self.depth.push(depth);
        self.key.append_option(key);
        let kind = match v {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) => Kind::Int,
            Value::UInt(_) => Kind::UInt,
            Value::Float(_) => Kind::Float,
            Value::Str(_) => Kind::Str,
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        };
        self.kind.push(kind as u8);
        self.str.append_option(match v {
            Value::Str(s) => Some(&**s),
            _ => None,
        });
        self.int.append_option(match v {
            Value::Int(i) => Some(*i),
            _ => None,
        });
        self.uint.append_option(match v {
            Value::UInt(u) => Some(*u),
            _ => None,
        });
        self.float.append_option(match v {
            Value::Float(f) => Some(*f),
            _ => None,
        });
        self.bool.append_option(match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        });
        match v {
            Value::Array(items) => {
                for item in items {
                    self.push(depth + 1, None, item);
                }
            }
            Value::Object(fields) => {
                for (k, item) in fields.iter() {
                    self.push(depth + 1, Some(k), item);
                }
            }
            _ => {}
        }
    }
}

fn push_logsource(b: [&mut StringBuilder; 3], ls: &LogSource) {
    let [p, s, c] = b;
    p.append_option(ls.product.as_deref());
    s.append_option(ls.service.as_deref());
    c.append_option(ls.category.as_deref());
}

fn offsets(v: Vec<i32>) -> OffsetBuffer<i32> {
    // Offsets are pushed as running lengths, so they never decrease.
    OffsetBuffer::new(ScalarBuffer::from(v))
}

/// Microseconds since the epoch (the sub-microsecond part and a leap
/// second's extra nanoseconds left out, so the column sorts and compares
/// like time) and the whole sub-second nanoseconds, which restore the
/// exact value.
pub(crate) fn time_parts(t: &kahu_event::Timestamp) -> Option<(i64, u32)> {
    let nanos = t.timestamp_subsec_nanos();
    let micros = t
        .timestamp()
        .checked_mul(1_000_000)?
        .checked_add(i64::from(nanos.min(999_999_999) / 1000))?;
    Some((micros, nanos))
}

/// The bytes an event adds to a batch, or why it cannot be stored; walks
/// the fields at most [`MAX_DEPTH`] deep.
fn event_bytes(e: &Event) -> Result<usize, SkipReason> {
    fn value(v: &Value, depth: u32, total: &mut usize) -> Result<(), SkipReason> {
        if depth > MAX_DEPTH {
            return Err(SkipReason::TooDeep);
        }
        *total += NODE_BYTES;
        match v {
            Value::Str(s) => *total += s.len(),
            Value::Array(items) => {
                for item in items {
                    value(item, depth + 1, total)?;
                }
            }
            Value::Object(f) => fields(f, depth + 1, total)?,
            _ => {}
        }
        Ok(())
    }
    fn fields(f: &Fields, depth: u32, total: &mut usize) -> Result<(), SkipReason> {
        for (k, v) in f.iter() {
            *total += k.len();
            value(v, depth, total)?;
        }
        Ok(())
    }
    let text = |s: &Option<Arc<str>>| s.as_deref().map_or(0, str::len);
    let mut total = ROW_BYTES
        + text(&e.host)
        + text(&e.channel)
        + text(&e.provider)
        + e.provenance.file.len()
        + text(&e.provenance.member);
    for ls in e.logsources() {
        total += text(&ls.product) + text(&ls.service) + text(&ls.category);
    }
    fields(&e.fields, 0, &mut total)?;
    if total > MAX_EVENT_BYTES {
        return Err(SkipReason::TooLarge);
    }
    Ok(total)
}
