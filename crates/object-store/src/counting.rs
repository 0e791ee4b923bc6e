//! [`CountingStore`]: requests and bytes by kind, for benchmarks and "bytes per query" tests.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// The requests a [`CountingStore`] saw, by kind, and the bytes they moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestCounts {
    /// GET requests (whole or ranged; each merged range of a `get_ranges` is one).
    pub gets: u64,
    /// Bytes the GETs returned.
    pub get_bytes: u64,
    /// HEAD requests.
    pub heads: u64,
    /// PUT requests (including conditional ones).
    pub puts: u64,
    /// Bytes the PUTs sent.
    pub put_bytes: u64,
    /// Multipart uploads started.
    pub multipart_uploads: u64,
    /// Listings (`list`, `list_with_offset`, `list_with_delimiter`), one per call however
    /// many pages the store returns.
    pub lists: u64,
    /// Objects deleted (each key of a delete stream).
    pub deletes: u64,
    /// Copies (a rename is a copy and a delete).
    pub copies: u64,
}

impl RequestCounts {
    /// All requests of every kind.
    pub fn requests(&self) -> u64 {
        self.gets
            + self.heads
            + self.puts
            + self.multipart_uploads
            + self.lists
            + self.deletes
            + self.copies
    }
}

#[derive(Debug, Default)]
struct Counters {
    gets: AtomicU64,
    get_bytes: AtomicU64,
    heads: AtomicU64,
    puts: AtomicU64,
    put_bytes: AtomicU64,
    multipart_uploads: AtomicU64,
    lists: AtomicU64,
    deletes: AtomicU64,
    copies: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// An [`ObjectStore`] that forwards every call to the store it wraps and counts the requests
/// by kind and the bytes GETs return and PUTs send ([`RequestCounts`]).
///
/// `get_ranges` is not forwarded but served by the trait's default, which merges near ranges
/// and issues ranged GETs through this store, so each GET an S3 client would send is counted
/// (a store with its own `get_ranges`, like a local one, might read differently). Likewise a
/// rename counts as the copy and delete it is on S3. Cloning shares the counters.
#[derive(Debug, Clone)]
pub struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    counters: Arc<Counters>,
}

impl CountingStore {
    /// Counts the requests sent to `inner`, from zero.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            counters: Arc::default(),
        }
    }

    /// The counts so far.
    pub fn snapshot(&self) -> RequestCounts {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RequestCounts {
            gets: get(&c.gets),
            get_bytes: get(&c.get_bytes),
            heads: get(&c.heads),
            puts: get(&c.puts),
            put_bytes: get(&c.put_bytes),
            multipart_uploads: get(&c.multipart_uploads),
            lists: get(&c.lists),
            deletes: get(&c.deletes),
            copies: get(&c.copies),
        }
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        let c = &self.counters;
        for a in [
            &c.gets,
            &c.get_bytes,
            &c.heads,
            &c.puts,
            &c.put_bytes,
            &c.multipart_uploads,
            &c.lists,
            &c.deletes,
            &c.copies,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }
}

impl fmt::Display for CountingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountingStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        bump(&self.counters.puts, 1);
        bump(&self.counters.put_bytes, payload.content_length() as u64);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        bump(&self.counters.multipart_uploads, 1);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let head = options.head;
        bump(
            if head {
                &self.counters.heads
            } else {
                &self.counters.gets
            },
            1,
        );
        let result = self.inner.get_opts(location, options).await?;
        if !head {
            let Range { start, end } = result.range;
            bump(&self.counters.get_bytes, end.saturating_sub(start));
        }
        Ok(result)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        let counters = Arc::clone(&self.counters);
        let counted = locations
            .inspect(move |l| {
                if l.is_ok() {
                    bump(&counters.deletes, 1);
                }
            })
            .boxed();
        self.inner.delete_stream(counted)
    }

    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        bump(&self.counters.lists, 1);
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&ObjectPath>,
        offset: &ObjectPath,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        bump(&self.counters.lists, 1);
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<ListResult> {
        bump(&self.counters.lists, 1);
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        bump(&self.counters.copies, 1);
        self.inner.copy_opts(from, to, options).await
    }
}
