//! What the operation table is checked against: the the guide's table (every row is there,
//! and nothing else is), the random-program generator's own evaluator (the same values as
//! each row's), and its generator (every row appears in its programs).

use std::collections::HashSet;

use chainrule_compiler::ops::{Arg, Prim, Syntax};
use chainrule_testgen::{operation, Program};

/// The "Supported operations" section of the operations guide (`guide/operations.md`).
fn section() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../guide/operations.md"))
        .expect("guide/operations.md");
    let start = readme.find("## Supported operations").expect("the section");
    let rest = &readme[start + 2..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
}

/// How the guide writes a row's operation.
fn written(prim: Prim) -> String {
    let rule = prim.rule();
    match rule.syntax {
        Syntax::Prefix(symbol) => format!("`{symbol}a`"),
        Syntax::Infix(symbol, _) => format!("`a {symbol} b`"),
        Syntax::Method => format!(".{}(", rule.name),
        Syntax::Function => format!("`{}(", rule.name),
    }
}

#[test]
fn readme_lists_every_operation() {
    let section = section();
    let missing: Vec<String> = Prim::ALL
        .iter()
        .map(|&prim| written(prim))
        .filter(|form| !section.contains(form.as_str()))
        .collect();
    assert!(missing.is_empty(), "the guide's table lacks {missing:?}");
}

#[test]
fn readme_lists_no_other_method() {
    let section = section();
    let table: String = section.lines().filter(|line| line.starts_with('|')).collect();
    let methods: Vec<Prim> = Prim::ALL.to_vec();
    for piece in table.split('.').skip(1) {
        let name: String = piece
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || !piece[name.len()..].starts_with('(') || name.starts_with(char::is_numeric) {
            continue;
        }
        assert!(
            methods
                .iter()
                .any(|p| p.rule().name == name && p.rule().syntax == Syntax::Method),
            "the guide's table names the method `{name}`, which is not a row of the operation table"
        );
    }
}

/// Points inside every operation's domain (`acosh` needs x ≥ 1, `clamp` lo ≤ hi).
const POINTS: &[[f64; 3]] = &[
    [1.25, 0.5, 2.0],
    [3.5, -1.5, 4.0],
    [0.75, 0.25, 1.0],
    [1.5, 2.0, 3.0],
];

#[test]
fn the_generator_evaluates_every_operation_as_its_row_does() {
    for &prim in Prim::ALL {
        let rule = prim.rule();
        if matches!(rule.syntax, Syntax::Prefix(_) | Syntax::Infix(..)) {
            continue; // the generator's evaluator computes operators itself
        }
        for point in POINTS {
            let x: Vec<f64> = point[..rule.args.len()]
                .iter()
                .zip(rule.args)
                .map(|(&v, arg)| if *arg == Arg::Int { v.round() } else { v })
                .collect();
            let expected = (rule.eval)(&x);
            let got = operation(rule.name, &x)
                .unwrap_or_else(|| panic!("the generator's evaluator lacks `{}`", rule.name));
            assert!(
                got.to_bits() == expected.to_bits() || (got.is_nan() && expected.is_nan()),
                "{} at {x:?}: the row gives {expected}, the generator {got}",
                rule.name
            );
        }
    }
}

#[test]
fn the_generator_writes_every_operation() {
    let mut text = String::new();
    for seed in 0..3000 {
        text.push_str(&Program::generate(seed).tokens().to_string());
    }
    let written = |prim: Prim| {
        let rule = prim.rule();
        match rule.syntax {
            Syntax::Prefix(symbol) => {
                text.contains(&format!("({symbol} ")) || text.contains(&format!("= {symbol}"))
            }
            Syntax::Infix(symbol, _) => text.contains(&format!(" {symbol} ")),
            // `x.name(…)`, or `f64::name(x, …)` / `T::name(x, …)`.
            Syntax::Method => {
                text.contains(&format!(". {} (", rule.name))
                    || text.contains(&format!("f64 :: {} (", rule.name))
                    || text.contains(&format!("T :: {} (", rule.name))
            }
            Syntax::Function => text.contains(&format!("{} (", rule.name)),
        }
    };
    let missing: HashSet<&str> = Prim::ALL
        .iter()
        .filter(|&&prim| !written(prim))
        .map(|prim| prim.rule().name)
        .collect();
    assert!(missing.is_empty(), "3,000 random programs never use {missing:?}");
}
