//! A row deleted and then written again is visible: deletion vectors are keyed by segment id and
//! ids are never reused, across reopens too.

use crate::common::*;
use strata_format::FaultFs;
use strata_predicate::BoundPredicate;

#[test]
fn rewritten_row_is_not_hidden_by_the_old_deletion_vector() {
    let fs = FaultFs::new();
    let r = create(&fs);
    let first = r
        .write_segment(&batch(&r, &[(1, 1), (2, 2)]), Default::default())
        .unwrap();
    let p = BoundPredicate::parse_and_bind("k = 1", &schema()).unwrap();
    assert_eq!(r.delete(&p).unwrap().rows_deleted, 1);
    let ks = |r: &strata_partition_registry::Registry| -> Vec<i64> {
        rows(r).into_iter().map(|(k, _)| k).collect()
    };
    assert_eq!(ks(&r), vec![2]);

    // Reopen (ids continue after the reserved range), write k = 1 again at the same position.
    drop(r);
    let fs = fs.restart();
    let r = open(&fs);
    let second = r
        .write_segment(&batch(&r, &[(1, 1), (2, 20)]), Default::default())
        .unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!(ks(&r), vec![1, 2, 20]);
    // The same delete again hits only the new row; the old segment's vector is unchanged.
    let report = r.delete(&p).unwrap();
    assert_eq!(report.segments, vec![(second.id, 1)]);
    assert_eq!(ks(&r), vec![2, 20]);
    assert_eq!(r.state().segment(first.id).unwrap().deleted_rows(), 1);
    // Nothing matching: no commit.
    assert_eq!(r.delete(&p).unwrap().version, None);
}
