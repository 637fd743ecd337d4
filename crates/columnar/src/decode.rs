//! Arrow record batches of the [`crate::schema`] layout back into events.
//!
//! Shards can be evidence too (`kahu hunt DIR` reads them), so every value
//! is checked: a row that breaks the layout is an error for that row (the
//! caller reports it and goes on), never a panic.

use crate::schema::{self, Kind, MAX_DEPTH, location_kind};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int64Type, TimestampMicrosecondType, UInt8Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, BooleanArray, Float64Array, Int64Array, ListArray, PrimitiveArray, RecordBatch,
    StringArray, UInt8Array, UInt32Array, UInt64Array,
};
use kahu_event::{Event, Fields, Location, LogSource, Provenance, Timestamp, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The columns of one batch, typed.
pub(crate) struct Columns<'a> {
    time: &'a PrimitiveArray<TimestampMicrosecondType>,
    time_nanos: &'a UInt32Array,
    host: &'a StringArray,
    channel: &'a StringArray,
    provider: &'a StringArray,
    event_id: &'a UInt32Array,
    product: &'a StringArray,
    service: &'a StringArray,
    category: &'a StringArray,
    alt: &'a ListArray,
    alt_cols: [&'a StringArray; 3],
    file: &'a StringArray,
    member: &'a StringArray,
    location_kind: &'a StringArray,
    location: &'a UInt64Array,
    fields: &'a ListArray,
    nodes: NodeColumns<'a>,
}

struct NodeColumns<'a> {
    depth: &'a UInt32Array,
    key: &'a StringArray,
    kind: &'a UInt8Array,
    str: &'a StringArray,
    int: &'a Int64Array,
    uint: &'a UInt64Array,
    float: &'a Float64Array,
    bool: &'a BooleanArray,
}

/// What is wrong with a record batch (its columns) or with one of its rows,
/// read against the shard layout. Shards can be evidence, so each is a
/// reported problem, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A layout column is not in the batch.
    #[error("column {0} missing")]
    MissingColumn(String),
    /// A layout column has another Arrow type.
    #[error("column {0} has the wrong type")]
    WrongType(String),
    /// The row names no evidence file.
    #[error("no evidence file")]
    NoFile,
    /// The row has no location kind.
    #[error("no location kind")]
    NoLocationKind,
    /// The location kind and value are no kahu location.
    #[error("location {kind:?} {at:?} is not a kahu location")]
    Location {
        /// The location kind found.
        kind: String,
        /// The location value found.
        at: Option<u64>,
    },
    /// `time` is set but `time_nanos` is not.
    #[error("time without time_nanos")]
    TimeWithoutNanos,
    /// `time` and `time_nanos` make no valid time.
    #[error("time {micros} µs + {nanos} ns is not a valid time")]
    InvalidTime {
        /// `time`, microseconds since the epoch.
        micros: i64,
        /// `time_nanos`.
        nanos: u32,
    },
    /// `time` and `time_nanos` tell different times (an edited shard).
    #[error("time {micros} µs and time_nanos {nanos} disagree")]
    TimeDisagrees {
        /// `time`, microseconds since the epoch.
        micros: i64,
        /// `time_nanos`.
        nanos: u32,
    },
    /// A list column's offsets point outside its values.
    #[error("list offsets out of range")]
    ListOffsets,
    /// A field node breaks the tree encoding.
    #[error("field node {node}: {problem}")]
    FieldNode {
        /// Index of the node in the batch's node values.
        node: usize,
        /// What is wrong with it.
        problem: NodeProblem,
    },
}

/// What is wrong with one field node ([`DecodeError::FieldNode`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeProblem {
    /// Deeper than the open parent allows (or than the layout's limit).
    #[error("depth {0} does not follow its parent")]
    Depth(u32),
    /// An array element carries a key.
    #[error("an array element with a key")]
    KeyInArray,
    /// An object member has no key.
    #[error("a field without a name")]
    NoName,
    /// A kind code the layout does not define.
    #[error("unknown kind {0}")]
    UnknownKind(u8),
    /// A scalar kind whose value column is null.
    #[error("{0} without its value")]
    MissingValue(String),
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a dyn Array, DecodeError> {
    batch
        .column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| DecodeError::MissingColumn(name.to_string()))
}

fn wrong(name: &str) -> DecodeError {
    DecodeError::WrongType(name.to_string())
}

fn strings<'a>(a: &'a dyn Array, name: &str) -> Result<&'a StringArray, DecodeError> {
    a.as_string_opt::<i32>().ok_or_else(|| wrong(name))
}

fn string_col<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a StringArray, DecodeError> {
    strings(column(b, name)?, name)
}

fn child<'a>(
    s: &'a arrow_array::StructArray,
    list: &str,
    name: &str,
) -> Result<&'a dyn Array, DecodeError> {
    s.column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| DecodeError::MissingColumn(format!("{list}.{name}")))
}

impl<'a> Columns<'a> {
    /// Type the columns of `batch`, or say which one does not fit.
    pub(crate) fn new(b: &'a RecordBatch) -> Result<Self, DecodeError> {
        let prim_u32 = |n: &str| -> Result<&'a UInt32Array, DecodeError> {
            column(b, n)?
                .as_primitive_opt::<UInt32Type>()
                .ok_or_else(|| wrong(n))
        };
        let list = |n: &str| -> Result<&'a ListArray, DecodeError> {
            column(b, n)?.as_list_opt::<i32>().ok_or_else(|| wrong(n))
        };
        let alt = list(schema::ALT_LOGSOURCES)?;
        let alt_struct = alt
            .values()
            .as_struct_opt()
            .ok_or_else(|| wrong(schema::ALT_LOGSOURCES))?;
        let alt_col = |n: &str| strings(child(alt_struct, schema::ALT_LOGSOURCES, n)?, n);
        let fields = list(schema::FIELDS)?;
        let node = fields
            .values()
            .as_struct_opt()
            .ok_or_else(|| wrong(schema::FIELDS))?;
        let ncol = |n: &str| child(node, schema::FIELDS, n);
        Ok(Columns {
            time: column(b, schema::TIME)?
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(|| wrong(schema::TIME))?,
            time_nanos: prim_u32(schema::TIME_NANOS)?,
            host: string_col(b, schema::HOST)?,
            channel: string_col(b, schema::CHANNEL)?,
            provider: string_col(b, schema::PROVIDER)?,
            event_id: prim_u32(schema::EVENT_ID)?,
            product: string_col(b, schema::PRODUCT)?,
            service: string_col(b, schema::SERVICE)?,
            category: string_col(b, schema::CATEGORY)?,
            alt,
            alt_cols: [
                alt_col(schema::PRODUCT)?,
                alt_col(schema::SERVICE)?,
                alt_col(schema::CATEGORY)?,
            ],
            file: string_col(b, schema::FILE)?,
            member: string_col(b, schema::MEMBER)?,
            location_kind: string_col(b, schema::LOCATION_KIND)?,
            location: column(b, schema::LOCATION)?
                .as_primitive_opt::<UInt64Type>()
                .ok_or_else(|| wrong(schema::LOCATION))?,
            fields,
            nodes: NodeColumns {
                depth: ncol("depth")?
                    .as_primitive_opt::<UInt32Type>()
                    .ok_or_else(|| wrong("fields.depth"))?,
                key: strings(ncol("key")?, "fields.key")?,
                kind: ncol("kind")?
                    .as_primitive_opt::<UInt8Type>()
                    .ok_or_else(|| wrong("fields.kind"))?,
                str: strings(ncol("str")?, "fields.str")?,
                int: ncol("int")?
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| wrong("fields.int"))?,
                uint: ncol("uint")?
                    .as_primitive_opt::<UInt64Type>()
                    .ok_or_else(|| wrong("fields.uint"))?,
                float: ncol("float")?
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(|| wrong("fields.float"))?,
                bool: ncol("bool")?
                    .as_boolean_opt()
                    .ok_or_else(|| wrong("fields.bool"))?,
            },
        })
    }

    /// The event in row `row`, or what is wrong with the row.
    pub(crate) fn event(&self, row: usize, names: &mut Names) -> Result<Event, DecodeError> {
        let file = opt_str(self.file, row).ok_or(DecodeError::NoFile)?;
        let location = self.location(row)?;
        let mut e = Event::new(Provenance {
            file: names.get(file),
            member: opt_str(self.member, row).map(|m| names.get(m)),
            location,
        });
        e.timestamp = self.time(row)?;
        e.host = opt_str(self.host, row).map(|s| names.get(s));
        e.channel = opt_str(self.channel, row).map(|s| names.get(s));
        e.provider = opt_str(self.provider, row).map(|s| names.get(s));
        e.event_id = self
            .event_id
            .is_valid(row)
            .then(|| self.event_id.value(row));
        e.logsource = logsource([self.product, self.service, self.category], row, names);
        let offsets = self.alt.value_offsets();
        for i in range(offsets, row, self.alt_cols[0].len())? {
            e.alt_logsources.push(logsource(self.alt_cols, i, names));
        }
        let offsets = self.fields.value_offsets();
        let nodes = range(offsets, row, self.nodes.kind.len())?;
        e.fields = self.nodes.tree(nodes, names)?;
        Ok(e)
    }

    fn location(&self, row: usize) -> Result<Location, DecodeError> {
        let at = self
            .location
            .is_valid(row)
            .then(|| self.location.value(row));
        let kind = opt_str(self.location_kind, row).ok_or(DecodeError::NoLocationKind)?;
        Ok(match (kind, at) {
            (location_kind::RECORD, Some(n)) => Location::Record(n),
            (location_kind::LINE, Some(n)) => Location::Line(n),
            (location_kind::OFFSET, Some(n)) => Location::Offset(n),
            (location_kind::FILE, None) => Location::File,
            (k, _) => {
                return Err(DecodeError::Location {
                    kind: k.to_string(),
                    at,
                });
            }
        })
    }

    fn time(&self, row: usize) -> Result<Option<Timestamp>, DecodeError> {
        if self.time.is_null(row) {
            return Ok(None);
        }
        let micros = self.time.value(row);
        if self.time_nanos.is_null(row) {
            return Err(DecodeError::TimeWithoutNanos);
        }
        let nanos = self.time_nanos.value(row);
        let secs = micros.div_euclid(1_000_000);
        let t = chrono::DateTime::from_timestamp(secs, nanos)
            .ok_or(DecodeError::InvalidTime { micros, nanos })?;
        // The two columns must tell the same time: a shard edited to move
        // `time` (what engines filter on) without `time_nanos` is refused.
        if crate::encode::time_parts(&t) != Some((micros, nanos)) {
            return Err(DecodeError::TimeDisagrees { micros, nanos });
        }
        Ok(Some(t))
    }
}

impl NodeColumns<'_> {
    /// The fields of one row from its nodes (pre-order, with depths).
    fn tree(
        &self,
        nodes: std::ops::Range<usize>,
        names: &mut Names,
    ) -> Result<Fields, DecodeError> {
        /// An array or object still open, with the key it has in its parent.
        enum Open {
            Array(Option<Arc<str>>, Vec<Value>),
            Object(Option<Arc<str>>, Fields),
        }
        fn attach(stack: &mut [Open], root: &mut Fields, key: Option<Arc<str>>, v: Value) {
            match (stack.last_mut(), key) {
                (Some(Open::Array(_, items)), _) => items.push(v),
                (Some(Open::Object(_, f)), Some(k)) => f.push(k, v),
                (None, Some(k)) => root.push(k, v),
                // Keys were checked against the parent when read.
                (Some(Open::Object(..)) | None, None) => {}
            }
        }
        fn close(stack: &mut Vec<Open>, root: &mut Fields) {
            if let Some(open) = stack.pop() {
                let (key, v) = match open {
                    Open::Array(k, items) => (k, Value::Array(items)),
                    Open::Object(k, f) => (k, Value::Object(f)),
                };
                attach(stack, root, key, v);
            }
        }
        let mut root = Fields::default();
        let mut stack: Vec<Open> = Vec::new();
        for i in nodes {
            let depth = self.depth.value(i);
            if depth > MAX_DEPTH || depth as usize > stack.len() {
                return Err(DecodeError::FieldNode {
                    node: i,
                    problem: NodeProblem::Depth(depth),
                });
            }
            while stack.len() > depth as usize {
                close(&mut stack, &mut root);
            }
            let key = opt_str(self.key, i).map(|k| names.get(k));
            let in_array = matches!(stack.last(), Some(Open::Array(..)));
            if in_array == key.is_some() {
                return Err(DecodeError::FieldNode {
                    node: i,
                    problem: if in_array {
                        NodeProblem::KeyInArray
                    } else {
                        NodeProblem::NoName
                    },
                });
            }
            let code = self.kind.value(i);
            let kind = Kind::from_code(code).ok_or(DecodeError::FieldNode {
                node: i,
                problem: NodeProblem::UnknownKind(code),
            })?;
            let missing = || DecodeError::FieldNode {
                node: i,
                problem: NodeProblem::MissingValue(format!("{kind:?}")),
            };
            let v = match kind {
                Kind::Null => Value::Null,
                Kind::Bool => Value::Bool(
                    self.bool
                        .is_valid(i)
                        .then(|| self.bool.value(i))
                        .ok_or_else(missing)?,
                ),
                Kind::Int => Value::Int(
                    self.int
                        .is_valid(i)
                        .then(|| self.int.value(i))
                        .ok_or_else(missing)?,
                ),
                Kind::UInt => Value::UInt(
                    self.uint
                        .is_valid(i)
                        .then(|| self.uint.value(i))
                        .ok_or_else(missing)?,
                ),
                Kind::Float => Value::Float(
                    self.float
                        .is_valid(i)
                        .then(|| self.float.value(i))
                        .ok_or_else(missing)?,
                ),
                Kind::Str => Value::Str(Arc::from(opt_str(self.str, i).ok_or_else(missing)?)),
                Kind::Array => {
                    stack.push(Open::Array(key, Vec::new()));
                    continue;
                }
                Kind::Object => {
                    stack.push(Open::Object(key, Fields::default()));
                    continue;
                }
            };
            attach(&mut stack, &mut root, key, v);
        }
        while !stack.is_empty() {
            close(&mut stack, &mut root);
        }
        Ok(root)
    }
}

/// Strings that repeat from row to row (file names, hosts, channels, field
/// names) shared as one `Arc` per shard, as kahu's readers share them; at
/// most [`Names::CAP`] distinct ones are kept, the rest allocated per use.
#[derive(Default)]
pub(crate) struct Names {
    known: HashMap<Box<str>, Arc<str>>,
}

impl Names {
    const CAP: usize = 16_384;

    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.known.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        if self.known.len() < Self::CAP && s.len() <= 256 {
            self.known.insert(Box::from(s), a.clone());
        }
        a
    }
}

fn opt_str(a: &StringArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

fn logsource(cols: [&StringArray; 3], i: usize, names: &mut Names) -> LogSource {
    let [p, s, c] = cols;
    LogSource {
        product: opt_str(p, i).map(|v| names.get(v)),
        service: opt_str(s, i).map(|v| names.get(v)),
        category: opt_str(c, i).map(|v| names.get(v)),
    }
}

/// The child rows of list entry `row`, checked against the child length.
fn range(offsets: &[i32], row: usize, len: usize) -> Result<std::ops::Range<usize>, DecodeError> {
    let (Some(&a), Some(&b)) = (offsets.get(row), offsets.get(row + 1)) else {
        return Err(DecodeError::ListOffsets);
    };
    match (usize::try_from(a), usize::try_from(b)) {
        (Ok(a), Ok(b)) if a <= b && b <= len => Ok(a..b),
        _ => Err(DecodeError::ListOffsets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::BatchBuilder;
    use arrow_array::{ArrayRef, StructArray};
    use kahu_event::Provenance;

    fn event(line: u64, fields: Fields) -> Event {
        let mut e = Event::new(Provenance::new(Arc::from("f.jsonl"), Location::Line(line)));
        e.fields = fields;
        e
    }

    fn nested() -> Fields {
        let mut inner = Fields::default();
        inner.push(Arc::from("b"), Value::Int(1));
        let mut f = Fields::default();
        f.push(Arc::from("a"), Value::Object(inner));
        f.push(Arc::from("c"), Value::Array(vec![Value::str("x")]));
        f
    }

    /// The batch with `fields` node columns replaced by `edit`'s result.
    fn edited(
        batch: &RecordBatch,
        edit: impl Fn(&str, &ArrayRef) -> Option<ArrayRef>,
    ) -> RecordBatch {
        let list = batch
            .column_by_name(schema::FIELDS)
            .and_then(|c| c.as_list_opt::<i32>())
            .expect("fields list");
        let node = list.values().as_struct();
        let cols: Vec<ArrayRef> = schema::node_fields()
            .iter()
            .zip(node.columns())
            .map(|(f, c)| edit(f.name(), c).unwrap_or_else(|| c.clone()))
            .collect();
        let values = StructArray::try_new(schema::node_fields(), cols, None).expect("struct");
        let fields = ListArray::try_new(
            schema::node_item(),
            list.offsets().clone(),
            Arc::new(values),
            None,
        )
        .expect("list");
        let mut columns = batch.columns().to_vec();
        let i = batch.schema().index_of(schema::FIELDS).expect("index");
        columns[i] = Arc::new(fields);
        RecordBatch::try_new(batch.schema(), columns).expect("batch")
    }

    /// Each row's event, or its error as the analyst reads it.
    fn decode_all(batch: &RecordBatch) -> Vec<Result<Event, String>> {
        let cols = Columns::new(batch).expect("columns");
        let mut names = Names::default();
        (0..batch.num_rows())
            .map(|i| cols.event(i, &mut names).map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn a_row_that_breaks_the_layout_is_an_error_for_that_row_only() {
        let mut b = BatchBuilder::new();
        for line in 1..=3 {
            b.push(&event(line, nested())).expect("pushed");
        }
        let batch = b.finish().expect("batch");
        // Each row has nodes a, a.b, c, c[0]: rows start at 0, 4, 8.
        assert!(decode_all(&batch).iter().all(Result::is_ok));

        // Row 2's `a.b` jumps two levels deeper than its parent allows.
        let jump = edited(&batch, |name, _| {
            (name == "depth").then(|| {
                let mut d = vec![0u32, 1, 0, 1];
                d.extend([0, 3, 0, 1]);
                d.extend([0, 1, 0, 1]);
                Arc::new(UInt32Array::from(d)) as ArrayRef
            })
        });
        let out = decode_all(&jump);
        assert!(out[0].is_ok() && out[2].is_ok());
        let err = out[1].as_ref().expect_err("depth jump");
        assert_eq!(err, "field node 5: depth 3 does not follow its parent");
        let cols = Columns::new(&jump).expect("columns");
        assert_eq!(
            cols.event(1, &mut Names::default()).expect_err("typed"),
            DecodeError::FieldNode {
                node: 5,
                problem: NodeProblem::Depth(3)
            }
        );

        // An unknown kind code, and an Int without its value.
        let bad_kind = edited(&batch, |name, c| {
            (name == "kind").then(|| {
                let mut k: Vec<u8> = c.as_primitive::<UInt8Type>().values().to_vec();
                k[1] = 99;
                k[11] = Kind::Int as u8;
                Arc::new(UInt8Array::from(k)) as ArrayRef
            })
        });
        let out = decode_all(&bad_kind);
        assert!(
            out[0]
                .as_ref()
                .expect_err("kind")
                .contains("unknown kind 99")
        );
        assert!(out[1].is_ok());
        assert!(
            out[2]
                .as_ref()
                .expect_err("no value")
                .contains("without its value")
        );

        // A top-level field without a name.
        let no_key = edited(&batch, |name, c| {
            (name == "key").then(|| {
                let keys: Vec<Option<&str>> = c
                    .as_string::<i32>()
                    .iter()
                    .enumerate()
                    .map(|(i, k)| if i == 4 { None } else { k })
                    .collect();
                Arc::new(StringArray::from(keys)) as ArrayRef
            })
        });
        let out = decode_all(&no_key);
        assert!(
            out[1]
                .as_ref()
                .expect_err("no key")
                .contains("without a name")
        );
        assert!(out[0].is_ok() && out[2].is_ok());
    }

    #[test]
    fn time_and_time_nanos_must_agree() {
        let mut b = BatchBuilder::new();
        let mut e = event(1, Fields::default());
        e.timestamp = kahu_event::parse_timestamp("2021-01-01T00:00:00.1234567Z");
        b.push(&e).expect("pushed");
        let batch = b.finish().expect("batch");
        let ok = decode_all(&batch);
        assert_eq!(
            ok[0].as_ref().expect("valid").timestamp,
            e.timestamp,
            "exact to 100 ns"
        );
        let mut columns = batch.columns().to_vec();
        let i = batch.schema().index_of(schema::TIME_NANOS).expect("index");
        columns[i] = Arc::new(UInt32Array::from(vec![999_000_000u32]));
        let moved = RecordBatch::try_new(batch.schema(), columns).expect("batch");
        let err = decode_all(&moved).remove(0).expect_err("disagree");
        assert!(err.contains("disagree"), "{err}");
    }
}
