//! Reads one Strata segment (as one batch, and as a streaming `Scan` of 65,536-row batches)
//! and the same rows as Parquet+zstd(3) (written next to it from the
//! segment's rows, default properties), alternately, on one thread, and prints the medians and
//! their ratio: a quick side-by-side for work on the read path, without the whole suite
//! (`cargo run --release -p strata-benches --example read_vs_parquet -- SEGMENT [REPS]`).
use std::fs::File;
use std::path::Path;
use std::time::Instant;

use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use strata_format::{LocalFs, Segment};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: read_vs_parquet SEGMENT [REPS]";
    let path = Path::new(args.get(1).ok_or(usage)?);
    let reps: usize = args.get(2).map_or(Ok(11), |s| s.parse())?;
    let seg = Segment::open(&LocalFs, path)?;
    let all: Vec<usize> = (0..seg.num_columns()).collect();
    // Parquet gets the symbols as strings, as the suite gives them.
    let batch = seg.read_columns_threads(&all, 1)?;
    let fields: Vec<_> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            arrow_schema::DataType::Dictionary(_, v) => {
                f.as_ref().clone().with_data_type(v.as_ref().clone())
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    let schema = std::sync::Arc::new(arrow_schema::Schema::new(fields));
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| arrow_cast::cast(c, f.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    let pq = std::env::temp_dir().join("read_vs_parquet.parquet");
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .build();
    let mut w = ArrowWriter::try_new(File::create(&pq)?, schema.clone(), Some(props))?;
    for start in (0..batch.num_rows()).step_by(65_536) {
        let n = 65_536.min(batch.num_rows() - start);
        w.write(&arrow_array::RecordBatch::try_new(
            schema.clone(),
            columns.iter().map(|c| c.slice(start, n)).collect(),
        )?)?;
    }
    w.close()?;
    let (mut s, mut sc, mut p) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let t = Instant::now();
        let seg = Segment::open(&LocalFs, path)?;
        let rows = seg.read_columns_threads(&all, 1)?.num_rows();
        s.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let seg = std::sync::Arc::new(Segment::open(&LocalFs, path)?);
        let mut n = 0;
        for b in strata_predicate::Scan::new(vec![seg])
            .batch_size(65_536)
            .threads(1)
        {
            n += b?.num_rows();
        }
        sc.push(t.elapsed().as_secs_f64());
        assert_eq!(n, rows);
        let t = Instant::now();
        let mut n = 0;
        for b in ParquetRecordBatchReaderBuilder::try_new(File::open(&pq)?)?
            .with_batch_size(65_536)
            .build()?
        {
            n += b?.num_rows();
        }
        p.push(t.elapsed().as_secs_f64());
        assert_eq!(n, rows);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ms, msc, mp) = (med(&mut s), med(&mut sc), med(&mut p));
    println!(
        "{} rows: parquet+zstd {:.2} ms; strata one batch {:.2} ms (ratio {:.2}), scan {:.2} ms \
         (ratio {:.2})",
        batch.num_rows(),
        mp * 1e3,
        ms * 1e3,
        mp / ms,
        msc * 1e3,
        mp / msc
    );
    Ok(())
}
