//! Backends for the tests: in-memory, a local directory, and a moto S3 server in a child process.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use strata_object_store::ObjectStoreFs;

/// A fresh in-memory store's filesystem, rooted at the store's root.
pub(crate) fn mem_fs() -> ObjectStoreFs {
    ObjectStoreFs::new(Arc::new(InMemory::new()), ObjectPath::ROOT)
}

/// A local-directory store (object_store's `LocalFileSystem`) under `dir`.
pub(crate) fn local_store(dir: &std::path::Path) -> Arc<dyn ObjectStore> {
    Arc::new(LocalFileSystem::new_with_prefix(dir).unwrap())
}

/// The moto server of the tests.
pub(crate) struct Moto(strata_object_store::testing::S3TestServer);

impl Moto {
    pub(crate) fn start(test: &str) -> Option<Moto> {
        strata_object_store::testing::S3TestServer::start(test).map(Moto)
    }

    pub(crate) fn bucket(&self, bucket: &str) -> Arc<dyn ObjectStore> {
        self.0.bucket(bucket).unwrap()
    }
}
