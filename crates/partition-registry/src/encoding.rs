//! Hand-written little-endian encodings of edits, checkpoints and deletion-vector files.
//! Layouts are specified in `docs/format.md` ("Table directory and manifest").

use std::collections::BTreeMap;
use std::sync::Arc;

use roaring::RoaringBitmap;
use strata_format::{DataType, Field, TimeUnit};

use crate::partitioning::Partitioning;
use crate::state::{
    ColumnInfo, Compression, DeletionVector, Edit, MergeCommit, Partition, PartitionState,
    SchemaChange, SegmentEntry, TableConfig, TableSchema, TableState,
};

/// Newest version byte of a log record payload. Records are written at 3 unless they hold a
/// retention or object-layout edit (`SetRetention`, `Retire`, `Forget`, `Token`: version 4)
/// or a compression setting (`SetCompression`: version 5); version 1 (without
/// `SetLogPosition`) and 2 (without `CoarsenPartitions`) are read too.
pub const RECORD_VERSION: u8 = 5;
/// Newest version of the checkpoint file. Checkpoints are written at 3 unless the table has a
/// retention period or retired files (version 4 appends them) or a compression other than
/// the default (version 5 appends it); version 1 (without the log position) and 2 (with a
/// time column always) are read too.
pub const CHECKPOINT_VERSION: u32 = 5;
/// Version of the deletion-vector file.
pub const DV_VERSION: u32 = 1;
/// Magic of a checkpoint file.
pub const CHECKPOINT_MAGIC: &[u8; 8] = b"STRATCKP";
/// Magic of a deletion-vector file.
pub const DV_MAGIC: &[u8; 8] = b"STRATADV";

/// A decoding failure: offset inside the buffer and what was wrong.
#[derive(Debug)]
pub(crate) struct DecodeError {
    pub(crate) offset: u64,
    pub(crate) detail: String,
}

type DResult<T> = std::result::Result<T, DecodeError>;

#[derive(Default)]
pub(crate) struct Enc(pub(crate) Vec<u8>);

impl Enc {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        // Counts above u32::MAX cannot be built in memory by this crate's callers.
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
}

pub(crate) struct Dec<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Dec<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }
    pub(crate) fn err<T>(&self, detail: impl Into<String>) -> DResult<T> {
        Err(DecodeError {
            offset: self.pos as u64,
            detail: detail.into(),
        })
    }
    pub(crate) fn take(&mut self, n: usize) -> DResult<&'a [u8]> {
        match self.buf.get(self.pos..self.pos.saturating_add(n)) {
            Some(s) if self.pos.checked_add(n).is_some() => {
                self.pos += n;
                Ok(s)
            }
            _ => self.err(format!("needs {n} bytes, {} left", self.remaining())),
        }
    }
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    fn arr<const N: usize>(&mut self) -> DResult<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    pub(crate) fn u8(&mut self) -> DResult<u8> {
        Ok(self.arr::<1>()?[0])
    }
    pub(crate) fn u32(&mut self) -> DResult<u32> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    pub(crate) fn u64(&mut self) -> DResult<u64> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    pub(crate) fn i64(&mut self) -> DResult<i64> {
        Ok(i64::from_le_bytes(self.arr()?))
    }
    fn bool(&mut self) -> DResult<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => self.err(format!("bad bool {b}")),
        }
    }
    /// A count of items each at least `min_size` bytes, checked against the bytes left.
    fn count(&mut self, min_size: usize) -> DResult<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size.max(1)) > self.remaining() {
            return self.err(format!("count {n} exceeds the bytes left"));
        }
        Ok(n)
    }
    pub(crate) fn bytes(&mut self) -> DResult<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub(crate) fn string(&mut self) -> DResult<String> {
        let b = self.bytes()?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => self.err("string is not UTF-8"),
        }
    }
    pub(crate) fn finish(&self) -> DResult<()> {
        if self.remaining() != 0 {
            return self.err(format!("{} trailing bytes", self.remaining()));
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ primitives of the model

fn unit_code(u: TimeUnit) -> u8 {
    match u {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 2,
        TimeUnit::Nanosecond => 3,
    }
}

fn unit_from(d: &Dec<'_>, c: u8) -> DResult<TimeUnit> {
    Ok(match c {
        0 => TimeUnit::Second,
        1 => TimeUnit::Millisecond,
        2 => TimeUnit::Microsecond,
        3 => TimeUnit::Nanosecond,
        _ => return d.err(format!("bad time unit {c}")),
    })
}

fn put_type(e: &mut Enc, t: &DataType) {
    use DataType::*;
    let code = match t {
        Boolean => 1,
        Int8 => 2,
        Int16 => 3,
        Int32 => 4,
        Int64 => 5,
        UInt8 => 6,
        UInt16 => 7,
        UInt32 => 8,
        UInt64 => 9,
        Float32 => 10,
        Float64 => 11,
        Timestamp(..) => 12,
        Date32 => 13,
        Utf8 => 14,
        LargeUtf8 => 15,
        Binary => 16,
        Symbol => 17,
    };
    e.u8(code);
    if let Timestamp(u, tz) = t {
        e.u8(unit_code(*u));
        match tz {
            None => e.u8(0),
            Some(z) => {
                e.u8(1);
                e.str(z);
            }
        }
    }
}

fn get_type(d: &mut Dec<'_>) -> DResult<DataType> {
    use DataType::*;
    Ok(match d.u8()? {
        1 => Boolean,
        2 => Int8,
        3 => Int16,
        4 => Int32,
        5 => Int64,
        6 => UInt8,
        7 => UInt16,
        8 => UInt32,
        9 => UInt64,
        10 => Float32,
        11 => Float64,
        12 => {
            let c = d.u8()?;
            let u = unit_from(d, c)?;
            let tz = if d.bool()? {
                Some(Arc::from(d.string()?.as_str()))
            } else {
                None
            };
            Timestamp(u, tz)
        }
        13 => Date32,
        14 => Utf8,
        15 => LargeUtf8,
        16 => Binary,
        17 => Symbol,
        c => return d.err(format!("unknown type code {c}")),
    })
}

fn put_field(e: &mut Enc, f: &Field) {
    e.str(&f.name);
    put_type(e, &f.data_type);
    e.u8(u8::from(f.nullable));
}

fn get_field(d: &mut Dec<'_>) -> DResult<Field> {
    let name = d.string()?;
    let t = get_type(d)?;
    let nullable = d.bool()?;
    Ok(Field::new(name, t, nullable))
}

fn put_partitioning(e: &mut Enc, p: Partitioning) {
    match p {
        Partitioning::Fixed(n) => {
            e.u8(0);
            e.i64(n);
        }
        Partitioning::Day => e.u8(1),
        Partitioning::Month => e.u8(2),
        Partitioning::Year => e.u8(3),
        Partitioning::Auto => e.u8(4),
        Partitioning::None => e.u8(5),
    }
}

fn get_partitioning(d: &mut Dec<'_>) -> DResult<Partitioning> {
    Ok(match d.u8()? {
        0 => {
            let n = d.i64()?;
            if n <= 0 {
                return d.err(format!("fixed partition length {n}"));
            }
            Partitioning::Fixed(n)
        }
        1 => Partitioning::Day,
        2 => Partitioning::Month,
        3 => Partitioning::Year,
        4 => Partitioning::Auto,
        5 => Partitioning::None,
        c => return d.err(format!("unknown partitioning {c}")),
    })
}

fn get_state(d: &mut Dec<'_>) -> DResult<PartitionState> {
    let c = d.u8()?;
    match PartitionState::from_code(c) {
        Some(s) => Ok(s),
        None => d.err(format!("unknown partition state {c}")),
    }
}

fn put_segment(e: &mut Enc, s: &SegmentEntry) {
    e.u64(s.id);
    e.str(&s.file);
    e.i64(s.partition);
    e.u64(s.rows);
    e.u64(s.bytes);
    e.i64(s.min_ts);
    e.i64(s.max_ts);
    e.u32(s.schema_version);
}

fn get_segment(d: &mut Dec<'_>) -> DResult<SegmentEntry> {
    Ok(SegmentEntry {
        id: d.u64()?,
        file: d.string()?,
        partition: d.i64()?,
        rows: d.u64()?,
        bytes: d.u64()?,
        min_ts: d.i64()?,
        max_ts: d.i64()?,
        schema_version: d.u32()?,
        deletion: None,
    })
}

/// Minimum encoded size of a segment entry (for count checks).
const SEGMENT_MIN: usize = 8 + 4 + 8 * 5 + 4;

// ------------------------------------------------------------------ edits and records

/// Encodes one log record payload: `RECORD_VERSION u8 | version u64 | n u32 | edits`.
/// The deleted-row bitmaps live in their own files: an `AddDeletionVector` edit carries the
/// file name and the cardinality only.
pub(crate) fn encode_record(version: u64, edits: &[Edit]) -> Vec<u8> {
    let mut e = Enc::default();
    e.u8(record_version_for(edits));
    e.u64(version);
    e.len(edits.len());
    for edit in edits {
        put_edit(&mut e, edit);
    }
    e.0
}

fn put_edit(e: &mut Enc, edit: &Edit) {
    match edit {
        Edit::CreatePartition { start, end } => {
            e.u8(1);
            e.i64(*start);
            e.i64(*end);
        }
        Edit::SetPartitionState { partition, state } => {
            e.u8(2);
            e.i64(*partition);
            e.u8(state.code());
        }
        Edit::AddSegment(s) => {
            e.u8(3);
            put_segment(e, s);
        }
        Edit::RemoveSegments(ids) => {
            e.u8(4);
            e.len(ids.len());
            for id in ids {
                e.u64(*id);
            }
        }
        Edit::AddDeletionVector {
            segment,
            file,
            bitmap,
        } => {
            e.u8(5);
            e.u64(*segment);
            e.str(file);
            e.u64(bitmap.len());
        }
        Edit::ChangeSchema(c) => {
            e.u8(6);
            match c {
                SchemaChange::AddColumn(f) => {
                    e.u8(1);
                    put_field(e, f);
                }
                SchemaChange::DropColumn(n) => {
                    e.u8(2);
                    e.str(n);
                }
                SchemaChange::ChangeType { column, to } => {
                    e.u8(3);
                    e.str(column);
                    put_type(e, to);
                }
            }
        }
        Edit::Merge(m) => {
            e.u8(7);
            e.len(m.inputs.len());
            for (id, seen) in &m.inputs {
                e.u64(*id);
                e.u64(*seen);
            }
            e.len(m.outputs.len());
            for s in &m.outputs {
                put_segment(e, s);
            }
        }
        Edit::ReserveSegmentIds { limit } => {
            e.u8(8);
            e.u64(*limit);
        }
        Edit::SetLogPosition(p) => {
            e.u8(9);
            e.u64(*p);
        }
        Edit::SetRetention(ms) => {
            e.u8(11);
            e.u64(*ms);
        }
        Edit::Retire { files, at_ms } => {
            e.u8(12);
            e.u64(*at_ms);
            e.len(files.len());
            for f in files {
                e.str(f);
            }
        }
        Edit::Forget(files) => {
            e.u8(13);
            e.len(files.len());
            for f in files {
                e.str(f);
            }
        }
        Edit::Token(t) => {
            e.u8(14);
            e.u64(*t);
        }
        Edit::SetCompression(c) => {
            e.u8(15);
            e.u8(c.code());
        }
        Edit::CoarsenPartitions { from, start, end } => {
            e.u8(10);
            e.len(from.len());
            for p in from {
                e.i64(*p);
            }
            e.i64(*start);
            e.i64(*end);
        }
    }
}

/// A decoded record: its version and edits. `AddDeletionVector` edits come with an empty
/// bitmap; their cardinalities are returned beside the record (same order), and recovery loads
/// the bitmaps of the vectors that are still live.
pub(crate) struct DecodedRecord {
    pub(crate) version: u64,
    pub(crate) edits: Vec<Edit>,
}

/// Result of decoding a record payload whose format byte is not ours.
pub(crate) enum RecordError {
    Version(u8),
    Decode(DecodeError),
}

impl From<DecodeError> for RecordError {
    fn from(e: DecodeError) -> Self {
        RecordError::Decode(e)
    }
}

pub(crate) fn decode_record(
    buf: &[u8],
) -> std::result::Result<(DecodedRecord, Vec<u64>), RecordError> {
    let mut d = Dec::new(buf);
    let v = d.u8()?;
    if v == 0 || v > RECORD_VERSION {
        return Err(RecordError::Version(v));
    }
    let version = d.u64()?;
    let n = d.count(1)?;
    let mut edits = Vec::with_capacity(n);
    let mut counts = Vec::new();
    for _ in 0..n {
        edits.push(get_edit(&mut d, &mut counts)?);
    }
    d.finish()?;
    Ok((DecodedRecord { version, edits }, counts))
}

fn get_edit(d: &mut Dec<'_>, counts: &mut Vec<u64>) -> DResult<Edit> {
    Ok(match d.u8()? {
        1 => Edit::CreatePartition {
            start: d.i64()?,
            end: d.i64()?,
        },
        2 => Edit::SetPartitionState {
            partition: d.i64()?,
            state: get_state(d)?,
        },
        3 => Edit::AddSegment(get_segment(d)?),
        4 => {
            let n = d.count(8)?;
            let mut ids = Vec::with_capacity(n);
            for _ in 0..n {
                ids.push(d.u64()?);
            }
            Edit::RemoveSegments(ids)
        }
        5 => {
            let segment = d.u64()?;
            let file = d.string()?;
            counts.push(d.u64()?);
            Edit::AddDeletionVector {
                segment,
                file,
                bitmap: Arc::new(RoaringBitmap::new()),
            }
        }
        6 => Edit::ChangeSchema(match d.u8()? {
            1 => SchemaChange::AddColumn(get_field(d)?),
            2 => SchemaChange::DropColumn(d.string()?),
            3 => SchemaChange::ChangeType {
                column: d.string()?,
                to: get_type(d)?,
            },
            c => return d.err(format!("unknown schema change {c}")),
        }),
        7 => {
            let n = d.count(16)?;
            let mut inputs = Vec::with_capacity(n);
            for _ in 0..n {
                inputs.push((d.u64()?, d.u64()?));
            }
            let n = d.count(SEGMENT_MIN)?;
            let mut outputs = Vec::with_capacity(n);
            for _ in 0..n {
                outputs.push(get_segment(d)?);
            }
            Edit::Merge(MergeCommit { inputs, outputs })
        }
        8 => Edit::ReserveSegmentIds { limit: d.u64()? },
        9 => Edit::SetLogPosition(d.u64()?),
        10 => {
            let n = d.count(8)?;
            let mut from = Vec::with_capacity(n);
            for _ in 0..n {
                from.push(d.i64()?);
            }
            Edit::CoarsenPartitions {
                from,
                start: d.i64()?,
                end: d.i64()?,
            }
        }
        11 => Edit::SetRetention(d.u64()?),
        12 => {
            let at_ms = d.u64()?;
            Edit::Retire {
                files: get_strings(d)?,
                at_ms,
            }
        }
        13 => Edit::Forget(get_strings(d)?),
        14 => Edit::Token(d.u64()?),
        15 => Edit::SetCompression(get_compression(d)?),
        t => return d.err(format!("unknown edit tag {t}")),
    })
}

/// A compression setting's byte; an unknown one is an error naming it.
fn get_compression(d: &mut Dec<'_>) -> DResult<Compression> {
    let c = d.u8()?;
    match Compression::from_code(c) {
        Some(c) => Ok(c),
        None => d.err(format!("unknown compression {c}")),
    }
}

fn get_strings(d: &mut Dec<'_>) -> DResult<Vec<String>> {
    let n = d.count(4)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(d.string()?);
    }
    Ok(out)
}

/// The lowest record format version that holds `edits`: 4 only for the retention edits, 5
/// only for a compression setting, so tables that never use them stay readable by older
/// builds.
fn record_version_for(edits: &[Edit]) -> u8 {
    let needs_5 = edits.iter().any(|e| matches!(e, Edit::SetCompression(_)));
    let needs_4 = edits.iter().any(|e| {
        matches!(
            e,
            Edit::SetRetention(_) | Edit::Retire { .. } | Edit::Forget(_) | Edit::Token(_)
        )
    });
    if needs_5 {
        5
    } else if needs_4 {
        4
    } else {
        3
    }
}

// ------------------------------------------------------------------ checkpoint

/// The lowest checkpoint format version that holds `state`: 5 only with a compression other
/// than the default, 4 only with a retention period or retired files.
pub(crate) fn checkpoint_version_for(state: &TableState) -> u32 {
    if state.compression != Compression::default() {
        5
    } else if state.retention_ms != 0 || !state.retired.is_empty() {
        4
    } else {
        3
    }
}

/// A whole checkpoint file of `state` at `generation`, framed.
pub(crate) fn checkpoint_file(state: &TableState, generation: u64) -> Vec<u8> {
    let v = checkpoint_version_for(state);
    frame_file(
        CHECKPOINT_MAGIC,
        v,
        &encode_checkpoint_payload_as(state, generation, v),
    )
}

/// Encodes the checkpoint payload of `state` at `generation`. Deletion vectors are referenced
/// by file name, with their version and cardinality.
#[cfg(test)]
pub(crate) fn encode_checkpoint_payload(state: &TableState, generation: u64) -> Vec<u8> {
    encode_checkpoint_payload_as(state, generation, CHECKPOINT_VERSION)
}

/// [`encode_checkpoint_payload`] in an older layout, for compatibility tests: version 2 has no
/// presence byte before the time column (the table must have one), version 1 also no log
/// position.
pub(crate) fn encode_checkpoint_payload_as(
    state: &TableState,
    generation: u64,
    version: u32,
) -> Vec<u8> {
    let mut e = Enc::default();
    e.u64(generation);
    e.u64(state.version);
    let c = &state.config;
    e.u32(c.schema.fields.len() as u32);
    for f in &c.schema.fields {
        put_field(&mut e, f);
    }
    e.len(c.schema.sort_key.len());
    for k in &c.schema.sort_key {
        e.str(k);
    }
    // Version 3: a presence byte before the time column's name.
    match (&c.time_column, version >= 3) {
        (Some(t), true) => {
            e.u8(1);
            e.str(t);
        }
        (Some(t), false) => e.str(t),
        (None, _) => e.u8(0),
    }
    e.u8(unit_code(c.time_unit));
    put_partitioning(&mut e, c.partitioning);
    e.u32(c.checkpoint_every);
    e.u32(state.schema.version);
    e.len(state.schema.columns.len());
    for col in &state.schema.columns {
        put_field(&mut e, &col.field);
        e.u32(col.since_version);
    }
    e.len(state.schema.sort_key.len());
    for k in &state.schema.sort_key {
        e.str(k);
    }
    e.len(state.schema.dropped.len());
    for k in &state.schema.dropped {
        e.str(k);
    }
    e.u64(state.segment_id_limit);
    e.len(state.partitions.len());
    for p in state.partitions.values() {
        e.i64(p.start);
        e.i64(p.end);
        e.u8(p.state.code());
        e.len(p.segments.len());
        for s in p.segments.values() {
            put_segment(&mut e, s);
            match &s.deletion {
                None => e.u8(0),
                Some(dv) => {
                    e.u8(1);
                    e.str(&dv.file);
                    e.u64(dv.version);
                    e.u64(dv.bitmap.len());
                }
            }
        }
    }
    if version >= 2 {
        e.u64(state.log_position);
    }
    if version >= 4 {
        e.u64(state.retention_ms);
        e.len(state.retired.len());
        for (f, at) in &state.retired {
            e.str(f);
            e.u64(*at);
        }
    }
    if version >= 5 {
        e.u8(state.compression.code());
    }
    e.0
}

/// A decoded checkpoint: the state with empty deletion bitmaps, and for each live segment with
/// a deletion vector its expected cardinality.
pub(crate) struct DecodedCheckpoint {
    pub(crate) generation: u64,
    pub(crate) state: TableState,
    /// Deletion-vector file name → cardinality.
    pub(crate) dv_counts: BTreeMap<String, u64>,
}

/// Decodes a checkpoint payload of file version `version` (1 to 5).
pub(crate) fn decode_checkpoint_payload(buf: &[u8], version: u32) -> DResult<DecodedCheckpoint> {
    let file_version = version;
    let mut d = Dec::new(buf);
    let generation = d.u64()?;
    let version = d.u64()?;
    let n = d.count(7)?;
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        fields.push(get_field(&mut d)?);
    }
    let n = d.count(4)?;
    let mut sort_key = Vec::with_capacity(n);
    for _ in 0..n {
        sort_key.push(d.string()?);
    }
    let time_column = if file_version < 3 || d.bool()? {
        Some(d.string()?)
    } else {
        None
    };
    let c = d.u8()?;
    let time_unit = unit_from(&d, c)?;
    let partitioning = get_partitioning(&mut d)?;
    let checkpoint_every = d.u32()?;
    let schema_version = d.u32()?;
    let n = d.count(10)?;
    let mut columns = Vec::with_capacity(n);
    for _ in 0..n {
        let field = get_field(&mut d)?;
        columns.push(ColumnInfo {
            field,
            since_version: d.u32()?,
        });
    }
    let n = d.count(4)?;
    let mut cur_sort = Vec::with_capacity(n);
    for _ in 0..n {
        cur_sort.push(d.string()?);
    }
    let n = d.count(4)?;
    let mut dropped = Vec::with_capacity(n);
    for _ in 0..n {
        dropped.push(d.string()?);
    }
    let segment_id_limit = d.u64()?;
    let n = d.count(21)?;
    let mut partitions = BTreeMap::new();
    let mut dv_counts = BTreeMap::new();
    for _ in 0..n {
        let start = d.i64()?;
        let end = d.i64()?;
        let state = get_state(&mut d)?;
        let ns = d.count(SEGMENT_MIN)?;
        let mut segments = BTreeMap::new();
        for _ in 0..ns {
            let mut s = get_segment(&mut d)?;
            if d.bool()? {
                let file = d.string()?;
                let version = d.u64()?;
                dv_counts.insert(file.clone(), d.u64()?);
                s.deletion = Some(DeletionVector {
                    file,
                    version,
                    bitmap: Arc::new(RoaringBitmap::new()),
                });
            }
            segments.insert(s.id, s);
        }
        partitions.insert(
            start,
            Partition {
                start,
                end,
                state,
                segments,
            },
        );
    }
    let log_position = if file_version >= 2 { d.u64()? } else { 0 };
    let mut retention_ms = 0;
    let mut retired = BTreeMap::new();
    if file_version >= 4 {
        retention_ms = d.u64()?;
        let n = d.count(12)?;
        for _ in 0..n {
            let f = d.string()?;
            retired.insert(f, d.u64()?);
        }
    }
    let compression = if file_version >= 5 {
        get_compression(&mut d)?
    } else {
        Compression::default()
    };
    d.finish()?;
    let mut schema = match strata_format::Schema::new(fields) {
        Ok(s) => s,
        Err(e) => return d.err(format!("bad table schema: {e}")),
    };
    schema.sort_key = sort_key;
    let config = TableConfig {
        schema,
        time_column,
        time_unit,
        partitioning,
        checkpoint_every,
    };
    Ok(DecodedCheckpoint {
        generation,
        state: TableState {
            version,
            config,
            schema: TableSchema {
                version: schema_version,
                columns,
                sort_key: cur_sort,
                dropped,
            },
            partitions,
            segment_id_limit,
            log_position,
            retention_ms,
            retired,
            compression,
        },
        dv_counts,
    })
}

/// Frames a payload: `magic | version u32 | len u64 | crc32c(payload) u32 | payload`.
pub(crate) fn frame_file(magic: &[u8; 8], version: u32, payload: &[u8]) -> Vec<u8> {
    let mut e = Enc(Vec::with_capacity(payload.len() + 24));
    e.0.extend_from_slice(magic);
    e.u32(version);
    e.u64(payload.len() as u64);
    e.u32(crc32c::crc32c(payload));
    e.0.extend_from_slice(payload);
    e.0
}

/// Why a framed file did not unframe.
pub(crate) enum FrameError {
    Version(u32),
    Decode(DecodeError),
}

impl From<DecodeError> for FrameError {
    fn from(e: DecodeError) -> Self {
        FrameError::Decode(e)
    }
}

/// Checks magic, version (1 up to `version`), length and CRC; returns the file's version and
/// its payload.
pub(crate) fn unframe_file<'a>(
    magic: &[u8; 8],
    version: u32,
    buf: &'a [u8],
) -> std::result::Result<(u32, &'a [u8]), FrameError> {
    let mut d = Dec::new(buf);
    if d.take(8)? != magic {
        return Err(FrameError::Decode(DecodeError {
            offset: 0,
            detail: "bad magic".into(),
        }));
    }
    let v = d.u32()?;
    if v == 0 || v > version {
        return Err(FrameError::Version(v));
    }
    let len = d.u64()?;
    let crc = d.u32()?;
    let start = d.pos;
    if len != d.remaining() as u64 {
        return Err(FrameError::Decode(DecodeError {
            offset: 12,
            detail: format!("payload length {len}, {} bytes present", d.remaining()),
        }));
    }
    let payload = d.take(d.remaining())?;
    if crc32c::crc32c(payload) != crc {
        return Err(FrameError::Decode(DecodeError {
            offset: start as u64,
            detail: "checksum mismatch".into(),
        }));
    }
    Ok((v, payload))
}

/// The bytes of a deletion-vector file for `segment`.
pub(crate) fn encode_dv(segment: u64, bitmap: &RoaringBitmap) -> Vec<u8> {
    let mut e = Enc::default();
    e.u64(segment);
    let mut b = Vec::with_capacity(bitmap.serialized_size());
    // Writing into a Vec cannot fail.
    let _ = bitmap.serialize_into(&mut b);
    e.0.extend_from_slice(&b);
    frame_file(DV_MAGIC, DV_VERSION, &e.0)
}

/// Parses a deletion-vector file's payload: the segment id and the bitmap.
pub(crate) fn decode_dv_payload(payload: &[u8]) -> DResult<(u64, RoaringBitmap)> {
    let mut d = Dec::new(payload);
    let seg = d.u64()?;
    let rest = d.take(d.remaining())?;
    match RoaringBitmap::deserialize_from(rest) {
        Ok(b) => Ok((seg, b)),
        Err(e) => d.err(format!("bad roaring bitmap: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(id: u64) -> SegmentEntry {
        SegmentEntry {
            id,
            file: format!("part-0/seg-{id}.strata"),
            partition: -86_400,
            rows: 10 + id,
            bytes: 1000,
            min_ts: -5,
            max_ts: 7,
            schema_version: 2,
            deletion: None,
        }
    }

    fn all_edits() -> Vec<Edit> {
        let tz = DataType::Timestamp(TimeUnit::Nanosecond, Some(Arc::from("+02:00")));
        vec![
            Edit::CreatePartition {
                start: -86_400,
                end: 0,
            },
            Edit::SetPartitionState {
                partition: -86_400,
                state: PartitionState::Merging,
            },
            Edit::AddSegment(entry(3)),
            Edit::RemoveSegments(vec![1, 2, u64::MAX]),
            Edit::ChangeSchema(SchemaChange::AddColumn(Field::new("when", tz, true))),
            Edit::ChangeSchema(SchemaChange::DropColumn("old".into())),
            Edit::ChangeSchema(SchemaChange::ChangeType {
                column: "x".into(),
                to: DataType::Int64,
            }),
            Edit::Merge(MergeCommit {
                inputs: vec![(1, 0), (2, 5)],
                outputs: vec![entry(8), entry(9)],
            }),
            Edit::ReserveSegmentIds { limit: 128 },
            Edit::CoarsenPartitions {
                from: vec![i64::MIN, -86_400, 0],
                start: i64::MIN,
                end: i64::MAX,
            },
            Edit::SetCompression(Compression::Small),
            Edit::SetCompression(Compression::Balanced),
        ]
    }

    /// A record is written at the lowest version that holds its edits: 5 only for a
    /// compression setting, so tables that never set one stay readable by older builds.
    #[test]
    fn only_a_compression_setting_needs_record_version_5() {
        let plain = encode_record(1, &[Edit::ReserveSegmentIds { limit: 9 }]);
        assert_eq!(plain[0], 3);
        let retention = encode_record(1, &[Edit::SetRetention(5)]);
        assert_eq!(retention[0], 4);
        let small = encode_record(1, &[Edit::SetCompression(Compression::Small)]);
        assert_eq!(small[0], 5);
        let mut unknown = small.clone();
        *unknown.last_mut().unwrap() = 9;
        match decode_record(&unknown) {
            Err(RecordError::Decode(e)) => {
                assert!(e.detail.contains("unknown compression 9"), "{}", e.detail)
            }
            Err(RecordError::Version(v)) => panic!("version {v}"),
            Ok(_) => panic!("an unknown compression decoded"),
        }
    }

    #[test]
    fn every_edit_kind_round_trips() {
        let edits = all_edits();
        let bytes = encode_record(42, &edits);
        let Ok((rec, counts)) = decode_record(&bytes) else {
            panic!("decode failed")
        };
        assert_eq!(rec.version, 42);
        assert_eq!(rec.edits, edits);
        assert!(counts.is_empty());
        // Deletion vectors travel as file name + cardinality.
        let mut b = RoaringBitmap::new();
        b.insert_range(3..9);
        let dv = Edit::AddDeletionVector {
            segment: 3,
            file: "part-0/dv-3-4.roaring".into(),
            bitmap: Arc::new(b),
        };
        let Ok((rec, counts)) = decode_record(&encode_record(1, &[dv])) else {
            panic!()
        };
        assert_eq!(counts, vec![6]);
        assert!(
            matches!(&rec.edits[0], Edit::AddDeletionVector { segment: 3, file, .. } if file == "part-0/dv-3-4.roaring")
        );
    }

    #[test]
    fn unknown_record_version_is_reported() {
        let mut bytes = encode_record(1, &all_edits());
        bytes[0] = 9;
        assert!(matches!(
            decode_record(&bytes),
            Err(RecordError::Version(9))
        ));
    }

    #[test]
    fn deletion_vector_file_round_trips_and_checks_its_crc() {
        let mut b = RoaringBitmap::new();
        b.insert_range(0..70_000);
        b.insert(1 << 20);
        let bytes = encode_dv(77, &b);
        let (_, payload) = unframe_file(DV_MAGIC, DV_VERSION, &bytes).ok().unwrap();
        let (seg, got) = decode_dv_payload(payload).ok().unwrap();
        assert_eq!((seg, got), (77, b));
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(unframe_file(DV_MAGIC, DV_VERSION, &bad).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_record(&bytes);
            let _ = decode_checkpoint_payload(&bytes, CHECKPOINT_VERSION);
            let _ = decode_dv_payload(&bytes);
            let _ = unframe_file(CHECKPOINT_MAGIC, CHECKPOINT_VERSION, &bytes);
        }

        #[test]
        fn truncated_records_are_errors(cut in 0usize..200) {
            let bytes = encode_record(7, &all_edits());
            let cut = cut.min(bytes.len() - 1);
            prop_assert!(decode_record(&bytes[..cut]).is_err());
        }
    }
}
