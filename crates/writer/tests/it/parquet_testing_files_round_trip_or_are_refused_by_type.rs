//! Every Parquet file of Apache's parquet-testing suite (in `$STRATA_DATA_DIR/parquet-testing`)
//! that the parquet crate reads into Arrow either round-trips through a segment on `LocalFs`
//! (when `Schema::from_arrow` accepts its schema) or is refused with `UnsupportedType` naming one
//! of its fields. Nothing panics. Skips with a notice when the data is absent.
//!
//! The schema is decided from the Parquet footer before any data is decoded: one refused file
//! (`large_string_map.brotli.parquet`, a map column) inflates to gigabytes of strings that the
//! parquet crate then fails to index, and decoding it would take most of the test's time.

use crate::support;
use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata_format::{FormatError, LocalFs, Schema, Segment};
use strata_writer::{SegmentWriter, WriterOptions};

/// Opens the file's footer and maps its Arrow schema.
fn open_parquet(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())
}

fn read_parquet(
    builder: ParquetRecordBatchReaderBuilder<File>,
) -> Result<(SchemaRef, Vec<RecordBatch>), String> {
    let reader = builder.build().map_err(|e| e.to_string())?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Ok((schema, batches))
}

/// Strata's schema for the file, or why it is refused; `Err` is a test failure.
fn strata_schema(schema: &SchemaRef) -> Result<Result<Schema, String>, String> {
    match Schema::from_arrow(schema) {
        Ok(s) => Ok(Ok(s)),
        Err(FormatError::UnsupportedType { field, data_type }) => {
            if schema.fields().iter().all(|f| f.name() != &field) {
                return Err(format!("UnsupportedType names {field:?}, not a field"));
            }
            Ok(Err(format!("{field}: {data_type}")))
        }
        Err(e) => Err(format!("schema refused with a wrong error: {e}")),
    }
}

/// Writes the batches as a segment and reads it back; `Err` is a test failure.
fn round_trip(
    name: &str,
    strata_schema: Schema,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let fs = Arc::new(LocalFs);
    let mut w = SegmentWriter::create(
        fs.clone(),
        dir.path(),
        "segment.strata",
        strata_schema,
        WriterOptions::default(),
    )
    .map_err(|e| format!("create: {e}"))?;
    for b in batches {
        w.write_batch(b).map_err(|e| format!("write_batch: {e}"))?;
    }
    let meta = w.finish().map_err(|e| format!("finish: {e}"))?;
    let read = Segment::open(fs.as_ref(), &meta.path)
        .and_then(|s| s.read_all())
        .map_err(|e| format!("read back: {e}"))?;
    let expected = arrow_select::concat::concat_batches(schema, batches)
        .map_err(|e| format!("concatenating the input: {e}"))?;
    support::batches_equal(&read, &expected).map_err(|e| format!("{name}: {e}"))?;
    Ok(())
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "<non-string panic>".into())
}

#[test]
fn parquet_testing_files_round_trip_or_are_refused_by_type() {
    let root = support::data_dir().join("parquet-testing");
    let index = root.join("INDEX.tsv");
    let Ok(index) = std::fs::read_to_string(&index) else {
        println!(
            "skipping: {} is absent (set STRATA_DATA_DIR)",
            index.display()
        );
        return;
    };
    let paths: Vec<&str> = index
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|p| !p.is_empty())
        .collect();
    assert!(!paths.is_empty(), "INDEX.tsv lists no files");

    // `supported`: footer read and schema accepted; `read`: and its data decoded by parquet.
    let (mut supported, mut read, mut round_tripped, mut unsupported) = (0, 0, 0, 0);
    let mut unreadable = Vec::new();
    let mut failures = Vec::new();
    for rel in &paths {
        let path = root.join(rel);
        // The parquet crate's own panics on damaged files are its business, not Strata's: they
        // count as unreadable (and are listed), unlike a panic in Strata's code.
        let builder = match catch_unwind(AssertUnwindSafe(|| open_parquet(&path))) {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                unreadable.push(format!("{rel}: {e}"));
                continue;
            }
            Err(p) => {
                unreadable.push(format!("{rel}: parquet panicked: {}", panic_message(&*p)));
                continue;
            }
        };
        let schema = match catch_unwind(AssertUnwindSafe(|| strata_schema(builder.schema()))) {
            Ok(Ok(Ok(s))) => s,
            Ok(Ok(Err(what))) => {
                unsupported += 1;
                println!("unsupported  {rel}: {what}");
                continue;
            }
            Ok(Err(e)) => {
                failures.push(format!("{rel}: {e}"));
                continue;
            }
            Err(p) => {
                failures.push(format!("{rel}: PANIC {}", panic_message(&*p)));
                continue;
            }
        };
        supported += 1;
        let parsed = match catch_unwind(AssertUnwindSafe(|| read_parquet(builder))) {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                unreadable.push(format!("{rel}: {e}"));
                continue;
            }
            Err(p) => {
                unreadable.push(format!("{rel}: parquet panicked: {}", panic_message(&*p)));
                continue;
            }
        };
        read += 1;
        match catch_unwind(AssertUnwindSafe(|| {
            round_trip(rel, schema, &parsed.0, &parsed.1)
        })) {
            Ok(Ok(())) => round_tripped += 1,
            Ok(Err(e)) => failures.push(format!("{rel}: {e}")),
            Err(p) => failures.push(format!("{rel}: PANIC {}", panic_message(&*p))),
        }
    }
    for u in &unreadable {
        println!("unreadable   {u}");
    }
    println!(
        "parquet-testing: {} files listed; {} opened by parquet, {unsupported} of them refused by \
         type; {supported} with a supported schema, {read} of them decoded by parquet, \
         {round_tripped} round-tripped; {} unreadable by parquet",
        paths.len(),
        supported + unsupported,
        unreadable.len()
    );
    assert!(
        failures.is_empty(),
        "files that parquet reads and Strata accepts must round-trip:\n{}",
        failures.join("\n")
    );
    assert!(round_tripped > 0, "no file round-tripped");
    assert_eq!(read, round_tripped);
}
