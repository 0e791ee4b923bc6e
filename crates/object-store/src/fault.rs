//! [`FaultStore`]: failed requests, lost responses and crashes at a chosen call, for tests.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, stream};
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

#[derive(Debug, Default)]
struct State {
    /// Calls made so far, faulted ones included.
    calls: u64,
    /// The call (by number) that fails before reaching the store.
    fail_at: Option<u64>,
    /// The call (by number) that reaches the store and then reports an error.
    lose_at: Option<u64>,
    /// The first call (by number) of the crash: it and every later call fail.
    crash_from: Option<u64>,
    /// Faults injected so far.
    injected: u64,
}

/// What happens to one call.
#[derive(Debug, Clone, Copy)]
enum Fate {
    /// Forwarded as it is.
    Pass,
    /// Refused before it reaches the store; the store is unchanged.
    Fail(u64),
    /// Performed by the store, then reported as failed (the response was lost).
    Lose(u64),
}

fn injected(call: u64, what: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "FaultStore",
        source: format!("injected fault at call {call}: {what}").into(),
    }
}

const FAILED: &str = "the request failed before reaching the store";
const LOST: &str = "the request was performed but its response was lost";

/// An [`ObjectStore`] for tests that forwards calls to the store it wraps, except the ones
/// told to fail: the store-side counterpart of [`strata_format::FaultFs`], for crash sweeps
/// of protocols written against an object store.
///
/// Every call of a method of [`ObjectStore`] counts as one, reads and listings included
/// ([`FaultStore::calls`]); `get_ranges` and renames are served by the trait's defaults, so
/// each ranged GET, copy and delete they send counts (and can fail) on its own, as the
/// requests of an S3 client would. A faulted call returns a `Generic` error saying it was
/// injected. The faults, each relative to the calls made so far:
///
/// * [`FaultStore::fail_call`]`(k)`: the `k`-th call from now fails before it reaches the
///   store (the store is unchanged, as when a request never left the machine);
/// * [`FaultStore::lose_response`]`(k)`: the `k`-th call from now is performed and then
///   reported as failed (a timeout after the store acted: a PUT that did happen, a delete that
///   did delete);
/// * [`FaultStore::crash_after`]`(k)`: `k` more calls succeed, then every call fails (the
///   writer crashed or lost the network); [`FaultStore::heal`] ends that and clears the rest.
///
/// For a sweep, run the operation once to learn how many calls it makes, then for each `k`
/// run it on a fresh store with a fault at `k`. Parts of a multipart upload go straight to the
/// inner store's upload and are not counted. Cloning shares the state.
#[derive(Debug, Clone)]
pub struct FaultStore {
    inner: Arc<dyn ObjectStore>,
    state: Arc<Mutex<State>>,
}

impl FaultStore {
    /// Forwards every call to `inner` until told otherwise.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            state: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fails the `k`-th call from now (`1` is the next; `0` is taken as `1`) before it reaches
    /// the store; later calls pass.
    pub fn fail_call(&self, k: u64) {
        let mut s = self.lock();
        s.fail_at = Some(s.calls.saturating_add(k.max(1)));
    }

    /// Performs the `k`-th call from now (`1` is the next; `0` is taken as `1`), then reports
    /// it as failed; later calls pass.
    pub fn lose_response(&self, k: u64) {
        let mut s = self.lock();
        s.lose_at = Some(s.calls.saturating_add(k.max(1)));
    }

    /// Lets `k` more calls through; the one after and every later call fail (`0`: from the
    /// next call on).
    pub fn crash_after(&self, k: u64) {
        let mut s = self.lock();
        s.crash_from = Some(s.calls.saturating_add(k).saturating_add(1));
    }

    /// Calls made so far, faulted ones included.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// Faults injected so far (failed, lost and crashed calls).
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    /// Ends a crash and clears pending faults: every later call passes.
    pub fn heal(&self) {
        let mut s = self.lock();
        s.fail_at = None;
        s.lose_at = None;
        s.crash_from = None;
    }

    /// Counts one call and decides what happens to it.
    fn fate(&self) -> Fate {
        let mut s = self.lock();
        s.calls = s.calls.saturating_add(1);
        let n = s.calls;
        let fate = if s.crash_from.is_some_and(|c| n >= c) || s.fail_at == Some(n) {
            Fate::Fail(n)
        } else if s.lose_at == Some(n) {
            Fate::Lose(n)
        } else {
            Fate::Pass
        };
        if !matches!(fate, Fate::Pass) {
            s.injected = s.injected.saturating_add(1);
        }
        fate
    }
}

impl fmt::Display for FaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultStore({})", self.inner)
    }
}

/// Applies `fate` to an async call: `call` is only started when the call reaches the store.
macro_rules! faulted {
    ($fate:expr, $call:expr) => {
        match $fate {
            Fate::Pass => $call.await,
            Fate::Fail(n) => Err(injected(n, FAILED)),
            Fate::Lose(n) => {
                let _ = $call.await;
                Err(injected(n, LOST))
            }
        }
    };
}

/// Applies `fate` to a listing: a failed one yields only the error, a lost one its entries and
/// then the error.
fn faulted_stream<T: Send + 'static>(
    fate: Fate,
    call: impl FnOnce() -> BoxStream<'static, object_store::Result<T>>,
) -> BoxStream<'static, object_store::Result<T>> {
    match fate {
        Fate::Pass => call(),
        Fate::Fail(n) => stream::once(async move { Err(injected(n, FAILED)) }).boxed(),
        Fate::Lose(n) => call()
            .chain(stream::once(async move { Err(injected(n, LOST)) }))
            .boxed(),
    }
}

#[async_trait]
impl ObjectStore for FaultStore {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        faulted!(self.fate(), self.inner.put_opts(location, payload, opts))
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        faulted!(self.fate(), self.inner.put_multipart_opts(location, opts))
    }

    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        faulted!(self.fate(), self.inner.get_opts(location, options))
    }

    /// One call per stream, whatever the number of keys; a faulted one reports every key as
    /// failed.
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        match self.fate() {
            Fate::Pass => self.inner.delete_stream(locations),
            Fate::Fail(n) => locations
                .map(move |l| l.and_then(|_| Err(injected(n, FAILED))))
                .boxed(),
            Fate::Lose(n) => self
                .inner
                .delete_stream(locations)
                .map(move |l| l.and_then(|_| Err(injected(n, LOST))))
                .boxed(),
        }
    }

    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        faulted_stream(self.fate(), || self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&ObjectPath>,
        offset: &ObjectPath,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        faulted_stream(self.fate(), || self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<ListResult> {
        faulted!(self.fate(), self.inner.list_with_delimiter(prefix))
    }

    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        faulted!(self.fate(), self.inner.copy_opts(from, to, options))
    }
}
