//! Structs as parameters: `#[derive(chainrule::Differentiable)]`, field access, the gradient
//! as a value of the same struct, and the arithmetic of an optimizer step.

#![allow(clippy::needless_range_loop)]

use approx::assert_relative_eq;
use chainrule::{differentiate, Differentiable};

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Line {
    w: [f64; 2],
    b: f64,
    #[chainrule(data)]
    name: &'static str,
    steps: usize,
}

#[differentiate]
fn predict(p: &Line, x: f64, y: f64) -> f64 {
    let mut s = p.b;
    for _ in 0..p.steps {
        s += p.w[0] * x + p.w[1] * y;
    }
    (s - 1.0).powi(2)
}

#[test]
fn a_struct_by_reference() {
    let p = Line {
        w: [0.5, -0.25],
        b: 0.1,
        name: "line",
        steps: 2,
    };
    let (value, grad) = predict::grad(&p, 1.5, 2.0);
    assert_eq!(value, predict(&p, 1.5, 2.0));
    let s = 0.1 + 2.0 * (0.5 * 1.5 - 0.25 * 2.0);
    let ds = 2.0 * (s - 1.0);
    assert_relative_eq!(grad.p.b, ds, max_relative = 1e-12);
    assert_relative_eq!(grad.p.w[0], ds * 2.0 * 1.5, max_relative = 1e-12);
    assert_relative_eq!(grad.p.w[1], ds * 2.0 * 2.0, max_relative = 1e-12);
    assert_eq!(grad.p.steps, 0);
    assert_relative_eq!(grad.x, ds * 2.0 * 0.5, max_relative = 1e-12);
    let _ = p.name;
}

/// Central differences of `f` with respect to each float of `p`, in declaration order.
fn numerical<P: Differentiable<Scalar = f64>>(p: &P, f: impl Fn(&P) -> f64) -> Vec<f64> {
    let flat = p.to_flat();
    (0..flat.len())
        .map(|k| {
            let h = 1e-6 * flat[k].abs().max(1.0);
            let mut plus = flat.clone();
            let mut minus = flat.clone();
            plus[k] += h;
            minus[k] -= h;
            (f(&p.with_flat(&plus)) - f(&p.with_flat(&minus))) / (2.0 * h)
        })
        .collect()
}

fn assert_close(analytic: &[f64], numerical: &[f64]) {
    assert_eq!(analytic.len(), numerical.len());
    for (a, n) in analytic.iter().zip(numerical) {
        assert_relative_eq!(a, n, max_relative = 1e-6, epsilon = 1e-8);
    }
}

mod model {
    use chainrule::Differentiable;

    #[derive(Clone, Debug, PartialEq, Differentiable)]
    pub struct Layer<T> {
        pub w: [[T; 2]; 3],
        pub b: [T; 3],
    }

    #[derive(Clone, Debug, PartialEq, Differentiable)]
    pub struct Net<T> {
        pub hidden: Layer<T>,
        pub out: [T; 3],
        pub scale: T,
    }
}

use chainrule::Real;
use model::{Layer, Net};

/// A two-layer network over a nested generic struct, by value.
#[differentiate]
fn net<T: Real>(p: Net<T>, x: [T; 2]) -> T {
    let mut y = T::zero();
    for i in 0..3 {
        let mut z = p.hidden.b[i];
        for j in 0..2 {
            z += p.hidden.w[i][j] * x[j];
        }
        y += p.out[i] * z.tanh();
    }
    p.scale * y
}

fn a_net() -> Net<f64> {
    Net {
        hidden: Layer {
            w: [[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]],
            b: [0.01, -0.02, 0.03],
        },
        out: [0.7, -0.8, 0.9],
        scale: 1.5,
    }
}

#[test]
fn a_nested_generic_struct_by_value() {
    let p = a_net();
    let x = [0.3, -1.2];
    let (value, grad) = net::grad(p.clone(), x);
    assert_eq!(value, net(p.clone(), x));
    assert_close(&grad.p.to_flat(), &numerical(&p, |q| net(q.clone(), x)));
    // f32 through the same generic function.
    let p32 = Net {
        hidden: Layer {
            w: [[0.1f32, -0.2], [0.3, 0.4], [-0.5, 0.6]],
            b: [0.01, -0.02, 0.03],
        },
        out: [0.7, -0.8, 0.9],
        scale: 1.5,
    };
    let (value32, grad32) = net::grad(p32, [0.3, -1.2]);
    assert_relative_eq!(value32 as f64, value, max_relative = 1e-5);
    for (g32, g64) in grad32.p.to_flat().iter().zip(grad.p.to_flat()) {
        assert_relative_eq!(*g32 as f64, g64, max_relative = 1e-4, epsilon = 1e-6);
    }
}

#[test]
fn an_optimizer_step_on_the_struct() {
    let mut p = a_net();
    let x = [0.3, -1.2];
    let target = 0.25;
    let loss = |p: &Net<f64>| (net(p.clone(), x) - target).powi(2);
    let before = loss(&p);
    for _ in 0..50 {
        let (value, grad) = net::grad(p.clone(), x);
        let g = grad.p * (2.0 * (value - target));
        p -= 0.1 * g;
    }
    assert!(loss(&p) < 1e-3 * before, "{} -> {}", before, loss(&p));
    // The arithmetic, element by element.
    let a = a_net();
    let sum = &a + &a;
    assert_eq!(sum.out, [1.4, -1.6, 1.8]);
    assert_eq!((sum.clone() - a.clone()), a);
    assert_eq!((-a.clone()).scale, -1.5);
    assert_eq!((a.clone() / 2.0).hidden.w[2][1], 0.3);
    assert_eq!(a.zero_like().to_flat(), vec![0.0; 6 + 3 + 3 + 1]);
    let mut acc = a.zero_like();
    acc += &a;
    acc -= a.clone() * 0.5;
    acc *= 2.0;
    assert_eq!(acc, a);
    assert_eq!(a.dot_product(&a), a.to_flat().iter().map(|v| v * v).sum::<f64>());
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Fit {
    coefficients: Vec<f64>,
    offset: f64,
    unused: [f64; 2],
}

/// A `Vec` field, read by an iterator chain and a closure; a field never read.
#[differentiate]
fn residual(fit: &Fit, xs: &[f64], ys: &[f64]) -> f64 {
    let model = |x: f64| {
        let mut power = 1.0;
        let mut total = fit.offset;
        for c in fit.coefficients.iter() {
            total += c * power;
            power *= x;
        }
        total
    };
    xs.iter()
        .zip(ys)
        .map(|(x, y)| (model(*x) - y).powi(2))
        .sum::<f64>()
}

#[test]
fn vec_fields_closures_and_unread_fields() {
    let fit = Fit {
        coefficients: vec![0.5, -1.0, 0.25],
        offset: 0.1,
        unused: [3.0, 4.0],
    };
    let (xs, ys) = ([0.0, 0.5, 1.0, 2.0], [1.0, 0.2, -0.3, 0.4]);
    let (value, grad) = residual::grad(&fit, &xs, &ys);
    assert_eq!(value, residual(&fit, &xs, &ys));
    assert_eq!(grad.fit.unused, [0.0, 0.0]);
    assert_eq!(grad.fit.coefficients.len(), 3);
    assert_close(&grad.fit.to_flat(), &numerical(&fit, |f| residual(f, &xs, &ys)));
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct State {
    position: f64,
    velocity: f64,
}

/// Fields of a `mut` struct parameter assigned in the body (the caller's is not changed).
#[differentiate]
fn integrate(mut s: State, k: f64, steps: u32) -> f64 {
    let dt = 0.1;
    for _ in 0..steps {
        let a = -k * s.position;
        s.velocity += a * dt;
        s.position += s.velocity * dt;
    }
    s.position
}

#[test]
fn assigned_fields() {
    let s = State {
        position: 1.0,
        velocity: 0.0,
    };
    let (value, grad) = integrate::grad(s.clone(), 2.0, 20);
    assert_eq!(value, integrate(s.clone(), 2.0, 20));
    assert_close(
        &grad.s.to_flat(),
        &numerical(&s, |s| integrate(s.clone(), 2.0, 20)),
    );
    let h = 1e-6;
    let dk = (integrate(s.clone(), 2.0 + h, 20) - integrate(s.clone(), 2.0 - h, 20)) / (2.0 * h);
    assert_relative_eq!(grad.k, dk, max_relative = 1e-6);
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Spring {
    k: f64,
    rest: f64,
    #[chainrule(data)]
    label: &'static str,
}

#[differentiate]
impl Spring {
    /// The spring's energy at length `x`.
    fn energy(&self, x: f64) -> f64 {
        0.5 * self.k * (x - self.rest).powi(2)
    }

    /// By value, calling another method's function is not needed: fields only.
    fn stiffer(self, by: f64) -> f64 {
        self.k * by + Self::OFFSET
    }

    const OFFSET: f64 = 0.5;

    /// Not a float: left alone.
    fn label(&self) -> &'static str {
        self.label
    }

    /// Another method of the block, called on `self`.
    fn total(&self, x: f64, y: f64) -> f64 {
        self.energy(x) + self.energy(y)
    }
}

/// A method of a derived struct called on a struct parameter.
#[differentiate]
fn two_springs(a: &Spring, b: Spring, x: f64) -> f64 {
    a.energy(x) * b.energy(x + 1.0)
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Quadratic<T> {
    a: [T; 2],
}

#[differentiate]
impl<T: Real> Quadratic<T> {
    fn at(&self, x: T) -> T {
        self.a[0] * x * x + self.a[1] * x
    }
}

#[test]
fn methods() {
    let s = Spring {
        k: 3.0,
        rest: 1.0,
        label: "s",
    };
    let (value, grad) = s.energy_grad(1.5);
    assert_eq!(value, s.energy(1.5));
    assert_eq!(grad.self_.k, 0.5 * 0.25);
    assert_eq!(grad.self_.rest, -3.0 * 0.5);
    assert_eq!(grad.x, 3.0 * 0.5);
    let (value, grad) = spring_energy::grad(&s, 1.5);
    assert_eq!(value, s.energy(1.5));
    assert_eq!(grad.self_.k, 0.125);
    let (value, grad) = s.clone().stiffer_grad(2.0);
    assert_eq!(value, 6.5);
    assert_eq!((grad.self_.k, grad.self_.rest, grad.by), (2.0, 0.0, 3.0));
    assert_eq!(s.label(), "s");
    let (value, grad) = s.total_grad(1.5, 0.5);
    assert_eq!(value, s.total(1.5, 0.5));
    assert_eq!(grad.self_.k, 0.125 + 0.125);
    assert_eq!((grad.x, grad.y), (1.5, -1.5));
    let b = Spring {
        k: 2.0,
        rest: 0.0,
        label: "b",
    };
    let (value, grad) = two_springs::grad(&s, b.clone(), 1.5);
    assert_eq!(value, s.energy(1.5) * b.energy(2.5));
    assert_eq!(grad.a.k, 0.125 * b.energy(2.5));
    assert_eq!(grad.b.k, s.energy(1.5) * 0.5 * 2.5 * 2.5);
    assert_eq!(grad.x, 1.5 * b.energy(2.5) + s.energy(1.5) * 2.0 * 2.5);
    let q = Quadratic { a: [2.0f32, -1.0] };
    let (value, grad) = q.at_grad(3.0);
    assert_eq!(value, 15.0);
    assert_eq!(grad.self_.a, [9.0, 3.0]);
    assert_eq!(grad.x, 2.0 * 2.0 * 3.0 - 1.0);
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Affine {
    w: [f64; 2],
    b: f64,
    #[chainrule(data)]
    tag: u8,
    scale: Scale,
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Scale {
    k: f64,
    n: usize,
}

#[differentiate]
fn affine(p: &Affine, x: [f64; 2]) -> f64 {
    (p.w[0] * x[0] + p.w[1] * x[1] + p.b) * p.scale.k * (p.scale.n as f64)
}

#[differentiate]
fn scaled(s: Scale, y: f64) -> f64 {
    s.k * y * y
}

/// A struct passed whole to other differentiated functions (by reference and by value,
/// and a nested struct of it), from a loop.
#[differentiate(wrt(p))]
fn fit(p: &Affine, xs: &[[f64; 2]], ys: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..ys.len() {
        let r = affine(p, xs[i]) - ys[i];
        total += r * r + scaled(p.scale.clone(), r);
    }
    total
}

#[test]
fn structs_passed_to_differentiated_functions() {
    let p = Affine {
        w: [0.5, -0.3],
        b: 0.2,
        tag: 7,
        scale: Scale { k: 1.3, n: 2 },
    };
    let xs = [[0.1, 0.2], [-0.4, 0.8], [1.0, -1.0]];
    let ys = [0.3, -0.2, 0.5];
    let (value, grad) = fit::grad(&p, &xs, &ys);
    assert_eq!(value, fit(&p, &xs, &ys));
    assert_close(&grad.p.to_flat(), &numerical(&p, |q| fit(q, &xs, &ys)));
    assert_eq!((grad.p.tag, grad.p.scale.n), (0, 0));
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Sample {
    x: [f64; 2],
    y: f64,
    weight: f64,
    #[chainrule(data)]
    id: u32,
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Linear {
    w: [f64; 2],
    b: f64,
}

/// A slice of structs read as data: element loops, iterator chains, indexing, `len()`.
#[differentiate(wrt(p))]
fn weighted_loss(p: &Linear, data: &[Sample]) -> f64 {
    let mut total = 0.0;
    for s in data {
        let r = p.w[0] * s.x[0] + p.w[1] * s.x[1] + p.b - s.y;
        total += s.weight * r * r;
    }
    let first = data[0].y * p.b;
    let mean = data.iter().map(|s| s.weight * s.y).sum::<f64>() / data.len() as f64;
    total + first + mean * p.w[0]
}

/// An array of structs, differentiated: its gradient is an array of the same structs.
#[differentiate]
fn spread(points: [Linear; 3], k: f64) -> f64 {
    let mut e = 0.0;
    for i in 0..3 {
        e += k * (points[i].w[0] - points[i].w[1]).powi(2) + points[i].b * points[i].b;
    }
    e
}

#[test]
fn arrays_and_slices_of_structs() {
    let p = Linear {
        w: [0.4, -0.7],
        b: 0.1,
    };
    let data = vec![
        Sample {
            x: [0.1, 0.2],
            y: 0.3,
            weight: 1.0,
            id: 1,
        },
        Sample {
            x: [-0.4, 0.8],
            y: -0.2,
            weight: 0.5,
            id: 2,
        },
        Sample {
            x: [1.0, -1.0],
            y: 0.5,
            weight: 2.0,
            id: 3,
        },
    ];
    let (value, grad) = weighted_loss::grad(&p, &data);
    assert_eq!(value, weighted_loss(&p, &data));
    assert_close(&grad.p.to_flat(), &numerical(&p, |q| weighted_loss(q, &data)));

    let points = [
        Linear {
            w: [0.4, -0.7],
            b: 0.1,
        },
        Linear {
            w: [1.0, 0.5],
            b: -0.3,
        },
        Linear {
            w: [-0.2, 0.9],
            b: 0.6,
        },
    ];
    let (value, grad) = spread::grad(points.clone(), 1.5);
    assert_eq!(value, spread(points.clone(), 1.5));
    assert_close(
        &grad.points.to_flat(),
        &numerical(&points, |q| spread(q.clone(), 1.5)),
    );
    assert_eq!(grad.points[2].b, 2.0 * 0.6);
}

/// Elements of a slice of structs passed whole to a differentiated function.
#[differentiate(wrt(p))]
fn elementwise(p: &Linear, data: &[Sample]) -> f64 {
    let mut total = 0.0;
    for i in 0..data.len() {
        total += sample_loss(p, &data[i]);
    }
    for s in data.iter() {
        total += 0.5 * sample_loss(p, s);
    }
    total
}

#[differentiate]
fn sample_loss(p: &Linear, s: &Sample) -> f64 {
    (p.w[0] * s.x[0] + p.w[1] * s.x[1] + p.b - s.y).powi(2) * s.weight
}

#[test]
fn elements_passed_whole() {
    let p = Linear {
        w: [0.4, -0.7],
        b: 0.1,
    };
    let data = vec![
        Sample {
            x: [0.1, 0.2],
            y: 0.3,
            weight: 1.0,
            id: 1,
        },
        Sample {
            x: [-0.4, 0.8],
            y: -0.2,
            weight: 0.5,
            id: 2,
        },
    ];
    let (value, grad) = elementwise::grad(&p, &data);
    assert_eq!(value, elementwise(&p, &data));
    assert_close(&grad.p.to_flat(), &numerical(&p, |q| elementwise(q, &data)));
}

/// Type aliases with `#[differentiate]`: read written out, in the signature, in `let`s and
/// in a struct's fields; generic ones too.
#[differentiate]
type Vector = [f64; 3];

#[differentiate]
type Grid<T> = [[T; 2]; 2];

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Body {
    position: Vector,
    mass: f64,
}

#[differentiate]
fn potential(v: Vector, g: &Grid<f64>, body: &Body) -> f64 {
    let mut shifted: Vector = [0.0; 3];
    for i in 0..3 {
        shifted[i] = v[i] - body.position[i];
    }
    let r2 = shifted.iter().map(|s| s * s).sum::<f64>();
    body.mass * r2 + g[0][1] * g[1][0]
}

#[test]
fn type_aliases() {
    let v: Vector = [1.0, 2.0, 3.0];
    let g: Grid<f64> = [[0.0, 2.0], [3.0, 0.0]];
    let body = Body {
        position: [0.5, 0.5, 0.5],
        mass: 2.0,
    };
    let (value, grad) = potential::grad(v, &g, &body);
    assert_eq!(value, potential(v, &g, &body));
    assert_eq!(grad.v, [2.0, 6.0, 10.0]);
    assert_eq!(grad.g, [[0.0, 3.0], [2.0, 0.0]]);
    assert_eq!(grad.body.position, [-2.0, -6.0, -10.0]);
    assert_eq!(grad.body.mass, 0.25 + 2.25 + 6.25);
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Neuron {
    w: [f64; 2],
    b: f64,
}

/// `trace` and `source` of a function of a struct: the picture names the fields (`n.w`).
#[differentiate(trace, source)]
fn neuron_out(n: &Neuron, x: [f64; 2]) -> f64 {
    chainrule::sigmoid(n.w[0] * x[0] + n.w[1] * x[1] + n.b)
}

#[test]
fn trace_and_source_of_a_struct_function() {
    let n = Neuron {
        w: [2.0, -3.0],
        b: -3.0,
    };
    let trace = neuron_out::trace(&n, [-1.0, -2.0]);
    assert!(trace.contains("n.w"), "{trace}");
    assert!(trace.contains("n.b"), "{trace}");
    // The lecture's neuron: the gradient of w0 is -0.2 (rounded in the picture).
    assert!(trace.contains("-0.2"), "{trace}");
    assert!(
        neuron_out::SOURCE.contains("pub fn __forward"),
        "{}",
        neuron_out::SOURCE
    );
    let (_, grad) = neuron_out::grad(&n, [-1.0, -2.0]);
    assert_eq!(grad.n.w, [-0.19661193324148185, -0.3932238664829637]);
    assert_eq!(grad.n.b, 0.19661193324148185);
}

/// A struct without the derive: its methods differentiated with respect to their other
/// parameters read `self` as data, field by field.
#[allow(dead_code)]
struct Table {
    knots: Vec<f64>,
    weights: [f64; 3],
    order: usize,
    power: i32,
    scale: f32,
    bias: f64,
    lookup: Vec<usize>,
    clamped: bool,
    name: String,
}

#[differentiate(wrt(x))]
impl Table {
    fn value(&self, x: f64) -> f64 {
        let mut s = self.bias;
        for i in 0..self.order {
            s += self.weights[i] * (x - self.knots[self.lookup[i]]).powi(self.power);
        }
        let spread = self.knots.iter().map(|k| (x - k).abs()).sum::<f64>() / self.knots.len() as f64;
        if self.clamped && s > 1.0 {
            1.0 + spread
        } else {
            s * self.scale as f64 + self.order as f64 * x + spread
        }
    }

    #[differentiate(wrt(y))]
    fn shifted(&self, x: f64, y: f64) -> f64 {
        let n: usize = self.order;
        let mut total = 0.0;
        for (k, w) in self.weights.iter().enumerate() {
            if k < n {
                total += w * (x * y).sin();
            }
        }
        total * self.bias
    }

    /// A tuple of data, inlined where `self.pair(…)` is called.
    fn pair(&self, x: f64) -> (f64, f64) {
        (self.bias * x, self.scale as f64 + x)
    }

    /// Copies of data arrays, changed in the body.
    fn mutated_copies(&self, x: f64) -> f64 {
        let mut w = self.weights;
        w[0] = x * 2.0;
        let mut knots = self.knots.clone();
        knots[1] += x;
        // Copied, then cast (and used as a bound): an integer.
        let n = self.order;
        let mut s = n as f64 * x;
        for _ in 0..n {
            s += 0.5;
        }
        w[0] * w[1] + knots[1] * x + s
    }

    fn paired(&self, x: f64) -> f64 {
        let (a, b) = self.pair(x);
        a * b
    }

    /// Fields copied into variables first: what each is, from how it is used.
    fn copied(&self, x: f64) -> f64 {
        let n = self.order;
        let ws = self.weights;
        let p = self.power;
        let b = self.bias;
        let mut s = b;
        for i in 0..n {
            s += ws[i] * x.powi(p) / (i + 1) as f64;
        }
        s
    }
}

/// Generic, without the derive.
struct Poly<T> {
    coefficients: Vec<T>,
    shift: T,
    degree: usize,
}

#[differentiate(wrt(x))]
impl<T: Real> Poly<T> {
    fn at(&self, x: T) -> T {
        let mut s = self.shift;
        for k in 0..self.coefficients.len() {
            s += self.coefficients[k] * x.powi(k as i32);
        }
        s.tanh() + T::from_f64(self.degree as f64) * x
    }
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Gain {
    g: f64,
}

/// With the derive, `wrt(self, x)` differentiates with respect to `self` too.
#[differentiate]
impl Gain {
    #[differentiate(wrt(self, x))]
    fn apply(&self, x: f64, data: f64) -> f64 {
        self.g * x * data
    }
}

#[test]
fn self_as_data_without_the_derive() {
    let table = Table {
        knots: vec![0.5, -1.0, 2.0, 0.25],
        weights: [0.3, -0.7, 1.1],
        order: 3,
        power: 3,
        scale: 1.5,
        bias: 0.2,
        lookup: vec![2, 0, 3],
        clamped: false,
        name: "t".into(),
    };
    let h = 1e-6;
    for x in [-0.3, 0.7, 1.9] {
        let (value, grad) = table.value_grad(x);
        assert_eq!(value, table.value(x));
        let numeric = (table.value(x + h) - table.value(x - h)) / (2.0 * h);
        assert_relative_eq!(grad.x, numeric, max_relative = 1e-6);
        let (value, grad) = table_value::grad(&table, x);
        assert_eq!(value, table.value(x));
        assert_relative_eq!(grad.x, numeric, max_relative = 1e-6);
    }
    let clamped = Table {
        clamped: true,
        bias: 3.0,
        ..table
    };
    let (value, grad) = clamped.value_grad(0.9);
    assert_eq!(value, clamped.value(0.9));
    let numeric = (clamped.value(0.9 + h) - clamped.value(0.9 - h)) / (2.0 * h);
    assert_relative_eq!(grad.x, numeric, max_relative = 1e-6);
    let (value, grad) = clamped.shifted_grad(0.4, 1.3);
    assert_eq!(value, clamped.shifted(0.4, 1.3));
    let total: f64 = clamped.weights.iter().sum();
    assert_relative_eq!(
        grad.y,
        total * 0.4 * (0.4f64 * 1.3).cos() * 3.0,
        max_relative = 1e-12
    );

    let (value, grad) = clamped.copied_grad(0.7);
    assert_eq!(value, clamped.copied(0.7));
    let expected: f64 = (0..3)
        .map(|i| clamped.weights[i] * 3.0 * 0.49 / (i + 1) as f64)
        .sum();
    assert_relative_eq!(grad.x, expected, max_relative = 1e-12);

    let poly = Poly {
        coefficients: vec![0.5, -0.25, 0.125],
        shift: 0.1,
        degree: 2,
    };
    let (value, grad) = poly.at_grad(0.6);
    assert_eq!(value, poly.at(0.6));
    let numeric = (poly.at(0.6 + h) - poly.at(0.6 - h)) / (2.0 * h);
    assert_relative_eq!(grad.x, numeric, max_relative = 1e-6);
    let single = Poly {
        coefficients: vec![0.5f32, -0.25, 0.125],
        shift: 0.1,
        degree: 2,
    };
    let (value, grad) = single.at_grad(0.6);
    assert_eq!(value, single.at(0.6));
    assert_relative_eq!(grad.x, numeric as f32, max_relative = 1e-4);

    let (value, grad) = clamped.mutated_copies_grad(0.7);
    assert_eq!(value, clamped.mutated_copies(0.7));
    // 2x·w₁ + (k₁ + x)·x + n·x: 2w₁ + k₁ + 2x + n.
    assert_relative_eq!(grad.x, 2.0 * -0.7 + -1.0 + 2.0 * 0.7 + 3.0, max_relative = 1e-12);
    let (value, grad) = clamped.paired_grad(0.5);
    assert_eq!(value, clamped.paired(0.5));
    // (3x)(1.5 + x): 3(1.5 + x) + 3x.
    assert_eq!(grad.x, 3.0 * 2.0 + 3.0 * 0.5);

    let gain = Gain { g: 2.0 };
    let (value, grad) = gain.apply_grad(3.0, 5.0);
    assert_eq!(value, 30.0);
    assert_eq!((grad.self_.g, grad.x), (15.0, 10.0));
}
