//! The compaction suite on a small flights file laid out like shared/data: the 32 runs are
//! merged (the suite checks the output row count itself), the reports say so, and peak memory
//! is reported as not measured without the binary's counting allocator. Without the file the
//! suite is skipped with a notice.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use strata_benches::compaction::{CompactionSuite, RUNS};
use strata_benches::{BenchContext, Suite, run_and_write};

const ROWS: usize = 6000;

fn write_flights(dir: &std::path::Path) {
    let path = dir.join("bts-flights-3m/flights-3m.parquet");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let airports = ["SFO", "LAX", "JFK", "ORD", "SEA"];
    // 2001-01-01 onwards, one row a minute, several rows per minute.
    let date: Vec<i64> = (0..ROWS as i64)
        .map(|i| 978_307_200_000_000 + (i / 3) * 60_000_000)
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(TimestampMicrosecondArray::from(date)),
        Arc::new(Int64Array::from_iter_values(
            (0..ROWS as i64).map(|i| i % 97 - 20),
        )),
        Arc::new(Int64Array::from_iter_values(
            (0..ROWS as i64).map(|i| 100 + i % 2000),
        )),
        Arc::new(StringArray::from_iter_values(
            (0..ROWS).map(|i| airports[i % 5]),
        )),
        Arc::new(StringArray::from_iter_values(
            (0..ROWS).map(|i| airports[(i / 5) % 5]),
        )),
    ];
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "date",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("delay", DataType::Int64, false),
        Field::new("distance", DataType::Int64, false),
        Field::new("origin", DataType::Utf8, false),
        Field::new("destination", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn compaction_suite_small_flights_merges_and_reports() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_flights(data.path());
    let ctx = BenchContext {
        data_dir: data.path().to_path_buf(),
        out_dir: out.path().to_path_buf(),
        quick: true,
        store: None,
    };
    let result = run_and_write(&CompactionSuite, &ctx).unwrap();
    let merge = &result.json["merge"];
    let rows_in = merge["rows_in"].as_u64().unwrap();
    let deleted = merge["rows_deleted"].as_u64().unwrap();
    assert_eq!(rows_in, ROWS as u64);
    assert_eq!(result.json["runs"].as_u64().unwrap(), RUNS as u64);
    // About one row in ten is deleted, and the merge wrote the rest.
    assert!((300..900).contains(&deleted), "{deleted} deleted");
    assert_eq!(merge["rows_out"].as_u64().unwrap(), rows_in - deleted);
    assert!(merge["peak_heap_bytes"].as_array().unwrap().is_empty());
    assert!(
        result
            .markdown
            .contains("not measured (no counting allocator)")
    );
    for q in ["range", "column"] {
        let samples = result.json["latency_ms"][q]["samples"].as_array().unwrap();
        assert!(samples[0].as_u64().unwrap() > 0, "{q}: no idle samples");
    }
    assert!(out.path().join("compaction.md").is_file());
    assert!(out.path().join("compaction.json").is_file());
}

#[test]
fn compaction_suite_without_flights_is_skipped_with_a_notice() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let ctx = BenchContext {
        data_dir: data.path().to_path_buf(),
        out_dir: out.path().to_path_buf(),
        quick: true,
        store: None,
    };
    let result = CompactionSuite.run(&ctx).unwrap();
    assert!(result.markdown.contains("not found"), "{}", result.markdown);
    assert_eq!(result.json["notices"].as_array().unwrap().len(), 1);
}
