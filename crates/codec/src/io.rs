//! Bounds-checked little-endian reading and plain writing of encoded buffers.

use crate::error::{CodecError, Result};

/// Appends little-endian fields to a buffer.
pub(crate) trait PutLe {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u64(&mut self, v: u64);
    fn put_len(&mut self, n: usize);
}

impl PutLe for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    /// Lengths and counts are stored as LEB128 varints of at most 32 bits; the encoders never
    /// see more than `MAX_VALUES` values, and byte payloads beyond 4 GiB in one block are
    /// rejected up front.
    fn put_len(&mut self, n: usize) {
        let mut v = u32::try_from(n).unwrap_or(u32::MAX);
        while v >= 0x80 {
            self.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.push(v as u8);
    }
}

/// A cursor over an encoded buffer; every read checks bounds.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Words [`Reader::with_u64_words`] keeps for the next call at most (a 4096-value block of
/// 64-bit values is 4096).
const KEPT_WORDS: usize = 1 << 16;

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(CodecError::Truncated {
                offset: self.pos,
                needed: n,
            })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a count and checks it against `limit` before anyone allocates for it.
    pub(crate) fn count(&mut self, limit: usize) -> Result<usize> {
        let start = self.pos;
        let mut n: u64 = 0;
        let mut shift = 0;
        loop {
            let b = self.u8()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 28 {
                return Err(crate::error::corrupt(
                    "varint",
                    format!("count at offset {start} longer than 5 bytes"),
                ));
            }
        }
        if n > u64::from(u32::MAX) {
            return Err(crate::error::corrupt(
                "varint",
                format!("count at offset {start} above u32"),
            ));
        }
        let n_usize = n as usize;
        if n_usize > limit {
            return Err(CodecError::TooManyValues { count: n, limit });
        }
        Ok(n_usize)
    }

    /// Reads `n` little-endian u64 words, checking the buffer holds them first, and hands
    /// them to `f` in a buffer the thread keeps (a short block's words cost no allocation;
    /// a call from inside `f` gets a buffer of its own).
    pub(crate) fn with_u64_words<R>(&mut self, n: usize, f: impl FnOnce(&[u64]) -> R) -> Result<R> {
        thread_local! {
            static WORDS: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let bytes = self.take(n.checked_mul(8).ok_or(CodecError::Truncated {
            offset: self.pos,
            needed: usize::MAX,
        })?)?;
        let words = bytes.chunks_exact(8).map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            u64::from_le_bytes(a)
        });
        Ok(WORDS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut kept) => {
                kept.clear();
                kept.extend(words);
                let r = f(&kept);
                // An unusually long block's words are not kept.
                if kept.capacity() > KEPT_WORDS {
                    *kept = Vec::new();
                }
                r
            }
            Err(_) => f(&words.collect::<Vec<u64>>()),
        }))
    }
}
