//! One column's buffered data, and the staged change an append makes to it.
//!
//! An append first *stages* every column (all fallible work: casts, dictionary lookups, a symbol
//! fallback's conversion), then *commits* the staged changes, which cannot fail. That split is
//! what makes an append all or nothing.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, DictionaryArray, Int32Array, StringArray, make_array};
use arrow_buffer::ScalarBuffer;
use arrow_data::transform::MutableArrayData;
use arrow_select::concat::concat;
use arrow_select::take::take;

use crate::error::{MemtableError, Result};

/// Accounted bytes of one dictionary entry on top of its UTF-8 bytes: the `Arc<str>` header, the
/// hash-map slot and the vector slot that index it.
pub const DICTIONARY_ENTRY_OVERHEAD: usize = 64;

/// Bytes an array is accounted for: the bytes of its logical slice (values, offsets, validity).
pub(crate) fn accounted_bytes(column: &str, array: &dyn Array) -> Result<usize> {
    array
        .to_data()
        .get_slice_memory_size()
        .map_err(|source| MemtableError::Arrow {
            context: format!("sizing column {column:?}"),
            source,
        })
}

/// Copies `array` into fresh buffers when it is a small view of larger ones, so that what the
/// memtable accounts is what it keeps alive.
fn compacted(column: &str, array: ArrayRef, accounted: usize) -> Result<ArrayRef> {
    const SLACK: usize = 4096;
    if array.get_buffer_memory_size() <= accounted.saturating_mul(2).saturating_add(SLACK) {
        return Ok(array);
    }
    let data = array.to_data();
    let mut copy = MutableArrayData::new(vec![&data], false, data.len());
    copy.try_extend(0, 0, data.len())
        .map_err(|source| MemtableError::Arrow {
            context: format!("copying column {column:?} out of a larger buffer"),
            source,
        })?;
    Ok(make_array(copy.freeze()))
}

/// A column's buffered data.
#[derive(Debug)]
pub(crate) enum ColumnStore {
    /// Arrays already in the column's held Arrow type (see `coerce::held_type`).
    Plain { chunks: Vec<ArrayRef>, bytes: usize },
    /// A `Symbol` column still dictionary-encoded.
    Symbol(SymbolColumn),
}

/// A `Symbol` column's dictionary (value → code, shared by every batch) and code chunks.
#[derive(Debug, Default)]
pub(crate) struct SymbolColumn {
    values: Vec<Arc<str>>,
    index: HashMap<Arc<str>, i32>,
    dictionary_bytes: usize,
    chunks: Vec<Int32Array>,
    chunk_bytes: usize,
}

/// What an append will do to one column once every column has staged without error.
pub(crate) enum Staged {
    /// Push a chunk onto a plain column.
    Plain { chunk: ArrayRef, bytes: usize },
    /// Push codes onto a symbol column, after adding `new_values` to its dictionary.
    Codes {
        codes: Int32Array,
        codes_bytes: usize,
        new_values: Vec<Arc<str>>,
        new_values_bytes: usize,
    },
    /// Replace a symbol column by plain strings: what it held, converted, then the batch.
    Fallback { chunks: Vec<ArrayRef>, bytes: usize },
}

impl Staged {
    /// The column's accounted bytes once this change is committed, given its bytes `before`.
    pub(crate) fn bytes_after(&self, before: usize) -> usize {
        match self {
            Staged::Plain { bytes, .. } => before.saturating_add(*bytes),
            Staged::Codes {
                codes_bytes,
                new_values_bytes,
                ..
            } => before
                .saturating_add(*codes_bytes)
                .saturating_add(*new_values_bytes),
            Staged::Fallback { bytes, .. } => *bytes,
        }
    }
}

impl ColumnStore {
    pub(crate) fn new_plain() -> Self {
        ColumnStore::Plain {
            chunks: Vec::new(),
            bytes: 0,
        }
    }

    pub(crate) fn new_symbol() -> Self {
        ColumnStore::Symbol(SymbolColumn::default())
    }

    /// An empty store of the same kind (a column that fell back stays plain).
    pub(crate) fn emptied(&self) -> Self {
        match self {
            ColumnStore::Plain { .. } => Self::new_plain(),
            ColumnStore::Symbol(_) => Self::new_symbol(),
        }
    }

    /// Accounted bytes held.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            ColumnStore::Plain { bytes, .. } => *bytes,
            ColumnStore::Symbol(s) => s.dictionary_bytes.saturating_add(s.chunk_bytes),
        }
    }

    /// Distinct values in the dictionary, or `None` for a plain column.
    pub(crate) fn cardinality(&self) -> Option<usize> {
        match self {
            ColumnStore::Plain { .. } => None,
            ColumnStore::Symbol(s) => Some(s.values.len()),
        }
    }

    /// Stages `array` (already in the held type) without changing `self`.
    pub(crate) fn stage(
        &self,
        column: &str,
        array: ArrayRef,
        cardinality_limit: usize,
    ) -> Result<Staged> {
        match self {
            ColumnStore::Plain { .. } => {
                let bytes = accounted_bytes(column, array.as_ref())?;
                Ok(Staged::Plain {
                    chunk: compacted(column, array, bytes)?,
                    bytes,
                })
            }
            ColumnStore::Symbol(s) => s.stage(column, array, cardinality_limit),
        }
    }

    /// Applies a staged change. Cannot fail.
    pub(crate) fn commit(&mut self, staged: Staged) {
        match (&mut *self, staged) {
            (ColumnStore::Plain { chunks, bytes }, Staged::Plain { chunk, bytes: b }) => {
                chunks.push(chunk);
                *bytes = bytes.saturating_add(b);
            }
            (
                ColumnStore::Symbol(s),
                Staged::Codes {
                    codes,
                    codes_bytes,
                    new_values,
                    new_values_bytes,
                },
            ) => {
                for v in new_values {
                    // Codes were assigned in this order when staging, so they fit in i32.
                    let code = i32::try_from(s.values.len()).unwrap_or(i32::MAX);
                    s.index.insert(v.clone(), code);
                    s.values.push(v);
                }
                s.dictionary_bytes = s.dictionary_bytes.saturating_add(new_values_bytes);
                s.chunks.push(codes);
                s.chunk_bytes = s.chunk_bytes.saturating_add(codes_bytes);
            }
            (_, Staged::Fallback { chunks, bytes }) => {
                *self = ColumnStore::Plain { chunks, bytes };
            }
            // Staging is done against the same store it is committed to, so kinds always agree.
            (ColumnStore::Plain { .. }, Staged::Codes { .. })
            | (ColumnStore::Symbol(_), Staged::Plain { .. }) => {}
        }
    }

    /// A copy that shares the held arrays (reference counts only; the dictionary's value list
    /// is copied as shared strings). It can be read but never appended to.
    pub(crate) fn shared_copy(&self) -> ColumnStore {
        match self {
            ColumnStore::Plain { chunks, bytes } => ColumnStore::Plain {
                chunks: chunks.clone(),
                bytes: *bytes,
            },
            ColumnStore::Symbol(s) => ColumnStore::Symbol(SymbolColumn {
                values: s.values.clone(),
                index: HashMap::new(),
                dictionary_bytes: s.dictionary_bytes,
                chunks: s.chunks.clone(),
                chunk_bytes: s.chunk_bytes,
            }),
        }
    }

    /// Concatenates what is held with symbols as plain strings (`Utf8`). `None` when nothing
    /// is held.
    pub(crate) fn concatenated_plain(&self, column: &str) -> Result<Option<ArrayRef>> {
        let ColumnStore::Symbol(s) = self else {
            return self.concatenated(column);
        };
        if s.chunks.is_empty() {
            return Ok(None);
        }
        let arrow = |source| MemtableError::Arrow {
            context: format!("concatenating column {column:?}"),
            source,
        };
        let refs: Vec<&dyn Array> = s.chunks.iter().map(|c| c as &dyn Array).collect();
        let codes = concat(&refs).map_err(arrow)?;
        take(&s.values_array(), codes.as_ref(), None)
            .map(Some)
            .map_err(arrow)
    }

    /// Concatenates what is held: plain chunks as they are, symbols as `Dictionary<Int32, Utf8>`.
    /// `None` when nothing is held.
    pub(crate) fn concatenated(&self, column: &str) -> Result<Option<ArrayRef>> {
        let context = || format!("concatenating column {column:?}");
        match self {
            ColumnStore::Plain { chunks, .. } => {
                if chunks.is_empty() {
                    return Ok(None);
                }
                let refs: Vec<&dyn Array> = chunks.iter().map(|c| c.as_ref()).collect();
                concat(&refs)
                    .map(Some)
                    .map_err(|source| MemtableError::Arrow {
                        context: context(),
                        source,
                    })
            }
            ColumnStore::Symbol(s) => {
                if s.chunks.is_empty() {
                    return Ok(None);
                }
                let refs: Vec<&dyn Array> = s.chunks.iter().map(|c| c as &dyn Array).collect();
                let codes = concat(&refs).map_err(|source| MemtableError::Arrow {
                    context: context(),
                    source,
                })?;
                let codes = codes
                    .as_any()
                    .downcast_ref::<Int32Array>()
                    .cloned()
                    .unwrap_or_else(|| Int32Array::from(Vec::<i32>::new()));
                let dict = DictionaryArray::try_new(codes, Arc::new(s.values_array())).map_err(
                    |source| MemtableError::Arrow {
                        context: context(),
                        source,
                    },
                )?;
                Ok(Some(Arc::new(dict)))
            }
        }
    }
}

impl SymbolColumn {
    fn values_array(&self) -> StringArray {
        StringArray::from_iter_values(self.values.iter().map(|v| &**v))
    }

    fn stage(&self, column: &str, array: ArrayRef, cardinality_limit: usize) -> Result<Staged> {
        let Some(strings) = array.as_any().downcast_ref::<StringArray>() else {
            return Err(MemtableError::SchemaMismatch {
                column: column.to_string(),
                expected: "Utf8 after coercion".to_string(),
                found: array.data_type().to_string(),
            });
        };
        // Codes are i32, so no dictionary grows past i32::MAX entries whatever the limit says.
        let limit = cardinality_limit.min(i32::MAX as usize);
        let mut new_index: HashMap<&str, i32> = HashMap::new();
        let mut new_values: Vec<&str> = Vec::new();
        let mut codes: Vec<i32> = Vec::with_capacity(strings.len());
        for i in 0..strings.len() {
            if strings.is_null(i) {
                codes.push(0);
                continue;
            }
            let v = strings.value(i);
            let code = match self.index.get(v).or_else(|| new_index.get(v)) {
                Some(&code) => code,
                None => {
                    let next = self.values.len() + new_values.len();
                    if next >= limit {
                        return self.stage_fallback(column, array);
                    }
                    let code = i32::try_from(next).unwrap_or(i32::MAX);
                    new_index.insert(v, code);
                    new_values.push(v);
                    code
                }
            };
            codes.push(code);
        }
        let codes = Int32Array::new(ScalarBuffer::from(codes), strings.nulls().cloned());
        let codes_bytes = accounted_bytes(column, &codes)?;
        let new_values_bytes = new_values
            .iter()
            .map(|v| v.len() + DICTIONARY_ENTRY_OVERHEAD)
            .sum();
        Ok(Staged::Codes {
            codes,
            codes_bytes,
            new_values: new_values.into_iter().map(Arc::from).collect(),
            new_values_bytes,
        })
    }

    /// Converts every held chunk to plain strings and appends the batch's strings after them.
    fn stage_fallback(&self, column: &str, incoming: ArrayRef) -> Result<Staged> {
        let values = self.values_array();
        let mut chunks = Vec::with_capacity(self.chunks.len() + 1);
        let mut bytes = 0usize;
        for codes in &self.chunks {
            let strings = take(&values, codes, None).map_err(|source| MemtableError::Arrow {
                context: format!("converting symbol column {column:?} to plain strings"),
                source,
            })?;
            bytes = bytes.saturating_add(accounted_bytes(column, strings.as_ref())?);
            chunks.push(strings);
        }
        let incoming_bytes = accounted_bytes(column, incoming.as_ref())?;
        bytes = bytes.saturating_add(incoming_bytes);
        chunks.push(compacted(column, incoming, incoming_bytes)?);
        Ok(Staged::Fallback { chunks, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Int64Array;

    #[test]
    fn a_small_view_of_a_large_buffer_is_copied() {
        let big: ArrayRef = Arc::new(Int64Array::from_iter_values(0..100_000));
        let store = ColumnStore::new_plain();
        let Staged::Plain { chunk, bytes } = store.stage("c", big.slice(10, 5), 0).unwrap() else {
            panic!("plain column stages plain chunks");
        };
        assert_eq!(bytes, 40);
        assert!(chunk.get_buffer_memory_size() < 1024);
        assert_eq!(chunk.as_ref(), big.slice(10, 5).as_ref());
    }

    #[test]
    fn a_whole_array_is_kept_as_is() {
        let a: ArrayRef = Arc::new(Int64Array::from_iter_values(0..1000));
        let Staged::Plain { chunk, .. } =
            ColumnStore::new_plain().stage("c", a.clone(), 0).unwrap()
        else {
            panic!("plain column stages plain chunks");
        };
        assert_eq!(
            chunk.to_data().buffers()[0].as_ptr(),
            a.to_data().buffers()[0].as_ptr()
        );
    }

    #[test]
    fn staging_symbols_does_not_touch_the_dictionary() {
        let mut store = ColumnStore::new_symbol();
        let a: ArrayRef = Arc::new(StringArray::from(vec![
            Some("x"),
            None,
            Some("y"),
            Some("x"),
        ]));
        let staged = store.stage("c", a.clone(), 10).unwrap();
        assert_eq!(store.cardinality(), Some(0));
        assert_eq!(store.bytes(), 0);
        let after = staged.bytes_after(store.bytes());
        store.commit(staged);
        assert_eq!(store.cardinality(), Some(2));
        assert_eq!(store.bytes(), after);
        // Known values reuse their codes; nothing new is added.
        let staged = store.stage("c", a, 10).unwrap();
        let Staged::Codes {
            new_values, codes, ..
        } = &staged
        else {
            panic!("under the limit a symbol column stages codes");
        };
        assert!(new_values.is_empty());
        assert_eq!(codes.values(), &[0, 0, 1, 0]);
    }

    #[test]
    fn limit_zero_falls_back_on_the_first_value_but_not_on_nulls() {
        let store = ColumnStore::new_symbol();
        let nulls: ArrayRef = Arc::new(StringArray::from(vec![None::<&str>, None]));
        assert!(matches!(
            store.stage("c", nulls, 0).unwrap(),
            Staged::Codes { .. }
        ));
        let one: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        assert!(matches!(
            store.stage("c", one, 0).unwrap(),
            Staged::Fallback { .. }
        ));
    }
}
