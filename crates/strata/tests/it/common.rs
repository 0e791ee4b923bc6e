//! Helpers shared by the table tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{
    Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use strata::{DataType, Field, Partitioning, Schema, Table, TableConfig, TimeUnit};

pub(crate) const DAY_MS: i64 = 86_400_000;

pub(crate) fn schema() -> Schema {
    Schema::new(vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        Field::new("host", DataType::Symbol, false),
        Field::new("id", DataType::Int64, false),
        Field::new("cpu", DataType::Float64, true),
    ])
    .unwrap()
    .with_sort_key(["host", "ts"])
    .unwrap()
}

pub(crate) fn config() -> TableConfig {
    TableConfig::new(schema(), "ts", Partitioning::Day).unwrap()
}

/// `n` rows with ids `first..first + n`, spread over a few hosts and days.
pub(crate) fn batch(first: i64, n: i64) -> RecordBatch {
    let ids: Vec<i64> = (first..first + n).collect();
    RecordBatch::try_new(
        Arc::new(schema().to_arrow(strata::SymbolAs::Utf8)),
        vec![
            Arc::new(TimestampMillisecondArray::from(
                ids.iter()
                    .map(|i| (i * 7_919_000) % (3 * DAY_MS))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                ids.iter()
                    .map(|i| ["a", "b", "c"][(*i % 3) as usize])
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(Float64Array::from(
                ids.iter()
                    .map(|i| (*i % 100) as f64 / 100.0)
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap()
}

/// Every id in the table with how often it appears.
pub(crate) fn ids(table: &Table) -> BTreeMap<i64, usize> {
    let mut out = BTreeMap::new();
    for b in table.scan().columns(["id"]).execute().unwrap() {
        let b = b.unwrap();
        let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        for i in 0..col.len() {
            *out.entry(col.value(i)).or_insert(0) += 1;
        }
    }
    out
}
