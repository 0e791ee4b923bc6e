//! strata-object-store: Strata's filesystem trait on object stores (S3, in-memory, local).
//!
//! Place in the stack: beside the engine, not in it. It implements the one storage seam,
//! [`strata_format::FileSystem`], on top of the [`object_store`] crate, so every layer above the
//! seam (writer, partition registry, compactor, table) runs unchanged on S3 or any other store
//! `object_store` speaks. [`open_url`] turns a table location (`/data/t`, `file:///data/t`,
//! `s3://bucket/t`, `memory://t`) into a filesystem and the root path to open the table at.
//!
//! What it is not: it chooses no protocol. A store cannot rename atomically or append, which
//! [`ObjectStoreFs`] says through [`Capabilities::OBJECT_STORE`](strata_format::fs::Capabilities);
//! the layers above pick their commit protocol by that flag (every file written once to its
//! final key, one manifest object per version created with [`FileSystem::put_if_absent`]).
//!
//! # Design
//!
//! ```text
//!   engine thread (sync; may be a caller's tokio worker)        "strata-io" runtime (2 threads)
//!   ------------------------------------------------------     -------------------------------
//!   ObjectStoreFs::open_read(/part-0/seg-3.strata)
//!     key = prefix/part-0/seg-3.strata
//!     spawn(async { store.head(key) })  ----------------------> HEAD
//!     wait on a std channel            <----------------------  ObjectMeta
//!   ReadAt::read_ranges([..])
//!     spawn(async { store.get_ranges(key, ..) }) ------------> ranged GETs (near ranges merged)
//! ```
//!
//! * **Paths.** The engine passes absolute paths (`/manifest/00000000000000000001.rec`); a path
//!   maps to a key by dropping the leading `/` and joining its components onto the store
//!   prefix. Directories are implicit, as in [`MemFs`](strata_format::MemFs): a directory
//!   exists while some key lies under it, and creating or syncing one does nothing.
//! * **The runtime.** The engine is synchronous and is often called from inside a caller's
//!   tokio runtime (DataFusion runs scans on its worker threads), where `Handle::block_on`
//!   panics. Every `object_store` future therefore runs on a small runtime of this crate's own,
//!   created on first use; the calling thread only waits on a channel for the answer.
//! * **Writes.** A file from [`FileSystem::create`] is held in memory until `sync`, which
//!   uploads it whole with one PUT: atomic, never torn, and nothing is visible before it. A
//!   file that grows past 8 MiB before its first `sync` (a large segment) becomes a multipart
//!   upload instead: 8 MiB parts go up while it is written, two at a time, and `sync` completes
//!   the upload, which is just as atomic; memory stays bounded by about three parts. Such a
//!   file is written once: a write after the completing `sync` is refused.
//! * **Reads.** [`FileSystem::open_read_suffix`] (how segments are opened) gets the object's
//!   length and its last bytes, a segment's tail and footer, in one suffix-range GET; reads
//!   then fetch 1 MiB windows or, for
//!   [`ReadAt::read_ranges`](strata_format::fs::ReadAt::read_ranges), `get_ranges`.
//! * **Errors.** A missing object is an I/O error of kind `NotFound`, a lost conditional create
//!   one of kind `AlreadyExists` ([`strata_format::fs::is_already_exists`]), anything else
//!   kind `Other` carrying the store's message; each names the engine path it concerned.
//!
//! # Key types
//!
//! [`ObjectStoreFs`] (the filesystem), [`open_url`] / [`UrlError`], [`CountingStore`]
//! (requests and bytes per kind, for benchmarks), [`FaultStore`] (failures and lost responses
//! at a chosen call, for crash tests).
//!
//! ```
//! use std::path::Path;
//! use strata_format::FileSystem;
//!
//! let (fs, root) = strata_object_store::open_url("memory://doc-example/table")?;
//! let file = root.join("part-0/seg-1.strata");
//! let mut w = fs.create(&file)?;
//! w.write_all(b"hello world")?;
//! w.sync()?; // one PUT of the whole file
//! let r = fs.open_read(&file)?;
//! assert_eq!(&r.read_at(6, 5)?[..], b"world");
//! assert_eq!(fs.list_dir(&root)?, vec![root.join("part-0")]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod counting;
mod fault;
mod fs;
mod location;
mod runtime;

pub mod testing;

pub use counting::{CountingStore, RequestCounts};
pub use fault::FaultStore;
pub use fs::ObjectStoreFs;
pub use location::{Result, UrlError, is_object_store_url, open_url};

/// The `object_store` crate this one is built on, so callers name the same version.
pub use object_store;

#[cfg(doc)]
use strata_format::FileSystem;
