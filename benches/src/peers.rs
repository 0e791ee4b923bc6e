//! The codecs under comparison, behind one shape: encode a whole column to an artifact, report
//! its size, decode it back.
//!
//! * Strata: [`strata_codec`] in blocks of [`strata_block`] values, as the segment format uses it.
//! * pco: `pco::standalone` on the whole column at the default compression level.
//! * Parquet: the `parquet` crate's `ArrowWriter` writing one non-null column to memory
//!   (default writer settings apart from the compression), read back with
//!   `ParquetRecordBatchReaderBuilder` (default reader settings).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use strata_codec::{Cascade, EncodeOptions};

use crate::{BenchError, Result};

/// Values per Strata block in the codec suite: the format's default block
/// ([`strata_format::block::DEFAULT_BLOCK_ROWS`]), so the suite measures what a table writes.
/// `STRATA_BENCH_BLOCK` in the environment overrides it for [`strata_encode`] (a block-size
/// sweep); the decode kernels keep it.
pub const STRATA_BLOCK: usize = strata_format::block::DEFAULT_BLOCK_ROWS;

/// Values per block [`strata_encode`] uses: `STRATA_BENCH_BLOCK`, else [`STRATA_BLOCK`].
pub fn strata_block() -> usize {
    std::env::var("STRATA_BENCH_BLOCK")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&b: &usize| b > 0)
        .unwrap_or(STRATA_BLOCK)
}

/// Zstd level used for the Parquet+zstd peer.
pub const PARQUET_ZSTD_LEVEL: i32 = 3;

/// A value type every codec here can encode: f64 or i64.
pub trait BenchValue: pco::data_types::Number + Copy + Send + Sync + 'static {
    /// Arrow type of the Parquet column.
    const ARROW_TYPE: DataType;
    /// Strata encode of one block.
    fn strata_encode(block: &[Self], opts: &EncodeOptions) -> Result<strata_codec::Encoded>;
    /// Strata decode of one block.
    fn strata_decode(buf: &[u8]) -> Result<Vec<Self>>;
    /// An Arrow array holding `values`.
    fn to_arrow(values: &[Self]) -> ArrayRef;
    /// Appends the values of an Arrow array of [`Self::ARROW_TYPE`] to `out`.
    fn extend_from_arrow(array: &dyn Array, out: &mut Vec<Self>) -> Result<()>;
    /// The value's bits, for bit-exact comparison (NaN payloads included).
    fn to_bits(self) -> u64;
}

impl BenchValue for f64 {
    const ARROW_TYPE: DataType = DataType::Float64;
    fn strata_encode(block: &[Self], opts: &EncodeOptions) -> Result<strata_codec::Encoded> {
        Ok(strata_codec::encode_f64(block, opts)?)
    }
    fn strata_decode(buf: &[u8]) -> Result<Vec<Self>> {
        Ok(strata_codec::decode_f64(buf)?)
    }
    fn to_arrow(values: &[Self]) -> ArrayRef {
        Arc::new(Float64Array::from(values.to_vec()))
    }
    fn extend_from_arrow(array: &dyn Array, out: &mut Vec<Self>) -> Result<()> {
        let a = array.as_primitive_opt::<Float64Type>().ok_or_else(|| {
            BenchError::Usage(format!("expected Float64, got {}", array.data_type()))
        })?;
        out.extend_from_slice(a.values());
        Ok(())
    }
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
}

impl BenchValue for i64 {
    const ARROW_TYPE: DataType = DataType::Int64;
    fn strata_encode(block: &[Self], opts: &EncodeOptions) -> Result<strata_codec::Encoded> {
        Ok(strata_codec::encode_i64(block, opts)?)
    }
    fn strata_decode(buf: &[u8]) -> Result<Vec<Self>> {
        Ok(strata_codec::decode_i64(buf)?)
    }
    fn to_arrow(values: &[Self]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }
    fn extend_from_arrow(array: &dyn Array, out: &mut Vec<Self>) -> Result<()> {
        let a = array.as_primitive_opt::<Int64Type>().ok_or_else(|| {
            BenchError::Usage(format!("expected Int64, got {}", array.data_type()))
        })?;
        out.extend_from_slice(a.values());
        Ok(())
    }
    fn to_bits(self) -> u64 {
        self as u64
    }
}

/// A column encoded by Strata: one buffer per block, and each block's cascade.
#[derive(Debug, Clone)]
pub struct StrataColumn {
    /// Encoded blocks, in order.
    pub blocks: Vec<Vec<u8>>,
    /// The cascade chosen for each block.
    pub cascades: Vec<Cascade>,
}

impl StrataColumn {
    /// Total encoded bytes over all blocks.
    pub fn size(&self) -> usize {
        self.blocks.iter().map(Vec::len).sum()
    }
}

/// Encodes `values` with Strata in blocks of [`strata_block`] values.
pub fn strata_encode<T: BenchValue>(values: &[T], opts: &EncodeOptions) -> Result<StrataColumn> {
    let block = strata_block();
    let n_blocks = values.len().div_ceil(block);
    let mut col = StrataColumn {
        blocks: Vec::with_capacity(n_blocks),
        cascades: Vec::with_capacity(n_blocks),
    };
    for block in values.chunks(block) {
        let enc = T::strata_encode(block, opts)?;
        col.blocks.push(enc.bytes);
        col.cascades.push(enc.cascade);
    }
    Ok(col)
}

/// Decodes every block of a Strata column into one vector.
pub fn strata_decode<T: BenchValue>(col: &StrataColumn, n: usize) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(n);
    for block in &col.blocks {
        out.extend(T::strata_decode(block)?);
    }
    Ok(out)
}

/// Compresses the whole column with pco at its default level.
pub fn pco_encode<T: BenchValue>(values: &[T]) -> Result<Vec<u8>> {
    let config = pco::ChunkConfig::default().with_compression_level(pco::DEFAULT_COMPRESSION_LEVEL);
    pco::standalone::simple_compress(values, &config).map_err(|e| BenchError::Pco(e.to_string()))
}

/// Decompresses a pco buffer.
pub fn pco_decode<T: BenchValue>(buf: &[u8]) -> Result<Vec<T>> {
    pco::standalone::simple_decompress(buf).map_err(|e| BenchError::Pco(e.to_string()))
}

/// Parquet compression of a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParquetCodec {
    /// Zstd at [`PARQUET_ZSTD_LEVEL`].
    Zstd,
    /// Snappy.
    Snappy,
}

/// Writes `values` as a one-column Parquet file in memory; the whole file is the artifact.
pub fn parquet_encode<T: BenchValue>(values: &[T], codec: ParquetCodec) -> Result<Bytes> {
    let compression = match codec {
        ParquetCodec::Zstd => Compression::ZSTD(ZstdLevel::try_new(PARQUET_ZSTD_LEVEL)?),
        ParquetCodec::Snappy => Compression::SNAPPY,
    };
    let schema = Arc::new(Schema::new(vec![Field::new("v", T::ARROW_TYPE, false)]));
    let batch = RecordBatch::try_new(schema.clone(), vec![T::to_arrow(values)])?;
    let props = WriterProperties::builder()
        .set_compression(compression)
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), schema, Some(props))?;
    writer.write(&batch)?;
    Ok(Bytes::from(writer.into_inner()?))
}

/// Reads a one-column Parquet file back into a vector.
pub fn parquet_decode<T: BenchValue>(file: &Bytes, n: usize) -> Result<Vec<T>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(file.clone())?.build()?;
    let mut out = Vec::with_capacity(n);
    for batch in reader {
        let batch = batch?;
        T::extend_from_arrow(batch.column(0).as_ref(), &mut out)?;
    }
    Ok(out)
}

/// Checks that `got` equals `want` bit for bit.
pub fn verify<T: BenchValue>(codec: &str, want: &[T], got: &[T]) -> Result<()> {
    if want.len() != got.len() {
        return Err(BenchError::Mismatch {
            codec: codec.to_string(),
            detail: format!("{} values in, {} out", want.len(), got.len()),
        });
    }
    if let Some(i) = want
        .iter()
        .zip(got)
        .position(|(a, b)| a.to_bits() != b.to_bits())
    {
        return Err(BenchError::Mismatch {
            codec: codec.to_string(),
            detail: format!("value {i}: {} in, {} out", want[i], got[i]),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats() -> Vec<f64> {
        (0..5000)
            .map(|i| f64::from(i % 97) * 0.1)
            .chain([f64::NAN, -0.0])
            .collect()
    }

    #[test]
    fn every_codec_round_trips_floats_bit_exactly() {
        let v = floats();
        let opts = EncodeOptions::default();
        let s = strata_encode(&v, &opts).unwrap();
        assert_eq!(s.blocks.len(), v.len().div_ceil(strata_block()));
        verify("strata", &v, &strata_decode(&s, v.len()).unwrap()).unwrap();
        verify("pco", &v, &pco_decode(&pco_encode(&v).unwrap()).unwrap()).unwrap();
        for c in [ParquetCodec::Zstd, ParquetCodec::Snappy] {
            let file = parquet_encode(&v, c).unwrap();
            verify("parquet", &v, &parquet_decode(&file, v.len()).unwrap()).unwrap();
        }
    }

    #[test]
    fn every_codec_round_trips_ints() {
        let v: Vec<i64> = (0..3000).map(|i| i * i - 7).collect();
        let s = strata_encode(&v, &EncodeOptions::default()).unwrap();
        verify("strata", &v, &strata_decode(&s, v.len()).unwrap()).unwrap();
        verify("pco", &v, &pco_decode(&pco_encode(&v).unwrap()).unwrap()).unwrap();
        let file = parquet_encode(&v, ParquetCodec::Zstd).unwrap();
        verify("parquet", &v, &parquet_decode(&file, v.len()).unwrap()).unwrap();
    }

    #[test]
    fn verify_reports_first_differing_value() {
        let err = verify("x", &[1.0, 2.0, 3.0], &[1.0, 2.5, 3.0]).unwrap_err();
        assert!(err.to_string().contains("value 1"), "{err}");
        let nan_bits = verify("x", &[f64::NAN], &[-f64::NAN]).unwrap_err();
        assert!(nan_bits.to_string().contains("value 0"), "{nan_bits}");
    }
}
