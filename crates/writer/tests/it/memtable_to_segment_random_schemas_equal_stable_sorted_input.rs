//! Property: random schemas (every supported type, random nullability and nulls), random batch
//! splits, random sort key and block size → `Memtable::append` → `drain` → `SegmentWriter` on a
//! `MemFs` → `Segment::open` → `read_all` gives back the drained batch, which is the input
//! sorted stably by the key (an independent oracle: a stable sort of row indices).

use crate::support;
use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use crate::support::batches_equal;
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::*;
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use proptest::prelude::*;
use strata_format::{BlockOptions, DataType, Field, MemFs, Schema, Segment, TimeUnit};
use strata_memtable::{Memtable, MemtableOptions};
use strata_writer::{SegmentWriter, WriterOptions};

/// A small deterministic generator, so a case's data follows from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone)]
struct ColumnSpec {
    data_type: DataType,
    nullable: bool,
    /// Percent of nulls in a nullable column.
    null_percent: u64,
    /// Symbol columns: give the memtable `Dictionary<Int32, Utf8>` (else plain `Utf8`).
    symbol_as_dictionary: bool,
    /// Distinct values drawn from, for columns with a small domain (ties in the key).
    domain: u64,
}

fn data_type_strategy() -> impl Strategy<Value = DataType> {
    let unit = prop_oneof![
        Just(TimeUnit::Second),
        Just(TimeUnit::Millisecond),
        Just(TimeUnit::Microsecond),
        Just(TimeUnit::Nanosecond),
    ];
    let tz = prop_oneof![
        Just(None),
        Just(Some(Arc::<str>::from("UTC"))),
        Just(Some(Arc::<str>::from("+05:30"))),
        Just(Some(Arc::<str>::from("Europe/Paris"))),
    ];
    prop_oneof![
        Just(DataType::Boolean),
        Just(DataType::Int8),
        Just(DataType::Int16),
        Just(DataType::Int32),
        Just(DataType::Int64),
        Just(DataType::UInt8),
        Just(DataType::UInt16),
        Just(DataType::UInt32),
        Just(DataType::UInt64),
        Just(DataType::Float32),
        Just(DataType::Float64),
        (unit, tz).prop_map(|(u, tz)| DataType::Timestamp(u, tz)),
        Just(DataType::Date32),
        Just(DataType::Utf8),
        Just(DataType::LargeUtf8),
        Just(DataType::Binary),
        Just(DataType::Symbol),
    ]
}

fn column_strategy() -> impl Strategy<Value = ColumnSpec> {
    (
        data_type_strategy(),
        any::<bool>(),
        0u64..60,
        any::<bool>(),
        prop_oneof![1u64..4, 4u64..50, Just(u64::MAX)],
    )
        .prop_map(
            |(data_type, nullable, null_percent, symbol_as_dictionary, domain)| ColumnSpec {
                data_type,
                nullable,
                null_percent,
                symbol_as_dictionary,
                domain,
            },
        )
}

#[derive(Debug, Clone)]
struct Case {
    columns: Vec<ColumnSpec>,
    /// Positions into the column list (deduplicated in order) that form the sort key.
    sort_key: Vec<usize>,
    rows: usize,
    /// Cut points of the input into appended batches (taken modulo rows + 1).
    append_cuts: Vec<usize>,
    /// Cut points of the drained batch into `write_batch` calls.
    write_cuts: Vec<usize>,
    block_rows: usize,
    symbol_cardinality_limit: usize,
    seed: u64,
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(column_strategy(), 1..7),
        prop::collection::vec(0usize..7, 0..4),
        prop_oneof![1 => Just(0usize), 3 => 1usize..300, 6 => 300usize..2500],
        prop::collection::vec(any::<usize>(), 0..6),
        prop::collection::vec(any::<usize>(), 0..6),
        prop_oneof![1usize..16, 16usize..3000],
        prop_oneof![Just(4usize), Just(16), Just(65_536)],
        any::<u64>(),
    )
        .prop_map(
            |(
                columns,
                sort_key,
                rows,
                append_cuts,
                write_cuts,
                block_rows,
                symbol_cardinality_limit,
                seed,
            )| {
                let mut key = Vec::new();
                for k in sort_key {
                    let k = k % columns.len();
                    if !key.contains(&k) {
                        key.push(k);
                    }
                }
                Case {
                    columns,
                    sort_key: key,
                    rows,
                    append_cuts,
                    write_cuts,
                    block_rows,
                    symbol_cardinality_limit,
                    seed,
                }
            },
        )
}

const SPECIAL_F64: [f64; 12] = [
    f64::NAN,
    -f64::NAN,
    0.0,
    -0.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MIN_POSITIVE,
    5e-324,
    f64::MAX,
    f64::MIN,
    1.5,
    -2.25,
];

fn f64_value(rng: &mut Rng, domain: u64) -> f64 {
    match rng.below(10) {
        0..=2 => SPECIAL_F64[rng.below(SPECIAL_F64.len() as u64) as usize],
        // A NaN with a payload.
        3 => f64::from_bits(0x7FF8_0000_0000_0000 | (rng.next() & 0xFFFF)),
        4..=6 if domain != u64::MAX => (rng.below(domain) as f64) * 0.25,
        _ => f64::from_bits(rng.next()),
    }
}

fn f32_value(rng: &mut Rng, domain: u64) -> f32 {
    match rng.below(10) {
        0..=2 => SPECIAL_F64[rng.below(SPECIAL_F64.len() as u64) as usize] as f32,
        // A signalling NaN (the widening to f64 would quieten it) and a quiet one with payload.
        3 => f32::from_bits(0x7F80_0001 | ((rng.next() as u32) & 0x3F_FFFF)),
        4..=6 if domain != u64::MAX => (rng.below(domain) as f32) * 0.5,
        _ => f32::from_bits(rng.next() as u32),
    }
}

/// An integer drawn from a small domain, an edge of the type's range, or anything.
fn int_value(rng: &mut Rng, domain: u64, min: i128, max: i128) -> i128 {
    match rng.below(10) {
        0 => min,
        1 => max,
        2..=6 if domain != u64::MAX => (min + i128::from(rng.below(domain))).min(max),
        _ => {
            let span = (max - min + 1) as u128;
            min + ((u128::from(rng.next()) << 64 | u128::from(rng.next())) % span) as i128
        }
    }
}

fn string_value(rng: &mut Rng, domain: u64) -> String {
    const PIECES: [&str; 8] = ["a", "b", "zz", "", "é", "日本", "\u{0}", "host-"];
    if domain != u64::MAX && rng.chance(70) {
        return format!("v{}", rng.below(domain));
    }
    let len = rng.below(6);
    (0..len)
        .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
        .collect()
}

fn bytes_value(rng: &mut Rng, domain: u64) -> Vec<u8> {
    if domain != u64::MAX && rng.chance(70) {
        return vec![rng.below(domain) as u8; (rng.below(3)) as usize];
    }
    let len = rng.below(9);
    (0..len).map(|_| rng.next() as u8).collect()
}

/// One column of `rows` rows in the Arrow type the input batch carries.
fn column(spec: &ColumnSpec, rows: usize, rng: &mut Rng) -> ArrayRef {
    let valid: Vec<bool> = (0..rows)
        .map(|_| !(spec.nullable && rng.chance(spec.null_percent)))
        .collect();
    let d = spec.domain;
    macro_rules! ints {
        ($arr:ty, $t:ty) => {{
            let v: $arr = valid
                .iter()
                .map(|&ok| {
                    let x = int_value(rng, d, i128::from(<$t>::MIN), i128::from(<$t>::MAX));
                    ok.then_some(x as $t)
                })
                .collect();
            Arc::new(v) as ArrayRef
        }};
    }
    macro_rules! timestamps {
        ($arr:ty, $tz:expr) => {{
            let v: $arr = valid
                .iter()
                .map(|&ok| {
                    let x = int_value(rng, d, i128::from(i64::MIN), i128::from(i64::MAX));
                    ok.then_some(x as i64)
                })
                .collect();
            Arc::new(v.with_timezone_opt($tz.clone())) as ArrayRef
        }};
    }
    match &spec.data_type {
        DataType::Boolean => {
            let v: BooleanArray = valid.iter().map(|&ok| ok.then(|| rng.chance(50))).collect();
            Arc::new(v)
        }
        DataType::Int8 => ints!(Int8Array, i8),
        DataType::Int16 => ints!(Int16Array, i16),
        DataType::Int32 => ints!(Int32Array, i32),
        DataType::Int64 => ints!(Int64Array, i64),
        DataType::UInt8 => ints!(UInt8Array, u8),
        DataType::UInt16 => ints!(UInt16Array, u16),
        DataType::UInt32 => ints!(UInt32Array, u32),
        DataType::UInt64 => ints!(UInt64Array, u64),
        DataType::Date32 => ints!(Date32Array, i32),
        DataType::Float32 => {
            let v: Float32Array = valid
                .iter()
                .map(|&ok| {
                    let x = f32_value(rng, d);
                    ok.then_some(x)
                })
                .collect();
            Arc::new(v)
        }
        DataType::Float64 => {
            let v: Float64Array = valid
                .iter()
                .map(|&ok| {
                    let x = f64_value(rng, d);
                    ok.then_some(x)
                })
                .collect();
            Arc::new(v)
        }
        DataType::Timestamp(unit, tz) => match unit {
            TimeUnit::Second => timestamps!(TimestampSecondArray, tz),
            TimeUnit::Millisecond => timestamps!(TimestampMillisecondArray, tz),
            TimeUnit::Microsecond => timestamps!(TimestampMicrosecondArray, tz),
            TimeUnit::Nanosecond => timestamps!(TimestampNanosecondArray, tz),
        },
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Symbol => {
            let values: Vec<Option<String>> = valid
                .iter()
                .map(|&ok| {
                    let s = string_value(rng, d);
                    ok.then_some(s)
                })
                .collect();
            match spec.data_type {
                DataType::LargeUtf8 => Arc::new(LargeStringArray::from(values)),
                DataType::Symbol if spec.symbol_as_dictionary => Arc::new(
                    values
                        .iter()
                        .map(Option::as_deref)
                        .collect::<DictionaryArray<Int32Type>>(),
                ),
                _ => Arc::new(StringArray::from(values)),
            }
        }
        DataType::Binary => {
            let values: Vec<Option<Vec<u8>>> = valid
                .iter()
                .map(|&ok| {
                    let b = bytes_value(rng, d);
                    ok.then_some(b)
                })
                .collect();
            Arc::new(BinaryArray::from_iter(values))
        }
    }
}

/// Row order of two rows of one (non-dictionary) key column: nulls first, floats by total
/// order, strings and bytes lexicographically — written here independently of Arrow's kernels.
fn compare_rows(a: &dyn Array, i: usize, j: usize) -> Ordering {
    match (a.is_valid(i), a.is_valid(j)) {
        (false, false) => return Ordering::Equal,
        (false, true) => return Ordering::Less,
        (true, false) => return Ordering::Greater,
        (true, true) => {}
    }
    macro_rules! prim {
        ($t:ty) => {{
            let p = a.as_primitive::<$t>();
            p.value(i).cmp(&p.value(j))
        }};
    }
    match a.data_type() {
        ArrowType::Boolean => {
            let b = a.as_boolean();
            b.value(i).cmp(&b.value(j))
        }
        ArrowType::Int8 => prim!(Int8Type),
        ArrowType::Int16 => prim!(Int16Type),
        ArrowType::Int32 => prim!(Int32Type),
        ArrowType::Int64 => prim!(Int64Type),
        ArrowType::UInt8 => prim!(UInt8Type),
        ArrowType::UInt16 => prim!(UInt16Type),
        ArrowType::UInt32 => prim!(UInt32Type),
        ArrowType::UInt64 => prim!(UInt64Type),
        ArrowType::Date32 => prim!(Date32Type),
        ArrowType::Timestamp(..) => {
            // Every unit is an i64 count; reinterpret through the data's buffer.
            let p = a.to_data();
            let v = p.buffer::<i64>(0);
            v[i].cmp(&v[j])
        }
        ArrowType::Float32 => {
            let p = a.as_primitive::<Float32Type>();
            p.value(i).total_cmp(&p.value(j))
        }
        ArrowType::Float64 => {
            let p = a.as_primitive::<Float64Type>();
            p.value(i).total_cmp(&p.value(j))
        }
        ArrowType::Utf8 => {
            let s = a.as_string::<i32>();
            s.value(i).cmp(s.value(j))
        }
        ArrowType::LargeUtf8 => {
            let s = a.as_string::<i64>();
            s.value(i).cmp(s.value(j))
        }
        ArrowType::Binary => {
            let s = a.as_binary::<i32>();
            s.value(i).cmp(s.value(j))
        }
        other => panic!("no oracle order for {other}"),
    }
}

fn cut_points(cuts: &[usize], rows: usize) -> Vec<(usize, usize)> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (rows + 1)).collect();
    points.push(0);
    points.push(rows);
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| (w[0], w[1] - w[0])).collect()
}

fn run(case: &Case) -> Result<(), TestCaseError> {
    let mut rng = Rng(case.seed);
    let fields: Vec<Field> = case
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| Field::new(format!("c{i}"), c.data_type.clone(), c.nullable))
        .collect();
    let key_names: Vec<String> = case.sort_key.iter().map(|&i| format!("c{i}")).collect();
    let schema = Schema::new(fields)
        .unwrap()
        .with_sort_key(key_names.clone())
        .unwrap();

    // The input, as one Arrow batch in the types the caller hands over.
    let arrays: Vec<ArrayRef> = case
        .columns
        .iter()
        .map(|c| column(c, case.rows, &mut rng))
        .collect();
    let input_schema = Arc::new(ArrowSchema::new(
        arrays
            .iter()
            .zip(&case.columns)
            .enumerate()
            .map(|(i, (a, c))| ArrowField::new(format!("c{i}"), a.data_type().clone(), c.nullable))
            .collect::<Vec<_>>(),
    ));
    let input = RecordBatch::try_new(input_schema, arrays).unwrap();

    // Oracle: a stable sort of row indices on the key columns.
    let plain: Vec<ArrayRef> = input
        .columns()
        .iter()
        .map(|a| support::logical(a).unwrap())
        .collect();
    let mut order: Vec<usize> = (0..case.rows).collect();
    order.sort_by(|&i, &j| {
        case.sort_key
            .iter()
            .map(|&k| compare_rows(plain[k].as_ref(), i, j))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    let indices = UInt64Array::from_iter_values(order.iter().map(|&i| i as u64));
    let sorted: Vec<ArrayRef> = plain
        .iter()
        .map(|a| arrow_select::take::take(a.as_ref(), &indices, None).unwrap())
        .collect();
    let expected_schema = Arc::new(ArrowSchema::new(
        sorted
            .iter()
            .enumerate()
            .map(|(i, a)| ArrowField::new(format!("c{i}"), a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let expected = RecordBatch::try_new(expected_schema, sorted).unwrap();

    // Memtable: every batch appended, then drained.
    let mut memtable = Memtable::new(
        Arc::new(schema.clone()),
        MemtableOptions {
            symbol_cardinality_limit: case.symbol_cardinality_limit,
            ..MemtableOptions::default()
        },
    )
    .unwrap();
    for (start, len) in cut_points(&case.append_cuts, case.rows) {
        memtable.append(&input.slice(start, len)).unwrap();
    }
    let Some(drained) = memtable.drain().unwrap() else {
        prop_assert_eq!(case.rows, 0);
        return Ok(());
    };
    prop_assert_eq!(drained.rows, case.rows);
    if let Err(e) = batches_equal(&drained.batch, &expected) {
        return Err(TestCaseError::fail(format!(
            "drained batch differs from the oracle: {e}"
        )));
    }

    // Writer: the drained batch in random slices, then read back.
    let fs = Arc::new(MemFs::new());
    let opts = WriterOptions {
        block: BlockOptions {
            block_rows: case.block_rows,
            ..BlockOptions::default()
        },
        ..WriterOptions::default()
    };
    let mut w =
        SegmentWriter::create(fs.clone(), Path::new("/seg"), "s.strata", schema, opts).unwrap();
    for (start, len) in cut_points(&case.write_cuts, case.rows) {
        w.write_batch(&drained.batch.slice(start, len)).unwrap();
    }
    let meta = w.finish().unwrap();
    prop_assert_eq!(meta.rows, case.rows as u64);
    let segment = Segment::open(fs.as_ref(), &meta.path).unwrap();
    prop_assert_eq!(
        segment.num_blocks(0),
        case.rows.div_ceil(case.block_rows),
        "blocks of {} rows",
        case.block_rows
    );
    let read = segment.read_all().unwrap();
    if let Err(e) = batches_equal(&read, &drained.batch) {
        return Err(TestCaseError::fail(format!(
            "segment differs from the drained batch: {e}"
        )));
    }
    if let Err(e) = batches_equal(&read, &expected) {
        return Err(TestCaseError::fail(format!(
            "segment differs from the oracle: {e}"
        )));
    }
    prop_assert_eq!(meta.key_range.is_some(), !key_names.is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn memtable_to_segment_random_schemas_equal_stable_sorted_input(case in case_strategy()) {
        run(&case)?;
    }
}
