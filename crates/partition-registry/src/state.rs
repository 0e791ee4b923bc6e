//! The table state as an immutable value, the edits that change it, and their validation.
//!
//! [`TableState::apply_record`] is the single place where edits take effect: commits validate an edit
//! by applying it to a copy before writing it to the log, and recovery replays the log through
//! the same function, so a replayed state is the committed state by construction.

use std::collections::BTreeMap;
use std::sync::Arc;

use roaring::RoaringBitmap;
use strata_format::{DataType, Field, Schema, TimeUnit};

use crate::error::{RegistryError, Result};
use crate::partitioning::{Partitioning, units_per_second};

/// A segment's id. Ids are never reused, so a deletion vector (keyed by id) can only ever
/// apply to the segment it was computed on.
pub type SegmentId = u64;

/// A partition's life cycle: `Active → Sealed → (Merging → Sealed)* → Deleted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionState {
    /// Takes new segments.
    Active,
    /// Takes no new segments; its data is final (except deletes and merges).
    Sealed,
    /// A merge of its segments is in progress. Fully queryable.
    Merging,
    /// Dropped; a tombstone with no segments.
    Deleted,
}

impl PartitionState {
    /// Whether `self → to` is a legal transition.
    pub fn can_become(self, to: PartitionState) -> bool {
        use PartitionState::*;
        matches!(
            (self, to),
            (Active, Sealed) | (Sealed, Merging) | (Merging, Sealed) | (Sealed, Deleted)
        )
    }

    /// Whether scans see the partition's segments (every state but `Deleted`).
    pub fn is_queryable(self) -> bool {
        self != PartitionState::Deleted
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            PartitionState::Active => 1,
            PartitionState::Sealed => 2,
            PartitionState::Merging => 3,
            PartitionState::Deleted => 4,
        }
    }

    pub(crate) fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            1 => PartitionState::Active,
            2 => PartitionState::Sealed,
            3 => PartitionState::Merging,
            4 => PartitionState::Deleted,
            _ => return None,
        })
    }
}

/// The deleted rows of one segment, as of one manifest version.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletionVector {
    /// File name (relative to the table directory), `part-<start>/dv-<segment>-<version>.roaring`.
    pub file: String,
    /// Manifest version that committed it.
    pub version: u64,
    /// Row positions deleted (cumulative: a superset of every earlier vector of the segment).
    pub bitmap: Arc<RoaringBitmap>,
}

/// One live segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentEntry {
    /// Unique, never reused.
    pub id: SegmentId,
    /// File name relative to the table directory, `part-<start>/seg-<id>.strata`.
    pub file: String,
    /// Start of its partition.
    pub partition: i64,
    /// Rows in the file.
    pub rows: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// Smallest timestamp (the key range of the partitioning column).
    pub min_ts: i64,
    /// Largest timestamp.
    pub max_ts: i64,
    /// Table schema version the segment was written with.
    pub schema_version: u32,
    /// Deleted rows, if any.
    pub deletion: Option<DeletionVector>,
}

impl SegmentEntry {
    /// Rows deleted by its deletion vector.
    pub fn deleted_rows(&self) -> u64 {
        self.deletion.as_ref().map_or(0, |d| d.bitmap.len())
    }

    /// Estimated bytes held by deleted rows: `deleted × bytes / rows`.
    pub fn dead_bytes(&self) -> u64 {
        if self.rows == 0 {
            return 0;
        }
        let dead = u128::from(self.deleted_rows()) * u128::from(self.bytes) / u128::from(self.rows);
        u64::try_from(dead).unwrap_or(u64::MAX)
    }
}

/// Dead space (deleted rows and their estimated bytes), the compactor's trigger input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeadSpace {
    /// Deleted rows.
    pub rows: u64,
    /// Estimated bytes of the deleted rows.
    pub bytes: u64,
    /// All rows (live and deleted).
    pub total_rows: u64,
    /// All bytes.
    pub total_bytes: u64,
}

/// One time partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// Interval start (the partition's key).
    pub start: i64,
    /// Interval end, exclusive.
    pub end: i64,
    /// Life-cycle state.
    pub state: PartitionState,
    /// Live segments by id.
    pub segments: BTreeMap<SegmentId, SegmentEntry>,
}

impl Partition {
    /// Folder of the partition, relative to the table directory.
    pub fn dir_name(&self) -> String {
        partition_dir_name(self.start)
    }

    /// Dead space over its segments.
    pub fn dead_space(&self) -> DeadSpace {
        let mut d = DeadSpace::default();
        for s in self.segments.values() {
            d.rows += s.deleted_rows();
            d.bytes += s.dead_bytes();
            d.total_rows += s.rows;
            d.total_bytes += s.bytes;
        }
        d
    }
}

/// Folder name of the partition starting at `start`.
pub fn partition_dir_name(start: i64) -> String {
    if start == i64::MIN {
        // The partition of a table without time partitions (Partitioning::None).
        "part-all".to_string()
    } else {
        format!("part-{start}")
    }
}

/// A column of the table schema and the schema version that added it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    /// The column.
    pub field: Field,
    /// Schema version in which this column (under this name) was added; segments written
    /// with an older version read it as nulls even if their file has a column of that name.
    pub since_version: u32,
}

/// The table schema with its evolution history.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    /// Incremented by every schema change; 0 at creation.
    pub version: u32,
    /// Current columns, in order.
    pub columns: Vec<ColumnInfo>,
    /// Sort key column names.
    pub sort_key: Vec<String>,
    /// Names of dropped columns. They cannot be added again: segments written before the drop
    /// still hold the old values under that name, and scans match columns by name.
    pub dropped: Vec<String>,
}

impl TableSchema {
    /// The current schema.
    pub fn schema(&self) -> Schema {
        Schema {
            fields: self.columns.iter().map(|c| c.field.clone()).collect(),
            sort_key: self.sort_key.clone(),
        }
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.field.name == name)
    }
}

/// A schema change.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaChange {
    /// Adds a nullable column at the end; older segments read it as nulls.
    AddColumn(Field),
    /// Drops a column (metadata only; not the time column nor a sort-key column).
    DropColumn(String),
    /// Widens a column's type (see [`is_widening`]); anything else is an incompatible change.
    ChangeType {
        /// The column.
        column: String,
        /// The new type.
        to: DataType,
    },
}

/// Whether values of `from` convert losslessly to `to`, so old segments can be read as `to`.
pub fn is_widening(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    matches!(
        (from, to),
        (Int8, Int16 | Int32 | Int64)
            | (Int16, Int32 | Int64)
            | (Int32, Int64)
            | (UInt8, UInt16 | UInt32 | UInt64 | Int16 | Int32 | Int64)
            | (UInt16, UInt32 | UInt64 | Int32 | Int64)
            | (UInt32, UInt64 | Int64)
            | (Float32, Float64)
            | (Utf8, LargeUtf8)
    )
}

/// A merge: inputs leave and outputs arrive in one edit.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeCommit {
    /// Input segments and the deleted-row count the merge saw for each; a different count now
    /// (a delete landed meanwhile) is a [`RegistryError::MergeConflict`].
    pub inputs: Vec<(SegmentId, u64)>,
    /// Output segments (without deletion vectors).
    pub outputs: Vec<SegmentEntry>,
}

/// One change to the table state. A commit writes one or more edits as one log record.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// A new, active partition `[start, end)` not overlapping any other.
    CreatePartition {
        /// Start.
        start: i64,
        /// End, exclusive.
        end: i64,
    },
    /// A partition state transition (must be legal). `Deleted` drops the partition's segments.
    SetPartitionState {
        /// The partition's start.
        partition: i64,
        /// The new state.
        state: PartitionState,
    },
    /// A new segment in an active partition (its `deletion` must be `None`).
    AddSegment(SegmentEntry),
    /// Segments leave the live set (with their deletion vectors).
    RemoveSegments(Vec<SegmentId>),
    /// A new deletion vector for a live segment: a superset of its previous one.
    AddDeletionVector {
        /// The segment.
        segment: SegmentId,
        /// File name relative to the table directory.
        file: String,
        /// The deleted rows.
        bitmap: Arc<RoaringBitmap>,
    },
    /// A schema change.
    ChangeSchema(SchemaChange),
    /// A merge commit.
    Merge(MergeCommit),
    /// Segment ids below `limit` may be handed out; recovery allocates from `limit` up.
    ReserveSegmentIds {
        /// New limit (greater than the current one).
        limit: u64,
    },
    /// The write-ahead log (kept by the facade above this crate) is covered by committed
    /// segments below this log sequence number: committed in the same record as the
    /// segments of a flush, so "the rows are in segments" and "their log is covered" are one
    /// durable step. Never decreases.
    SetLogPosition(u64),
    /// How long a file stays readable after a commit retires it (milliseconds; 0 = removed
    /// at once, the local layout's rule). Readers of older versions may assume every file of
    /// their version exists for this long after the version that retired it.
    SetRetention(u64),
    /// Files the same record stops referencing, retired at `at_ms` (milliseconds since the
    /// Unix epoch): garbage collection removes them once the retention period has passed.
    Retire {
        /// File names relative to the table directory.
        files: Vec<String>,
        /// When they were retired.
        at_ms: u64,
    },
    /// Retired files that garbage collection removed: they leave the retired list.
    Forget(Vec<String>),
    /// A random number making a record unique to one commit attempt (object layout): a writer
    /// that cannot tell whether its conditional put happened reads the record back, and two
    /// writers' records with the same edits must not look alike. Changes nothing.
    Token(u64),
    /// How the table's flushes and merges compress from the next segment on (segments
    /// already written keep their encoding until a merge rewrites them).
    SetCompression(Compression),
    /// Adjacent partitions rolled up into one coarser partition `[start, end)`: every
    /// partition overlapping it must be listed in `from` and lie inside it, and none may be
    /// Merging or Deleted. Their segments move to the new partition with their files (a
    /// segment's file keeps its path); it is Active if any of them was, else Sealed.
    CoarsenPartitions {
        /// Starts of the partitions rolled up.
        from: Vec<i64>,
        /// Start of the new partition.
        start: i64,
        /// End of the new partition, exclusive.
        end: i64,
    },
}

/// Settings fixed at table creation.
#[derive(Debug, Clone, PartialEq)]
pub struct TableConfig {
    /// Initial schema.
    pub schema: Schema,
    /// The timestamp column partitions are cut on (`Timestamp(_)` or `Int64`); `None` for a
    /// table without one, which is a single partition ([`Partitioning::None`]).
    pub time_column: Option<String>,
    /// Unit of the time column (must match a `Timestamp` column's unit).
    pub time_unit: TimeUnit,
    /// How time is cut into partitions.
    pub partitioning: Partitioning,
    /// Records in the log that trigger an automatic checkpoint (0 = never automatically).
    pub checkpoint_every: u32,
}

impl TableConfig {
    /// A configuration with a checkpoint every 1000 records; the unit is taken from a
    /// `Timestamp` time column (milliseconds for `Int64`).
    pub fn new(
        schema: Schema,
        time_column: impl Into<String>,
        partitioning: Partitioning,
    ) -> Result<Self> {
        let time_column = time_column.into();
        let time_unit = match schema
            .index_of(&time_column)
            .and_then(|i| schema.field(i))
            .map(|f| &f.data_type)
        {
            Some(DataType::Timestamp(u, _)) => *u,
            _ => TimeUnit::Millisecond,
        };
        let c = Self {
            schema,
            time_column: Some(time_column),
            time_unit,
            partitioning,
            checkpoint_every: 1000,
        };
        c.validate()?;
        Ok(c)
    }

    /// A table without a time column: one partition, rows kept in the schema's sort key order
    /// (insertion order when it has none).
    pub fn without_time(schema: Schema) -> Result<Self> {
        let c = Self {
            schema,
            time_column: None,
            time_unit: TimeUnit::Millisecond,
            partitioning: Partitioning::None,
            checkpoint_every: 1000,
        };
        c.validate()?;
        Ok(c)
    }

    /// The time column, if the table has one.
    pub fn time_column(&self) -> Option<&str> {
        self.time_column.as_deref()
    }

    /// Whether `name` is the time column.
    pub fn is_time_column(&self, name: &str) -> bool {
        self.time_column() == Some(name)
    }

    /// Checks the time column and the partitioning.
    pub fn validate(&self) -> Result<()> {
        self.partitioning.validate()?;
        let Some(time_column) = self.time_column() else {
            return match self.partitioning {
                Partitioning::None => Ok(()),
                p => Err(RegistryError::InvalidConfig(format!(
                    "partitioning {p:?} needs a time column; a table without one is a single \
                     partition (Partitioning::None)"
                ))),
            };
        };
        let field = self
            .schema
            .index_of(time_column)
            .and_then(|i| self.schema.field(i))
            .ok_or_else(|| {
                RegistryError::InvalidConfig(format!("no time column {time_column:?}"))
            })?;
        match &field.data_type {
            DataType::Int64 => Ok(()),
            DataType::Timestamp(u, _) if *u == self.time_unit => Ok(()),
            DataType::Timestamp(u, _) => Err(RegistryError::InvalidConfig(format!(
                "time column {time_column:?} is in {}, but the table's time unit is {}",
                u.short_name(),
                self.time_unit.short_name()
            ))),
            other => Err(RegistryError::InvalidConfig(format!(
                "time column {time_column:?} has type {other}; a time column is a timestamp \
                 (any unit) or Int64"
            ))),
        }
    }
}

/// The whole table state: an immutable value, replaced (never mutated) by each commit.
#[derive(Debug, Clone, PartialEq)]
pub struct TableState {
    /// Manifest version: the number of records committed since creation.
    pub version: u64,
    /// Creation settings.
    pub config: TableConfig,
    /// Current schema and its history.
    pub schema: TableSchema,
    /// Partitions by start.
    pub partitions: BTreeMap<i64, Partition>,
    /// Segment ids below this may have been handed out.
    pub segment_id_limit: u64,
    /// The first write-ahead-log sequence number not covered by committed segments
    /// ([`Edit::SetLogPosition`]; 0 for a table that never recorded one).
    pub log_position: u64,
    /// How long retired files stay readable, in milliseconds ([`Edit::SetRetention`]).
    pub retention_ms: u64,
    /// Retired files not yet collected: file name → when it was retired ([`Edit::Retire`]).
    pub retired: BTreeMap<String, u64>,
    /// How flushes and merges compress ([`Edit::SetCompression`]).
    pub compression: Compression,
}

/// How hard a table's flushes and merges compress its segments: a setting of the table, kept
/// in its manifest ([`Edit::SetCompression`]), so every writer of the table and every later
/// merge follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// The light-weight cascades and the zstd stage over blocks: the default, chosen for read
    /// and write speed.
    #[default]
    Balanced,
    /// Also the entropy-coded leaf of the codec (`EncodeOptions::entropy`): on the benchmark's
    /// tables 5-22 % smaller segments than `Balanced`, for writes and one-thread reads at about
    /// 0.45-0.9 of its speed (docs/benchmarks.md).
    Small,
}

impl Compression {
    /// Every setting, in the order of their codes.
    pub const ALL: [Compression; 2] = [Compression::Balanced, Compression::Small];

    /// Its name: `balanced` or `small`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Balanced => "balanced",
            Compression::Small => "small",
        }
    }

    /// The setting called `name` (see [`Self::name`]).
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                RegistryError::InvalidConfig(format!(
                    "unknown compression {name:?} (expected balanced or small)"
                ))
            })
    }

    /// Its byte in the manifest.
    pub(crate) fn code(self) -> u8 {
        match self {
            Compression::Balanced => 0,
            Compression::Small => 1,
        }
    }

    /// The setting of manifest byte `code`.
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// `opts` as this setting writes: `Small` turns the entropy-coded leaf on; `Balanced`
    /// leaves `opts` as they are (options that turn the leaf on keep it).
    pub fn apply(self, mut opts: strata_writer::WriterOptions) -> strata_writer::WriterOptions {
        if self == Compression::Small {
            opts.block.encode.entropy = true;
        }
        opts
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl TableState {
    /// The state of a new table.
    pub fn new(config: TableConfig) -> Result<Self> {
        config.validate()?;
        let schema = TableSchema {
            version: 0,
            columns: config
                .schema
                .fields
                .iter()
                .map(|f| ColumnInfo {
                    field: f.clone(),
                    since_version: 0,
                })
                .collect(),
            sort_key: config.schema.sort_key.clone(),
            dropped: Vec::new(),
        };
        Ok(Self {
            version: 0,
            config,
            schema,
            partitions: BTreeMap::new(),
            segment_id_limit: 0,
            log_position: 0,
            retention_ms: 0,
            retired: BTreeMap::new(),
            compression: Compression::default(),
        })
    }

    /// Every file the live segments reference (segment files and deletion vectors), relative
    /// to the table directory.
    pub fn live_files(&self) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for s in self.segments() {
            out.insert(s.file.clone());
            if let Some(dv) = &s.deletion {
                out.insert(dv.file.clone());
            }
        }
        out
    }

    /// The live segment `id`.
    pub fn segment(&self, id: SegmentId) -> Option<&SegmentEntry> {
        self.partitions.values().find_map(|p| p.segments.get(&id))
    }

    fn segment_mut(&mut self, id: SegmentId) -> Option<&mut SegmentEntry> {
        self.partitions
            .values_mut()
            .find_map(|p| p.segments.get_mut(&id))
    }

    /// Every live segment, by partition then id.
    pub fn segments(&self) -> impl Iterator<Item = &SegmentEntry> {
        self.partitions.values().flat_map(|p| p.segments.values())
    }

    /// The partition whose interval holds `t`.
    pub fn partition_containing(&self, t: i64) -> Option<&Partition> {
        self.partitions
            .range(..=t)
            .next_back()
            .map(|(_, p)| p)
            .filter(|p| t < p.end)
    }

    /// Dead space of the whole table.
    pub fn dead_space(&self) -> DeadSpace {
        let mut d = DeadSpace::default();
        for p in self.partitions.values() {
            let x = p.dead_space();
            d.rows += x.rows;
            d.bytes += x.bytes;
            d.total_rows += x.total_rows;
            d.total_bytes += x.total_bytes;
        }
        d
    }

    /// Observed ingest rate in rows per second over the live segments, for
    /// [`Partitioning::Auto`]: total rows over the span from the smallest to the largest
    /// timestamp. `None` before any segment.
    pub fn ingest_rate(&self) -> Option<f64> {
        self.data_rate(None)
    }

    /// Rows per second of the data's own time over the live segments and `extra` rows
    /// (`(rows, min, max)` timestamps of rows not yet in a segment): what
    /// [`Partitioning::Auto`] decides from. Spans under a second count as a second; `None`
    /// without rows.
    pub fn data_rate(&self, extra: Option<(u64, i64, i64)>) -> Option<f64> {
        let mut rows = 0u64;
        let mut lo = i64::MAX;
        let mut hi = i64::MIN;
        let ranges = self
            .segments()
            .map(|s| (s.rows, s.min_ts, s.max_ts))
            .chain(extra);
        for (n, min, max) in ranges.filter(|(n, _, _)| *n > 0) {
            rows += n;
            lo = lo.min(min);
            hi = hi.max(max);
        }
        if rows == 0 {
            return None;
        }
        let span_units = (i128::from(hi) - i128::from(lo)).max(1) as f64;
        let span_s = span_units / units_per_second(self.config.time_unit) as f64;
        Some(rows as f64 / span_s.max(1.0))
    }

    /// The interval a new partition for `t` would get: the configured interval (Auto resolved
    /// from [`TableState::ingest_rate`]) clipped so it overlaps no existing partition.
    pub fn new_partition_interval(&self, t: i64) -> Result<(i64, i64)> {
        self.new_partition_interval_with(t, self.ingest_rate())
    }

    /// [`TableState::new_partition_interval`] with Auto resolved at `rate` rows per second.
    pub fn new_partition_interval_with(&self, t: i64, rate: Option<f64>) -> Result<(i64, i64)> {
        let (mut start, mut end) =
            self.config
                .partitioning
                .interval(t, self.config.time_unit, rate)?;
        if let Some((_, prev)) = self.partitions.range(..=t).next_back() {
            start = start.max(prev.end);
        }
        if let Some((&next, _)) = self.partitions.range(t.saturating_add(1)..).next() {
            end = end.min(next);
        }
        Ok((start, end))
    }

    /// Applies one record's edits: validates each against the state so far and bumps the
    /// version. On error `self` may be partly changed; callers apply to a copy.
    pub fn apply_record(&mut self, edits: &[Edit]) -> Result<()> {
        self.version += 1;
        for e in edits {
            self.apply(e)?;
        }
        Ok(())
    }

    fn check_new_segment(&self, s: &SegmentEntry, merging: bool) -> Result<()> {
        let bad = |detail: String| RegistryError::InvalidSegment { id: s.id, detail };
        if s.id >= self.segment_id_limit || self.segment(s.id).is_some() {
            return Err(RegistryError::SegmentIdReused(s.id));
        }
        if s.deletion.is_some() {
            return Err(bad("a new segment cannot carry a deletion vector".into()));
        }
        let p = self
            .partitions
            .get(&s.partition)
            .ok_or(RegistryError::UnknownPartition(s.partition))?;
        let ok_state = if merging {
            p.state.is_queryable()
        } else {
            p.state == PartitionState::Active
        };
        if !ok_state {
            return Err(bad(format!("partition {} is {:?}", s.partition, p.state)));
        }
        if s.rows > 0 && (s.min_ts > s.max_ts || s.min_ts < p.start || s.max_ts >= p.end) {
            return Err(bad(format!(
                "timestamps [{}, {}] outside partition [{}, {})",
                s.min_ts, s.max_ts, p.start, p.end
            )));
        }
        if s.schema_version > self.schema.version {
            return Err(bad(format!(
                "schema version {} is newer than the table's {}",
                s.schema_version, self.schema.version
            )));
        }
        Ok(())
    }

    fn insert_segment(&mut self, s: &SegmentEntry) -> Result<()> {
        let p = self
            .partitions
            .get_mut(&s.partition)
            .ok_or(RegistryError::UnknownPartition(s.partition))?;
        p.segments.insert(s.id, s.clone());
        Ok(())
    }

    fn remove_segment(&mut self, id: SegmentId) -> Result<SegmentEntry> {
        self.partitions
            .values_mut()
            .find_map(|p| p.segments.remove(&id))
            .ok_or(RegistryError::UnknownSegment(id))
    }

    fn apply(&mut self, edit: &Edit) -> Result<()> {
        match edit {
            Edit::CreatePartition { start, end } => {
                let invalid = |detail: &str| RegistryError::InvalidPartition {
                    start: *start,
                    end: *end,
                    detail: detail.to_string(),
                };
                if start >= end {
                    return Err(invalid("empty interval"));
                }
                let overlaps = self
                    .partitions
                    .values()
                    .any(|p| p.start < *end && *start < p.end);
                if overlaps {
                    return Err(invalid("overlaps an existing partition"));
                }
                self.partitions.insert(
                    *start,
                    Partition {
                        start: *start,
                        end: *end,
                        state: PartitionState::Active,
                        segments: BTreeMap::new(),
                    },
                );
            }
            Edit::SetPartitionState { partition, state } => {
                let p = self
                    .partitions
                    .get_mut(partition)
                    .ok_or(RegistryError::UnknownPartition(*partition))?;
                if !p.state.can_become(*state) {
                    return Err(RegistryError::IllegalTransition {
                        partition: *partition,
                        from: p.state,
                        to: *state,
                    });
                }
                p.state = *state;
                if *state == PartitionState::Deleted {
                    p.segments.clear();
                }
            }
            Edit::AddSegment(s) => {
                self.check_new_segment(s, false)?;
                self.insert_segment(s)?;
            }
            Edit::RemoveSegments(ids) => {
                for id in ids {
                    self.remove_segment(*id)?;
                }
            }
            Edit::AddDeletionVector {
                segment,
                file,
                bitmap,
            } => {
                let version = self.version;
                let s = self
                    .segment_mut(*segment)
                    .ok_or(RegistryError::UnknownSegment(*segment))?;
                if bitmap.max().is_some_and(|m| u64::from(m) >= s.rows) {
                    return Err(RegistryError::InvalidSegment {
                        id: *segment,
                        detail: format!("deletion vector beyond its {} rows", s.rows),
                    });
                }
                if let Some(old) = &s.deletion
                    && !old.bitmap.is_subset(bitmap)
                {
                    return Err(RegistryError::InvalidSegment {
                        id: *segment,
                        detail: "a deletion vector must keep every earlier deleted row".into(),
                    });
                }
                s.deletion = Some(DeletionVector {
                    file: file.clone(),
                    version,
                    bitmap: Arc::clone(bitmap),
                });
            }
            Edit::ChangeSchema(change) => self.apply_schema_change(change)?,
            Edit::Merge(m) => {
                for (id, seen) in &m.inputs {
                    let s = self
                        .segment(*id)
                        .ok_or(RegistryError::UnknownSegment(*id))?;
                    if s.deleted_rows() != *seen {
                        return Err(RegistryError::MergeConflict {
                            segment: *id,
                            detail: format!(
                                "the merge saw {seen} deleted rows, there are {} now",
                                s.deleted_rows()
                            ),
                        });
                    }
                }
                for (id, _) in &m.inputs {
                    self.remove_segment(*id)?;
                }
                for s in &m.outputs {
                    self.check_new_segment(s, true)?;
                    self.insert_segment(s)?;
                }
            }
            Edit::ReserveSegmentIds { limit } => {
                if *limit <= self.segment_id_limit {
                    return Err(RegistryError::InvalidConfig(format!(
                        "segment id limit {limit} does not grow past {}",
                        self.segment_id_limit
                    )));
                }
                self.segment_id_limit = *limit;
            }
            Edit::CoarsenPartitions { from, start, end } => self.coarsen(from, *start, *end)?,
            Edit::SetRetention(ms) => self.retention_ms = *ms,
            Edit::SetCompression(c) => self.compression = *c,
            Edit::Retire { files, at_ms } => {
                for f in files {
                    self.retired.entry(f.clone()).or_insert(*at_ms);
                }
            }
            Edit::Forget(files) => {
                for f in files {
                    self.retired.remove(f);
                }
            }
            Edit::Token(_) => {}
            Edit::SetLogPosition(p) => {
                if *p < self.log_position {
                    return Err(RegistryError::InvalidConfig(format!(
                        "log position {p} goes back from {}",
                        self.log_position
                    )));
                }
                self.log_position = *p;
            }
        }
        Ok(())
    }

    fn coarsen(&mut self, from: &[i64], start: i64, end: i64) -> Result<()> {
        let invalid = |detail: String| RegistryError::InvalidPartition { start, end, detail };
        if start >= end {
            return Err(invalid("empty interval".into()));
        }
        let covered: Vec<i64> = self
            .partitions
            .values()
            .filter(|p| p.start < end && start < p.end)
            .map(|p| p.start)
            .collect();
        let mut listed = from.to_vec();
        listed.sort_unstable();
        listed.dedup();
        if listed.len() != from.len() || listed != covered || listed.is_empty() {
            return Err(invalid(format!(
                "rolls up partitions {from:?}, but the partitions it overlaps are {covered:?}"
            )));
        }
        let mut segments = BTreeMap::new();
        let mut active = false;
        for p in &listed {
            let part = self
                .partitions
                .remove(p)
                .ok_or(RegistryError::UnknownPartition(*p))?;
            if part.start < start || part.end > end {
                return Err(invalid(format!(
                    "partition [{}, {}) is not inside it",
                    part.start, part.end
                )));
            }
            if !matches!(part.state, PartitionState::Active | PartitionState::Sealed) {
                return Err(invalid(format!(
                    "partition {} is {:?}",
                    part.start, part.state
                )));
            }
            active |= part.state == PartitionState::Active;
            for (id, mut seg) in part.segments {
                seg.partition = start;
                segments.insert(id, seg);
            }
        }
        self.partitions.insert(
            start,
            Partition {
                start,
                end,
                state: if active {
                    PartitionState::Active
                } else {
                    PartitionState::Sealed
                },
                segments,
            },
        );
        Ok(())
    }

    fn apply_schema_change(&mut self, change: &SchemaChange) -> Result<()> {
        let next = self.schema.version + 1;
        match change {
            SchemaChange::AddColumn(f) => {
                if !f.nullable {
                    return Err(RegistryError::InvalidSchemaChange(format!(
                        "new column {:?} must be nullable (older segments read it as nulls)",
                        f.name
                    )));
                }
                if self.schema.dropped.contains(&f.name) {
                    return Err(RegistryError::InvalidSchemaChange(format!(
                        "column {:?} was dropped and cannot be added again",
                        f.name
                    )));
                }
                if self.schema.index_of(&f.name).is_some() {
                    return Err(RegistryError::InvalidSchemaChange(format!(
                        "column {:?} already exists",
                        f.name
                    )));
                }
                self.schema.columns.push(ColumnInfo {
                    field: f.clone(),
                    since_version: next,
                });
            }
            SchemaChange::DropColumn(name) => {
                let i = self.schema.index_of(name).ok_or_else(|| {
                    RegistryError::InvalidSchemaChange(format!("no column {name:?}"))
                })?;
                if self.config.is_time_column(name) || self.schema.sort_key.contains(name) {
                    return Err(RegistryError::InvalidSchemaChange(format!(
                        "column {name:?} is the time column or in the sort key"
                    )));
                }
                self.schema.columns.remove(i);
                self.schema.dropped.push(name.clone());
            }
            SchemaChange::ChangeType { column, to } => {
                let i = self.schema.index_of(column).ok_or_else(|| {
                    RegistryError::InvalidSchemaChange(format!("no column {column:?}"))
                })?;
                let from = self.schema.columns[i].field.data_type.clone();
                if self.config.is_time_column(column) || !is_widening(&from, to) {
                    return Err(RegistryError::IncompatibleTypeChange {
                        column: column.clone(),
                        from: from.to_string(),
                        to: to.to_string(),
                    });
                }
                self.schema.columns[i].field.data_type = to.clone();
            }
        }
        self.schema.version = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(p: Partitioning) -> TableState {
        let schema = Schema::new(vec![Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Second, None),
            false,
        )])
        .unwrap();
        TableState::new(TableConfig::new(schema, "ts", p).unwrap()).unwrap()
    }

    fn add(s: &mut TableState, start: i64, end: i64, rows: u64, lo: i64, hi: i64) {
        let id = s.segment_id_limit;
        s.apply_record(&[
            Edit::ReserveSegmentIds { limit: id + 1 },
            Edit::CreatePartition { start, end },
            Edit::AddSegment(SegmentEntry {
                id,
                file: format!("part-{start}/seg-{id}.strata"),
                partition: start,
                rows,
                bytes: 100,
                min_ts: lo,
                max_ts: hi,
                schema_version: 0,
                deletion: None,
            }),
        ])
        .unwrap();
    }

    #[test]
    fn auto_resolves_from_the_rate_and_clips_to_neighbours() {
        let mut s = state(Partitioning::Auto);
        // Nothing observed: a day.
        assert_eq!(s.new_partition_interval(10).unwrap(), (0, 86_400));
        // 10 000 rows per second: hours.
        add(&mut s, 0, 3600, 36_000_000, 0, 3599);
        assert_eq!(s.ingest_rate(), Some(36_000_000.0 / 3599.0));
        assert_eq!(s.new_partition_interval(4000).unwrap(), (3600, 7200));
        // Then the rate drops: a day-long partition for later data stays clear of the hour.
        let mut slow = state(Partitioning::Auto);
        add(&mut slow, 3600, 7200, 10, 3600, 7000);
        // Ten rows in an hour: even a year would hold too few, so the rest of time is one
        // partition on each side of the existing one.
        let (a, b) = slow.new_partition_interval(100).unwrap();
        assert_eq!(
            (a, b),
            (i64::MIN, 3600),
            "clipped before the existing partition"
        );
        let (a, b) = slow.new_partition_interval(8000).unwrap();
        assert_eq!((a, b), (7200, i64::MAX), "clipped after it");
        // A thousand rows a second: a month holds ~2.6 G rows... an hour 3.6 M: hours.
        let (a, b) = slow
            .new_partition_interval_with(8000, slow.data_rate(Some((3_600_000, 7200, 10_800))))
            .unwrap();
        assert_eq!((a, b), (7200, 10_800));
    }

    #[test]
    fn overlapping_or_empty_partitions_and_out_of_range_segments_are_refused() {
        let mut s = state(Partitioning::Day);
        add(&mut s, 0, 86_400, 5, 1, 2);
        for (a, b) in [(10, 20), (-5, 1), (86_400, 86_400)] {
            let mut c = s.clone();
            let e = c
                .apply_record(&[Edit::CreatePartition { start: a, end: b }])
                .unwrap_err();
            assert!(
                matches!(e, RegistryError::InvalidPartition { .. }),
                "{a}..{b}"
            );
        }
        let mut c = s.clone();
        let mut entry = s.segments().next().unwrap().clone();
        entry.id = 99;
        let e = c
            .apply_record(&[Edit::AddSegment(entry.clone())])
            .unwrap_err();
        assert!(matches!(e, RegistryError::SegmentIdReused(99)));
        c.apply_record(&[Edit::ReserveSegmentIds { limit: 200 }])
            .unwrap();
        entry.max_ts = 86_400;
        let e = c.apply_record(&[Edit::AddSegment(entry)]).unwrap_err();
        assert!(matches!(e, RegistryError::InvalidSegment { id: 99, .. }));
        // Segment 0 is live: its id cannot come back either.
        let mut again = s.segments().next().unwrap().clone();
        again.file = "other".into();
        let e = c.apply_record(&[Edit::AddSegment(again)]).unwrap_err();
        assert!(matches!(e, RegistryError::SegmentIdReused(0)));
    }

    #[test]
    fn deletion_vectors_only_grow_and_merges_detect_conflicts() {
        let mut s = state(Partitioning::Day);
        add(&mut s, 0, 86_400, 5, 1, 2);
        let dv = |rows: &[u32]| Edit::AddDeletionVector {
            segment: 0,
            file: "dv".into(),
            bitmap: Arc::new(rows.iter().copied().collect()),
        };
        s.apply_record(&[dv(&[1, 2])]).unwrap();
        assert!(s.clone().apply_record(&[dv(&[1])]).is_err(), "shrinking");
        assert!(
            s.clone().apply_record(&[dv(&[1, 2, 5])]).is_err(),
            "beyond the rows"
        );
        let merge = |seen| {
            Edit::Merge(MergeCommit {
                inputs: vec![(0, seen)],
                outputs: vec![],
            })
        };
        let e = s.clone().apply_record(&[merge(0)]).unwrap_err();
        assert!(matches!(e, RegistryError::MergeConflict { segment: 0, .. }));
        let mut m = s.clone();
        m.apply_record(&[merge(2)]).unwrap();
        assert_eq!(m.segments().count(), 0);
    }
}
