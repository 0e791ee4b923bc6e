//! Model-based property test: random sequences of add segment / delete / seal / schema change /
//! checkpoint / reopen against a simple in-memory model. The registry and the model agree after
//! every step, and every reopen starts from what was durable (a crash-free restart).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::common::*;
use proptest::prelude::*;
use strata_format::{DataType, FaultFs, Field};
use strata_partition_registry::{
    Edit, PartitionState, Registry, RegistryError, SchemaChange, TableConfig,
};
use strata_predicate::BoundPredicate;

#[derive(Debug, Clone)]
enum Op {
    Add { day: i64, n: i64 },
    Delete { lo: i64, width: i64 },
    Seal { day: i64 },
    AddColumn,
    DropColumn,
    Checkpoint,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0i64..4, 1i64..12).prop_map(|(day, n)| Op::Add { day, n }),
        3 => (0i64..60, 1i64..8).prop_map(|(lo, width)| Op::Delete { lo, width }),
        1 => (0i64..5).prop_map(|day| Op::Seal { day }),
        1 => Just(Op::AddColumn),
        1 => Just(Op::DropColumn),
        1 => Just(Op::Checkpoint),
        2 => Just(Op::Reopen),
    ]
}

#[derive(Debug, Default)]
struct Model {
    /// k → (day, values of the extra columns; `None` = written before the column existed).
    rows: BTreeMap<i64, (i64, BTreeMap<String, Option<i64>>)>,
    next_k: i64,
    partitions: BTreeMap<i64, PartitionState>,
    v_present: bool,
    extra: Vec<String>,
    next_col: u32,
    dead_rows: u64,
}

impl Model {
    fn expected_rows(&self) -> Vec<Row> {
        self.rows
            .iter()
            .map(|(&k, (day, extra))| {
                let mut vals = vec![
                    ("ts".to_string(), Some(day * DAY + k)),
                    ("k".to_string(), Some(k)),
                ];
                if self.v_present {
                    vals.push(("v".to_string(), Some(k * 10)));
                }
                for c in &self.extra {
                    vals.push((c.clone(), extra.get(c).copied().flatten()));
                }
                (k, vals)
            })
            .collect()
    }
}

fn model_config() -> TableConfig {
    let mut c = config();
    c.checkpoint_every = 4;
    c
}

fn check(reg: &Registry, m: &Model, step: usize) {
    assert_eq!(rows(reg), m.expected_rows(), "rows after step {step}");
    let state = reg.state();
    let parts: BTreeMap<i64, PartitionState> = state
        .partitions
        .iter()
        .map(|(&s, p)| (s / DAY, p.state))
        .collect();
    assert_eq!(parts, m.partitions, "partitions after step {step}");
    assert_eq!(
        state.dead_space().rows,
        m.dead_rows,
        "dead rows after step {step}"
    );
    let live: u64 = state.segments().map(|s| s.rows - s.deleted_rows()).sum();
    assert_eq!(live, m.rows.len() as u64);
}

fn run(ops: Vec<Op>) {
    let mut fs = FaultFs::new();
    let mut reg = Registry::create(Arc::new(fs.clone()), dir(), model_config()).unwrap();
    let mut m = Model {
        v_present: true,
        ..Model::default()
    };
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Add { day, n } => {
                let ks: Vec<i64> = (m.next_k..m.next_k + n).collect();
                let b = batch(
                    &reg,
                    &ks.iter().map(|&k| (day * DAY + k, k)).collect::<Vec<_>>(),
                );
                let r = reg.write_segment(&b, Default::default());
                match m.partitions.get(&day) {
                    Some(PartitionState::Sealed) => {
                        // Refused before anything is written, naming the row.
                        assert!(matches!(r, Err(RegistryError::BadTime { row: 0, .. })));
                    }
                    _ => {
                        r.unwrap();
                        m.partitions.insert(day, PartitionState::Active);
                        for &k in &ks {
                            let extra = m.extra.iter().map(|c| (c.clone(), Some(k))).collect();
                            m.rows.insert(k, (day, extra));
                        }
                        m.next_k += n;
                    }
                }
            }
            Op::Delete { lo, width } => {
                let text = format!("k >= {lo} AND k < {}", lo + width);
                let p =
                    BoundPredicate::parse_and_bind(&text, &reg.state().schema.schema()).unwrap();
                let report = reg.delete(&p).unwrap();
                let before = m.rows.len();
                m.rows.retain(|&k, _| !(lo..lo + width).contains(&k));
                let gone = (before - m.rows.len()) as u64;
                assert_eq!(report.rows_deleted, gone);
                m.dead_rows += gone;
            }
            Op::Seal { day } => {
                let r = reg.commit(Edit::SetPartitionState {
                    partition: day * DAY,
                    state: PartitionState::Sealed,
                });
                match m.partitions.get(&day) {
                    Some(PartitionState::Active) => {
                        r.unwrap();
                        m.partitions.insert(day, PartitionState::Sealed);
                    }
                    Some(_) => assert!(matches!(r, Err(RegistryError::IllegalTransition { .. }))),
                    None => assert!(matches!(r, Err(RegistryError::UnknownPartition(_)))),
                }
            }
            Op::AddColumn => {
                let name = format!("c{}", m.next_col);
                m.next_col += 1;
                reg.commit(Edit::ChangeSchema(SchemaChange::AddColumn(Field::new(
                    &name,
                    DataType::Int64,
                    true,
                ))))
                .unwrap();
                m.extra.push(name);
            }
            Op::DropColumn => {
                if let Some(c) = m.extra.pop() {
                    reg.commit(Edit::ChangeSchema(SchemaChange::DropColumn(c)))
                        .unwrap();
                } else if m.v_present {
                    reg.commit(Edit::ChangeSchema(SchemaChange::DropColumn("v".into())))
                        .unwrap();
                    m.v_present = false;
                }
            }
            Op::Checkpoint => reg.checkpoint().unwrap(),
            Op::Reopen => {
                let before = (*reg.state()).clone();
                drop(reg);
                fs = fs.restart();
                let (r, _) = Registry::open(Arc::new(fs.clone()), dir()).unwrap();
                reg = r;
                assert_eq!(
                    *reg.state(),
                    before,
                    "state changed by reopen at step {step}"
                );
                assert_files_are_referenced(&fs, &reg);
            }
        }
        check(&reg, &m, step);
    }
    // A final reopen from the durable state agrees too.
    drop(reg);
    let fs = fs.restart();
    let (reg, _) = Registry::open(Arc::new(fs.clone()), dir()).unwrap();
    check(&reg, &m, usize::MAX);
    assert_files_are_referenced(&fs, &reg);
    eprintln!(
        "model run: {} rows live, {} dead, {} partitions, schema v{}",
        m.rows.len(),
        m.dead_rows,
        m.partitions.len(),
        reg.state().schema.version
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn registry_agrees_with_model(ops in proptest::collection::vec(op(), 1..24)) {
        run(ops);
    }
}
