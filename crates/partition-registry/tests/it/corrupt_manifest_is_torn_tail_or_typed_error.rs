//! Corrupt manifest bytes: truncation anywhere is a torn tail (discarded, reported); a flipped
//! byte in the last record is a torn tail; a flipped byte in an earlier record (valid records
//! follow) is a typed corruption error; any damage to a checkpoint or a deletion-vector file is
//! a typed error; a missing referenced file is a typed error naming it.

use std::path::PathBuf;
use std::sync::Arc;

use crate::common::*;
use strata_format::FaultFs;
use strata_partition_registry::{
    OpenOptions, RecoveryMode, Registry, RegistryError, TableState, checkpoint_name, log_name,
};
use strata_predicate::BoundPredicate;

/// A table whose log holds several records, and the state after each record.
fn table_with_log() -> (FaultFs, Vec<TableState>, PathBuf) {
    let fs = FaultFs::new();
    let r = create(&fs);
    let mut states = vec![(*r.state()).clone()];
    let mut snap = |r: &Registry| states.push((*r.state()).clone());
    r.commit(strata_partition_registry::Edit::ReserveSegmentIds { limit: 100 })
        .unwrap();
    snap(&r);
    r.write_segment(&batch(&r, &[(1, 1), (2, 2)]), Default::default())
        .unwrap();
    snap(&r);
    r.write_segment(&batch(&r, &[(DAY + 3, 3)]), Default::default())
        .unwrap();
    snap(&r);
    r.delete(&BoundPredicate::parse_and_bind("k = 2", &schema()).unwrap())
        .unwrap();
    snap(&r);
    let log = dir().join(log_name(r.generation()));
    (fs, states, log)
}

/// Offsets of the records in a log (walking the length prefixes).
fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        out.push(pos);
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 8 + len;
    }
    out
}

#[test]
fn truncation_anywhere_discards_only_the_torn_tail() {
    let (fs, states, log) = table_with_log();
    let bytes = fs.contents(&log).unwrap();
    let starts = record_starts(&bytes);
    assert_eq!(starts.len(), states.len() - 1);
    for cut in 0..bytes.len() {
        let copy = fs.restart();
        copy.set_contents(&log, bytes[..cut].to_vec());
        let (r, report) = Registry::open(Arc::new(copy), dir()).unwrap();
        let ends: Vec<usize> = starts[1..].iter().copied().chain([bytes.len()]).collect();
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(*r.state(), states[complete], "cut at {cut}");
        let torn = report.torn_tail_discarded;
        if cut == 0 || ends.contains(&cut) {
            assert_eq!(torn, None, "cut at {cut}");
        } else {
            let t = torn.unwrap_or_else(|| panic!("cut at {cut}: no torn tail reported"));
            assert_eq!(t.offset + t.bytes, cut as u64);
        }
    }
}

#[test]
fn flipped_byte_is_a_typed_error_anywhere_and_point_in_time_recovery_reports_the_loss() {
    let (fs, states, log) = table_with_log();
    let bytes = fs.contents(&log).unwrap();
    let starts = record_starts(&bytes);
    let last = *starts.last().unwrap();
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x40;
        let copy = fs.restart();
        copy.set_contents(&log, bad.clone());
        match Registry::open(Arc::new(copy), dir()) {
            // A flipped length byte in the last record can make it look cut short: an
            // incomplete tail, which is discarded and reported.
            Ok((r, report)) => {
                assert!(i >= last && i < last + 4, "byte {i}: damage was accepted");
                assert_eq!(*r.state(), states[states.len() - 2], "byte {i}");
                let t = report.torn_tail_discarded.unwrap();
                assert_eq!(t.offset, last as u64);
                assert!(!t.damaged);
            }
            Err(e) => {
                assert!(e.is_corruption(), "byte {i}: {e}");
                assert!(matches!(e, RegistryError::Corrupt { ref file, .. } if *file == log));
            }
        }
        // Recovering to a point in time keeps every record before the damaged one.
        let copy = fs.restart();
        copy.set_contents(&log, bad);
        let opts = OpenOptions {
            recovery: RecoveryMode::PointInTime,
            ..OpenOptions::default()
        };
        let (r, report) = Registry::open_with(Arc::new(copy), dir(), opts).unwrap();
        let damaged = starts.iter().rposition(|&s| s <= i).unwrap();
        assert_eq!(*r.state(), states[damaged], "byte {i}");
        let t = report.torn_tail_discarded.unwrap();
        assert_eq!(t.offset, starts[damaged] as u64, "byte {i}");
        assert_eq!(
            t.records_discarded as usize,
            if t.damaged && damaged + 1 < starts.len() {
                starts.len() - damaged - 1
            } else {
                0
            },
            "byte {i}"
        );
    }
}

#[test]
fn damaged_checkpoint_is_a_typed_error() {
    let (fs, _, _) = table_with_log();
    let r = open(&fs); // moves everything into a checkpoint
    let cp = dir().join(checkpoint_name(r.generation()));
    drop(r);
    let bytes = fs.contents(&cp).unwrap();
    for i in (0..bytes.len()).step_by(3) {
        let mut bad = bytes.clone();
        bad[i] ^= 0x01;
        let copy = fs.restart();
        copy.set_contents(&cp, bad);
        let e = Registry::open(Arc::new(copy), dir()).unwrap_err();
        assert!(e.is_corruption(), "byte {i}: {e}");
    }
    for cut in [0, 5, 23, bytes.len() / 2, bytes.len() - 1] {
        let copy = fs.restart();
        copy.set_contents(&cp, bytes[..cut].to_vec());
        let e = Registry::open(Arc::new(copy), dir()).unwrap_err();
        assert!(e.is_corruption(), "cut {cut}: {e}");
    }
}

#[test]
fn damaged_deletion_vector_is_a_typed_error() {
    let (fs, _, _) = table_with_log();
    let r = open(&fs);
    let dv = r
        .state()
        .segments()
        .find_map(|s| s.deletion.clone())
        .unwrap();
    drop(r);
    let path = dir().join(&dv.file);
    let bytes = fs.contents(&path).unwrap();
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x10;
        let copy = fs.restart();
        copy.set_contents(&path, bad);
        let e = Registry::open(Arc::new(copy), dir()).unwrap_err();
        assert!(e.is_corruption(), "byte {i}: {e}");
    }
}

#[test]
fn missing_referenced_files_are_named() {
    let (fs, _, _) = table_with_log();
    let r = open(&fs);
    let state = r.state();
    drop(r);
    let mut targets: Vec<String> = state.segments().map(|s| s.file.clone()).collect();
    targets.extend(
        state
            .segments()
            .filter_map(|s| s.deletion.as_ref().map(|d| d.file.clone())),
    );
    assert!(targets.len() >= 3);
    for f in targets {
        let copy = fs.restart();
        let path = dir().join(&f);
        use strata_format::FileSystem;
        copy.remove_file(&path).unwrap();
        copy.sync_dir(path.parent().unwrap()).unwrap();
        match Registry::open(Arc::new(copy), dir()) {
            Err(RegistryError::MissingFile { path: p }) => assert_eq!(p, path),
            other => panic!("{f}: expected MissingFile, got {other:?}"),
        }
    }
}

#[test]
fn no_checkpoint_means_no_table() {
    let fs = FaultFs::new();
    assert!(matches!(
        Registry::open(Arc::new(fs.clone()), dir()),
        Err(RegistryError::NoTable { .. })
    ));
    let _r = create(&fs);
    assert!(matches!(
        Registry::create(Arc::new(fs.clone()), dir(), config()),
        Err(RegistryError::TableExists { .. })
    ));
}
