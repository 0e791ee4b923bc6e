//! A `Symbol` column dictionary-encodes across batches up to its cardinality limit, then falls
//! back to plain strings without losing or replacing a value.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, DictionaryArray, RecordBatch, StringArray, types::Int32Type};
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema};
use strata_format::{DataType, Field, Schema};
use strata_memtable::{DICTIONARY_ENTRY_OVERHEAD, Memtable, MemtableOptions, SymbolEncoding};

fn memtable(limit: usize) -> Memtable {
    let schema = Schema::new(vec![Field::new("tag", DataType::Symbol, true)]).unwrap();
    let options = MemtableOptions {
        symbol_cardinality_limit: limit,
        ..MemtableOptions::default()
    };
    Memtable::new(Arc::new(schema), options).unwrap()
}

fn batch(values: &[Option<&str>]) -> RecordBatch {
    let schema = ArrowSchema::new(vec![ArrowField::new("tag", ArrowType::Utf8, true)]);
    let col: ArrayRef = Arc::new(StringArray::from(values.to_vec()));
    RecordBatch::try_new(Arc::new(schema), vec![col]).unwrap()
}

fn strings(a: &dyn Array) -> Vec<Option<String>> {
    let a = arrow_cast::cast(&a.slice(0, a.len()), &ArrowType::Utf8).unwrap();
    let a = a.as_any().downcast_ref::<StringArray>().unwrap();
    a.iter().map(|v| v.map(str::to_string)).collect()
}

#[test]
fn dictionary_is_shared_across_batches_up_to_the_limit() {
    let mut m = memtable(3);
    m.append(&batch(&[Some("a"), Some("b"), None])).unwrap();
    m.append(&batch(&[Some("b"), Some("c"), Some("a")]))
        .unwrap();
    assert_eq!(
        m.symbol_encoding("tag"),
        Some(SymbolEncoding::Dictionary { distinct: 3 })
    );
    // Six Int32 codes over two chunks, one validity byte for the first, three entries.
    let expected = 3 * 4 + 1 + 3 * 4 + 3 * (1 + DICTIONARY_ENTRY_OVERHEAD);
    assert_eq!(m.memory_bytes(), expected);

    let d = m.drain().unwrap().unwrap();
    let dict = d
        .batch
        .column(0)
        .as_any()
        .downcast_ref::<DictionaryArray<Int32Type>>()
        .unwrap();
    assert_eq!(dict.values().len(), 3, "one dictionary for both batches");
    assert_eq!(
        strings(dict),
        ["a", "b", "", "b", "c", "a"]
            .iter()
            .enumerate()
            .map(|(i, s)| (i != 2).then(|| s.to_string()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn passing_the_limit_converts_to_plain_strings_and_keeps_every_value() {
    let mut m = memtable(3);
    let first = [Some("a"), None, Some("b"), Some("a")];
    let second = [Some("c"), Some("a")];
    let third = [Some("d"), None, Some("e"), Some("c"), Some("f")];
    m.append(&batch(&first)).unwrap();
    m.append(&batch(&second)).unwrap();
    let before = m.memory_bytes();
    m.append(&batch(&third)).unwrap();
    assert_eq!(m.symbol_encoding("tag"), Some(SymbolEncoding::Plain));
    assert_ne!(m.memory_bytes(), before);
    // Once plain, later batches with new values stay plain.
    m.append(&batch(&[Some("g")])).unwrap();

    let d = m.drain().unwrap().unwrap();
    let schema = d.batch.schema();
    let field = schema.field(0);
    assert_eq!(field.data_type(), &ArrowType::Utf8);
    assert_eq!(
        field.metadata().get("strata.symbol").map(String::as_str),
        Some("true"),
        "a fallen-back column still maps back to Symbol"
    );
    let expected: Vec<Option<String>> = first
        .iter()
        .chain(&second)
        .chain(&third)
        .chain(&[Some("g")])
        .map(|v| v.map(str::to_string))
        .collect();
    assert_eq!(strings(d.batch.column(0).as_ref()), expected);

    // The fallback lasts for the memtable's life, drains included.
    assert_eq!(m.symbol_encoding("tag"), Some(SymbolEncoding::Plain));
    m.append(&batch(&[Some("a")])).unwrap();
    let d = m.drain().unwrap().unwrap();
    assert_eq!(d.batch.column(0).data_type(), &ArrowType::Utf8);
}

#[test]
fn a_single_batch_past_the_limit_falls_back_at_once() {
    let mut m = memtable(2);
    let values: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
    let refs: Vec<Option<&str>> = values.iter().map(|v| Some(v.as_str())).collect();
    m.append(&batch(&refs)).unwrap();
    assert_eq!(m.symbol_encoding("tag"), Some(SymbolEncoding::Plain));
    let d = m.drain().unwrap().unwrap();
    assert_eq!(
        strings(d.batch.column(0).as_ref()),
        values.into_iter().map(Some).collect::<Vec<_>>()
    );
}

#[test]
fn dictionary_input_is_re_encoded_into_the_memtable_dictionary() {
    let mut m = memtable(10);
    let dict: DictionaryArray<Int32Type> = vec!["x", "y", "x"].into_iter().collect();
    let schema = ArrowSchema::new(vec![ArrowField::new(
        "tag",
        dict.data_type().clone(),
        false,
    )]);
    let b = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(dict)]).unwrap();
    m.append(&batch(&[Some("y")])).unwrap();
    m.append(&b).unwrap();
    assert_eq!(
        m.symbol_encoding("tag"),
        Some(SymbolEncoding::Dictionary { distinct: 2 })
    );
    let d = m.drain().unwrap().unwrap();
    assert_eq!(
        strings(d.batch.column(0).as_ref()),
        ["y", "x", "y", "x"].map(|s| Some(s.to_string())).to_vec()
    );
}

#[test]
fn symbol_encoding_is_none_for_other_columns() {
    let m = memtable(3);
    assert_eq!(m.symbol_encoding("nope"), None);
    let schema = Schema::new(vec![Field::new("s", DataType::Utf8, true)]).unwrap();
    let m = Memtable::new(Arc::new(schema), MemtableOptions::default()).unwrap();
    assert_eq!(m.symbol_encoding("s"), None);
}
