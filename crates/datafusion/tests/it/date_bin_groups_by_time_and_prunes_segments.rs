//! Grouping by `date_bin` over the time column gives MemTable's answer, and a time range in
//! the WHERE clause is pushed down: segments of other days are pruned (scan counters).

use std::sync::Arc;

use arrow_array::{Float64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use datafusion::physical_plan::{ExecutionPlan, collect};
use strata::{DataType, Field, Partitioning, Schema, SymbolAs, TimeUnit};

use crate::common::*;

const HOUR: i64 = 3_600_000;

fn schema() -> Schema {
    Schema::new(vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        Field::new("host", DataType::Symbol, false),
        Field::new("cpu", DataType::Float64, true),
    ])
    .unwrap()
    .with_sort_key(["host", "ts"])
    .unwrap()
}

/// One batch per day for 10 days, a row every 10 minutes for 3 hosts.
fn days() -> Vec<RecordBatch> {
    (0..10)
        .map(|day| {
            let mut ts = Vec::new();
            let mut host = Vec::new();
            let mut cpu = Vec::new();
            for i in 0..144 {
                for h in 0..3 {
                    ts.push(day * 24 * HOUR + i * HOUR / 6);
                    host.push(format!("h{h}"));
                    cpu.push(((day * 144 + i) % 97) as f64 + h as f64);
                }
            }
            RecordBatch::try_new(
                Arc::new(schema().to_arrow(SymbolAs::Utf8)),
                vec![
                    Arc::new(TimestampMillisecondArray::from(ts)),
                    Arc::new(StringArray::from(host)),
                    Arc::new(Float64Array::from(cpu)),
                ],
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn date_bin_over_a_time_range_matches_memtable_and_prunes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let batches = days();
    let table = table_with(dir.path(), schema(), "ts", Partitioning::Day, &batches, &[])?;
    let sql = "SELECT date_bin(INTERVAL '1 hour', ts) AS bucket, host, avg(cpu) AS cpu, count(*) AS n \
               FROM t WHERE ts >= TIMESTAMP '1970-01-04 00:00:00' AND ts < TIMESTAMP '1970-01-05 00:00:00' \
               GROUP BY bucket, host ORDER BY bucket, host";
    let rt = runtime();
    rt.block_on(async {
        let strata = session(4);
        register_strata(&strata, "t", &table)?;
        let mem = session(4);
        mem.register_table("t", mem_table(batches[0].schema(), batches.clone())?)?;
        let want = run(&mem, sql).await?;
        let plan = strata.sql(sql).await?.create_physical_plan().await?;
        let got = collect(Arc::clone(&plan), strata.task_ctx()).await?;
        assert_eq!(rows(&got, true, true), rows(&want, true, true));
        assert_eq!(rows(&got, true, false).len(), 24 * 3);
        let scans = strata_scans(&plan);
        assert_eq!(scans.len(), 1);
        assert!(
            scans[0].predicate().is_some(),
            "the time range was not pushed down"
        );
        let metrics = scans[0].metrics().unwrap_or_default();
        let total = metrics.sum_by_name("segments_total").map(|m| m.as_usize());
        let pruned = metrics.sum_by_name("segments_pruned").map(|m| m.as_usize());
        assert_eq!(total, Some(10));
        assert_eq!(pruned, Some(9), "one day of ten is read");
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    table.close()?;
    Ok(())
}
