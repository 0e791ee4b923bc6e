//! The predicate model: comparisons of a column with typed literals, combined with AND/OR/NOT.

use std::fmt;

/// A literal as written, before it is checked against a column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer above `i64::MAX` (fits `u64`).
    UInt(u64),
    /// A number with a fraction or exponent.
    Float(f64),
    /// A quoted string (also how timestamps and dates are written).
    String(String),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(v) => write!(f, "{v}"),
            Literal::UInt(v) => write!(f, "{v}"),
            Literal::Float(v) => write!(f, "{v:?}"),
            Literal::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

impl CmpOp {
    /// The operator with its operands swapped (`5 < x` is `x > 5`).
    pub fn swapped(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Eq,
            CmpOp::NotEq => CmpOp::NotEq,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::LtEq => CmpOp::GtEq,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::GtEq => CmpOp::LtEq,
        }
    }

    /// The operator that holds exactly when this one does not (for non-null operands).
    pub fn negated(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::NotEq,
            CmpOp::NotEq => CmpOp::Eq,
            CmpOp::Lt => CmpOp::GtEq,
            CmpOp::LtEq => CmpOp::Gt,
            CmpOp::Gt => CmpOp::LtEq,
            CmpOp::GtEq => CmpOp::Lt,
        }
    }

    /// SQL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "!=",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        }
    }
}

/// A predicate over the columns of one table. Column names are resolved, and literals checked
/// against their types, by [`crate::BoundPredicate::bind`].
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `column op literal`.
    Cmp {
        /// Column name.
        column: String,
        /// Operator.
        op: CmpOp,
        /// Right-hand side.
        value: Literal,
    },
    /// `column BETWEEN low AND high` (inclusive).
    Between {
        /// Column name.
        column: String,
        /// Lower bound, inclusive.
        low: Literal,
        /// Upper bound, inclusive.
        high: Literal,
    },
    /// `column IN (a, b, …)`.
    InList {
        /// Column name.
        column: String,
        /// Candidate values.
        list: Vec<Literal>,
    },
    /// `column IS NULL` (`negated`: `IS NOT NULL`).
    IsNull {
        /// Column name.
        column: String,
        /// True for `IS NOT NULL`.
        negated: bool,
    },
    /// `column LIKE 'prefix%'`.
    StartsWith {
        /// Column name.
        column: String,
        /// The literal prefix.
        prefix: String,
    },
    /// Every child holds.
    And(Vec<Expr>),
    /// Some child holds.
    Or(Vec<Expr>),
    /// The child does not hold (SQL three-valued: NOT of unknown is unknown).
    Not(Box<Expr>),
}

impl Expr {
    /// `column op value`.
    pub fn cmp(column: impl Into<String>, op: CmpOp, value: Literal) -> Expr {
        Expr::Cmp {
            column: column.into(),
            op,
            value,
        }
    }

    /// Conjunction, flattening nested ANDs.
    pub fn and(self, other: Expr) -> Expr {
        match (self, other) {
            (Expr::And(mut a), Expr::And(b)) => {
                a.extend(b);
                Expr::And(a)
            }
            (Expr::And(mut a), b) => {
                a.push(b);
                Expr::And(a)
            }
            (a, b) => Expr::And(vec![a, b]),
        }
    }

    /// Disjunction, flattening nested ORs.
    pub fn or(self, other: Expr) -> Expr {
        match (self, other) {
            (Expr::Or(mut a), Expr::Or(b)) => {
                a.extend(b);
                Expr::Or(a)
            }
            (Expr::Or(mut a), b) => {
                a.push(b);
                Expr::Or(a)
            }
            (a, b) => Expr::Or(vec![a, b]),
        }
    }

    /// Negation.
    #[expect(clippy::should_implement_trait, reason = "builder reads as SQL")]
    pub fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }

    /// Every column name the predicate reads, in first-use order, without duplicates.
    pub fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        self.visit_columns(&mut |c| {
            if !out.contains(&c) {
                out.push(c);
            }
        });
        out
    }

    fn visit_columns<'a>(&'a self, f: &mut impl FnMut(&'a str)) {
        match self {
            Expr::Cmp { column, .. }
            | Expr::Between { column, .. }
            | Expr::InList { column, .. }
            | Expr::IsNull { column, .. }
            | Expr::StartsWith { column, .. } => f(column),
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.visit_columns(f)),
            Expr::Not(e) => e.visit_columns(f),
        }
    }
}

fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !crate::parse::is_keyword(name);
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Cmp { column, op, value } => {
                write!(f, "{} {} {value}", quote_ident(column), op.as_str())
            }
            Expr::Between { column, low, high } => {
                write!(f, "{} BETWEEN {low} AND {high}", quote_ident(column))
            }
            Expr::InList { column, list } => {
                write!(f, "{} IN (", quote_ident(column))?;
                for (i, v) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Expr::IsNull { column, negated } => write!(
                f,
                "{} IS {}NULL",
                quote_ident(column),
                if *negated { "NOT " } else { "" }
            ),
            Expr::StartsWith { column, prefix } => write!(
                f,
                "{} LIKE {}",
                quote_ident(column),
                Literal::String(format!(
                    "{}%",
                    prefix
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                ))
            ),
            Expr::And(v) | Expr::Or(v) => {
                let sep = if matches!(self, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    if matches!(e, Expr::And(_) | Expr::Or(_)) {
                        write!(f, "({e})")?;
                    } else {
                        write!(f, "{e}")?;
                    }
                }
                Ok(())
            }
            Expr::Not(e) => write!(f, "NOT ({e})"),
        }
    }
}
