//! A partition being merged stays fully queryable, before and after a restart.

use crate::common::*;
use strata_format::FaultFs;
use strata_partition_registry::{Edit, PartitionState};

#[test]
fn merging_partition_is_scanned_before_and_after_reopen() {
    let fs = FaultFs::new();
    let r = create(&fs);
    r.write_segment(&batch(&r, &[(1, 1), (2, 2)]), Default::default())
        .unwrap();
    r.write_segment(&batch(&r, &[(DAY + 1, 3)]), Default::default())
        .unwrap();
    let all = rows(&r);
    for state in [PartitionState::Sealed, PartitionState::Merging] {
        r.commit(Edit::SetPartitionState {
            partition: 0,
            state,
        })
        .unwrap();
        assert_eq!(rows(&r), all, "{state:?}");
    }
    assert_eq!(r.scan_inputs().segments.len(), 2);
    drop(r);
    let fs = fs.restart();
    let r = open(&fs);
    assert_eq!(r.state().partitions[&0].state, PartitionState::Merging);
    assert_eq!(rows(&r), all);
    // Deleted partitions are the only ones scans skip.
    r.commit(Edit::SetPartitionState {
        partition: 0,
        state: PartitionState::Sealed,
    })
    .unwrap();
    r.commit(Edit::SetPartitionState {
        partition: 0,
        state: PartitionState::Deleted,
    })
    .unwrap();
    assert_eq!(
        rows(&r).into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
        vec![3]
    );
}
