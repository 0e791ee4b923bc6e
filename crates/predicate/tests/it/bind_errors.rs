//! Binding errors: unknown columns, literals of the wrong kind or out of range, LIKE on a
//! non-string column, syntax errors — messages pinned by a snapshot.

use strata_format::{DataType, Field, Schema, TimeUnit};
use strata_predicate::{BoundPredicate, PredicateError};

fn schema() -> Schema {
    Schema::new(vec![
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("d", DataType::Date32, true),
        Field::new("station", DataType::Symbol, true),
        Field::new("PM2.5", DataType::Float32, true),
        Field::new("hour", DataType::UInt8, true),
        Field::new("delay", DataType::Int16, true),
        Field::new("ok", DataType::Boolean, true),
        Field::new("raw", DataType::Binary, true),
    ])
    .unwrap()
}

#[test]
fn bind_bad_predicates_report_typed_errors() {
    let cases = [
        "nope = 1",
        "ts >= 'not a time'",
        "ts >= 1.5",
        "d = '2013-02-30'",
        "station = 3",
        "\"PM2.5\" > 'high'",
        "hour = 256",
        "hour = -1",
        "hour IN (1, 2, 300)",
        "delay BETWEEN -40000 AND 0",
        "delay = 18446744073709551615",
        "ok = 1",
        "hour LIKE '1%'",
        "station = 'a' AND missing IS NULL",
        "ts >",
    ];
    let mut out = Vec::new();
    for c in cases {
        let e = BoundPredicate::parse_and_bind(c, &schema()).unwrap_err();
        let kind = match &e {
            PredicateError::UnknownColumn { .. } => "UnknownColumn",
            PredicateError::TypeMismatch { .. } => "TypeMismatch",
            PredicateError::Parse(_) => "Parse",
            _ => "other",
        };
        out.push(format!("{c}\n  {kind}: {e}"));
    }
    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn bind_good_predicates_accept_every_literal_form() {
    for ok in [
        "ts >= '2013-03-01T00:00:00Z' AND ts < '2013-03-02'",
        "ts = '2013-03-01 12:30:00.123456'",
        "ts > '2013-03-01T08:00:00+08:00'",
        "ts > 0",
        "d = '2013-02-28'",
        "station IN ('Dongsi', 'Tiantan') OR station LIKE 'Wan%'",
        "\"PM2.5\" > 100 AND \"PM2.5\" <= 2.5e2",
        "hour BETWEEN 0 AND 255",
        "delay >= -32768",
        "ok = TRUE OR ok IS NULL",
        "raw = 'bytes' OR raw LIKE 'b%'",
    ] {
        let p = BoundPredicate::parse_and_bind(ok, &schema()).unwrap();
        assert_eq!(
            p.to_string(),
            strata_predicate::parse(ok).unwrap().to_string()
        );
    }
}
