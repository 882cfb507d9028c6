//! chainrule against the crates a user would pick instead:
//! `cargo bench --manifest-path benches/peers/Cargo.toml` (from the repository root).
//!
//! The functions and points of `benches/gradients.rs` (`benches/functions.rs`, shared), and for
//! each, the full gradient (value and gradient with respect to every input) by:
//!
//! - **chainrule**: the generated `f::grad`;
//! - **hand-written**: the analytic gradient of `benches/gradients.rs`, the limit every ratio is
//!   taken against;
//! - **num-dual 0.15**, forward mode: `num_dual::gradient` over an `SVector` (the number of
//!   inputs a const generic, the dual numbers `Copy`) and over a `DVector` (heap-allocated dual
//!   parts). One forward pass carries all n partial derivatives, so every operation costs O(n);
//! - **reverse 0.2**: its tape (`Tape`, `Var`), a new tape per gradient;
//! - **ad_trait 0.3**: `FunctionEngine` with `ReverseAD` (its global tape, reset per gradient)
//!   and with `ForwardADMulti<adfn<N>>` (N tangents, N = the number of inputs: one pass);
//! - **candle-core 0.11** (CPU, f64): the inputs as `Var`s, the function written with tensor
//!   operations as a candle user would (vectorised where the function is), `backward()`, and the
//!   gradients read back as `f64`.
//!
//! Each tool gets the point in its own container, made outside the timed region (a flat slice, an
//! `SVector`, a `DVector`, the arrays); everything else is timed: making its variables (seeding
//! dual numbers, putting them on a tape, making `Var`s), the forward pass that records the tape or
//! graph, the backward pass, and the value and gradient as `f64`s.
//!
//! Before timing, every tool's value and gradient are checked against the hand-written ones
//! (relative error ≤ 1e-9 per component); a mismatch panics, naming the tool and the function.
//!
//! `reverse` 0.2.2 gets `f64 / Var` wrong (the partial of `c / x` is recorded as `-1 / x` instead
//! of `-c / x²`); `reverse_division_bug` shows it at start-up, and the reverse versions below
//! write `1 / y` as `y.recip()`.
//!
//! At the end the bench prints the table of this run's medians and their ratios to the
//! hand-written gradient (from criterion's `estimates.json`), as BENCHMARKS.md shows it.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::Criterion;
use nalgebra::{DVector, SVector};

// =============================================================================================
// The functions, chainrule and hand-written: those of benches/gradients.rs

// Least squares is in it for benches/gradients.rs only (no peer version): dead code here.
#[path = "../../functions.rs"]
#[allow(dead_code)]
mod functions;
use functions::*;

// =============================================================================================
// The points, flat: the order of every peer's inputs and gradient

const NEURON_SCALAR: [f64; 5] = [2.0, -1.0, -3.0, -2.0, -3.0];
/// w0, w1, w2, x0, x1.
const NEURON_ARRAY: [f64; 5] = [2.0, -3.0, -3.0, -1.0, -2.0];
const CHAIN: [f64; 1] = [0.3];
const ROSENBROCK_SIZES: [usize; 3] = [10, 100, 1000];
/// W1 (8 × 4, row by row), b1 (8), W2 (8), b2, x (4), target: 54 inputs.
const TWO_LAYER_INPUTS: usize = 54;

fn two_layer_flat() -> Vec<f64> {
    let (w1, b1, w2, b2, x, t) = two_layer_point();
    let mut v: Vec<f64> = w1.iter().flatten().copied().collect();
    v.extend(b1);
    v.extend(w2);
    v.push(b2);
    v.extend(x);
    v.push(t);
    assert_eq!(v.len(), TWO_LAYER_INPUTS);
    v
}

fn two_layer_grad_flat(g: &TwoLayerGrad) -> Vec<f64> {
    let mut v: Vec<f64> = g.w1.iter().flatten().copied().collect();
    v.extend(g.b1);
    v.extend(g.w2);
    v.push(g.b2);
    v.extend(g.x);
    v.push(g.target);
    v
}

// =============================================================================================
// num-dual 0.15: forward mode. One generic function per model over any dual number `D`, on a
// slice, serving both the `SVector` (Copy) and the `DVector` (heap) gradients.

mod nd {
    use nalgebra::{DVector, SVector};
    use num_dual::{gradient, DualDVec64, DualNum, DualSVec64};

    pub fn neuron_scalar<D: DualNum<Primitive = f64>>(v: &[D]) -> D {
        let dot = v[0].clone() * &v[1] + v[2].clone() * &v[3] + &v[4];
        D::from(1.0) / (D::from(1.0) + (-dot).exp())
    }

    pub fn neuron_array<D: DualNum<Primitive = f64>>(v: &[D]) -> D {
        let (w, x) = v.split_at(3);
        let mut dot = w[2].clone();
        for i in 0..2 {
            dot += w[i].clone() * &x[i];
        }
        D::from(1.0) / (D::from(1.0) + (-dot).exp())
    }

    pub fn rosenbrock<D: DualNum<Primitive = f64>>(x: &[D]) -> D {
        let mut s = D::from(0.0);
        for i in 0..x.len() - 1 {
            s += (x[i + 1].clone() - x[i].clone() * &x[i]).powi(2) * 100.0 + (D::from(1.0) - &x[i]).powi(2);
        }
        s
    }

    pub fn two_layer<D: DualNum<Primitive = f64>>(v: &[D]) -> D {
        let (w1, rest) = v.split_at(32);
        let (b1, rest) = rest.split_at(8);
        let (w2, rest) = rest.split_at(8);
        let (b2, x, target) = (&rest[0], &rest[1..5], &rest[5]);
        let h: [D; 8] = std::array::from_fn(|i| {
            let mut z = b1[i].clone();
            for j in 0..4 {
                z += w1[4 * i + j].clone() * &x[j];
            }
            if z > 0.0 {
                z
            } else {
                D::from(0.0)
            }
        });
        let mut out = b2.clone();
        for i in 0..8 {
            out += w2[i].clone() * &h[i];
        }
        let err = out - target;
        err.clone() * err
    }

    pub fn chain<D: DualNum<Primitive = f64>>(v: &[D]) -> D {
        let mut a = v[0].clone();
        for _ in 0..5 {
            a = a.sin().exp().tanh();
            a = (D::from(1.0) + a.clone() * &a).ln();
        }
        a
    }

    /// `num_dual::gradient` over a statically sized vector.
    pub fn grad_static<const N: usize>(
        f: fn(&[DualSVec64<N>]) -> DualSVec64<N>,
        x: &SVector<f64, N>,
    ) -> (f64, SVector<f64, N>) {
        gradient(|v: SVector<DualSVec64<N>, N>| f(v.as_slice()), x)
    }

    /// `num_dual::gradient` over a dynamically sized vector.
    pub fn grad_dynamic(f: fn(&[DualDVec64]) -> DualDVec64, x: &DVector<f64>) -> (f64, DVector<f64>) {
        gradient(|v: DVector<DualDVec64>| f(v.as_slice()), x)
    }
}

// =============================================================================================
// reverse 0.2: a tape of `Var`s. `1 / y` is written `y.recip()` (see `reverse_division_bug`).

mod rv {
    use reverse::{Gradient, Tape, Var};

    fn sigmoid(dot: Var<'_>) -> Var<'_> {
        (1.0 + (-dot).exp()).recip()
    }

    pub fn neuron_scalar(p: &[f64]) -> (f64, Vec<f64>) {
        let tape = Tape::new();
        let v = tape.add_vars(p);
        let dot = v[0] * v[1] + v[2] * v[3] + v[4];
        let s = sigmoid(dot);
        (s.val(), s.grad().wrt(&v))
    }

    pub fn neuron_array(p: &[f64]) -> (f64, Vec<f64>) {
        let tape = Tape::new();
        let v = tape.add_vars(p);
        let (w, x) = v.split_at(3);
        let mut dot = w[2];
        for i in 0..2 {
            dot = dot + w[i] * x[i];
        }
        let s = sigmoid(dot);
        (s.val(), s.grad().wrt(&v))
    }

    pub fn rosenbrock(p: &[f64]) -> (f64, Vec<f64>) {
        let tape = Tape::new();
        let x = tape.add_vars(p);
        let s = (0..x.len() - 1)
            .map(|i| 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2))
            .sum::<Var>();
        (s.val(), s.grad().wrt(&x))
    }

    pub fn two_layer(p: &[f64]) -> (f64, Vec<f64>) {
        let tape = Tape::new();
        let v = tape.add_vars(p);
        let (w1, rest) = v.split_at(32);
        let (b1, rest) = rest.split_at(8);
        let (w2, rest) = rest.split_at(8);
        let (b2, x, target) = (rest[0], &rest[1..5], rest[5]);
        let h: [Var; 8] = std::array::from_fn(|i| {
            let mut z = b1[i];
            for j in 0..4 {
                z = z + w1[4 * i + j] * x[j];
            }
            // No `max` on `Var`: ReLU as a branch.
            if z.val() > 0.0 {
                z
            } else {
                z * 0.0
            }
        });
        let mut out = b2;
        for i in 0..8 {
            out = out + w2[i] * h[i];
        }
        let err = out - target;
        let loss = err * err;
        (loss.val(), loss.grad().wrt(&v))
    }

    pub fn chain(p: &[f64]) -> (f64, Vec<f64>) {
        let tape = Tape::new();
        let v = tape.add_vars(p);
        let mut a = v[0];
        for _ in 0..5 {
            a = a.sin().exp().tanh();
            a = (1.0 + a * a).ln();
        }
        (a.val(), a.grad().wrt(&v))
    }
}

/// `reverse` 0.2.2's `f64 / Var` records the partial of `c / x` as `-1 / x` (no `c`, no square).
/// Prints what it gives against the correct value, and checks that `recip()` is right.
fn reverse_division_bug() {
    use reverse::{Gradient, Tape};
    let tape = Tape::new();
    let x = tape.add_var(2.0);
    let divided = (1.0 / x).grad().wrt(&x);
    let recip = x.recip().grad().wrt(&x);
    let three = (3.0 / x).grad().wrt(&x);
    eprintln!(
        "reverse 0.2.2 bug: at x = 2, d(1.0 / x)/dx = {divided} (correct: -0.25), \
         d(3.0 / x)/dx = {three} (correct: -0.75); x.recip() gives {recip}. \
         The reverse versions use .recip()."
    );
    assert!(close(recip, -0.25), "reverse: x.recip() at 2: {recip}");
    // What the lecture's neuron, written with `/` as in chainrule's version, gets from reverse:
    let tape = Tape::new();
    let v = tape.add_vars(&NEURON_SCALAR);
    let dot = v[0] * v[1] + v[2] * v[3] + v[4];
    let wrong = (1.0 / (1.0 + (-dot).exp())).grad().wrt(&v);
    eprintln!(
        "  the neuron written `1.0 / (1.0 + (-dot).exp())`: reverse's gradient {wrong:?}, \
         correct {:?}",
        neuron_scalar_by_hand(2.0, -1.0, -3.0, -2.0, -3.0).1
    );
}

// =============================================================================================
// ad_trait 0.3: a `DifferentiableFunctionTrait` per model, generic over its `AD` types, run by a
// `FunctionEngine` with `ReverseAD` (adr) or `ForwardADMulti<adfn<N>>`.

mod at {
    use ad_trait::differentiable_function::{DifferentiableFunctionTrait, ForwardADMulti, ReverseAD};
    use ad_trait::forward_ad::adfn::adfn;
    use ad_trait::function_engine::FunctionEngine;
    use ad_trait::AD;

    pub fn neuron_scalar<T: AD>(v: &[T]) -> T {
        let dot = v[0] * v[1] + v[2] * v[3] + v[4];
        T::constant(1.0) / (T::constant(1.0) + (-dot).exp())
    }

    pub fn neuron_array<T: AD>(v: &[T]) -> T {
        let (w, x) = v.split_at(3);
        let mut dot = w[2];
        for i in 0..2 {
            dot += w[i] * x[i];
        }
        T::constant(1.0) / (T::constant(1.0) + (-dot).exp())
    }

    pub fn rosenbrock<T: AD>(x: &[T]) -> T {
        let mut s = T::constant(0.0);
        for i in 0..x.len() - 1 {
            s += T::constant(100.0) * (x[i + 1] - x[i] * x[i]).powi(2) + (T::constant(1.0) - x[i]).powi(2);
        }
        s
    }

    pub fn two_layer<T: AD>(v: &[T]) -> T {
        let (w1, rest) = v.split_at(32);
        let (b1, rest) = rest.split_at(8);
        let (w2, rest) = rest.split_at(8);
        let (b2, x, target) = (rest[0], &rest[1..5], rest[5]);
        let mut h = [T::constant(0.0); 8];
        for i in 0..8 {
            let mut z = b1[i];
            for j in 0..4 {
                z += w1[4 * i + j] * x[j];
            }
            h[i] = z.max(T::constant(0.0));
        }
        let mut out = b2;
        for i in 0..8 {
            out += w2[i] * h[i];
        }
        let err = out - target;
        err * err
    }

    pub fn chain<T: AD>(v: &[T]) -> T {
        let mut a = v[0];
        for _ in 0..5 {
            a = a.sin().exp().tanh();
            a = (T::constant(1.0) + a * a).ln();
        }
        a
    }

    /// A model as an ad_trait function of `n` inputs and one output.
    macro_rules! ad_function {
        ($name:ident, $model:ident) => {
            #[derive(Clone)]
            pub struct $name {
                pub n: usize,
            }
            impl<T: AD> DifferentiableFunctionTrait<T> for $name {
                const NAME: &'static str = stringify!($name);
                fn call(&self, inputs: &[T], _freeze: bool) -> Vec<T> {
                    vec![$model(inputs)]
                }
                fn num_inputs(&self) -> usize {
                    self.n
                }
                fn num_outputs(&self) -> usize {
                    1
                }
            }
        };
    }
    ad_function!(NeuronScalar, neuron_scalar);
    ad_function!(NeuronArray, neuron_array);
    ad_function!(Rosenbrock, rosenbrock);
    ad_function!(TwoLayer, two_layer);
    ad_function!(Chain, chain);

    pub fn reverse<F>(f: F) -> FunctionEngine<F, F, ReverseAD>
    where
        F: DifferentiableFunctionTrait<f64>
            + DifferentiableFunctionTrait<ad_trait::reverse_ad::adr::adr>
            + Clone,
    {
        FunctionEngine::new(f.clone(), f, ReverseAD::new())
    }

    pub fn forward<F, const N: usize>(f: F) -> FunctionEngine<F, F, ForwardADMulti<adfn<N>>>
    where
        F: DifferentiableFunctionTrait<f64> + DifferentiableFunctionTrait<adfn<N>> + Clone,
    {
        FunctionEngine::new(f.clone(), f, ForwardADMulti::new())
    }
}

// =============================================================================================
// candle-core 0.11: the inputs as `Var`s on the CPU, in f64; tensor operations; `backward()`.

mod cd {
    use candle_core::backprop::GradStore;
    use candle_core::{Device, Result, Tensor, Var};

    fn sigmoid(dot: &Tensor) -> Result<Tensor> {
        (dot.neg()?.exp()? + 1.0)?.recip()
    }

    fn grad_of(grads: &GradStore, v: &Var) -> Result<Vec<f64>> {
        grads
            .get(v)
            .expect("candle: no gradient for an input")
            .flatten_all()?
            .to_vec1()
    }

    fn scalar_grad(grads: &GradStore, v: &Var) -> Result<f64> {
        grads
            .get(v)
            .expect("candle: no gradient for an input")
            .to_scalar()
    }

    /// Five 0-dimensional `Var`s.
    pub fn neuron_scalar(p: &[f64; 5]) -> Result<(f64, [f64; 5])> {
        let dev = Device::Cpu;
        let [w0, x0, w1, x1, w2] = [0, 1, 2, 3, 4].map(|i| Var::new(p[i], &dev));
        let (w0, x0, w1, x1, w2) = (w0?, x0?, w1?, x1?, w2?);
        let dot = ((w0.as_tensor() * x0.as_tensor())? + (w1.as_tensor() * x1.as_tensor())?)? + w2.as_tensor();
        let s = sigmoid(&dot?)?;
        let grads = s.backward()?;
        Ok((
            s.to_scalar()?,
            [
                scalar_grad(&grads, &w0)?,
                scalar_grad(&grads, &x0)?,
                scalar_grad(&grads, &w1)?,
                scalar_grad(&grads, &x1)?,
                scalar_grad(&grads, &w2)?,
            ],
        ))
    }

    /// `w` and `x` as vectors of 3 and 2.
    pub fn neuron_array(p: &([f64; 3], [f64; 2])) -> Result<(f64, Vec<f64>, Vec<f64>)> {
        let dev = Device::Cpu;
        let w = Var::from_slice(&p.0, 3, &dev)?;
        let x = Var::from_slice(&p.1, 2, &dev)?;
        let dot = ((w.narrow(0, 0, 2)? * x.as_tensor())?.sum_all()? + w.get(2)?)?;
        let s = sigmoid(&dot)?;
        let grads = s.backward()?;
        Ok((s.to_scalar()?, grad_of(&grads, &w)?, grad_of(&grads, &x)?))
    }

    /// Vectorised: `x[1..] - x[..n-1]²` and `1 - x[..n-1]` as tensors of n - 1.
    pub fn rosenbrock(p: &[f64]) -> Result<(f64, Vec<f64>)> {
        let dev = Device::Cpu;
        let n = p.len();
        let x = Var::from_slice(p, n, &dev)?;
        let head = x.narrow(0, 0, n - 1)?;
        let tail = x.narrow(0, 1, n - 1)?;
        let t = (tail - head.sqr()?)?;
        let u = (1.0 - &head)?;
        let s = ((t.sqr()? * 100.0)? + u.sqr()?)?.sum_all()?;
        let grads = s.backward()?;
        Ok((s.to_scalar()?, grad_of(&grads, &x)?))
    }

    /// W1 (8 × 4) · x (a 4 × 1 matrix) + b1, ReLU, W2 · h + b2, squared error.
    pub fn two_layer(p: &super::TwoLayerArgs) -> Result<(f64, Vec<f64>)> {
        let dev = Device::Cpu;
        let (w1, b1, w2, b2, x, target) = p;
        let w1 = Var::from_slice(w1.as_flattened(), (8, 4), &dev)?;
        let b1 = Var::from_slice(b1, 8, &dev)?;
        let w2 = Var::from_slice(w2, 8, &dev)?;
        let b2 = Var::new(*b2, &dev)?;
        let x = Var::from_slice(x, (4, 1), &dev)?;
        let target = Var::new(*target, &dev)?;
        let z = (w1.matmul(&x)?.squeeze(1)? + b1.as_tensor())?;
        let h = z.relu()?;
        let out = ((w2.as_tensor() * h)?.sum_all()? + b2.as_tensor())?;
        let err = (out - target.as_tensor())?;
        let loss = err.sqr()?;
        let grads = loss.backward()?;
        let mut g = grad_of(&grads, &w1)?;
        g.extend(grad_of(&grads, &b1)?);
        g.extend(grad_of(&grads, &w2)?);
        g.push(scalar_grad(&grads, &b2)?);
        g.extend(grad_of(&grads, &x)?);
        g.push(scalar_grad(&grads, &target)?);
        Ok((loss.to_scalar()?, g))
    }

    /// A 0-dimensional `Var`.
    pub fn chain(x: f64) -> Result<(f64, f64)> {
        let x = Var::new(x, &Device::Cpu)?;
        let mut a = x.as_tensor().clone();
        for _ in 0..5 {
            a = a.sin()?.exp()?.tanh()?;
            a = (a.sqr()? + 1.0)?.log()?;
        }
        let grads = a.backward()?;
        Ok((a.to_scalar()?, scalar_grad(&grads, &x)?))
    }
}

// =============================================================================================
// The check

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Panics unless `tool`'s value and gradient of `function` match the hand-written ones.
fn check(function: &str, tool: &str, (v, g): (f64, Vec<f64>), (hv, hg): &(f64, Vec<f64>)) {
    assert!(
        close(v, *hv),
        "{tool} on {function}: value {v}, hand-written {hv} (relative error > 1e-9)"
    );
    assert_eq!(
        g.len(),
        hg.len(),
        "{tool} on {function}: gradient of length {}",
        g.len()
    );
    for (i, (&a, &b)) in g.iter().zip(hg).enumerate() {
        assert!(
            close(a, b),
            "{tool} on {function}: ∂/∂input {i} is {a}, hand-written {b} (relative error > 1e-9)\n\
             {tool}: {g:?}\nhand-written: {hg:?}"
        );
    }
}

fn static_point<const N: usize>(p: &[f64]) -> SVector<f64, N> {
    SVector::from_column_slice(p)
}

/// Every tool against the hand-written gradient, at every point it is timed at.
fn check_all() {
    // neuron, five scalars
    let p = NEURON_SCALAR;
    let (hv, hg) = neuron_scalar_by_hand(p[0], p[1], p[2], p[3], p[4]);
    let hand = (hv, hg.to_vec());
    let f = "neuron, 5 scalars";
    let (v, g) = neuron_scalar::grad(p[0], p[1], p[2], p[3], p[4]);
    check(f, "chainrule", (v, vec![g.w0, g.x0, g.w1, g.x1, g.w2]), &hand);
    let (v, g) = nd::grad_static::<5>(nd::neuron_scalar, &static_point(&p));
    check(f, "num-dual SVector", (v, g.as_slice().to_vec()), &hand);
    let (v, g) = nd::grad_dynamic(nd::neuron_scalar, &DVector::from_column_slice(&p));
    check(f, "num-dual DVector", (v, g.as_slice().to_vec()), &hand);
    check(f, "reverse", rv::neuron_scalar(&p), &hand);
    let (v, g) = at::reverse(at::NeuronScalar { n: 5 }).derivative(&p);
    check(f, "ad_trait reverse", (v[0], g.as_slice().to_vec()), &hand);
    let (v, g) = at::forward::<_, 5>(at::NeuronScalar { n: 5 }).derivative(&p);
    check(f, "ad_trait forward", (v[0], g.as_slice().to_vec()), &hand);
    let (v, g) = cd::neuron_scalar(&p).unwrap();
    check(f, "candle", (v, g.to_vec()), &hand);

    // neuron, arrays
    let p = NEURON_ARRAY;
    let (w, x) = ([p[0], p[1], p[2]], [p[3], p[4]]);
    let (hv, hw, hx) = neuron_array_by_hand(w, x);
    let hand = (hv, [hw.as_slice(), &hx].concat());
    let f = "neuron, arrays";
    let (v, g) = neuron_array::grad(w, x);
    check(f, "chainrule", (v, [g.w.as_slice(), &g.x].concat()), &hand);
    let (v, g) = nd::grad_static::<5>(nd::neuron_array, &static_point(&p));
    check(f, "num-dual SVector", (v, g.as_slice().to_vec()), &hand);
    let (v, g) = nd::grad_dynamic(nd::neuron_array, &DVector::from_column_slice(&p));
    check(f, "num-dual DVector", (v, g.as_slice().to_vec()), &hand);
    check(f, "reverse", rv::neuron_array(&p), &hand);
    let (v, g) = at::reverse(at::NeuronArray { n: 5 }).derivative(&p);
    check(f, "ad_trait reverse", (v[0], g.as_slice().to_vec()), &hand);
    let (v, g) = at::forward::<_, 5>(at::NeuronArray { n: 5 }).derivative(&p);
    check(f, "ad_trait forward", (v[0], g.as_slice().to_vec()), &hand);
    let (v, gw, gx) = cd::neuron_array(&(w, x)).unwrap();
    check(f, "candle", (v, [gw, gx].concat()), &hand);

    // Rosenbrock
    for n in ROSENBROCK_SIZES {
        let p = rosenbrock_point(n);
        let hand = rosenbrock_by_hand(&p);
        let f = format!("Rosenbrock, n = {n}");
        let f = f.as_str();
        check(
            f,
            "chainrule",
            (rosenbrock::grad(&p).0, rosenbrock::grad(&p).1.x),
            &hand,
        );
        let (v, g) = match n {
            10 => {
                let (v, g) = nd::grad_static::<10>(nd::rosenbrock, &static_point(&p));
                (v, g.as_slice().to_vec())
            }
            100 => {
                let (v, g) = nd::grad_static::<100>(nd::rosenbrock, &static_point(&p));
                (v, g.as_slice().to_vec())
            }
            1000 => {
                let (v, g) = nd::grad_static::<1000>(nd::rosenbrock, &static_point(&p));
                (v, g.as_slice().to_vec())
            }
            _ => unreachable!(),
        };
        check(f, "num-dual SVector", (v, g), &hand);
        let (v, g) = nd::grad_dynamic(nd::rosenbrock, &DVector::from_column_slice(&p));
        check(f, "num-dual DVector", (v, g.as_slice().to_vec()), &hand);
        check(f, "reverse", rv::rosenbrock(&p), &hand);
        let (v, g) = at::reverse(at::Rosenbrock { n }).derivative(&p);
        check(f, "ad_trait reverse", (v[0], g.as_slice().to_vec()), &hand);
        let (v, g) = match n {
            10 => at::forward::<_, 10>(at::Rosenbrock { n }).derivative(&p),
            100 => at::forward::<_, 100>(at::Rosenbrock { n }).derivative(&p),
            1000 => at::forward::<_, 1000>(at::Rosenbrock { n }).derivative(&p),
            _ => unreachable!(),
        };
        check(f, "ad_trait forward", (v[0], g.as_slice().to_vec()), &hand);
        check(f, "candle", cd::rosenbrock(&p).unwrap(), &hand);
    }

    // two-layer network
    let args = two_layer_point();
    let (w1, b1, w2, b2, x, t) = args;
    let p = two_layer_flat();
    let (hv, hg) = two_layer_by_hand(w1, b1, w2, b2, x, t);
    let active = hg.b1.iter().filter(|&&d| d != 0.0).count();
    assert!((1..8).contains(&active), "some hidden units active, some not");
    let hand = (hv, two_layer_grad_flat(&hg));
    let f = "2-layer net";
    let (v, g) = two_layer::grad(w1, b1, w2, b2, x, t);
    let g = TwoLayerGrad {
        w1: g.w1,
        b1: g.b1,
        w2: g.w2,
        b2: g.b2,
        x: g.x,
        target: g.target,
    };
    check(f, "chainrule", (v, two_layer_grad_flat(&g)), &hand);
    let (v, g) = nd::grad_static::<TWO_LAYER_INPUTS>(nd::two_layer, &static_point(&p));
    check(f, "num-dual SVector", (v, g.as_slice().to_vec()), &hand);
    let (v, g) = nd::grad_dynamic(nd::two_layer, &DVector::from_column_slice(&p));
    check(f, "num-dual DVector", (v, g.as_slice().to_vec()), &hand);
    check(f, "reverse", rv::two_layer(&p), &hand);
    let (v, g) = at::reverse(at::TwoLayer { n: TWO_LAYER_INPUTS }).derivative(&p);
    check(f, "ad_trait reverse", (v[0], g.as_slice().to_vec()), &hand);
    let (v, g) = at::forward::<_, TWO_LAYER_INPUTS>(at::TwoLayer { n: TWO_LAYER_INPUTS }).derivative(&p);
    check(f, "ad_trait forward", (v[0], g.as_slice().to_vec()), &hand);
    check(f, "candle", cd::two_layer(&args).unwrap(), &hand);

    // chain of 20 calls
    for x in [0.3, -1.1, 2.5] {
        let p = [x];
        let (hv, hg) = chain_by_hand(x);
        let hand = (hv, vec![hg]);
        let f = format!("chain at {x}");
        let f = f.as_str();
        let (v, g) = chain::grad(x);
        check(f, "chainrule", (v, vec![g.x]), &hand);
        let (v, g) = nd::grad_static::<1>(nd::chain, &static_point(&p));
        check(f, "num-dual SVector", (v, g.as_slice().to_vec()), &hand);
        let (v, g) = nd::grad_dynamic(nd::chain, &DVector::from_column_slice(&p));
        check(f, "num-dual DVector", (v, g.as_slice().to_vec()), &hand);
        check(f, "reverse", rv::chain(&p), &hand);
        let (v, g) = at::reverse(at::Chain { n: 1 }).derivative(&p);
        check(f, "ad_trait reverse", (v[0], g.as_slice().to_vec()), &hand);
        let (v, g) = at::forward::<_, 1>(at::Chain { n: 1 }).derivative(&p);
        check(f, "ad_trait forward", (v[0], g.as_slice().to_vec()), &hand);
        let (v, g) = cd::chain(x).unwrap();
        check(f, "candle", (v, vec![g]), &hand);
    }
    eprintln!("checked: every tool's value and gradient within 1e-9 of the hand-written ones");
}

// =============================================================================================
// The benchmarks: one criterion group per function, one benchmark per tool

/// The tools, in the order of the table: criterion id and column title.
const TOOLS: [(&str, &str); 8] = [
    ("chainrule", "chainrule"),
    ("hand", "hand-written"),
    ("num-dual-svector", "num-dual SVector"),
    ("num-dual-dvector", "num-dual DVector"),
    ("reverse", "reverse"),
    ("ad_trait-reverse", "ad_trait reverse"),
    ("ad_trait-forward", "ad_trait forward"),
    ("candle", "candle"),
];

/// The functions, in the order of the table: criterion group and row title.
const FUNCTIONS: [(&str, &str); 7] = [
    ("neuron_scalar", "neuron, 5 scalars"),
    ("neuron_array", "neuron, arrays"),
    ("rosenbrock_10", "Rosenbrock, n = 10"),
    ("rosenbrock_100", "Rosenbrock, n = 100"),
    ("rosenbrock_1000", "Rosenbrock, n = 1,000"),
    ("two_layer", "2-layer net 4 → 8 → 1"),
    ("chain", "chain of 20 calls"),
];

fn bench_rosenbrock<const N: usize>(c: &mut Criterion) {
    let p = rosenbrock_point(N);
    let sp: SVector<f64, N> = static_point(&p);
    let dp = DVector::from_column_slice(&p);
    let at_rev = at::reverse(at::Rosenbrock { n: N });
    let at_fwd = at::forward::<_, N>(at::Rosenbrock { n: N });
    let mut group = c.benchmark_group(format!("rosenbrock_{N}"));
    group.bench_function("chainrule", |b| b.iter(|| rosenbrock::grad(black_box(&p))));
    group.bench_function("hand", |b| b.iter(|| rosenbrock_by_hand(black_box(&p))));
    group.bench_function("reverse", |b| b.iter(|| rv::rosenbrock(black_box(&p))));
    group.bench_function("ad_trait-reverse", |b| {
        b.iter(|| at_rev.derivative(black_box(&p)))
    });
    group.bench_function("candle", |b| b.iter(|| cd::rosenbrock(black_box(&p)).unwrap()));
    // Forward mode costs O(n) per operation, O(n²) in all: milliseconds at n = 1,000.
    if N >= 1000 {
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(1));
    }
    group.bench_function("num-dual-svector", |b| {
        b.iter(|| nd::grad_static::<N>(nd::rosenbrock, black_box(&sp)))
    });
    group.bench_function("num-dual-dvector", |b| {
        b.iter(|| nd::grad_dynamic(nd::rosenbrock, black_box(&dp)))
    });
    group.bench_function("ad_trait-forward", |b| {
        b.iter(|| at_fwd.derivative(black_box(&p)))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    reverse_division_bug();
    check_all();

    // Inputs are read through `black_box(&inputs)` in every iteration, as in gradients.rs.
    let mut group = c.benchmark_group("neuron_scalar");
    let p = NEURON_SCALAR;
    let sp: SVector<f64, 5> = static_point(&p);
    let dp = DVector::from_column_slice(&p);
    let at_rev = at::reverse(at::NeuronScalar { n: 5 });
    let at_fwd = at::forward::<_, 5>(at::NeuronScalar { n: 5 });
    group.bench_function("chainrule", |b| {
        b.iter(|| {
            let &[w0, x0, w1, x1, w2] = black_box(&p);
            neuron_scalar::grad(w0, x0, w1, x1, w2)
        })
    });
    group.bench_function("hand", |b| {
        b.iter(|| {
            let &[w0, x0, w1, x1, w2] = black_box(&p);
            neuron_scalar_by_hand(w0, x0, w1, x1, w2)
        })
    });
    group.bench_function("num-dual-svector", |b| {
        b.iter(|| nd::grad_static::<5>(nd::neuron_scalar, black_box(&sp)))
    });
    group.bench_function("num-dual-dvector", |b| {
        b.iter(|| nd::grad_dynamic(nd::neuron_scalar, black_box(&dp)))
    });
    group.bench_function("reverse", |b| b.iter(|| rv::neuron_scalar(black_box(&p))));
    group.bench_function("ad_trait-reverse", |b| {
        b.iter(|| at_rev.derivative(black_box(&p)))
    });
    group.bench_function("ad_trait-forward", |b| {
        b.iter(|| at_fwd.derivative(black_box(&p)))
    });
    group.bench_function("candle", |b| b.iter(|| cd::neuron_scalar(black_box(&p)).unwrap()));
    group.finish();

    let mut group = c.benchmark_group("neuron_array");
    let p = NEURON_ARRAY;
    let wx = ([p[0], p[1], p[2]], [p[3], p[4]]);
    let sp: SVector<f64, 5> = static_point(&p);
    let dp = DVector::from_column_slice(&p);
    let at_rev = at::reverse(at::NeuronArray { n: 5 });
    let at_fwd = at::forward::<_, 5>(at::NeuronArray { n: 5 });
    group.bench_function("chainrule", |b| {
        b.iter(|| {
            let &(w, x) = black_box(&wx);
            neuron_array::grad(w, x)
        })
    });
    group.bench_function("hand", |b| {
        b.iter(|| {
            let &(w, x) = black_box(&wx);
            neuron_array_by_hand(w, x)
        })
    });
    group.bench_function("num-dual-svector", |b| {
        b.iter(|| nd::grad_static::<5>(nd::neuron_array, black_box(&sp)))
    });
    group.bench_function("num-dual-dvector", |b| {
        b.iter(|| nd::grad_dynamic(nd::neuron_array, black_box(&dp)))
    });
    group.bench_function("reverse", |b| b.iter(|| rv::neuron_array(black_box(&p))));
    group.bench_function("ad_trait-reverse", |b| {
        b.iter(|| at_rev.derivative(black_box(&p)))
    });
    group.bench_function("ad_trait-forward", |b| {
        b.iter(|| at_fwd.derivative(black_box(&p)))
    });
    group.bench_function("candle", |b| b.iter(|| cd::neuron_array(black_box(&wx)).unwrap()));
    group.finish();

    bench_rosenbrock::<10>(c);
    bench_rosenbrock::<100>(c);
    bench_rosenbrock::<1000>(c);

    let mut group = c.benchmark_group("two_layer");
    let args = two_layer_point();
    let p = two_layer_flat();
    let sp: SVector<f64, TWO_LAYER_INPUTS> = static_point(&p);
    let dp = DVector::from_column_slice(&p);
    let at_rev = at::reverse(at::TwoLayer { n: TWO_LAYER_INPUTS });
    let at_fwd = at::forward::<_, TWO_LAYER_INPUTS>(at::TwoLayer { n: TWO_LAYER_INPUTS });
    group.bench_function("chainrule", |b| {
        b.iter(|| {
            let &(w1, b1, w2, b2, x, t) = black_box(&args);
            two_layer::grad(w1, b1, w2, b2, x, t)
        })
    });
    group.bench_function("hand", |b| {
        b.iter(|| {
            let &(w1, b1, w2, b2, x, t) = black_box(&args);
            two_layer_by_hand(w1, b1, w2, b2, x, t)
        })
    });
    group.bench_function("num-dual-svector", |b| {
        b.iter(|| nd::grad_static::<TWO_LAYER_INPUTS>(nd::two_layer, black_box(&sp)))
    });
    group.bench_function("num-dual-dvector", |b| {
        b.iter(|| nd::grad_dynamic(nd::two_layer, black_box(&dp)))
    });
    group.bench_function("reverse", |b| b.iter(|| rv::two_layer(black_box(&p))));
    group.bench_function("ad_trait-reverse", |b| {
        b.iter(|| at_rev.derivative(black_box(&p)))
    });
    group.bench_function("ad_trait-forward", |b| {
        b.iter(|| at_fwd.derivative(black_box(&p)))
    });
    group.bench_function("candle", |b| b.iter(|| cd::two_layer(black_box(&args)).unwrap()));
    group.finish();

    let mut group = c.benchmark_group("chain");
    let p = CHAIN;
    let sp: SVector<f64, 1> = static_point(&p);
    let dp = DVector::from_column_slice(&p);
    let at_rev = at::reverse(at::Chain { n: 1 });
    let at_fwd = at::forward::<_, 1>(at::Chain { n: 1 });
    group.bench_function("chainrule", |b| b.iter(|| chain::grad(black_box(&p)[0])));
    group.bench_function("hand", |b| b.iter(|| chain_by_hand(black_box(&p)[0])));
    group.bench_function("num-dual-svector", |b| {
        b.iter(|| nd::grad_static::<1>(nd::chain, black_box(&sp)))
    });
    group.bench_function("num-dual-dvector", |b| {
        b.iter(|| nd::grad_dynamic(nd::chain, black_box(&dp)))
    });
    group.bench_function("reverse", |b| b.iter(|| rv::chain(black_box(&p))));
    group.bench_function("ad_trait-reverse", |b| {
        b.iter(|| at_rev.derivative(black_box(&p)))
    });
    group.bench_function("ad_trait-forward", |b| {
        b.iter(|| at_fwd.derivative(black_box(&p)))
    });
    group.bench_function("candle", |b| b.iter(|| cd::chain(black_box(&p)[0]).unwrap()));
    group.finish();
}

// =============================================================================================
// The table

/// Where criterion writes, found as criterion finds it (without asking `cargo metadata`).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        PathBuf::from(home)
    } else if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        PathBuf::from(target).join("criterion")
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/criterion")
    }
}

/// The median of the last run of `group/id`, in ns.
fn median(group: &str, id: &str) -> Option<f64> {
    let path = criterion_dir().join(group).join(id).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn time(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.1} ns"),
        ns if ns < 1e6 => format!("{:.2} µs", ns / 1e3),
        ns => format!("{:.2} ms", ns / 1e6),
    }
}

fn ratio(r: f64) -> String {
    if r < 100.0 {
        format!("{r:.2}×")
    } else {
        format!("{r:.0}×")
    }
}

/// The medians, then the ratios to the hand-written gradient, as Markdown tables.
fn print_table() {
    let header = |title: &str| {
        let titles: Vec<&str> = TOOLS.iter().map(|t| t.1).collect();
        println!("| {title} | {} |", titles.join(" | "));
        println!("|---|{}", "---:|".repeat(TOOLS.len()));
    };
    println!("\nMedians (criterion, this run):\n");
    header("function");
    for (group, title) in FUNCTIONS {
        let cells: Vec<String> = TOOLS
            .iter()
            .map(|(id, _)| median(group, id).map_or("–".into(), time))
            .collect();
        println!("| {title} | {} |", cells.join(" | "));
    }
    println!("\nEach median over the hand-written gradient's (this run):\n");
    header("function");
    for (group, title) in FUNCTIONS {
        let hand = median(group, "hand");
        let cells: Vec<String> = TOOLS
            .iter()
            .map(|(id, _)| match (median(group, id), hand) {
                (Some(t), Some(h)) => ratio(t / h),
                _ => "–".into(),
            })
            .collect();
        println!("| {title} | {} |", cells.join(" | "));
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(300))
        .configure_from_args()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let measuring = !args.iter().any(|a| a == "--test" || a == "--list");
    // num-dual's SVector of 1,000 dual numbers of 1,000 derivatives is 8 MB, passed by value:
    // more than the main thread's stack.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let mut c = config();
            benches(&mut c);
            c.final_summary();
        })
        .expect("spawn the bench thread")
        .join()
        .expect("the bench thread panicked");
    if measuring {
        print_table();
    }
}
