//! `open_url`: paths and `file://` stay local; `memory://` is shared per name; `s3://` parses
//! without touching the network; anything else is a typed error naming the URL.

use std::path::{Path, PathBuf};

use strata_format::fs::{Capabilities, is_not_found};
use strata_object_store::{UrlError, is_object_store_url, open_url};

#[test]
fn open_url_plain_path_is_local_fs_at_that_path() {
    for p in ["/data/t", "relative/t", "t", "C:\\t"] {
        let (fs, root) = open_url(p).unwrap();
        assert_eq!(fs.capabilities(), Capabilities::LOCAL, "{p}");
        assert_eq!(root, PathBuf::from(p));
    }
}

#[test]
fn open_url_file_url_is_local_fs_at_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let (fs, root) = open_url(&url).unwrap();
    assert_eq!(fs.capabilities(), Capabilities::LOCAL);
    assert_eq!(root, dir.path());
    fs.put_if_absent(&root.join("x"), b"local").unwrap();
    assert_eq!(std::fs::read(dir.path().join("x")).unwrap(), b"local");

    let (_, root) = open_url("file:///data/my%20table").unwrap();
    assert_eq!(root, Path::new("/data/my table"));
}

#[test]
fn open_url_file_url_with_a_host_is_invalid() {
    let e = open_url("file://somehost/data/t").unwrap_err();
    assert!(matches!(e, UrlError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("file://somehost/data/t"), "{e}");
}

#[test]
fn open_url_memory_same_name_shares_data() {
    let (a, root_a) = open_url("memory://open-url-shared/t").unwrap();
    let (b, root_b) = open_url("memory://open-url-shared/t").unwrap();
    let (other_prefix, _) = open_url("memory://open-url-shared/u").unwrap();
    let (other_name, _) = open_url("memory://open-url-other/t").unwrap();
    assert_eq!(root_a, Path::new("/"));
    assert_eq!(a.capabilities(), Capabilities::OBJECT_STORE);
    a.put_if_absent(&root_a.join("manifest/1.rec"), b"one")
        .unwrap();
    let r = b.open_read(&root_b.join("manifest/1.rec")).unwrap();
    assert_eq!(&r.read_at(0, 3).unwrap()[..], b"one");
    assert!(!other_prefix.exists(Path::new("/manifest/1.rec")).unwrap());
    let e = other_name
        .open_read(Path::new("/manifest/1.rec"))
        .unwrap_err();
    assert!(is_not_found(&e), "{e}");
}

#[test]
fn open_url_s3_parses_without_network() {
    let (fs, root) = open_url("s3://some-bucket/tables/t1").unwrap();
    assert_eq!(root, Path::new("/"));
    assert_eq!(fs.capabilities(), Capabilities::OBJECT_STORE);
    let (_, root) = open_url("s3://some-bucket").unwrap();
    assert_eq!(root, Path::new("/"));
}

#[test]
fn open_url_s3_without_bucket_is_invalid() {
    let e = open_url("s3:///tables/t1").unwrap_err();
    assert!(matches!(e, UrlError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("no bucket"), "{e}");
}

#[test]
fn open_url_unknown_scheme_is_typed_error_naming_it() {
    let e = open_url("gopher://host/t").unwrap_err();
    match &e {
        UrlError::UnknownScheme { url, scheme } => {
            assert_eq!(url, "gopher://host/t");
            assert_eq!(scheme, "gopher");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("gopher://host/t"), "{e}");
}

#[test]
fn is_object_store_url_tells_urls_from_paths() {
    for s in ["s3://b/t", "memory://x", "gs://b/t", "S3://b"] {
        assert!(is_object_store_url(s), "{s}");
    }
    for s in [
        "/data/t",
        "t",
        "C:\\t",
        "file:///data/t",
        "FILE:///x",
        "./s3://x",
        "://x",
    ] {
        assert!(!is_object_store_url(s), "{s}");
    }
}
