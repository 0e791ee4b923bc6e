//! The crate's own tokio runtime, on which every `object_store` future runs.
//!
//! The engine above is synchronous and is often called from a thread of a caller's runtime
//! (DataFusion's workers). Blocking on the caller's runtime (`Handle::block_on`) panics there
//! ("Cannot start a runtime from within a runtime"), and driving a future on the calling thread
//! would starve the caller's other tasks of the I/O driver. So each future is spawned on this
//! process-wide runtime and the calling thread waits on a plain std channel, which is legal on
//! any thread. A thread of this runtime must never call back into the filesystem: it would wait
//! for work queued behind itself.

use std::future::Future;
use std::sync::{Mutex, OnceLock, PoisonError};

use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Serialises creation, so two first callers never build two runtimes (dropping the loser
/// inside a caller's async context would panic).
static CREATING: Mutex<()> = Mutex::new(());

/// The runtime, created on first use; a failure to create it is returned (and retried by the
/// next call), never a panic.
fn runtime() -> std::io::Result<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let _creating = CREATING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("strata-io")
        .enable_all()
        .build()
        .map_err(|e| std::io::Error::other(format!("cannot start the strata-io runtime: {e}")))?;
    Ok(RUNTIME.get_or_init(|| rt))
}

/// Runs `fut` to completion on the crate's runtime and returns its output; the calling thread
/// blocks until then. Errors only when the runtime cannot be started or the task panicked.
pub(crate) fn run<F>(fut: F) -> std::io::Result<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    start(fut)?.wait()
}

/// A future started on the crate's runtime; [`Pending::wait`] blocks for its output.
#[derive(Debug)]
pub(crate) struct Pending<T>(std::sync::mpsc::Receiver<T>);

impl<T> Pending<T> {
    /// Blocks until the future is done. Errors only if its task panicked.
    pub(crate) fn wait(self) -> std::io::Result<T> {
        self.0.recv().map_err(|_| {
            std::io::Error::other("an object store task on the strata-io runtime panicked")
        })
    }
}

/// Starts `fut` on the crate's runtime without waiting for it (uploads of several parts at once).
pub(crate) fn start<F>(fut: F) -> std::io::Result<Pending<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = runtime()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        // The receiver only goes away if the waiting side did, and then nobody wants this.
        let _ = tx.send(fut.await);
    });
    Ok(Pending(rx))
}
