//! The text syntax: ASTs and error messages are pinned by snapshots.

use strata_predicate::{CmpOp, Expr, Literal, parse};

fn ast(src: &str) -> String {
    format!("{:#?}", parse(src).unwrap())
}

fn error(src: &str) -> String {
    parse(src).unwrap_err().render(src)
}

#[test]
fn parse_brief_example_builds_conjunction() {
    insta::assert_snapshot!(ast(
        r#"ts >= '2013-03-01T00:00:00Z' AND station = 'Dongsi' AND "PM2.5" > 100"#
    ));
}

#[test]
fn parse_every_form_builds_expected_tree() {
    insta::assert_snapshot!(ast(
        "a BETWEEN -5 AND 2.5 OR b IN ('x', 'it''s') AND NOT c IS NULL OR d IS NOT NULL \
         OR e LIKE 'abc%' OR f NOT LIKE 'x\\%y%' OR g NOT IN (1, 2) OR h NOT BETWEEN 1 AND 2 \
         OR 5 < i OR j <> TRUE OR k = 18446744073709551615 OR l = -9223372036854775808"
    ));
}

#[test]
fn parse_precedence_and_binds_tighter_than_or() {
    let e = parse("a = 1 OR b = 2 AND c = 3").unwrap();
    let expected =
        Expr::cmp("a", CmpOp::Eq, Literal::Int(1)).or(Expr::cmp("b", CmpOp::Eq, Literal::Int(2))
            .and(Expr::cmp("c", CmpOp::Eq, Literal::Int(3))));
    assert_eq!(e, expected);
    let e = parse("(a = 1 OR b = 2) AND c = 3").unwrap();
    assert!(matches!(e, Expr::And(ref v) if v.len() == 2 && matches!(v[0], Expr::Or(_))));
}

#[test]
fn parse_display_round_trips() {
    for src in [
        r#"ts >= '2013-03-01T00:00:00Z' AND station = 'Dongsi' AND "PM2.5" > 100"#,
        "a BETWEEN -5 AND 2.5 OR NOT (b IN ('x', 'y') AND c IS NOT NULL)",
        "e LIKE 'ab\\%c%' AND \"select\" = 'it''s'",
        // A backslash in a LIKE prefix is escaped when printed.
        "e LIKE 'a\\\\b\\_%'",
    ] {
        let e = parse(src).unwrap();
        assert_eq!(parse(&e.to_string()).unwrap(), e, "{src} -> {e}");
    }
}

#[test]
fn parse_bad_input_reports_position() {
    let cases = [
        "",
        "a >",
        "a = 'open",
        "a = NULL",
        "a = b",
        "a BETWEEN 1 2",
        "a IN (1, 2",
        "a LIKE 'a%b'",
        "a = 1 b = 2",
        "(a = 1",
        "a = 1 ?",
        "a IS 5",
        "a = 99999999999999999999999",
        "a = -",
        "a = 1.2.3",
    ];
    let rendered: Vec<String> = cases
        .iter()
        .map(|c| format!("{c:?}\n{}", error(c)))
        .collect();
    insta::assert_snapshot!(rendered.join("\n\n"));
}
