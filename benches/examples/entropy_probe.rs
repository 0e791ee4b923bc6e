//! The entropy-coded leaf's trade-off on the segment suite's tables, without the rest of the
//! suite: `write DATA OUT` ingests every table and writes one segment of its rows with the
//! entropy leaf off (`OUT/<table>/off`) and on (`OUT/<table>/on`), printing their bytes;
//! (`EP_SIDE=derive`: derived columns off and on, entropy off);
//! `read OUT [REPS]` reads each pair alternately on one thread and prints the medians and
//! their ratio; `readone SEGMENT [REPS]` reads one segment (for a profiler); `writetime DATA OUT
//! [REPS] [TABLE]` writes each table (or the one named) alternately with the entropy leaf off and
//! on (with `EP_ZSTD_SIDES=1`: the zstd stage off and on; `EP_DERIVE_SIDES=1`: derived
//! columns off and on) and prints the medians and their ratio;
//! `columns SEGMENT` prints each column's bytes, main cascade and derivation table;
//! `planes SEGMENT` prices each integer column's values in byte layouts behind zstd and as codes
//! of one column-wide dictionary (`EP_GROUP=n` values a group, default 4096); `colcmp` also
//! prints each reader's minor page faults. Reads run on one thread and drop each batch;
//! `EP_THREADS=n` reads on `n` threads, `EP_COLLECT=1` keeps every batch until the read ends
//! (as the segment suite does). `segments DATA TABLE [K] [REPS]` writes the table as K segments
//! of consecutive rows and as one, and prints bytes and one-thread read times of both
//! (`EP_COLTIMES=1`: each column alone first; `EP_NO_DERIVE=1`: the K segments without
//! derived columns).
//! `table DATA NAME` (or `all`) runs the segment suite's own
//! measurement; to match the suite's binary, which fixes glibc's malloc thresholds, run it with
//! `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456`.
//! (`cargo run --release -p strata-benches --example entropy_probe -- write DATA OUT`).
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use strata_benches::segment::{strata_schema, tables, writer_options};
use strata_format::{LocalFs, Segment};
use strata_writer::SegmentWriter;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn read(path: &Path) -> Result<usize> {
    let seg = Arc::new(Segment::open(&LocalFs, path)?);
    let mut n = 0;
    // `EP_COLLECT=1` keeps every batch until the read ends, as the segment suite does.
    let collect = std::env::var_os("EP_COLLECT").is_some();
    // `EP_THREADS=n` reads on `n` threads (default one).
    let threads = std::env::var("EP_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    let mut scan = strata_predicate::Scan::new(vec![seg])
        .batch_size(tables::BATCH_ROWS)
        .threads(threads);
    // `EP_COL=i` reads only column `i`.
    if let Some(c) = std::env::var("EP_COL").ok().and_then(|c| c.parse().ok()) {
        scan = scan.projection(strata_predicate::Projection::Indices(vec![c]));
    }
    let mut kept = Vec::new();
    for b in scan {
        let b = b?;
        n += b.num_rows();
        if collect {
            kept.push(b);
        }
    }
    drop(kept);
    Ok(n)
}

/// `colcmp DATA TABLE [REPS]`: the table's segment (entropy off) against Parquet+snappy and
/// Parquet+zstd written by parquet-rs, read on one thread, whole and one column at a time,
/// interleaved; prints the median milliseconds and Strata's speed over each peer.
fn colcmp(data: &Path, name: &str, reps: usize) -> Result<()> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::{ArrowWriter, ProjectionMask};
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let t = tables::load_table(data, name, None)?.ok_or("no such table")?;
    let dir = tempfile::tempdir()?;
    let schema = strata_schema(&t)?;
    let mut w = SegmentWriter::create(
        Arc::new(LocalFs),
        dir.path(),
        "s.seg",
        schema,
        writer_options(&t),
    )?;
    for b in &t.batches {
        w.write_batch(b)?;
    }
    let seg_path = w.finish()?.path;
    let mut pq = Vec::new();
    for (label, c) in [
        ("snappy", Compression::SNAPPY),
        ("zstd", Compression::ZSTD(ZstdLevel::try_new(3)?)),
    ] {
        let path = dir.path().join(format!("{label}.parquet"));
        let props = WriterProperties::builder().set_compression(c).build();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(&path)?, t.schema.clone(), Some(props))?;
        for b in &t.batches {
            w.write(b)?;
        }
        w.close()?;
        pq.push(path);
    }
    let read_pq = |path: &Path, col: Option<usize>| -> Result<usize> {
        let b = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path)?)?;
        let b = match col {
            Some(c) => {
                let mask = ProjectionMask::roots(b.parquet_schema(), [c]);
                b.with_projection(mask)
            }
            None => b,
        };
        let mut kept = Vec::new();
        for r in b.with_batch_size(tables::BATCH_ROWS).build()? {
            kept.push(r?);
        }
        Ok(kept.iter().map(|b| b.num_rows()).sum())
    };
    let read_strata = |col: Option<usize>| -> Result<usize> {
        let seg = Arc::new(Segment::open(&LocalFs, &seg_path)?);
        let mut scan = strata_predicate::Scan::new(vec![seg])
            .batch_size(tables::BATCH_ROWS)
            .threads(1);
        if let Some(c) = col {
            scan = scan.projection(strata_predicate::Projection::Indices(vec![c]));
        }
        let mut kept = Vec::new();
        for b in scan {
            kept.push(b?);
        }
        Ok(kept.iter().map(|b| b.num_rows()).sum())
    };
    let mut cols: Vec<Option<usize>> = vec![None];
    cols.extend((0..t.schema.fields().len()).map(Some));
    println!(
        "{:24} {:>9} {:>9} {:>9} {:>7} {:>7}",
        "column", "strata ms", "snappy ms", "zstd ms", "/snappy", "/zstd"
    );
    for col in cols {
        let mut times = [Vec::new(), Vec::new(), Vec::new()];
        let mut faults = [0.0f64; 3];
        for _ in 0..reps {
            let (s, f) = (Instant::now(), minor_faults());
            read_strata(col)?;
            times[0].push(s.elapsed().as_secs_f64());
            faults[0] += minor_faults() - f;
            for (i, p) in pq.iter().enumerate() {
                let (s, f) = (Instant::now(), minor_faults());
                read_pq(p, col)?;
                times[i + 1].push(s.elapsed().as_secs_f64());
                faults[i + 1] += minor_faults() - f;
            }
        }
        if col.is_none() {
            println!(
                "minor page faults a read: strata {:.0} snappy {:.0} zstd {:.0}",
                faults[0] / reps as f64,
                faults[1] / reps as f64,
                faults[2] / reps as f64
            );
        }
        let [a, b, c] = times.map(median);
        let label = col.map_or("(all)".to_string(), |c| t.schema.field(c).name().clone());
        println!(
            "{label:24} {:9.3} {:9.3} {:9.3} {:7.2} {:7.2}",
            a * 1e3,
            b * 1e3,
            c * 1e3,
            b / a,
            c / a
        );
    }
    Ok(())
}

/// The process's CPU time (user and system, every thread) in seconds, from `/proc/self/stat`
/// (0 where that is not readable).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 of the file (utime, stime) are the 12th and 13th after the name.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// Minor page faults of the process so far (field 10 of `/proc/self/stat`).
fn minor_faults() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    after
        .split_whitespace()
        .nth(7)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `planes SEGMENT`: for every integer column, byte layouts of each 4096-value group (values
/// minus the group minimum) behind zstd(3): little-endian words, byte planes in one frame, byte
/// planes each in its own frame; against the column's stored bytes.
fn planes(path: &Path) -> Result<()> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::{Array, ArrayRef};
    use arrow_schema::DataType;
    let seg = Arc::new(Segment::open(&LocalFs, path)?);
    let ncols = seg.schema().fields.len();
    for c in 0..ncols {
        let stored: u64 = seg.footer().columns[c]
            .blocks
            .iter()
            .map(|b| u64::from(b.len))
            .sum();
        let scan = strata_predicate::Scan::new(vec![seg.clone()])
            .batch_size(1 << 30)
            .projection(strata_predicate::Projection::Indices(vec![c]));
        let mut vals: Vec<i64> = Vec::new();
        let mut ok = true;
        for b in scan {
            let b = b?;
            let col: ArrayRef = match b.column(0).as_any_dictionary_opt() {
                Some(d) => d.keys().slice(0, d.len()),
                None => b.column(0).clone(),
            };
            let col = match arrow_cast::cast(&col, &DataType::Int64) {
                Ok(a) => a,
                Err(_) => {
                    ok = false;
                    break;
                }
            };
            if col.null_count() > 0 {
                ok = false;
                break;
            }
            vals.extend(col.as_primitive::<Int64Type>().values().iter());
        }
        if !ok || vals.is_empty() {
            continue;
        }
        // Dictionary codes: per group against one dictionary for the whole column.
        let mut global: Vec<i64> = vals.clone();
        global.sort_unstable();
        global.dedup();
        let gw = (usize::BITS - (global.len().max(2) - 1).leading_zeros()) as usize;
        let vw = |lo: i64, hi: i64| (64 - (hi.wrapping_sub(lo) as u64).leading_zeros()) as usize;
        let gdict = global.len() * vw(global[0], global.last().copied().unwrap_or(0)) / 8;
        let (mut packed, mut local, mut shared) = (0usize, 0usize, gdict);
        for g in vals.chunks(4096) {
            let mut d = g.to_vec();
            d.sort_unstable();
            d.dedup();
            let w = vw(d[0], d.last().copied().unwrap_or(0));
            packed += g.len() * w / 8;
            let cw = (usize::BITS - (d.len().max(2) - 1).leading_zeros()) as usize;
            local += (d.len() * w + g.len() * cw) / 8;
            shared += g.len() * gw / 8;
        }
        println!(
            "    {} distinct ({gw} bits): packed {packed} local dict {local} shared dict {shared} ({gdict} of dictionary)",
            global.len()
        );
        let mut sz = [0usize; 4];
        let mut frames: Vec<(Vec<u8>, usize)> = Vec::new();
        let group: usize = std::env::var("EP_GROUP")
            .ok()
            .and_then(|g| g.parse().ok())
            .unwrap_or(4096);
        for g in vals.chunks(group) {
            let min = g.iter().copied().min().unwrap_or(0);
            let d: Vec<u64> = g.iter().map(|&v| v.wrapping_sub(min) as u64).collect();
            let max = d.iter().copied().max().unwrap_or(0);
            let bytes = (64 - max.leading_zeros() as usize).div_ceil(8).max(1);
            let words: Vec<u8> = d
                .iter()
                .flat_map(|v| v.to_le_bytes()[..bytes].to_vec())
                .collect();
            sz[0] += zstd::bulk::compress(&words, 3)?.len();
            let planes: Vec<Vec<u8>> = (0..bytes)
                .map(|k| d.iter().map(|v| (v >> (8 * k)) as u8).collect())
                .collect();
            sz[1] += zstd::bulk::compress(&planes.concat(), 3)?.len();
            for p in &planes {
                let z = zstd::bulk::compress(p, 3)?;
                if z.len() < p.len() {
                    sz[2] += z.len();
                    frames.push((z, p.len()));
                } else {
                    sz[2] += p.len();
                }
            }
            sz[3] += bytes * g.len();
        }
        let mut dec = zstd::bulk::Decompressor::new()?;
        let mut buf = vec![0u8; 1 << 20];
        let t = Instant::now();
        for _ in 0..5 {
            for (z, n) in &frames {
                dec.decompress_to_buffer(z, &mut buf[..*n])?;
            }
        }
        let ns = t.elapsed().as_secs_f64() * 1e9 / 5.0 / vals.len() as f64;
        println!(
            "{:3} {:20} stored {:>9} raw {:>9} words+z {:>9} planes+z {:>9} planes/z {:>9} {ns:.2} ns/value",
            c,
            seg.schema().fields[c].name,
            stored,
            sz[3],
            sz[0],
            sz[1],
            sz[2]
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: entropy_probe write DATA OUT | read OUT [REPS] | readone SEGMENT [REPS] \
                 | writetime DATA OUT [REPS] [TABLE] | colcmp DATA TABLE [REPS] | open SEGMENT [REPS] | pruned SEGMENT PREDICATE [REPS] | dumpblocks SEGMENT COLUMN DIR | planes SEGMENT";
    match args.get(1).map(String::as_str) {
        Some("write") => {
            let data = Path::new(args.get(2).ok_or(usage)?);
            let out = Path::new(args.get(3).ok_or(usage)?);
            let loaded = tables::load_tables(data, None);
            for t in &loaded.tables {
                let schema = strata_schema(t)?;
                let mut sizes = Vec::new();
                for (label, entropy) in [("off", false), ("on", true)] {
                    let dir = out.join(t.name.replace('/', "_")).join(label);
                    std::fs::create_dir_all(&dir)?;
                    let _ = std::fs::remove_file(dir.join("s.seg"));
                    let mut opts = writer_options(t);
                    opts.block.encode.entropy = entropy;
                    // `EP_SIDE=derive`: derived columns off and on instead (entropy off).
                    if std::env::var("EP_SIDE").as_deref() == Ok("derive") {
                        opts.block.encode.entropy = false;
                        opts.block.derive = entropy;
                    }
                    if let Ok(r) = std::env::var("EP_BLOCK_ROWS") {
                        opts.block.block_rows = r.parse()?;
                    }
                    let mut w = SegmentWriter::create(
                        Arc::new(LocalFs),
                        &dir,
                        "s.seg",
                        schema.clone(),
                        opts,
                    )?;
                    for b in &t.batches {
                        w.write_batch(b)?;
                    }
                    sizes.push(w.finish()?.bytes);
                }
                println!(
                    "{:24} off {:>10} on {:>10} change {:+.1}%",
                    t.name,
                    sizes[0],
                    sizes[1],
                    (sizes[1] as f64 / sizes[0] as f64 - 1.0) * 100.0
                );
            }
        }
        Some("read") => {
            let out = Path::new(args.get(2).ok_or(usage)?);
            let reps: usize = args.get(3).map_or(Ok(7), |s| s.parse())?;
            let mut dirs: Vec<_> = std::fs::read_dir(out)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            dirs.sort();
            for d in dirs {
                let (off, on) = (d.join("off/s.seg"), d.join("on/s.seg"));
                let (mut a, mut b) = (Vec::new(), Vec::new());
                read(&off)?;
                read(&on)?;
                for _ in 0..reps {
                    let t = Instant::now();
                    read(&off)?;
                    a.push(t.elapsed().as_secs_f64());
                    let t = Instant::now();
                    read(&on)?;
                    b.push(t.elapsed().as_secs_f64());
                }
                let (a, b) = (median(a), median(b));
                println!(
                    "{:28} off {:8.2} ms on {:8.2} ms read on/off speed {:.3}",
                    d.file_name().and_then(|s| s.to_str()).unwrap_or("?"),
                    a * 1e3,
                    b * 1e3,
                    a / b
                );
            }
        }
        Some("writetime") => {
            let data = Path::new(args.get(2).ok_or(usage)?);
            let out = Path::new(args.get(3).ok_or(usage)?);
            let reps: usize = args.get(4).map_or(Ok(5), |s| s.parse())?;
            let only = args.get(5);
            // `EP_SIDE=off` or `on` writes only that side (for counting instructions).
            let side = std::env::var("EP_SIDE").ok();
            // A table named exactly is loaded alone; otherwise every table is (and `only` picks
            // by substring).
            let one = match only {
                Some(o) => tables::load_table(data, o, None)?,
                None => None,
            };
            let all = match one {
                Some(t) => vec![t],
                None => tables::load_tables(data, None).tables,
            };
            for t in &all {
                if only.is_some_and(|o| !t.name.contains(o.as_str())) {
                    continue;
                }
                let schema = strata_schema(t)?;
                let dir = out.join(t.name.replace('/', "_"));
                std::fs::create_dir_all(&dir)?;
                let mut times = [Vec::new(), Vec::new()];
                let mut cpu = [0.0f64; 2];
                let mut sizes = [0u64; 2];
                for _ in 0..reps {
                    for (i, entropy) in [false, true].into_iter().enumerate() {
                        if side.as_deref().is_some_and(|s| s != ["off", "on"][i]) {
                            continue;
                        }
                        let _ = std::fs::remove_file(dir.join("w.seg"));
                        let mut opts = writer_options(t);
                        opts.block.encode.entropy = entropy;
                        // `EP_ZSTD_SIDES=1` compares the zstd stage off (the `off` side) and on
                        // (`on`) instead of the entropy leaf.
                        if std::env::var_os("EP_ZSTD_SIDES").is_some() {
                            opts.block.encode.entropy = false;
                            if !entropy {
                                opts.block.zstd_level = None;
                            } else if let Ok(l) = std::env::var("EP_ZSTD_LEVEL") {
                                // `EP_ZSTD_LEVEL=n`: the `on` side at level `n`.
                                opts.block.zstd_level = Some(l.parse()?);
                            }
                        }
                        // `EP_DERIVE_SIDES=1`: derived columns off and on (entropy off).
                        if std::env::var_os("EP_DERIVE_SIDES").is_some() {
                            opts.block.encode.entropy = false;
                            opts.block.derive = entropy;
                        }
                        let start = Instant::now();
                        let cpu_start = cpu_seconds();
                        let mut w = SegmentWriter::create(
                            Arc::new(LocalFs),
                            &dir,
                            "w.seg",
                            schema.clone(),
                            opts,
                        )?;
                        for b in &t.batches {
                            w.write_batch(b)?;
                        }
                        sizes[i] = w.finish()?.bytes;
                        times[i].push(start.elapsed().as_secs_f64());
                        cpu[i] += cpu_seconds() - cpu_start;
                    }
                }
                let [off, on] = times.map(median);
                let [cpu_off, cpu_on] = cpu.map(|c| c / reps as f64);
                println!(
                    "{:24} off {:7.1} ms {:7.1} cpu {:>10} B  on {:7.1} ms {:7.1} cpu {:>10} B  \
                     on/off speed {:.3} cpu {:.3} bytes {:+.1}%",
                    t.name,
                    off * 1e3,
                    cpu_off * 1e3,
                    sizes[0],
                    on * 1e3,
                    cpu_on * 1e3,
                    sizes[1],
                    off / on,
                    cpu_off / cpu_on,
                    (sizes[1] as f64 / sizes[0] as f64 - 1.0) * 100.0
                );
            }
        }
        Some("ctxsize") => {
            let path = Path::new(args.get(2).ok_or(usage)?);
            let bytes = bytes::Bytes::from(std::fs::read(path)?);
            let seg = strata_format::Segment::from_bytes(bytes.clone())?;
            let mut tot = [0usize; 5];
            for (c, col) in seg.footer().columns.iter().enumerate() {
                let blocks: Vec<&[u8]> = col
                    .blocks
                    .iter()
                    .map(|b| &bytes[b.offset as usize..b.offset as usize + b.len as usize])
                    .collect();
                let mut sizes = [0usize; 5];
                sizes[0] = blocks.iter().map(|b| b.len()).sum();
                for (i, g) in [1usize, 8, 64, usize::MAX].into_iter().enumerate() {
                    for chunk in blocks.chunks(g.min(blocks.len().max(1))) {
                        let cat: Vec<u8> = chunk.concat();
                        sizes[i + 1] += zstd::bulk::compress(&cat, 3)?.len().min(cat.len());
                    }
                }
                for i in 0..5 {
                    tot[i] += sizes[i];
                }
                println!(
                    "{:3} {:24} blocks {:>9} z1 {:>9} z8 {:>9} z64 {:>9} zall {:>9}",
                    c,
                    seg.schema().fields[c].name,
                    sizes[0],
                    sizes[1],
                    sizes[2],
                    sizes[3],
                    sizes[4]
                );
            }
            println!(
                "total blocks {} z1 {} z8 {} z64 {} zall {}",
                tot[0], tot[1], tot[2], tot[3], tot[4]
            );
        }
        Some("dumpblocks") => {
            // `dumpblocks SEGMENT COLUMN DIR`: each block's values buffer (the bytes after its
            // flags byte, before its CRC; columns without nulls) to `DIR/<block>.bin`, for
            // trying general-purpose coders on them from outside.
            let path = Path::new(args.get(2).ok_or(usage)?);
            let col: usize = args.get(3).ok_or(usage)?.parse()?;
            let dir = Path::new(args.get(4).ok_or(usage)?);
            std::fs::create_dir_all(dir)?;
            let bytes = std::fs::read(path)?;
            let seg = strata_format::Segment::from_bytes(bytes::Bytes::from(bytes.clone()))?;
            for (i, b) in seg.footer().columns[col].blocks.iter().enumerate() {
                let block = &bytes[b.offset as usize..b.offset as usize + b.len as usize];
                std::fs::write(dir.join(format!("{i:05}.bin")), &block[1..block.len() - 4])?;
            }
        }
        Some("columns") => {
            // `columns SEGMENT`: each column's bytes, its most used cascade and, for a derived
            // column (format 3.5), its keys and table entries.
            let seg = Segment::open(&LocalFs, Path::new(args.get(2).ok_or(usage)?))?;
            let footer = seg.footer();
            for (c, (f, m)) in footer.schema.fields.iter().zip(&footer.columns).enumerate() {
                let bytes: u64 = m.blocks.iter().map(|b| u64::from(b.len)).sum();
                let mut names: Vec<(usize, &str)> = Vec::new();
                for b in &m.blocks {
                    match names.iter_mut().find(|(_, n)| *n == &*b.cascade) {
                        Some((k, _)) => *k += 1,
                        None => names.push((1, &b.cascade)),
                    }
                }
                names.sort_by_key(|n| std::cmp::Reverse(n.0));
                let derived = footer.derived.iter().find(|d| d.column == c).map(|d| {
                    let keys: Vec<&str> = d
                        .keys
                        .iter()
                        .map(|&k| footer.schema.fields[k].name.as_str())
                        .collect();
                    format!(" derived from {keys:?}, {} entries", d.values.len())
                });
                println!(
                    "{:<20} {:>10} B  {} ({}/{}){}",
                    f.name,
                    bytes,
                    names.first().map_or("", |n| n.1),
                    names.first().map_or(0, |n| n.0),
                    m.blocks.len(),
                    derived.unwrap_or_default()
                );
            }
        }
        Some("planes") => planes(Path::new(args.get(2).ok_or(usage)?))?,
        Some("colcmp") => {
            let data = Path::new(args.get(2).ok_or(usage)?);
            let name = args.get(3).ok_or(usage)?;
            let reps: usize = args.get(4).map_or(Ok(31), |s| s.parse())?;
            colcmp(data, name, reps)?;
        }
        Some("pruned") => {
            let path = Path::new(args.get(2).ok_or(usage)?);
            let text = args.get(3).ok_or(usage)?;
            let reps: usize = args.get(4).map_or(Ok(101), |s| s.parse())?;
            let seg = Arc::new(Segment::open(&LocalFs, path)?);
            let p = strata_predicate::BoundPredicate::parse_and_bind(text, seg.schema())?;
            let mut times = Vec::new();
            let mut rows = 0;
            for _ in 0..reps {
                let start = Instant::now();
                rows = 0;
                let mut scan = strata_predicate::Scan::new(vec![Arc::clone(&seg)])
                    .predicate(p.clone())
                    .batch_size(8192);
                // `EP_UTF8=1` presents symbol columns as strings (as tables and SQL do).
                if std::env::var_os("EP_UTF8").is_some() {
                    scan = scan.symbol_as(strata_format::SymbolAs::Utf8);
                }
                for b in scan {
                    rows += b?.num_rows();
                }
                times.push(start.elapsed().as_secs_f64());
            }
            println!("{rows} rows, median {:.3} ms", median(times) * 1e3);
        }
        Some("open") => {
            let path = Path::new(args.get(2).ok_or(usage)?);
            let reps: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
            let start = Instant::now();
            let mut n = 0;
            for _ in 0..reps {
                n += Segment::open(&LocalFs, path)?.num_columns();
            }
            let each = start.elapsed().as_secs_f64() / reps as f64;
            println!("{n} columns, {:.1} us an open", each * 1e6);
        }
        Some("table") => {
            // The suite's own measurement of one table (interleaved writes and reads).
            let data = Path::new(args.get(2).ok_or(usage)?);
            let name = args.get(3).ok_or(usage)?;
            // `all`: every table, loaded together first, as the suite loads them.
            let all = if name == "all" {
                tables::load_tables(data, None).tables
            } else {
                vec![tables::load_table(data, name, None)?.ok_or("no such table")?]
            };
            let out = tempfile::tempdir()?;
            let ctx = strata_benches::BenchContext {
                data_dir: data.to_path_buf(),
                out_dir: out.path().to_path_buf(),
                quick: false,
                store: None,
            };
            for t in &all {
                let r = strata_benches::segment::run_table(&ctx, t)?;
                println!(
                    "{}: read/snappy {:.2} read/zstd {:.2} all cores/zstd {:.2} write/zstd {:.2} size {:.3}",
                    t.name,
                    r.read_vs_parquet_snappy,
                    r.read_vs_parquet_zstd,
                    r.read_all_cores_vs_parquet_zstd,
                    r.write_vs_parquet_zstd,
                    r.size_vs_parquet_zstd
                );
            }
        }
        Some("segments") => {
            // The table as `k` segments of consecutive rows (a partitioned table) against one
            // segment: bytes, and a one-thread full read of all of them, interleaved.
            let data = Path::new(args.get(2).ok_or(usage)?);
            let name = args.get(3).ok_or(usage)?;
            let k: usize = args.get(4).map_or(Ok(72), |s| s.parse())?;
            let reps: usize = args.get(5).map_or(Ok(21), |s| s.parse())?;
            let t = tables::load_table(data, name, None)?.ok_or("no such table")?;
            let all = arrow_select::concat::concat_batches(&t.schema, &t.batches)?;
            let tmp = tempfile::tempdir()?;
            // EP_KEEP=DIR writes the segments there (kept, for `columns`) instead.
            let kept_dir = std::env::var_os("EP_KEEP").map(std::path::PathBuf::from);
            let dir_path = kept_dir.as_deref().unwrap_or(tmp.path());
            let write = |parts: usize, tag: &str| -> Result<(u64, Vec<Arc<Segment>>)> {
                let (mut bytes, mut segs) = (0, Vec::new());
                // Each segment's writer starts from what the one before learnt (as a table's
                // flush does); EP_NO_CARRY=1 starts every segment afresh.
                let carry = std::env::var_os("EP_NO_CARRY").is_none();
                let mut memory = None;
                // EP_PER=n: segments of n rows each instead of K equal parts.
                let per = match std::env::var("EP_PER").ok().and_then(|s| s.parse().ok()) {
                    Some(n) if parts > 1 => n,
                    _ => all.num_rows().div_ceil(parts),
                };
                for (i, at) in (0..all.num_rows()).step_by(per).enumerate() {
                    let rows = per.min(all.num_rows() - at);
                    // Blocks as a flush cuts them for a segment of `rows` rows (EP_FIXED_BLOCKS=1:
                    // the table's block size as it is, a short last block included).
                    let mut opts = writer_options(&t);
                    if std::env::var_os("EP_FIXED_BLOCKS").is_none() {
                        opts.block = opts.block.for_segment_rows(rows as u64);
                    }
                    // EP_NO_DERIVE=1: the K segments without derived columns.
                    if parts > 1 && std::env::var_os("EP_NO_DERIVE").is_some() {
                        opts.block.derive = false;
                    }
                    let mut w = SegmentWriter::create(
                        Arc::new(LocalFs),
                        dir_path,
                        &format!("{tag}{i}.seg"),
                        strata_schema(&t)?,
                        opts,
                    )?;
                    if let (true, Some(mem)) = (carry, &memory) {
                        w.remember(mem);
                    }
                    w.write_batch(&all.slice(at, rows))?;
                    let (m, learnt) = w.finish_remembering()?;
                    memory = Some(learnt);
                    bytes += m.bytes;
                    segs.push(Arc::new(Segment::open(&LocalFs, &m.path)?));
                }
                Ok((bytes, segs))
            };
            let (one_bytes, one) = write(1, "one")?;
            let (many_bytes, many) = write(k, "many")?;
            // EP_THREADS=n reads on n threads (1 by default).
            let threads: usize = std::env::var("EP_THREADS").map_or(Ok(1), |s| s.parse())?;
            let read = |segs: &[Arc<Segment>]| -> Result<f64> {
                let start = Instant::now();
                let mut scan = strata_predicate::Scan::new(segs.to_vec())
                    .batch_size(tables::BATCH_ROWS)
                    .threads(threads);
                // EP_PROJ=i,j,...: only those columns.
                if let Ok(p) = std::env::var("EP_PROJ") {
                    let cols = p.split(',').filter_map(|c| c.parse().ok()).collect();
                    scan = scan.projection(strata_predicate::Projection::Indices(cols));
                }
                let mut kept = Vec::new();
                for b in scan {
                    kept.push(b?);
                }
                Ok(start.elapsed().as_secs_f64())
            };
            // EP_CHECK=1: every float column read back from both layouts has the source's bits.
            if std::env::var_os("EP_CHECK").is_some() {
                use arrow_array::Array;
                for segs in [&one, &many] {
                    let batches: Vec<_> = strata_predicate::Scan::new(segs.to_vec())
                        .batch_size(tables::BATCH_ROWS)
                        .into_iter()
                        .collect::<std::result::Result<_, _>>()?;
                    let got = arrow_select::concat::concat_batches(&batches[0].schema(), &batches)?;
                    let mut checked = 0;
                    for (i, f) in all.schema().fields().iter().enumerate() {
                        let Some(want) = all
                            .column(i)
                            .as_any()
                            .downcast_ref::<arrow_array::Float64Array>()
                        else {
                            continue;
                        };
                        let have = got
                            .column_by_name(f.name())
                            .and_then(|c| {
                                c.as_any()
                                    .downcast_ref::<arrow_array::Float64Array>()
                                    .cloned()
                            })
                            .ok_or("float column missing")?;
                        let bits = |a: &arrow_array::Float64Array| -> Vec<Option<u64>> {
                            a.iter().map(|v| v.map(f64::to_bits)).collect()
                        };
                        if bits(want) != bits(&have) {
                            return Err(format!("column {} differs", f.name()).into());
                        }
                        checked += 1;
                    }
                    println!(
                        "{} segments: {checked} float columns identical to the source",
                        segs.len()
                    );
                }
            }
            // EP_COLTIMES=1: each column alone, one segment against the K, interleaved.
            if std::env::var_os("EP_COLTIMES").is_some() {
                let col = |segs: &[Arc<Segment>], c: usize| -> Result<f64> {
                    let start = Instant::now();
                    let scan = strata_predicate::Scan::new(segs.to_vec())
                        .batch_size(tables::BATCH_ROWS)
                        .threads(threads)
                        .projection(strata_predicate::Projection::Indices(vec![c]));
                    let mut kept = Vec::new();
                    for b in scan {
                        kept.push(b?);
                    }
                    Ok(start.elapsed().as_secs_f64())
                };
                for (c, f) in all.schema().fields().iter().enumerate() {
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    for _ in 0..reps {
                        a.push(col(&one, c)?);
                        b.push(col(&many, c)?);
                    }
                    let (a, b) = (median(a), median(b));
                    println!(
                        "{:<14} one {:7.3} ms  many {:7.3} ms  +{:6.3} ms ({:.2}x)",
                        f.name(),
                        a * 1e3,
                        b * 1e3,
                        (b - a) * 1e3,
                        b / a
                    );
                }
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            // EP_ONLY_MANY=1 reads only the K segments (for a profile of that read).
            let only_many = std::env::var_os("EP_ONLY_MANY").is_some();
            for _ in 0..reps {
                if !only_many {
                    a.push(read(&one)?);
                }
                b.push(read(&many)?);
            }
            if only_many {
                a.push(f64::NAN);
            }
            let (a, b) = (median(a), median(b));
            println!(
                "{name}: 1 segment {one_bytes} B {:.2} ms; {} segments {many_bytes} B ({:.3}x) {:.2} ms ({:.3}x)",
                a * 1e3,
                many.len(),
                many_bytes as f64 / one_bytes as f64,
                b * 1e3,
                b / a
            );
        }
        Some("readone") => {
            let path = Path::new(args.get(2).ok_or(usage)?);
            let reps: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
            let mut n = 0;
            for _ in 0..reps {
                n += read(path)?;
            }
            println!("{n} rows");
        }
        _ => return Err(usage.into()),
    }
    Ok(())
}
