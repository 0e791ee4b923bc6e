//! One suite of `FileSystem` behaviour, run against `ObjectStoreFs` on an in-memory store, on a
//! local directory store, and on a moto S3 server (skipped with a notice when moto is absent).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime};

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use strata_format::FileSystem;
use strata_format::fs::{Capabilities, is_already_exists, is_not_found, write_durably};
use strata_object_store::ObjectStoreFs;

use crate::common::{Moto, local_store, mem_fs};

type Case = (&'static str, fn(&ObjectStoreFs));

/// Every case gets a filesystem of its own (a fresh store or a fresh prefix).
const CASES: &[Case] = &[
    (
        "capabilities_are_object_store",
        capabilities_are_object_store,
    ),
    (
        "create_sync_then_reads_return_exact_bytes",
        create_sync_then_reads_return_exact_bytes,
    ),
    ("reads_past_the_end_fail", reads_past_the_end_fail),
    (
        "unsynced_file_is_invisible_and_sync_uploads_all",
        unsynced_file_is_invisible_and_sync_uploads_all,
    ),
    (
        "list_dir_shows_files_and_implicit_dirs_sorted",
        list_dir_shows_files_and_implicit_dirs_sorted,
    ),
    (
        "exists_for_files_and_implicit_dirs",
        exists_for_files_and_implicit_dirs,
    ),
    (
        "remove_file_then_again_is_not_found",
        remove_file_then_again_is_not_found,
    ),
    (
        "put_if_absent_first_wins_second_already_exists",
        put_if_absent_first_wins_second_already_exists,
    ),
    (
        "put_if_absent_race_of_8_threads_has_one_winner",
        put_if_absent_race_of_8_threads_has_one_winner,
    ),
    ("modified_is_recent", modified_is_recent),
    ("rename_moves_content", rename_moves_content),
    (
        "write_durably_writes_final_name_only",
        write_durably_writes_final_name_only,
    ),
    (
        "a_large_file_goes_up_in_parts_and_is_written_once",
        a_large_file_goes_up_in_parts_and_is_written_once,
    ),
    (
        "open_read_suffix_knows_the_length_and_reads_anywhere",
        open_read_suffix_knows_the_length_and_reads_anywhere,
    ),
];

fn run_suite(backend: &str, make: impl Fn(&str) -> ObjectStoreFs) {
    for (name, case) in CASES {
        eprintln!("{backend}: {name}");
        case(&make(name));
    }
}

#[test]
fn conformance_on_in_memory_store_passes() {
    run_suite("memory", |_| mem_fs());
}

#[test]
fn conformance_on_local_directory_store_passes() {
    let dir = tempfile::tempdir().unwrap();
    let store = local_store(dir.path());
    run_suite("local", |case| {
        ObjectStoreFs::new(Arc::clone(&store), ObjectPath::from(format!("t/{case}")))
    });
}

#[test]
fn conformance_on_s3_moto_server_passes() {
    let Some(moto) = Moto::start("conformance_on_s3_moto_server_passes") else {
        return;
    };
    let store = moto.bucket("conformance");
    run_suite("s3", |case| {
        ObjectStoreFs::new(Arc::clone(&store), ObjectPath::from(format!("t/{case}")))
    });
}

/// A store prefix keeps tables apart: the same engine path under two prefixes is two objects.
#[test]
fn prefixes_of_one_store_are_separate_roots() {
    let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let a = ObjectStoreFs::new(Arc::clone(&store), ObjectPath::from("tables/a"));
    let b = ObjectStoreFs::new(Arc::clone(&store), ObjectPath::from("tables/b"));
    write(&a, "/x", b"a");
    assert!(a.exists(Path::new("/x")).unwrap());
    assert!(!b.exists(Path::new("/x")).unwrap());
    assert!(!b.exists(Path::new("/")).unwrap());
    assert!(a.exists(Path::new("/")).unwrap());
    assert_eq!(
        a.key(Path::new("/part-0/seg-3.strata")).unwrap(),
        ObjectPath::from("tables/a/part-0/seg-3.strata")
    );
    assert!(a.key(Path::new("/a/../b")).is_err());
}

fn write(fs: &dyn FileSystem, path: &str, bytes: &[u8]) {
    let mut f = fs.create(Path::new(path)).unwrap();
    f.write_all(bytes).unwrap();
    f.sync().unwrap();
}

fn read_all(fs: &dyn FileSystem, path: &str) -> Vec<u8> {
    let f = fs.open_read(Path::new(path)).unwrap();
    f.read_at(0, usize::try_from(f.len()).unwrap())
        .unwrap()
        .to_vec()
}

fn capabilities_are_object_store(fs: &ObjectStoreFs) {
    assert_eq!(fs.capabilities(), Capabilities::OBJECT_STORE);
}

fn create_sync_then_reads_return_exact_bytes(fs: &ObjectStoreFs) {
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut f = fs.create(Path::new("/part-0/seg-1.strata")).unwrap();
    for chunk in data.chunks(700_001) {
        f.write_all(chunk).unwrap();
    }
    f.sync().unwrap();
    drop(f);
    let r = fs.open_read(Path::new("/part-0/seg-1.strata")).unwrap();
    assert_eq!(r.len(), data.len() as u64);
    assert_eq!(&r.read_at(0, 10).unwrap()[..], &data[..10]);
    assert_eq!(
        &r.read_at(1_234_567, 1000).unwrap()[..],
        &data[1_234_567..1_235_567]
    );
    assert!(r.read_at(17, 0).unwrap().is_empty());
    let ranges = [
        0..5,
        5..9,
        100..100,
        2_999_990..3_000_000,
        1_000..1_100,
        7..8,
    ];
    let got = r.read_ranges(&ranges).unwrap();
    assert_eq!(got.len(), ranges.len());
    for (range, bytes) in ranges.iter().zip(&got) {
        let (s, e) = (range.start as usize, range.end as usize);
        assert_eq!(&bytes[..], &data[s..e], "range {range:?}");
    }
    write(fs, "/empty", b"");
    let e = fs.open_read(Path::new("/empty")).unwrap();
    assert_eq!(e.len(), 0);
    assert!(e.read_at(0, 0).unwrap().is_empty());
}

fn reads_past_the_end_fail(fs: &ObjectStoreFs) {
    write(fs, "/f", b"hello world");
    let r = fs.open_read(Path::new("/f")).unwrap();
    assert_eq!(&r.read_at(6, 5).unwrap()[..], b"world");
    assert!(r.read_at(7, 5).is_err());
    assert!(r.read_at(12, 0).is_err());
    assert!(r.read_at(u64::MAX, 2).is_err());
    assert!(r.read_ranges(&[0..2, 10..12]).is_err());
    let missing = fs.open_read(Path::new("/nope")).unwrap_err();
    assert!(is_not_found(&missing), "{missing}");
    assert!(missing.to_string().contains("/nope"), "{missing}");
}

fn unsynced_file_is_invisible_and_sync_uploads_all(fs: &ObjectStoreFs) {
    let mut f = fs.create(Path::new("/d/w")).unwrap();
    f.write_all(b"abc").unwrap();
    f.flush().unwrap();
    assert!(!fs.exists(Path::new("/d/w")).unwrap());
    f.sync().unwrap();
    assert_eq!(read_all(fs, "/d/w"), b"abc");
    f.write_all(b"def").unwrap();
    assert_eq!(read_all(fs, "/d/w"), b"abc");
    f.sync().unwrap();
    assert_eq!(read_all(fs, "/d/w"), b"abcdef");
    drop(f);

    let mut g = fs.create(Path::new("/d/dropped")).unwrap();
    g.write_all(b"never").unwrap();
    drop(g);
    assert!(!fs.exists(Path::new("/d/dropped")).unwrap());
    // create replaces an existing file only when synced.
    let mut h = fs.create(Path::new("/d/w")).unwrap();
    h.write_all(b"new").unwrap();
    assert_eq!(read_all(fs, "/d/w"), b"abcdef");
    h.sync().unwrap();
    assert_eq!(read_all(fs, "/d/w"), b"new");
}

fn list_dir_shows_files_and_implicit_dirs_sorted(fs: &ObjectStoreFs) {
    fs.create_dir_all(Path::new("/manifest")).unwrap();
    fs.sync_dir(Path::new("/manifest")).unwrap();
    for p in [
        "/manifest/00000000000000000002.rec",
        "/manifest/00000000000000000001.rec",
        "/part-1/seg-2.strata",
        "/part-0/seg-1.strata",
        "/part-0/deep/er/x",
        "/top",
    ] {
        write(fs, p, p.as_bytes());
    }
    let paths = |v: &[&str]| v.iter().map(PathBuf::from).collect::<Vec<_>>();
    assert_eq!(
        fs.list_dir(Path::new("/")).unwrap(),
        paths(&["/manifest", "/part-0", "/part-1", "/top"])
    );
    assert_eq!(
        fs.list_dir(Path::new("/manifest")).unwrap(),
        paths(&[
            "/manifest/00000000000000000001.rec",
            "/manifest/00000000000000000002.rec"
        ])
    );
    assert_eq!(
        fs.list_dir(Path::new("/part-0")).unwrap(),
        paths(&["/part-0/deep", "/part-0/seg-1.strata"])
    );
    assert!(fs.list_dir(Path::new("/absent")).unwrap().is_empty());
}

fn exists_for_files_and_implicit_dirs(fs: &ObjectStoreFs) {
    assert!(!fs.exists(Path::new("/")).unwrap());
    write(fs, "/a/b/c.seg", b"x");
    for p in ["/", "/a", "/a/b", "/a/b/c.seg"] {
        assert!(fs.exists(Path::new(p)).unwrap(), "{p}");
    }
    for p in ["/a/b/c", "/a/bb", "/b"] {
        assert!(!fs.exists(Path::new(p)).unwrap(), "{p}");
    }
}

fn remove_file_then_again_is_not_found(fs: &ObjectStoreFs) {
    write(fs, "/d/x", b"x");
    fs.remove_file(Path::new("/d/x")).unwrap();
    assert!(!fs.exists(Path::new("/d/x")).unwrap());
    assert!(!fs.exists(Path::new("/d")).unwrap());
    let e = fs.remove_file(Path::new("/d/x")).unwrap_err();
    assert!(is_not_found(&e), "{e}");
}

fn put_if_absent_first_wins_second_already_exists(fs: &ObjectStoreFs) {
    let p = Path::new("/manifest/00000000000000000001.rec");
    fs.put_if_absent(p, b"first").unwrap();
    let e = fs.put_if_absent(p, b"second").unwrap_err();
    assert!(is_already_exists(&e), "{e}");
    assert!(e.to_string().contains("00000000000000000001.rec"), "{e}");
    assert_eq!(read_all(fs, "/manifest/00000000000000000001.rec"), b"first");
}

fn put_if_absent_race_of_8_threads_has_one_winner(fs: &ObjectStoreFs) {
    let p = Path::new("/manifest/00000000000000000007.rec");
    let barrier = Barrier::new(8);
    let results: Vec<Result<(), strata_format::FormatError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8u8)
            .map(|i| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    fs.put_if_absent(p, &[i; 16])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<usize> = (0..8).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(is_already_exists(e), "{e}");
        }
    }
    let w = u8::try_from(winners[0]).unwrap();
    assert_eq!(
        read_all(fs, "/manifest/00000000000000000007.rec"),
        vec![w; 16]
    );
}

fn modified_is_recent(fs: &ObjectStoreFs) {
    write(fs, "/m", b"x");
    let t = fs.modified(Path::new("/m")).unwrap().unwrap();
    let age = SystemTime::now()
        .duration_since(t)
        .unwrap_or(Duration::ZERO);
    assert!(age < Duration::from_secs(300), "{t:?}");
    assert!(is_not_found(&fs.modified(Path::new("/none")).unwrap_err()));
}

fn rename_moves_content(fs: &ObjectStoreFs) {
    write(fs, "/a/from", b"content");
    write(fs, "/b/to", b"old");
    fs.rename(Path::new("/a/from"), Path::new("/b/to")).unwrap();
    assert!(!fs.exists(Path::new("/a/from")).unwrap());
    assert_eq!(read_all(fs, "/b/to"), b"content");
    let e = fs
        .rename(Path::new("/a/from"), Path::new("/b/again"))
        .unwrap_err();
    assert!(is_not_found(&e), "{e}");
}

fn write_durably_writes_final_name_only(fs: &ObjectStoreFs) {
    let p = write_durably(fs, Path::new("/ckpt"), "00000000000000000009", b"state").unwrap();
    assert_eq!(p, Path::new("/ckpt/00000000000000000009"));
    assert_eq!(fs.list_dir(Path::new("/ckpt")).unwrap(), vec![p]);
    assert_eq!(read_all(fs, "/ckpt/00000000000000000009"), b"state");
}

/// Bytes that differ from part to part and from one position to the next (a misplaced part
/// shows).
fn patterned(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ (i >> 20) as u8)
        .collect()
}

fn a_large_file_goes_up_in_parts_and_is_written_once(fs: &ObjectStoreFs) {
    // 2.5 parts of 8 MiB, written in odd-sized pieces: two full parts go up while writing.
    let data = patterned(21 * 1024 * 1024 + 12_345);
    let path = Path::new("/part-0/big.strata");
    let mut f = fs.create(path).unwrap();
    for piece in data.chunks(999_983) {
        f.write_all(piece).unwrap();
    }
    assert!(
        !fs.exists(path).unwrap(),
        "visible before the completing sync"
    );
    f.sync().unwrap();
    assert_eq!(read_all(fs, "/part-0/big.strata"), data);
    // Completed: nothing more can be written, and the object is unchanged.
    let e = f.write_all(b"more").unwrap_err();
    assert!(e.to_string().contains("big.strata"), "{e}");
    assert!(f.sync().is_ok(), "a sync with nothing new is fine");
    drop(f);
    assert_eq!(read_all(fs, "/part-0/big.strata"), data);

    // Dropped before its sync: the upload is aborted and nothing appears.
    let mut g = fs.create(Path::new("/part-0/dropped.strata")).unwrap();
    for piece in data.chunks(1 << 20).take(17) {
        g.write_all(piece).unwrap();
    }
    drop(g);
    assert!(!fs.exists(Path::new("/part-0/dropped.strata")).unwrap());

    // A file synced small, then grown past a part, goes up whole again in parts.
    let mut h = fs.create(Path::new("/grown")).unwrap();
    h.write_all(&data[..100]).unwrap();
    h.sync().unwrap();
    h.write_all(&data[100..9 * 1024 * 1024]).unwrap();
    assert_eq!(read_all(fs, "/grown"), &data[..100]);
    h.sync().unwrap();
    assert_eq!(read_all(fs, "/grown"), &data[..9 * 1024 * 1024]);
}

fn open_read_suffix_knows_the_length_and_reads_anywhere(fs: &ObjectStoreFs) {
    let data = patterned(200_000);
    write(fs, "/s", &data);
    let r = fs.open_read_suffix(Path::new("/s"), 65_536).unwrap();
    assert_eq!(r.len(), data.len() as u64);
    // Inside the suffix, straddling its start, and before it.
    assert_eq!(&r.read_at(199_990, 10).unwrap()[..], &data[199_990..]);
    assert_eq!(
        &r.read_at(130_000, 10_000).unwrap()[..],
        &data[130_000..140_000]
    );
    assert_eq!(&r.read_at(0, 16).unwrap()[..], &data[..16]);
    assert!(r.read_at(199_999, 2).is_err());
    // A file shorter than the suffix comes whole; an empty one has length 0.
    write(fs, "/small", b"hello world");
    let small = fs.open_read_suffix(Path::new("/small"), 65_536).unwrap();
    assert_eq!(small.len(), 11);
    assert_eq!(&small.read_at(0, 11).unwrap()[..], b"hello world");
    write(fs, "/none", b"");
    let none = fs.open_read_suffix(Path::new("/none"), 65_536).unwrap();
    assert_eq!(none.len(), 0);
    let missing = fs
        .open_read_suffix(Path::new("/missing"), 65_536)
        .unwrap_err();
    assert!(is_not_found(&missing), "{missing}");
}
