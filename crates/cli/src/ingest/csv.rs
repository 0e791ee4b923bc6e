//! CSV text as people write it: records split by a delimiter that is detected (`,` `;` tab
//! `|`), UTF-8 or Latin-1 text, null tokens (`NA`, `N/A`, `null`, `NULL`), and column types
//! inferred over a whole file with per-column state only.
//!
//! Records are split here, not by arrow-csv, so that each one keeps the physical line it starts
//! on (for messages) and so that text that is not UTF-8 can be decoded before arrow-csv sees it.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, Read};
use std::path::Path;

use anyhow::{Context, Result, bail};
use arrow_schema::{DataType as ArrowType, TimeUnit as ArrowUnit};

/// The delimiters a file may use, in order of preference when two fit equally well.
const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];
/// Bytes at the start of a file its delimiter is detected from.
const DETECT_BYTES: u64 = 64 * 1024;
/// Records after the header the delimiter is detected from.
const DETECT_RECORDS: usize = 50;

/// Field values that mean null in a column of any type (besides the empty field). `nan` and
/// `NaN` are not among them: they are float values.
const NULL_TOKENS: [&str; 4] = ["NA", "N/A", "null", "NULL"];

/// A string column is stored as a symbol when it has at most this many distinct values...
pub(super) const SYMBOL_MAX_DISTINCT: usize = 256;
/// ...and on average at least this many non-null rows per distinct value, so that a small
/// file of unique names (an airline list) stays plain strings.
pub(super) const SYMBOL_MIN_ROWS_PER_VALUE: u64 = 10;

/// Whether a field value (unquoted) is null.
pub(super) fn is_null_token(value: &str) -> bool {
    value.is_empty() || NULL_TOKENS.contains(&value)
}

/// The delimiter of a file from its header and first records: the one that splits the header
/// into more than one field and the most records into as many fields as the header (ties go
/// to more fields, then to the order `,` tab `;` `|`). `,` when none splits the header.
pub(super) fn detect_delimiter(mut reader: impl Read) -> Result<u8> {
    let mut prefix = Vec::new();
    reader
        .by_ref()
        .take(DETECT_BYTES)
        .read_to_end(&mut prefix)
        .context("reading the start of the file")?;
    let truncated = prefix.len() as u64 == DETECT_BYTES;
    let mut best: Option<(usize, usize, u8)> = None;
    for delimiter in DELIMITERS {
        let mut records = CsvRecords::new(Path::new(""), prefix.as_slice(), delimiter);
        let Ok(Some((_, header))) = records.next_record() else {
            continue;
        };
        let width = count_fields(&header, delimiter);
        if width < 2 {
            continue;
        }
        let mut counts = Vec::new();
        while counts.len() < DETECT_RECORDS {
            match records.next_record() {
                Ok(Some((_, r))) if r.trim().is_empty() => {}
                Ok(Some((_, r))) => counts.push(count_fields(&r, delimiter)),
                // The prefix may end inside a quoted field.
                Ok(None) | Err(_) => break,
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
    Ok(best.map_or(b',', |(_, _, d)| d))
}

/// Where the CSV parser is within a field. A quote opens a quoted field only as the field's
/// first byte (elsewhere it is data, as in arrow-csv's parser); inside a quoted field a doubled
/// quote is one quote character and a newline is data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldState {
    Start,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: it closes the field unless another quote follows.
    QuoteInQuoted,
}

/// What one byte is to the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Byte {
    Data,
    /// A quote that is syntax, not data.
    Quote,
    Delimiter,
    RecordEnd,
}

impl FieldState {
    fn step(&mut self, b: u8, delimiter: u8) -> Byte {
        use FieldState::{QuoteInQuoted, Quoted, Start, Unquoted};
        let (next, byte) = match (*self, b) {
            (Quoted, b'"') => (QuoteInQuoted, Byte::Quote),
            (Quoted, _) => (Quoted, Byte::Data),
            (QuoteInQuoted, b'"') => (Quoted, Byte::Data),
            (Start, b'"') => (Quoted, Byte::Quote),
            (_, b) if b == delimiter => (Start, Byte::Delimiter),
            (_, b'\n') => (Start, Byte::RecordEnd),
            (_, _) => (Unquoted, Byte::Data),
        };
        *self = next;
        byte
    }
}

/// How the bytes of a file are read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    /// ISO-8859-1: each byte is the code point of the same value.
    Latin1,
}

/// Reads CSV records one at a time, each with the 1-based physical line it starts on. A
/// newline inside a quoted field belongs to the field. Line ends (`\n` or `\r\n`) are not part
/// of a record, nor is a UTF-8 byte order mark at the start of the file.
///
/// Text is UTF-8 until a record is not: if no record before it held anything but ASCII (which
/// both encodings read the same), the file is Latin-1 from there on; otherwise it is an error.
pub(super) struct CsvRecords<R> {
    /// The file, for messages.
    path: String,
    reader: R,
    delimiter: u8,
    line: usize,
    buf: Vec<u8>,
    encoding: Encoding,
    /// A record read so far held UTF-8 text beyond ASCII.
    seen_utf8: bool,
    /// The last record switched the encoding to Latin-1.
    switched: bool,
}

impl<R: BufRead> CsvRecords<R> {
    pub(super) fn new(path: &Path, reader: R, delimiter: u8) -> Self {
        Self {
            path: path.display().to_string(),
            reader,
            delimiter,
            line: 0,
            buf: Vec::new(),
            encoding: Encoding::Utf8,
            seen_utf8: false,
            switched: false,
        }
    }

    /// True once, after the record that found the file is not UTF-8 (read as Latin-1).
    pub(super) fn switched_to_latin1(&mut self) -> bool {
        std::mem::take(&mut self.switched)
    }

    /// The next record, `None` at the end. An unterminated quoted field, text that is neither
    /// UTF-8 nor Latin-1 or a read error is an error naming the line.
    pub(super) fn next_record(&mut self) -> Result<Option<(usize, String)>> {
        self.buf.clear();
        let start = self.line + 1;
        let mut state = FieldState::Start;
        let mut scanned = 0;
        loop {
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .with_context(|| format!("{}:{start}: reading", self.path))?;
            if n == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                if state == FieldState::Quoted {
                    bail!("{}:{start}: unterminated quoted field", self.path);
                }
                break;
            }
            if self.line == 0 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.buf.drain(..3);
            }
            self.line += 1;
            let delimiter = self.delimiter;
            let ended = self
                .buf
                .get(scanned..)
                .unwrap_or_default()
                .iter()
                .any(|b| state.step(*b, delimiter) == Byte::RecordEnd);
            scanned = self.buf.len();
            if ended {
                self.buf.pop();
                break;
            }
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let text = match self.encoding {
            Encoding::Latin1 => latin1(&self.buf),
            Encoding::Utf8 => match std::str::from_utf8(&self.buf) {
                Ok(t) => {
                    self.seen_utf8 |= !t.is_ascii();
                    t.to_string()
                }
                Err(e) if self.seen_utf8 => bail!(
                    "{}:{start}: not UTF-8 text (at byte {} of the record), though lines \
                     before it are",
                    self.path,
                    e.valid_up_to()
                ),
                Err(_) => {
                    self.encoding = Encoding::Latin1;
                    self.switched = true;
                    latin1(&self.buf)
                }
            },
        };
        Ok(Some((start, text)))
    }
}

/// ISO-8859-1 text: every byte is the code point of its value.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

/// Calls `each` with the index and unquoted value of every field of one record.
fn for_each_field(
    record: &str,
    delimiter: u8,
    field: &mut Vec<u8>,
    mut each: impl FnMut(usize, &str),
) {
    let mut state = FieldState::Start;
    let mut i = 0;
    field.clear();
    for b in record.bytes() {
        match state.step(b, delimiter) {
            Byte::Data => field.push(b),
            Byte::Quote => {}
            Byte::Delimiter | Byte::RecordEnd => {
                // Split at ASCII bytes, so the field is whole UTF-8.
                each(i, std::str::from_utf8(field).unwrap_or_default());
                field.clear();
                i += 1;
            }
        }
    }
    each(i, std::str::from_utf8(field).unwrap_or_default());
}

/// The fields of one CSV record, unquoted (used for the header).
pub(super) fn header_names(header: &str, delimiter: u8) -> Vec<String> {
    let mut names = Vec::new();
    for_each_field(header, delimiter, &mut Vec::new(), |_, v| {
        names.push(v.to_string());
    });
    names
}

/// The number of fields of one CSV record (delimiters inside quoted fields do not count).
pub(super) fn count_fields(record: &str, delimiter: u8) -> usize {
    let mut state = FieldState::Start;
    1 + record
        .bytes()
        .filter(|b| state.step(*b, delimiter) == Byte::Delimiter)
        .count()
}

/// Appends one record to `out` with the fields that are null tokens left empty (arrow-csv reads
/// an empty field as null in a column of any type).
pub(super) fn push_without_null_tokens(out: &mut String, record: &str, delimiter: u8) {
    let mut state = FieldState::Start;
    let mut start = 0;
    let push = |out: &mut String, raw: &str| {
        let value = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw);
        if value.is_empty() || !is_null_token(value) {
            out.push_str(raw);
        }
    };
    for (i, b) in record.bytes().enumerate() {
        if state.step(b, delimiter) == Byte::Delimiter {
            push(out, record.get(start..i).unwrap_or_default());
            out.push(char::from(delimiter));
            start = i + 1;
        }
    }
    push(out, record.get(start..).unwrap_or_default());
}

/// What kind of value a field holds, as arrow-csv's schema inference classifies it (the same
/// patterns, in the same order); each is a bit in [`ColumnInference::kinds`].
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
}

fn value_kind(v: &str) -> u16 {
    let b = v.as_bytes();
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        kind::BOOLEAN
    } else if is_integer(b) {
        // An integer beyond i64 stays text.
        if b.len() >= 19 && v.parse::<i64>().is_err() {
            kind::TEXT
        } else {
            kind::INTEGER
        }
    } else if is_decimal(b) || matches!(v, "NaN" | "nan" | "inf" | "-inf") {
        kind::FLOAT
    } else {
        temporal_kind(b).unwrap_or(kind::TEXT)
    }
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

/// `\d{4}-\d\d-\d\d` (a date) or that followed by `[T ]\d\d:\d\d:\d\d`, an optional fraction
/// and anything not starting with a digit (a timestamp, by the fraction's precision).
fn temporal_kind(b: &[u8]) -> Option<u16> {
    let is = |i: usize, f: fn(&u8) -> bool| b.get(i).is_some_and(f);
    let digit = |i: usize| is(i, u8::is_ascii_digit);
    let date = (0..4).all(digit)
        && is(4, |c| *c == b'-')
        && digit(5)
        && digit(6)
        && is(7, |c| *c == b'-')
        && digit(8)
        && digit(9);
    if !date {
        return None;
    }
    if b.len() == 10 {
        return Some(kind::DATE);
    }
    let time = is(10, |c| matches!(c, b'T' | b' '))
        && digit(11)
        && digit(12)
        && is(13, |c| *c == b':')
        && digit(14)
        && digit(15)
        && is(16, |c| *c == b':')
        && digit(17)
        && digit(18);
    if !time {
        return None;
    }
    let rest = b.get(19..).unwrap_or_default();
    match rest.strip_prefix(b".") {
        None if rest.first().is_some_and(u8::is_ascii_digit) => None,
        None => Some(kind::SECONDS),
        Some(fraction) => match digits(fraction) {
            1..=3 => Some(kind::MILLIS),
            4..=6 => Some(kind::MICROS),
            7..=9 => Some(kind::NANOS),
            _ => None,
        },
    }
}

/// What the values of one column seen so far allow: the kinds of value seen (the column's type
/// is the narrowest that holds them all) and the distinct values, up to a cap.
#[derive(Debug, Clone)]
pub(super) struct ColumnInference {
    kinds: u16,
    non_null: u64,
    /// Hashes of the distinct values while there are at most [`SYMBOL_MAX_DISTINCT`].
    distinct: Option<HashSet<u64>>,
}

impl Default for ColumnInference {
    fn default() -> Self {
        Self {
            kinds: 0,
            non_null: 0,
            distinct: Some(HashSet::new()),
        }
    }
}

impl ColumnInference {
    /// Takes one (unquoted) value into account.
    pub(super) fn update(&mut self, value: &str) {
        if is_null_token(value) {
            return;
        }
        self.non_null += 1;
        self.kinds |= value_kind(value);
        if let Some(set) = &mut self.distinct {
            let mut h = std::hash::DefaultHasher::new();
            value.hash(&mut h);
            set.insert(h.finish());
            if set.len() > SYMBOL_MAX_DISTINCT {
                self.distinct = None;
            }
        }
    }

    /// The narrowest type that holds every value seen, widening as arrow-csv does: integers
    /// and decimals to Float64, dates and timestamps to the finest timestamp, anything else
    /// (and a column of nulls only) to Utf8.
    pub(super) fn data_type(&self) -> ArrowType {
        use kind::{BOOLEAN, DATE, FLOAT, INTEGER, MICROS, MILLIS, NANOS, SECONDS};
        let temporal = DATE | SECONDS | MILLIS | MICROS | NANOS;
        match self.kinds {
            BOOLEAN => ArrowType::Boolean,
            INTEGER => ArrowType::Int64,
            k if k == FLOAT || k == INTEGER | FLOAT => ArrowType::Float64,
            DATE => ArrowType::Date32,
            k if k != 0 && k & !temporal == 0 => {
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

    /// Whether a string column with these values is better stored as a symbol: at most
    /// [`SYMBOL_MAX_DISTINCT`] distinct values, each on at least
    /// [`SYMBOL_MIN_ROWS_PER_VALUE`] non-null rows on average.
    pub(super) fn few_distinct(&self) -> bool {
        self.distinct.as_ref().is_some_and(|d| {
            !d.is_empty() && d.len() as u64 * SYMBOL_MIN_ROWS_PER_VALUE <= self.non_null
        })
    }
}

/// Per-column inference over the records of a file, one record at a time.
pub(super) struct FileInference {
    pub(super) columns: Vec<ColumnInference>,
    delimiter: u8,
    field: Vec<u8>,
}

impl FileInference {
    pub(super) fn new(width: usize, delimiter: u8) -> Self {
        Self {
            columns: vec![ColumnInference::default(); width],
            delimiter,
            field: Vec::new(),
        }
    }

    /// Takes one record into account; a record with another number of fields than the
    /// header is left out (reading it reports or skips it).
    pub(super) fn update(&mut self, record: &str) {
        if count_fields(record, self.delimiter) != self.columns.len() {
            return;
        }
        let columns = &mut self.columns;
        for_each_field(record, self.delimiter, &mut self.field, |i, v| {
            if let Some(c) = columns.get_mut(i) {
                c.update(v);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_records(
        text: &[u8],
        delimiter: u8,
    ) -> std::result::Result<Vec<(usize, String)>, String> {
        let mut r = CsvRecords::new(Path::new("t.csv"), text, delimiter);
        let mut out = Vec::new();
        loop {
            match r.next_record() {
                Ok(Some(x)) => out.push(x),
                Ok(None) => return Ok(out),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    #[test]
    fn csv_records_keep_quoted_newlines_and_count_physical_lines() {
        let text = "a,b\r\n1,\"x\ny\"\n\n2,\"he said \"\"hi\"\"\n\"\n3,z";
        let got = csv_records(text.as_bytes(), b',').unwrap();
        let want: Vec<(usize, String)> = vec![
            (1, "a,b".into()),
            (2, "1,\"x\ny\"".into()),
            (4, "".into()),
            (5, "2,\"he said \"\"hi\"\"\n\"".into()),
            (7, "3,z".into()),
        ];
        assert_eq!(got, want);
        assert_eq!(
            csv_records(b"a\n1\n", b',').unwrap(),
            vec![(1, "a".to_string()), (2, "1".to_string())]
        );
        // A quote inside an unquoted field is data, as arrow-csv reads it.
        assert_eq!(
            csv_records(b"a,b\n5\" disk,x\n6,y\n", b',').unwrap(),
            vec![
                (1, "a,b".to_string()),
                (2, "5\" disk,x".to_string()),
                (3, "6,y".to_string())
            ]
        );
        // A quote opens a field after the file's own delimiter only.
        assert_eq!(
            csv_records(b"a;b\n1;\"x\ny\"\n", b';').unwrap(),
            vec![(1, "a;b".to_string()), (2, "1;\"x\ny\"".to_string())]
        );
        let e = csv_records(b"a\n1,\"open\n2\n", b',').unwrap_err();
        assert!(e.contains("t.csv:2: unterminated"), "{e}");
    }

    #[test]
    fn csv_records_skip_a_bom_and_read_latin1_when_not_utf8() {
        assert_eq!(
            csv_records(b"\xEF\xBB\xBFts,city\n1,Z\xC3\xBCrich\n", b',').unwrap(),
            vec![(1, "ts,city".to_string()), (2, "1,Zürich".to_string())]
        );
        let mut r = CsvRecords::new(
            Path::new("t.csv"),
            &b"ts,city\n1,Z\xFCrich\n2,\xE9\n"[..],
            b',',
        );
        assert_eq!(r.next_record().unwrap(), Some((1, "ts,city".to_string())));
        assert!(!r.switched_to_latin1());
        assert_eq!(r.next_record().unwrap(), Some((2, "1,Zürich".to_string())));
        assert!(r.switched_to_latin1());
        assert!(!r.switched_to_latin1(), "said once");
        assert_eq!(r.next_record().unwrap(), Some((3, "2,é".to_string())));
        // UTF-8 text, then a line that is not: neither encoding reads the file.
        let e = csv_records(b"ts,city\n1,Z\xC3\xBCrich\n2,Z\xFCrich\n", b',').unwrap_err();
        assert!(e.contains("t.csv:3: not UTF-8 text (at byte 3"), "{e}");
    }

    #[test]
    fn header_names_unquote() {
        assert_eq!(header_names("ts,host", b','), ["ts", "host"]);
        assert_eq!(
            header_names("\"a,b\",\"say \"\"hi\"\"\",c", b','),
            ["a,b", "say \"hi\"", "c"]
        );
        assert_eq!(header_names("a,b\tc", b'\t'), ["a,b", "c"]);
    }

    #[test]
    fn count_fields_ignores_quoted_delimiters() {
        assert_eq!(count_fields("a,b,c", b','), 3);
        assert_eq!(count_fields("", b','), 1);
        assert_eq!(count_fields("5\" disk,\"a,b\"x,c", b','), 3);
        assert_eq!(count_fields("1,\"x, y\",\"\"\"q,\"\"\"", b','), 3);
        assert_eq!(count_fields("1,5;\"x;y\";3", b';'), 3);
    }

    #[test]
    fn delimiters_are_detected_from_the_header_and_records() {
        let d = |t: &str| detect_delimiter(t.as_bytes()).unwrap();
        assert_eq!(d("a,b\n1,2\n"), b',');
        assert_eq!(d("a;b;c\n1,5;2,5;x\n"), b';');
        assert_eq!(d("a\tb\n1\tx,y\n"), b'\t');
        assert_eq!(d("a|b\n1|2\n"), b'|');
        assert_eq!(d("a\n1\n"), b',');
        // Both split the header in two; only the semicolon splits the records alike.
        assert_eq!(d("a;b,c\n1;2\n3;4\n"), b';');
        // A comma inside a quoted field is not a delimiter.
        assert_eq!(d("\"a,b\";c\n\"1,2\";3\n"), b';');
    }

    #[test]
    fn null_tokens_are_emptied() {
        let mut out = String::new();
        push_without_null_tokens(&mut out, "NA;1,5;\"N/A\";null;x;NaN;nan;\"\";NULLS", b';');
        assert_eq!(out, ";1,5;;;x;NaN;nan;\"\";NULLS");
    }

    fn infer(values: &[&str]) -> ColumnInference {
        let mut c = ColumnInference::default();
        for v in values {
            c.update(v);
        }
        c
    }

    #[test]
    fn types_widen_as_arrow_csv_infers_them() {
        let t = |values: &[&str]| infer(values).data_type();
        assert_eq!(t(&["1", "-2", "NA"]), ArrowType::Int64);
        assert_eq!(t(&["1", "1019.5"]), ArrowType::Float64);
        assert_eq!(t(&["1", "nan", "1e5", ".5", "5."]), ArrowType::Float64);
        assert_eq!(t(&["true", "FALSE", "null"]), ArrowType::Boolean);
        assert_eq!(t(&["1", "true"]), ArrowType::Utf8);
        assert_eq!(t(&["1", "x"]), ArrowType::Utf8);
        assert_eq!(t(&["NA", ""]), ArrowType::Utf8);
        assert_eq!(t(&["99999999999999999999"]), ArrowType::Utf8);
        assert_eq!(t(&["2013-01-01"]), ArrowType::Date32);
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
        let two: Vec<&str> = (0..20)
            .map(|i| if i % 2 == 0 { "a" } else { "b" })
            .collect();
        assert!(infer(&two).few_distinct());
        assert!(
            !infer(&two[..19]).few_distinct(),
            "fewer than 10 rows a value"
        );
        let values = |n: usize, distinct: usize| -> Vec<String> {
            (0..n).map(|i| format!("v{}", i % distinct)).collect()
        };
        let few = values(2560, 256);
        assert!(infer(&few.iter().map(String::as_str).collect::<Vec<_>>()).few_distinct());
        let many = values(10_000, 257);
        assert!(!infer(&many.iter().map(String::as_str).collect::<Vec<_>>()).few_distinct());
        assert!(!infer(&["NA", ""]).few_distinct());
    }
}
