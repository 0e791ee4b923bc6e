//! Dead space: deleted rows and their estimated bytes (rows × segment bytes / segment rows),
//! per segment, per partition and per table.

use crate::common::*;
use strata_format::FaultFs;
use strata_predicate::BoundPredicate;

#[test]
fn deleted_rows_and_estimated_bytes() {
    let fs = FaultFs::new();
    let r = create(&fs);
    let rows_a: Vec<(i64, i64)> = (0..100).map(|k| (k, k)).collect();
    let a = r
        .write_segment(&batch(&r, &rows_a), Default::default())
        .unwrap();
    let b = r
        .write_segment(
            &batch(&r, &[(DAY + 1, 1000), (DAY + 2, 1001)]),
            Default::default(),
        )
        .unwrap();
    let p = BoundPredicate::parse_and_bind("k < 25 OR k = 1001", &schema()).unwrap();
    let report = r.delete(&p).unwrap();
    assert_eq!(report.rows_deleted, 26);
    let s = r.state();
    let sa = s.segment(a.id).unwrap();
    assert_eq!(sa.deleted_rows(), 25);
    assert_eq!(sa.dead_bytes(), 25 * a.bytes / 100);
    let day0 = s.partitions[&0].dead_space();
    assert_eq!(
        (day0.rows, day0.bytes, day0.total_rows),
        (25, 25 * a.bytes / 100, 100)
    );
    let day1 = s.partitions[&DAY].dead_space();
    assert_eq!((day1.rows, day1.bytes), (1, b.bytes / 2));
    let t = s.dead_space();
    assert_eq!(t.rows, 26);
    assert_eq!(t.bytes, day0.bytes + day1.bytes);
    assert_eq!(t.total_bytes, a.bytes + b.bytes);
}
