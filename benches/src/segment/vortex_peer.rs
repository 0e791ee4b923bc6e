//! Vortex as a peer of the segment suite (cargo feature `vortex`, off by default: the `vortex`
//! crate adds about a hundred crates to the build, and building it needs libclang).
//!
//! Vortex is used as its documentation shows, with its defaults:
//!
//! * **Write:** `write_options()` of a default `VortexSession` (the default write strategy and its
//!   BtrBlocks compressor), the table's Arrow schema and batches imported as they are
//!   (`from_arrow_schema`, `from_arrow_record_batch`), pushed batch by batch into a file behind a
//!   `BufWriter`, then the writer finished, the buffer flushed and the file fsynced (as Parquet's).
//! * **Read:** `open_options().open_path`, then a full `scan()` turned into Arrow record batches
//!   by `into_record_batch_reader`, with the Arrow schema Vortex maps the file's type to
//!   (`to_arrow_schema`): strings come back as `Utf8View`, so the check casts each column to the
//!   input's type before comparing values, as it does for Strata's dictionaries.
//!
//! Both run on a `SingleThreadRuntime`: every task, CPU work and blocking file read included,
//! runs on the calling thread, so the read is a one-thread read like Strata's and Parquet's.
//! (Vortex has no default runtime; its `CurrentThreadRuntime` would send file reads to a pool
//! of blocking threads.)

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use vortex::VortexSessionDefault as _;
use vortex::arrow::ArrowSessionExt as _;
use vortex::file::{OpenOptionsSessionExt as _, WriteOptionsSessionExt as _};
use vortex::io::runtime::BlockingRuntime as _;
use vortex::io::runtime::single::SingleThreadRuntime;
use vortex::io::session::RuntimeSessionExt as _;
use vortex::session::VortexSession;

use super::tables::Table;
use super::{FormatFigures, VortexComparison, rows_per_s, verify};
use crate::measure::Op;
use crate::{BenchError, Result};

/// The `vortex` crate's version, as Cargo.toml asks for it.
pub const VORTEX_VERSION: &str = "0.90";

/// How Vortex is run, for the report.
pub const RUNTIME: &str = "SingleThreadRuntime (one thread)";

/// The file's name in the suite's temporary directory.
const FILE_NAME: &str = "table.vortex";

/// Buffer between the Vortex writer and the file (the writer flushes each buffer it makes).
const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// A default Vortex session driven by a single-threaded runtime, for one table.
pub struct VortexPeer {
    runtime: SingleThreadRuntime,
    session: VortexSession,
}

impl std::fmt::Debug for VortexPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VortexPeer").finish_non_exhaustive()
    }
}

impl Default for VortexPeer {
    fn default() -> Self {
        Self::new()
    }
}

impl VortexPeer {
    /// `VortexSession::default()` with its runtime handle set to a new single-threaded runtime.
    pub fn new() -> Self {
        let runtime = SingleThreadRuntime::default();
        let session = VortexSession::default().with_handle(runtime.handle());
        Self { runtime, session }
    }

    /// Writes `batches` (of `schema`) to a new Vortex file at `path`, fsynced; returns its bytes.
    pub fn write(&self, path: &Path, schema: &Schema, batches: &[RecordBatch]) -> Result<u64> {
        if path.exists() {
            std::fs::remove_file(path).map_err(|e| BenchError::io(path, e))?;
        }
        let dtype = self.session.arrow().from_arrow_schema(schema)?;
        let mut file = File::create(path).map_err(|e| BenchError::io(path, e))?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER_BYTES, &mut file);
        let mut writer = self
            .session
            .write_options()
            .blocking(&self.runtime)
            .writer(&mut out, dtype);
        for batch in batches {
            let array = self
                .session
                .arrow()
                .from_arrow_record_batch(batch.clone(), schema)?;
            writer.push(array)?;
        }
        let summary = writer.finish()?;
        out.flush().map_err(|e| BenchError::io(path, e))?;
        drop(out);
        file.sync_all().map_err(|e| BenchError::io(path, e))?;
        Ok(summary.size())
    }

    /// Reads the whole file at `path` into Arrow record batches, in the Arrow types Vortex
    /// chooses for the file's columns.
    pub fn read(&self, path: &Path) -> Result<Vec<RecordBatch>> {
        let file = self
            .runtime
            .block_on(self.session.open_options().open_path(path))?;
        let schema: SchemaRef = Arc::new(self.session.arrow().to_arrow_schema(file.dtype())?);
        let reader = file
            .scan()?
            .into_record_batch_reader(schema, &self.runtime)?;
        Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
    }
}

/// One table's Vortex file in the suite's temporary directory: written and checked once, then
/// timed beside the other formats.
#[derive(Debug)]
pub struct VortexRun {
    peer: VortexPeer,
    path: PathBuf,
    bytes: u64,
    changed_read_types: Vec<String>,
}

impl VortexRun {
    /// Writes `table` to `dir/table.vortex` and checks that reading it back gives the input.
    pub fn prepare(dir: &Path, table: &Table) -> Result<Self> {
        let peer = VortexPeer::new();
        let path = dir.join(FILE_NAME);
        let bytes = peer.write(&path, &table.schema, &table.batches)?;
        let got = peer.read(&path)?;
        verify("vortex", table, &got)?;
        let changed_read_types = got
            .first()
            .map_or_else(Vec::new, |b| changed_types(&table.schema, &b.schema()));
        Ok(Self {
            peer,
            path,
            bytes,
            changed_read_types,
        })
    }

    /// The timed operations: the write, then the full read.
    pub fn ops<'a>(&'a self, table: &'a Table) -> [Op<'a>; 2] {
        [
            Box::new(move || {
                self.peer
                    .write(&self.path, &table.schema, &table.batches)
                    .map(drop)
            }),
            Box::new(move || self.peer.read(&self.path).map(drop)),
        ]
    }

    /// The figures, from the medians of [`Self::ops`] (`write_secs`, `read_secs`), against the
    /// Strata segment's and Parquet+zstd's of the same runs.
    pub fn comparison(
        &self,
        rows: usize,
        write_secs: Option<&f64>,
        read_secs: Option<&f64>,
        strata: &FormatFigures,
        parquet_zstd: &FormatFigures,
    ) -> VortexComparison {
        let vortex = FormatFigures {
            bytes: self.bytes,
            write_rows_s: rows_per_s(rows, write_secs),
            read_rows_s: rows_per_s(rows, read_secs),
        };
        VortexComparison {
            version: VORTEX_VERSION.to_string(),
            runtime: RUNTIME.to_string(),
            size_strata_vs_vortex: strata.bytes as f64 / vortex.bytes as f64,
            size_vs_parquet_zstd: vortex.bytes as f64 / parquet_zstd.bytes as f64,
            write_strata_vs_vortex: strata.write_rows_s / vortex.write_rows_s,
            write_vs_parquet_zstd: vortex.write_rows_s / parquet_zstd.write_rows_s,
            read_strata_vs_vortex: strata.read_rows_s / vortex.read_rows_s,
            read_vs_parquet_zstd: vortex.read_rows_s / parquet_zstd.read_rows_s,
            changed_read_types: self.changed_read_types.clone(),
            vortex,
        }
    }
}

/// `name: type` for each column whose Arrow type in `got` is not the one in `want`.
fn changed_types(want: &Schema, got: &Schema) -> Vec<String> {
    want.fields()
        .iter()
        .zip(got.fields())
        .filter(|(w, g)| w.data_type() != g.data_type())
        .map(|(w, g)| format!("{}: {} → {}", w.name(), w.data_type(), g.data_type()))
        .collect()
}

#[cfg(test)]
mod tests {
    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use arrow_schema::{DataType, Field};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("x", DataType::Float64, true),
        ]));
        let n = 5000;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(0..n)),
            Arc::new(StringArray::from_iter(
                (0..n).map(|i| (i % 7 != 0).then(|| format!("s{}", i % 13))),
            )),
            Arc::new(Float64Array::from_iter(
                (0..n).map(|i| (i % 5 != 0).then_some(i as f64 * 0.25)),
            )),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    #[test]
    fn vortex_file_reads_back_the_written_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let peer = VortexPeer::new();
        let input = batch();
        let bytes = peer
            .write(&path, &input.schema(), &[input.clone(), input.clone()])
            .unwrap();
        assert_eq!(bytes, std::fs::metadata(&path).unwrap().len());
        let got = peer.read(&path).unwrap();
        let got = arrow_select::concat::concat_batches(&got[0].schema(), &got).unwrap();
        assert_eq!(got.num_rows(), 2 * input.num_rows());
        for (i, field) in input.schema().fields().iter().enumerate() {
            let col = arrow_cast::cast(got.column(i), field.data_type()).unwrap();
            assert_eq!(
                col.slice(0, input.num_rows()).as_ref(),
                input.column(i).as_ref()
            );
        }
    }

    #[test]
    fn changed_types_names_only_columns_of_another_type() {
        let want = Schema::new(vec![
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Int64, false),
        ]);
        let got = Schema::new(vec![
            Field::new("a", DataType::Utf8View, true),
            Field::new("b", DataType::Int64, false),
        ]);
        assert_eq!(changed_types(&want, &got), ["a: Utf8 → Utf8View"]);
    }
}
