//! One writer per table directory: a second open or create fails with `TableError::Locked`.

use crate::common::*;
use strata::{Table, TableError, TableOptions};

#[test]
fn second_open_fails_with_locked_and_first_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::create(dir.path(), config(), TableOptions::default()).unwrap();
    table.write(&batch(0, 10)).unwrap();
    let err = Table::open(dir.path(), TableOptions::default()).unwrap_err();
    assert!(matches!(err, TableError::Locked { .. }), "{err}");
    let err = Table::create(dir.path(), config(), TableOptions::default()).unwrap_err();
    assert!(matches!(err, TableError::Locked { .. }), "{err}");
    table.write(&batch(10, 10)).unwrap();
    assert_eq!(ids(&table).len(), 20);
    drop(table);
    let (table, _) = Table::open(dir.path(), TableOptions::default()).unwrap();
    assert_eq!(ids(&table).len(), 20);
}
