//! JSON input: newline-delimited objects (`.jsonl`, `.ndjson`, `.json`; plain or `.gz`), or a
//! file that is one array of objects.
//!
//! A new table's schema is arrow-json's inference over every record of the first file (numbers
//! widen Int64 → Float64, conflicting types become Utf8, a field that is always null is
//! Utf8); a string field whose values are all dates or timestamps becomes Date32 or a
//! timestamp, and one with few distinct values a symbol, by the same rules as CSV columns.
//!
//! Records are parsed one line at a time with serde_json, so that a malformed line is reported
//! by its number (or skipped with `--skip-bad-rows`), and handed to arrow-json's `Decoder` in
//! chunks; a chunk it refuses is retried record by record to find the one at fault. An array
//! file has no lines to stream by: it is read whole, and its records are named by position
//! (and its columns come in name order, as serde_json keeps an object's keys).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use arrow_schema::{ArrowError, DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use serde_json::Value;

use super::csv::{ColumnInference, CsvOptions};
use super::{IngestArgs, Input, Lines};

/// Records per chunk handed to the decoder.
const CHUNK_RECORDS: usize = 8192;

/// Whether a file name (lower case) is read as JSON.
pub(super) fn is_json(name: &str) -> bool {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.ends_with(".json") || name.ends_with(".jsonl") || name.ends_with(".ndjson")
}

/// The records of a JSON file, each with its line (or its position in an array).
struct Records {
    lines: Option<BufReader<Box<dyn Read>>>,
    array: std::vec::IntoIter<Value>,
    /// Lines read, or array elements taken.
    at: usize,
    buf: Vec<u8>,
}

/// The keys of a JSON object in the order they are written (serde_json's map sorts them).
struct KeyOrder(Vec<String>);

impl<'de> serde::Deserialize<'de> for KeyOrder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = KeyOrder;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<KeyOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(KeyOrder(keys))
            }
        }
        d.deserialize_map(Visitor)
    }
}

impl Records {
    fn new(raw: Box<dyn Read>) -> Result<Self> {
        let mut reader = BufReader::new(raw);
        // Skip a byte order mark and whitespace to see how the file starts.
        let first = loop {
            let buf = reader.fill_buf().context("reading")?;
            let skip = if buf.starts_with(b"\xEF\xBB\xBF") {
                3
            } else {
                buf.iter()
                    .take_while(|b| matches!(b, b' ' | b'\t' | b'\r'))
                    .count()
            };
            if skip == 0 || buf.is_empty() {
                break buf.first().copied();
            }
            reader.consume(skip);
        };
        if first == Some(b'[') {
            let array: Vec<Value> =
                serde_json::from_reader(reader).context("reading a JSON array")?;
            return Ok(Self {
                lines: None,
                array: array.into_iter(),
                at: 0,
                buf: Vec::new(),
            });
        }
        Ok(Self {
            lines: Some(reader),
            array: Vec::new().into_iter(),
            at: 0,
            buf: Vec::new(),
        })
    }

    fn is_array(&self) -> bool {
        self.lines.is_none()
    }

    /// The keys of the last line read, in the order written (lines only).
    fn last_keys(&self) -> Vec<String> {
        let line = self.buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&self.buf);
        serde_json::from_slice::<KeyOrder>(line.trim_ascii()).map_or_else(|_| Vec::new(), |k| k.0)
    }

    /// The next record and where it is, or why it is not a record.
    fn next(&mut self) -> Result<Option<(usize, std::result::Result<Value, String>)>> {
        let Some(reader) = &mut self.lines else {
            self.at += 1;
            return Ok(self.array.next().map(|v| (self.at, object(v))));
        };
        loop {
            self.buf.clear();
            let n = reader
                .read_until(b'\n', &mut self.buf)
                .with_context(|| format!("line {}: reading", self.at + 1))?;
            if n == 0 {
                return Ok(None);
            }
            self.at += 1;
            let line = self.buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&self.buf);
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            // The record is one line: serde_json's own line number is always 1.
            let value = serde_json::from_slice::<Value>(line)
                .map_err(|e| e.to_string().replace(" at line 1 column ", " at column "))
                .and_then(object);
            return Ok(Some((self.at, value)));
        }
    }
}

fn object(v: Value) -> std::result::Result<Value, String> {
    match v {
        Value::Object(_) => Ok(v),
        other => Err(format!(
            "a record must be a JSON object, found {}",
            match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "an array",
                Value::Object(_) => "an object",
            }
        )),
    }
}

/// `file:line` or `file: record n` (in an array).
fn place(path: &Path, at: usize, array: bool) -> String {
    if array {
        format!("{}: record {at} of the array", path.display())
    } else {
        format!("{}:{at}", path.display())
    }
}

/// The schema the first file gives a new table, and the string columns that are symbols.
pub(super) fn peek_schema(
    path: &Path,
    raw: Box<dyn Read>,
    args: &IngestArgs,
) -> Result<(SchemaRef, Vec<String>)> {
    let mut records = Records::new(raw).with_context(|| format!("reading {}", path.display()))?;
    let mut strings: BTreeMap<String, ColumnInference> = BTreeMap::new();
    // Keys in the order they first appear: the columns keep the file's order.
    let mut order: BTreeMap<String, usize> = BTreeMap::new();
    let options = CsvOptions::default();
    let mut failure: Option<anyhow::Error> = None;
    let values = std::iter::from_fn(|| {
        loop {
            match records.next() {
                Ok(None) => return None,
                Ok(Some((_, Ok(v)))) => {
                    let keys = if records.is_array() {
                        Vec::new()
                    } else {
                        records.last_keys()
                    };
                    for k in keys {
                        let n = order.len();
                        order.entry(k).or_insert(n);
                    }
                    if let Value::Object(m) = &v {
                        for (k, f) in m {
                            if let Value::String(s) = f {
                                strings.entry(k.clone()).or_default().update(s, &options);
                            }
                        }
                    }
                    return Some(Ok::<Value, ArrowError>(v));
                }
                // Reading the file reports (or skips) it.
                Ok(Some((_, Err(_)))) => {}
                Err(e) => {
                    failure = Some(e);
                    return None;
                }
            }
        }
    });
    let inferred = arrow_json::reader::infer_json_schema_from_iterator(values);
    if let Some(e) = failure {
        return Err(e.context(format!("reading {}", path.display())));
    }
    let inferred = inferred.with_context(|| format!("{}: inferring the schema", path.display()))?;
    if inferred.fields().is_empty() {
        bail!("{}: no JSON records", path.display());
    }
    let mut few = Vec::new();
    let mut ordered: Vec<&Arc<ArrowField>> = inferred.fields().iter().collect();
    ordered.sort_by_key(|f| order.get(f.name()).copied().unwrap_or(usize::MAX));
    let fields: Vec<ArrowField> = ordered
        .into_iter()
        .map(|f| {
            let c = strings.get(f.name());
            let ty = match f.data_type() {
                ArrowType::Null => ArrowType::Utf8,
                ArrowType::Utf8 => c.map_or(ArrowType::Utf8, ColumnInference::data_type),
                t => t.clone(),
            };
            few.push(ty == ArrowType::Utf8 && c.is_some_and(ColumnInference::few_distinct));
            ArrowField::new(f.name(), ty, true)
        })
        .collect();
    super::finish_schema(path, ArrowSchema::new(fields), &few, args)
}

fn decoder(schema: &SchemaRef) -> Result<arrow_json::reader::Decoder, ArrowError> {
    arrow_json::ReaderBuilder::new(Arc::clone(schema))
        .with_coerce_primitive(true)
        .with_batch_size(CHUNK_RECORDS)
        .build_decoder()
}

/// Decodes records into one batch.
fn decode(schema: &SchemaRef, values: &[Value]) -> Result<Option<RecordBatch>, ArrowError> {
    let mut d = decoder(schema)?;
    d.serialize(values)?;
    d.flush()
}

/// Streams the records of one file to `sink` as batches of `schema`.
pub(super) fn read(
    path: &Path,
    raw: Box<dyn Read>,
    schema: &SchemaRef,
    args: &IngestArgs,
    mut input: Input,
    sink: &mut dyn FnMut(RecordBatch, Lines) -> Result<()>,
) -> Result<Input> {
    let mut records = Records::new(raw).with_context(|| format!("reading {}", path.display()))?;
    let array = records.is_array();
    let mut chunk: Vec<Value> = Vec::with_capacity(CHUNK_RECORDS);
    let mut at: Vec<usize> = Vec::with_capacity(CHUNK_RECORDS);
    let mut flush =
        |chunk: &mut Vec<Value>, at: &mut Vec<usize>, input: &mut Input| -> Result<()> {
            if chunk.is_empty() {
                return Ok(());
            }
            let batch = match decode(schema, chunk) {
                Ok(b) => b,
                Err(_) => {
                    // Find the records at fault one by one.
                    let mut keep = vec![true; chunk.len()];
                    for (i, v) in chunk.iter().enumerate() {
                        if let Err(e) = decode(schema, std::slice::from_ref(v)) {
                            let here = place(path, at.get(i).copied().unwrap_or_default(), array);
                            if !args.skip_bad_rows {
                                bail!("{here}: {e}");
                            }
                            input.skipped += 1;
                            if let Some(k) = keep.get_mut(i) {
                                *k = false;
                            }
                        }
                    }
                    let mut flags = keep.iter();
                    chunk.retain(|_| flags.next().copied().unwrap_or(false));
                    let mut flags = keep.iter();
                    at.retain(|_| flags.next().copied().unwrap_or(false));
                    decode(schema, chunk)
                        .with_context(|| format!("{}: decoding", path.display()))?
                }
            };
            let lines = (!array).then(|| std::mem::take(at));
            chunk.clear();
            at.clear();
            if let Some(b) = batch.filter(|b| b.num_rows() > 0) {
                input.rows += b.num_rows();
                sink(b, lines)?;
            }
            Ok(())
        };
    while let Some((n, value)) = records
        .next()
        .with_context(|| format!("reading {}", path.display()))?
    {
        match value {
            Ok(v) => {
                chunk.push(v);
                at.push(n);
                if chunk.len() >= CHUNK_RECORDS {
                    flush(&mut chunk, &mut at, &mut input)?;
                }
            }
            Err(_) if args.skip_bad_rows => input.skipped += 1,
            Err(e) => bail!("{}: {e}", place(path, n, array)),
        }
    }
    flush(&mut chunk, &mut at, &mut input)?;
    Ok(input)
}
