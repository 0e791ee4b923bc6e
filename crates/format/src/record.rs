//! Checksummed records appended to a log file: the one framing the manifest log and the
//! write-ahead log share, and the one rule both follow when a record is damaged.
//!
//! ```text
//! record = len u32 LE | crc32c(len bytes ++ payload) u32 LE | payload (len bytes)
//! ```
//!
//! A log is a sequence of records, appended and fsynced one at a time (a commit is one
//! `write` of one whole record). Reading it back, [`split_records`] sorts what it finds:
//!
//! * well-framed records (length and checksum hold);
//! * a **damaged** record followed by any well-framed record: the file was damaged after it
//!   was written, and nothing after the damage can be trusted to be complete. This is an error
//!   ([`DamagedRecord`]); no record after it is silently dropped;
//! * a tail with no well-framed record after it: [`TailKind::Incomplete`] when it is shorter
//!   than its own header says (or than a header), or all zero bytes — what a crash in the middle
//!   of an append leaves, a write that was never acknowledged; [`TailKind::Damaged`] when it is
//!   a complete record whose checksum fails, which a crash does not produce but damage does.
//!
//! What a caller may discard is its policy (the manifest and the log both discard an incomplete
//! tail and report it, and refuse a damaged one unless asked to recover to a point in time).

use std::ops::Range;

/// Bytes of a record header (length and checksum).
pub const RECORD_HEADER_LEN: usize = 8;

/// Frames `payload` as one record. `None` when it is longer than `u32::MAX` bytes.
pub fn frame_record(payload: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(payload.len()).ok()?.to_le_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len), payload);
    let mut out = Vec::with_capacity(payload.len() + RECORD_HEADER_LEN);
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    Some(out)
}

/// One well-framed record: where it starts and where its payload lies, in the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramedRecord {
    /// Offset of its header.
    pub offset: usize,
    /// Byte range of its payload.
    pub payload: Range<usize>,
}

/// What kind of bytes end a log after its last well-framed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailKind {
    /// Shorter than a header, shorter than its header's length, or all zeros: an append that
    /// never completed.
    Incomplete,
    /// A complete record (as long as its header says) whose checksum does not hold.
    Damaged,
}

/// Bytes after the last well-framed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    /// Offset of the first byte not in a well-framed record.
    pub offset: u64,
    /// Bytes from there to the end.
    pub bytes: u64,
    /// Incomplete or damaged.
    pub kind: TailKind,
}

/// A log split into records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitRecords {
    /// The well-framed records before any damage, in order.
    pub records: Vec<FramedRecord>,
    /// What follows them, if anything.
    pub tail: Option<Tail>,
}

/// A damaged record with a well-framed record after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRecord {
    /// Offset of the damaged record.
    pub offset: u64,
    /// Offset of the first well-framed record after it.
    pub next_record: u64,
    /// The well-framed records before the damage (what recovery to a point in time keeps).
    pub before: Vec<FramedRecord>,
}

/// The well-framed record at `pos`, if there is one. Lengths above `max_len` never are.
pub fn record_at(buf: &[u8], pos: usize, max_len: u32) -> Option<FramedRecord> {
    let head = buf.get(pos..pos.checked_add(RECORD_HEADER_LEN)?)?;
    let len_bytes: [u8; 4] = head.get(0..4)?.try_into().ok()?;
    let crc_bytes: [u8; 4] = head.get(4..8)?.try_into().ok()?;
    let len = u32::from_le_bytes(len_bytes);
    if len > max_len {
        return None;
    }
    let start = pos + RECORD_HEADER_LEN;
    let range = start..start.checked_add(len as usize)?;
    let payload = buf.get(range.clone())?;
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), payload);
    (crc == u32::from_le_bytes(crc_bytes)).then_some(FramedRecord {
        offset: pos,
        payload: range,
    })
}

/// Splits `buf` into its records by the rule in the module documentation.
pub fn split_records(buf: &[u8], max_len: u32) -> Result<SplitRecords, DamagedRecord> {
    let mut out = SplitRecords::default();
    let mut pos = 0;
    while pos < buf.len() {
        if let Some(r) = record_at(buf, pos, max_len) {
            pos = r.payload.end;
            out.records.push(r);
            continue;
        }
        if let Some(q) = (pos + 1..buf.len()).find(|&q| record_at(buf, q, max_len).is_some()) {
            return Err(DamagedRecord {
                offset: pos as u64,
                next_record: q as u64,
                before: out.records,
            });
        }
        let rest = buf.get(pos..).unwrap_or_default();
        out.tail = Some(Tail {
            offset: pos as u64,
            bytes: rest.len() as u64,
            kind: tail_kind(rest, max_len),
        });
        break;
    }
    Ok(out)
}

fn tail_kind(rest: &[u8], max_len: u32) -> TailKind {
    if rest.iter().all(|b| *b == 0) {
        return TailKind::Incomplete;
    }
    let Some(len) = rest
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
    else {
        return TailKind::Incomplete;
    };
    if len <= max_len && rest.len() < RECORD_HEADER_LEN + len as usize {
        TailKind::Incomplete
    } else {
        TailKind::Damaged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(payloads: &[&[u8]]) -> Vec<u8> {
        payloads
            .iter()
            .flat_map(|p| frame_record(p).unwrap_or_default())
            .collect()
    }

    #[test]
    fn whole_records_split_back() {
        let buf = log(&[b"one", b"", b"three"]);
        let s = split_records(&buf, 1 << 20).unwrap();
        let got: Vec<&[u8]> = s.records.iter().map(|r| &buf[r.payload.clone()]).collect();
        assert_eq!(got, vec![&b"one"[..], b"", b"three"]);
        assert_eq!(s.tail, None);
    }

    #[test]
    fn truncated_last_record_is_an_incomplete_tail() {
        let mut buf = log(&[b"one", b"three"]);
        let full = buf.len();
        buf.truncate(full - 2);
        let s = split_records(&buf, 1 << 20).unwrap();
        assert_eq!(s.records.len(), 1);
        let t = s.tail.unwrap();
        assert_eq!((t.offset, t.kind), (11, TailKind::Incomplete));
        // A partial header too.
        buf.truncate(14);
        let s = split_records(&buf, 1 << 20).unwrap();
        assert_eq!(s.tail.unwrap().kind, TailKind::Incomplete);
    }

    #[test]
    fn zero_filled_tail_is_incomplete() {
        let mut buf = log(&[b"one"]);
        buf.extend_from_slice(&[0u8; 40]);
        let s = split_records(&buf, 1 << 20).unwrap();
        assert_eq!(s.records.len(), 1);
        assert_eq!(s.tail.unwrap().kind, TailKind::Incomplete);
    }

    #[test]
    fn flipped_byte_in_last_record_is_a_damaged_tail() {
        let mut buf = log(&[b"one", b"three"]);
        let last = buf.len() - 1;
        buf[last] ^= 0x40;
        let s = split_records(&buf, 1 << 20).unwrap();
        assert_eq!(s.records.len(), 1);
        assert_eq!(s.tail.unwrap().kind, TailKind::Damaged);
    }

    #[test]
    fn damage_followed_by_a_record_is_an_error_naming_both_offsets() {
        let mut buf = log(&[b"one", b"two", b"three"]);
        buf[12] ^= 1;
        let e = split_records(&buf, 1 << 20).unwrap_err();
        assert_eq!((e.offset, e.next_record), (11, 22));
        assert_eq!(e.before.len(), 1);
    }
}
