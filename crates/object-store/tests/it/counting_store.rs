//! `CountingStore`: requests by kind and bytes moved, for "bytes per query" measurements.

use std::path::Path;
use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use strata_format::FileSystem;
use strata_object_store::{CountingStore, ObjectStoreFs, RequestCounts};

#[test]
fn counting_store_counts_requests_and_bytes_by_kind() {
    let counting = CountingStore::new(Arc::new(InMemory::new()));
    let fs = ObjectStoreFs::new(Arc::new(counting.clone()), ObjectPath::from("t"));
    let mut f = fs.create(Path::new("/seg")).unwrap();
    f.write_all(&vec![7u8; 3_000_000]).unwrap();
    f.sync().unwrap();
    let after_write = counting.snapshot();
    assert_eq!((after_write.puts, after_write.put_bytes), (1, 3_000_000));
    assert_eq!(after_write.requests(), 1);

    counting.reset();
    assert_eq!(counting.snapshot(), RequestCounts::default());
    let r = fs.open_read(Path::new("/seg")).unwrap();
    r.read_at(100, 50).unwrap();
    // Two near ranges merge into one GET; a far one (over 1 MiB away) is a GET of its own.
    r.read_ranges(&[0..10, 20..30, 2_500_000..2_500_100])
        .unwrap();
    let c = counting.snapshot();
    assert_eq!(c.heads, 1);
    assert_eq!(c.gets, 3, "{c:?}");
    assert_eq!(c.get_bytes, 50 + 30 + 100, "{c:?}");

    counting.reset();
    fs.list_dir(Path::new("/")).unwrap();
    fs.rename(Path::new("/seg"), Path::new("/seg2")).unwrap();
    fs.remove_file(Path::new("/seg2")).unwrap();
    let c = counting.snapshot();
    assert_eq!(
        (c.lists, c.copies, c.deletes, c.heads),
        (1, 1, 2, 1),
        "{c:?}"
    );
}

#[test]
fn a_suffix_open_is_one_request_and_a_large_write_one_multipart_upload() {
    let counting = CountingStore::new(Arc::new(InMemory::new()));
    let fs = ObjectStoreFs::new(Arc::new(counting.clone()), ObjectPath::from("t"));
    let mut f = fs.create(Path::new("/seg")).unwrap();
    for _ in 0..20 {
        f.write_all(&vec![7u8; 1 << 20]).unwrap();
    }
    f.sync().unwrap();
    let c = counting.snapshot();
    assert_eq!((c.multipart_uploads, c.puts), (1, 0), "{c:?}");

    counting.reset();
    let r = fs
        .open_read_suffix(Path::new("/seg"), strata_format::SEGMENT_OPEN_SUFFIX)
        .unwrap();
    assert_eq!(r.len(), 20 << 20);
    // The tail and the footer a segment's open reads lie in the suffix: no further request.
    r.read_at((20 << 20) - 28, 28).unwrap();
    r.read_at((20 << 20) - 40_000, 30_000).unwrap();
    let c = counting.snapshot();
    assert_eq!((c.gets, c.heads), (1, 0), "{c:?}");
    assert_eq!(c.get_bytes, strata_format::SEGMENT_OPEN_SUFFIX, "{c:?}");
}
