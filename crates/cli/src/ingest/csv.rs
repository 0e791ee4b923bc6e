//! CSV text as people write it: the dialect (delimiter `,` `;` tab `|`, quote, escape, header
//! or none, comment lines before the header) detected per file or given by flags, the text
//! decoded from its encoding, null tokens, and column types inferred over a whole file with
//! per-column state only.
//!
//! Records are split by the `csv` crate, whose `csv-core` state machine is the one arrow-csv
//! splits with, not by arrow-csv's reader: ingest needs what that reader does not give, namely
//! the physical line each record starts on (arrow-csv counts records per batch, so a quoted
//! newline, a blank line or a skipped row shifts its numbers), one bad record skipped without
//! losing its batch, and the bytes before they are text, so that a byte that is not UTF-8 is
//! reported where it is. The `csv` crate's own positions lag a line after a CRLF and count
//! blank lines into the next record, so [`TextReader`] notes where each line starts as it
//! decodes and [`CsvRecords`] takes line numbers from that. Values become Arrow arrays a
//! column at a time through arrow-cast, with the parsers arrow-csv uses ([`ChunkBuilder`]).
//!
//! Encodings go through `encoding_rs`. By default the text is UTF-8, and a file whose first
//! byte that is not UTF-8 comes before any UTF-8 text beyond ASCII is read as windows-1252
//! from there on (a note says so; both read ASCII alike); a UTF-16 byte order mark is
//! followed. With `--encoding utf-8`, and in a file that was UTF-8 until then, such a byte
//! makes its record bad: an error naming file, line and byte offset, or a skipped row.

use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow_cast::CastOptions;
use arrow_cast::parse::Parser;
use arrow_schema::{DataType as ArrowType, SchemaRef, TimeUnit as ArrowUnit};

/// The delimiters a file may use, in order of preference when two fit equally well.
const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];
/// Bytes at the start of a file its dialect is detected from.
const DETECT_BYTES: u64 = 64 * 1024;
/// Records after the header the delimiter is detected from.
const DETECT_RECORDS: usize = 50;
/// Bytes read from the input at a time.
const READ_BYTES: u64 = 64 * 1024;

/// Field values that mean null in a column of any type (besides the empty field).
const NULL_TOKENS: [&str; 4] = ["NA", "N/A", "null", "NULL"];
/// Field values that mean null in a float column (and make a column of numbers a float one).
const NAN_TOKENS: [&str; 3] = ["NaN", "nan", "NAN"];

/// A string column is stored as a symbol when it has at most this many distinct values (the
/// memtable's symbol cardinality limit)...
pub(super) const SYMBOL_MAX_DISTINCT: usize = 65_536;
/// ...and at least this many rows per distinct value, so that a column of unique names stays
/// plain strings. The rule is the segment benchmark's.
pub(super) const SYMBOL_ROWS_PER_DISTINCT: u64 = 8;

/// How the bytes of a file become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextEncoding {
    /// UTF-8, or windows-1252 for a file that is not UTF-8 from its first byte beyond ASCII.
    Auto,
    /// UTF-8 only: a byte that is not UTF-8 makes its record bad.
    Utf8,
    /// Any encoding `encoding_rs` knows by a WHATWG label (`latin1` and `iso-8859-1` are
    /// windows-1252, as browsers read them).
    Other(&'static encoding_rs::Encoding),
}

impl TextEncoding {
    /// The encoding a `--encoding` label names.
    pub(super) fn from_label(label: &str) -> Result<Self> {
        let e = encoding_rs::Encoding::for_label(label.trim().as_bytes()).with_context(|| {
            format!(
                "--encoding: unknown encoding {label:?} (e.g. utf-8, latin1, windows-1252, \
                 iso-8859-15, shift_jis, utf-16le)"
            )
        })?;
        Ok(if e == encoding_rs::UTF_8 {
            Self::Utf8
        } else {
            Self::Other(e)
        })
    }
}

/// What the user said about the dialect; `None` fields are detected per file.
#[derive(Debug, Clone)]
pub(super) struct CsvOptions {
    pub(super) delimiter: Option<u8>,
    /// The quote character; `Some(None)` turns quoting off.
    pub(super) quote: Option<Option<u8>>,
    pub(super) escape: Option<u8>,
    pub(super) comment: Option<u8>,
    /// Whether the first record is a header; `None` detects it.
    pub(super) header: Option<bool>,
    /// Null tokens besides the built-in ones.
    pub(super) nulls: Vec<String>,
    pub(super) encoding: TextEncoding,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: None,
            quote: None,
            escape: None,
            comment: None,
            header: None,
            nulls: Vec::new(),
            encoding: TextEncoding::Auto,
        }
    }
}

impl CsvOptions {
    /// Whether a (raw) field value is null in a column read as `ty`.
    fn is_null(&self, value: &str, ty: &ArrowType) -> bool {
        let v = if *ty == ArrowType::Utf8 {
            value
        } else {
            value.trim()
        };
        v.is_empty()
            || NULL_TOKENS.contains(&v)
            || self.nulls.iter().any(|n| n == v)
            || (matches!(
                ty,
                ArrowType::Float64 | ArrowType::Float32 | ArrowType::Float16
            ) && NAN_TOKENS.contains(&v))
    }
}

/// The dialect of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Dialect {
    pub(super) delimiter: u8,
    pub(super) quote: Option<u8>,
    pub(super) escape: Option<u8>,
    pub(super) comment: Option<u8>,
    /// Lines starting with `#` before the header are skipped (when no comment character is
    /// given): a preamble of notes, as some exporters write.
    pub(super) preamble: bool,
}

/// The dialect of a file from the options and its first [`DETECT_BYTES`]: the delimiter that
/// splits the header into more than one field and the most records into as many fields as
/// the header (ties go to more fields, then to the order `,` tab `;` `|`), `,` when none
/// splits the header; a preamble when the first line starts with `#`.
pub(super) fn detect_dialect(raw: impl Read, options: &CsvOptions, tsv: bool) -> Result<Dialect> {
    let mut prefix = Vec::new();
    raw.take(DETECT_BYTES)
        .read_to_end(&mut prefix)
        .context("reading the start of the file")?;
    let mut text = Vec::new();
    TextReader::new(
        Box::new(std::io::Cursor::new(prefix)),
        options.encoding,
        options.comment,
    )
    .read_to_end(&mut text)
    .context("reading the start of the file")?;
    let truncated = text.len() as u64 >= DETECT_BYTES;
    let preamble = options.comment.is_none() && text.first() == Some(&b'#');
    let mut dialect = Dialect {
        delimiter: options.delimiter.unwrap_or(if tsv { b'\t' } else { b',' }),
        quote: options.quote.unwrap_or(Some(b'"')),
        escape: options.escape,
        comment: options.comment,
        preamble,
    };
    if options.delimiter.is_some() || tsv {
        return Ok(dialect);
    }
    let body = if preamble {
        skip_preamble_bytes(&text)
    } else {
        &text[..]
    };
    let mut best: Option<(usize, usize, u8)> = None;
    for delimiter in DELIMITERS {
        let d = Dialect {
            delimiter,
            ..dialect
        };
        let mut reader = csv_reader(&d).from_reader(body);
        let mut record = csv::ByteRecord::new();
        if !matches!(reader.read_byte_record(&mut record), Ok(true)) {
            continue;
        }
        let width = record.len();
        if width < 2 {
            continue;
        }
        let mut counts = Vec::new();
        while counts.len() < DETECT_RECORDS {
            match reader.read_byte_record(&mut record) {
                Ok(true) => counts.push(record.len()),
                Ok(false) | Err(_) => break,
            }
        }
        // The prefix may end inside the last record.
        if truncated && counts.len() < DETECT_RECORDS {
            counts.pop();
        }
        let consistent = counts.iter().filter(|n| **n == width).count();
        if best.is_none_or(|(c, w, _)| (consistent, width) > (c, w)) {
            best = Some((consistent, width, delimiter));
        }
    }
    if let Some((_, _, d)) = best {
        dialect.delimiter = d;
    }
    Ok(dialect)
}

/// The text after the leading lines that start with `#`.
fn skip_preamble_bytes(text: &[u8]) -> &[u8] {
    let mut rest = text;
    while rest.first() == Some(&b'#') {
        match rest.iter().position(|b| *b == b'\n') {
            Some(i) => rest = rest.get(i + 1..).unwrap_or_default(),
            None => return &[],
        }
    }
    rest
}

fn csv_reader(d: &Dialect) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    b.has_headers(false)
        .flexible(true)
        .delimiter(d.delimiter)
        .quoting(d.quote.is_some())
        .quote(d.quote.unwrap_or(b'"'))
        .double_quote(true)
        .escape(d.escape)
        .comment(d.comment)
        .buffer_capacity(64 * 1024);
    b
}

/// A byte sequence that is not text in the file's encoding.
#[derive(Debug, Clone, Copy)]
struct Invalid {
    /// Where it is in the text handed out (each bad byte is handed out as one `?`).
    text_offset: u64,
    /// Where it is in the file (in the decompressed bytes of a `.gz`).
    file_offset: u64,
}

/// A line of the text handed out: where it starts and whether the CSV reader skips it before
/// a record (empty, or a comment line).
#[derive(Debug, Clone, Copy)]
struct LineEnd {
    start: u64,
    skipped: bool,
}

enum Decoding {
    Utf8 {
        /// An invalid byte switches to windows-1252 while no text beyond ASCII was seen.
        may_switch: bool,
    },
    Other(encoding_rs::Decoder),
}

/// Bytes in, UTF-8 text out, one-for-one while the input is UTF-8 (so byte offsets stay the
/// file's), with the lines and the invalid bytes noted for [`CsvRecords`].
pub(super) struct TextReader {
    inner: Box<dyn Read>,
    decoding: Decoding,
    comment: Option<u8>,
    /// Bytes read, not yet decoded.
    pending: Vec<u8>,
    /// Text decoded, handed out from `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
    /// File offset of `pending[0]`.
    in_offset: u64,
    /// Bytes of text produced so far.
    text_len: u64,
    started: bool,
    eof: bool,
    non_ascii: bool,
    invalid: VecDeque<Invalid>,
    lines: VecDeque<LineEnd>,
    line_start: u64,
    line_first: Option<u8>,
    /// The last byte produced was a CR.
    pending_cr: bool,
    /// The last byte produced that is not whitespace.
    last_significant: Option<u8>,
    /// What the reader decided about the encoding, to tell once.
    note: Option<String>,
}

impl TextReader {
    pub(super) fn new(inner: Box<dyn Read>, encoding: TextEncoding, comment: Option<u8>) -> Self {
        let decoding = match encoding {
            TextEncoding::Auto => Decoding::Utf8 { may_switch: true },
            TextEncoding::Utf8 => Decoding::Utf8 { may_switch: false },
            // BOM sniffing: a byte order mark overrides the label, as in browsers.
            TextEncoding::Other(e) => Decoding::Other(e.new_decoder()),
        };
        Self {
            inner,
            decoding,
            comment,
            pending: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            in_offset: 0,
            text_len: 0,
            started: false,
            eof: false,
            non_ascii: false,
            invalid: VecDeque::new(),
            lines: VecDeque::new(),
            line_start: 0,
            line_first: None,
            pending_cr: false,
            last_significant: None,
            note: None,
        }
    }

    /// What was decided about the encoding (once).
    pub(super) fn take_note(&mut self) -> Option<String> {
        self.note.take()
    }

    fn push(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let offset = self.text_len + i as u64;
            // A CR not followed by LF ends a line too (the CSV reader ends a record there).
            if self.pending_cr && *b != b'\n' {
                self.end_line(offset - 1);
            }
            self.pending_cr = *b == b'\r';
            if self.line_first.is_none() {
                self.line_first = Some(*b);
            }
            if *b == b'\n' {
                self.end_line(offset);
            }
        }
        if let Some(b) = bytes.iter().rev().find(|b| !b.is_ascii_whitespace()) {
            self.last_significant = Some(*b);
        }
        self.text_len += bytes.len() as u64;
        self.out.extend_from_slice(bytes);
    }

    /// Notes the line that ends with the terminator byte at `at`.
    fn end_line(&mut self, at: u64) {
        let len = at.saturating_sub(self.line_start);
        let skipped = len == 0
            || (len == 1 && self.line_first == Some(b'\r'))
            || (self.comment.is_some() && self.line_first == self.comment);
        self.lines.push_back(LineEnd {
            start: self.line_start,
            skipped,
        });
        self.line_start = at + 1;
        self.line_first = None;
    }

    /// Reads and decodes until there is text to hand out or the input is done.
    fn fill(&mut self) -> std::io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() && !(self.eof && self.pending.is_empty()) {
            if !self.eof {
                let before = self.pending.len();
                self.inner
                    .by_ref()
                    .take(READ_BYTES)
                    .read_to_end(&mut self.pending)?;
                self.eof = self.pending.len() == before;
            }
            if !self.started {
                self.start();
            }
            let pending = std::mem::take(&mut self.pending);
            let used = if matches!(self.decoding, Decoding::Utf8 { .. }) {
                self.decode_utf8(&pending)
            } else {
                self.decode_other(&pending)
            };
            self.pending = pending;
            self.pending.drain(..used.min(self.pending.len()));
            self.in_offset += used as u64;
        }
        Ok(())
    }

    /// Skips a UTF-8 byte order mark, or follows a UTF-16 one.
    fn start(&mut self) {
        if self.pending.len() < 3 && !self.eof {
            return;
        }
        self.started = true;
        if !matches!(self.decoding, Decoding::Utf8 { .. }) {
            return;
        }
        if self.pending.starts_with(b"\xEF\xBB\xBF") {
            self.pending.drain(..3);
            self.in_offset = 3;
        } else if let Decoding::Utf8 { may_switch: true } = self.decoding
            && let Some((e, _)) = encoding_rs::Encoding::for_bom(&self.pending)
            && e != encoding_rs::UTF_8
        {
            self.decoding = Decoding::Other(e.new_decoder());
            self.note = Some(format!("read as {} (byte order mark)", e.name()));
        }
    }

    /// Decodes UTF-8 from `bytes`; returns how many were used.
    fn decode_utf8(&mut self, bytes: &[u8]) -> usize {
        let mut i = 0;
        while i < bytes.len() {
            let rest = bytes.get(i..).unwrap_or_default();
            let (good, bad) = match std::str::from_utf8(rest) {
                Ok(_) => (rest.len(), None),
                Err(e) => (e.valid_up_to(), Some(e.error_len())),
            };
            let valid = rest.get(..good).unwrap_or_default();
            self.non_ascii |= !valid.is_ascii();
            self.push(valid);
            i += good;
            let n = match bad {
                None => break,
                Some(Some(n)) => n,
                // A character cut by the end of the read: wait for the rest.
                Some(None) if !self.eof => break,
                Some(None) => bytes.len() - i,
            };
            if let Decoding::Utf8 { may_switch: true } = self.decoding
                && !self.non_ascii
            {
                self.decoding =
                    Decoding::Other(encoding_rs::WINDOWS_1252.new_decoder_without_bom_handling());
                self.note = Some(format!(
                    "not UTF-8 (byte {} is 0x{:02X}); read as windows-1252 (Latin-1); pass \
                     --encoding to choose",
                    self.in_offset + i as u64,
                    bytes.get(i).copied().unwrap_or_default()
                ));
                return i + self.decode_other(bytes.get(i..).unwrap_or_default());
            }
            self.invalid.push_back(Invalid {
                text_offset: self.text_len,
                file_offset: self.in_offset + i as u64,
            });
            self.push(&vec![b'?'; n]);
            i += n;
        }
        i
    }

    /// Decodes `bytes` with the decoder; returns how many were used (all of them).
    fn decode_other(&mut self, bytes: &[u8]) -> usize {
        let Decoding::Other(decoder) = &mut self.decoding else {
            return 0;
        };
        let mut out = vec![
            0u8;
            decoder
                .max_utf8_buffer_length(bytes.len())
                .unwrap_or(bytes.len() * 3 + 16)
        ];
        let (_, read, written, _) = decoder.decode_to_utf8(bytes, &mut out, self.eof);
        out.truncate(written);
        self.non_ascii |= !out.is_ascii();
        self.push(&out);
        read
    }

    /// The 1-based line a record whose text starts at `start` begins on: lines that started
    /// before it are done, and the blank and comment lines the CSV reader skipped before it
    /// are passed over.
    fn record_line(&mut self, start: u64, lines_before: &mut usize) -> usize {
        while let Some(l) = self.lines.front() {
            if l.start < start || l.skipped {
                self.lines.pop_front();
                *lines_before += 1;
            } else {
                break;
            }
        }
        *lines_before + 1
    }

    /// The first invalid byte in `[start, end)` of the text, and the lines before it in
    /// that range; invalid bytes before `start` (in skipped lines) are dropped.
    fn invalid_in(&mut self, start: u64, end: u64) -> Option<(Invalid, usize)> {
        while self.invalid.front().is_some_and(|i| i.text_offset < start) {
            self.invalid.pop_front();
        }
        let first = *self.invalid.front().filter(|i| i.text_offset < end)?;
        while self.invalid.front().is_some_and(|i| i.text_offset < end) {
            self.invalid.pop_front();
        }
        let lines = self
            .lines
            .iter()
            .take_while(|l| l.start <= first.text_offset)
            .count()
            .saturating_sub(1);
        Some((first, lines))
    }
}

impl Read for TextReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.out_pos >= self.out.len() {
            self.fill()?;
        }
        let src = self.out.get(self.out_pos..).unwrap_or_default();
        let n = src.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), src.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.out_pos += n;
        Ok(n)
    }
}

/// Why a record is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BadRecord {
    /// A byte that is not text in the file's encoding.
    NotText { line: usize, byte: u64 },
    /// A quoted field still open at the end of the file.
    Unterminated,
}

/// What [`CsvRecords::next`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Next {
    /// A record starting on this line; its fields are [`CsvRecords::record`].
    Record(usize),
    /// A record starting on this line that cannot be read.
    Bad(usize, BadRecord),
    End,
}

/// Reads the CSV records of a file one at a time, each with the 1-based physical line it
/// starts on. Blank lines are skipped (as are comment lines with a comment character).
pub(super) struct CsvRecords {
    reader: csv::Reader<BufReader<TextReader>>,
    quote: Option<u8>,
    /// Text bytes and lines of the preamble, before the CSV reader's first byte.
    preamble_bytes: u64,
    lines_before: usize,
    record: csv::ByteRecord,
    /// A record read ahead (after one with a quoted newline), with its text range.
    ahead: Option<(csv::ByteRecord, u64, u64)>,
    ahead_done: bool,
}

impl CsvRecords {
    pub(super) fn new(
        raw: Box<dyn Read>,
        dialect: &Dialect,
        encoding: TextEncoding,
    ) -> Result<Self> {
        let mut text =
            BufReader::with_capacity(64 * 1024, TextReader::new(raw, encoding, dialect.comment));
        let mut preamble_bytes = 0u64;
        if dialect.preamble {
            let mut line = Vec::new();
            while text.fill_buf().context("reading")?.first() == Some(&b'#') {
                line.clear();
                preamble_bytes += text.read_until(b'\n', &mut line).context("reading")? as u64;
            }
        }
        Ok(Self {
            reader: csv_reader(dialect).from_reader(text),
            quote: dialect.quote,
            preamble_bytes,
            lines_before: 0,
            record: csv::ByteRecord::new(),
            ahead: None,
            ahead_done: false,
        })
    }

    /// The fields of the record [`Self::next`] returned.
    pub(super) fn record(&self) -> &csv::ByteRecord {
        &self.record
    }

    /// What the text reader decided about the encoding (once).
    pub(super) fn take_note(&mut self) -> Option<String> {
        self.reader.get_mut().get_mut().take_note()
    }

    fn read_raw(&mut self, into: &mut csv::ByteRecord) -> Result<Option<(u64, u64)>> {
        let line = self.lines_before + 1;
        if !self
            .reader
            .read_byte_record(into)
            .with_context(|| format!("line {line}: reading"))?
        {
            return Ok(None);
        }
        let start = self.preamble_bytes + into.position().map_or(0, csv::Position::byte);
        let end = self.preamble_bytes + self.reader.position().byte();
        Ok(Some((start, end)))
    }

    /// The next record.
    pub(super) fn next(&mut self) -> Result<Next> {
        let mut record = std::mem::take(&mut self.record);
        let range = match self.ahead.take() {
            Some((r, start, end)) => {
                record = r;
                Some((start, end))
            }
            None if self.ahead_done => None,
            None => self.read_raw(&mut record)?,
        };
        self.record = record;
        let Some((start, end)) = range else {
            return Ok(Next::End);
        };
        let text = self.reader.get_mut().get_mut();
        let line = text.record_line(start, &mut self.lines_before);
        if let Some((bad, lines)) = text.invalid_in(start, end) {
            return Ok(Next::Bad(
                line,
                BadRecord::NotText {
                    line: line + lines,
                    byte: bad.file_offset,
                },
            ));
        }
        // A quoted field with a newline in the last record: if the text does not end with a
        // quote, the field was never closed and swallowed the rest of the file.
        if self.quote.is_some() && self.record.iter().any(|f| f.contains(&b'\n')) {
            let mut next = csv::ByteRecord::new();
            match self.read_raw(&mut next)? {
                Some((s, e)) => self.ahead = Some((next, s, e)),
                None => {
                    self.ahead_done = true;
                    let last = self.reader.get_mut().get_mut().last_significant;
                    if last != self.quote {
                        return Ok(Next::Bad(line, BadRecord::Unterminated));
                    }
                }
            }
        }
        Ok(Next::Record(line))
    }
}

/// A field as text (records are UTF-8 once read: bytes that were not are bad records).
pub(super) fn field(record: &csv::ByteRecord, i: usize) -> &str {
    record
        .get(i)
        .and_then(|f| std::str::from_utf8(f).ok())
        .unwrap_or_default()
}

/// Column names from a header record: empty names become `column_<n>`, repeated ones get
/// `_2`, `_3`, … (1-based positions).
pub(super) fn header_names(header: &csv::ByteRecord) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for i in 0..header.len() {
        let raw = field(header, i).trim();
        let base = if raw.is_empty() {
            format!("column_{}", i + 1)
        } else {
            raw.to_string()
        };
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

/// `column_1`, `column_2`, …: the names of a file without a header.
pub(super) fn positional_names(width: usize) -> Vec<String> {
    (1..=width).map(|i| format!("column_{i}")).collect()
}

/// What kind of value a field holds; each is a bit in [`ColumnInference::kinds`].
mod kind {
    pub(super) const BOOLEAN: u16 = 1 << 0;
    pub(super) const INTEGER: u16 = 1 << 1;
    pub(super) const FLOAT: u16 = 1 << 2;
    pub(super) const DATE: u16 = 1 << 3;
    pub(super) const SECONDS: u16 = 1 << 4;
    pub(super) const MILLIS: u16 = 1 << 5;
    pub(super) const MICROS: u16 = 1 << 6;
    pub(super) const NANOS: u16 = 1 << 7;
    pub(super) const TEXT: u16 = 1 << 8;
    pub(super) const TEMPORAL: u16 = DATE | SECONDS | MILLIS | MICROS | NANOS;
}

/// The kind of one value (trimmed, not null). Numbers and times are recognised by the same
/// arrow-cast parsers that later read them, so a column typed here always reads.
fn value_kind(v: &str) -> u16 {
    let b = v.as_bytes();
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return kind::BOOLEAN;
    }
    if NAN_TOKENS.contains(&v) || matches!(v, "inf" | "-inf" | "Infinity" | "-Infinity") {
        return kind::FLOAT;
    }
    let unsigned = b.strip_prefix(b"-").unwrap_or(b);
    // `00501` is a code (a zip code), not the number 501: it stays text.
    let zero_padded = unsigned.len() > 1
        && unsigned.first() == Some(&b'0')
        && unsigned.get(1).is_some_and(u8::is_ascii_digit);
    if is_integer(b) {
        return if zero_padded || arrow_array::types::Int64Type::parse(v).is_none() {
            kind::TEXT
        } else {
            kind::INTEGER
        };
    }
    if is_decimal(b) {
        return if zero_padded || arrow_array::types::Float64Type::parse(v).is_none() {
            kind::TEXT
        } else {
            kind::FLOAT
        };
    }
    temporal_kind(v).unwrap_or(kind::TEXT)
}

fn digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `-?\d+`
fn is_integer(b: &[u8]) -> bool {
    let b = b.strip_prefix(b"-").unwrap_or(b);
    !b.is_empty() && digits(b) == b.len()
}

/// `-?((\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?|\d+([eE][-+]?\d+))`
fn is_decimal(b: &[u8]) -> bool {
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let int = digits(b);
    let rest = b.get(int..).unwrap_or_default();
    let (frac, rest) = match rest.strip_prefix(b".") {
        Some(r) => {
            let n = digits(r);
            (Some(n), r.get(n..).unwrap_or_default())
        }
        None => (None, rest),
    };
    let exponent = match rest {
        [] => false,
        [b'e' | b'E', e @ ..] => {
            let e = e.strip_prefix(b"-").or(e.strip_prefix(b"+")).unwrap_or(e);
            if e.is_empty() || digits(e) != e.len() {
                return false;
            }
            true
        }
        _ => return false,
    };
    match frac {
        Some(f) => int + f > 0,
        None => int > 0 && exponent,
    }
}

/// `YYYY-MM-DD` (a date) or a timestamp arrow-cast reads (`YYYY-MM-DD[T ]HH:MM:SS[.f]` with
/// an optional `Z`, offset or zone name; RFC 3339), by the precision of its fraction.
fn temporal_kind(v: &str) -> Option<u16> {
    let b = v.as_bytes();
    let shape = b.len() >= 10
        && b.get(..4).is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        && b.get(4) == Some(&b'-');
    if !shape {
        return None;
    }
    if b.len() == 10 {
        return arrow_array::types::Date32Type::parse(v).map(|_| kind::DATE);
    }
    arrow_cast::parse::string_to_datetime(UTC.as_ref()?, v).ok()?;
    let fraction = match b.get(19) {
        Some(b'.') => digits(b.get(20..).unwrap_or_default()),
        _ => 0,
    };
    Some(match fraction {
        0 => kind::SECONDS,
        1..=3 => kind::MILLIS,
        4..=6 => kind::MICROS,
        _ => kind::NANOS,
    })
}

/// The zone values without one are read in (they stay as written: no shift).
static UTC: std::sync::LazyLock<Option<arrow_array::timezone::Tz>> =
    std::sync::LazyLock::new(|| "+00:00".parse().ok());

/// Whether a (trimmed, not null) value reads as `ty`, for telling a header from data.
fn fits(v: &str, ty: &ArrowType) -> bool {
    let k = value_kind(v);
    match ty {
        ArrowType::Boolean => k == kind::BOOLEAN,
        t if t.is_integer() => k == kind::INTEGER,
        t if t.is_floating() => k & !(kind::INTEGER | kind::FLOAT) == 0,
        ArrowType::Date32 | ArrowType::Date64 => k == kind::DATE,
        ArrowType::Timestamp(_, _) => k & !kind::TEMPORAL == 0,
        _ => true,
    }
}

/// What the values of one column seen so far allow: the kinds of value seen (the column's type
/// is the narrowest that holds them all) and the distinct values, up to a cap.
#[derive(Debug, Clone)]
pub(super) struct ColumnInference {
    kinds: u16,
    rows: u64,
    nulls: u64,
    /// Hashes of the distinct values while there are at most [`SYMBOL_MAX_DISTINCT`].
    distinct: Option<HashSet<u64>>,
}

impl Default for ColumnInference {
    fn default() -> Self {
        Self {
            kinds: 0,
            rows: 0,
            nulls: 0,
            distinct: Some(HashSet::new()),
        }
    }
}

impl ColumnInference {
    /// Takes one raw value into account.
    pub(super) fn update(&mut self, value: &str, options: &CsvOptions) {
        self.rows += 1;
        let v = value.trim();
        if v.is_empty() || NULL_TOKENS.contains(&v) || options.nulls.iter().any(|n| n == v) {
            self.nulls += 1;
            return;
        }
        self.kinds |= value_kind(v);
        if let Some(set) = &mut self.distinct {
            let mut h = std::hash::DefaultHasher::new();
            value.hash(&mut h);
            set.insert(h.finish());
            if set.len() > SYMBOL_MAX_DISTINCT {
                self.distinct = None;
            }
        }
    }

    /// The narrowest type that holds every value seen, widening on conflict: integers and
    /// decimals to Float64, dates and timestamps to the finest timestamp, anything else (and
    /// a column of nulls only) to Utf8.
    pub(super) fn data_type(&self) -> ArrowType {
        use kind::{BOOLEAN, DATE, FLOAT, INTEGER, MICROS, MILLIS, NANOS, TEMPORAL};
        match self.kinds {
            BOOLEAN => ArrowType::Boolean,
            INTEGER => ArrowType::Int64,
            k if k == FLOAT || k == INTEGER | FLOAT => ArrowType::Float64,
            DATE => ArrowType::Date32,
            k if k != 0 && k & !TEMPORAL == 0 => {
                let unit = if k & NANOS != 0 {
                    ArrowUnit::Nanosecond
                } else if k & MICROS != 0 {
                    ArrowUnit::Microsecond
                } else if k & MILLIS != 0 {
                    ArrowUnit::Millisecond
                } else {
                    ArrowUnit::Second
                };
                ArrowType::Timestamp(unit, None)
            }
            _ => ArrowType::Utf8,
        }
    }

    /// Whether every value seen is present (and there was at least one).
    pub(super) fn null_free(&self) -> bool {
        self.rows > 0 && self.nulls == 0
    }

    /// Whether a string column with these values is better stored as a symbol: at most
    /// [`SYMBOL_MAX_DISTINCT`] distinct values and [`SYMBOL_ROWS_PER_DISTINCT`] rows each.
    pub(super) fn few_distinct(&self) -> bool {
        self.distinct.as_ref().is_some_and(|d| {
            !d.is_empty() && d.len() as u64 * SYMBOL_ROWS_PER_DISTINCT <= self.rows
        })
    }
}

/// Per-column inference over the records of a file, and whether its first record is a
/// header.
pub(super) struct FileInference {
    pub(super) columns: Vec<ColumnInference>,
    /// The first record, until the header is decided.
    first: Vec<String>,
    /// Records left out for having another number of fields than the first.
    pub(super) ragged: usize,
}

impl FileInference {
    /// Starts from the first record of a file.
    pub(super) fn new(first: &csv::ByteRecord) -> Self {
        Self {
            columns: vec![ColumnInference::default(); first.len()],
            first: (0..first.len())
                .map(|i| field(first, i).to_string())
                .collect(),
            ragged: 0,
        }
    }

    /// Takes one record after the first into account; one with another number of fields is
    /// left out (reading it reports or skips it).
    pub(super) fn update(&mut self, record: &csv::ByteRecord, options: &CsvOptions) {
        if record.len() != self.columns.len() {
            self.ragged += 1;
            return;
        }
        for (i, c) in self.columns.iter_mut().enumerate() {
            c.update(field(record, i), options);
        }
    }

    /// Decides whether the first record is a header (`forced` if given) and returns the
    /// column names. It is data when some column has a type other than text by the other
    /// records and its value in every such column reads as that type (a file of numbers
    /// without a header); a file of text only is taken to have a header.
    pub(super) fn finish(&mut self, forced: Option<bool>, options: &CsvOptions) -> Vec<String> {
        let header = forced.unwrap_or_else(|| {
            let typed: Vec<(usize, ArrowType)> = self
                .columns
                .iter()
                .map(ColumnInference::data_type)
                .enumerate()
                .filter(|(_, t)| *t != ArrowType::Utf8)
                .collect();
            typed.is_empty()
                || !typed.iter().all(|(i, t)| {
                    self.first
                        .get(*i)
                        .is_some_and(|v| options.is_null(v, t) || fits(v.trim(), t))
                })
        });
        if header {
            let mut r = csv::ByteRecord::new();
            for v in &self.first {
                r.push_field(v.as_bytes());
            }
            header_names(&r)
        } else {
            for (c, v) in self.columns.iter_mut().zip(&self.first) {
                c.update(v, options);
            }
            positional_names(self.columns.len())
        }
    }
}

/// Whether the first record of a later file is its header, given the table's columns: it is
/// when it names them, when some value does not read as its column's type, or when every
/// column is text (unless `forced`).
pub(super) fn is_header(
    first: &csv::ByteRecord,
    schema: &SchemaRef,
    options: &CsvOptions,
    forced: Option<bool>,
) -> bool {
    if let Some(h) = forced {
        return h;
    }
    let names = header_names(first);
    if names
        .iter()
        .map(String::as_str)
        .eq(schema.fields().iter().map(|f| f.name().as_str()))
    {
        return true;
    }
    let typed = schema
        .fields()
        .iter()
        .any(|f| !matches!(f.data_type(), ArrowType::Utf8 | ArrowType::LargeUtf8));
    !typed
        || first.len() != schema.fields().len()
        || schema.fields().iter().enumerate().any(|(i, f)| {
            let v = field(first, i);
            !(options.is_null(v, f.data_type()) || fits(v.trim(), f.data_type()))
        })
}

/// A value that does not read as its column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BadValue {
    /// The line its record starts on.
    pub(super) line: usize,
    pub(super) column: String,
    pub(super) detail: String,
}

/// Builds Arrow batches from records: each column as strings (nulls applied), then cast to
/// its type by arrow-cast (the parsers arrow-csv uses).
pub(super) struct ChunkBuilder {
    schema: SchemaRef,
    columns: Vec<StringBuilder>,
    pub(super) lines: Vec<usize>,
}

impl ChunkBuilder {
    pub(super) fn new(schema: SchemaRef) -> Self {
        let columns = schema
            .fields()
            .iter()
            .map(|_| StringBuilder::new())
            .collect();
        Self {
            schema,
            columns,
            lines: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Adds a record with as many fields as the schema has columns.
    pub(super) fn push(&mut self, record: &csv::ByteRecord, line: usize, options: &CsvOptions) {
        for (i, (b, f)) in self
            .columns
            .iter_mut()
            .zip(self.schema.fields())
            .enumerate()
        {
            let v = field(record, i);
            if options.is_null(v, f.data_type()) {
                b.append_null();
            } else if matches!(f.data_type(), ArrowType::Utf8 | ArrowType::LargeUtf8) {
                b.append_value(v);
            } else {
                b.append_value(v.trim());
            }
        }
        self.lines.push(line);
    }

    /// The batch of the records pushed (none when empty) with their lines, and the number of
    /// records left out. A value that does not read as its column's type (or a null in a
    /// column without nulls) is an error naming the first such record, or with `skip` leaves
    /// its record out.
    pub(super) fn finish(
        &mut self,
        skip: bool,
    ) -> std::result::Result<Option<(RecordBatch, Vec<usize>, usize)>, BadValue> {
        let lines = std::mem::take(&mut self.lines);
        let strings: Vec<StringArray> =
            self.columns.iter_mut().map(StringBuilder::finish).collect();
        if lines.is_empty() {
            return Ok(None);
        }
        let mut bad: Vec<Option<BadValue>> = vec![None; lines.len()];
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(strings.len());
        for (s, f) in strings.iter().zip(self.schema.fields()) {
            let strict = CastOptions {
                safe: false,
                ..CastOptions::default()
            };
            let array: ArrayRef = Arc::new(s.clone());
            let cast = match arrow_cast::cast_with_options(&array, f.data_type(), &strict) {
                Ok(a) => a,
                Err(_) => {
                    // Find the values that do not read: null after a lenient cast.
                    let lenient =
                        arrow_cast::cast(&array, f.data_type()).map_err(|e| BadValue {
                            line: lines.first().copied().unwrap_or_default(),
                            column: f.name().clone(),
                            detail: e.to_string(),
                        })?;
                    for (row, slot) in bad.iter_mut().enumerate() {
                        if slot.is_none() && s.is_valid(row) && lenient.is_null(row) {
                            let value = s.value(row);
                            *slot = Some(BadValue {
                                line: lines.get(row).copied().unwrap_or_default(),
                                column: f.name().clone(),
                                detail: format!("cannot read {value:?} as {}", f.data_type()),
                            });
                        }
                    }
                    lenient
                }
            };
            if !f.is_nullable() {
                for (row, slot) in bad.iter_mut().enumerate() {
                    if slot.is_none() && s.is_null(row) {
                        *slot = Some(BadValue {
                            line: lines.get(row).copied().unwrap_or_default(),
                            column: f.name().clone(),
                            detail: "no value, and the column does not allow nulls".into(),
                        });
                    }
                }
            }
            columns.push(cast);
        }
        let skipped = bad.iter().filter(|b| b.is_some()).count();
        if let Some(first) = bad.iter().flatten().next()
            && !skip
        {
            return Err(first.clone());
        }
        if skipped > 0 {
            let keep = BooleanArray::from(bad.iter().map(Option::is_none).collect::<Vec<_>>());
            columns = columns
                .iter()
                .map(|c| arrow_select::filter::filter(c.as_ref(), &keep))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| BadValue {
                    line: lines.first().copied().unwrap_or_default(),
                    column: String::new(),
                    detail: e.to_string(),
                })?;
        }
        let kept: Vec<usize> = lines
            .iter()
            .zip(&bad)
            .filter(|(_, b)| b.is_none())
            .map(|(l, _)| *l)
            .collect();
        if kept.is_empty() {
            return Ok(Some((
                RecordBatch::new_empty(Arc::clone(&self.schema)),
                kept,
                skipped,
            )));
        }
        let batch =
            RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|e| BadValue {
                line: kept.first().copied().unwrap_or_default(),
                column: String::new(),
                detail: e.to_string(),
            })?;
        Ok(Some((batch, kept, skipped)))
    }
}

/// Reads a whole file's records for tests and the dialect checks.
#[cfg(test)]
fn read_all(text: &[u8], dialect: &Dialect, encoding: TextEncoding) -> Vec<(usize, Vec<String>)> {
    let mut r = CsvRecords::new(
        Box::new(std::io::Cursor::new(text.to_vec())),
        dialect,
        encoding,
    )
    .unwrap();
    let mut out = Vec::new();
    loop {
        match r.next().unwrap() {
            Next::Record(line) => {
                let rec = r.record();
                out.push((
                    line,
                    (0..rec.len()).map(|i| field(rec, i).to_string()).collect(),
                ));
            }
            Next::Bad(line, why) => out.push((line, vec![format!("{why:?}")])),
            Next::End => return out,
        }
    }
}

/// Re-exported for unit tests of the ingest module.
#[cfg(test)]
pub(super) fn dialect(delimiter: u8) -> Dialect {
    Dialect {
        delimiter,
        quote: Some(b'"'),
        escape: None,
        comment: None,
        preamble: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> Vec<(usize, Vec<String>)> {
        read_all(text.as_bytes(), &dialect(b','), TextEncoding::Auto)
    }

    fn row(line: usize, fields: &[&str]) -> (usize, Vec<String>) {
        (line, fields.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn records_count_physical_lines_through_quotes_crlf_and_blank_lines() {
        let got = records("a,b\r\n1,\"x\r\ny\"\r\n\r\n2,\"he said \"\"hi\"\"\n\"\n\n3,z");
        assert_eq!(
            got,
            vec![
                row(1, &["a", "b"]),
                row(2, &["1", "x\r\ny"]),
                row(5, &["2", "he said \"hi\"\n"]),
                row(8, &["3", "z"]),
            ]
        );
        // A quote inside an unquoted field is data.
        assert_eq!(
            records("a,b\n5\" disk,x\n6,y\n"),
            vec![
                row(1, &["a", "b"]),
                row(2, &["5\" disk", "x"]),
                row(3, &["6", "y"])
            ]
        );
    }

    #[test]
    fn records_with_an_unclosed_quote_at_the_end_are_bad() {
        assert_eq!(
            records("a,b\n1,\"open\n2,3\n"),
            vec![row(1, &["a", "b"]), row(2, &["Unterminated"])]
        );
        // Closed at the very end: fine.
        assert_eq!(
            records("a,b\n1,\"x\ny\""),
            vec![row(1, &["a", "b"]), row(2, &["1", "x\ny"])]
        );
    }

    #[test]
    fn preamble_comment_and_escape_dialects() {
        let d = Dialect {
            preamble: true,
            ..dialect(b';')
        };
        assert_eq!(
            read_all(b"# exported\n# by x\na;b\n1;2\n", &d, TextEncoding::Auto),
            vec![row(3, &["a", "b"]), row(4, &["1", "2"])]
        );
        let d = Dialect {
            comment: Some(b'#'),
            escape: Some(b'\\'),
            ..dialect(b',')
        };
        assert_eq!(
            read_all(
                b"a,b\n# note\n1,\"say \\\"hi\\\"\"\n",
                &d,
                TextEncoding::Auto
            ),
            vec![row(1, &["a", "b"]), row(3, &["1", "say \"hi\""])]
        );
    }

    #[test]
    fn text_is_utf8_or_windows_1252_and_bad_bytes_are_found() {
        assert_eq!(
            records("\u{feff}ts,city\n1,Zürich\n"),
            vec![row(1, &["ts", "city"]), row(2, &["1", "Zürich"])]
        );
        // Latin-1 from the first byte beyond ASCII: read as windows-1252.
        let mut r = CsvRecords::new(
            Box::new(&b"ts,city\n1,Z\xFCrich\n2,\x80\n"[..]),
            &dialect(b','),
            TextEncoding::Auto,
        )
        .unwrap();
        assert_eq!(r.next().unwrap(), Next::Record(1));
        assert_eq!(r.next().unwrap(), Next::Record(2));
        assert_eq!(field(r.record(), 1), "Zürich");
        assert!(r.take_note().unwrap().contains("byte 11 is 0xFC"));
        assert_eq!(r.next().unwrap(), Next::Record(3));
        assert_eq!(field(r.record(), 1), "€");
        // UTF-8 text, then a byte that is not: that record is bad, the others read.
        let got = records("ts,city\n1,Z\u{fc}rich\n2,Z\u{fc}rich\n3,x\n");
        assert_eq!(got.len(), 4);
        let text = b"ts,city\n1,Z\xC3\xBCrich\n2,\"Z\xFC\nrich\"\n3,x\n";
        let got = read_all(text, &dialect(b','), TextEncoding::Auto);
        assert_eq!(got[2], row(3, &["NotText { line: 3, byte: 22 }"]));
        assert_eq!(got[3], row(5, &["3", "x"]));
        // Explicit UTF-8 never switches.
        let got = read_all(b"a\n\xFF\n", &dialect(b','), TextEncoding::Utf8);
        assert_eq!(got[1], row(2, &["NotText { line: 2, byte: 2 }"]));
        // Explicit windows-1252 and UTF-16 with a byte order mark.
        let got = read_all(
            b"a\n\xE9\n",
            &dialect(b','),
            TextEncoding::from_label("latin1").unwrap(),
        );
        assert_eq!(got[1], row(2, &["é"]));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a,b\n1,é\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let got = read_all(&utf16, &dialect(b','), TextEncoding::Auto);
        assert_eq!(got, vec![row(1, &["a", "b"]), row(2, &["1", "é"])]);
    }

    #[test]
    fn dialects_are_detected_from_the_header_and_records() {
        let d = |t: &str| {
            detect_dialect(t.as_bytes(), &CsvOptions::default(), false)
                .unwrap()
                .delimiter
        };
        assert_eq!(d("a,b\n1,2\n"), b',');
        assert_eq!(d("a;b;c\n1,5;2,5;x\n"), b';');
        assert_eq!(d("a\tb\n1\tx,y\n"), b'\t');
        assert_eq!(d("a|b\n1|2\n"), b'|');
        assert_eq!(d("a\n1\n"), b',');
        assert_eq!(d("a;b,c\n1;2\n3;4\n"), b';');
        assert_eq!(d("\"a,b\";c\n\"1,2\";3\n"), b';');
        assert_eq!(d("# note; with, stuff\na;b\n1;2\n"), b';');
        let p = detect_dialect(&b"# x\na,b\n"[..], &CsvOptions::default(), false).unwrap();
        assert!(p.preamble);
    }

    fn infer(values: &[&str]) -> ColumnInference {
        let mut c = ColumnInference::default();
        for v in values {
            c.update(v, &CsvOptions::default());
        }
        c
    }

    #[test]
    fn types_widen_on_conflict_and_codes_stay_text() {
        let t = |values: &[&str]| infer(values).data_type();
        assert_eq!(t(&["1", "-2", "NA"]), ArrowType::Int64);
        assert_eq!(t(&["1", "1019.5"]), ArrowType::Float64);
        assert_eq!(t(&["1", "NaN", "1e5", ".5", "5."]), ArrowType::Float64);
        assert_eq!(t(&["true", "FALSE", "null"]), ArrowType::Boolean);
        assert_eq!(t(&["1", "true"]), ArrowType::Utf8);
        assert_eq!(t(&["1", "2.5", "x"]), ArrowType::Utf8);
        assert_eq!(t(&["NA", ""]), ArrowType::Utf8);
        assert_eq!(t(&["99999999999999999999"]), ArrowType::Utf8);
        assert_eq!(t(&["00501", "10001"]), ArrowType::Utf8);
        assert_eq!(t(&["0", "-0", "0.5", "-0.25"]), ArrowType::Float64);
        assert_eq!(t(&["007.5"]), ArrowType::Utf8);
        assert_eq!(t(&[" 1", "2 "]), ArrowType::Int64);
        assert_eq!(t(&["2013-01-01"]), ArrowType::Date32);
        assert_eq!(t(&["2013-02-30"]), ArrowType::Utf8);
        assert_eq!(
            t(&["2013-01-01", "2013-01-01T06:00:00Z"]),
            ArrowType::Timestamp(ArrowUnit::Second, None)
        );
        assert_eq!(
            t(&["2013-01-01 06:00:00.5", "2013-01-01T06:00:00.123456+01:00"]),
            ArrowType::Timestamp(ArrowUnit::Microsecond, None)
        );
        assert_eq!(
            t(&["2013-01-01T06:00:00.123456789"]),
            ArrowType::Timestamp(ArrowUnit::Nanosecond, None)
        );
        assert_eq!(t(&["2013-01-01T06:00:001"]), ArrowType::Utf8);
        assert_eq!(t(&["2013-01-01x"]), ArrowType::Utf8);
        for not_float in ["-", ".", "1e", "e5", "1.2.3", "--1", "1e+"] {
            assert_eq!(t(&[not_float]), ArrowType::Utf8, "{not_float}");
        }
    }

    #[test]
    fn few_distinct_values_over_enough_rows_make_a_symbol() {
        let two: Vec<&str> = (0..16)
            .map(|i| if i % 2 == 0 { "a" } else { "b" })
            .collect();
        assert!(infer(&two).few_distinct());
        assert!(
            !infer(&two[..15]).few_distinct(),
            "fewer than 8 rows a value"
        );
        assert!(!infer(&["NA", ""]).few_distinct());
    }

    /// Bytes that make CSV interesting: syntax, digits, signs, letters of the type words,
    /// date and time separators, and bytes that are not UTF-8 alone.
    const ALPHABET: &[u8] = b",;\t|\"\r\n #01959.-+eEaNTZ:truefalsNA \xC3\xBC\xFC\x80";

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// On any input: records come with increasing lines and end; a column typed by the
        /// inference reads every value of it (no bad value); nothing panics.
        #[test]
        fn any_bytes_read_and_what_is_inferred_reads(
            picks in proptest::collection::vec(0..ALPHABET.len(), 0..300),
            template in proptest::collection::vec(0usize..4, 1..4),
        ) {
            // Mostly well-formed rows (a template of value shapes) with random bytes spliced in.
            let shapes: [&[u8]; 4] = [b"12", b"-3.5", b"2024-03-01T10:00:00Z", b"true"];
            let mut text = Vec::new();
            for (i, p) in picks.iter().enumerate() {
                if i % 7 == 0 {
                    for (j, t) in template.iter().enumerate() {
                        if j > 0 {
                            text.push(b',');
                        }
                        text.extend_from_slice(shapes[*t]);
                    }
                    text.push(b'\n');
                }
                text.push(ALPHABET[*p]);
            }
            let options = CsvOptions::default();
            let dialect = detect_dialect(text.as_slice(), &options, false).unwrap();
            let mut r = CsvRecords::new(
                Box::new(std::io::Cursor::new(text.clone())),
                &dialect,
                TextEncoding::Auto,
            )
            .unwrap();
            let mut last = 0;
            let mut all = Vec::new();
            loop {
                match r.next().unwrap() {
                    Next::End => break,
                    Next::Bad(line, _) => {
                        proptest::prop_assert!(line > last);
                        last = line;
                    }
                    Next::Record(line) => {
                        proptest::prop_assert!(line > last, "line {line} after {last}");
                        last = line;
                        all.push((line, r.record().clone()));
                    }
                }
                proptest::prop_assert!(all.len() <= text.len() + 1);
            }
            let Some(((_, first), rest)) = all.split_first() else {
                return Ok(());
            };
            let mut inference = FileInference::new(first);
            for (_, rec) in rest {
                inference.update(rec, &options);
            }
            let names = inference.finish(None, &options);
            let schema: SchemaRef = Arc::new(arrow_schema::Schema::new(
                names
                    .iter()
                    .zip(&inference.columns)
                    .map(|(n, c)| arrow_schema::Field::new(n, c.data_type(), true))
                    .collect::<Vec<_>>(),
            ));
            let mut chunk = ChunkBuilder::new(Arc::clone(&schema));
            let skip_first = names.first().is_some_and(|n| n != "column_1");
            for (line, rec) in all.iter().skip(usize::from(skip_first)) {
                if rec.len() == schema.fields().len() {
                    chunk.push(rec, *line, &options);
                }
            }
            let read = chunk.finish(false);
            proptest::prop_assert!(read.is_ok(), "{:?} with {schema:?}", read.err());
        }
    }

    fn rec(fields: &[&str]) -> csv::ByteRecord {
        fields.iter().collect()
    }

    #[test]
    fn a_first_record_that_reads_as_the_types_is_data() {
        let o = CsvOptions::default();
        let mut f = FileInference::new(&rec(&["111.8"]));
        f.update(&rec(&["953.9"]), &o);
        assert_eq!(f.finish(None, &o), ["column_1"]);
        assert_eq!(f.columns[0].rows, 2);
        let mut f = FileInference::new(&rec(&["x", "y"]));
        f.update(&rec(&["1", "2"]), &o);
        assert_eq!(f.finish(None, &o), ["x", "y"]);
        // Text only: a header.
        let mut f = FileInference::new(&rec(&["a", ""]));
        f.update(&rec(&["b", "c"]), &o);
        assert_eq!(f.finish(None, &o), ["a", "column_2"]);
        assert_eq!(header_names(&rec(&["a", "a", " a "])), ["a", "a_2", "a_3"]);
    }

    #[test]
    fn chunks_cast_each_column_and_find_bad_values() {
        let schema: SchemaRef = Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new(
                "t",
                ArrowType::Timestamp(ArrowUnit::Millisecond, None),
                false,
            ),
            arrow_schema::Field::new("v", ArrowType::Float64, true),
            arrow_schema::Field::new("s", ArrowType::Utf8, true),
        ]));
        let o = CsvOptions {
            nulls: vec!["-".into()],
            ..CsvOptions::default()
        };
        let mut b = ChunkBuilder::new(Arc::clone(&schema));
        b.push(&rec(&["2020-01-01T00:00:00Z", "NaN", " x "]), 2, &o);
        b.push(&rec(&["2020-01-01 01:00:00", "-", "NA"]), 3, &o);
        b.push(&rec(&["2020-01-01", "oops", "y"]), 4, &o);
        b.push(&rec(&["", "1", "z"]), 5, &o);
        let mut again = ChunkBuilder::new(Arc::clone(&schema));
        for (r, l) in [
            (["2020-01-01T00:00:00Z", "NaN", " x "], 2),
            (["2020-01-01 01:00:00", "-", "NA"], 3),
            (["2020-01-01", "oops", "y"], 4),
            (["", "1", "z"], 5),
        ] {
            again.push(&rec(&r), l, &o);
        }
        let e = b.finish(false).unwrap_err();
        assert_eq!((e.line, e.column.as_str()), (4, "v"));
        assert_eq!(e.detail, "cannot read \"oops\" as Float64");
        let (batch, lines, skipped) = again.finish(true).unwrap().unwrap();
        assert_eq!((batch.num_rows(), lines, skipped), (2, vec![2, 3], 2));
        assert_eq!(batch.column(1).null_count(), 2);
        assert_eq!(batch.column(2).null_count(), 1);
    }
}
