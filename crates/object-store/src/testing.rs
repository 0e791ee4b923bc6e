//! [`S3TestServer`]: a local S3-protocol server (moto) for tests, started and stopped by them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::{ObjectStore, RetryConfig};

/// How long the server may take to answer after it is started.
const START: Duration = Duration::from_secs(20);

/// A moto S3 server (`moto_server`, from the Python package `moto[server]`, which `.ci/run`
/// installs) on a free port of 127.0.0.1, killed when dropped. Credentials are not checked.
#[derive(Debug)]
pub struct S3TestServer {
    child: Child,
    port: u16,
}

impl S3TestServer {
    /// Starts the server; `None`, with a printed `skipping: <test>: …` notice, when
    /// `moto_server` is not installed or does not answer in time.
    pub fn start(test: &str) -> Option<S3TestServer> {
        let port = match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
            Ok(a) => a.port(),
            Err(e) => {
                eprintln!("skipping: {test}: no free local port ({e})");
                return None;
            }
        };
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
                    "skipping: {test}: cannot run moto_server ({e}); install it with \
                     `pip install 'moto[server]'`"
                );
                return None;
            }
        };
        let mut server = S3TestServer { child, port };
        let deadline = Instant::now() + START;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = server.child.try_wait() {
                eprintln!("skipping: {test}: moto_server exited at start ({status})");
                return None;
            }
            if server.request("GET", "/").is_some() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("skipping: {test}: moto_server did not answer within {START:?}");
        None
    }

    /// The server's URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `AWS_*` environment variables that point `s3://` URLs (`AmazonS3Builder::from_env`)
    /// at this server: for child processes such as the `strata` binary.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ]
    }

    /// Sends an unauthenticated request with an empty body; the status line, if any answer.
    fn request(&self, method: &str, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.port
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut resp = String::new();
        s.read_to_string(&mut resp).ok()?;
        resp.lines().next().map(str::to_owned)
    }

    /// Creates `bucket` (an error naming the server's answer if it refuses).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), String> {
        let status = self
            .request("PUT", &format!("/{bucket}"))
            .unwrap_or_default();
        if status.contains(" 200") {
            Ok(())
        } else {
            Err(format!("creating bucket {bucket}: {status:?}"))
        }
    }

    /// Creates `bucket` and returns an S3 store on it, configured by the builder (not the
    /// process environment, which tests running in parallel share).
    pub fn bucket(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, String> {
        self.create_bucket(bucket)?;
        let store = AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
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
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    }
}

impl Drop for S3TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
