//! Durability of `SegmentWriter`: a filesystem that fails its k-th operation, for every k of a
//! full write, never leaves `<name>.tmp` or `<name>` behind; a dropped or aborted writer leaves no
//! temporary file; `<name>` appears only with the rename, after the data is fsynced.

use crate::support;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use strata_format::{
    BlockOptions, DataType, Field, FileSystem, FormatError, MemFs, ReadAt, Schema, Segment,
    SymbolAs, WritableFile,
};
use strata_writer::{SegmentWriter, WriterError, WriterOptions};

const DIR: &str = "/segments";
const NAME: &str = "seg-7.strata";

/// One filesystem operation as the wrapper saw it.
#[derive(Debug, Clone)]
struct Op {
    what: String,
    /// Whether `<name>` existed when the operation started.
    target_existed: bool,
}

#[derive(Debug)]
struct State {
    inner: MemFs,
    /// 1-based number of the operation to fail (once); 0 for none.
    fail_at: usize,
    count: AtomicUsize,
    log: Mutex<Vec<Op>>,
}

impl State {
    fn tick(&self, what: String, path: &Path) -> strata_format::Result<()> {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        let target_existed = self.inner.exists(&target()).unwrap();
        self.log.lock().unwrap().push(Op {
            what,
            target_existed,
        });
        if n == self.fail_at {
            return Err(FormatError::io(
                path,
                std::io::Error::other(format!("injected failure of operation {n}")),
            ));
        }
        Ok(())
    }
}

/// A [`MemFs`] whose k-th operation (file writes and syncs included) fails.
#[derive(Debug, Clone)]
struct FailingFs(Arc<State>);

impl FailingFs {
    fn new(fail_at: usize) -> Self {
        Self(Arc::new(State {
            inner: MemFs::new(),
            fail_at,
            count: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        }))
    }
    fn ops(&self) -> Vec<Op> {
        self.0.log.lock().unwrap().clone()
    }
    fn entries(&self) -> Vec<PathBuf> {
        self.0.inner.list_dir(Path::new(DIR)).unwrap()
    }
}

#[derive(Debug)]
struct FailingFile {
    path: PathBuf,
    inner: Box<dyn WritableFile>,
    state: Arc<State>,
}

impl WritableFile for FailingFile {
    fn write_all(&mut self, buf: &[u8]) -> strata_format::Result<()> {
        self.state
            .tick(format!("write {}", name_of(&self.path)), &self.path)?;
        self.inner.write_all(buf)
    }
    fn sync(&mut self) -> strata_format::Result<()> {
        self.state
            .tick(format!("sync {}", name_of(&self.path)), &self.path)?;
        self.inner.sync()
    }
    fn flush(&mut self) -> strata_format::Result<()> {
        self.state
            .tick(format!("flush {}", name_of(&self.path)), &self.path)?;
        self.inner.flush()
    }
}

fn name_of(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

impl FileSystem for FailingFs {
    fn open_read(&self, p: &Path) -> strata_format::Result<Arc<dyn ReadAt>> {
        self.0.tick(format!("open_read {}", name_of(p)), p)?;
        self.0.inner.open_read(p)
    }
    fn create(&self, p: &Path) -> strata_format::Result<Box<dyn WritableFile>> {
        self.0.tick(format!("create {}", name_of(p)), p)?;
        Ok(Box::new(FailingFile {
            path: p.to_path_buf(),
            inner: self.0.inner.create(p)?,
            state: Arc::clone(&self.0),
        }))
    }
    fn rename(&self, a: &Path, b: &Path) -> strata_format::Result<()> {
        self.0
            .tick(format!("rename {} {}", name_of(a), name_of(b)), a)?;
        self.0.inner.rename(a, b)
    }
    fn remove_file(&self, p: &Path) -> strata_format::Result<()> {
        self.0.tick(format!("remove {}", name_of(p)), p)?;
        self.0.inner.remove_file(p)
    }
    fn sync_dir(&self, p: &Path) -> strata_format::Result<()> {
        self.0.tick("sync_dir".to_string(), p)?;
        self.0.inner.sync_dir(p)
    }
    fn create_dir_all(&self, p: &Path) -> strata_format::Result<()> {
        self.0.tick("create_dir_all".to_string(), p)?;
        self.0.inner.create_dir_all(p)
    }
    fn list_dir(&self, p: &Path) -> strata_format::Result<Vec<PathBuf>> {
        self.0.tick("list_dir".to_string(), p)?;
        self.0.inner.list_dir(p)
    }
    fn exists(&self, p: &Path) -> strata_format::Result<bool> {
        self.0.tick(format!("exists {}", name_of(p)), p)?;
        self.0.inner.exists(p)
    }
}

fn target() -> PathBuf {
    Path::new(DIR).join(NAME)
}

fn temp() -> PathBuf {
    Path::new(DIR).join(format!("{NAME}.tmp"))
}

fn schema() -> Schema {
    Schema::new(vec![
        Field::new("ts", DataType::Int64, false),
        Field::new("host", DataType::Symbol, true),
        Field::new("v", DataType::Float64, true),
    ])
    .unwrap()
    .with_sort_key(["ts"])
    .unwrap()
}

fn batch(start: i64, rows: i64) -> RecordBatch {
    let ts: ArrayRef = Arc::new(Int64Array::from_iter_values(start..start + rows));
    let host: ArrayRef =
        Arc::new(StringArray::from_iter((start..start + rows).map(|i| {
            (i % 5 != 0).then(|| ["a", "b", "c"][(i % 3) as usize])
        })));
    let v: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (start..start + rows).map(|i| i as f64 * 0.5),
    ));
    RecordBatch::try_new(
        Arc::new(schema().to_arrow(SymbolAs::Utf8)),
        vec![ts, host, v],
    )
    .unwrap()
}

fn options() -> WriterOptions {
    WriterOptions {
        block: BlockOptions {
            block_rows: 100,
            ..BlockOptions::default()
        },
        ..WriterOptions::default()
    }
}

/// Options under which the block index outgrows its memory budget every few blocks and goes to
/// the side file.
fn spilling_options() -> WriterOptions {
    WriterOptions {
        index_memory: 100,
        ..options()
    }
}

/// Creates, writes three batches and finishes; the first error is returned after the writer
/// (if any) has been dropped, as a caller would.
fn write_segment(fs: &FailingFs, opts: WriterOptions) -> Result<(), WriterError> {
    let fs_dyn: Arc<dyn FileSystem> = Arc::new(fs.clone());
    let mut w = SegmentWriter::create(fs_dyn, Path::new(DIR), NAME, schema(), opts)?;
    for b in [batch(0, 250), batch(250, 250), batch(500, 120)] {
        w.write_batch(&b)?;
    }
    w.finish().map(|_| ())
}

#[test]
fn writer_failure_at_any_operation_leaves_no_segment_or_temp() {
    for (what, opts) in [
        ("index in memory", options()),
        ("index spilled", spilling_options()),
    ] {
        let clean = FailingFs::new(0);
        write_segment(&clean, opts).unwrap();
        let total = clean.ops().len();
        assert!(total > 10, "a full write takes more than 10 operations");
        assert_eq!(clean.entries(), vec![target()]);
        let spills = clean
            .ops()
            .iter()
            .filter(|o| o.what == format!("write {NAME}.idx.tmp"))
            .count();
        if what == "index spilled" {
            assert!(spills > 2, "{what}: {spills} writes to the side file");
        } else {
            assert_eq!(spills, 0, "{what}");
        }

        for k in 1..=total {
            let fs = FailingFs::new(k);
            let failed_op = &fs_op_name(&clean, k);
            let result = write_segment(&fs, opts);
            assert!(
                result.is_err(),
                "{what}: failing operation {k} ({failed_op}) was not reported"
            );
            assert_eq!(
                fs.entries(),
                Vec::<PathBuf>::new(),
                "{what}: after failing operation {k} ({failed_op}) the directory must hold neither {NAME} nor a temporary file"
            );
        }
    }
}

#[test]
fn writer_with_spilled_index_writes_the_same_file() {
    let read = |opts: WriterOptions| {
        let fs = FailingFs::new(0);
        write_segment(&fs, opts).unwrap();
        let f = fs.0.inner.open_read(&target()).unwrap();
        f.read_at(0, f.len() as usize).unwrap()
    };
    assert_eq!(read(options()), read(spilling_options()));
}

fn fs_op_name(fs: &FailingFs, k: usize) -> String {
    fs.ops()[k - 1].what.clone()
}

#[test]
fn writer_dropped_or_aborted_unfinished_leaves_no_temp() {
    for abort in [false, true] {
        let fs = FailingFs::new(0);
        let fs_dyn: Arc<dyn FileSystem> = Arc::new(fs.clone());
        let mut w =
            SegmentWriter::create(fs_dyn, Path::new(DIR), NAME, schema(), options()).unwrap();
        w.write_batch(&batch(0, 250)).unwrap();
        assert_eq!(
            fs.entries(),
            vec![temp()],
            "only the temporary file while writing"
        );
        if abort {
            w.abort();
        } else {
            drop(w);
        }
        assert_eq!(fs.entries(), Vec::<PathBuf>::new(), "abort: {abort}");
    }
}

#[test]
fn writer_finish_renames_after_fsync_and_target_appears_only_then() {
    let fs = FailingFs::new(0);
    let fs_dyn: Arc<dyn FileSystem> = Arc::new(fs.clone());
    let mut w = SegmentWriter::create(fs_dyn, Path::new(DIR), NAME, schema(), options()).unwrap();
    for b in [batch(0, 250), batch(250, 250)] {
        w.write_batch(&b).unwrap();
        assert_eq!(fs.entries(), vec![temp()]);
    }
    let meta = w.finish().unwrap();
    assert_eq!(meta.path, target());
    assert_eq!(fs.entries(), vec![target()]);

    let ops = fs.ops();
    let names: Vec<&str> = ops.iter().map(|o| o.what.as_str()).collect();
    let rename = names
        .iter()
        .position(|&o| o == format!("rename {NAME}.tmp {NAME}"))
        .expect("finish renames the temporary file");
    let sync = names
        .iter()
        .position(|&o| o == format!("sync {NAME}.tmp"))
        .expect("finish fsyncs the temporary file");
    let last_write = names.iter().rposition(|o| o.starts_with("write ")).unwrap();
    assert!(last_write < sync && sync < rename, "{names:?}");
    assert_eq!(
        names.last(),
        Some(&"sync_dir"),
        "the directory is fsynced last"
    );
    assert!(
        ops[..=rename].iter().all(|o| !o.target_existed),
        "{NAME} existed before the rename: {names:?}"
    );
    assert!(ops[rename + 1..].iter().all(|o| o.target_existed));

    let segment = Segment::open(&fs.0.inner, &meta.path).unwrap();
    let expected = arrow_select::concat::concat_batches(
        &batch(0, 0).schema(),
        &[batch(0, 250), batch(250, 250)],
    )
    .unwrap();
    support::batches_equal(&segment.read_all().unwrap(), &expected).unwrap();
}
