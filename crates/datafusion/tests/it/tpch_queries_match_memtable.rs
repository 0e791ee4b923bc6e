//! The 22 TPC-H queries (`../shared/data/tpch-queries`) at scale factor 0.01, over Strata
//! tables and over `MemTable`s of the same batches, give the same results (decimals are stored
//! as `Float64`, Strata having no decimal type; sums are compared to 9 significant digits since
//! partitionings add in different orders).

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use strata::{Partitioning, Schema};
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

use crate::common::*;

const SCALE: f64 = 0.01;
const BATCH: usize = 4096;

fn queries_dir() -> Option<PathBuf> {
    let data = std::env::var_os("STRATA_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let dir = data.join("tpch-queries");
    dir.join("q1.sql").exists().then_some(dir)
}

/// Decimals as Float64, string views as Utf8: the types Strata stores.
fn conform(batches: Vec<RecordBatch>) -> TestResult<Vec<RecordBatch>> {
    let Some(first) = batches.first() else {
        return Ok(batches);
    };
    let fields: Vec<ArrowField> = first
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let t = match f.data_type() {
                ArrowType::Decimal128(..) => ArrowType::Float64,
                ArrowType::Utf8View => ArrowType::Utf8,
                t => t.clone(),
            };
            ArrowField::new(f.name(), t, f.is_nullable())
        })
        .collect();
    let schema = Arc::new(ArrowSchema::new(fields));
    batches
        .iter()
        .map(|b| {
            let cols = b
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| arrow_cast::cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RecordBatch::try_new(Arc::clone(&schema), cols)?)
        })
        .collect()
}

fn generate() -> TestResult<Vec<(&'static str, Vec<RecordBatch>)>> {
    fn all<I: Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>>>(
        it: I,
    ) -> TestResult<Vec<RecordBatch>> {
        conform(it.collect::<Result<Vec<_>, _>>()?)
    }
    Ok(vec![
        (
            "nation",
            all(NationArrow::new(NationGenerator::new(SCALE, 1, 1)).with_batch_size(BATCH))?,
        ),
        (
            "region",
            all(RegionArrow::new(RegionGenerator::new(SCALE, 1, 1)).with_batch_size(BATCH))?,
        ),
        (
            "part",
            all(PartArrow::new(PartGenerator::new(SCALE, 1, 1)).with_batch_size(BATCH))?,
        ),
        (
            "supplier",
            all(SupplierArrow::new(SupplierGenerator::new(SCALE, 1, 1)).with_batch_size(BATCH))?,
        ),
        (
            "partsupp",
            all(PartSuppArrow::new(PartSuppGenerator::new(SCALE, 1, 1)).with_batch_size(BATCH))?,
        ),
        (
            "customer",
            all(CustomerArrow::new(CustomerGenerator::new(SCALE, 1, 1)).with_batch_size(BATCH))?,
        ),
        (
            "orders",
            all(OrderArrow::new(OrderGenerator::new(SCALE, 1, 1)).with_batch_size(BATCH))?,
        ),
        (
            "lineitem",
            all(LineItemArrow::new(LineItemGenerator::new(SCALE, 1, 1)).with_batch_size(BATCH))?,
        ),
    ])
}

/// Equal rows, floats within a relative 1e-9 (sums added in different orders).
fn same_rows(a: &[String], b: &[String]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            let (xs, ys): (Vec<&str>, Vec<&str>) =
                (x.split(" | ").collect(), y.split(" | ").collect());
            xs.len() == ys.len()
                && xs.iter().zip(&ys).all(|(p, q)| {
                    p == q
                        || matches!((p.parse::<f64>(), q.parse::<f64>()), (Ok(u), Ok(v))
                            if (u - v).abs() <= 1e-9 * u.abs().max(v.abs()))
                })
        })
}

#[test]
fn tpch_queries_over_strata_match_memtable() -> TestResult {
    let Some(queries) = queries_dir() else {
        eprintln!("skipping: no tpch-queries under STRATA_DATA_DIR (or ../shared/data)");
        return Ok(());
    };
    let tables = generate()?;
    let dir = tempfile::tempdir()?;
    let rt = runtime();
    // q15 keeps the suppliers whose revenue, a Float64 sum, equals the maximum of the same sum
    // computed a second time. With several partitions each computation adds in its own order and
    // the equality may fail on either engine (MemTable dropped the answer at SF 0.01), so q15 runs
    // on one partition, where both sums add in one order; the other queries run on four.
    let (strata, mem) = (session(4), session(4));
    let (strata_one, mem_one) = (session(1), session(1));
    let mut opened = Vec::new();
    for (name, batches) in &tables {
        let arrow_schema = batches[0].schema();
        let schema = Schema::from_arrow(&arrow_schema)?;
        // Every TPC-H table starts with an Int64 key: the "time" column of a single partition.
        let key = arrow_schema.field(0).name().clone();
        let table = table_with(
            &dir.path().join(name),
            schema,
            &key,
            Partitioning::Fixed(1 << 60),
            batches,
            &[],
        )?;
        register_strata(&strata, name, &table)?;
        register_strata(&strata_one, name, &table)?;
        mem.register_table(
            *name,
            mem_table(Arc::clone(&arrow_schema), batches.clone())?,
        )?;
        mem_one.register_table(*name, mem_table(arrow_schema, batches.clone())?)?;
        opened.push(table);
    }
    let mut passed = 0;
    let mut failures = Vec::new();
    for q in 1..=22 {
        let text = std::fs::read_to_string(queries.join(format!("q{q}.sql")))?;
        let statements: Vec<&str> = text
            .split(';')
            .map(str::trim)
            .filter(|s| {
                s.lines()
                    .any(|l| !l.trim().is_empty() && !l.trim().starts_with("--"))
            })
            .collect();
        let ordered = text.to_lowercase().contains("order by");
        let (strata, mem) = if q == 15 {
            (&strata_one, &mem_one)
        } else {
            (&strata, &mem)
        };
        let result = rt.block_on(async {
            // q15 creates a view, queries it and drops it: keep the query's result.
            let mut got = Vec::new();
            let mut want = Vec::new();
            for s in &statements {
                let (g, w) = (run(strata, s).await?, run(mem, s).await?);
                let code: String = s
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("--"))
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase();
                if !code.trim_start().starts_with("create")
                    && !code.trim_start().starts_with("drop")
                {
                    (got, want) = (g, w);
                }
            }
            Ok::<_, Box<dyn std::error::Error>>((got, want))
        });
        match result {
            Ok((got, want)) => {
                let (g, w) = (rows(&got, ordered, false), rows(&want, ordered, false));
                // q18 selects customers with more than 300 units in an order: none at SF 0.01.
                if same_rows(&g, &w) && (!w.is_empty() || q == 18) {
                    passed += 1;
                } else if same_rows(&g, &w) {
                    failures.push(format!("q{q}: both empty"));
                } else {
                    failures.push(format!("q{q}: differs\n strata: {g:?}\n memtable: {w:?}"));
                }
            }
            Err(e) => failures.push(format!("q{q}: {e}")),
        }
    }
    eprintln!("TPC-H SF {SCALE}: {passed}/22 queries match");
    for t in opened {
        t.close()?;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn lineitem_scan_runs_in_several_partitions() -> TestResult {
    let batches = conform(
        LineItemArrow::new(LineItemGenerator::new(SCALE, 1, 1))
            .with_batch_size(BATCH)
            .collect::<Result<Vec<_>, _>>()?,
    )?;
    let dir = tempfile::tempdir()?;
    let schema = Schema::from_arrow(&batches[0].schema())?;
    let table = table_with(
        dir.path(),
        schema,
        "l_orderkey",
        Partitioning::Fixed(1 << 60),
        &batches,
        &[],
    )?;
    let ctx = session(4);
    register_strata(&ctx, "lineitem", &table)?;
    let rt = runtime();
    rt.block_on(async {
        let df = ctx
            .sql("SELECT l_returnflag, sum(l_quantity) FROM lineitem GROUP BY l_returnflag")
            .await?;
        let plan = df.create_physical_plan().await?;
        let scans = strata_scans(&plan);
        assert_eq!(scans.len(), 1);
        assert_eq!(scans[0].partitions(), 4);
        let got = datafusion::physical_plan::collect(Arc::clone(&plan), ctx.task_ctx()).await?;
        assert_eq!(rows(&got, false, false).len(), 3);
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    table.close()?;
    Ok(())
}
