//! The inputs and the check shared by the compiler's property test (`never_panics`) and the
//! cargo-fuzz target (`fuzz/fuzz_targets/expand.rs`):
//! a corpus of valid `#[differentiate]` functions covering the language, token-level
//! mutations of them, random token streams and attribute arguments, all driven by an
//! [`Entropy`] source (a seeded PRNG in the test, the fuzzer's bytes in the fuzz target),
//! and [`check`], which runs the expansion on one input.

use std::panic::{catch_unwind, AssertUnwindSafe};

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

// ---------------------------------------------------------------------------------------
// The corpus

/// Valid annotated functions, as source text with their `#[differentiate]` attribute: the
/// language of the guide (scalars, `let`, shadowing, blocks, `if`/`else`, `match`, `for`
/// and `while` loops, arrays, slices, calls, activations, float methods, `wrt(..)`,
/// `backward = rule`, generic `T: chainrule::Real`, `f32`). Each expands without error.
pub const CORPUS: &[&str] = &[
    // The lecture's function.
    "#[differentiate]
fn f(x: f64, y: f64, z: f64) -> f64 {
    let q = x + y;
    q * z
}",
    // The lecture's neuron, written out: recognized as one sigmoid gate.
    "#[differentiate]
fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let dot = w0 * x0 + w1 * x1 + w2;
    1.0 / (1.0 + (-dot).exp())
}",
    // Arrays and a loop.
    "#[differentiate]
fn neuron_arrays(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = w[2];
    for i in 0..2 {
        dot += w[i] * x[i];
    }
    sigmoid(dot)
}",
    // f32, kinks, constants folded.
    "#[differentiate]
pub fn kinks(a: f32, b: f32) -> f32 {
    let m = a.max(b);
    let r = relu(a * b) + m.abs();
    r * a.tanh() + 2.0_f32.sqrt() * b.powi(3)
}",
    // A branch, a loop over a run-time range, a slice, a while loop.
    "#[differentiate]
fn control(x: f64, xs: &[f64], n: usize) -> f64 {
    let y = if x > 0.0 { x * x } else { -x };
    let mut p = 1.0;
    for _ in 0..n {
        p = p * y;
    }
    let mut s = 0.0;
    for &v in xs.iter() {
        s += v.sin();
    }
    let mut z = s;
    while z < 10.0 {
        z = z * 2.0 + p;
    }
    z
}",
    // match as an expression.
    "#[differentiate]
fn match_expression(x: f64, k: usize) -> f64 {
    match k {
        0 => x,
        1 | 2 => x * x,
        3..=5 => x.sin(),
        6..9 => x.exp() * (k as f64),
        _ => 1.0 / x,
    }
}",
    // match as a statement, compound assignments.
    "#[differentiate]
fn match_statement(x: f64, y: f64, mode: u32) -> f64 {
    let mut s = x;
    match mode {
        0 => s += y,
        1 | 3 => {
            s *= y;
            s = s.tanh();
        }
        4..=6 => {
            let t = y * y;
            s = s / t;
        }
        _ => {}
    }
    s * x
}",
    // Two layers, nested loops, a 2-D array.
    "#[differentiate]
fn net(w1: [[f64; 4]; 3], b1: [f64; 3], w2: [f64; 3], b2: f64, x: [f64; 4], y: f64) -> f64 {
    let mut h = [0.0; 3];
    for i in 0..3 {
        let mut z = b1[i];
        for j in 0..4 {
            z += w1[i][j] * x[j];
        }
        h[i] = relu(z);
    }
    let mut out = b2;
    for i in 0..3 {
        out += w2[i] * h[i];
    }
    let e = out - y;
    e * e
}",
    // wrt.
    "#[differentiate(wrt(w, b))]
fn affine(w: f64, x: f64, b: f64) -> f64 {
    (w * x + b).tanh()
}",
    // Slices of run-time length, wrt, len().
    "#[differentiate(wrt(w1, b1, w2, b2))]
fn two_layer_slices(w1: &[f64], b1: &[f64], w2: &[f64], b2: f64, x: &[f64], target: f64) -> f64 {
    let inputs = x.len();
    let mut out = b2;
    for i in 0..b1.len() {
        let mut z = b1[i];
        for j in 0..inputs {
            z += w1[i * inputs + j] * x[j];
        }
        out += w2[i] * z.max(0.0);
    }
    let err = out - target;
    err * err
}",
    // A custom rule: the body is not read.
    "#[differentiate(backward = erf_backward)]
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.3275911 * x.abs());
    let y = 1.0 - (((1.061405429 * t - 1.453152027) * t + 1.421413741) * t) * (-x * x).exp();
    if x >= 0.0 { y } else { -y }
}",
    // A custom rule by path, over an array, with a body full of closures.
    "#[differentiate(backward = rules::weighted_backward)]
fn weighted(w: [f64; 3], x: f64) -> f64 {
    w.iter().enumerate().map(|(i, wi)| wi * x.powi(i as i32)).sum()
}",
    // Generic over T: Real.
    "#[differentiate]
fn generic_net<T: Real>(w: [T; 3], x: T) -> T {
    let mut s = T::zero();
    for i in 0..3 {
        s += relu(w[i] * x - T::from_f64(0.5)) * (T::from_f64(i as f64) + T::one());
    }
    (s * s).sqrt() + w[0].powi(2) * T::exp(x)
}",
    // Generic with a where clause and a full path, calling another generic function.
    "#[differentiate]
pub(crate) fn smooth_abs<T>(x: T, k: T) -> T
where
    T: chainrule::Real,
{
    if x > T::zero() {
        softplus(k * x) / k
    } else {
        softplus(-k * x) / k
    }
}",
    // Calls by name and by path, in a loop, with arrays.
    "#[differentiate]
fn composed(a: f64, w: [f64; 2], b: f64) -> f64 {
    let h = square(a) + inner::cube(b);
    let x = [h, a];
    let mut s = 0.0;
    for i in 0..3 {
        s += layer(w, x, b * i as f64);
    }
    s * square(h)
}",
    // Element updates with every operator, a const length, nested arrays.
    "#[differentiate]
fn element_updates(a: [f64; N], x: f64) -> f64 {
    let mut b = [0.0; N];
    let mut m = [[1.0; 2]; N];
    for i in 0..N {
        b[i] = a[i] * x;
        b[i] += 1.0;
        b[i] -= x * x;
        b[i] *= a[i];
        b[i] /= 1.0 + x * x;
        m[i][0] += b[i];
        m[i][1] *= b[i] - a[i];
    }
    let mut s = 0.0;
    for i in 0..N - 1 {
        s += (b[i + 1] - b[i]) * m[i][0] + m[i + 1][1];
    }
    let flat = [a[0], a[1], b[2], x];
    for i in 0..2 {
        for j in 0..2 {
            s += flat[i * 2 + j] * m[j][i];
        }
    }
    s
}",
    // Every form of loop over an array.
    "#[differentiate]
fn array_iteration(a: [f64; 5], x: f64) -> f64 {
    let mut s = 0.0;
    for v in a {
        s += v * x;
    }
    for (i, v) in a.iter().enumerate() {
        s += v * v * (i as f64);
    }
    for &v in a.iter() {
        s = s * 0.5 + v.sin();
    }
    for i in (0..5).rev() {
        s = s * x + a[i];
    }
    s
}",
    // while with a counter and a float condition; ranges of every form.
    "#[differentiate]
fn counted_until(x: f64, n: usize) -> f64 {
    let mut s = x;
    let mut k = 0;
    while k < n && s < 100.0 {
        s = s * x + (k as f64);
        k += 1;
    }
    for i in 1..=n {
        s += x / (i as f64);
    }
    for i in (2..n).rev() {
        s = s * 0.75 + x * (i as f64);
    }
    s * 2.0
}",
    // Conditions with && || !, bool and integer parameters, else if.
    "#[differentiate]
fn combined_conditions(x: f64, y: f64, flag: bool, k: i32) -> f64 {
    let mut r = x + y;
    if x > 0.0 && y > 0.0 {
        r = x * y;
    }
    if !(x > y) || x < -1.0 {
        r += y.sin();
    }
    if flag && k > 2 {
        r *= x;
    } else if !flag || k == 0 {
        r -= x * y;
    } else {
        r = r.tanh();
    }
    r
}",
    // Precedence, literals of every form, shadowing, blocks, a final return.
    "#[differentiate]
fn literals_and_blocks(x: f64, y: f64) -> f64 {
    let t: f64 = 2.0 * x + 1e-3 * y * y + x / 2. - 2.5e1 * x * y + 0.5_f64 * y + 1E2;
    let x = x * x;
    let _ = y.ln();
    let b = {
        let a = t * t;
        a + 1.0
    };
    let a = x - (y - x * y) / (x * (y + 1.0)) * -(x + y);
    let c = -x.powi(2) + (-y).powi(3) - -x.exp() + 2f64 * x.powi(3i32) + f64::hypot(x, y);
    return a * b - c / (t - 3.0);
}",
    // Every activation and a spread of float methods, in f32.
    "#[differentiate]
fn activations(x: f32, y: f32, z: f32) -> f32 {
    let a = leaky_relu(x, 0.01) + elu(y, 1.0) + maxout(x, z) + tanh(y) + chainrule::relu(z);
    let b = x.mul_add(y, z) + y.hypot(z) + x.abs().ln_1p() + z.abs().powf(0.5);
    let c = x.atan2(y) + z.exp_m1() + y.cbrt() + x.min(y).recip() + z.log(2.0);
    a * b - c + std::f32::consts::PI * f32::sqrt(x * x + 1.0)
}",
    // &Vec, &[f64; N], a bool kept in a local, the gradient of an unused parameter.
    "#[differentiate]
fn references(xs: &Vec<f64>, c: &[f64; 3], x: f64, unused: f64, squared: bool) -> f64 {
    let big = x > 2.0;
    let mut s = if squared { x * x } else { x.exp() };
    for &v in xs.iter() {
        s = s * v + c[0];
    }
    for i in 0..c.len() {
        s += c[i] * x;
    }
    if big { s * 3.0 } else { s }
}",
    // A call to a custom-rule function, indices from an integer parameter.
    "#[differentiate]
fn softmax_loss(scores: &[f64], y: usize) -> f64 {
    logsumexp(scores) - scores[y]
}",
    // Doc comments, other attributes, a cfg.
    "/// Documented.
#[differentiate]
#[allow(clippy::let_and_return)]
#[cfg(not(feature = \"none\"))]
pub fn documented(x: f64) -> f64 {
    let y = x.sin() * x.cos();
    y
}",
    // ndarray: the lecture's 2-layer net with a softmax loss and L2.
    "#[differentiate(wrt(w1, b1, w2, b2))]
fn net(w1: &Array2<f64>, b1: &Array1<f64>, w2: &Array2<f64>, b2: &Array1<f64>, x: &Array2<f64>, y: &[usize]) -> f64 {
    let h = relu(&(x.dot(w1) + b1));
    let scores = h.dot(w2) + b2;
    cross_entropy(&scores, y) + 0.5 * 1e-3 * ((w1 * w1).sum() + (w2 * w2).sum())
}",
    // ndarray: views, transposes, axes, mapv, indexing, compound assignment.
    "#[differentiate]
fn arrays(a: ArrayView2<f64>, v: &Array1<f64>, k: usize) -> f64 {
    let mut z = a.t().dot(v).mapv(f64::tanh);
    z *= 2.0;
    let p = softmax(&(&a.sum_axis(Axis(1)) - v.mean().unwrap()));
    z.mapv(|t| t.max(0.0) * t).sum() + p[k] + a[[0, 1]] + a.row(0).sum() + log_softmax(&z).sum()
}",
    // trace and source on a loop with a branch.
    "#[differentiate(trace, source)]
fn traced(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = w[2];
    for i in 0..2 {
        if x[i] > 0.0 { dot += w[i] * x[i]; } else { dot -= x[i]; }
    }
    sigmoid(dot)
}",
    // Integers of other types, integer constants and methods, empty ranges, a while
    // condition's own variable, a long literal loop, powers with run-time exponents.
    "#[differentiate(wrt(x, w))]
fn integers(x: f64, w: [f64; STEPS + 1], n: u32, k: i64, m: usize) -> f64 {
    let mut p = x;
    for _ in 0..n {
        p = p * x;
    }
    for i in k..(k + 3) {
        p = (p * (x - i as f64)).sin();
    }
    for i in 1..m.min(N - 1) {
        p += w[usize::max(i, 2)] * x.powi(i as i32) + x.powf(0.0) / N as f64;
    }
    let mut d: f64 = 1.0;
    while d > 1e-3 {
        d = p * 0.5;
        p -= d;
    }
    for _ in 0..1_000_000 {
        p -= 1e-6 * p;
    }
    p
}",
    // `mut` parameters, assigned in a loop.
    "#[differentiate]
fn mut_parameters(mut x: f64, mut w: [f64; 3], n: usize) -> f64 {
    for i in 0..n {
        w[i % 3] *= x;
        x = x.sin() + w[0];
    }
    x * w[1] + w[2]
}",
    // `let` without a value, assigned last in every branch of the `if` after it.
    "#[differentiate]
fn deferred(x: f64, n: usize) -> f64 {
    let y: f64;
    let scale = 2.0;
    if x > 1.0 {
        let t = x.ln();
        y = t * scale;
    } else if n > 2 {
        y = x * x;
    } else {
        y = x.sin();
    }
    let mut z;
    if y > 0.5 {
        z = y * 3.0;
    } else {
        z = y;
    }
    z += 1.0;
    z * y
}",
    // Returns from guards, an `else if` chain of them, and an `else` that returns.
    "#[differentiate]
fn guards(x: f64, y: f64) -> f64 {
    if x < 0.0 {
        return -x * y;
    }
    let z = x * y;
    if y > 1.0 {
        return z + 1.0;
    } else if y < -1.0 {
        let w = z * 2.0;
        return w - y;
    }
    if z > 4.0 {
        z.sqrt()
    } else {
        return z * z;
    }
}",
    // Lifetimes in the signature, with a generic float type.
    "#[differentiate]
fn with_lifetimes<'a, 'b: 'a, T: chainrule::Real>(xs: &'a [T], w: &'b [T; 2]) -> T {
    let mut s = T::zero();
    for i in 0..xs.len() {
        s += xs[i] * w[i % 2];
    }
    s
}",
    // An intermediate array stretched by an operand of fewer axes (its shape kept).
    "#[differentiate]
fn stretched(x: &Array2<f64>, w: &Array2<f64>, row: &Array1<f64>) -> f64 {
    let column = x.dot(w);
    (&column + row).mapv(f64::sin).sum() + (row * &column).sum()
}",
    // The float methods added as rows of the operation table: steps, remainders, clamps,
    // inverse hyperbolic functions, angles.
    "#[differentiate]
fn steps(x: f64, y: f64) -> f64 {
    let s = x.floor() + x.ceil() * y.round() - x.trunc() + y.round_ties_even() * x.fract();
    let r = (x % 1.5) + x.rem_euclid(2.0) * y.div_euclid(0.5) + x.signum() * y.copysign(x);
    let mut a = x.clamp(-1.0, 1.0) * y.asinh() + (y * y + 1.0).acosh() + (0.5 * x.tanh()).atanh();
    a %= 3.0;
    s + r + a + x.to_radians() + y.to_degrees()
}",
    // Iterator chains and closures, lowered to loops: adaptors, consumers, windows,
    // `move` copies, arrays iterated by value.
    "#[differentiate]
fn chains(xs: &[f64], w: [f64; 3], x: f64) -> f64 {
    let sq = |t: f64| t * t;
    let mut k = x;
    let scaled = move |t: f64| t * k;
    k += 1.0;
    let a: f64 = xs.iter().zip(w.iter()).map(|(a, b)| sq(a - b)).sum();
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let n = xs.iter().filter(|&&v| v > 0.0).count() as f64;
    let p: f64 = w.iter().rev().enumerate().skip(1).map(|(i, v)| v * i as f64).product();
    let r = w.into_iter().reduce(f64::min).unwrap_or(0.0);
    let mut s = 0.0;
    for win in xs.windows(2) {
        s += win.iter().map(|v| scaled(*v)).sum::<f64>() / win.len() as f64;
    }
    for (i, v) in (0..3).zip(w).rev() {
        s += v * i as f64 + k;
    }
    xs.iter().for_each(|v| s += v);
    let any = w.iter().any(|v| *v > x) || (1..=3).step_by(2).all(|i| i > 0);
    if any { a + m + n + p + r + s } else { s }
}",
    // `break`, `continue` with labels, `loop` with `break value`, and `return` in loops.
    "#[differentiate]
fn jumps(xs: &[f64], w: [f64; 3], x: f64) -> f64 {
    let mut s = x;
    'outer: for i in 0..xs.len() {
        for j in (0..3).rev() {
            if xs[i] * w[j] > 2.0 {
                continue 'outer;
            }
            if w[j] < -1.0 {
                break 'outer;
            }
            s += xs[i] * w[j];
        }
    }
    for &v in xs.iter() {
        if v > 3.0 {
            return s * v;
        }
    }
    let mut k = 0;
    let t = loop {
        k += 1;
        s = s * 0.5 + 1.0;
        if k >= 10 {
            break s * 2.0;
        }
    };
    while s > 0.1 {
        s *= 0.5;
        if s < t {
            break;
        }
    }
    s + t
}",
    // Tuples taken apart: `sin_cos`, nested patterns, a swap.
    "#[differentiate]
fn tuples(x: f64, y: f64, n: usize) -> f64 {
    let (s, c) = x.sin_cos();
    let ((p, _), (q, mut r)): ((f64, f64), (f64, f64)) = ((x * y, 0.0), (x + y).sin_cos());
    let (mut u, mut v) = (x, y);
    for _ in 0..n {
        (u, v) = (v, u + v * 0.5);
    }
    r += p;
    let (y, x) = (x, y);
    s * c + q * r + u * v + y - x
}",
    // Run-time-sized local arrays: `vec![x; n]`, copies of a slice, `vec![a, b]`.
    "#[differentiate]
fn run_time_arrays(xs: &[f64], x: f64, n: usize) -> f64 {
    let mut buf: Vec<f64> = vec![x; n];
    let copy = xs.to_vec();
    for i in 0..n {
        buf[i] = buf[i] * copy[i % copy.len()] + i as f64;
    }
    let mut scratch = copy.clone();
    scratch[0] *= buf[n - 1];
    let fixed = vec![x, 2.0 * x];
    buf.iter().sum::<f64>() + scratch[0] * fixed[1] + buf.len() as f64
}",
    // Const generic lengths, generic float and traced.
    "#[differentiate(trace, source)]
fn const_lengths<T: chainrule::Real, const N: usize>(x: [T; N], y: T) -> T {
    let mut s = T::zero();
    for i in 0..N {
        s += x[i] * x[(i + 1) % N] * y;
    }
    s / T::from_f64(N as f64)
}",
    // Elements updated in place through `iter_mut` and `&mut`.
    "#[differentiate]
fn in_place(scores: [f64; 3], t: f64) -> f64 {
    let mut p = scores;
    for v in p.iter_mut() {
        *v = (*v * t).exp();
    }
    let total: f64 = p.iter().sum();
    for (i, v) in p.iter_mut().enumerate() {
        *v /= total;
        *v += 0.01 * i as f64;
    }
    for v in &mut p {
        *v = v.powi(2);
    }
    p[0] + p[2]
}",
    // Recursion: a determinant by cofactor expansion calling itself on minors built by
    // `push`, and two functions calling each other (one in a loop, one under `match`).
    "#[differentiate]
fn det(a: &[f64], n: usize) -> f64 {
    if n == 1 {
        return a[0];
    }
    let mut total = 0.0;
    for j in 0..n {
        let mut minor = Vec::with_capacity((n - 1) * (n - 1));
        for r in 1..n {
            for c in 0..n {
                if c != j {
                    minor.push(a[r * n + c]);
                }
            }
        }
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        total += sign * a[j] * det(&minor, n - 1);
    }
    total
}",
    "#[differentiate]
mod alternating {
    pub fn up<T: chainrule::Real>(x: T, rows: &[Vec<T>], n: u32) -> T {
        if n == 0 { x } else { down(x, rows, n - 1).sin() }
    }
    pub fn down<T: chainrule::Real>(x: T, rows: &[Vec<T>], n: u32) -> T {
        match n {
            0 => x * rows[0][0],
            _ => {
                let mut total = T::zero();
                for row in rows {
                    let mut minor = Vec::new();
                    minor.push(row.clone());
                    total += row[0] * up(x, &minor, n - 1);
                }
                total
            }
        }
    }
}",
    // A module of functions: its helpers are differentiated without attributes of their
    // own, one has its own `wrt`, one returns an integer (left alone), and a call of a
    // function outside (checked at the call).
    "#[differentiate]
mod model {
    fn sq(t: f64) -> f64 {
        t * t
    }
    fn index(i: usize) -> usize {
        i % 3
    }
    #[differentiate(wrt(x))]
    pub fn scaled(x: f64, c: f64) -> f64 {
        sq(x) * c
    }
    pub fn loss(w: [f64; 3], x: f64) -> f64 {
        let mut s = 0.0;
        for i in 0..3 {
            s += scaled(w[index(i + 1)], x) + outside(w[i]);
        }
        s
    }
}",
    // Structs as parameters (the harness answers for their derives): nested, generic,
    // by reference and by value, a `Vec` field, data fields, fields assigned, closures.
    "#[differentiate]
mod structs {
    #[derive(Clone, Debug, PartialEq, chainrule::Differentiable)]
    struct Layer<T> {
        w: [[T; 2]; 3],
        b: [T; 3],
    }
    #[derive(Clone, Debug, PartialEq, chainrule::Differentiable)]
    struct Params<T> {
        hidden: Layer<T>,
        out: [T; 3],
        scale: T,
        steps: usize,
        coefficients: Vec<T>,
        #[chainrule(data)]
        name: String,
    }
    fn net<T: Real>(p: &Params<T>, x: [T; 2]) -> T {
        let mut y = T::zero();
        for i in 0..3 {
            let mut z = p.hidden.b[i];
            for j in 0..2 {
                z += p.hidden.w[i][j] * x[j];
            }
            y += p.out[i] * z.tanh();
        }
        let tail = |t: T| t * p.scale;
        tail(y) + p.coefficients.iter().map(|c| *c * *c).sum::<T>() * T::from_f64(p.steps as f64)
    }
    #[derive(Clone, Debug, PartialEq, chainrule::Differentiable)]
    struct State {
        position: f64,
        velocity: f64,
    }
    fn integrate(mut s: State, k: f64, steps: u32) -> f64 {
        for _ in 0..steps {
            s.velocity += -k * s.position * 0.1;
            s.position += s.velocity * 0.1;
        }
        s.position
    }
    type Point = [f64; 2];
    #[derive(Clone, Debug, PartialEq, chainrule::Differentiable)]
    struct Sample {
        x: Point,
        y: f64,
    }
    fn data_loss(p: &Params<f64>, data: &[Sample], states: [State; 2]) -> f64 {
        let mut total = 0.0;
        for (k, s) in data.iter().enumerate() {
            total += (net(p, s.x) - s.y).powi(2) * (k as f64 + 1.0);
        }
        let last = data.iter().map(|s| s.y * s.x[1]).fold(0.0, f64::max);
        total / data.len() as f64 + data[0].y * last + integrate(states[1].clone(), 2.0, 3)
    }
}",
    // Vectors grown by `push`: of floats and of arrays, in a branch, read back.
    "#[differentiate]
fn pushed(xs: &[f64], k: f64) -> f64 {
    let mut squares = Vec::new();
    let mut pairs: Vec<[f64; 2]> = Vec::with_capacity(xs.len());
    for x in xs.iter() {
        if *x > 0.0 {
            squares.push(x * k);
        }
        pairs.push([*x, k]);
    }
    squares.push(k);
    let mut total = 0.0;
    for s in squares.iter() {
        total += s;
    }
    total + pairs[0][1] * pairs.len() as f64
}",
    // Methods of a derived struct.
    "#[differentiate]
impl Spring {
    fn energy(&self, x: f64) -> f64 {
        0.5 * self.k * (x - self.rest).powi(2) + Self::OFFSET
    }
    fn stiffer(self, by: f64) -> f64 {
        self.k * by + self.energy(by)
    }
    fn label(&self) -> usize {
        3
    }
}",
    // ndarray anywhere: rows, columns and slices in loops and branches, a matrix built row
    // by row, `assign`, shapes, a while loop, an element of a computed array.
    "#[differentiate]
fn array_loops(w: &Array2<f64>, b: &Array1<f64>, x: &Array1<f64>, k: usize) -> f64 {
    let (n, d) = w.dim();
    let mut h = Array2::zeros((n, d));
    let mut total = 0.0;
    for i in 0..n {
        let row = w.row(i);
        if row.sum() > 0.0 {
            h.row_mut(i).assign(&(&row * x));
        } else {
            total += row.dot(x) * 0.5;
        }
    }
    for j in 0..w.ncols() {
        total += w.column(j).sum() * b[j % b.len()];
    }
    for r in h.rows() {
        total += r.mapv(f64::tanh).sum();
    }
    let mut i = 0;
    while i < h.nrows() {
        total += h[[i, 0]];
        i += 1;
    }
    let head = x.slice(s![0..k]);
    total + head.sum() + w.dot(x)[0] + h.len_of(Axis(0)) as f64 * w.shape()[1] as f64
}",
    // Arrays passed between the functions of a module: by reference, as views, by value.
    "#[differentiate]
mod layers {
    use super::*;
    fn energy(v: &Array1<f64>) -> f64 {
        v.mapv(f64::tanh).dot(v) * 0.5
    }
    fn by_view(v: ArrayView1<f64>, c: f64) -> f64 {
        v.sum() * c
    }
    fn owned(v: Array1<f64>) -> f64 {
        (&v * &v).sum()
    }
    pub fn loss(w: &Array2<f64>, x: &Array1<f64>) -> f64 {
        let mut total = 0.0;
        for i in 0..w.nrows() {
            total += energy(&w.row(i).to_owned()) + by_view(w.row(i), 2.0);
        }
        let mut z = Array1::zeros(x.len());
        z.assign(&x.mapv(f64::sin));
        total + energy(&z) + owned(w.dot(x))
    }
}",
    // Helpers inlined where they are called: a tuple result, an array result, scratch
    // arguments through `&mut` (a `Vec`, a slice, a float), an early return, a generic
    // helper, a helper calling a helper.
    "#[differentiate]
mod inlined {
    fn polar(r: f64, theta: f64) -> (f64, f64) {
        let (s, c) = theta.sin_cos();
        (r * c, r * s)
    }
    fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    }
    fn squares(xs: &[f64], scratch: &mut Vec<f64>) -> f64 {
        scratch.clear();
        for x in xs {
            scratch.push(x * x);
        }
        scratch.iter().sum()
    }
    fn sines(xs: &[f64], out: &mut [f64], cap: f64) -> f64 {
        for i in 0..xs.len() {
            out[i] = (xs[i] * cap).sin();
        }
        if xs[0] > cap {
            return out[0];
        }
        out[0] * 2.0
    }
    fn accumulate(total: &mut f64, x: f64) {
        *total += x.tanh();
    }
    fn rotated<T: Real>(x: T, y: T) -> (T, T) {
        let (a, b) = polar(x.hypot(y), y.atan2(x));
        (a, b)
    }
    pub fn motion(r: f64, theta: f64, xs: &[f64], w: [f64; 3]) -> f64 {
        let (x, y) = polar(r, theta);
        let n = cross(w, [x, y, 1.0]);
        let mut scratch = Vec::new();
        let mut buf = vec![0.0; xs.len()];
        let mut total = 0.0;
        accumulate(&mut total, x * y);
        let (a, b) = rotated(x, y);
        total + n[0] + squares(xs, &mut scratch) * scratch[1] + sines(xs, &mut buf, r) + buf[1] * a - b
    }
}",
    // `self` as data, without the derive: reads typed from their uses.
    "#[differentiate(wrt(x))]
impl Table {
    fn value(&self, x: f64) -> f64 {
        let n = self.order;
        let ws = self.weights;
        let mut s = self.bias;
        for i in 0..n {
            s += ws[i] * (x - self.knots[self.lookup[i]]).powi(self.power) / (i + 1) as f64;
        }
        let spread = self.knots.iter().map(|k| (x - k).abs()).sum::<f64>() / self.knots.len() as f64;
        let m = self.order;
        if self.clamped && s > 1.0 { 1.0 + spread } else { s * self.scale as f64 + self.order as f64 * x + m as f64 }
    }
}",
    // Helpers of an `impl` block inlined (`Self::split`), a tuple returned early, a tuple
    // taken apart from an `if`, a float cast to an index.
    "#[differentiate]
impl Spring {
    fn split(x: f64, limit: f64) -> (f64, f64) {
        if x > limit {
            return (limit, x - limit);
        }
        x.sin_cos()
    }
    fn fill(x: f64, out: &mut [f64]) {
        let (a, b) = Self::split(x, 2.0);
        out[0] = a;
        out[1] = b;
    }
    fn ends(&self, theta: f64) -> (f64, f64) {
        (self.k * theta.cos(), self.rest * theta.sin())
    }
    fn reach(&self, theta: f64) -> f64 {
        let (ex, ey) = self.ends(theta);
        let (s, c) = Self::split(theta + ex * ey, self.rest);
        let mut buf = [0.0; 2];
        Self::fill(theta * 0.5, &mut buf);
        let (p, q) = if s > c { (s * self.k, c) } else if c > 0.0 { let t = c.exp(); (t, s) } else { (c, s) };
        let (u, _) = match (theta.abs() * 3.0) as usize { 0 => (p, q), 1 | 2 => (q, p), _ => (1.0, 0.0) };
        p * q * u + buf[0] * buf[1] + buf[((theta.abs() * 2.0) as usize).clamp(0, 1)]
    }
}",
    // Forward mode and second derivatives: `jvp` through a branch, a `while` loop carrying
    // an array, a call; `hessian` of a loop over a slice.
    "#[differentiate(jvp, hessian)]
fn curvature(x: &[f64], k: f64) -> f64 {
    let mut s = [0.0, k];
    let mut i = 0;
    while i < x.len() {
        let d = if x[i] > 0.5 { (x[i] * k).sin() } else { x[i].powi(2) - k.exp() };
        s[0] += d * d;
        s[1] = s[1].max(d);
        i += 1;
    }
    s[0] / (1.0 + s[1].abs()) + x.iter().map(|v| v.tanh()).sum::<f64>()
}",
    // Vector-valued functions: a tuple from a branch and a `match`, residuals collected from
    // an iterator, a fixed-size array filled in a loop, and a call of one with its type.
    "#[differentiate]
fn pair(x: f64, w: [f64; 2], k: usize) -> (f64, f64) {
    if x > 1.0 {
        return (w[0] * x, w[1]);
    }
    match k {
        0 => x.sin_cos(),
        _ => (x.exp(), w[0] + w[1] * x),
    }
}",
    "#[differentiate(wrt(p))]
fn residuals(p: [f64; 3], xs: &[f64], ys: &[f64]) -> Vec<f64> {
    xs.iter().zip(ys).map(|(x, y)| p[0] * (p[1] * x).exp() + p[2] - y).collect()
}",
    "#[differentiate(jvp)]
fn springs(q: [f64; 3], k: f64) -> [f64; 3] {
    let mut force = [0.0; 3];
    for i in 0..3 {
        force[i] = k * (q[(i + 1) % 3] - q[i]).tanh();
    }
    force
}",
    "#[differentiate]
fn energy(q: [f64; 3], k: f64) -> f64 {
    let force: [f64; 3] = springs(q, k);
    force.iter().map(|f| f * f).sum::<f64>()
}",
    // A tuple-valued callee taken apart, with the tuple's type and without.
    "#[differentiate(jvp)]
fn through_pair(x: f64, w: [f64; 2]) -> f64 {
    let (a, b) = pair(x, w, 1);
    let (c, _): (f64, f64) = pair(a * b, w, 0);
    a * c + b
}",
    // Second derivatives through calls of functions that have them.
    "#[differentiate(hessian)]
fn spring(x: f64, k: f64) -> f64 {
    0.5 * k * x * x
}",
    "#[differentiate(hessian)]
fn two_springs(x: f64, y: f64, k: f64) -> f64 {
    spring(x, k) + spring(y - x, 2.0 * k)
}",
];

/// The definitions of structs the corpus's functions take whose derive is not beside them
/// (`Spring`, for the `impl` block), for a harness that answers for the derives.
pub const STRUCTS: &[&str] = &["struct Spring { k: f64, rest: f64 }"];

/// The attribute arguments the mutations of attributes start from.
pub const ATTRIBUTES: &[&str] = &[
    "",
    "jvp",
    "trace, jvp",
    "jvp, wrt(p)",
    "hessian",
    "jvp, hessian, wrt(x)",
    "wrt(x)",
    "wrt(x, y)",
    "wrt(w, b,)",
    "backward = rule",
    "backward = crate::rules::erf_backward",
    "wrt(x), backward = rule",
    "backward = r, wrt(x, y, z)",
    "wrt()",
    "wrt(x) wrt(y)",
    "trace",
    "source",
    "wrt(x), trace, source",
    "backward = rule, trace, source",
    "trace, trace",
];

/// A corpus entry as tokens, split into the attribute's arguments and the item.
pub fn corpus_entry(index: usize) -> (TokenStream, TokenStream) {
    let source = CORPUS[index % CORPUS.len()];
    split_attribute(source.parse().unwrap_or_default())
}

/// Splits a leading `#[differentiate]` or `#[differentiate(args)]` off `tokens`: `(args,
/// the rest)`. Without one, `(empty, tokens)`. (Other attributes before it stay.)
pub fn split_attribute(tokens: TokenStream) -> (TokenStream, TokenStream) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    // Outer attributes: `#` then a bracket group, possibly several.
    let mut at = 0;
    while at + 1 < trees.len() {
        let (TokenTree::Punct(pound), TokenTree::Group(group)) = (&trees[at], &trees[at + 1]) else {
            break;
        };
        if pound.as_char() != '#' || group.delimiter() != Delimiter::Bracket {
            break;
        }
        let inside: Vec<TokenTree> = group.stream().into_iter().collect();
        let args = match inside.as_slice() {
            [TokenTree::Ident(name)] if name == "differentiate" => Some(TokenStream::new()),
            [TokenTree::Ident(name), TokenTree::Group(args)]
                if name == "differentiate" && args.delimiter() == Delimiter::Parenthesis =>
            {
                Some(args.stream())
            }
            _ => None,
        };
        if let Some(args) = args {
            let rest = trees[..at].iter().chain(&trees[at + 2..]).cloned().collect();
            return (args, rest);
        }
        at += 2;
    }
    (TokenStream::new(), trees.into_iter().collect())
}

// ---------------------------------------------------------------------------------------
// Entropy

/// Where the random choices come from.
pub trait Entropy {
    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize;

    /// True with probability `percent`/100.
    fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// An element of `items` (which is not empty).
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The generator's seeded PRNG (splitmix64), as a source of choices.
pub use crate::Rng;

impl Entropy for Rng {
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The fuzzer's bytes as choices: one byte per choice among up to 256, two beyond; 0 once
/// they run out. (So a small change of the bytes is a small change of the input.)
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    fn byte(&mut self) -> usize {
        match self.data.split_first() {
            Some((&first, rest)) => {
                self.data = rest;
                usize::from(first)
            }
            None => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl Entropy for Bytes<'_> {
    fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let value = if n <= 256 {
            self.byte()
        } else {
            self.byte() | self.byte() << 8
        };
        value % n
    }
}

// ---------------------------------------------------------------------------------------
// Token trees that can be edited in place

/// A token tree whose groups own a `Vec`, so that mutations can edit them.
#[derive(Clone)]
pub enum Node {
    /// An identifier, a punctuation character or a literal.
    Token(TokenTree),
    Group(Delimiter, Vec<Node>),
}

pub fn tree(tokens: TokenStream) -> Vec<Node> {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => Node::Group(group.delimiter(), tree(group.stream())),
            other => Node::Token(other),
        })
        .collect()
}

pub fn stream(nodes: &[Node]) -> TokenStream {
    nodes
        .iter()
        .map(|node| match node {
            Node::Token(token) => token.clone(),
            Node::Group(delimiter, children) => TokenTree::Group(Group::new(*delimiter, stream(children))),
        })
        .collect()
}

/// Where a node is: the indices from the root list down to it.
pub type Path = Vec<usize>;

/// Every node's path, depth first.
pub fn node_paths(nodes: &[Node]) -> Vec<Path> {
    fn walk(nodes: &[Node], prefix: &mut Path, out: &mut Vec<Path>) {
        for (index, node) in nodes.iter().enumerate() {
            prefix.push(index);
            out.push(prefix.clone());
            if let Node::Group(_, children) = node {
                walk(children, prefix, out);
            }
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    walk(nodes, &mut Vec::new(), &mut out);
    out
}

/// Every list of nodes (the root, and each group's contents), as the path of its owner.
fn list_paths(nodes: &[Node]) -> Vec<Path> {
    let mut out = vec![Vec::new()];
    out.extend(
        node_paths(nodes)
            .into_iter()
            .filter(|path| matches!(node_at(nodes, path), Some(Node::Group(..)))),
    );
    out
}

fn node_at<'a>(nodes: &'a [Node], path: &[usize]) -> Option<&'a Node> {
    let (&last, parents) = path.split_last()?;
    let mut list = nodes;
    for &index in parents {
        match list.get(index)? {
            Node::Group(_, children) => list = children,
            Node::Token(_) => return None,
        }
    }
    list.get(last)
}

/// The list that `owner` (a group's path, or the empty path for the root) holds.
pub fn list_mut<'a>(nodes: &'a mut Vec<Node>, owner: &[usize]) -> Option<&'a mut Vec<Node>> {
    let mut list = nodes;
    for &index in owner {
        match list.get_mut(index)? {
            Node::Group(_, children) => list = children,
            Node::Token(_) => return None,
        }
    }
    Some(list)
}

pub fn count_nodes(nodes: &[Node]) -> usize {
    nodes
        .iter()
        .map(|node| match node {
            Node::Token(_) => 1,
            Node::Group(_, children) => 1 + count_nodes(children),
        })
        .sum()
}

// ---------------------------------------------------------------------------------------
// Pools of tokens

/// Identifiers beside [`NAMES`] that random tokens use: keywords, and names a
/// name-for-name replacement does not pick (a keyword for a variable breaks the syntax).
const OTHER_IDENTS: &[&str] = &[
    "i64",
    "fn",
    "let",
    "mut",
    "if",
    "else",
    "match",
    "for",
    "in",
    "while",
    "loop",
    "break",
    "continue",
    "return",
    "self",
    "Self",
    "as",
    "const",
    "static",
    "struct",
    "impl",
    "where",
    "pub",
    "crate",
    "super",
    "use",
    "mod",
    "ref",
    "move",
    "unsafe",
    "async",
    "await",
    "dyn",
    "true",
    "false",
    "_",
    "to_vec",
    "differentiate",
    "wrt",
    "backward",
    "Types",
    "len_1",
    "core",
    "INFINITY",
    "println",
    "vec",
    "Option",
    "None",
];

const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "0.0",
    "1.0",
    "0.5",
    "2.5",
    "1e999",
    "1e-400",
    "1e308",
    "1.7976931348623157e308",
    "5e-324",
    "99999999999999999999999",
    "340282366920938463463374607431768211456",
    "18446744073709551615",
    "9223372036854775808",
    "2147483648",
    "0usize",
    "1i32",
    "255u8",
    "256u8",
    "2.0_f64",
    "0.5f32",
    "1e40f32",
    "1.0e0_f32",
    "1f64",
    "3_usize",
    "1.5usize",
    "1u7",
    "0x10",
    "0xffff_ffff_ffff_ffff_ffff",
    "0b101",
    "0o7",
    "1_000",
    "'c'",
    "\"s\"",
    "b'x'",
    "b\"bytes\"",
    "r\"raw\"",
    "r#\"raw\"#",
];

/// Punctuation: single characters and the usual multi-character operators.
const PUNCTS: &[&str] = &[
    "+", "-", "*", "/", "%", "^", "!", "&", "|", "&&", "||", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "=",
    "==", "!=", ">", "<", ">=", "<=", "@", ".", "..", "...", "..=", ",", ";", ":", "::", "->", "=>", "#",
    "$", "?", "~", "'",
];

/// One token from the pools, or a few for a multi-character operator.
pub fn random_token(e: &mut impl Entropy) -> Vec<Node> {
    match e.below(10) {
        0..=4 => vec![Node::Token(random_ident(e))],
        5..=6 => vec![Node::Token(random_literal(e))],
        _ => random_punct(e),
    }
}

fn random_ident(e: &mut impl Entropy) -> TokenTree {
    // Any identifier, names and the others alike.
    let k = e.below(NAMES.len() + OTHER_IDENTS.len());
    let name = NAMES
        .get(k)
        .copied()
        .unwrap_or_else(|| OTHER_IDENTS[k - NAMES.len()]);
    let ident = if e.percent(3) && !matches!(name, "_" | "self" | "Self" | "crate" | "super") {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    };
    TokenTree::Ident(ident)
}

fn random_literal(e: &mut impl Entropy) -> TokenTree {
    let literal = match e.below(12) {
        0 => Literal::f64_unsuffixed(-(e.below(4) as f64) * 0.5),
        1 => Literal::i64_unsuffixed(-(e.below(1000) as i64)),
        2 => Literal::f64_unsuffixed(f64::MAX),
        3 => Literal::f32_suffixed(f32::MIN_POSITIVE),
        _ => e
            .pick(LITERALS)
            .parse()
            .unwrap_or_else(|_| Literal::u8_suffixed(0)),
    };
    TokenTree::Literal(literal)
}

fn random_punct(e: &mut impl Entropy) -> Vec<Node> {
    let text = *e.pick(PUNCTS);
    let count = text.chars().count();
    text.chars()
        .enumerate()
        .map(|(index, c)| {
            // Joint within an operator, and sometimes at its end too (as before a lifetime).
            let spacing = if index + 1 < count || e.percent(10) {
                Spacing::Joint
            } else {
                Spacing::Alone
            };
            Node::Token(TokenTree::Punct(Punct::new(c, spacing)))
        })
        .collect()
}

fn random_delimiter(e: &mut impl Entropy) -> Delimiter {
    *e.pick(&[
        Delimiter::Parenthesis,
        Delimiter::Brace,
        Delimiter::Bracket,
        Delimiter::None,
    ])
}

// ---------------------------------------------------------------------------------------
// Mutations

/// Applies one random mutation to `nodes` (anything from one token to the whole stream):
/// delete, duplicate, swap or move a token or a group, replace a token by another from the
/// pools, insert one, unwrap a group, nest tokens in a new group, change a group's
/// delimiter, empty a group, truncate the stream, or splice in a piece of another corpus
/// function.
pub fn mutate(nodes: &mut Vec<Node>, e: &mut impl Entropy) {
    let paths = node_paths(nodes);
    if paths.is_empty() {
        nodes.extend(random_token(e));
        return;
    }
    let path = e.pick(&paths).clone();
    let Some((&index, owner)) = path.split_last() else {
        return;
    };
    let owner = owner.to_vec();
    let Some(list) = list_mut(nodes, &owner) else {
        return;
    };
    match e.below(16) {
        // delete one, or a run
        0 | 1 => {
            let end = (index + 1 + if e.percent(30) { e.below(5) } else { 0 }).min(list.len());
            list.drain(index..end);
        }
        // duplicate
        2 => {
            let node = list[index].clone();
            list.insert(index, node);
        }
        // swap with a sibling
        3 => {
            let other = e.below(list.len());
            list.swap(index, other);
        }
        // replace a token with one from the pools (of the same kind, mostly)
        4 | 5 => {
            let same_kind = e.percent(80);
            let replacement = match &list[index] {
                Node::Token(TokenTree::Ident(_)) if same_kind => vec![Node::Token(random_ident(e))],
                Node::Token(TokenTree::Literal(_)) if same_kind => vec![Node::Token(random_literal(e))],
                Node::Token(TokenTree::Punct(_)) if same_kind => random_punct(e),
                _ => random_token(e),
            };
            list.splice(index..=index, replacement);
        }
        // insert a token
        6 => {
            let at = e.below(list.len() + 1);
            let tokens = random_token(e);
            list.splice(at..at, tokens);
        }
        // unwrap a group (or the group around this token)
        7 => {
            if let Node::Group(_, children) = &list[index] {
                let children = children.clone();
                list.splice(index..=index, children);
            } else if !owner.is_empty() {
                unwrap_at(nodes, &owner);
            }
        }
        // nest a run of tokens in a new group
        8 => {
            let end = (index + 1 + e.below(3)).min(list.len());
            let inner: Vec<Node> = list.drain(index..end).collect();
            list.insert(index, Node::Group(random_delimiter(e), inner));
        }
        // change a group's delimiter, or empty it
        9 => {
            if let Node::Group(delimiter, children) = &mut list[index] {
                if e.percent(30) {
                    children.clear();
                } else {
                    *delimiter = random_delimiter(e);
                }
            } else if let Node::Token(TokenTree::Punct(punct)) = &list[index] {
                // or flip a punctuation's spacing
                let spacing = match punct.spacing() {
                    Spacing::Alone => Spacing::Joint,
                    Spacing::Joint => Spacing::Alone,
                };
                list[index] = Node::Token(TokenTree::Punct(Punct::new(punct.as_char(), spacing)));
            }
        }
        // truncate: everything after this token, depth first, is gone
        10 => truncate_after(nodes, &path),
        // move: to anywhere else in the stream
        11 => {
            let node = list.remove(index);
            insert_anywhere(nodes, vec![node], e);
        }
        // copy a subtree to anywhere else in the stream
        12 => {
            let node = list[index].clone();
            insert_anywhere(nodes, vec![node], e);
        }
        // splice in a piece of another corpus function
        13 | 14 => {
            let (_, donor) = corpus_entry(e.below(CORPUS.len()));
            let donor = tree(donor);
            let donor_paths = node_paths(&donor);
            let donor_path = donor_paths
                .get(e.below(donor_paths.len()))
                .cloned()
                .unwrap_or_default();
            if let Some(node) = node_at(&donor, &donor_path) {
                let node = node.clone();
                if e.percent(50) {
                    list[index] = node;
                } else {
                    insert_anywhere(nodes, vec![node], e);
                }
            }
        }
        // replace a token by a group of random tokens
        _ => {
            let inner = random_forest(e, 1, 4);
            list[index] = Node::Group(random_delimiter(e), inner);
        }
    }
}

/// Identifiers that are not keywords: variables, parameters, methods, types, paths.
const NAMES: &[&str] = &[
    "x",
    "y",
    "z",
    "w",
    "b",
    "a",
    "i",
    "j",
    "k",
    "n",
    "s",
    "t",
    "v",
    "xs",
    "f",
    "g",
    "h",
    "q",
    "T",
    "U",
    "f64",
    "f32",
    "usize",
    "i32",
    "u32",
    "bool",
    "Vec",
    "sigmoid",
    "relu",
    "leaky_relu",
    "elu",
    "maxout",
    "tanh",
    "exp",
    "ln",
    "sin",
    "cos",
    "sqrt",
    "powi",
    "powf",
    "max",
    "min",
    "abs",
    "recip",
    "hypot",
    "mul_add",
    "ln_1p",
    "atan2",
    "log",
    "iter",
    "enumerate",
    "rev",
    "len",
    "zip",
    "map",
    "sum",
    "Real",
    "chainrule",
    "from_f64",
    "one",
    "zero",
    "cache",
    "upstream",
    "Grad",
    "Cache",
    "forward",
    "grad",
    "__vjp",
    "d_x",
    "x_saved",
    "condition",
    "iterations",
    "N",
    "std",
    "consts",
    "PI",
    "NAN",
    "Array1",
    "Array2",
    "ArrayView1",
    "row",
    "row_mut",
    "column",
    "rows",
    "columns",
    "outer_iter",
    "slice",
    "assign",
    "zeros",
    "dot",
    "mapv",
    "nrows",
    "ncols",
    "dim",
    "to_owned",
    "clear",
    "polar",
    "scratch",
];

/// Operators that can stand for each other: binary ones, and assignments.
const BINARY: &[&str] = &[
    "+", "-", "*", "/", "%", "<", ">", "<=", ">=", "==", "!=", "&&", "||", "&", "|", "^", "<<", ">>",
];
const ASSIGN: &[&str] = &["=", "+=", "-=", "*=", "/=", "%="];

/// Applies one mutation that mostly keeps the syntax valid, so that the input reaches the
/// macro past syn: an identifier becomes another name, a literal another literal, an
/// operator another of its kind, two subtrees of one kind swap, a group takes the contents
/// of another group of its delimiter, or a block's statement is deleted, duplicated,
/// swapped or replaced by one of another corpus function.
pub fn mutate_gently(nodes: &mut Vec<Node>, e: &mut impl Entropy) {
    let paths = node_paths(nodes);
    if paths.is_empty() {
        return;
    }
    match e.below(6) {
        0 => {
            let path = e.pick(&paths).clone();
            if let Some(node @ Node::Token(TokenTree::Ident(_))) = node_at_mut(nodes, &path) {
                let name = *e.pick(NAMES);
                *node = Node::Token(TokenTree::Ident(Ident::new(name, Span::call_site())));
            } else if let Some(node @ Node::Token(TokenTree::Literal(_))) = node_at_mut(nodes, &path) {
                *node = Node::Token(random_literal(e));
            }
        }
        1 => {
            let path = e.pick(&paths).clone();
            replace_operator(nodes, &path, e);
        }
        2 => {
            // Two subtrees of one kind swap (anywhere, unless one holds the other).
            let (first, second) = (e.pick(&paths).clone(), e.pick(&paths).clone());
            let holds = first.starts_with(&second) || second.starts_with(&first);
            let (Some(a), Some(b)) = (node_at(nodes, &first), node_at(nodes, &second)) else {
                return;
            };
            if holds || kind(a) != kind(b) {
                return;
            }
            let (a, b) = (a.clone(), b.clone());
            if let Some(node) = node_at_mut(nodes, &first) {
                *node = b;
            }
            if let Some(node) = node_at_mut(nodes, &second) {
                *node = a;
            }
        }
        3 => {
            // A group takes the contents of a group of the same delimiter in the corpus.
            let path = e.pick(&paths).clone();
            let Some(Node::Group(delimiter, _)) = node_at(nodes, &path) else {
                return;
            };
            let delimiter = *delimiter;
            let (_, donor) = corpus_entry(e.below(CORPUS.len()));
            let donor = tree(donor);
            let groups: Vec<Path> = node_paths(&donor)
                .into_iter()
                .filter(|p| matches!(node_at(&donor, p), Some(Node::Group(d, _)) if *d == delimiter))
                .collect();
            if groups.is_empty() {
                return;
            }
            if let (Some(replacement), Some(node)) = (
                node_at(&donor, e.pick::<Path>(&groups)).cloned(),
                node_at_mut(nodes, &path),
            ) {
                *node = replacement;
            }
        }
        _ => {
            // A statement of a block.
            let blocks: Vec<Path> = paths
                .iter()
                .filter(|p| matches!(node_at(nodes, p), Some(Node::Group(Delimiter::Brace, _))))
                .cloned()
                .collect();
            if blocks.is_empty() {
                return;
            }
            let block = e.pick(&blocks).clone();
            let Some(list) = list_mut(nodes, &block) else {
                return;
            };
            let ranges = statement_ranges(list);
            if ranges.is_empty() {
                return;
            }
            let range = e.pick(&ranges).clone();
            match e.below(4) {
                0 => {
                    list.drain(range);
                }
                1 => {
                    let copy: Vec<Node> = list[range.clone()].to_vec();
                    list.splice(range.start..range.start, copy);
                }
                2 => {
                    let other = e.pick(&ranges).clone();
                    if other.start >= range.end {
                        let later: Vec<Node> = list[other.clone()].to_vec();
                        let earlier: Vec<Node> = list[range.clone()].to_vec();
                        list.splice(other, earlier);
                        list.splice(range, later);
                    }
                }
                _ => {
                    let (_, donor) = corpus_entry(e.below(CORPUS.len()));
                    let statements = body_statements(&tree(donor));
                    if !statements.is_empty() {
                        let statement = e.pick(&statements).clone();
                        if e.percent(50) {
                            list.splice(range, statement);
                        } else {
                            list.splice(range.start..range.start, statement);
                        }
                    }
                }
            }
        }
    }
}

/// What kind of node: an identifier, a literal, a punctuation, or a group by delimiter.
fn kind(node: &Node) -> u8 {
    match node {
        Node::Token(TokenTree::Ident(_)) => 0,
        Node::Token(TokenTree::Literal(_)) => 1,
        Node::Token(_) => 2,
        Node::Group(Delimiter::Parenthesis, _) => 3,
        Node::Group(Delimiter::Brace, _) => 4,
        Node::Group(Delimiter::Bracket, _) => 5,
        Node::Group(Delimiter::None, _) => 6,
    }
}

fn node_at_mut<'a>(nodes: &'a mut Vec<Node>, path: &[usize]) -> Option<&'a mut Node> {
    let (&last, owner) = path.split_last()?;
    list_mut(nodes, owner)?.get_mut(last)
}

/// Replaces the operator starting at `path` (a run of joint punctuation) by another of its
/// kind.
fn replace_operator(nodes: &mut Vec<Node>, path: &[usize], e: &mut impl Entropy) {
    let Some((&start, owner)) = path.split_last() else {
        return;
    };
    let Some(list) = list_mut(nodes, owner) else {
        return;
    };
    let mut text = String::new();
    let mut end = start;
    while let Some(Node::Token(TokenTree::Punct(punct))) = list.get(end) {
        text.push(punct.as_char());
        end += 1;
        if punct.spacing() == Spacing::Alone {
            break;
        }
    }
    let pool = if BINARY.contains(&text.as_str()) {
        BINARY
    } else if ASSIGN.contains(&text.as_str()) {
        ASSIGN
    } else {
        return;
    };
    let replacement = *e.pick(pool);
    let count = replacement.chars().count();
    let puncts = replacement.chars().enumerate().map(|(index, c)| {
        let spacing = if index + 1 < count {
            Spacing::Joint
        } else {
            Spacing::Alone
        };
        Node::Token(TokenTree::Punct(Punct::new(c, spacing)))
    });
    list.splice(start..end, puncts.collect::<Vec<_>>());
}

/// Replaces the group at `path` by its contents.
pub fn unwrap_at(nodes: &mut Vec<Node>, path: &[usize]) {
    let Some((&index, owner)) = path.split_last() else {
        return;
    };
    if let Some(list) = list_mut(nodes, owner) {
        if let Some(Node::Group(_, children)) = list.get(index) {
            let children = children.clone();
            list.splice(index..=index, children);
        }
    }
}

/// Drops everything after the node at `path`, in depth-first order.
fn truncate_after(nodes: &mut Vec<Node>, path: &[usize]) {
    let mut list = nodes;
    for (depth, &index) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        list.truncate(index + 1);
        if last {
            break;
        }
        match list.get_mut(index) {
            Some(Node::Group(_, children)) => list = children,
            _ => break,
        }
    }
}

fn insert_anywhere(nodes: &mut Vec<Node>, inserted: Vec<Node>, e: &mut impl Entropy) {
    let lists = list_paths(nodes);
    let owner = e.pick(&lists).clone();
    if let Some(list) = list_mut(nodes, &owner) {
        let at = e.below(list.len() + 1);
        list.splice(at..at, inserted);
    }
}

/// Random tokens and groups: up to `width` trees per level, groups down to `depth`.
pub fn random_forest(e: &mut impl Entropy, depth: usize, width: usize) -> Vec<Node> {
    let count = e.below(width + 1);
    let mut out = Vec::new();
    for _ in 0..count {
        if depth > 0 && e.percent(20) {
            let inner = random_forest(e, depth - 1, width);
            out.push(Node::Group(random_delimiter(e), inner));
        } else {
            out.extend(random_token(e));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Whole inputs

/// A corpus function, mutated 1 to 8 times (few, mostly): `(attribute args, item)`. The
/// mutations apply to the source with its attribute, which is split off afterwards (so a
/// mutation that breaks it leaves `#[differentiate…]` on the item).
pub fn mutated_corpus_function(e: &mut impl Entropy) -> (TokenStream, TokenStream) {
    let source = CORPUS[e.below(CORPUS.len())];
    let mut nodes = tree(source.parse().unwrap_or_default());
    let mutations = 1 + if e.percent(60) { e.below(2) } else { e.below(8) };
    for _ in 0..mutations {
        if e.percent(60) {
            mutate_gently(&mut nodes, e);
        } else {
            mutate(&mut nodes, e);
        }
    }
    split_attribute(stream(&nodes))
}

/// An arbitrary stream: random tokens and groups; or a function's skeleton (`fn name(…)
/// -> ty {…}`) around random parameters and a random body; or a body assembled from
/// statements of the corpus functions, with random tokens between.
pub fn random_item(e: &mut impl Entropy) -> (TokenStream, TokenStream) {
    let item = match e.below(3) {
        0 => stream(&random_forest(e, 4, 12)),
        1 => {
            let name = random_ident(e);
            let params = stream(&random_forest(e, 2, 8));
            let ty = stream(&random_forest(e, 1, 2));
            let body = stream(&random_forest(e, 3, 10));
            quote_fn(name, params, ty, body)
        }
        _ => {
            let (_, shape) = corpus_entry(e.below(CORPUS.len()));
            let shape = tree(shape);
            let mut body = Vec::new();
            for _ in 0..1 + e.below(6) {
                let (_, donor) = corpus_entry(e.below(CORPUS.len()));
                let statements = body_statements(&tree(donor));
                if !statements.is_empty() {
                    body.extend(e.pick(&statements).iter().cloned());
                }
                if e.percent(20) {
                    body.extend(random_token(e));
                }
            }
            // The donor shape's signature, with the new body.
            let mut nodes = shape;
            if let Some(Node::Group(Delimiter::Brace, children)) = nodes.last_mut() {
                *children = body;
            }
            stream(&nodes)
        }
    };
    let attr = if e.percent(70) {
        TokenStream::new()
    } else {
        random_attribute(e)
    };
    (attr, item)
}

fn quote_fn(name: TokenTree, params: TokenStream, ty: TokenStream, body: TokenStream) -> TokenStream {
    let mut out = vec![TokenTree::Ident(Ident::new("fn", Span::call_site())), name];
    out.push(TokenTree::Group(Group::new(Delimiter::Parenthesis, params)));
    out.push(TokenTree::Punct(Punct::new('-', Spacing::Joint)));
    out.push(TokenTree::Punct(Punct::new('>', Spacing::Alone)));
    out.extend(ty);
    out.push(TokenTree::Group(Group::new(Delimiter::Brace, body)));
    out.into_iter().collect()
}

/// The statements of a function's body (its last brace group).
fn body_statements(function: &[Node]) -> Vec<Vec<Node>> {
    let Some(Node::Group(Delimiter::Brace, body)) = function.last() else {
        return Vec::new();
    };
    statement_ranges(body)
        .into_iter()
        .map(|range| body[range].to_vec())
        .collect()
}

/// A block's statements, as ranges of its nodes: runs ending at a `;`, or at a block not
/// followed by `else`, `;` or an operator.
fn statement_ranges(block: &[Node]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for (index, node) in block.iter().enumerate() {
        let ends = match node {
            Node::Token(TokenTree::Punct(punct)) => punct.as_char() == ';',
            Node::Group(Delimiter::Brace, _) => match block.get(index + 1) {
                None => true,
                Some(Node::Token(TokenTree::Ident(next))) => next != "else",
                Some(_) => false,
            },
            _ => false,
        };
        if ends {
            ranges.push(start..index + 1);
            start = index + 1;
        }
    }
    if start < block.len() {
        ranges.push(start..block.len());
    }
    ranges
}

/// Attribute arguments: a valid one mutated, or random tokens from an attribute's
/// vocabulary and the pools.
pub fn random_attribute(e: &mut impl Entropy) -> TokenStream {
    if e.percent(50) {
        let mut nodes = tree(e.pick(ATTRIBUTES).parse().unwrap_or_default());
        for _ in 0..1 + e.below(3) {
            mutate(&mut nodes, e);
        }
        return stream(&nodes);
    }
    let mut nodes = Vec::new();
    for _ in 0..e.below(8) {
        match e.below(6) {
            0 => {
                let name = *e.pick(&["wrt", "backward", "x", "y", "w", "b", "rule", "self", "crate"]);
                nodes.push(Node::Token(TokenTree::Ident(Ident::new(name, Span::call_site()))));
            }
            1 => nodes.push(Node::Token(TokenTree::Punct(Punct::new(
                *e.pick(&['=', ',', ':', ';']),
                Spacing::Alone,
            )))),
            2 => nodes.push(Node::Group(Delimiter::Parenthesis, random_forest(e, 1, 4))),
            _ => nodes.extend(random_token(e)),
        }
    }
    stream(&nodes)
}

/// A valid corpus function under random attribute arguments (sometimes also mutated).
pub fn function_with_random_attribute(e: &mut impl Entropy) -> (TokenStream, TokenStream) {
    let (_, item) = if e.percent(25) {
        mutated_corpus_function(e)
    } else {
        corpus_entry(e.below(CORPUS.len()))
    };
    (random_attribute(e), item)
}

/// What the fuzz target expands for one input: (i) the bytes as Rust source (its leading
/// `#[differentiate(…)]` split off), if they are UTF-8 and tokenize; (ii) the bytes as the
/// choices of [`mutated_corpus_function`], [`random_item`] or
/// [`function_with_random_attribute`] (by the first byte).
pub fn fuzz_inputs(data: &[u8]) -> Vec<(TokenStream, TokenStream)> {
    let mut inputs = Vec::new();
    if let Ok(source) = std::str::from_utf8(data) {
        if let Ok(tokens) = source.parse::<TokenStream>() {
            inputs.push(split_attribute(tokens));
        }
    }
    let mut bytes = Bytes::new(data);
    if !bytes.is_empty() {
        inputs.push(match bytes.below(8) {
            0..=4 => mutated_corpus_function(&mut bytes),
            5 | 6 => random_item(&mut bytes),
            _ => function_with_random_attribute(&mut bytes),
        });
    }
    inputs
}

// ---------------------------------------------------------------------------------------
// The check

/// Runs `expand` on one input: it must not panic, and when the item is an item at all
/// (else it is echoed back as it came), its expansion must parse as a file. `Ok(true)` when
/// the item was an item; `Err` says what went wrong.
pub fn check(
    expand: fn(TokenStream, TokenStream) -> TokenStream,
    attr: &TokenStream,
    item: &TokenStream,
) -> Result<bool, String> {
    let is_item = syn::parse2::<syn::Item>(item.clone()).is_ok();
    let (attr_in, item_in) = (attr.clone(), item.clone());
    let output = catch_unwind(AssertUnwindSafe(move || expand(attr_in, item_in)))
        .map_err(|payload| format!("panicked: {}", panic_message(payload.as_ref())))?;
    if is_item && known_bug(attr).is_none() {
        if let Err(error) = syn::parse2::<syn::File>(output.clone()) {
            return Err(format!(
                "the expansion does not parse: {error}\nexpansion: {output}"
            ));
        }
    }
    Ok(is_item)
}

/// Inputs that hit a known bug of the macro, reported and reduced in an ignored test of
/// `crate::never_panics`: their expansion may not parse (they must still not panic), so
/// that the property test and the fuzzer go on finding new bugs. Remove an entry when its
/// bug is fixed.
pub fn known_bug(attr: &TokenStream) -> Option<&'static str> {
    // None at present (`backward = crate` was one: now a spanned error).
    let _ = attr;
    None
}

pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic with a non-string payload)".to_string()
    }
}
