//! Helpers shared by the registry's scenario tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, TimestampMillisecondArray};
use strata_format::{DataType, FaultFs, Field, Schema, TimeUnit};
use strata_partition_registry::{Partitioning, Registry, TableConfig};

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

/// A batch of the registry's current schema: rows `(ts, k)`, `v = k * 10`, and every column
/// added later set to `k`.
pub(crate) fn batch(reg: &Registry, rows: &[(i64, i64)]) -> RecordBatch {
    let schema = reg.state().schema.schema();
    let mut rows = rows.to_vec();
    rows.sort();
    let cols: Vec<ArrayRef> = schema
        .fields
        .iter()
        .map(|f| -> ArrayRef {
            match f.name.as_str() {
                "ts" => Arc::new(TimestampMillisecondArray::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                "v" => Arc::new(Int64Array::from(
                    rows.iter().map(|r| Some(r.1 * 10)).collect::<Vec<_>>(),
                )),
                _ => Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
            }
        })
        .collect();
    RecordBatch::try_new(Arc::new(schema.to_arrow(Default::default())), cols).unwrap()
}

/// Every visible row as `(k, [column name = value or null]...)`, sorted by `k`.
/// One visible row: its key and `(column, value)` pairs in schema order.
pub(crate) type Row = (i64, Vec<(String, Option<i64>)>);

pub(crate) fn rows(reg: &Registry) -> Vec<Row> {
    let mut out = Vec::new();
    for b in reg.scan().unwrap().execute().unwrap() {
        let b = b.unwrap();
        let schema = b.schema();
        let k = b
            .column_by_name("k")
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .clone();
        for i in 0..b.num_rows() {
            let mut vals = Vec::new();
            for (f, c) in schema.fields().iter().zip(b.columns()) {
                let c = arrow_cast::cast(c, &arrow_schema::DataType::Int64).unwrap();
                let c = c.as_any().downcast_ref::<Int64Array>().unwrap();
                vals.push((f.name().clone(), c.is_valid(i).then(|| c.value(i))));
            }
            out.push((k.value(i), vals));
        }
    }
    out.sort();
    out
}

/// Asserts that the files under the table directory are exactly the referenced ones (files
/// set aside in the quarantine folder, after a torn restart's discarded tail, aside).
pub(crate) fn assert_files_are_referenced(fs: &FaultFs, reg: &Registry) {
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
        .filter(|p| !p.starts_with(dir().join(strata_partition_registry::MANIFEST_DIR)))
        .collect();
    let orphans: Vec<_> = have.difference(&want).collect();
    let missing: Vec<_> = want.difference(&have).collect();
    assert!(orphans.is_empty(), "orphan files remain: {orphans:?}");
    assert!(
        missing.is_empty(),
        "referenced files are missing: {missing:?}"
    );
}
