//! `FaultStore`: a failed call changes nothing, a lost response changes the store but reports an
//! error, a crash fails every call from its point on until healed.

use std::path::Path;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use strata_format::FileSystem;
use strata_format::fs::is_already_exists;
use strata_object_store::{FaultStore, ObjectStoreFs};

fn setup() -> (Arc<InMemory>, FaultStore, ObjectStoreFs) {
    let inner = Arc::new(InMemory::new());
    let faults = FaultStore::new(Arc::clone(&inner) as Arc<dyn ObjectStore>);
    let fs = ObjectStoreFs::new(Arc::new(faults.clone()), ObjectPath::ROOT);
    (inner, faults, fs)
}

/// Whether the store underneath the faults holds `key`.
fn inner_has(inner: &Arc<InMemory>, key: &str) -> bool {
    let direct = ObjectStoreFs::new(Arc::clone(inner) as Arc<dyn ObjectStore>, ObjectPath::ROOT);
    direct.exists(&Path::new("/").join(key)).unwrap()
}

#[test]
fn fault_store_fail_call_refuses_that_call_only_and_changes_nothing() {
    let (inner, faults, fs) = setup();
    fs.put_if_absent(Path::new("/a"), b"a").unwrap();
    assert_eq!(faults.calls(), 1);
    faults.fail_call(2);
    fs.put_if_absent(Path::new("/b"), b"b").unwrap(); // call 2: passes
    let e = fs.put_if_absent(Path::new("/c"), b"c").unwrap_err(); // call 3: fails
    assert!(e.to_string().contains("injected fault at call 3"), "{e}");
    assert!(!inner_has(&inner, "c"));
    fs.put_if_absent(Path::new("/c"), b"c").unwrap(); // later calls pass
    assert!(inner_has(&inner, "c"));
    assert_eq!((faults.calls(), faults.injected()), (4, 1));
}

#[test]
fn fault_store_lose_response_performs_call_then_errors() {
    let (inner, faults, fs) = setup();
    faults.lose_response(1);
    let e = fs
        .put_if_absent(Path::new("/manifest/1.rec"), b"mine")
        .unwrap_err();
    assert!(!is_already_exists(&e), "{e}");
    assert!(inner_has(&inner, "manifest/1.rec"));
    // The retry of a conditional create whose response was lost looks like a lost race.
    let e = fs
        .put_if_absent(Path::new("/manifest/1.rec"), b"mine")
        .unwrap_err();
    assert!(is_already_exists(&e), "{e}");

    // A lost DELETE response: the object is gone all the same (HEAD is call 3, DELETE call 4).
    faults.lose_response(2);
    assert!(fs.remove_file(Path::new("/manifest/1.rec")).is_err());
    assert!(!inner_has(&inner, "manifest/1.rec"));
}

#[test]
fn fault_store_crash_after_fails_every_later_call_until_healed() {
    let (inner, faults, fs) = setup();
    faults.crash_after(2);
    fs.put_if_absent(Path::new("/1"), b"1").unwrap();
    fs.put_if_absent(Path::new("/2"), b"2").unwrap();
    assert!(fs.put_if_absent(Path::new("/3"), b"3").is_err());
    assert!(fs.exists(Path::new("/1")).is_err());
    assert!(fs.list_dir(Path::new("/")).is_err());
    assert!(fs.open_read(Path::new("/1")).is_err());
    assert!(!inner_has(&inner, "3"));
    assert_eq!(faults.injected(), 4);
    faults.heal();
    assert!(fs.exists(Path::new("/1")).unwrap());
    assert_eq!(fs.list_dir(Path::new("/")).unwrap().len(), 2);
}

#[test]
fn fault_store_crash_after_zero_fails_the_next_call() {
    let (_inner, faults, fs) = setup();
    faults.crash_after(0);
    assert!(fs.exists(Path::new("/x")).is_err());
    assert_eq!(faults.calls(), 1);
}

#[test]
fn fault_store_sweep_over_every_call_of_a_write() {
    // What a crash sweep looks like: count the calls once, then fault each in turn.
    let op = |fs: &ObjectStoreFs| -> strata_format::error::Result<()> {
        let mut f = fs.create(Path::new("/seg"))?;
        f.write_all(b"data")?;
        f.sync()?;
        fs.put_if_absent(Path::new("/manifest/1.rec"), b"seg")
    };
    let (_, faults, fs) = setup();
    op(&fs).unwrap();
    let n = faults.calls();
    assert_eq!(n, 2);
    for k in 1..=n {
        let (inner, faults, fs) = setup();
        faults.crash_after(k - 1);
        assert!(op(&fs).is_err(), "crash at call {k}");
        assert_eq!(inner_has(&inner, "manifest/1.rec"), k > 2);
        assert_eq!(inner_has(&inner, "seg"), k > 1);
    }
}
