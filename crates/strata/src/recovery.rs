//! Opening a table's write-ahead log: which logs are live, replaying them, and what a damaged
//! log costs.
//!
//! The manifest records how far the log is covered by committed segments
//! (`TableState::log_position`, committed in the same record as a flush's segments). Logs
//! below it are removed; the live ones above it must be consecutive (a log is only ever
//! removed once covered, so a gap is a lost file) and are replayed in order. Tables written
//! before the position moved into the manifest kept it in a `WAL-POS` file (and a
//! `FLUSH-INTENT` file during a flush); both are still read once and then retired.

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use strata_format::{FileSystem, FormatError, write_durably};
use strata_partition_registry::{Edit, RecoveryMode, Registry, RegistryError, SegmentId};

use crate::error::{Result, TableError, io_err};
use crate::options::{LogDiscard, OpenReport};
use crate::table::{Frozen, Table, WAL_DIR, lock};
use crate::wal::{list_logs, read_log};

/// File of tables from before the log position was kept in the manifest.
pub const LEGACY_WAL_POS_FILE: &str = "WAL-POS";
/// File of tables from before the log position was kept in the manifest.
pub const LEGACY_FLUSH_INTENT_FILE: &str = "FLUSH-INTENT";

/// The live logs, in order, and the sequence number the next log gets.
#[derive(Debug)]
pub(crate) struct LiveLogs {
    pub(crate) logs: Vec<(u64, PathBuf)>,
    pub(crate) next_seq: u64,
    pub(crate) mode: RecoveryMode,
}

/// Whether `e` is a file that vanished (a writer retired it while a reader read).
pub(crate) fn is_not_found(e: &TableError) -> bool {
    let format_not_found = |f: &FormatError| matches!(f, FormatError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound);
    match e {
        TableError::Io { source, .. } => format_not_found(source),
        TableError::Registry(RegistryError::Format { source, .. }) => format_not_found(source),
        TableError::Registry(RegistryError::MissingFile { .. }) => true,
        _ => false,
    }
}

fn read_small(fs: &dyn FileSystem, path: &Path) -> Result<String> {
    let f = fs
        .open_read(path)
        .map_err(io_err(format!("opening {}", path.display())))?;
    let len = usize::try_from(f.len()).unwrap_or(usize::MAX).min(1 << 20);
    let bytes = f
        .read_at(0, len)
        .map_err(io_err(format!("reading {}", path.display())))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The position a table from an older version recorded outside the manifest, if any.
fn legacy_position(fs: &dyn FileSystem, dir: &Path, registry: &Registry) -> Result<Option<u64>> {
    let mut pos = None;
    let pos_path = dir.join(LEGACY_WAL_POS_FILE);
    if fs
        .exists(&pos_path)
        .map_err(io_err("checking the log position"))?
    {
        let text = read_small(fs, &pos_path)?;
        let p: u64 = text.trim().parse().map_err(|_| TableError::Corrupt {
            path: pos_path.clone(),
            offset: 0,
            detail: "does not hold a number".into(),
        })?;
        pos = Some(p);
    }
    let intent_path = dir.join(LEGACY_FLUSH_INTENT_FILE);
    if fs
        .exists(&intent_path)
        .map_err(io_err("checking the flush intent"))?
    {
        let text = read_small(fs, &intent_path)?;
        let mut parts = text.split_whitespace();
        if let Some(seq) = parts.next().and_then(|s| s.parse::<u64>().ok()) {
            let ids: Vec<SegmentId> = parts
                .next()
                .unwrap_or_default()
                .split(',')
                .filter_map(|s| s.parse().ok())
                .collect();
            let state = registry.state();
            if ids.iter().any(|id| state.segment(*id).is_some()) {
                pos = Some(pos.unwrap_or(0).max(seq + 1));
            }
        }
    }
    Ok(pos)
}

/// Moves `path` into the table's quarantine folder; returns its new path.
pub(crate) fn quarantine(fs: &dyn FileSystem, registry: &Registry, path: &Path) -> Result<PathBuf> {
    let qdir = registry.path_of(strata_partition_registry::QUARANTINE_DIR);
    fs.create_dir_all(&qdir)
        .map_err(io_err("creating the quarantine folder"))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let to = qdir.join(name);
    fs.rename(path, &to)
        .map_err(io_err(format!("quarantining {}", path.display())))?;
    fs.sync_dir(&qdir)
        .map_err(io_err("syncing the quarantine folder"))?;
    Ok(to)
}

/// Writer's open: settles the log position (retiring legacy files), removes covered logs,
/// checks the live ones are consecutive.
pub(crate) fn live_logs(
    fs: &dyn FileSystem,
    dir: &Path,
    registry: &Registry,
    report: &mut OpenReport,
    mode: RecoveryMode,
) -> Result<LiveLogs> {
    let mut pos = registry.state().log_position;
    if let Some(legacy) = legacy_position(fs, dir, registry)? {
        if legacy > pos {
            registry.commit(Edit::SetLogPosition(legacy))?;
            pos = legacy;
        }
        for name in [LEGACY_WAL_POS_FILE, LEGACY_FLUSH_INTENT_FILE] {
            let p = dir.join(name);
            if fs.exists(&p).map_err(io_err("checking a legacy file"))? {
                fs.remove_file(&p)
                    .map_err(io_err(format!("removing {}", p.display())))?;
            }
        }
        fs.sync_dir(dir)
            .map_err(io_err("syncing the table directory"))?;
    }
    let wal_dir = dir.join(WAL_DIR);
    fs.create_dir_all(&wal_dir)
        .map_err(io_err("creating the log directory"))?;
    let mut logs = Vec::new();
    for (seq, path) in list_logs(fs, &wal_dir)? {
        if seq < pos {
            fs.remove_file(&path)
                .map_err(io_err(format!("removing covered log {}", path.display())))?;
        } else {
            logs.push((seq, path));
        }
    }
    let next_seq = logs.last().map_or(pos, |(s, _)| (*s).max(pos)) + 1;
    // Live logs are consecutive: a log is removed only once the manifest covers it.
    if let Some(gap) = logs.windows(2).position(|w| w[1].0 != w[0].0 + 1) {
        let (missing, after) = (logs[gap].0 + 1, logs.split_off(gap + 1));
        if mode == RecoveryMode::Strict {
            return Err(TableError::Corrupt {
                path: wal_dir.join(crate::wal::wal_name(missing)),
                offset: 0,
                detail: format!(
                    "log {missing} is missing while {} later logs remain",
                    after.len()
                ),
            });
        }
        for (_, p) in after {
            report.wal_quarantined.push(quarantine(fs, registry, &p)?);
        }
    }
    Ok(LiveLogs {
        logs,
        next_seq,
        mode,
    })
}

/// Reader's open: the records of the live logs, changing nothing. An incomplete last record
/// (perhaps a writer's append in progress) is left out.
pub(crate) fn read_live_logs(
    fs: &dyn FileSystem,
    dir: &Path,
    registry: &Registry,
    report: &mut OpenReport,
) -> Result<Vec<Vec<RecordBatch>>> {
    let mut pos = registry.state().log_position;
    if let Some(legacy) = legacy_position(fs, dir, registry)? {
        pos = pos.max(legacy);
    }
    let mut out = Vec::new();
    for (seq, path) in list_logs(fs, &dir.join(WAL_DIR))? {
        if seq < pos {
            continue;
        }
        let contents = read_log(fs, &path, RecoveryMode::Strict)?;
        report.wal_files_replayed += 1;
        report.wal_rows_replayed += contents.rows();
        out.extend(contents.records);
    }
    Ok(out)
}

impl Table {
    /// Replays the live logs into the write buffer. A full memtable is flushed only between
    /// two logs, covering the logs replayed so far, so a crash during replay never finds a
    /// log partly in segments.
    pub(crate) fn replay(&self, live: &LiveLogs, report: &mut OpenReport) -> Result<()> {
        let mut stop = false;
        for (seq, path) in &live.logs {
            if stop {
                report
                    .wal_quarantined
                    .push(quarantine(self.fs.as_ref(), &self.registry, path)?);
                continue;
            }
            let contents = read_log(self.fs.as_ref(), path, live.mode)?;
            report.wal_files_replayed += 1;
            if let Some(t) = contents.tail {
                report.wal_discarded.push(LogDiscard {
                    path: path.clone(),
                    offset: t.offset,
                    bytes: t.bytes,
                    damaged: t.damaged,
                    records: t.records,
                    rows: t.rows,
                });
                // Recovering to a point in time: nothing after the damage is replayed, and the
                // damaged file goes to quarantine (not deleted) once its good records are in
                // segments.
                stop = t.damaged;
                if t.damaged {
                    lock(&self.damaged_logs).insert(*seq);
                }
            }
            let mut w = self.lock_write();
            if !w.memtable.is_empty() && w.memtable.should_flush() {
                self.freeze_replayed(&mut w, seq.checked_sub(1))?;
                drop(w);
                self.flush_frozen(&lock(&self.flushing))?;
                w = self.lock_write();
            }
            for (i, record) in contents.records.iter().enumerate() {
                let checked = record
                    .iter()
                    .try_for_each(|b| self.validate(b))
                    .and_then(|()| {
                        record.iter().try_for_each(|b| {
                            w.memtable.append(b).map(drop).map_err(TableError::from)
                        })
                    });
                if let Err(e) = checked {
                    return Err(TableError::Wal {
                        path: path.clone(),
                        detail: format!("record {i} cannot be replayed: {e}"),
                    });
                }
                report.wal_rows_replayed += record.iter().map(|b| b.num_rows() as u64).sum::<u64>();
            }
        }
        Ok(())
    }

    /// Freezes the replayed rows as covering logs up to `covered` (no log rotation: new
    /// writes have not started).
    fn freeze_replayed(
        &self,
        w: &mut crate::table::WriteState,
        covered: Option<u64>,
    ) -> Result<()> {
        if let Some(drained) = w.memtable.drain()? {
            w.frozen.push(std::sync::Arc::new(Frozen {
                batch: drained.batch,
                covered,
            }));
        }
        Ok(())
    }
}

/// Writes `pos` as the legacy position file (tests of the upgrade path use it).
#[doc(hidden)]
pub fn write_legacy_position(fs: &dyn FileSystem, dir: &Path, pos: u64) -> Result<()> {
    write_durably(fs, dir, LEGACY_WAL_POS_FILE, format!("{pos}\n").as_bytes())
        .map(drop)
        .map_err(io_err("writing the legacy log position"))
}
