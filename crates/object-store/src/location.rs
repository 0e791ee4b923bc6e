//! [`open_url`]: a table location (a path or a URL) as a filesystem and a root path.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use strata_format::{FileSystem, LocalFs};

use crate::ObjectStoreFs;

/// What is wrong with a table location given to [`open_url`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The URL's scheme names no store this crate can open.
    #[error("{url}: unknown scheme {scheme:?} (expected a path, file://, s3:// or memory://)")]
    UnknownScheme {
        /// The URL as given.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// The URL does not parse, or lacks a part its scheme needs.
    #[error("{url}: {reason}")]
    Invalid {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store could not be configured (for S3, from the `AWS_*` environment variables).
    #[error("{url}: cannot configure the store: {source}")]
    Store {
        /// The URL as given.
        url: String,
        /// The store's error.
        source: object_store::Error,
    },
}

/// This crate's result type.
pub type Result<T, E = UrlError> = std::result::Result<T, E>;

/// The scheme of `s` when it is written as a URL (`scheme://…`); `None` for a path (including
/// a Windows path like `C:\t`, whose "scheme" would be one letter).
fn scheme_of(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once("://")?;
    let mut chars = scheme.chars();
    let starts_alpha = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let valid = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (starts_alpha && valid && scheme.len() > 1).then_some(scheme)
}

/// True when `s` names a table somewhere other than the local filesystem: it is written as a
/// URL (`scheme://…`) whose scheme is not `file`. A URL of an unknown scheme counts too, so a
/// caller routes it to [`open_url`], which names the problem, rather than taking it for a
/// relative path.
pub fn is_object_store_url(s: &str) -> bool {
    scheme_of(s).is_some_and(|scheme| !scheme.eq_ignore_ascii_case("file"))
}

/// In-memory stores by name, so opening the same `memory://name` twice in a process shares data.
static MEMORY_STORES: Mutex<BTreeMap<String, Arc<InMemory>>> = Mutex::new(BTreeMap::new());

/// The filesystem a table location lives on and the path of the table's root in it.
///
/// * a path, or `file:///abs/path`: [`LocalFs`] and that path (local tables are unchanged);
/// * `s3://bucket/prefix`: S3 configured from the environment (`AWS_ACCESS_KEY_ID`,
///   `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT`,
///   `AWS_ALLOW_HTTP`, …, as `AmazonS3Builder::from_env` reads them) with conditional put by
///   `If-None-Match` enabled, and the root `/` of an [`ObjectStoreFs`] on `prefix`;
/// * `memory://name/prefix`: a process-wide in-memory store per `name` (opening it again
///   shares the data), and the root `/` of an [`ObjectStoreFs`] on `prefix`.
///
/// Nothing is contacted here: a wrong credential or a missing bucket shows at the first
/// request.
pub fn open_url(url: &str) -> Result<(Arc<dyn FileSystem>, PathBuf)> {
    let Some(scheme) = scheme_of(url) else {
        return Ok((Arc::new(LocalFs), PathBuf::from(url)));
    };
    let invalid = |reason: String| UrlError::Invalid {
        url: url.to_owned(),
        reason,
    };
    let parsed = ::url::Url::parse(url).map_err(|e| invalid(format!("not a URL: {e}")))?;
    let prefix = || {
        ObjectPath::from_url_path(parsed.path())
            .map_err(|e| invalid(format!("not an object key prefix: {e}")))
    };
    match scheme.to_ascii_lowercase().as_str() {
        "file" => {
            let path = parsed
                .to_file_path()
                .map_err(|()| invalid("not an absolute local path (file:///abs/path)".into()))?;
            Ok((Arc::new(LocalFs), path))
        }
        "s3" => {
            let bucket = parsed
                .host_str()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| invalid("no bucket (s3://bucket/prefix)".into()))?;
            let store = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_conditional_put(S3ConditionalPut::ETagMatch)
                .build()
                .map_err(|source| UrlError::Store {
                    url: url.to_owned(),
                    source,
                })?;
            let fs = ObjectStoreFs::new(Arc::new(store), prefix()?);
            Ok((Arc::new(fs), PathBuf::from("/")))
        }
        "memory" => {
            let name = parsed.host_str().unwrap_or_default().to_owned();
            let store = Arc::clone(
                MEMORY_STORES
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(name)
                    .or_default(),
            );
            let fs = ObjectStoreFs::new(store, prefix()?);
            Ok((Arc::new(fs), PathBuf::from("/")))
        }
        other => Err(UrlError::UnknownScheme {
            url: url.to_owned(),
            scheme: other.to_owned(),
        }),
    }
}
