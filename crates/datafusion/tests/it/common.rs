//! Helpers shared by the scenarios: tables on disk, sessions over Strata and over MemTable,
//! and result comparison.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Float64Array, RecordBatch};
use arrow_schema::{DataType as ArrowType, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use strata::{Partitioning, Schema, Table, TableConfig, TableOptions};
use strata_datafusion::{StrataScanExec, StrataTable};

pub(crate) type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) fn session(target_partitions: usize) -> SessionContext {
    SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(target_partitions)
            .with_batch_size(1024),
    )
}

/// Options for tests: no background compaction (segment counts stay as written).
pub(crate) fn options() -> TableOptions {
    TableOptions::default().background_compaction(false)
}

/// A table at `dir` holding `segments` (one transaction, so at least one segment, each) and
/// then `buffered` written with `Table::write` (left in the write buffer).
pub(crate) fn table_with(
    dir: &Path,
    schema: Schema,
    time_column: &str,
    partitioning: Partitioning,
    segments: &[RecordBatch],
    buffered: &[RecordBatch],
) -> TestResult<Arc<Table>> {
    let config = TableConfig::new(schema, time_column, partitioning)?;
    let table = Table::create(dir, config, options())?;
    for b in segments {
        let mut tx = table.transaction()?;
        tx.write(b)?;
        tx.commit()?;
    }
    for b in buffered {
        table.write(b)?;
    }
    Ok(Arc::new(table))
}

pub(crate) fn mem_table(schema: SchemaRef, batches: Vec<RecordBatch>) -> TestResult<Arc<MemTable>> {
    Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
}

pub(crate) async fn run(ctx: &SessionContext, sql: &str) -> TestResult<Vec<RecordBatch>> {
    Ok(ctx.sql(sql).await?.collect().await?)
}

/// Result rows as text, floats rounded to 9 significant digits when `round` (sums over
/// different partitionings differ in the last bits), sorted unless `ordered`.
pub(crate) fn rows(batches: &[RecordBatch], ordered: bool, round: bool) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let cols: Vec<ArrayRef> = b
            .columns()
            .iter()
            .map(|c| if round { rounded(c) } else { Arc::clone(c) })
            .collect();
        let formatters: Vec<_> = cols
            .iter()
            .map(|c| {
                arrow_cast::display::ArrayFormatter::try_new(
                    c.as_ref(),
                    &arrow_cast::display::FormatOptions::default().with_null("NULL"),
                )
                .unwrap()
            })
            .collect();
        for r in 0..b.num_rows() {
            let cells: Vec<String> = formatters.iter().map(|f| f.value(r).to_string()).collect();
            out.push(cells.join(" | "));
        }
    }
    if !ordered {
        out.sort();
    }
    out
}

fn rounded(c: &ArrayRef) -> ArrayRef {
    let round = |v: f64| {
        if v == 0.0 || !v.is_finite() {
            v
        } else {
            let digits = 9 - 1 - v.abs().log10().floor() as i32;
            let scale = 10f64.powi(digits);
            (v * scale).round() / scale
        }
    };
    match c.data_type() {
        ArrowType::Float64 => {
            let a = c.as_any().downcast_ref::<Float64Array>().unwrap();
            Arc::new(a.unary::<_, arrow_array::types::Float64Type>(round))
        }
        ArrowType::Float32 => {
            let a = c.as_any().downcast_ref::<Float32Array>().unwrap();
            Arc::new(a.unary::<_, arrow_array::types::Float32Type>(|v| round(f64::from(v)) as f32))
        }
        _ => Arc::clone(c),
    }
}

/// Every `StrataScanExec` in a physical plan.
pub(crate) fn strata_scans(plan: &Arc<dyn ExecutionPlan>) -> Vec<&StrataScanExec> {
    let mut out = Vec::new();
    let any: &dyn Any = plan.as_ref();
    if let Some(s) = any.downcast_ref::<StrataScanExec>() {
        out.push(s);
    }
    for c in plan.children() {
        out.extend(strata_scans(c));
    }
    out
}

pub(crate) fn register_strata(ctx: &SessionContext, name: &str, table: &Arc<Table>) -> TestResult {
    ctx.register_table(name, Arc::new(StrataTable::new(Arc::clone(table))))?;
    Ok(())
}
