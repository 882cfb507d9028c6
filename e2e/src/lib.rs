//! chainrule end to end, through rustc (issue 4, part 1).
//!
//! The build script writes random `#[differentiate]` programs of `chainrule-testgen` (300
//! by default, from fixed seeds) into a file that `tests/random_programs.rs` includes, so
//! that rustc compiles each program and the macro's expansion of it. The test runs
//! [`check`] on every program ([`Case`]) at its points:
//!
//! - `f::grad` gives `f`'s value bit for bit, and `f` the value of the generator's
//!   reference evaluation (plain `f64`, as the generator reads its own program);
//! - every component of the gradient, and its directional derivative along a random
//!   direction, agrees with central differences of `f` (step 1e-5, relative 1e-5 with a
//!   floor). Where it does not, two more steps (1e-4, 1e-6) decide: if they disagree with
//!   each other, the point is ill-conditioned or a kink lies between, and it is skipped;
//!   if they agree and the gradient matches neither, the check fails. A point is also
//!   skipped where a value the program computes (by the generator's evaluation, as the
//!   derive crate's interpreter test does) or the gradient is huge or not finite, or `f`
//!   is not finite a step away.
//!
//! Every failure is collected with its seed, program, point and numbers, and how to rerun
//! it alone: `E2E_SEED=<seed> cargo test -p chainrule-e2e -- --nocapture`. A program still
//! running after a minute (generated code whose loop does not end) stops the run, with its
//! seed and program.

use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Forward mode at a point along a direction: the value and the directional derivative.
pub type Jvp = fn(&[f64], &[f64]) -> (f64, f64);

/// The program made vector-valued, `[v, v * v]` for its value `v`, at a point: its value
/// and Jacobian (`f_vector::jacobian`, each row flattened as `grad` is), and its forward mode
/// along the point's direction (`f_vector::__jvp`).
pub struct VectorRun {
    pub value: [f64; 2],
    pub rows: [Vec<f64>; 2],
    pub tangent: [f64; 2],
    /// `f_caller`, `v + v² / 2` through a call of `f_vector`: its value and gradient.
    pub caller: (f64, Vec<f64>),
}

/// [`VectorRun`] at a point along a direction.
pub type Vector = fn(&[f64], &[f64]) -> VectorRun;

/// One random program, compiled.
pub struct Case {
    pub seed: u64,
    /// The program as written (with its attribute).
    pub source: &'static str,
    /// `f` at a flat list of floats: every float parameter's floats in order (arrays
    /// row-major); integer parameters are fixed per program.
    pub call: fn(&[f64]) -> f64,
    /// `f::grad` there: its value, and the gradient flattened the same way (zeros for the
    /// parameters it is not taken for).
    pub call_grad: fn(&[f64]) -> (f64, Vec<f64>),
    /// Forward mode there (`f::__jvp`) along a direction of the same flat layout: the value
    /// and the directional derivative, for a plain function.
    pub call_jvp: Option<Jvp>,
    /// The program as a vector-valued function, for a plain function.
    pub call_vector: Option<Vector>,
    /// An independent implementation of the same function at the same flat list, where the
    /// program has one (the array programs: plain loops over `Vec`s, see [`plain`]); `f`
    /// must agree with it to 1e-10 relative (the order of additions differs).
    pub reference: Option<fn(&[f64]) -> f64>,
    /// Per float, whether the gradient is taken for it (`wrt`).
    pub taken: &'static [bool],
    pub points: &'static [Point],
}

/// A point to check a program at.
pub struct Point {
    pub at: &'static [f64],
    /// A random direction (zero where the gradient is not taken).
    pub direction: &'static [f64],
    /// The value of the generator's evaluation (`None`: it gave up on long loops, or the
    /// program has a [`Case::reference`] instead).
    pub expected: Option<f64>,
    /// The largest magnitude of a float the program computes there (by the generator's
    /// evaluation; infinite if one is not finite, or the evaluation gave up).
    pub largest: f64,
}

/// A gradient field, flattened into floats in order.
pub trait Flat {
    fn flat(&self, out: &mut Vec<f64>);
}

impl Flat for f64 {
    fn flat(&self, out: &mut Vec<f64>) {
        out.push(*self);
    }
}

impl<T: Flat, const N: usize> Flat for [T; N] {
    fn flat(&self, out: &mut Vec<f64>) {
        self.iter().for_each(|item| item.flat(out));
    }
}

impl<T: Flat> Flat for Vec<T> {
    fn flat(&self, out: &mut Vec<f64>) {
        self.iter().for_each(|item| item.flat(out));
    }
}

/// An ndarray array, row-major (its logical order).
impl<S, D> Flat for chainrule::ndarray::ArrayBase<S, D>
where
    S: chainrule::ndarray::Data<Elem = f64>,
    D: chainrule::ndarray::Dimension,
{
    fn flat(&self, out: &mut Vec<f64>) {
        out.extend(self.iter().copied());
    }
}

/// The helpers of the array programs' references (`chainrule_testgen::ArrayProgram`): the
/// same functions as the ndarray operations they stand for, written as plain loops over
/// slices, sharing nothing with ndarray or chainrule.
pub mod plain {
    /// `w · v`, `w` a list of rows.
    pub fn matvec(w: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
        w.iter().map(|row| dot(row, v)).collect()
    }

    /// `wᵀ · v`.
    pub fn transposed_matvec(w: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; w[0].len()];
        for (row, vi) in w.iter().zip(v) {
            for (o, wij) in out.iter_mut().zip(row) {
                *o += wij * vi;
            }
        }
        out
    }

    pub fn zip(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(p, q)| f(*p, *q)).collect()
    }

    pub fn map(a: &[f64], f: impl Fn(f64) -> f64) -> Vec<f64> {
        a.iter().map(|p| f(*p)).collect()
    }

    pub fn sum(a: &[f64]) -> f64 {
        a.iter().sum()
    }

    pub fn dot(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(p, q)| p * q).sum()
    }

    /// Column `j` of `w`.
    pub fn column(w: &[Vec<f64>], j: usize) -> Vec<f64> {
        w.iter().map(|row| row[j]).collect()
    }

    /// The array programs' module helper: `v.mapv(f64::tanh).dot(v) * 0.5`.
    pub fn energy(v: &[f64]) -> f64 {
        dot(&map(v, f64::tanh), v) * 0.5
    }

    /// The mean and the mean square.
    pub fn moments(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        (sum(v) / n, dot(v, v) / n)
    }

    /// `tanh(s)` pushed onto `out`; `s / 2` once `out` holds more than two, else `s`.
    pub fn stash(out: &mut Vec<f64>, s: f64) -> f64 {
        out.push(s.tanh());
        if out.len() > 2 {
            return s * 0.5;
        }
        s
    }
}

/// How the checks went.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Stats {
    pub programs: usize,
    pub points: usize,
    /// Points where every direction was compared.
    pub checked: usize,
    /// Directions compared (components and random directions).
    pub directions: usize,
    /// Points skipped: a value `f` computes (by the generator's evaluation), `f` itself or
    /// its gradient is huge (1e6 or more) or not finite, or its loops run too long (the
    /// generator's evaluation gave up; `f` is not run there),
    pub huge: usize,
    /// … `f` is not finite a step away,
    pub singular: usize,
    /// … differences of steps 1e-4 and 1e-6 disagree (ill-conditioned, or a kink between).
    pub unsteady: usize,
    /// Directions along which forward mode's tangent was compared with the gradient.
    pub tangents: usize,
    /// Points where the program made vector-valued had its Jacobian and forward mode checked.
    pub jacobians: usize,
}

impl Stats {
    pub fn skipped(&self) -> usize {
        self.huge + self.singular + self.unsteady
    }

    pub fn add(&mut self, other: &Stats) {
        self.programs += other.programs;
        self.points += other.points;
        self.checked += other.checked;
        self.directions += other.directions;
        self.huge += other.huge;
        self.singular += other.singular;
        self.unsteady += other.unsteady;
        self.tangents += other.tangents;
        self.jacobians += other.jacobians;
    }
}

/// Above this, a value is huge: differences lose too many digits to compare.
const HUGE: f64 = 1e6;

/// How a point went.
enum Outcome {
    Checked,
    Huge,
    Singular,
    Unsteady,
}

/// Checks one program at its points; the failures, each a report to print. `verbose`
/// prints how each point went.
pub fn check(case: &Case, stats: &mut Stats, verbose: bool) -> Vec<String> {
    stats.programs += 1;
    let mut failures = Vec::new();
    for point in case.points {
        stats.points += 1;
        let outcome =
            catch_unwind(AssertUnwindSafe(|| check_point(case, point, stats))).unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(format!("panicked: {message}"))
            });
        if verbose {
            let how = match &outcome {
                Ok(Outcome::Checked) => "checked",
                Ok(Outcome::Huge) if point.expected.is_none() => "skipped: loops too long",
                Ok(Outcome::Huge) => "skipped: huge values",
                Ok(Outcome::Singular) => "skipped: not finite a step away",
                Ok(Outcome::Unsteady) => "skipped: steps 1e-4 and 1e-6 disagree",
                Err(_) => "FAILS",
            };
            println!("at {:?} (largest value {:e}): {how}", point.at, point.largest);
        }
        match outcome {
            Ok(Outcome::Checked) => stats.checked += 1,
            Ok(Outcome::Huge) => stats.huge += 1,
            Ok(Outcome::Singular) => stats.singular += 1,
            Ok(Outcome::Unsteady) => stats.unsteady += 1,
            Err(message) => failures.push(failure(case, point, &message)),
        }
    }
    failures
}

/// The report of a failure.
pub fn failure(case: &Case, point: &Point, message: &str) -> String {
    let seed = case.seed;
    let mut report = String::new();
    let _ = writeln!(
        report,
        "random program, seed {seed}, at {:?}: {message}",
        point.at
    );
    let _ = writeln!(report, "{}", case.source);
    report.push_str(&rerun(seed));
    report
}

/// How to run one program again.
fn rerun(seed: u64) -> String {
    format!(
        "rerun: E2E_SEED={seed} cargo test -p chainrule-e2e -- --nocapture \
         (through the interpreter: RANDOM_SEED={seed} cargo test -p chainrule-compiler random -- --nocapture)"
    )
}

fn check_point(case: &Case, point: &Point, stats: &mut Stats) -> Result<Outcome, String> {
    // Where the generator's evaluation gave up on long loops, `f` may never return: a float
    // loop's `s += 1.0` leaves `s = -1e18` as it is.
    if point.expected.is_none() && case.reference.is_none() {
        return Ok(Outcome::Huge);
    }
    let at = point.at;
    let value = (case.call)(at);
    let (grad_value, gradient) = (case.call_grad)(at);
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    if !same(grad_value, value) {
        return Err(format!("`f::grad` gives the value {grad_value:?}, `f` {value:?}"));
    }
    if let Some(expected) = point.expected {
        if !same(value, expected) {
            return Err(format!(
                "`f` gives {value:?} but the generator's evaluation {expected:?} (a bug of chainrule-testgen's evaluator, or of rustc)"
            ));
        }
    }
    if let Some(reference) = case.reference {
        let expected = reference(at);
        let close = (value - expected).abs() <= 1e-10 * (1.0 + value.abs().max(expected.abs()));
        if !(close || value.is_nan() && expected.is_nan()) {
            return Err(format!(
                "`f` gives {value:?} but the program's reference implementation {expected:?}"
            ));
        }
    }
    if gradient.len() != at.len() {
        return Err(format!(
            "a gradient of {} floats for {} inputs: {gradient:?}",
            gradient.len(),
            at.len()
        ));
    }
    if let Some(k) = (0..at.len()).find(|&k| !case.taken[k] && gradient[k] != 0.0) {
        return Err(format!(
            "a gradient {} for input {k}, which it is not taken for",
            gradient[k]
        ));
    }
    // Huge values (in `f` or its gradient) leave differences too few digits, and overflow
    // in `f` makes gradients NaN where its value is finite (0 × ∞).
    let largest = gradient
        .iter()
        .fold(point.largest.max(value.abs()), |m, g| m.max(g.abs()));
    if largest >= HUGE || !value.is_finite() {
        return Ok(Outcome::Huge);
    }
    let difference = |direction: &[f64], h: f64| -> Option<f64> {
        let nudged =
            |sign: f64| -> Vec<f64> { at.iter().zip(direction).map(|(x, v)| x + sign * h * v).collect() };
        let (ahead, behind) = ((case.call)(&nudged(1.0)), (case.call)(&nudged(-1.0)));
        (ahead.is_finite() && behind.is_finite()).then(|| (ahead - behind) / (2.0 * h))
    };
    // Along every input the gradient is taken for, then along the random direction.
    let n = at.len();
    let mut directions: Vec<(String, Vec<f64>)> = (0..n)
        .filter(|&c| case.taken[c])
        .map(|c| {
            (
                format!("input {c}"),
                (0..n).map(|k| f64::from(u8::from(k == c))).collect(),
            )
        })
        .collect();
    if directions.len() > 1 {
        directions.push((
            format!("direction {:?}", point.direction),
            point.direction.to_vec(),
        ));
    }
    if let Some(call_jvp) = case.call_jvp {
        // Forward mode: the value bit for bit, ∇f · v to rounding, along each direction.
        for (what, direction) in &directions {
            let (jvp_value, tangent) = call_jvp(at, direction);
            if !same(jvp_value, value) {
                return Err(format!("`f::jvp` gives the value {jvp_value:?}, `f` {value:?}"));
            }
            let dot: f64 = gradient.iter().zip(direction).map(|(g, v)| g * v).sum();
            let magnitude: f64 = gradient.iter().zip(direction).map(|(g, v)| (g * v).abs()).sum();
            let tolerance = 1e-12 * (dot.abs().max(tangent.abs()).max(magnitude) + 1e-3 * largest);
            if (tangent - dot).abs() > tolerance && !(tangent.is_nan() && dot.is_nan()) {
                return Err(format!(
                    "along {what} forward mode gives {tangent:?} but the gradient {dot:?}"
                ));
            }
            stats.tangents += 1;
        }
    }
    if let Some(call_vector) = case.call_vector {
        check_vector(
            call_vector(at, point.direction),
            value,
            &gradient,
            point.direction,
            largest,
        )?;
        stats.jacobians += 1;
    }
    let mut outcome = Outcome::Checked;
    for (what, direction) in directions {
        let analytic: f64 = gradient.iter().zip(&direction).map(|(g, v)| g * v).sum();
        let magnitude: f64 = gradient.iter().zip(&direction).map(|(g, v)| (g * v).abs()).sum();
        let close = |a: f64, b: f64| {
            (a - b).abs() <= 1e-5 * a.abs().max(b.abs()).max(magnitude) + 1e-7 * (1.0 + largest)
        };
        let Some(numeric) = difference(&direction, 1e-5) else {
            outcome = Outcome::Singular;
            continue;
        };
        if close(analytic, numeric) {
            stats.directions += 1;
            continue;
        }
        // A closer look: two more steps, which must agree with each other.
        let (Some(coarse), Some(fine)) = (difference(&direction, 1e-4), difference(&direction, 1e-6)) else {
            outcome = Outcome::Singular;
            continue;
        };
        let steady = (coarse - fine).abs() <= 1e-4 * coarse.abs().max(fine.abs()) + 1e-6 * (1.0 + largest);
        if !steady {
            outcome = Outcome::Unsteady;
            continue;
        }
        if close(analytic, coarse) || close(analytic, fine) {
            stats.directions += 1;
            continue;
        }
        return Err(format!(
            "along {what} the gradient gives {analytic:?} but finite differences {numeric:?} \
             (steps 1e-4: {coarse:?}, 1e-6: {fine:?}); the gradient: {gradient:?}"
        ));
    }
    Ok(outcome)
}

/// How long one program may take before the run is stopped: a loop of the generated code
/// that does not end would otherwise hang the test without a word.
const PATIENCE: Duration = Duration::from_secs(60);

/// Checks every case; prints the figures, and every failure (then panics once). A case
/// that runs longer than `PATIENCE` (60 s) ends the process, after printing its seed and
/// program.
pub fn check_all(cases: &'static [&'static Case]) -> Stats {
    let started = Instant::now();
    let mut stats = Stats::default();
    let mut failures = Vec::new();
    // The case being checked (`usize::MAX` when done), and a count of cases checked.
    static CURRENT: AtomicUsize = AtomicUsize::new(0);
    static CHECKED: AtomicUsize = AtomicUsize::new(0);
    std::thread::spawn(move || {
        let mut last = (usize::MAX, Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(250));
            let (current, checked) = (CURRENT.load(Ordering::SeqCst), CHECKED.load(Ordering::SeqCst));
            if current >= cases.len() {
                return;
            }
            if checked != last.0 {
                last = (checked, Instant::now());
            } else if last.1.elapsed() > PATIENCE {
                let case = cases[current];
                // Straight to stderr: the test harness's capture of `eprintln!` is lost on exit.
                let _ = writeln!(
                    std::io::stderr(),
                    "random program, seed {}: still running after {PATIENCE:?} (a loop that does not end?)\n{}\n{}",
                    case.seed,
                    case.source,
                    rerun(case.seed)
                );
                std::process::exit(101);
            }
        }
    });
    for (k, case) in cases.iter().enumerate() {
        CURRENT.store(k, Ordering::SeqCst);
        if cases.len() == 1 {
            println!("seed {}:\n{}", case.seed, case.source);
        }
        failures.extend(check(case, &mut stats, cases.len() == 1));
        CHECKED.fetch_add(1, Ordering::SeqCst);
    }
    CURRENT.store(usize::MAX, Ordering::SeqCst);
    println!("{stats:?} in {:?}", started.elapsed());
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("{failure}\n");
        }
        panic!(
            "{} failures in {} random programs (above)",
            failures.len(),
            stats.programs
        );
    }
    stats
}

/// The vector-valued program `[v, v * v]` against the program: the value bit for bit, the
/// Jacobian's rows ∇v and 2v∇v against the gradient, and J · direction against the rows.
fn check_vector(
    run: VectorRun,
    value: f64,
    gradient: &[f64],
    direction: &[f64],
    largest: f64,
) -> Result<(), String> {
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    if !same(run.value[0], value) || !same(run.value[1], value * value) {
        return Err(format!("`f_vector` gives {:?} for `f`'s {value:?}", run.value));
    }
    let scale = [1.0, 2.0 * value];
    for (i, row) in run.rows.iter().enumerate() {
        for (j, (&entry, &g)) in row.iter().zip(gradient).enumerate() {
            let expected = scale[i] * g;
            let tolerance =
                1e-12 * (entry.abs().max(expected.abs()) + 1e-3 * largest * scale[i].abs().max(1.0));
            if (entry - expected).abs() > tolerance && !(entry.is_nan() && expected.is_nan()) {
                return Err(format!(
                    "`f_vector::jacobian`[{i}][{j}] is {entry:?}, the gradient says {expected:?}"
                ));
            }
        }
        let dot: f64 = row.iter().zip(direction).map(|(g, v)| g * v).sum();
        let magnitude: f64 = row.iter().zip(direction).map(|(g, v)| (g * v).abs()).sum();
        let tangent = run.tangent[i];
        let tolerance = 1e-12 * (dot.abs().max(tangent.abs()).max(magnitude) + 1e-3 * largest);
        if (tangent - dot).abs() > tolerance && !(tangent.is_nan() && dot.is_nan()) {
            return Err(format!(
                "`f_vector`'s forward mode gives {tangent:?} for output {i}, its Jacobian's row {dot:?}"
            ));
        }
    }
    // The caller: value v + v²/2, gradient (1 + v) ∇v.
    let (caller_value, caller_gradient) = &run.caller;
    let expected = value + value * value * 0.5;
    if !same(*caller_value, expected) {
        return Err(format!("`f_caller` gives {caller_value:?} for {expected:?}"));
    }
    for (j, (&entry, &g)) in caller_gradient.iter().zip(gradient).enumerate() {
        let expected = (1.0 + value) * g;
        let tolerance = 1e-12 * (entry.abs().max(expected.abs()) + 1e-3 * largest * (1.0 + value.abs()));
        if (entry - expected).abs() > tolerance && !(entry.is_nan() && expected.is_nan()) {
            return Err(format!(
                "`f_caller::grad`[{j}] is {entry:?}, (1 + v) times the gradient is {expected:?}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The checker itself, on hand-written cases: it must catch a wrong gradient and skip
    //! what finite differences cannot judge.

    use super::*;

    fn square(at: &[f64]) -> f64 {
        at[0] * at[0] + at[1]
    }

    const POINTS: &[Point] = &[
        Point {
            at: &[0.5, -1.0],
            direction: &[0.7, -0.6],
            expected: Some(-0.75),
            largest: 1.0,
        },
        Point {
            at: &[-1.25, 0.25],
            direction: &[-0.9, 0.8],
            expected: Some(1.8125),
            largest: 1.8125,
        },
    ];

    fn case(call: fn(&[f64]) -> f64, call_grad: fn(&[f64]) -> (f64, Vec<f64>)) -> Case {
        Case {
            seed: 7,
            source: "fn f(x: f64, y: f64) -> f64 { x * x + y }",
            call,
            call_grad,
            call_jvp: None,
            call_vector: None,
            reference: None,
            taken: &[true, true],
            points: POINTS,
        }
    }

    fn run(case: &Case) -> (Stats, Vec<String>) {
        let mut stats = Stats::default();
        let failures = check(case, &mut stats, false);
        (stats, failures)
    }

    #[test]
    fn a_right_gradient_passes() {
        let (stats, failures) = run(&case(square, |at| (square(at), vec![2.0 * at[0], 1.0])));
        assert!(failures.is_empty(), "{failures:?}");
        // two inputs and a random direction at each point
        assert_eq!((stats.points, stats.checked, stats.directions), (2, 2, 6));
    }

    #[test]
    fn a_wrong_gradient_fails_with_its_seed_and_program() {
        let (_, failures) = run(&case(square, |at| (square(at), vec![2.0 * at[0], 1.001])));
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].contains("seed 7") && failures[0].contains("along input 1"));
        assert!(failures[0].contains("fn f(x: f64, y: f64)") && failures[0].contains("E2E_SEED=7"));
    }

    #[test]
    fn a_nan_gradient_fails() {
        let (_, failures) = run(&case(square, |at| (square(at), vec![f64::NAN, 1.0])));
        assert_eq!(failures.len(), 2, "{failures:?}");
    }

    #[test]
    fn values_must_agree_bit_for_bit() {
        let (_, failures) = run(&case(square, |at| (square(at) + 1e-16, vec![2.0 * at[0], 1.0])));
        assert!(
            failures.iter().all(|f| f.contains("`f::grad` gives the value")),
            "{failures:?}"
        );
        let (_, failures) = run(&case(
            |at| square(at) * (1.0 + f64::EPSILON),
            |at| {
                let value = square(at) * (1.0 + f64::EPSILON);
                (value, vec![2.0 * at[0], 1.0])
            },
        ));
        assert!(
            failures.iter().all(|f| f.contains("generator's evaluation")),
            "{failures:?}"
        );
    }

    #[test]
    fn a_reference_that_disagrees_fails() {
        let mut case = case(square, |at| (square(at), vec![2.0 * at[0], 1.0]));
        case.points = &[Point {
            at: &[0.5, -1.0],
            direction: &[0.7, -0.6],
            expected: None,
            largest: 1.0,
        }];
        case.reference = Some(square);
        let (stats, failures) = run(&case);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(stats.checked, 1);
        case.reference = Some(|at| square(at) + 1e-8);
        let (_, failures) = run(&case);
        assert!(failures[0].contains("reference implementation"), "{failures:?}");
    }

    #[test]
    fn a_gradient_for_an_input_not_taken_fails() {
        let mut case = case(square, |at| (square(at), vec![2.0 * at[0], 1.0]));
        case.taken = &[true, false];
        let (_, failures) = run(&case);
        assert!(
            failures.iter().all(|f| f.contains("not taken for")),
            "{failures:?}"
        );
    }

    #[test]
    fn a_jump_between_the_steps_is_skipped() {
        // A jump of 1 at x = 0.5 + 5e-6: the step 1e-5 straddles it, 1e-6 does not.
        fn jump(at: &[f64]) -> f64 {
            at[0] + f64::from(u8::from(at[0] > 0.5 + 5e-6)) + at[1]
        }
        fn jump_grad(at: &[f64]) -> (f64, Vec<f64>) {
            (jump(at), vec![1.0, 1.0])
        }
        let mut case = case(jump, jump_grad);
        case.points = &[Point {
            at: &[0.5, 0.0],
            direction: &[1.0, 1.0],
            expected: Some(0.5),
            largest: 1.0,
        }];
        let (stats, failures) = run(&case);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!((stats.checked, stats.unsteady), (0, 1), "{stats:?}");
    }

    #[test]
    fn huge_values_are_skipped() {
        let mut case = case(square, |at| (square(at), vec![f64::NAN, 1.0]));
        case.points = &[Point {
            at: &[0.5, -1.0],
            direction: &[0.7, -0.6],
            expected: Some(-0.75),
            largest: f64::INFINITY,
        }];
        let (stats, failures) = run(&case);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!((stats.checked, stats.huge), (0, 1));
    }

    #[test]
    fn points_the_generator_gave_up_on_are_not_run() {
        let mut case = case(|_| panic!("`f` runs"), |_| panic!("`f::grad` runs"));
        case.points = &[Point {
            at: &[0.5, -1.0],
            direction: &[0.7, -0.6],
            expected: None,
            largest: f64::INFINITY,
        }];
        let (stats, failures) = run(&case);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!((stats.checked, stats.huge), (0, 1));
    }

    #[test]
    fn a_panic_is_a_failure() {
        let (_, failures) = run(&case(square, |_| panic!("index out of bounds")));
        assert_eq!(failures.len(), 2);
        assert!(
            failures[0].contains("panicked: index out of bounds"),
            "{failures:?}"
        );
    }
}
