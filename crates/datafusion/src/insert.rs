//! `INSERT INTO`: DataFusion's rows into one Strata transaction per statement.

use std::fmt;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::common::Result as DfResult;
use datafusion::datasource::sink::DataSink;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, SendableRecordBatchStream};
use futures::StreamExt;
use strata::Table;
use tokio::sync::mpsc;

use crate::error::{Error, Result};

/// Writes a statement's rows through one [`strata::Transaction`]: all of them become visible
/// and durable at its commit, or none (an error, or a cancelled statement, aborts it).
#[derive(Debug)]
pub(crate) struct StrataSink {
    table: Arc<Table>,
    schema: SchemaRef,
}

impl StrataSink {
    pub(crate) fn new(table: Arc<Table>, schema: SchemaRef) -> Self {
        Self { table, schema }
    }
}

impl DisplayAs for StrataSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StrataSink: table={}", self.table.dir().display())
    }
}

enum Message {
    Batch(RecordBatch),
    /// The input ended: commit.
    Commit,
}

/// The writer thread: a transaction fed from the channel, committed only on `Commit`.
fn write_transaction(table: &Table, rx: &mut mpsc::Receiver<Message>) -> Result<u64> {
    let mut tx = table.transaction()?;
    let mut rows = 0u64;
    loop {
        match rx.blocking_recv() {
            Some(Message::Batch(b)) => {
                rows += b.num_rows() as u64;
                tx.write(&b)?;
            }
            Some(Message::Commit) => {
                tx.commit()?;
                return Ok(rows);
            }
            None => {
                tx.abort()?;
                return Err(Error::InsertCancelled);
            }
        }
    }
}

#[async_trait]
impl DataSink for StrataSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> DfResult<u64> {
        let (tx, mut rx) = mpsc::channel::<Message>(2);
        let table = Arc::clone(&self.table);
        let writer = tokio::task::spawn_blocking(move || write_transaction(&table, &mut rx));
        let mut input_error = None;
        while let Some(batch) = data.next().await {
            match batch {
                Ok(b) if b.num_rows() == 0 => {}
                Ok(b) => {
                    // The table's own schema (names, nullability): DataFusion may mark a
                    // column nullable that the table does not; a null there fails here.
                    let b = match RecordBatch::try_new(
                        Arc::clone(&self.schema),
                        b.columns().to_vec(),
                    ) {
                        Ok(b) => b,
                        Err(e) => {
                            input_error = Some(Error::from(e).into());
                            break;
                        }
                    };
                    if tx.send(Message::Batch(b)).await.is_err() {
                        break; // the writer failed; its error is below
                    }
                }
                Err(e) => {
                    input_error = Some(e);
                    break;
                }
            }
        }
        if input_error.is_none() {
            // Fails only if the writer already stopped with an error, reported below.
            let _ = tx.send(Message::Commit).await;
        }
        drop(tx);
        let written = writer.await.map_err(|_| Error::WorkerLost("insert"))?;
        if let Some(e) = input_error {
            return Err(e);
        }
        Ok(written?)
    }
}
