//! The registry's decoders of on-disk bytes, one function per file or structure, for the fuzz
//! targets in `fuzz/` and for tools that inspect a table directory.
//!
//! Each function forwards to the code [`Registry::open`](crate::Registry::open) runs during
//! recovery, so what is fuzzed here is what recovery trusts. They check only what the bytes
//! themselves can prove (framing, checksums, versions, structure); the checks that need the
//! rest of the table (a checkpoint's generation against its name, a record's version against the
//! state, a vector's segment and row bound) stay in recovery. Errors are the ones recovery
//! reports — [`RegistryError::Corrupt`] with the offset of the damage, or
//! [`RegistryError::UnsupportedVersion`] — naming the placeholder file in [`SOURCE`].
//! Layouts: `docs/format.md` ("Table directory and manifest").

use std::collections::BTreeMap;
use std::path::Path;

use roaring::RoaringBitmap;
use strata_format::FramedRecord;

use crate::encoding::{
    CHECKPOINT_MAGIC, CHECKPOINT_VERSION, DV_MAGIC, DV_VERSION, RecordError,
    decode_checkpoint_payload, decode_dv_payload, decode_record, unframe_file,
};
use crate::error::{RegistryError, Result};
use crate::registry::{RecoveryMode, TornTail, frame_error, split_log};
use crate::state::{Edit, SegmentId, TableState};

/// The file name errors carry, since these functions see bytes, not paths.
pub const SOURCE: &str = "<decoded bytes>";

/// Offset of a framed file's payload (magic, version, length, CRC before it).
const FRAME_HEADER: u64 = 24;

/// A manifest log split into its well-framed records (`len u32 | crc32c u32 | payload`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestLog {
    /// The records recovery replays, in log order.
    pub records: Vec<FramedRecord>,
    /// The end that recovery discards, if any.
    pub torn_tail: Option<TornTail>,
}

/// One decoded log record payload.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestRecord {
    /// The manifest version the record creates.
    pub version: u64,
    /// Its edits; `AddDeletionVector` edits carry an empty bitmap (the file holds the rows).
    pub edits: Vec<Edit>,
    /// The deleted-row count of each `AddDeletionVector` edit, in edit order.
    pub deleted_rows: Vec<u64>,
}

/// A decoded checkpoint file.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The generation it says it is (recovery checks it against the file name).
    pub generation: u64,
    /// The table state, deletion vectors with empty bitmaps.
    pub state: TableState,
    /// Deletion-vector file name → deleted-row count, for every vector the state references.
    pub deleted_rows: BTreeMap<String, u64>,
}

fn source() -> &'static Path {
    Path::new(SOURCE)
}

/// Splits a whole `MANIFEST-<g>.log` into records, as recovery in `mode` does (the rule is
/// [`strata_format::record`]'s): an incomplete tail is discarded, damage is
/// [`RegistryError::Corrupt`] in [`RecoveryMode::Strict`] and cuts the log in
/// [`RecoveryMode::PointInTime`].
pub fn manifest_log(bytes: &[u8], mode: RecoveryMode) -> Result<ManifestLog> {
    let (records, torn_tail) = split_log(source(), bytes, mode)?;
    Ok(ManifestLog { records, torn_tail })
}

/// Decodes one log record payload (the bytes after a record's length and CRC).
pub fn manifest_record(payload: &[u8]) -> Result<ManifestRecord> {
    match decode_record(payload) {
        Ok((rec, deleted_rows)) => Ok(ManifestRecord {
            version: rec.version,
            edits: rec.edits,
            deleted_rows,
        }),
        Err(RecordError::Version(v)) => Err(RegistryError::UnsupportedVersion {
            file: source().to_path_buf(),
            version: u32::from(v),
        }),
        Err(RecordError::Decode(d)) => Err(RegistryError::corrupt(source(), d.offset, d.detail)),
    }
}

/// Decodes a whole `CHECKPOINT-<g>` file: magic, version (any up to [`CHECKPOINT_VERSION`]),
/// length and CRC, then the payload of that version.
pub fn checkpoint(bytes: &[u8]) -> Result<Checkpoint> {
    let (version, payload) = unframe_file(CHECKPOINT_MAGIC, CHECKPOINT_VERSION, bytes)
        .map_err(|e| frame_error(source(), e))?;
    let cp = decode_checkpoint_payload(payload, version)
        .map_err(|d| RegistryError::corrupt(source(), d.offset + FRAME_HEADER, d.detail))?;
    Ok(Checkpoint {
        generation: cp.generation,
        state: cp.state,
        deleted_rows: cp.dv_counts,
    })
}

/// Decodes a whole `dv-<id>-<version>.roaring` file: magic, version, length and CRC, then the
/// segment id and the bitmap of its deleted rows.
pub fn deletion_vector(bytes: &[u8]) -> Result<(SegmentId, RoaringBitmap)> {
    let (_, payload) =
        unframe_file(DV_MAGIC, DV_VERSION, bytes).map_err(|e| frame_error(source(), e))?;
    decode_dv_payload(payload)
        .map_err(|d| RegistryError::corrupt(source(), d.offset + FRAME_HEADER, d.detail))
}

#[cfg(test)]
mod tests {
    use strata_format::{DataType, Field, Schema, TimeUnit};

    use super::*;
    use crate::encoding::{
        encode_checkpoint_payload, encode_checkpoint_payload_as, encode_dv, encode_record,
        frame_file,
    };
    use crate::partitioning::Partitioning;
    use crate::state::{TableConfig, TableState};

    fn framed_record(payload: &[u8]) -> Vec<u8> {
        let len = (payload.len() as u32).to_le_bytes();
        let crc = crc32c::crc32c_append(crc32c::crc32c(&len), payload);
        [&len[..], &crc.to_le_bytes(), payload].concat()
    }

    fn state() -> TableState {
        let schema = Schema::new(vec![
            Field::new("ts", DataType::Timestamp(TimeUnit::Second, None), false),
            Field::new("v", DataType::Int64, true),
        ])
        .and_then(|s| s.with_sort_key(["ts"]))
        .unwrap();
        TableState::new(TableConfig::new(schema, "ts", Partitioning::Day).unwrap()).unwrap()
    }

    #[test]
    fn log_records_and_torn_tail_are_found() {
        let edits = vec![Edit::ReserveSegmentIds { limit: 64 }];
        let one = framed_record(&encode_record(1, &edits));
        let mut log = [one.clone(), one.clone()].concat();
        log.extend_from_slice(&one[..5]);
        let split = manifest_log(&log, RecoveryMode::Strict).unwrap();
        assert_eq!(split.records.len(), 2);
        assert_eq!(split.records[1].offset, one.len());
        assert_eq!(split.records[1].payload, one.len() + 8..2 * one.len());
        assert_eq!(
            split.torn_tail,
            Some(TornTail {
                offset: 2 * one.len() as u64,
                bytes: 5,
                damaged: false,
                records_discarded: 0,
            })
        );
        let rec = manifest_record(&log[split.records[0].payload.clone()]).unwrap();
        assert_eq!((rec.version, rec.edits), (1, edits));
        // Damage followed by a good record is corruption, unless recovering to a point in time.
        log[8] ^= 1;
        let strict = manifest_log(&log, RecoveryMode::Strict).unwrap_err();
        assert!(strict.is_corruption());
        let cut = manifest_log(&log, RecoveryMode::PointInTime).unwrap();
        assert!(cut.records.is_empty());
        assert_eq!(cut.torn_tail.map(|t| t.records_discarded), Some(1));
    }

    #[test]
    fn unknown_record_version_is_unsupported() {
        let mut payload = encode_record(1, &[]);
        payload[0] = 9;
        assert!(matches!(
            manifest_record(&payload),
            Err(RegistryError::UnsupportedVersion { version: 9, .. })
        ));
    }

    #[test]
    fn checkpoint_round_trips_and_reports_file_offsets() {
        let s = state();
        let payload = encode_checkpoint_payload(&s, 3);
        let file = frame_file(CHECKPOINT_MAGIC, CHECKPOINT_VERSION, &payload);
        let cp = checkpoint(&file).unwrap();
        assert_eq!((cp.generation, &cp.state), (3, &s));
        // A payload cut short, re-framed: the offset counts from the start of the file.
        let cut = frame_file(CHECKPOINT_MAGIC, CHECKPOINT_VERSION, &payload[..4]);
        match checkpoint(&cut) {
            Err(RegistryError::Corrupt { offset, .. }) => assert_eq!(offset, FRAME_HEADER),
            other => panic!("{other:?}"),
        }
        assert!(checkpoint(&file[..file.len() - 1]).is_err());
        // Version 2 always has a time column; version 1 has no log position either: the same
        // state (at position 0).
        let v2 = encode_checkpoint_payload_as(&s, 3, 2);
        let v2 = frame_file(CHECKPOINT_MAGIC, 2, &v2);
        assert_eq!(checkpoint(&v2).unwrap().state, s);
        let v1 = encode_checkpoint_payload_as(&s, 3, 1);
        let v1 = frame_file(CHECKPOINT_MAGIC, 1, &v1);
        assert_eq!(checkpoint(&v1).unwrap().state, s);
        // A table without a time column round-trips in version 3.
        let mut untimed = s.clone();
        untimed.config.time_column = None;
        untimed.config.partitioning = Partitioning::None;
        let file = frame_file(
            CHECKPOINT_MAGIC,
            CHECKPOINT_VERSION,
            &encode_checkpoint_payload(&untimed, 3),
        );
        assert_eq!(checkpoint(&file).unwrap().state, untimed);
    }

    /// A compression setting other than the default makes a version-5 checkpoint that reads
    /// back with it; the default keeps the version that older builds read; an unknown setting
    /// byte is an error naming it, not a silently different table.
    #[test]
    fn compression_setting_round_trips_in_checkpoint_version_5() {
        let s = state();
        assert_eq!(crate::encoding::checkpoint_version_for(&s), 3);
        let mut small = s.clone();
        small.compression = crate::Compression::Small;
        assert_eq!(crate::encoding::checkpoint_version_for(&small), 5);
        let file = crate::encoding::checkpoint_file(&small, 4);
        assert_eq!(file[8..12], 5u32.to_le_bytes());
        let cp = checkpoint(&file).unwrap();
        assert_eq!((cp.generation, &cp.state), (4, &small));
        let mut payload = encode_checkpoint_payload_as(&small, 4, 5);
        *payload.last_mut().unwrap() = 7;
        match checkpoint(&frame_file(CHECKPOINT_MAGIC, 5, &payload)) {
            Err(RegistryError::Corrupt { detail, .. }) => {
                assert!(detail.contains("unknown compression 7"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deletion_vector_round_trips() {
        let mut b = RoaringBitmap::new();
        b.insert_range(10..20);
        let file = encode_dv(5, &b);
        assert_eq!(deletion_vector(&file).unwrap(), (5, b));
        let mut other = file.clone();
        other[8] = 2;
        assert!(matches!(
            deletion_vector(&other),
            Err(RegistryError::UnsupportedVersion { version: 2, .. })
        ));
        assert!(deletion_vector(&file[..23]).is_err());
    }
}
