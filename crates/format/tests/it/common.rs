//! Sample data shared by the integration tests and the golden-file writer example.
#![allow(unreachable_pub, missing_docs)]

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, DictionaryArray, Float32Array, Float64Array,
    Int8Array, Int16Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use strata_format::{BlockOptions, Schema, SymbolAs};

/// Every supported type, nulls in the nullable columns, a symbol column, extreme values.
pub fn all_types_batch(rows: usize) -> (Schema, RecordBatch) {
    let n = rows as i64;
    let null_every = |k: usize| move |i: usize| i % k == k - 1;
    let hosts = ["db-01", "web-01", "web-02", "cache-eu-west-1"];
    let keys: Int32Array = (0..rows)
        .map(|i| {
            if null_every(7)(i) {
                None
            } else {
                Some((i / 3 % hosts.len()) as i32)
            }
        })
        .collect();
    let sym =
        DictionaryArray::<Int32Type>::try_new(keys, Arc::new(StringArray::from(hosts.to_vec())))
            .unwrap();
    let long = "a-long-shared-prefix-of-more-than-thirty-two-bytes/";
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "ts",
            Arc::new(
                TimestampMillisecondArray::from(
                    (0..n)
                        .map(|i| 1_700_000_000_000 + i * 250)
                        .collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
        ),
        ("host", Arc::new(sym)),
        (
            "flag",
            Arc::new(
                (0..rows)
                    .map(|i| (!null_every(5)(i)).then_some(i % 3 == 0))
                    .collect::<BooleanArray>(),
            ),
        ),
        (
            "i8",
            Arc::new(Int8Array::from(
                (0..n).map(|i| (i % 256 - 128) as i8).collect::<Vec<_>>(),
            )),
        ),
        (
            "i16",
            Arc::new(Int16Array::from(
                (0..n)
                    .map(|i| (i * 37 % 65_536 - 32_768) as i16)
                    .collect::<Vec<_>>(),
            )),
        ),
        (
            "i32",
            Arc::new(
                (0..n)
                    .map(|i| (i % 11 != 0).then_some(i as i32 * -1000))
                    .collect::<Int32Array>(),
            ),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(
                (0..n)
                    .map(|i| match i % 4 {
                        0 => i64::MIN + i,
                        1 => i64::MAX - i,
                        2 => (1 << 53) + i,
                        _ => -i,
                    })
                    .collect::<Vec<_>>(),
            )),
        ),
        (
            "u8",
            Arc::new(UInt8Array::from(
                (0..n).map(|i| (i % 256) as u8).collect::<Vec<_>>(),
            )),
        ),
        (
            "u16",
            Arc::new(UInt16Array::from(
                (0..n).map(|i| (i * 3) as u16).collect::<Vec<_>>(),
            )),
        ),
        (
            "u32",
            Arc::new(UInt32Array::from(
                (0..n).map(|i| u32::MAX - i as u32).collect::<Vec<_>>(),
            )),
        ),
        (
            "u64",
            Arc::new(UInt64Array::from(
                (0..n)
                    .map(|i| u64::MAX - (i as u64) * 7)
                    .collect::<Vec<_>>(),
            )),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(
                (0..n)
                    .map(|i| match i % 6 {
                        0 => f32::NAN,
                        1 => -0.0,
                        2 => f32::INFINITY,
                        3 => f32::from_bits(0x7f80_0001), // signalling NaN: kept bit-exact
                        _ => i as f32 * 0.5,
                    })
                    .collect::<Vec<_>>(),
            )),
        ),
        (
            "f64",
            Arc::new(
                (0..n)
                    .map(|i| match i % 9 {
                        8 => None,
                        4 => Some(f64::NAN),
                        _ => Some(i as f64 * 0.1 - 3.0),
                    })
                    .collect::<Float64Array>(),
            ),
        ),
        (
            "d",
            Arc::new(
                (0..n)
                    .map(|i| (i % 13 != 0).then_some(19_000 + i as i32))
                    .collect::<Date32Array>(),
            ),
        ),
        (
            "s",
            Arc::new(
                (0..rows)
                    .map(|i| (!null_every(4)(i)).then(|| format!("{long}{i:05}-ü€")))
                    .collect::<StringArray>(),
            ),
        ),
        (
            "ls",
            Arc::new(LargeStringArray::from(
                (0..rows).map(|i| format!("row {i}")).collect::<Vec<_>>(),
            )),
        ),
        (
            "bin",
            Arc::new(
                (0..rows)
                    .map(|i| (i % 3 != 1).then(|| vec![0xFF; i % 40 + 1]))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(|o| o.as_deref())
                    .collect::<BinaryArray>(),
            ),
        ),
        (
            "ts_s",
            Arc::new(TimestampSecondArray::from(
                (0..n).map(|i| i * 60).collect::<Vec<_>>(),
            )),
        ),
        (
            "ts_us",
            Arc::new(TimestampMicrosecondArray::from(
                (0..n).map(|i| i * 1_000_003).collect::<Vec<_>>(),
            )),
        ),
        (
            "ts_ns",
            Arc::new(
                TimestampNanosecondArray::from((0..n).map(|i| i64::MAX - i).collect::<Vec<_>>())
                    .with_timezone("Europe/Paris"),
            ),
        ),
    ];
    let fields: Vec<arrow_schema::Field> = cols
        .iter()
        .map(|(name, a)| {
            let nullable = a.null_count() > 0 || a.logical_null_count() > 0;
            arrow_schema::Field::new(*name, a.data_type().clone(), nullable)
        })
        .collect();
    let arrow_schema = arrow_schema::Schema::new(fields);
    let schema = Schema::from_arrow(&arrow_schema)
        .unwrap()
        .with_sort_key(["ts", "host"])
        .unwrap();
    let batch = RecordBatch::try_new(
        Arc::new(schema.to_arrow(SymbolAs::Dictionary)),
        cols.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    (schema, batch)
}

/// A small segment: three columns, blocks of 4 rows, 10 rows (so a short last block).
pub fn small_batch() -> (Schema, RecordBatch) {
    let (schema, batch) = all_types_batch(10);
    let keep = ["ts", "host", "s"].map(|n| schema.index_of(n).unwrap());
    let schema = Schema::new(keep.iter().map(|&i| schema.fields[i].clone()).collect())
        .unwrap()
        .with_sort_key(["ts"])
        .unwrap();
    let batch = batch.project(&keep).unwrap();
    (schema, batch)
}

/// A price-like integer and float column whose level moves every 1024 rows while the values
/// within a stretch stay close: 3,000 rows in one block of 4,096, the shape format 3.1's
/// bit-packing per 1024-value miniblock is for.
pub fn drifting_batch() -> (Schema, RecordBatch, BlockOptions) {
    let rows = 3000i64;
    // A noise of nine bits from a multiply-xorshift hash of the row number.
    let noise = |i: i64| {
        let x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        ((x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> 55) as i64
    };
    let ints: Int64Array = (0..rows)
        .map(|i| (i / 1024) * 1_000_000_007 + noise(i))
        .collect();
    let floats: Float64Array = (0..rows)
        .map(|i| 100.0 + (i / 1024) as f64 * 3750.25 + (noise(i) >> 2) as f64 / 100.0)
        .collect();
    int_and_float_in_one_block(ints, floats)
}

/// A batch of the named columns (`name, array, nullable`) and options of 4,096-row blocks.
pub fn in_blocks_of_4096(
    columns: Vec<(&str, ArrayRef, bool)>,
) -> (Schema, RecordBatch, BlockOptions) {
    let arrow_schema = arrow_schema::Schema::new(
        columns
            .iter()
            .map(|(name, a, nullable)| {
                arrow_schema::Field::new(*name, a.data_type().clone(), *nullable)
            })
            .collect::<Vec<_>>(),
    );
    let cols = columns.into_iter().map(|(_, a, _)| a).collect();
    let schema = Schema::from_arrow(&arrow_schema).unwrap();
    let batch = RecordBatch::try_new(Arc::new(arrow_schema), cols).unwrap();
    let options = BlockOptions {
        block_rows: 4096,
        ..BlockOptions::default()
    };
    (schema, batch, options)
}

/// A batch of an integer column `i` and a float column `f`, and options that put it in one
/// block of 4,096 rows.
fn int_and_float_in_one_block(
    ints: Int64Array,
    floats: Float64Array,
) -> (Schema, RecordBatch, BlockOptions) {
    in_blocks_of_4096(vec![
        ("i", Arc::new(ints), false),
        ("f", Arc::new(floats), false),
    ])
}

/// An integer and a float column whose 1024-row runs need different cascades (regular
/// timestamps, three large values, 40-bit noise, a constant; decimals at one, two and four
/// places and whole numbers): 4,000 rows in one block of 4,096, which format 3.2 stores as a
/// `parts` node of four runs.
pub fn parts_batch() -> (Schema, RecordBatch, BlockOptions) {
    let rows = 4000i64;
    // A multiply-xorshift hash of the row number.
    let hash = |i: i64| {
        let x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9)
    };
    let ints: Int64Array = (0..rows)
        .map(|i| match i / 1024 {
            0 => 1_700_000_000_000 + i * 1000,
            1 => [1i64 << 50, 3 << 50, 7 << 50][(hash(i) % 3) as usize],
            2 => (hash(i) >> 24) as i64,
            _ => 42,
        })
        .collect();
    let floats: Float64Array = (0..rows)
        .map(|i| match i / 1024 {
            0 => (200 + hash(i) % 100) as f64 / 10.0,
            1 => (100_000 + hash(i) % 10_000) as f64 / 100.0,
            2 => (hash(i) % 10_000) as f64 / 10_000.0,
            _ => (hash(i) % 50) as f64,
        })
        .collect();
    int_and_float_in_one_block(ints, floats)
}

/// A schedule that repeats (`code`: 1,500 codes below 229, the same sequence every 1,500 rows,
/// like a day's flights and their airports) and 48-bit noise with nulls (`noise`): 12,000 rows
/// in blocks of 4,096. From format 3.3 the codes' blocks are zstd frames of their bit-packed
/// codes (one cascade of a block cannot see the repetition); the noise's do not pay and stay
/// as the codec wrote them.
pub fn zstd_batch() -> (Schema, RecordBatch, BlockOptions) {
    let hash = |i: u64| {
        let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9)
    };
    let rows = 12_000u64;
    let code: UInt64Array = (0..rows).map(|i| hash(i % 1500) % 229).collect();
    let noise: Int64Array = (0..rows)
        .map(|i| (i % 7 != 3).then_some((hash(i + 1_000_000) >> 16) as i64))
        .collect();
    in_blocks_of_4096(vec![
        ("code", Arc::new(code), false),
        ("noise", Arc::new(noise), true),
    ])
}

/// A symbol column of 1,200 distinct tail-number-like strings over 5,000 rows (every 97th
/// null) beside an integer column: from format 3.4 its segment dictionary (about 8 KB of
/// values) is stored in the footer as a zstd frame (dictionary flag 2).
pub fn dictionary_batch() -> (Schema, RecordBatch, BlockOptions) {
    let rows = 5000usize;
    let tail = |k: usize| {
        format!(
            "N{:04}{}",
            (k * 7919) % 10_000,
            ["AA", "DL", "UA", "B6"][k % 4]
        )
    };
    let values: Vec<Option<String>> = (0..rows)
        .map(|i| (i % 97 != 96).then(|| tail((i * 7) % 1200)))
        .collect();
    let tails: DictionaryArray<Int32Type> = values.iter().map(Option::as_deref).collect();
    let n: Int64Array = (0..rows as i64).map(|i| i * 3 % 1001).collect();
    in_blocks_of_4096(vec![
        ("tail", Arc::new(tails), true),
        ("n", Arc::new(n), false),
    ])
}

pub fn small_options() -> BlockOptions {
    BlockOptions {
        block_rows: 4,
        ..BlockOptions::default()
    }
}

/// Compares batches value by value, treating NaNs with equal bits as equal (`==` on arrays
/// would not).
pub fn assert_batches_identical(a: &RecordBatch, b: &RecordBatch) {
    assert_eq!(a.schema().fields().len(), b.schema().fields().len());
    assert_eq!(a.num_rows(), b.num_rows());
    for (i, (x, y)) in a.columns().iter().zip(b.columns()).enumerate() {
        assert_eq!(x.data_type(), y.data_type(), "column {i}");
        let (x, y) = (symbols_as_strings(x), symbols_as_strings(y));
        assert_eq!(
            x.to_data(),
            y.to_data(),
            "column {i} ({})",
            a.schema().field(i).name()
        );
    }
}

/// A dictionary array's logical values as a plain string array (dictionary order may differ).
pub fn symbols_as_strings(a: &ArrayRef) -> ArrayRef {
    use arrow_array::cast::AsArray;
    match a.as_dictionary_opt::<Int32Type>() {
        None => Arc::clone(a),
        Some(d) => {
            let v = d.values().as_string::<i32>();
            Arc::new(
                d.keys()
                    .iter()
                    .map(|k| k.map(|k| v.value(k as usize)))
                    .collect::<StringArray>(),
            ) as ArrayRef
        }
    }
}

/// A flights-like table: `origin` and `dest` symbols (some null), `distance` a function of the
/// pair but on `noise` rows, `gate` (unsigned, nullable) a function of `origin` alone, `delay`
/// of nothing.
pub fn derived_table(rows: usize, airports: u32, seed: u64, noise: u32) -> (Schema, RecordBatch) {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut origin = Vec::with_capacity(rows);
    let mut dest = Vec::with_capacity(rows);
    let mut distance = Vec::with_capacity(rows);
    let mut gate = Vec::with_capacity(rows);
    let mut delay = Vec::with_capacity(rows);
    for _ in 0..rows {
        let o = (next() % u64::from(airports)) as u32;
        let d = (next() % u64::from(airports)) as u32;
        let o_null = next() % 97 == 0;
        let d_null = next() % 89 == 0;
        origin.push((!o_null).then(|| format!("A{o}")));
        dest.push((!d_null).then(|| format!("B{d}")));
        let key = if o_null { 7_777 } else { o } * 1_000 + if d_null { 999 } else { d };
        let mut v = i64::from(key * 13 % 4_999) - 2_000;
        if noise > 0 && next() % u64::from(noise) == 0 {
            v = (next() % 100_000) as i64 - 50_000;
        }
        distance.push(v);
        gate.push((next() % 50 != 0).then_some((if o_null { 5 } else { o * 3 + 1 }) as u16));
        delay.push((next() % 300) as i64 - 20);
    }
    let schema = Schema::new(vec![
        strata_format::Field::new("origin", strata_format::DataType::Symbol, true),
        strata_format::Field::new("dest", strata_format::DataType::Symbol, true),
        strata_format::Field::new("distance", strata_format::DataType::Int64, false),
        strata_format::Field::new("gate", strata_format::DataType::UInt16, true),
        strata_format::Field::new("delay", strata_format::DataType::Int64, false),
    ])
    .unwrap();
    let dict = |v: Vec<Option<String>>| -> ArrayRef {
        let a: DictionaryArray<Int32Type> = v.iter().map(|s| s.as_deref()).collect();
        Arc::new(a)
    };
    let batch = RecordBatch::try_new(
        Arc::new(schema.to_arrow(SymbolAs::Dictionary)),
        vec![
            dict(origin),
            dict(dest),
            Arc::new(Int64Array::from(distance)),
            Arc::new(UInt16Array::from(gate)),
            Arc::new(Int64Array::from(delay)),
        ],
    )
    .unwrap();
    (schema, batch)
}

/// The derived file of the golden set (3.5): [`derived_table`] in blocks of 2,048 rows, whose
/// `distance` and `gate` are stored against derivation tables.
pub fn derived_batch() -> (Schema, RecordBatch, BlockOptions) {
    let (schema, batch) = derived_table(6_000, 12, 5, 100);
    let options = BlockOptions {
        block_rows: 2048,
        ..BlockOptions::default()
    };
    (schema, batch, options)
}

/// A table whose integer columns decide others (format 3.6's value keys): `sched` (`Int64`,
/// a departure time `hhmm` from a timetable of `times` values, one row in 101 null) decides
/// `minute` (`Int32`, `sched % 100`; a random minute where `sched` is null) and `hour`
/// (`UInt8`, nullable, `sched / 100`); `code` (a symbol of 10 values) decides `zone`
/// (`UInt16`); `delay` depends on nothing. One row in `noise` (0: none) of `minute` is off
/// its timetable. `arrival` (`Int64`, nullable) is `planned` (`Int32`, a random `hhmm`) plus
/// `late` minutes (`Int64`, nullable), in clock arithmetic (a sum with carries, 3.6); where
/// `late` is null so is `arrival`, and one row in `noise` of it is off.
pub fn value_keyed_table(rows: usize, times: u32, seed: u64, noise: u32) -> (Schema, RecordBatch) {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let timetable: Vec<i64> = (0..times.max(1))
        .map(|i| i64::from(500 + (i * 7_919) % 1_800) / 60 * 100 + i64::from(i * 31 % 60))
        .collect();
    let (mut sched, mut code, mut minute, mut hour, mut zone, mut delay) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut planned, mut late, mut arrival) = (vec![], vec![], vec![]);
    for _ in 0..rows {
        let s = (next() % 101 != 0).then(|| timetable[(next() % timetable.len() as u64) as usize]);
        let mut m = s.map_or((next() % 60) as i32, |s| (s % 100) as i32);
        if noise > 0 && next() % u64::from(noise) == 0 {
            m = (next() % 60) as i32;
        }
        let c = (next() % 10) as u32;
        sched.push(s);
        minute.push(m);
        hour.push(s.map(|s| (s / 100) as u8));
        code.push(Some(format!("C{c}")));
        zone.push((next() % 40 != 0).then_some((c * 17 + 3) as u16));
        delay.push((next() % 500) as i64 - 60);
        let p = (next() % 24) as i32 * 100 + (next() % 60) as i32;
        let l = (next() % 37 != 0).then(|| (next() % 180) as i64 - 30);
        let mut at = l.map(|l| {
            let m = (i64::from(p / 100) * 60 + i64::from(p % 100) + l).rem_euclid(1440);
            m / 60 * 100 + m % 60
        });
        if noise > 0 && next() % u64::from(noise) == 0 {
            at = Some((next() % 2400) as i64);
        }
        planned.push(p);
        late.push(l);
        arrival.push(at);
    }
    let schema = Schema::new(vec![
        strata_format::Field::new("sched", strata_format::DataType::Int64, true),
        strata_format::Field::new("code", strata_format::DataType::Symbol, true),
        strata_format::Field::new("minute", strata_format::DataType::Int32, false),
        strata_format::Field::new("hour", strata_format::DataType::UInt8, true),
        strata_format::Field::new("zone", strata_format::DataType::UInt16, true),
        strata_format::Field::new("delay", strata_format::DataType::Int64, false),
        strata_format::Field::new("planned", strata_format::DataType::Int32, false),
        strata_format::Field::new("late", strata_format::DataType::Int64, true),
        strata_format::Field::new("arrival", strata_format::DataType::Int64, true),
    ])
    .unwrap();
    let codes: DictionaryArray<Int32Type> = code.iter().map(|s| s.as_deref()).collect();
    let batch = RecordBatch::try_new(
        Arc::new(schema.to_arrow(SymbolAs::Dictionary)),
        vec![
            Arc::new(Int64Array::from(sched)),
            Arc::new(codes),
            Arc::new(Int32Array::from(minute)),
            Arc::new(UInt8Array::from(hour)),
            Arc::new(UInt16Array::from(zone)),
            Arc::new(Int64Array::from(delay)),
            Arc::new(Int32Array::from(planned)),
            Arc::new(Int64Array::from(late)),
            Arc::new(Int64Array::from(arrival)),
        ],
    )
    .unwrap();
    (schema, batch)
}

/// The value-keyed file of the golden set (3.6): [`value_keyed_table`] in blocks of 2,048
/// rows, whose `minute` and `hour` are stored against tables keyed by `sched`'s values,
/// `zone` against one keyed by `code`, and one of `planned`, `late` and `arrival` as a sum of
/// the other two.
pub fn value_keyed_batch() -> (Schema, RecordBatch, BlockOptions) {
    let (schema, batch) = value_keyed_table(6_000, 300, 13, 150);
    let options = BlockOptions {
        block_rows: 2048,
        ..BlockOptions::default()
    };
    (schema, batch, options)
}
