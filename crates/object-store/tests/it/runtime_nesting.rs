//! The filesystem is synchronous but may be called from a thread of a caller's tokio runtime
//! (DataFusion's workers): it must neither panic ("Cannot start a runtime from within a
//! runtime") nor deadlock there.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use strata_format::FileSystem;
use strata_object_store::ObjectStoreFs;

use crate::common::mem_fs;

/// Runs `f` on a thread of its own and fails the test if it takes longer than a minute (a
/// deadlock), instead of hanging the test binary.
fn within_a_minute(f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("deadlock: no answer within a minute"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the test thread panicked"),
    }
}

fn round_trip(fs: &ObjectStoreFs, name: &str) {
    let p = Path::new("/rt").join(name);
    let mut f = fs.create(&p).unwrap();
    f.write_all(name.as_bytes()).unwrap();
    f.sync().unwrap();
    let r = fs.open_read(&p).unwrap();
    assert_eq!(&r.read_at(0, name.len()).unwrap()[..], name.as_bytes());
    assert!(fs.list_dir(Path::new("/rt")).unwrap().contains(&p));
    fs.put_if_absent(&p.with_extension("rec"), b"x").unwrap();
}

#[test]
fn fs_inside_current_thread_runtime_block_on_works() {
    within_a_minute(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let fs = mem_fs();
        rt.block_on(async {
            round_trip(&fs, "current");
        });
    });
}

#[test]
fn fs_on_multi_thread_runtime_workers_works() {
    within_a_minute(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let fs = mem_fs();
        rt.block_on(async {
            // More tasks than workers (the caller's and ours), each blocking its worker.
            let tasks: Vec<_> = (0..6)
                .map(|i| {
                    let fs = fs.clone();
                    tokio::spawn(async move { round_trip(&fs, &format!("worker-{i}")) })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
    });
}

#[test]
fn fs_inside_spawn_blocking_works() {
    within_a_minute(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fs = mem_fs();
        rt.block_on(async move {
            tokio::task::spawn_blocking(move || round_trip(&fs, "blocking"))
                .await
                .unwrap();
        });
    });
}
