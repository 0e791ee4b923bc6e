//! The writer lock: one writer per table directory, across processes.
//!
//! An OS advisory lock (`flock` on Unix, through [`std::fs::File::try_lock`]) on the table
//! directory itself, held for the life of the writer and released by the kernel when the
//! process exits or dies. Nothing is written for it, so a full disk cannot leave it behind,
//! no file can be deleted to defeat it, and no stale process id can keep it. Readers
//! ([`crate::Table::open_read_only`]) take no lock.

use std::fs::{File, TryLockError};
use std::path::Path;

use crate::error::{Result, TableError};

/// Name of the lock file older versions created in a table directory. It is no longer the
/// lock: a writer removes one it finds.
pub const LOCK_FILE: &str = "LOCK";

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub(crate) struct DirLock {
    _dir: File,
}

impl DirLock {
    /// Takes the lock on `dir`, or fails with [`TableError::Locked`] when another open table
    /// (in this or another process) holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock> {
        let file = File::open(dir).map_err(|source| TableError::LockIo {
            context: format!("opening {} to lock it", dir.display()),
            source,
        })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(TableError::Locked {
                    dir: dir.to_path_buf(),
                    detail: "another writer has it open".into(),
                });
            }
            Err(TryLockError::Error(source)) => {
                return Err(TableError::LockIo {
                    context: format!("locking {}", dir.display()),
                    source,
                });
            }
        }
        // A lock file from an older version means nothing now; leave no confusion behind.
        let legacy = dir.join(LOCK_FILE);
        if legacy.exists() {
            let _ = std::fs::remove_file(&legacy);
        }
        Ok(DirLock { _dir: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            DirLock::acquire(dir.path()),
            Err(TableError::Locked { .. })
        ));
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_stale_lock_file_neither_blocks_nor_survives() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "1\n").unwrap();
        let _l = DirLock::acquire(dir.path()).unwrap();
        assert!(!dir.path().join(LOCK_FILE).exists());
    }
}
