//! Arbitrary bytes as a segment footer: `Footer::decode`, then `Segment::from_bytes` on a file
//! built around them, then a read of every block, whole and stripe by stripe through column
//! sinks. None of it may panic or over-allocate.
//!
//! Input: `n u16 LE | n bytes of data region | footer`; the top two bits of `n` pick the
//! footer layout (`1x`: version 1's, `01`: version 2's, `00`: the version this build writes,
//! whose symbol dictionaries may be zstd frames and cascade names scheme tokens). The harness
//! writes a valid header and tail (with the footer CRC) around them, so the fuzzer reaches the
//! footer parser the way a reader does instead of stopping at the CRC; once a footer parses,
//! it also fixes each block's CRC so the block decoders see the fuzzed block bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata_format::segment::{HEADER_LEN, HEADER_MAGIC, TAIL_MAGIC};
use strata_format::{Footer, FormatVersion, Segment};

fn segment_file(version: FormatVersion, data_region: &[u8], footer: &[u8]) -> Vec<u8> {
    let mut file = Vec::with_capacity(data_region.len() + footer.len() + 40);
    file.extend_from_slice(&HEADER_MAGIC);
    file.extend_from_slice(&version.major.to_le_bytes());
    file.extend_from_slice(&version.minor.to_le_bytes());
    file.extend_from_slice(&[0; 4]);
    file.extend_from_slice(data_region);
    file.extend_from_slice(footer);
    let mut fixed = Vec::with_capacity(12);
    fixed.extend_from_slice(&(footer.len() as u64).to_le_bytes());
    fixed.extend_from_slice(&version.major.to_le_bytes());
    fixed.extend_from_slice(&version.minor.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(footer), &fixed);
    file.extend_from_slice(&fixed);
    file.extend_from_slice(&crc.to_le_bytes());
    file.extend_from_slice(&TAIL_MAGIC);
    file
}

/// Rewrites the trailing CRC32C of every block the footer indexes (they tile the data region).
fn fix_block_crcs(file: &mut [u8], footer: &Footer) {
    for b in footer.columns.iter().flat_map(|c| &c.blocks) {
        let (Ok(start), Ok(len)) = (usize::try_from(b.offset), usize::try_from(b.len)) else {
            continue;
        };
        let Some(block) = start
            .checked_add(len)
            .and_then(|end| file.get_mut(start..end))
        else {
            continue;
        };
        let Some(body_len) = block.len().checked_sub(4) else {
            continue;
        };
        let (body, crc) = block.split_at_mut(body_len);
        crc.copy_from_slice(&crc32c::crc32c(body).to_le_bytes());
    }
}

fuzz_target!(|data: &[u8]| {
    // Errors are expected for almost every input; only a panic, abort or OOM is a finding.
    let (n, rest) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, data),
    };
    let version = match n >> 14 {
        2 | 3 => FormatVersion { major: 1, minor: 0 },
        1 => FormatVersion { major: 2, minor: 0 },
        _ => strata_format::CURRENT_VERSION,
    };
    let n = n & 0x3fff;
    let (data_region, footer_bytes) = rest.split_at(n.min(rest.len()));

    // The raw input as a whole file exercises the tail checks.
    let _ = Segment::from_bytes(data.to_vec().into());

    let footer_offset = HEADER_LEN + data_region.len() as u64;
    let decoded = Footer::decode_version(footer_bytes, footer_offset, version);
    let mut file = segment_file(version, data_region, footer_bytes);
    if let Ok(footer) = &decoded {
        fix_block_crcs(&mut file, footer);
    }
    if let Ok(segment) = Segment::from_bytes(file.into()) {
        let _ = segment.read_all();
        // As a scan reads: each stripe's blocks decoded together, each appended whole (a
        // derived block makes its values straight into the output), then its second half
        // (through values made in the block).
        for b in 0..segment.num_blocks(0).min(64) {
            let wanted: Vec<(usize, usize)> = (0..segment.num_columns())
                .filter(|&c| b < segment.num_blocks(c))
                .map(|c| (c, b))
                .collect();
            let Ok(blocks) = segment.decode_blocks(&wanted) else {
                continue;
            };
            for (&(c, _), d) in wanted.iter().zip(&blocks) {
                if let Ok(mut sink) = segment.sink(c, d.rows()) {
                    let _ = sink.append(d, 0..d.rows(), None);
                    let _ = sink.append(d, d.rows() / 2..d.rows(), None);
                    let _ = sink.finish();
                }
            }
        }
    }
});
