//! Random programs, checked against finite differences through an interpreter of the IR
//! (issue 4, part 1).
//!
//! The programs come from `chainrule-testgen` ([`Program::generate`]: random well-formed
//! functions over the whole language, with a reference evaluation in plain `f64`). For
//! every program:
//!
//! - the macro accepts it, and `expand` gives Rust that parses;
//! - its graph, run by the interpreter ([`interpret`]), computes the program's own
//!   value bit for bit (parse and the simplifier's forward rewrites are exact);
//! - its backward pass, interpreted, gives the gradient that central differences of its
//!   forward pass give (relative 1e-5, with a floor), at up to 3 random points: along
//!   every input at the first, along a random direction at the others. A point is
//!   skipped where the differences would step over a kink (the trace of comparisons and
//!   kink sides changes), where an operation sits exactly on a singularity of its
//!   derivative, where values are huge, or where differences of steps 1e-4 and 1e-6
//!   disagree (ill-conditioned).
//!
//! Seeds are fixed, so a failure reproduces: it prints the seed and the program.
//! `RANDOM_SEED=n cargo test -p chainrule-compiler random -- --nocapture` checks one seed
//! and prints its program; `RANDOM_PROGRAMS=n` changes how many programs a run checks
//! (10,000; the expansion test takes the first fifth of them).
//!
//! Bugs found this way are at the end, reduced, as regression tests; the
//! expansion test fails on any program whose expansion does not parse or calls a method
//! on a constant of unknown float type. `e2e/` checks programs of the same generator
//! compiled by rustc.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chainrule_testgen::{ArrayProgram, Program, Rng, Value};
use proc_macro2::TokenStream;
use quote::quote;

use chainrule_compiler::{forward, front as parse, reverse};

#[path = "random/interpret.rs"]
mod interpret;

// ---------------------------------------------------------------------------------------
// checking

/// How a run of checks went.
#[derive(Default, Debug)]
struct Stats {
    programs: usize,
    /// Points where value and gradient were compared.
    points: usize,
    /// Points skipped: near a kink, too large, not finite, ill-conditioned.
    rejected: usize,
    /// … of which: the program's value is too large or not finite (or its loops too long),
    huge: usize,
    /// … a kink lies between the points of the differences (or at the point, a
    /// singularity of a derivative),
    kinks: usize,
    /// … differences of different steps disagree.
    unsteady: usize,
    /// Programs without a single point checked.
    unchecked: usize,
    /// Programs outside what the interpreter runs.
    skipped: usize,
    /// Directions along which forward mode's tangent was compared with the gradient.
    tangents: usize,
    /// Points where the Hessian times a direction was compared with differences of the
    /// gradient.
    hvps: usize,
}

fn failure(program: &Program, message: &str) -> String {
    format!(
        "random program, seed {} (RANDOM_SEED={} to rerun): {message}\n{}",
        program.seed,
        program.seed,
        program.pretty()
    )
}

/// A value of `like`'s shape, its floats taken in order from `floats`.
fn shaped(like: &Value, floats: &mut impl Iterator<Item = f64>) -> Value {
    match like {
        Value::Float(_) => Value::Float(floats.next().unwrap_or(0.0)),
        Value::Array(items) => Value::Array(items.iter().map(|item| shaped(item, floats)).collect()),
        other => other.clone(),
    }
}

/// Mutable references to every float of the inputs, in order.
fn slots(inputs: &mut [Value]) -> Vec<&mut f64> {
    fn collect<'a>(value: &'a mut Value, out: &mut Vec<&'a mut f64>) {
        match value {
            Value::Float(x) => out.push(x),
            Value::Array(items) => items.iter_mut().for_each(|item| collect(item, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    inputs.iter_mut().for_each(|input| collect(input, &mut out));
    out
}

/// Checks one program at a few random points.
fn check(program: &Program, stats: &mut Stats) -> Result<(), String> {
    stats.programs += 1;
    // A program whose leading parameters are a struct's fields reads them from it; the
    // graph's parameters are the same, in the same order.
    let bundle = program.bundled();
    // One bundled program in two is a method whose `self` is data, read field by field:
    // the fields have no gradient then.
    let data_self = program.data_self();
    let in_self = |k: usize| data_self.is_some() && bundle.as_ref().is_some_and(|b| k < b.count);
    let wrt = |k: usize| program.wrt(k) && !in_self(k);
    let mut structs = parse::records::Structs::default();
    let tokens = match (&bundle, &data_self) {
        (Some(_), Some(data)) => data.function.clone(),
        (Some(bundle), None) => {
            let def = syn::parse2(bundle.definition.clone())
                .map_err(|e| failure(program, &format!("not a struct: {e}")))?;
            structs.insert("Params".to_string(), def);
            bundle.function.clone()
        }
        (None, _) => program.tokens(),
    };
    let item: syn::ItemFn =
        syn::parse2(tokens).map_err(|e| failure(program, &format!("not a function: {e}")))?;
    let this = quote::format_ident!("self_");
    let (attr, root) = match &data_self {
        Some(data) => (data.attr.clone(), Some(&this)),
        None => (program.attr(), None),
    };
    let function = parse::parse_method(attr, item, &structs, root)
        .map_err(|e| failure(program, &format!("the macro rejects it: {e}")))?;
    let (mut graph, output) = (function.graph, function.output);
    // Forward mode, from the graph before the reverse pass: its tangent along a direction
    // must be the gradient's dot product with it.
    let tangents =
        forward::forward(&graph, output).map_err(|e| failure(program, &format!("forward mode: {e:?}")))?;
    let jvp = match interpret::Interpreter::forward(&tangents.graph, tangents.tangent) {
        Ok(jvp) => Some(jvp),
        Err(interpret::Error::Unsupported(_)) => None,
        Err(error) => {
            return Err(failure(
                program,
                &format!("forward mode: {error}\n{}", tangents.graph),
            ))
        }
    };
    let (adjoints, backward_top) = reverse::reverse(&mut graph, output);
    // Forward mode over the reverse pass: its gradient's tangent along a direction must be
    // the central difference of the gradient (the Hessian times the direction).
    let second = forward::over_reverse(&graph, output, &adjoints.of_param, backward_top).ok();
    let hvp = match &second {
        Some(second) => {
            let roots = reverse::Adjoints {
                of_param: second.gradient.iter().chain(&second.hvp).copied().collect(),
                edges: Vec::new(),
            };
            match interpret::Interpreter::gradient(&second.graph, second.value, &roots, second.backward_top) {
                Ok(hvp) => Some(hvp),
                Err(interpret::Error::Unsupported(_)) => None,
                Err(error) => return Err(failure(program, &format!("hvp: {error}\n{}", second.graph))),
            }
        }
        None => None,
    };
    let interpreters = interpret::Interpreter::gradient(&graph, output, &adjoints, backward_top)
        .and_then(|gradient| Ok((gradient, interpret::Interpreter::forward(&graph, output)?)));
    let (with_gradient, forward) = match interpreters {
        Ok(interpreters) => interpreters,
        Err(interpret::Error::Unsupported(_)) => {
            stats.skipped += 1;
            return Ok(());
        }
        Err(error) => return Err(failure(program, &format!("{error}\n{graph}"))),
    };
    let mut rng = Rng::new(program.seed ^ 0x0123_4567_89ab_cdef);
    let mut second_rng = Rng::new(program.seed ^ 0x2d2d_2d2d_2d2d_2d2d);
    let mut checked = 0;
    'points: for _ in 0..8 {
        if checked == 3 {
            break;
        }
        let inputs = program.inputs(&mut rng);
        let Ok(expected) = program.eval(&inputs) else {
            stats.rejected += 1;
            stats.huge += 1;
            continue;
        };
        if !expected.is_finite() || expected.abs() > 1e6 {
            stats.rejected += 1;
            stats.huge += 1;
            continue;
        }
        let run = match with_gradient.run(&inputs) {
            Ok(run) => run,
            Err(error) => return Err(failure(program, &format!("at {inputs:?}: {error}\n{graph}"))),
        };
        if run.value.to_bits() != expected.to_bits() {
            return Err(failure(
                program,
                &format!(
                    "at {inputs:?}: the graph computes {:?} but the program {expected:?}\n{graph}",
                    run.value
                ),
            ));
        }
        if run.largest.is_nan() || run.largest >= 1e6 {
            stats.rejected += 1;
            stats.huge += 1;
            continue;
        }
        // The gradient, flattened as the inputs are; which inputs it is taken for.
        let mut gradient = Vec::new();
        let mut taken = Vec::new();
        for (k, (input, adjoint)) in inputs.iter().zip(&run.gradient).enumerate() {
            let mut floats = Vec::new();
            input.floats(&mut floats);
            taken.extend(floats.iter().map(|_| wrt(k)));
            if adjoint.is_some() && !wrt(k) {
                return Err(failure(
                    program,
                    &format!("a gradient {adjoint:?} for the parameter {k}, which it is not taken for"),
                ));
            }
            match adjoint {
                Some(adjoint) => {
                    let before = gradient.len();
                    adjoint.floats(&mut gradient);
                    if gradient.len() - before != floats.len() {
                        return Err(failure(
                            program,
                            &format!("at {inputs:?}: a gradient {adjoint:?} for an argument {input:?}"),
                        ));
                    }
                }
                None => gradient.extend(floats.iter().map(|_| 0.0)),
            }
        }
        // Central differences of the graph's forward pass, where no kink lies between:
        // where every comparison goes the same way as at the point itself.
        let base = match forward.run(&inputs) {
            Ok(base) if base.value.to_bits() == run.value.to_bits() => base,
            other => {
                return Err(failure(
                    program,
                    &format!("at {inputs:?}: the forward pass alone gives {other:?}, with the backward pass {:?}\n{graph}", run.value),
                ))
            }
        };
        if base.singular {
            stats.rejected += 1;
            stats.kinks += 1;
            continue;
        }
        let difference = |direction: &[f64], h: f64| -> Option<f64> {
            let mut values = [0.0; 2];
            for (side, sign) in [1.0, -1.0].into_iter().enumerate() {
                let mut nudged = inputs.clone();
                for (slot, v) in slots(&mut nudged).into_iter().zip(direction) {
                    *slot += sign * h * v;
                }
                let other = forward.run(&nudged).ok()?;
                if other.trace != base.trace || !other.value.is_finite() {
                    return None;
                }
                values[side] = other.value;
            }
            Some((values[0] - values[1]) / (2.0 * h))
        };
        // At the first point along every input; at the others along a random direction.
        let n = gradient.len();
        let directions: Vec<(String, Vec<f64>)> = if checked == 0 {
            (0..n)
                .filter(|&c| taken[c])
                .map(|c| {
                    (
                        format!("input {c}"),
                        (0..n).map(|k| if k == c { 1.0 } else { 0.0 }).collect(),
                    )
                })
                .collect()
        } else {
            let direction: Vec<f64> = (0..n)
                .map(|c| match taken[c] {
                    true => (0.5 + rng.unit() / 2.0) * if rng.chance(0.5) { 1.0 } else { -1.0 },
                    false => 0.0,
                })
                .collect();
            vec![(format!("direction {direction:?}"), direction)]
        };
        for (what, direction) in directions {
            let analytic: f64 = gradient.iter().zip(&direction).map(|(g, v)| g * v).sum();
            let magnitude: f64 = gradient.iter().zip(&direction).map(|(g, v)| (g * v).abs()).sum();
            if let Some(jvp) = &jvp {
                // Forward mode: the value bit for bit, and ∇f · v to rounding.
                let mut with_tangents = inputs.clone();
                let mut floats = direction.iter().copied();
                for (k, input) in inputs.iter().enumerate() {
                    let tangent = shaped(input, &mut floats);
                    if tangents.of_param[k].is_some() {
                        with_tangents.push(tangent);
                    }
                }
                let run = jvp.run(&with_tangents).map_err(|e| {
                    failure(
                        program,
                        &format!("at {inputs:?}: forward mode: {e}\n{}", tangents.graph),
                    )
                })?;
                let tangent = run.value;
                let tolerance =
                    1e-12 * (analytic.abs().max(tangent.abs()).max(magnitude) + 1e-3 * run.largest);
                if (tangent - analytic).abs() > tolerance && !(tangent.is_nan() && analytic.is_nan()) {
                    return Err(failure(
                        program,
                        &format!(
                            "at {inputs:?}: along {what} forward mode gives {tangent:?} but the gradient {analytic:?}\n{}",
                            tangents.graph
                        ),
                    ));
                }
                stats.tangents += 1;
            }
            let close = |a: f64, b: f64, scale: f64| {
                (a - b).abs() <= 1e-5 * a.abs().max(b.abs()).max(magnitude) + 1e-7 * (1.0 + scale)
            };
            let Some(numeric) = difference(&direction, 1e-5) else {
                stats.rejected += 1;
                stats.kinks += 1;
                continue 'points;
            };
            if close(analytic, numeric, run.largest) {
                continue;
            }
            // A closer look: two more steps, which must agree with each other.
            let (Some(coarse), Some(fine)) = (difference(&direction, 1e-4), difference(&direction, 1e-6))
            else {
                stats.rejected += 1;
                stats.kinks += 1;
                continue 'points;
            };
            let steady =
                (coarse - fine).abs() <= 1e-4 * coarse.abs().max(fine.abs()) + 1e-6 * (1.0 + run.largest);
            if !steady {
                stats.rejected += 1;
                stats.unsteady += 1;
                continue 'points;
            }
            if close(analytic, coarse, run.largest) || close(analytic, fine, run.largest) {
                continue;
            }
            return Err(failure(
                program,
                &format!(
                    "at {inputs:?}: along {what} the gradient gives {analytic:?} but finite differences {numeric:?} (steps 1e-4: {coarse:?}, 1e-6: {fine:?}); the gradient: {gradient:?}\n{graph}"
                ),
            ));
        }
        if let (Some(hvp), Some(second)) = (&hvp, &second) {
            // Along a random direction: the gradient bit for bit, and Hv against central
            // differences of the gradient (where no kink lies between).
            // (its own random numbers: the points stay those of the gradient's checks)
            let direction: Vec<f64> = (0..n)
                .map(|c| match taken[c] {
                    true => (0.5 + second_rng.unit() / 2.0) * if second_rng.chance(0.5) { 1.0 } else { -1.0 },
                    false => 0.0,
                })
                .collect();
            let mut with_tangents = inputs.clone();
            let mut floats = direction.iter().copied();
            for (k, input) in inputs.iter().enumerate() {
                let tangent = shaped(input, &mut floats);
                if second.of_param[k].is_some() {
                    with_tangents.push(tangent);
                }
            }
            let run2 = hvp
                .run(&with_tangents)
                .map_err(|e| failure(program, &format!("at {inputs:?}: hvp: {e}\n{}", second.graph)))?;
            let count = run.gradient.len();
            let flat = |values: &[Option<Value>]| -> Vec<f64> {
                let mut out = Vec::new();
                for (input, value) in inputs.iter().zip(values) {
                    match value {
                        Some(value) => value.floats(&mut out),
                        None => {
                            let mut floats = Vec::new();
                            input.floats(&mut floats);
                            out.extend(floats.iter().map(|_| 0.0));
                        }
                    }
                }
                out
            };
            let (grad2, hv) = (flat(&run2.gradient[..count]), flat(&run2.gradient[count..]));
            if grad2
                .iter()
                .zip(&gradient)
                .any(|(a, b)| a.to_bits() != b.to_bits() && !(a.is_nan() && b.is_nan()))
            {
                return Err(failure(
                    program,
                    &format!(
                        "at {inputs:?}: hvp's gradient {grad2:?} is not the gradient {gradient:?}\n{}",
                        second.graph
                    ),
                ));
            }
            let gradient_at = |h: f64| -> Option<Vec<f64>> {
                let mut nudged = inputs.clone();
                for (slot, v) in slots(&mut nudged).into_iter().zip(&direction) {
                    *slot += h * v;
                }
                if forward.run(&nudged).ok()?.trace != base.trace {
                    return None;
                }
                let run = with_gradient.run(&nudged).ok()?;
                Some(flat(&run.gradient))
            };
            let differences = |h: f64| -> Option<Vec<f64>> {
                let (ahead, behind) = (gradient_at(h)?, gradient_at(-h)?);
                Some(
                    ahead
                        .iter()
                        .zip(&behind)
                        .map(|(a, b)| (a - b) / (2.0 * h))
                        .collect(),
                )
            };
            if let (Some(coarse), Some(fine)) = (differences(1e-4), differences(1e-5)) {
                let scale = hv.iter().chain(&coarse).fold(1.0_f64, |m, x| m.max(x.abs()));
                let steady = coarse
                    .iter()
                    .zip(&fine)
                    .all(|(a, b)| (a - b).abs() <= 1e-4 * scale);
                let close = |d: &[f64]| {
                    hv.iter()
                        .zip(d)
                        .all(|(a, b)| (a - b).abs() <= 1e-5 * scale + 1e-6 * run.largest)
                };
                if steady && !close(&coarse) && !close(&fine) {
                    return Err(failure(
                        program,
                        &format!(
                            "at {inputs:?}: along {direction:?} hvp gives {hv:?} but differences of the gradient {fine:?}\n{}",
                            second.graph
                        ),
                    ));
                }
                stats.hvps += 1;
            }
        }
        checked += 1;
    }
    stats.points += checked;
    if checked == 0 {
        stats.unchecked += 1;
    }
    Ok(())
}

/// The seeds a run checks: `RANDOM_SEED` alone, or the first `RANDOM_PROGRAMS` (10,000).
fn seeds() -> Vec<u64> {
    if let Some(seed) = std::env::var("RANDOM_SEED").ok().and_then(|s| s.parse().ok()) {
        let program = Program::generate(seed);
        println!("seed {seed}:\n{}", program.pretty());
        return vec![seed];
    }
    let count = std::env::var("RANDOM_PROGRAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    (0..count).collect()
}

/// Runs `check` on every seed, on a few threads; the failures.
fn on_threads(
    seeds: &[u64],
    check: impl Fn(u64, &mut Stats) -> Result<(), String> + Sync,
) -> (Stats, Vec<String>) {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let results: Vec<(Stats, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let check = &check;
                scope.spawn(move || {
                    let mut stats = Stats::default();
                    let mut failures = Vec::new();
                    for &seed in seeds.iter().skip(t).step_by(threads) {
                        if let Err(message) = check(seed, &mut stats) {
                            failures.push(message);
                        }
                    }
                    (stats, failures)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a checking thread panicked"))
            .collect()
    });
    let mut total = Stats::default();
    let mut failures = Vec::new();
    for (stats, mut f) in results {
        total.programs += stats.programs;
        total.points += stats.points;
        total.rejected += stats.rejected;
        total.huge += stats.huge;
        total.kinks += stats.kinks;
        total.unsteady += stats.unsteady;
        total.unchecked += stats.unchecked;
        total.skipped += stats.skipped;
        total.tangents += stats.tangents;
        total.hvps += stats.hvps;
        failures.append(&mut f);
    }
    (total, failures)
}

fn report(failures: &[String]) {
    if !failures.is_empty() {
        for failure in failures.iter().take(3) {
            eprintln!("{failure}\n");
        }
        panic!(
            "{} of the random programs fail (the first ones above)",
            failures.len()
        );
    }
}

#[test]
fn random_programs_match_finite_differences() {
    let started = Instant::now();
    let seeds = seeds();
    let (stats, failures) = on_threads(&seeds, |seed, stats| check(&Program::generate(seed), stats));
    println!("{stats:?} in {:?}", started.elapsed());
    report(&failures);
    // Most programs must have been checked somewhere.
    assert!(
        stats.unchecked + stats.skipped <= stats.programs / 10,
        "too few programs checked: {stats:?}"
    );
}

#[test]
fn random_programs_expand_to_rust() {
    let started = Instant::now();
    // `expand` and parsing its output take about 7 ms a program here (in debug): the
    // first fifth of the programs, unless `RANDOM_PROGRAMS` or `RANDOM_SEED` says.
    let mut seeds = seeds();
    if std::env::var("RANDOM_PROGRAMS").is_err() && seeds.len() > 1 {
        seeds.truncate(seeds.len() / 5);
    }
    let untyped_constants = AtomicUsize::new(0);
    let (stats, failures) = on_threads(&seeds, |seed, stats| {
        stats.programs += 1;
        let program = Program::generate(seed);
        let expanded = chainrule_compiler::expand(program.attr(), program.tokens());
        let text = expanded.to_string();
        if text.contains("compile_error") {
            return Err(failure(&program, &format!("expand reports an error: {text}")));
        }
        let file = match syn::parse2::<syn::File>(expanded) {
            Ok(file) => file,

            Err(error) => {
                return Err(failure(
                    &program,
                    &format!("the expansion does not parse: {error}\n{text}"),
                ))
            }
        };
        // Methods of constants must have a float type (`regression_constants_lose_their_float_type`).
        for name in ["forward", "grad"] {
            let calls = ambiguous_method_calls(&generated_fn(&file, name));
            if !calls.is_empty() {
                untyped_constants.fetch_add(1, Ordering::Relaxed);
                return Err(failure(
                    &program,
                    &format!("methods of untyped constants in `{name}`: {calls:?}"),
                ));
            }
        }
        Ok(())
    });
    println!(
        "{} programs expanded in {:?}; {} with methods of untyped constants",
        stats.programs,
        started.elapsed(),
        untyped_constants.into_inner(),
    );
    report(&failures);
}

/// The array programs (`testgen::ArrayProgram`: ndarray rows, columns, slices, row updates
/// in loops and branches, calls between functions of a `#[differentiate] mod`) expand
/// without an error into Rust that parses. (e2e compiles and checks a few of them through
/// rustc on every run; this sees many more. `RANDOM_ARRAY_PROGRAMS=n`, 250 by default.)
#[test]
fn random_array_programs_expand_to_rust() {
    let count = std::env::var("RANDOM_ARRAY_PROGRAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(250u64);
    let seeds: Vec<u64> = (2_000_000..2_000_000 + count).collect();
    let (stats, failures) = on_threads(&seeds, |seed, stats| {
        stats.programs += 1;
        let program = ArrayProgram::generate(seed);
        let function = program.tokens();
        let (attr, item) = match program.in_module {
            true => (quote!(), quote!(mod program { use super::*; #function })),
            false => (quote!(), function),
        };
        let expanded = chainrule_compiler::expand(attr, item.clone());
        let text = expanded.to_string();
        let describe = |message: &str| format!("array program {seed}: {message}\n{item}");
        if text.contains("compile_error") {
            return Err(describe(&format!("expand reports an error: {text}")));
        }
        match syn::parse2::<syn::File>(expanded) {
            Ok(file) if text.contains("fn grad") => drop(file),
            Ok(_) => return Err(describe("no `grad` in the expansion")),
            Err(error) => return Err(describe(&format!("the expansion does not parse: {error}"))),
        }
        Ok(())
    });
    assert_eq!(stats.programs as u64, count);
    report(&failures);
}

// ---------------------------------------------------------------------------------------
// regressions: bugs the random programs found, reduced (all fixed)

/// The value and gradient the graph computes for `item` (upstream 1).
fn interpreted(item: TokenStream, inputs: &[Value]) -> interpret::Run {
    let function = parse::parse(TokenStream::new(), syn::parse2(item).expect("a function"))
        .unwrap_or_else(|error| panic!("rejected: {error}"));
    let (mut graph, output) = (function.graph, function.output);
    let (adjoints, backward_top) = reverse::reverse(&mut graph, output);
    interpret::Interpreter::gradient(&graph, output, &adjoints, backward_top)
        .and_then(|interpreter| interpreter.run(inputs))
        .unwrap_or_else(|error| panic!("{error}\n{graph}"))
}

/// The expansion of `item`, parsed.
fn expanded(item: TokenStream) -> syn::File {
    let tokens = chainrule_compiler::expand(TokenStream::new(), item);
    syn::parse2(tokens.clone())
        .unwrap_or_else(|error| panic!("the expansion does not parse: {error}\n{tokens}"))
}

/// The generated function `name` of module `f`.
fn generated_fn(file: &syn::File, name: &str) -> syn::ItemFn {
    file.items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "f" => m.content.as_ref(),
            _ => None,
        })
        .and_then(|(_, items)| {
            items.iter().find_map(|item| match item {
                syn::Item::Fn(function) if function.sig.ident == name => Some(function.clone()),
                _ => None,
            })
        })
        .unwrap_or_else(|| panic!("no `f::{name}`"))
}

/// Float method calls in generated code whose receiver rustc cannot know to be a float
/// (E0689, "can't call method on ambiguous numeric type `{float}`"): all its leaves are
/// unsuffixed literals, calls of generic functions on such, or variables bound to such.
fn ambiguous_method_calls(function: &syn::ItemFn) -> Vec<String> {
    use quote::ToTokens;
    struct Lint {
        /// Variables bound without a known float type.
        untyped: Vec<String>,
        found: Vec<String>,
    }
    impl Lint {
        fn typed(&self, expr: &syn::Expr) -> bool {
            match expr {
                syn::Expr::Lit(lit) => match &lit.lit {
                    syn::Lit::Float(f) => !f.suffix().is_empty(),
                    syn::Lit::Int(i) => !i.suffix().is_empty(),
                    _ => true,
                },
                syn::Expr::Path(path) => !path
                    .path
                    .get_ident()
                    .is_some_and(|i| self.untyped.contains(&i.to_string())),
                syn::Expr::Paren(e) => self.typed(&e.expr),
                syn::Expr::Group(e) => self.typed(&e.expr),
                syn::Expr::Unary(e) => self.typed(&e.expr),
                syn::Expr::Index(e) => self.typed(&e.expr),
                syn::Expr::Binary(e) => self.typed(&e.left) || self.typed(&e.right),
                syn::Expr::Array(e) => e.elems.iter().any(|e| self.typed(e)),
                syn::Expr::Repeat(e) => self.typed(&e.expr),
                // A generic function (`sigmoid`, `chainrule::sigmoid`) of untyped arguments
                // is untyped.
                syn::Expr::Call(call) => match &*call.func {
                    syn::Expr::Path(path) if path.qself.is_some() => true,
                    syn::Expr::Path(path)
                        if path.path.segments.len() == 1
                            || path.path.segments.first().is_some_and(|s| s.ident == "chainrule") =>
                    {
                        call.args.iter().any(|a| self.typed(a))
                    }
                    _ => true,
                },
                _ => true,
            }
        }
    }
    impl<'ast> syn::visit::Visit<'ast> for Lint {
        fn visit_local(&mut self, local: &'ast syn::Local) {
            syn::visit::visit_local(self, local);
            if let (syn::Pat::Ident(binding), Some(init)) = (&local.pat, &local.init) {
                let name = binding.ident.to_string();
                self.untyped.retain(|n| n != &name);
                if !self.typed(&init.expr) {
                    self.untyped.push(name);
                }
            }
        }
        // `a[i] = x` with a float `x` tells rustc what `a` holds.
        fn visit_expr_assign(&mut self, assign: &'ast syn::ExprAssign) {
            syn::visit::visit_expr_assign(self, assign);
            let mut target = &*assign.left;
            while let syn::Expr::Index(index) = target {
                target = &index.expr;
            }
            if let syn::Expr::Path(path) = target {
                if let Some(ident) = path.path.get_ident() {
                    if self.typed(&assign.right) {
                        self.untyped.retain(|n| ident != n);
                    }
                }
            }
        }
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            syn::visit::visit_expr_method_call(self, call);
            let float_method = chainrule_compiler::ops::method(&call.method.to_string()).is_some();
            if float_method && !self.typed(&call.receiver) {
                self.found.push(call.to_token_stream().to_string());
            }
        }
    }
    let mut lint = Lint {
        untyped: Vec::new(),
        found: Vec::new(),
    };
    syn::visit::Visit::visit_item_fn(&mut lint, function);
    lint.found
}

#[test]
fn regression_unused_loop_poisons_the_gradient() {
    // `s` is never used, so the gradient is that of `x`: 1. The reverse pass still
    // builds the loop's reverse, with zero adjoints, and adds 0 × ∂s/∂x = 0 × ∞ (the
    // derivative of sqrt at 0; ln(0) at x = 0 does the same) into d_x: NaN. Straight-line
    // code without the loop gives 1.
    let run = interpreted(
        quote! {
            fn f(x: f64) -> f64 {
                let mut s = 0.0;
                for _ in 0..2 {
                    s += (x - x).sqrt();
                }
                x
            }
        },
        &[Value::Float(1.5)],
    );
    assert_eq!(run.gradient[0], Some(Value::Float(1.0)));
}

#[test]
fn regression_cast_before_less_than() {
    // emitted: `let condition = n as f64 < x;` — "expected `,`"
    let file = chainrule_compiler::expand(
        TokenStream::new(),
        quote! {
            fn f(x: f64, n: usize) -> f64 {
                if (n as f64) < x { x } else { 0.0 }
            }
        },
    );
    syn::parse2::<syn::File>(file.clone()).unwrap_or_else(|error| panic!("{error}: {file}"));
}

#[test]
fn regression_zero_gradient_of_an_unused_slice() {
    // emitted in `backward`: `Grad { x: d_x, xs: ::std::vec![0.0; xs.len()] }` with only
    // `let Cache { .. } = *cache;` before it: E0425, cannot find value `xs`.
    let file = expanded(quote! {
        fn f(x: f64, xs: &[f64]) -> f64 {
            x
        }
    });
    let backward = generated_fn(&file, "backward");
    let text = quote::ToTokens::to_token_stream(&backward).to_string();
    let unpacked = text.split("= * cache").next().unwrap_or_default();
    assert!(
        !text.contains("xs . len ()") || unpacked.contains("xs"),
        "`backward` reads `xs`, which it does not have: {text}"
    );
}

#[test]
fn regression_constants_lose_their_float_type() {
    // E0689 "can't call method `ln` on ambiguous numeric type `{float}`" in the generated
    // `forward` and `grad`, for each of these (the user's own code compiles).
    for item in [
        quote! {
            fn f(x: f64) -> f64 {
                let a = [4f64; 2];
                a[0].ln() * x
            }
        },
        quote! {
            fn f(x: f64) -> f64 {
                let a: [f64; 2] = [0.5; 2];
                a[0].abs() * x
            }
        },
        quote! {
            fn f(x: f64) -> f64 {
                f64::ln(chainrule::sigmoid(1.0)) * x
            }
        },
    ] {
        let file = expanded(item.clone());
        for name in ["forward", "grad"] {
            let calls = ambiguous_method_calls(&generated_fn(&file, name));
            assert!(
                calls.is_empty(),
                "{item}: in `{name}`, methods of untyped floats: {calls:?}"
            );
        }
    }
}

#[test]
fn regression_copy_of_an_array_reference() {
    // emitted: `let mut updated = ::core::clone::Clone::clone(&w); updated[0] = x;` — the
    // clone of `&w` is a `&[f64; 2]`: E0594, cannot assign to data in a `&` reference.
    let file = expanded(quote! {
        fn f(x: f64, w: &[f64; 2]) -> f64 {
            let mut a = *w;
            a[0] = x;
            a[0] * a[1]
        }
    });
    let text = quote::ToTokens::to_token_stream(&generated_fn(&file, "forward")).to_string();
    assert!(!text.contains("clone (& w)"), "{text}");
}

#[test]
fn the_method_lint_sees_untyped_floats() {
    let function: syn::ItemFn = syn::parse_quote! {
        fn g(x: f64) -> f64 {
            let a = [0.5; 2];
            let b: f64 = 0.5;
            let c = 0.5_f64;
            a[0].ln() + b.ln() + c.ln() + x.ln() + sigmoid(1.0).ln() + sigmoid(x).ln() + f64::ln(0.5)
        }
    };
    let found = ambiguous_method_calls(&function);
    assert_eq!(found.len(), 2, "{found:?}");
}
