//! The partition state machine: every legal transition commits, every illegal one is a typed
//! error that changes nothing; sealed partitions take no new segments.

use crate::common::*;
use strata_format::FaultFs;
use strata_partition_registry::{Edit, PartitionState, RegistryError};

use PartitionState::*;

const ALL: [PartitionState; 4] = [Active, Sealed, Merging, Deleted];

/// Drives partition 0 into `s` by legal steps.
fn reach(r: &strata_partition_registry::Registry, s: PartitionState) {
    let path: &[PartitionState] = match s {
        Active => &[],
        Sealed => &[Sealed],
        Merging => &[Sealed, Merging],
        Deleted => &[Sealed, Deleted],
    };
    for &st in path {
        r.commit(Edit::SetPartitionState {
            partition: 0,
            state: st,
        })
        .unwrap();
    }
}

#[test]
fn every_pair_of_states() {
    let legal = [
        (Active, Sealed),
        (Sealed, Merging),
        (Merging, Sealed),
        (Sealed, Deleted),
    ];
    for from in ALL {
        for to in ALL {
            let fs = FaultFs::new();
            let r = create(&fs);
            r.write_segment(&batch(&r, &[(1, 1)]), Default::default())
                .unwrap();
            reach(&r, from);
            let before = r.state();
            let res = r.commit(Edit::SetPartitionState {
                partition: 0,
                state: to,
            });
            assert_eq!(from.can_become(to), legal.contains(&(from, to)));
            if legal.contains(&(from, to)) {
                res.unwrap();
                assert_eq!(r.state().partitions[&0].state, to);
            } else {
                match res {
                    Err(RegistryError::IllegalTransition {
                        partition: 0,
                        from: f,
                        to: t,
                    }) => {
                        assert_eq!((f, t), (from, to));
                    }
                    other => panic!("{from:?} -> {to:?}: {other:?}"),
                }
                assert_eq!(r.state(), before);
            }
        }
    }
}

#[test]
fn sealed_partition_takes_no_new_segment_and_unknown_partition_is_typed() {
    let fs = FaultFs::new();
    let r = create(&fs);
    r.write_segment(&batch(&r, &[(1, 1)]), Default::default())
        .unwrap();
    reach(&r, Sealed);
    let e = r
        .write_segment(&batch(&r, &[(5, 2)]), Default::default())
        .unwrap_err();
    assert!(
        matches!(&e, RegistryError::BadTime { row: 0, detail, .. } if detail.contains("Sealed")),
        "{e}"
    );
    let e = r
        .commit(Edit::SetPartitionState {
            partition: 77,
            state: Sealed,
        })
        .unwrap_err();
    assert!(matches!(e, RegistryError::UnknownPartition(77)));
    // The next day still takes data.
    r.write_segment(&batch(&r, &[(DAY, 3)]), Default::default())
        .unwrap();
}
