//! The `LOCK` file: one writer per table directory, across processes.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, TableError};

/// Name of the lock file in a table directory.
pub const LOCK_FILE: &str = "LOCK";

/// Holds `<dir>/LOCK` (created exclusively, holding the owner's process id) until dropped.
#[derive(Debug)]
pub(crate) struct LockFile {
    path: PathBuf,
}

impl LockFile {
    /// Takes the lock, or fails with [`TableError::Locked`] when a live process holds it. A lock
    /// left by a process that no longer runs (a crash) is taken over.
    pub(crate) fn acquire(dir: &Path) -> Result<LockFile> {
        let path = dir.join(LOCK_FILE);
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    writeln!(f, "{}", std::process::id()).map_err(|source| TableError::LockIo {
                        context: format!("writing {}", path.display()),
                        source,
                    })?;
                    return Ok(LockFile { path });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let holder = read_holder(&path);
                    match holder {
                        Some(pid) if !process_alive(pid) => {
                            // Stale: its owner is gone. Remove and retry once.
                            let _ = std::fs::remove_file(&path);
                        }
                        Some(pid) => {
                            return Err(TableError::Locked {
                                dir: dir.to_path_buf(),
                                detail: format!("held by process {pid}"),
                            });
                        }
                        None => {
                            return Err(TableError::Locked {
                                dir: dir.to_path_buf(),
                                detail: format!("{} exists", path.display()),
                            });
                        }
                    }
                }
                Err(source) => {
                    return Err(TableError::LockIo {
                        context: format!("creating {}", path.display()),
                        source,
                    });
                }
            }
        }
        Err(TableError::Locked {
            dir: dir.to_path_buf(),
            detail: "the lock was taken while a stale one was being removed".into(),
        })
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn read_holder(path: &Path) -> Option<u32> {
    let mut s = String::new();
    std::fs::File::open(path)
        .ok()?
        .read_to_string(&mut s)
        .ok()?;
    s.trim().parse().ok()
}

/// Whether process `pid` runs. Only Linux's `/proc` can tell; elsewhere every holder counts as
/// alive (a stale lock must then be removed by hand).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_root = Path::new("/proc");
    if proc_root.join("self").exists() {
        proc_root.join(pid.to_string()).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_is_refused_and_drop_releases() {
        let dir = tempfile::tempdir().unwrap();
        let a = LockFile::acquire(dir.path()).unwrap();
        let err = LockFile::acquire(dir.path()).unwrap_err();
        assert!(matches!(err, TableError::Locked { .. }), "{err}");
        drop(a);
        assert!(!dir.path().join(LOCK_FILE).exists());
        let _b = LockFile::acquire(dir.path()).unwrap();
    }

    #[test]
    fn stale_lock_of_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        // Process ids are below 2^22 on Linux; this one cannot run.
        std::fs::write(dir.path().join(LOCK_FILE), "4294967\n").unwrap();
        if Path::new("/proc/self").exists() {
            let _l = LockFile::acquire(dir.path()).unwrap();
        } else {
            assert!(LockFile::acquire(dir.path()).is_err());
        }
    }
}
