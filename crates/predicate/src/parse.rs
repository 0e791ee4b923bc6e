//! A small SQL-WHERE-like text syntax for predicates.
//!
//! ```text
//! expr      := or
//! or        := and ( OR and )*
//! and       := not ( AND not )*
//! not       := NOT not | '(' expr ')' | predicate
//! predicate := column cmp literal | literal cmp column
//!            | column [NOT] BETWEEN literal AND literal
//!            | column [NOT] IN '(' literal ( ',' literal )* ')'
//!            | column IS [NOT] NULL
//!            | column [NOT] LIKE 'prefix%'
//! cmp       := = | != | <> | < | <= | > | >=
//! column    := identifier | "quoted identifier"
//! literal   := 'string' | [-]number | [-]NaN | [-]inf | [-]infinity | TRUE | FALSE
//! ```
//!
//! Keywords are case-insensitive, and so are the float words `NaN`, `inf` and `infinity`,
//! which are float literals (a column with one of those names is written in double quotes). Timestamps and dates are written as strings
//! (`ts >= '2013-03-01T00:00:00Z'`) and converted when the predicate is bound to a schema.

use std::fmt;

use crate::expr::{CmpOp, Expr, Literal};

/// A syntax error with the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// Byte offset into the source.
    pub offset: usize,
}

impl ParseError {
    /// The error with the source line and a caret under the offending position.
    pub fn render(&self, source: &str) -> String {
        let col = source
            .get(..self.offset.min(source.len()))
            .map_or(0, |s| s.chars().count());
        format!(
            "error at column {}: {}\n  {}\n  {}^",
            col + 1,
            self.message,
            source,
            " ".repeat(col)
        )
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for ParseError {}

const KEYWORDS: [&str; 10] = [
    "AND", "OR", "NOT", "BETWEEN", "IN", "IS", "NULL", "LIKE", "TRUE", "FALSE",
];

/// The bare words that are float literals (`f64::from_str` reads them, in any case).
fn is_float_word(word: &str) -> bool {
    ["nan", "inf", "infinity"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// True for the words the syntax reserves (keywords and float words).
pub(crate) fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word)) || is_float_word(word)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Keyword(&'static str),
    Str(String),
    Number(String),
    Op(CmpOp),
    LParen,
    RParen,
    Comma,
    Minus,
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier `{s}`"),
            Tok::Keyword(k) => format!("keyword {k}"),
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Number(n) => format!("number {n}"),
            Tok::Op(op) => format!("`{}`", op.as_str()),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Minus => "`-`".into(),
            Tok::End => "end of input".into(),
        }
    }
}

fn err(message: impl Into<String>, offset: usize) -> ParseError {
    ParseError {
        message: message.into(),
        offset,
    }
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => out.push((Tok::LParen, start)),
            b')' => out.push((Tok::RParen, start)),
            b',' => out.push((Tok::Comma, start)),
            b'-' => out.push((Tok::Minus, start)),
            b'=' => out.push((Tok::Op(CmpOp::Eq), start)),
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                out.push((Tok::Op(CmpOp::NotEq), start));
                i += 1;
            }
            b'<' => match bytes.get(i + 1) {
                Some(b'=') => {
                    out.push((Tok::Op(CmpOp::LtEq), start));
                    i += 1;
                }
                Some(b'>') => {
                    out.push((Tok::Op(CmpOp::NotEq), start));
                    i += 1;
                }
                _ => out.push((Tok::Op(CmpOp::Lt), start)),
            },
            b'>' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    out.push((Tok::Op(CmpOp::GtEq), start));
                    i += 1;
                } else {
                    out.push((Tok::Op(CmpOp::Gt), start));
                }
            }
            b'\'' | b'"' => {
                let quote = c;
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    let Some(&b) = bytes.get(j) else {
                        let what = if quote == b'\'' {
                            "string"
                        } else {
                            "quoted identifier"
                        };
                        return Err(err(format!("unterminated {what}"), start));
                    };
                    if b == quote {
                        if bytes.get(j + 1) == Some(&quote) {
                            s.push(quote as char);
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    // Copy one whole UTF-8 character.
                    let ch = src[j..].chars().next().unwrap_or('\u{fffd}');
                    s.push(ch);
                    j += ch.len_utf8();
                }
                let tok = if quote == b'\'' {
                    Tok::Str(s)
                } else {
                    Tok::Ident(s)
                };
                out.push((tok, start));
                i = j;
            }
            b'0'..=b'9' | b'.' => {
                let mut j = i;
                while j < bytes.len()
                    && (bytes[j].is_ascii_digit()
                        || bytes[j] == b'.'
                        || matches!(bytes[j], b'e' | b'E')
                        || (matches!(bytes[j], b'+' | b'-') && matches!(bytes[j - 1], b'e' | b'E')))
                {
                    j += 1;
                }
                out.push((Tok::Number(src[i..j].to_string()), start));
                i = j;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i;
                while j < bytes.len()
                    && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'.')
                {
                    j += 1;
                }
                let word = &src[i..j];
                let tok = if is_float_word(word) {
                    Tok::Number(word.to_string())
                } else {
                    KEYWORDS
                        .iter()
                        .find(|k| k.eq_ignore_ascii_case(word))
                        .map_or_else(|| Tok::Ident(word.to_string()), |k| Tok::Keyword(k))
                };
                out.push((tok, start));
                i = j;
                continue;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(err(format!("unexpected character `{ch}`"), start));
            }
        }
        i += 1;
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&Tok::End, |t| &t.0)
    }
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(0, |t| t.1)
    }
    fn next(&mut self) -> (Tok, usize) {
        let t = self.toks.get(self.pos).cloned().unwrap_or((Tok::End, 0));
        self.pos += 1;
        t
    }
    fn eat_keyword(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Tok::Keyword(x) if *x == k) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_keyword(&mut self, k: &str) -> Result<(), ParseError> {
        if self.eat_keyword(k) {
            Ok(())
        } else {
            Err(err(
                format!("expected {k}, found {}", self.peek().describe()),
                self.offset(),
            ))
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.and()?;
        while self.eat_keyword("OR") {
            e = e.or(self.and()?);
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.not()?;
        while self.eat_keyword("AND") {
            e = e.and(self.not()?);
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.eat_keyword("NOT") {
            return Ok(self.not()?.not());
        }
        if *self.peek() == Tok::LParen {
            self.pos += 1;
            let e = self.or()?;
            match self.next() {
                (Tok::RParen, _) => Ok(e),
                (t, at) => Err(err(format!("expected `)`, found {}", t.describe()), at)),
            }
        } else {
            self.predicate()
        }
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        let (t, at) = self.next();
        match t {
            Tok::Str(s) => Ok(Literal::String(s)),
            Tok::Keyword("TRUE") => Ok(Literal::Bool(true)),
            Tok::Keyword("FALSE") => Ok(Literal::Bool(false)),
            Tok::Keyword("NULL") => Err(err(
                "NULL is not a value here; use IS NULL or IS NOT NULL",
                at,
            )),
            Tok::Number(n) => number(&n, false, at),
            Tok::Minus => match self.next() {
                (Tok::Number(n), at2) => number(&n, true, at2),
                (t, at2) => Err(err(
                    format!("expected a number after `-`, found {}", t.describe()),
                    at2,
                )),
            },
            t => Err(err(
                format!("expected a literal, found {}", t.describe()),
                at,
            )),
        }
    }

    fn predicate(&mut self) -> Result<Expr, ParseError> {
        let at = self.offset();
        match self.peek().clone() {
            Tok::Ident(column) => {
                self.pos += 1;
                self.after_column(column)
            }
            Tok::Str(_) | Tok::Number(_) | Tok::Minus | Tok::Keyword("TRUE" | "FALSE") => {
                let value = self.literal()?;
                let (op, op_at) = match self.next() {
                    (Tok::Op(op), a) => (op, a),
                    (t, a) => {
                        return Err(err(
                            format!("expected a comparison, found {}", t.describe()),
                            a,
                        ));
                    }
                };
                match self.next() {
                    (Tok::Ident(column), _) => Ok(Expr::cmp(column, op.swapped(), value)),
                    (t, a) => {
                        let _ = op_at;
                        Err(err(
                            format!("expected a column name, found {}", t.describe()),
                            a,
                        ))
                    }
                }
            }
            t => Err(err(
                format!("expected a column name, found {}", t.describe()),
                at,
            )),
        }
    }

    fn after_column(&mut self, column: String) -> Result<Expr, ParseError> {
        let at = self.offset();
        match self.next().0 {
            Tok::Op(op) => {
                let value_at = self.offset();
                if let Tok::Ident(other) = self.peek() {
                    return Err(err(
                        format!(
                            "comparing two columns (`{column}` and `{other}`) is not supported; compare with a literal"
                        ),
                        value_at,
                    ));
                }
                let value = self.literal()?;
                Ok(Expr::cmp(column, op, value))
            }
            Tok::Keyword("IS") => {
                let negated = self.eat_keyword("NOT");
                self.expect_keyword("NULL")?;
                Ok(Expr::IsNull { column, negated })
            }
            Tok::Keyword("NOT") => {
                let e = match self.next() {
                    (Tok::Keyword("BETWEEN"), _) => self.between(column)?,
                    (Tok::Keyword("IN"), _) => self.in_list(column)?,
                    (Tok::Keyword("LIKE"), _) => self.like(column)?,
                    (t, a) => {
                        return Err(err(
                            format!(
                                "expected BETWEEN, IN or LIKE after NOT, found {}",
                                t.describe()
                            ),
                            a,
                        ));
                    }
                };
                Ok(e.not())
            }
            Tok::Keyword("BETWEEN") => self.between(column),
            Tok::Keyword("IN") => self.in_list(column),
            Tok::Keyword("LIKE") => self.like(column),
            t => Err(err(
                format!(
                    "expected a comparison, BETWEEN, IN, IS or LIKE after `{column}`, found {}",
                    t.describe()
                ),
                at,
            )),
        }
    }

    fn between(&mut self, column: String) -> Result<Expr, ParseError> {
        let low = self.literal()?;
        self.expect_keyword("AND")?;
        let high = self.literal()?;
        Ok(Expr::Between { column, low, high })
    }

    fn in_list(&mut self, column: String) -> Result<Expr, ParseError> {
        match self.next() {
            (Tok::LParen, _) => {}
            (t, a) => {
                return Err(err(
                    format!("expected `(` after IN, found {}", t.describe()),
                    a,
                ));
            }
        }
        let mut list = vec![self.literal()?];
        loop {
            match self.next() {
                (Tok::Comma, _) => list.push(self.literal()?),
                (Tok::RParen, _) => break,
                (t, a) => {
                    return Err(err(
                        format!("expected `,` or `)` in IN list, found {}", t.describe()),
                        a,
                    ));
                }
            }
        }
        Ok(Expr::InList { column, list })
    }

    fn like(&mut self, column: String) -> Result<Expr, ParseError> {
        let (t, at) = self.next();
        let Tok::Str(pattern) = t else {
            return Err(err(
                format!(
                    "expected a pattern string after LIKE, found {}",
                    t.describe()
                ),
                at,
            ));
        };
        let mut prefix = String::new();
        let mut chars = pattern.chars().peekable();
        let mut wildcard_at_end = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e) => prefix.push(e),
                    None => return Err(err("pattern ends with an escape character", at)),
                },
                '%' if chars.peek().is_none() => wildcard_at_end = true,
                '%' | '_' => {
                    return Err(err(
                        "only prefix patterns such as 'abc%' are supported (a wildcard may only end the pattern)",
                        at,
                    ));
                }
                c => prefix.push(c),
            }
        }
        if wildcard_at_end {
            Ok(Expr::StartsWith { column, prefix })
        } else {
            Ok(Expr::cmp(column, CmpOp::Eq, Literal::String(prefix)))
        }
    }
}

fn number(text: &str, negative: bool, at: usize) -> Result<Literal, ParseError> {
    let bad = || err(format!("malformed number `{text}`"), at);
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let v: u128 = text.parse().map_err(|_| bad())?;
        return if negative {
            if v <= i64::MAX as u128 + 1 {
                Ok(Literal::Int((-(v as i128)) as i64))
            } else {
                Err(err(
                    format!("integer -{text} is below the smallest i64"),
                    at,
                ))
            }
        } else if v <= i64::MAX as u128 {
            Ok(Literal::Int(v as i64))
        } else if v <= u64::MAX as u128 {
            Ok(Literal::UInt(v as u64))
        } else {
            Err(err(format!("integer {text} is above the largest u64"), at))
        };
    }
    let v: f64 = text.parse().map_err(|_| bad())?;
    Ok(Literal::Float(if negative { -v } else { v }))
}

/// Parses a predicate.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0 };
    if *p.peek() == Tok::End {
        return Err(err("empty predicate", 0));
    }
    let e = p.or()?;
    match p.next() {
        (Tok::End, _) => Ok(e),
        (t, at) => Err(err(
            format!("unexpected {} after a complete predicate", t.describe()),
            at,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(src: &str) -> Option<f64> {
        match parse(src) {
            Ok(Expr::Cmp {
                value: Literal::Float(v),
                ..
            }) => Some(v),
            _ => None,
        }
    }

    #[test]
    fn float_words_are_float_literals_and_quoted_ones_columns() {
        assert!(float("v = NaN").is_some_and(f64::is_nan));
        assert!(float("v != nan").is_some_and(f64::is_nan));
        assert_eq!(float("v < inf"), Some(f64::INFINITY));
        assert_eq!(float("v > -Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(float("NaN = v").map(f64::is_nan), Some(true));
        // A column named like a float word is written quoted, and displayed quoted.
        assert_eq!(parse("\"nan\" = 1").unwrap().to_string(), "\"nan\" = 1");
        assert_eq!(parse("v = NaN").unwrap().to_string(), "v = NaN");
    }
}
