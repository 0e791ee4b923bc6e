//! `INSERT INTO strata_table SELECT …` is one transaction: every row visible and durable
//! after it returns, none when its input fails part way (after earlier batches were written)
//! or breaks the table's schema.

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use strata::{DataType, Field, Partitioning, Schema, SymbolAs, Table, TimeUnit};

use crate::common::*;

fn schema() -> Schema {
    Schema::new(vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        Field::new("host", DataType::Symbol, false),
        Field::new("v", DataType::Int64, false),
    ])
    .unwrap()
}

/// A source of `n` rows in batches of 100: v = 0..n, hosts h0..h4.
fn source(n: i64) -> Vec<RecordBatch> {
    let arrow = Arc::new(arrow_schema::Schema::new(vec![
        arrow_schema::Field::new("k", arrow_schema::DataType::Int64, false),
        arrow_schema::Field::new("name", arrow_schema::DataType::Utf8, true),
    ]));
    (0..n)
        .step_by(100)
        .map(|start| {
            let ks: Vec<i64> = (start..(start + 100).min(n)).collect();
            let names: Vec<Option<String>> = ks
                .iter()
                .map(|k| (k % 1000 != 999).then(|| format!("h{}", k % 5)))
                .collect();
            RecordBatch::try_new(
                Arc::clone(&arrow),
                vec![
                    Arc::new(Int64Array::from(ks)),
                    Arc::new(StringArray::from(names)),
                ],
            )
            .unwrap()
        })
        .collect()
}

async fn count(ctx: &datafusion::prelude::SessionContext) -> TestResult<Vec<String>> {
    Ok(rows(
        &run(ctx, "SELECT count(*), sum(v) FROM t").await?,
        true,
        false,
    ))
}

#[test]
fn insert_select_is_atomic_and_durable() -> TestResult {
    let dir = tempfile::tempdir()?;
    let seed = RecordBatch::try_new(
        Arc::new(schema().to_arrow(SymbolAs::Utf8)),
        vec![
            Arc::new(TimestampMillisecondArray::from(vec![0])),
            Arc::new(StringArray::from(vec!["h0"])),
            Arc::new(Int64Array::from(vec![7])),
        ],
    )?;
    let table = table_with(dir.path(), schema(), "ts", Partitioning::Day, &[seed], &[])?;
    let rt = runtime();
    rt.block_on(async {
        let ctx = session(2);
        register_strata(&ctx, "t", &table)?;
        ctx.register_table("src", mem_table(source(2000)[0].schema(), source(2000))?)?;

        // 900 rows (k < 900: names never null), in 9 input batches.
        let done = run(
            &ctx,
            "INSERT INTO t SELECT CAST(k * 60000 AS TIMESTAMP(3)) AS ts, name AS host, k AS v \
             FROM src WHERE k < 900",
        )
        .await?;
        assert_eq!(rows(&done, true, false), ["900"]);
        assert_eq!(
            count(&ctx).await?,
            [format!("901 | {}", 7 + (0..900).sum::<i64>())]
        );

        // Fails on the last source batch (division by zero at k = 1950), after the
        // earlier batches reached the transaction: nothing is written.
        let err = run(
            &ctx,
            "INSERT INTO t SELECT CAST(k * 60000 AS TIMESTAMP(3)), 'x', 10 / (k - 1950) FROM src",
        )
        .await;
        assert!(err.is_err(), "{err:?}");
        assert_eq!(
            count(&ctx).await?,
            [format!("901 | {}", 7 + (0..900).sum::<i64>())]
        );

        // A NULL for a non-null column (k = 999): nothing is written.
        let err = run(
            &ctx,
            "INSERT INTO t SELECT CAST(k * 60000 AS TIMESTAMP(3)), name, k FROM src",
        )
        .await;
        assert!(err.is_err(), "{err:?}");
        assert_eq!(
            count(&ctx).await?,
            [format!("901 | {}", 7 + (0..900).sum::<i64>())]
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    table.close()?;
    drop(table);

    // Durable: the committed statement's rows are there after reopening, and only they.
    let (table, _) = Table::open(dir.path(), options())?;
    let table = Arc::new(table);
    rt.block_on(async {
        let ctx = session(2);
        register_strata(&ctx, "t", &table)?;
        assert_eq!(
            count(&ctx).await?,
            [format!("901 | {}", 7 + (0..900).sum::<i64>())]
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    table.close()?;
    Ok(())
}

#[test]
fn insert_into_a_snapshot_provider_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let table = table_with(dir.path(), schema(), "ts", Partitioning::Day, &[], &[])?;
    let rt = runtime();
    rt.block_on(async {
        let ctx = session(2);
        ctx.register_table(
            "t",
            Arc::new(strata_datafusion::StrataTable::from_snapshot(
                table.snapshot()?,
            )),
        )?;
        let err = run(
            &ctx,
            "INSERT INTO t VALUES (TIMESTAMP '2020-01-01 00:00:00', 'a', 1)",
        )
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("read-only snapshot"), "{err}");
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    table.close()?;
    Ok(())
}
