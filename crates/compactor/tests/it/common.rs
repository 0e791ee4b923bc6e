//! Helpers shared by the compactor's scenario tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, TimestampMillisecondArray};
use strata_format::{DataType, FaultFs, Field, Schema, TimeUnit};
use strata_partition_registry::{Partitioning, Registry, TableConfig};
use strata_predicate::Scan;

pub(crate) const DIR: &str = "/table";
pub(crate) const DAY: i64 = 86_400_000;

pub(crate) fn dir() -> &'static Path {
    Path::new(DIR)
}

/// `ts` (ms timestamp, the time and sort column), `k` (unique row key), `v` (nullable value).
pub(crate) fn schema() -> Schema {
    Schema::new(vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        Field::new("k", DataType::Int64, false),
        Field::new("v", DataType::Int64, true),
    ])
    .unwrap()
    .with_sort_key(["ts", "k"])
    .unwrap()
}

pub(crate) fn config() -> TableConfig {
    let mut c = TableConfig::new(schema(), "ts", Partitioning::Day).unwrap();
    c.checkpoint_every = 0;
    c
}

pub(crate) fn create(fs: &FaultFs) -> Registry {
    Registry::create(Arc::new(fs.clone()), dir(), config()).unwrap()
}

pub(crate) fn open(fs: &FaultFs) -> Registry {
    Registry::open(Arc::new(fs.clone()), dir()).unwrap().0
}

/// A batch of rows `(ts, k)` with `v = k * 10`, sorted.
pub(crate) fn batch(rows: &[(i64, i64)]) -> RecordBatch {
    let mut rows = rows.to_vec();
    rows.sort();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(TimestampMillisecondArray::from(
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(
            rows.iter().map(|r| Some(r.1 * 10)).collect::<Vec<_>>(),
        )),
    ];
    RecordBatch::try_new(Arc::new(schema().to_arrow(Default::default())), cols).unwrap()
}

/// Every row of a scan as `(ts, k, v)`, sorted.
pub(crate) fn scan_rows(scan: Scan) -> Vec<(i64, i64, Option<i64>)> {
    let mut out = Vec::new();
    for b in scan.execute().unwrap() {
        let b = b.unwrap();
        let col = |name: &str| {
            let c = arrow_cast::cast(
                b.column_by_name(name).unwrap(),
                &arrow_schema::DataType::Int64,
            )
            .unwrap();
            c.as_any().downcast_ref::<Int64Array>().unwrap().clone()
        };
        let (ts, k, v) = (col("ts"), col("k"), col("v"));
        for i in 0..b.num_rows() {
            out.push((ts.value(i), k.value(i), v.is_valid(i).then(|| v.value(i))));
        }
    }
    out.sort();
    out
}

pub(crate) fn rows(reg: &Registry) -> Vec<(i64, i64, Option<i64>)> {
    scan_rows(reg.scan().unwrap())
}

/// The files under the table directory minus the referenced ones, and the reverse. Files that
/// recovery set aside in the quarantine folder (after discarding a torn manifest tail, which a
/// torn restart makes) are neither.
pub(crate) fn orphans_and_missing(fs: &FaultFs, reg: &Registry) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let want: BTreeSet<PathBuf> = reg
        .referenced_files()
        .iter()
        .map(|f| dir().join(f))
        .collect();
    let have: BTreeSet<PathBuf> = fs
        .all_files()
        .into_iter()
        .filter(|p| p.starts_with(dir()))
        .filter(|p| !p.starts_with(dir().join(strata_partition_registry::QUARANTINE_DIR)))
        .collect();
    (
        have.difference(&want).cloned().collect(),
        want.difference(&have).cloned().collect(),
    )
}

pub(crate) fn assert_files_are_referenced(fs: &FaultFs, reg: &Registry) {
    let (orphans, missing) = orphans_and_missing(fs, reg);
    assert!(orphans.is_empty(), "orphan files remain: {orphans:?}");
    assert!(
        missing.is_empty(),
        "referenced files are missing: {missing:?}"
    );
}
