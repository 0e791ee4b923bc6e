//! Helpers shared by the scenarios: tables at `memory://` URLs, a coordinator and workers on
//! 127.0.0.1 (in this process, so they share the in-memory object store), result comparison.

use std::net::SocketAddr;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use datafusion::common::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_distributed::{
    DistributedExt, SessionStateBuilderExt, Worker, WorkerQueryContext, WorkerResolver,
};
use strata::{Partitioning, Schema, Table, TableConfig, TableOptions};
use strata_distributed::{StrataCodec, StrataDistributedExt};
use tokio::task::JoinHandle;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use url::Url;

pub(crate) type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// A table at `url` holding `batches`, each committed in its own transaction (so each is at
/// least one segment, and nothing stays in the write buffer).
pub(crate) fn table_at(
    url: &str,
    schema: Schema,
    time_column: &str,
    batches: &[RecordBatch],
) -> TestResult<Arc<Table>> {
    let config = TableConfig::new(schema, time_column, Partitioning::Fixed(1 << 60))?;
    let table = Table::create(
        url,
        config,
        TableOptions::default().background_compaction(false),
    )?;
    for b in batches {
        let mut tx = table.transaction()?;
        tx.write(b)?;
        tx.commit()?;
    }
    Ok(Arc::new(table))
}

/// Workers listening on 127.0.0.1, each a gRPC server task of this process's runtime.
pub(crate) struct Cluster {
    pub(crate) ports: Vec<u16>,
    /// The codec of every worker (one cache of opened tables for them all).
    pub(crate) worker_codec: StrataCodec,
    servers: Vec<JoinHandle<()>>,
}

impl Cluster {
    /// Starts `n` workers on ports the OS picks. Call inside the runtime.
    pub(crate) fn start(n: usize) -> TestResult<Self> {
        let worker_codec = StrataCodec::default();
        let mut ports = Vec::new();
        let mut servers = Vec::new();
        for _ in 0..n {
            let incoming = TcpIncoming::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
            ports.push(incoming.local_addr()?.port());
            let codec = worker_codec.clone();
            let worker = Worker::from_session_builder(move |ctx: WorkerQueryContext| {
                let codec = codec.clone();
                async move { Ok(ctx.builder.with_strata_scans(codec).build()) }
            });
            servers.push(tokio::spawn(async move {
                let served = Server::builder()
                    .add_service(worker.into_worker_server())
                    .serve_with_incoming(incoming)
                    .await;
                if let Err(e) = served {
                    eprintln!("worker stopped: {e}");
                }
            }));
        }
        Ok(Self {
            ports,
            worker_codec,
            servers,
        })
    }

    /// A coordinator session over these workers, with its own codec, running each stage in
    /// at most `max_tasks` tasks (the planner's default is one per worker).
    pub(crate) fn coordinator(
        &self,
        target_partitions: usize,
        max_tasks: usize,
    ) -> TestResult<SessionContext> {
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(session_config(target_partitions))
            .with_distributed_worker_resolver(Localhost {
                ports: self.ports.clone(),
            })
            .with_distributed_planner()
            .with_distributed_max_tasks_per_stage(max_tasks)?
            .with_strata_scans(StrataCodec::default())
            .build();
        Ok(SessionContext::from(state))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for s in &self.servers {
            s.abort();
        }
    }
}

pub(crate) fn session_config(target_partitions: usize) -> SessionConfig {
    SessionConfig::new()
        .with_target_partitions(target_partitions)
        .with_batch_size(1024)
}

/// A plain single-node session.
pub(crate) fn single_node(target_partitions: usize) -> SessionContext {
    SessionContext::new_with_config(session_config(target_partitions))
}

#[derive(Clone)]
struct Localhost {
    ports: Vec<u16>,
}

impl WorkerResolver for Localhost {
    fn get_urls(&self) -> Result<Vec<Url>, DataFusionError> {
        self.ports
            .iter()
            .map(|p| {
                Url::parse(&format!("http://127.0.0.1:{p}"))
                    .map_err(|e| DataFusionError::External(Box::new(e)))
            })
            .collect()
    }
}

/// Result rows as text, sorted unless `ordered`.
pub(crate) fn rows(batches: &[RecordBatch], ordered: bool) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let cols: Vec<ArrayRef> = b.columns().to_vec();
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

/// Equal rows, floats within a relative 1e-9 (sums added in different orders).
pub(crate) fn same_rows(a: &[String], b: &[String]) -> bool {
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
