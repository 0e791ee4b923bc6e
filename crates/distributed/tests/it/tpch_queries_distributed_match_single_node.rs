//! The 22 TPC-H queries (`../shared/data/tpch-queries`) at scale factor 0.01 over Strata
//! tables at `memory://` URLs, run by a coordinator and two datafusion-distributed workers on
//! 127.0.0.1 (gRPC, in this process, so all read the same in-memory object store), give the
//! same results as single-node DataFusion over the same tables (decimals stored as `Float64`,
//! Strata having no decimal type; floats compared to a relative 1e-9, since partitionings add
//! in different orders).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use datafusion::prelude::SessionContext;
use datafusion_distributed::display_plan_ascii;
use strata::Schema;
use strata_datafusion::StrataTable;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

use crate::cluster::*;

const SCALE: f64 = 0.01;
const BATCH: usize = 4096;
/// The whole scenario (22 queries, twice each) must finish within this.
const TIME_LIMIT: Duration = Duration::from_secs(900);

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

/// The statements of a query file (q15 creates a view, queries it and drops it).
fn statements(text: &str) -> Vec<&str> {
    text.split(';')
        .map(str::trim)
        .filter(|s| {
            s.lines()
                .any(|l| !l.trim().is_empty() && !l.trim().starts_with("--"))
        })
        .collect()
}

fn is_ddl(statement: &str) -> bool {
    let code: String = statement
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let code = code.trim_start();
    code.starts_with("create") || code.starts_with("drop")
}

/// Runs a query file's statements; the result of its last query (not DDL).
async fn run_query(ctx: &SessionContext, text: &str) -> TestResult<Vec<RecordBatch>> {
    let mut out = Vec::new();
    for s in statements(text) {
        let batches = ctx.sql(s).await?.collect().await?;
        if !is_ddl(s) {
            out = batches;
        }
    }
    Ok(out)
}

#[test]
fn tpch_queries_on_two_workers_match_single_node() -> TestResult {
    let Some(queries) = queries_dir() else {
        eprintln!("skipping: no tpch-queries under STRATA_DATA_DIR (or ../shared/data)");
        return Ok(());
    };
    let started = Instant::now();
    let tables = generate()?;
    let rt = runtime();
    rt.block_on(async {
        tokio::time::timeout(TIME_LIMIT, scenario(&queries, &tables))
            .await
            .map_err(|_| format!("TPC-H on two workers took longer than {TIME_LIMIT:?}"))?
    })?;
    eprintln!("TPC-H SF {SCALE} distributed: {:?}", started.elapsed());
    Ok(())
}

async fn scenario(
    queries: &std::path::Path,
    tables: &[(&'static str, Vec<RecordBatch>)],
) -> TestResult {
    let cluster = Cluster::start(2)?;
    // q15 keeps the suppliers whose revenue, a Float64 sum, equals the maximum of the same sum
    // computed a second time; with several partitions or tasks each computation may add in its
    // own order and the equality fail (it did, on two tasks), so q15 runs on one partition and
    // one task per stage (still on a worker, through the codec), and on one partition on the
    // single node, as strata-datafusion's TPC-H test does; the other queries on four
    // partitions and two tasks.
    let (dist, local) = (cluster.coordinator(4, 2)?, single_node(4));
    let (dist_one, local_one) = (cluster.coordinator(1, 1)?, single_node(1));
    let mut opened = Vec::new();
    for (name, batches) in tables {
        let arrow_schema = batches[0].schema();
        let schema = Schema::from_arrow(&arrow_schema)?;
        // Every TPC-H table starts with an Int64 key: the "time" column of a single partition.
        let key = arrow_schema.field(0).name().clone();
        let url = format!("memory://strata-distributed-tpch/{name}");
        let table = table_at(&url, schema, &key, batches)?;
        let provider = StrataTable::new(Arc::clone(&table)).with_location(url.as_str());
        for ctx in [&dist, &local, &dist_one, &local_one] {
            ctx.register_table(*name, Arc::new(provider.clone()))?;
        }
        opened.push(table);
    }

    // The plan really is distributed: the lineitem scan runs on both workers, below a network
    // boundary.
    let q1 = std::fs::read_to_string(queries.join("q1.sql"))?;
    let plan = dist.sql(&q1).await?.create_physical_plan().await?;
    let shape = display_plan_ascii(plan.as_ref(), false);
    eprintln!("q1 distributed plan:\n{shape}");
    assert!(shape.contains("StrataScanExec"), "{shape}");
    assert!(
        shape.contains("NetworkShuffleExec") || shape.contains("NetworkCoalesceExec"),
        "{shape}"
    );
    assert!(shape.contains("DistributedLeafExec"), "{shape}");
    assert!(shape.contains("tasks=2"), "{shape}");

    let mut passed = 0;
    let mut failures = Vec::new();
    for q in 1..=22 {
        let text = std::fs::read_to_string(queries.join(format!("q{q}.sql")))?;
        let ordered = text.to_lowercase().contains("order by");
        let (d, l) = if q == 15 {
            (&dist_one, &local_one)
        } else {
            (&dist, &local)
        };
        let t = Instant::now();
        let got = run_query(d, &text).await;
        let took = t.elapsed();
        let want = run_query(l, &text).await?;
        match got {
            Ok(got) => {
                let (g, w) = (rows(&got, ordered), rows(&want, ordered));
                // q18 selects customers with more than 300 units in an order: none at SF 0.01.
                if same_rows(&g, &w) && (!w.is_empty() || q == 18) {
                    eprintln!("q{q}: ok, {} rows, {took:?}", g.len());
                    passed += 1;
                } else if same_rows(&g, &w) {
                    failures.push(format!("q{q}: both empty"));
                } else {
                    failures.push(format!(
                        "q{q}: differs\n distributed: {g:?}\n single node: {w:?}"
                    ));
                }
            }
            Err(e) => failures.push(format!("q{q}: {e}")),
        }
    }
    eprintln!("TPC-H SF {SCALE}: {passed}/22 distributed queries match single node");
    // The workers decoded the scans themselves (their codec opened the tables).
    assert!(cluster.worker_codec.open_tables() > 0);
    for t in opened {
        t.close()?;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}
