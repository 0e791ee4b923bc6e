//! Backends for the tests: in-memory, a local directory, and a moto S3 server in a child process.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, RetryConfig};
use strata_object_store::ObjectStoreFs;

/// A fresh in-memory store's filesystem, rooted at the store's root.
pub(crate) fn mem_fs() -> ObjectStoreFs {
    ObjectStoreFs::new(Arc::new(InMemory::new()), ObjectPath::ROOT)
}

/// A local-directory store (object_store's `LocalFileSystem`) under `dir`.
pub(crate) fn local_store(dir: &std::path::Path) -> Arc<dyn ObjectStore> {
    Arc::new(LocalFileSystem::new_with_prefix(dir).unwrap())
}

/// How long a moto server may take to answer after it is started.
const MOTO_START: Duration = Duration::from_secs(20);

/// A moto S3 server on a free local port, killed when dropped.
pub(crate) struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts `moto_server`; `None`, with a printed `skipping:` notice, when it is not installed
    /// or does not answer in time.
    pub(crate) fn start(test: &str) -> Option<Moto> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "skipping: {test}: cannot run moto_server ({e}); install it with `pip install 'moto[server]'`"
                );
                return None;
            }
        };
        let mut moto = Moto { child, port };
        let deadline = Instant::now() + MOTO_START;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = moto.child.try_wait() {
                eprintln!("skipping: {test}: moto_server exited at start ({status})");
                return None;
            }
            if moto.request("GET", "/").is_some() {
                return Some(moto);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("skipping: {test}: moto_server did not answer within {MOTO_START:?}");
        None
    }

    /// Sends an unauthenticated request with an empty body; the status line, if any answer.
    fn request(&self, method: &str, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut resp = String::new();
        s.read_to_string(&mut resp).ok()?;
        resp.lines().next().map(str::to_owned)
    }

    /// Creates `bucket` and returns an S3 store on it, configured by the builder (not the
    /// process environment, which tests running in parallel would share).
    pub(crate) fn bucket(&self, bucket: &str) -> Arc<dyn ObjectStore> {
        let status = self
            .request("PUT", &format!("/{bucket}"))
            .unwrap_or_default();
        assert!(
            status.contains(" 200"),
            "creating bucket {bucket}: {status}"
        );
        let store = AmazonS3Builder::new()
            .with_endpoint(format!("http://127.0.0.1:{}", self.port))
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(bucket)
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: Duration::from_secs(10),
                ..RetryConfig::default()
            })
            .build()
            .unwrap();
        Arc::new(store)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
