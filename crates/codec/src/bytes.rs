//! Variable-length byte-string encodings: plain, dictionary, FSST and LZ4. String lengths,
//! dictionary codes and compressed lengths cascade into the integer schemes.

use std::collections::HashMap;
use std::sync::Arc;

use crate::cascade::{Cascade, Scheme};
use crate::error::{CodecError, Result, corrupt};
use crate::int::{self, Ctx};
use crate::io::{PutLe, Reader};
use crate::sample::sample;
use crate::{ByteValues, Limits};

pub(crate) mod tag {
    pub(crate) const PLAIN: u8 = 0x40;
    pub(crate) const DICTIONARY: u8 = 0x41;
    pub(crate) const FSST: u8 = 0x42;
    pub(crate) const LZ4: u8 = 0x43;
}

/// Byte payloads above this in one node are refused (lengths are stored as u32).
pub(crate) const MAX_BYTES: usize = u32::MAX as usize;

fn lengths(values: &[&[u8]]) -> Vec<u64> {
    values.iter().map(|v| v.len() as u64).collect()
}

fn total_len(values: &[&[u8]]) -> usize {
    values.iter().map(|v| v.len()).sum()
}

fn dictionary_of<'a>(values: &[&'a [u8]]) -> (Vec<&'a [u8]>, Vec<u64>) {
    let mut index: HashMap<&[u8], u64> = HashMap::new();
    let mut dict = Vec::new();
    let codes = values
        .iter()
        .map(|&v| {
            *index.entry(v).or_insert_with(|| {
                dict.push(v);
                dict.len() as u64 - 1
            })
        })
        .collect();
    (dict, codes)
}

/// Values an FSST table is trained on at most (evenly strided over the input): training is
/// most of the cost of writing a string block. Against training on a whole 1024-value block,
/// geonames' segment grew 0.34 % and its write took a fifth less time.
const FSST_TRAIN_VALUES: usize = 512;

fn fsst_train(values: &[&[u8]]) -> fsst::Compressor {
    let step = values.len().div_ceil(FSST_TRAIN_VALUES).max(1);
    let v: Vec<&[u8]> = values.iter().step_by(step).copied().collect();
    fsst::Compressor::train(&v)
}

/// The chosen scheme, and the FSST compressor trained while estimating it (when FSST was
/// estimated): training is most of the cost of writing a string block, and the encoder reuses
/// it instead of training the same table again.
fn choose(values: &[&[u8]], ctx: Ctx) -> (Scheme, Option<fsst::Compressor>) {
    let n = values.len();
    let total = total_len(values);
    let child = ctx.child();
    let len_size = int::choose(&lengths(values), child, false).1;
    let mut best = (Scheme::Plain, total + len_size);
    let mut consider = |s: Scheme, size: usize| {
        if size < best.1 {
            best = (s, size);
        }
    };
    if ctx.depth >= 2 {
        let (dict, codes) = dictionary_of(values);
        if dict.len() * 2 <= n {
            let dict_bytes = total_len(&dict) + dict.len();
            consider(
                Scheme::Dictionary,
                dict_bytes + int::choose(&codes, child, false).1,
            );
        }
    }
    let mut trained = None;
    if total >= 64 && total / n.max(1) >= 2 {
        let c = fsst_train(values);
        let clen: Vec<u64> = values.iter().map(|v| c.compress(v).len() as u64).collect();
        let size = c.n_symbols() * 9
            + clen.iter().sum::<u64>() as usize
            + int::choose(&clen, child, false).1;
        consider(Scheme::Fsst, size);
        trained = Some(c);
    }
    if total >= 64 {
        let data: Vec<u8> = values.concat();
        consider(
            Scheme::Lz4,
            lz4_flex::block::compress(&data).len() + len_size + 8,
        );
    }
    let scheme = best.0;
    (scheme, trained.filter(|_| scheme == Scheme::Fsst))
}

/// An FSST node of `values` under the table `c`; the lengths follow `lengths_hint` when given.
fn encode_fsst(
    values: &[&[u8]],
    child: Ctx,
    c: Arc<fsst::Compressor>,
    lengths_hint: Option<&Cascade>,
    out: &mut Vec<u8>,
) -> Cascade {
    let n = values.len();
    let mut data = Vec::new();
    let mut clen = Vec::with_capacity(n);
    for v in values {
        let compressed = c.compress(v);
        clen.push(compressed.len() as u64);
        data.extend_from_slice(&compressed);
    }
    out.put_u8(tag::FSST);
    out.put_len(n);
    out.put_u8(c.n_symbols() as u8);
    for (sym, &len) in c.symbol_table().iter().zip(c.symbol_lengths()) {
        out.put_u8(len);
        out.put_u64(sym.to_u64());
    }
    let lc = match lengths_hint {
        Some(h) => int::encode_following(&clen, child, h, out),
        None => int::encode(&clen, child, None, out),
    };
    out.put_len(data.len());
    out.extend_from_slice(&data);
    let symbols = c.n_symbols();
    let mut cascade =
        Cascade::node(Scheme::Fsst, vec![lc]).with_detail(format!("symbols={symbols}"));
    cascade.fsst = Some(c);
    cascade
}

/// Encodes `values` along `hint`, the cascade of an earlier, similar block: an FSST node with
/// the hint's symbol table (no training), or the hint's top scheme without the search (its
/// children chosen by sampling); the sampled choice when the hint has neither. Always a valid
/// encoding of `values`, though not necessarily the smallest.
pub(crate) fn encode_following(
    values: &[&[u8]],
    ctx: Ctx,
    hint: &Cascade,
    out: &mut Vec<u8>,
) -> Result<Cascade> {
    match (hint.scheme, &hint.fsst) {
        (Scheme::Fsst, Some(c)) if !values.is_empty() && total_len(values) <= MAX_BYTES => Ok(
            encode_fsst(values, ctx.child(), c.clone(), hint.children.first(), out),
        ),
        (s @ (Scheme::Plain | Scheme::Dictionary | Scheme::Lz4), _) => {
            encode(values, ctx, Some(s), out)
        }
        _ => encode(values, ctx, None, out),
    }
}

/// Encodes a byte-string node.
pub(crate) fn encode(
    values: &[&[u8]],
    ctx: Ctx,
    forced: Option<Scheme>,
    out: &mut Vec<u8>,
) -> Result<Cascade> {
    let total = total_len(values);
    if total > MAX_BYTES {
        return Err(CodecError::InvalidRequest(format!(
            "{total} bytes of strings in one block; the limit is {MAX_BYTES}"
        )));
    }
    // choose and the FSST arm below train on the same sample, so a table choose trained is
    // the one the arm would train.
    let (scheme, trained) = match forced {
        Some(s) => (s, None),
        None => choose(&sample(values), ctx),
    };
    let child = ctx.child();
    let n = values.len();
    Ok(match scheme {
        Scheme::Dictionary if n > 0 => {
            let (dict, codes) = dictionary_of(values);
            out.put_u8(tag::DICTIONARY);
            out.put_len(n);
            let d = encode(&dict, child.child_bytes(), None, out)?;
            let c = int::encode(&codes, child, None, out);
            Cascade::node(Scheme::Dictionary, vec![d, c])
        }
        Scheme::Fsst if n > 0 => {
            let c = trained.unwrap_or_else(|| fsst_train(&sample(values)));
            encode_fsst(values, child, Arc::new(c), None, out)
        }
        Scheme::Lz4 => {
            let data: Vec<u8> = values.concat();
            let compressed = lz4_flex::block::compress(&data);
            out.put_u8(tag::LZ4);
            out.put_len(n);
            let lc = int::encode(&lengths(values), child, None, out);
            out.put_len(data.len());
            out.put_len(compressed.len());
            out.extend_from_slice(&compressed);
            Cascade::node(Scheme::Lz4, vec![lc])
        }
        _ => {
            out.put_u8(tag::PLAIN);
            out.put_len(n);
            let lc = int::encode(&lengths(values), child, None, out);
            out.put_len(total);
            for v in values {
                out.extend_from_slice(v);
            }
            Cascade::node(Scheme::Plain, vec![lc])
        }
    })
}

impl Ctx {
    /// Dictionary entries are distinct, so only plain, FSST or LZ4 can help them.
    fn child_bytes(self) -> Ctx {
        Ctx { depth: 1, ..self }
    }
}

/// Turns decoded lengths into offsets, checking they add up to the data length.
fn offsets_from(lens: &[u64], data_len: usize, encoding: &'static str) -> Result<Vec<u64>> {
    // The running sums are kept in 128 bits, where they cannot overflow, and need no check of
    // their own: the last one equal to the data's length puts every one within the data
    // (they never decrease), so each fits its 64-bit offset.
    let mut offsets = Vec::with_capacity(lens.len() + 1);
    let mut acc: u128 = 0;
    offsets.push(0);
    offsets.extend(lens.iter().map(|&l| {
        acc += u128::from(l);
        acc as u64
    }));
    if acc != data_len as u128 {
        return Err(corrupt(
            encoding,
            "string lengths do not add up to the data length",
        ));
    }
    Ok(offsets)
}

/// Decodes a byte-string node.
pub(crate) fn decode(r: &mut Reader<'_>, limits: Limits, nesting: u8) -> Result<ByteValues> {
    if nesting > int::MAX_NESTING {
        return Err(corrupt("cascade", "nesting deeper than any encoder writes"));
    }
    let tag_pos = r.pos();
    let t = r.u8()?;
    let n = r.count(limits.max_values)?;
    let inner = nesting + 1;
    match t {
        tag::PLAIN => {
            let lens = int::decode(r, limits, inner, Some(n))?;
            let len = r.count(MAX_BYTES)?;
            let data = r.take(len)?.to_vec();
            let offsets = offsets_from(&lens, data.len(), "plain strings")?;
            Ok(ByteValues { offsets, data })
        }
        tag::DICTIONARY => {
            let dict = decode(r, limits, inner)?;
            let codes = int::decode(r, limits, inner, Some(n))?;
            // Codes may repeat a long entry up to the count limit: a few bytes can claim terabytes.
            // No encoder writes more than MAX_BYTES in one node, so refuse that before allocating.
            let total = codes.iter().fold(0u64, |acc, &c| {
                let len = usize::try_from(c)
                    .ok()
                    .and_then(|c| dict.get(c))
                    .map_or(0, <[u8]>::len);
                acc.saturating_add(len as u64)
            });
            if total > MAX_BYTES as u64 {
                return Err(corrupt(
                    "string dictionary",
                    format!("values expand to {total} bytes, above the {MAX_BYTES} one node holds"),
                ));
            }
            let mut out = ByteValues::with_capacity(n, total as usize);
            for &c in &codes {
                let v = usize::try_from(c)
                    .ok()
                    .and_then(|c| dict.get(c))
                    .ok_or_else(|| {
                        corrupt(
                            "string dictionary",
                            format!("code {c} outside a dictionary of {}", dict.len()),
                        )
                    })?;
                out.push(v);
            }
            Ok(out)
        }
        tag::FSST => {
            let nsym = usize::from(r.u8()?);
            if nsym > 255 {
                return Err(corrupt("fsst", "more than 255 symbols"));
            }
            // Code `c` expands to `symbols[c][..lens[c]]`; `lens` is 0 for codes past the table
            // (255 is the escape: the next code byte is a literal).
            let mut symbols = [[0u8; 8]; 256];
            let mut lens = [0u8; 256];
            for i in 0..nsym {
                let len = r.u8()?;
                let sym = r.u64()?.to_le_bytes();
                if !(1..=8).contains(&len) {
                    return Err(corrupt("fsst", format!("symbol length {len}")));
                }
                symbols[i] = sym;
                lens[i] = len;
            }
            let clen = int::decode(r, limits, inner, Some(n))?;
            let len = r.count(MAX_BYTES)?;
            let data = r.take(len)?;
            let coffsets = offsets_from(&clen, data.len(), "fsst")?;
            // First pass: check every code and escape, and add up the decoded length.
            let mut total = 0usize;
            for w in coffsets.windows(2) {
                let codes = data.get(w[0] as usize..w[1] as usize).unwrap_or_default();
                let mut i = 0;
                while let Some(&c) = codes.get(i) {
                    if c == 255 {
                        if i + 1 == codes.len() {
                            return Err(corrupt("fsst", "escape at end of string"));
                        }
                        total += 1;
                        i += 2;
                    } else {
                        let l = lens[usize::from(c)];
                        if l == 0 {
                            return Err(corrupt(
                                "fsst",
                                format!("code {c} outside {nsym} symbols"),
                            ));
                        }
                        total += usize::from(l);
                        i += 1;
                    }
                }
            }
            // Second pass: every symbol is copied as 8 bytes (the output has 8 bytes of slack)
            // and the position advances by its length, so no copy has a variable length.
            let mut out = ByteValues::with_capacity(n, 0);
            let mut buf = vec![0u8; total + 8];
            let mut pos = 0usize;
            for w in coffsets.windows(2) {
                let codes = data.get(w[0] as usize..w[1] as usize).unwrap_or_default();
                let mut i = 0;
                while let Some(&c) = codes.get(i) {
                    if c == 255 {
                        if let (Some(dst), Some(&lit)) = (buf.get_mut(pos), codes.get(i + 1)) {
                            *dst = lit;
                        }
                        pos += 1;
                        i += 2;
                    } else {
                        let c = usize::from(c);
                        if let Some(dst) = buf.get_mut(pos..pos + 8) {
                            dst.copy_from_slice(&symbols[c]);
                        }
                        pos += usize::from(lens[c]);
                        i += 1;
                    }
                }
                out.offsets.push(pos as u64);
            }
            buf.truncate(total);
            out.data = buf;
            Ok(out)
        }
        tag::LZ4 => {
            let lens = int::decode(r, limits, inner, Some(n))?;
            let raw_len = r.count(MAX_BYTES)?;
            let clen = r.count(MAX_BYTES)?;
            let compressed = r.take(clen)?;
            // LZ4 cannot expand more than 255x; a larger claim is corrupt, not an allocation.
            if raw_len > compressed.len().saturating_mul(255).saturating_add(16) {
                return Err(corrupt(
                    "lz4 strings",
                    "claimed length impossible for the input",
                ));
            }
            let data = lz4_flex::block::decompress(compressed, raw_len)
                .map_err(|e| corrupt("lz4 strings", e.to_string()))?;
            if data.len() != raw_len {
                return Err(corrupt("lz4 strings", "decompressed length does not match"));
            }
            let offsets = offsets_from(&lens, data.len(), "lz4 strings")?;
            Ok(ByteValues { offsets, data })
        }
        other => Err(CodecError::UnknownTag {
            tag: other,
            offset: tag_pos,
        }),
    }
}
