//! A Strata scan encoded by `StrataCodec` and decoded by another codec (a worker's, which
//! opens the table at its URL and version) reads the same rows; split for tasks, its parts read
//! every row once; a scan of rows still in the write buffer, or of a table registered without
//! a location, is refused with an error saying why.

use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::{SessionContext, col, lit};
use strata::Schema;
use strata_datafusion::StrataTable;
use strata_distributed::StrataCodec;

use crate::cluster::*;

fn batch(from: i64, n: i64) -> RecordBatch {
    let schema = Arc::new(ArrowSchema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("v", DataType::Float64, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(from..from + n)),
            Arc::new(Float64Array::from_iter_values(
                (from..from + n).map(|k| k as f64 / 4.0),
            )),
        ],
    )
    .unwrap()
}

async fn read(scan: Arc<dyn ExecutionPlan>) -> TestResult<Vec<String>> {
    Ok(rows(
        &collect(scan, SessionContext::new().task_ctx()).await?,
        false,
    ))
}

#[test]
fn scan_codec_round_trips_and_refuses_buffered_rows() -> TestResult {
    let url = "memory://strata-distributed-codec/t";
    let batches: Vec<RecordBatch> = (0..3).map(|i| batch(i * 1000, 1000)).collect();
    let schema = Schema::from_arrow(&batches[0].schema())?;
    let table = table_at(url, schema, "k", &batches)?;
    let provider = StrataTable::new(Arc::clone(&table)).with_location(url);
    let filter = col("k").gt_eq(lit(500i64)).and(col("v").lt(lit(600.0f64)));
    let scan = provider.scan_plan(Some(&vec![1, 0]), &[filter], None, 2, 256)?;
    assert!(scan.predicate().is_some());

    let bytes = StrataCodec::encode_scan(&scan)?;
    let worker = StrataCodec::default();
    let decoded = worker.decode_scan(&bytes)?;
    assert_eq!(worker.open_tables(), 1);
    assert_eq!(decoded.to_parts()?, scan.to_parts()?);
    assert_eq!(decoded.schema(), scan.schema());

    let rt = runtime();
    let scan = Arc::new(scan);
    let want = rt.block_on(read(Arc::clone(&scan) as _))?;
    assert_eq!(want.len(), 1900, "k in 500..2400");
    assert_eq!(rt.block_on(read(Arc::new(decoded)))?, want);

    // Split for three tasks: each part has the same partitions; together they read every row once.
    let parts = scan.split(3)?;
    assert_eq!(parts.len(), 3);
    assert!(
        parts
            .iter()
            .all(|p| p.partitions() == parts[0].partitions())
    );
    let mut got = Vec::new();
    for p in parts {
        let p = worker.decode_scan(&StrataCodec::encode_scan(&p)?)?;
        got.extend(rt.block_on(read(Arc::new(p)))?);
    }
    got.sort();
    assert_eq!(got, want);

    // Rows in the write buffer live only in this process.
    table.write(&batch(5000, 10))?;
    let buffered = provider.scan_plan(None, &[], None, 2, 256)?;
    let err = StrataCodec::encode_scan(&buffered).unwrap_err().to_string();
    assert!(
        err.contains("write buffer") && err.contains("flush"),
        "{err}"
    );

    // Without a location, no other process could open the table.
    let nowhere = StrataTable::new(Arc::clone(&table));
    table.flush()?;
    let err = StrataCodec::encode_scan(&nowhere.scan_plan(None, &[], None, 2, 256)?)
        .unwrap_err()
        .to_string();
    assert!(err.contains("with_location"), "{err}");
    table.close()?;
    Ok(())
}
