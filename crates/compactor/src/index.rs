//! The published table index: an immutable value readers take as their snapshot.
//!
//! A [`TableIndex`] maps each queryable partition to its live segments, each a
//! [`SegmentHandle`]: the manifest entry, the opened segment and its deletion bitmap. The
//! opened file is a reference-counted [`SegmentFile`] shared by every index that lists the
//! segment (a new deletion vector makes a new handle, not a new file). When a merge retires a
//! segment, its `SegmentFile` is marked retired; when the last index (so the last reader
//! snapshot) holding it is dropped, its `Drop` sends the file names to the compactor's deletion
//! queue. Nothing else ever deletes a segment file.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_channel::Sender;
use roaring::RoaringBitmap;
use strata_format::{Schema, Segment, SymbolAs};
use strata_partition_registry::{Registry, SegmentEntry, SegmentId, TableState};
use strata_predicate::Scan;

use crate::error::{CompactorError, Result};

/// One opened segment file, shared by every index that lists it.
#[derive(Debug)]
pub struct SegmentFile {
    id: SegmentId,
    path: PathBuf,
    segment: Arc<Segment>,
    /// Set when a merge retired the segment: where to send its files once unreferenced.
    retired: Mutex<Option<Retirement>>,
}

#[derive(Debug)]
struct Retirement {
    queue: Sender<Vec<PathBuf>>,
    files: Vec<PathBuf>,
}

impl SegmentFile {
    /// Its segment id.
    pub fn id(&self) -> SegmentId {
        self.id
    }

    /// Its full path.
    pub fn path(&self) -> &PathBuf {
        &self.path
    }

    /// The opened segment.
    pub fn segment(&self) -> &Arc<Segment> {
        &self.segment
    }

    /// Marks the file retired: when the last reference drops, `files` (the segment file and
    /// its deletion vector) go to `queue`.
    pub(crate) fn retire(&self, queue: Sender<Vec<PathBuf>>, files: Vec<PathBuf>) {
        *self.retired.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(Retirement { queue, files });
    }

    /// Whether a merge retired it.
    pub fn is_retired(&self) -> bool {
        self.retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }
}

impl Drop for SegmentFile {
    fn drop(&mut self) {
        let retired = self
            .retired
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(r) = retired {
            // A closed queue means the compactor is gone; recovery removes the file then.
            let _ = r.queue.send(r.files);
        }
    }
}

/// A live segment as of one index: its manifest entry, its file and its deleted rows.
#[derive(Debug, Clone)]
pub struct SegmentHandle {
    /// The manifest entry.
    pub entry: SegmentEntry,
    /// The shared, opened file.
    pub file: Arc<SegmentFile>,
    /// Deleted rows as of this index.
    pub deleted: Option<Arc<RoaringBitmap>>,
}

impl SegmentHandle {
    /// Rows not deleted.
    pub fn live_rows(&self) -> u64 {
        self.entry.rows - self.entry.deleted_rows().min(self.entry.rows)
    }
}

/// An immutable view of the table for readers: the manifest version it reflects, the schema,
/// and every queryable partition's live segments. Hold it for as long as you read: the files it
/// lists are not deleted before it (and every other index listing them) is dropped.
#[derive(Debug, Clone)]
pub struct TableIndex {
    /// Manifest version this index was built from.
    pub version: u64,
    /// The table schema segments are read as.
    pub schema: Arc<Schema>,
    /// Partitions (by start) → live segments by id.
    pub partitions: BTreeMap<i64, BTreeMap<SegmentId, SegmentHandle>>,
}

impl TableIndex {
    /// Builds the index of `state`, reusing the opened files of `previous` (by segment id) and
    /// opening the others.
    pub(crate) fn build(
        registry: &Registry,
        state: &TableState,
        previous: Option<&TableIndex>,
    ) -> Result<TableIndex> {
        let known: HashMap<SegmentId, &Arc<SegmentFile>> = previous
            .map(|p| p.segments().map(|h| (h.entry.id, &h.file)).collect())
            .unwrap_or_default();
        let mut partitions = BTreeMap::new();
        for p in state.partitions.values() {
            if !p.state.is_queryable() {
                continue;
            }
            let mut segs = BTreeMap::new();
            for s in p.segments.values() {
                let file = match known.get(&s.id) {
                    Some(f) => Arc::clone(f),
                    None => {
                        let path = registry.path_of(&s.file);
                        let segment =
                            Segment::open(registry.fs().as_ref(), &path).map_err(|source| {
                                CompactorError::Read {
                                    segment: s.file.clone(),
                                    source,
                                }
                            })?;
                        Arc::new(SegmentFile {
                            id: s.id,
                            path,
                            segment: Arc::new(segment),
                            retired: Mutex::new(None),
                        })
                    }
                };
                segs.insert(
                    s.id,
                    SegmentHandle {
                        entry: s.clone(),
                        file,
                        deleted: s.deletion.as_ref().map(|d| Arc::clone(&d.bitmap)),
                    },
                );
            }
            partitions.insert(p.start, segs);
        }
        Ok(TableIndex {
            version: state.version,
            schema: Arc::new(state.schema.schema()),
            partitions,
        })
    }

    /// Every live segment, by partition then id.
    pub fn segments(&self) -> impl Iterator<Item = &SegmentHandle> {
        self.partitions.values().flat_map(|p| p.values())
    }

    /// A live segment by id.
    pub fn segment(&self, id: SegmentId) -> Option<&SegmentHandle> {
        self.partitions.values().find_map(|p| p.get(&id))
    }

    /// Rows not deleted, over every live segment.
    pub fn live_rows(&self) -> u64 {
        self.segments().map(SegmentHandle::live_rows).sum()
    }

    /// A [`Scan`] of every live segment, deletion vectors applied, read as the table schema
    /// (Symbol columns as `Utf8`). Keep the index alive until the scan is done.
    pub fn scan(&self) -> Scan {
        self.scan_of(self.segments().collect())
    }

    /// A [`Scan`] of the live segments with these ids (in index order; ids that are not live
    /// are not read), as [`Self::scan`].
    pub fn scan_segments(&self, ids: &[SegmentId]) -> Scan {
        let ids: std::collections::HashSet<SegmentId> = ids.iter().copied().collect();
        self.scan_of(
            self.segments()
                .filter(|h| ids.contains(&h.entry.id))
                .collect(),
        )
    }

    /// A scan of these row ranges of these segments (positions in each segment file, deleted
    /// rows still excluded), in the order given; ids not in the index are skipped. Scans of
    /// disjoint ranges read each row once, so one large segment can be read by several threads.
    pub fn scan_rows(&self, parts: &[(SegmentId, std::ops::Range<u64>)]) -> Scan {
        let found: Vec<(&SegmentHandle, &std::ops::Range<u64>)> = parts
            .iter()
            .filter_map(|(id, rows)| Some((self.segment(*id)?, rows)))
            .collect();
        let mut scan = self.scan_of(found.iter().map(|(h, _)| *h).collect());
        for (i, (_, rows)) in found.iter().enumerate() {
            scan = scan.rows(i, (*rows).clone());
        }
        scan
    }

    fn scan_of(&self, handles: Vec<&SegmentHandle>) -> Scan {
        let mut scan = Scan::new(
            handles
                .iter()
                .map(|h| Arc::clone(h.file.segment()))
                .collect(),
        )
        .target_schema(Arc::clone(&self.schema))
        .symbol_as(SymbolAs::Utf8);
        for (i, h) in handles.iter().enumerate() {
            if let Some(d) = &h.deleted {
                scan = scan.deleted(i, d.as_ref().clone());
            }
        }
        scan
    }
}
