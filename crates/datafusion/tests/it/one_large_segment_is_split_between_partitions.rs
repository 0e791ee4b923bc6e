//! A table of one large segment (as a merged ingest leaves it) is still read by several
//! partitions: the segment is cut into row slices, each row is read exactly once, deleted rows
//! stay deleted in every slice, and the answers equal DataFusion's over `MemTable`.

use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use strata::{Partitioning, Schema};

use crate::common::*;

const ROWS: i64 = 300_000;

#[test]
fn one_segment_is_read_by_several_partitions_with_the_same_answers() -> TestResult {
    let arrow_schema = Arc::new(ArrowSchema::new(vec![
        ArrowField::new("k", ArrowType::Int64, false),
        ArrowField::new("v", ArrowType::Float64, true),
    ]));
    let k: Vec<i64> = (0..ROWS).collect();
    let v: Vec<Option<f64>> = (0..ROWS)
        .map(|i| (i % 11 != 0).then_some((i % 1000) as f64 * 0.5))
        .collect();
    let batch = RecordBatch::try_new(
        Arc::clone(&arrow_schema),
        vec![
            Arc::new(Int64Array::from(k)),
            Arc::new(Float64Array::from(v)),
        ],
    )?;
    let dir = tempfile::tempdir()?;
    let schema = Schema::from_arrow(&arrow_schema)?;
    let table = table_with(
        dir.path(),
        schema,
        "k",
        Partitioning::Fixed(1 << 60),
        std::slice::from_ref(&batch),
        &[],
    )?;
    assert_eq!(table.snapshot()?.segments().count(), 1);
    // Deleted rows in what become different slices.
    let deleted = table.delete("k < 1000 OR (k >= 150000 AND k < 150100) OR k >= 299990")?;
    assert_eq!(deleted, 1000 + 100 + 10);
    let kept = datafusion::arrow::compute::filter_record_batch(
        &batch,
        &arrow_array::BooleanArray::from(
            (0..ROWS)
                .map(|k| !(k < 1000 || (150_000..150_100).contains(&k) || k >= 299_990))
                .collect::<Vec<_>>(),
        ),
    )?;

    let (strata, mem) = (session(4), session(4));
    register_strata(&strata, "t", &table)?;
    mem.register_table("t", mem_table(Arc::clone(&arrow_schema), vec![kept])?)?;
    let rt = runtime();
    rt.block_on(async {
        let plan = strata
            .sql("SELECT count(*), sum(k), count(v), max(v) FROM t")
            .await?
            .create_physical_plan()
            .await?;
        let scans = strata_scans(&plan);
        assert_eq!(scans.len(), 1);
        assert_eq!(scans[0].partitions(), 4, "one segment, four slices");
        for q in [
            "SELECT count(*) AS n, sum(k) AS s, count(v) AS nv, min(v) AS lo, max(v) AS hi FROM t",
            "SELECT k, v FROM t WHERE k BETWEEN 149990 AND 150110 ORDER BY k",
            "SELECT k % 7 AS g, count(*) AS n, sum(k) AS s FROM t GROUP BY g",
        ] {
            let (got, want) = (run(&strata, q).await?, run(&mem, q).await?);
            assert_eq!(rows(&got, false, false), rows(&want, false, false), "{q}");
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    table.close()?;
    Ok(())
}
