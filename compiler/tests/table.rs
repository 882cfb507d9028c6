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

/// Forward mode's rule of `name`, by num-dual's dual numbers where num-dual has the
/// operation: the value's `eps` part along the tangent `t`.
fn by_num_dual(name: &str, syntax: Syntax, x: &[f64], t: &[f64]) -> Option<f64> {
    use num_dual::{Dual64, DualNum};
    let d = |k: usize| Dual64::new(x[k], t[k]);
    let out = match (syntax, name, x.len()) {
        (Syntax::Infix("+", _), _, 2) => d(0) + d(1),
        (Syntax::Infix("-", _), _, 2) => d(0) - d(1),
        (Syntax::Infix("*", _), _, 2) => d(0) * d(1),
        (Syntax::Infix("/", _), _, 2) => d(0) / d(1),
        (Syntax::Prefix("-"), _, 1) => -d(0),
        (Syntax::Method, "powi", 2) => d(0).powi(x[1] as i32),
        (Syntax::Method, "powf", 2) => d(0).powd(d(1)),
        (Syntax::Method, "log", 2) => d(0).ln() / d(1).ln(),
        (Syntax::Method, "atan2", 2) => d(0).atan2(d(1)),
        (Syntax::Method, "mul_add", 3) => d(0).mul_add(d(1), d(2)),
        (Syntax::Method, name, 1) => {
            let v = d(0);
            match name {
                "recip" => v.recip(),
                "sqrt" => v.sqrt(),
                "cbrt" => v.cbrt(),
                "exp" => v.exp(),
                "exp2" => v.exp2(),
                "exp_m1" => v.exp_m1(),
                "ln" => v.ln(),
                "log2" => v.log2(),
                "log10" => v.log10(),
                "ln_1p" => v.ln_1p(),
                "sin" => v.sin(),
                "cos" => v.cos(),
                "tan" => v.tan(),
                "asin" => v.asin(),
                "acos" => v.acos(),
                "atan" => v.atan(),
                "sinh" => v.sinh(),
                "cosh" => v.cosh(),
                "tanh" => v.tanh(),
                "asinh" => v.asinh(),
                "acosh" => v.acosh(),
                "atanh" => v.atanh(),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(out.eps)
}

/// Every row's forward rule (Σₖ ∂out/∂xₖ · tₖ from its partials, what forward mode
/// computes) against central differences of its value, along each input and a mixed
/// direction, within one smooth piece; and against num-dual's dual numbers (an independent
/// implementation) for the operations num-dual has, to rounding.
#[test]
fn forward_rules_match_central_differences_and_num_dual() {
    let mut against_num_dual = 0;
    for &prim in Prim::ALL {
        let rule = prim.rule();
        // Inside every domain (`acosh` ≥ 1, `atanh` < 1, `asin` ≤ 1): scaled into it.
        for point in POINTS {
            let x: Vec<f64> = point[..rule.args.len()]
                .iter()
                .zip(rule.args)
                .map(|(&v, arg)| match arg {
                    Arg::Int => v.round(),
                    Arg::Float if matches!(rule.name, "asin" | "acos" | "atanh") => v / 4.5,
                    Arg::Float => v,
                })
                .collect();
            if !(rule.eval)(&x).is_finite() || rule.singular.is_some_and(|s| s(&x)) {
                continue;
            }
            let floats: Vec<usize> = (0..x.len()).filter(|&k| rule.args[k] == Arg::Float).collect();
            let mut directions: Vec<Vec<f64>> = floats
                .iter()
                .map(|&k| (0..x.len()).map(|j| if j == k { 1.0 } else { 0.0 }).collect())
                .collect();
            directions.push(
                (0..x.len())
                    .map(|j| {
                        if floats.contains(&j) {
                            0.5 + 0.25 * j as f64
                        } else {
                            0.0
                        }
                    })
                    .collect(),
            );
            for t in &directions {
                let analytic = rule.tangent(&x, t);
                let h = 1e-6;
                let at = |s: f64| -> Vec<f64> { x.iter().zip(t).map(|(v, d)| v + s * h * d).collect() };
                let (ahead, behind) = (at(1.0), at(-1.0));
                if let Some(piece) = rule.piece {
                    if piece(&ahead) != piece(&x) || piece(&behind) != piece(&x) {
                        continue; // a kink between: no difference to compare
                    }
                }
                let numeric = ((rule.eval)(&ahead) - (rule.eval)(&behind)) / (2.0 * h);
                approx::assert_relative_eq!(analytic, numeric, max_relative = 1e-6, epsilon = 1e-8);
                if let Some(dual) = by_num_dual(rule.name, rule.syntax, &x, t) {
                    against_num_dual += 1;
                    approx::assert_relative_eq!(analytic, dual, max_relative = 1e-12, epsilon = 1e-14);
                }
            }
        }
    }
    // Every row num-dual has is compared (a renamed row would drop out silently).
    assert!(
        against_num_dual >= 150,
        "{against_num_dual} comparisons with num-dual"
    );
}
