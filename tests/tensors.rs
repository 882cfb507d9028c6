//! Array operations (the `ndarray` feature), each against central differences, and the
//! shapes of their gradients. One function per operation (or per form of it); `check`
//! compares `grad` with central differences of the function itself in every element of
//! every parameter, and asserts that `forward` computes the function's value exactly and
//! that `backward(&cache, 1.0)` is `grad`'s gradient, and that forward mode's `jvp` along a
//! direction is the gradient's dot product with it.
#![cfg(feature = "ndarray")]
#![allow(clippy::needless_range_loop)]

use chainrule::ndarray::{array, s, Array1, Array2, ArrayD, ArrayView1, ArrayView2, Axis, IxDyn};
use chainrule::{differentiate, elu, leaky_relu, maxout, relu, sigmoid, softmax, tanh};

/// Central differences of `f` over every element of every parameter, against `analytic`.
fn check(params: &[ArrayD<f64>], analytic: &[ArrayD<f64>], f: impl Fn(&[ArrayD<f64>]) -> f64) {
    assert_eq!(params.len(), analytic.len());
    for (k, (p, a)) in params.iter().zip(analytic).enumerate() {
        assert_eq!(
            p.shape(),
            a.shape(),
            "the gradient of parameter {k} has its shape"
        );
        let numeric = chainrule::numerical_gradient(
            |flat: &[f64]| {
                let mut point = params.to_vec();
                point[k] = ArrayD::from_shape_vec(IxDyn(p.shape()), flat.to_vec()).expect("shape");
                f(&point)
            },
            &p.iter().copied().collect::<Vec<_>>(),
        );
        for (i, (&a, &n)) in a.iter().zip(&numeric).enumerate() {
            let tolerance = 1e-6 * 1f64.max(a.abs()).max(n.abs());
            assert!(
                (a - n).abs() <= tolerance,
                "parameter {k}, element {i}: analytic {a}, numeric {n}"
            );
        }
    }
}

fn m(a: &ArrayD<f64>) -> Array2<f64> {
    a.clone().into_dimensionality().expect("a matrix")
}

fn v(a: &ArrayD<f64>) -> Array1<f64> {
    a.clone().into_dimensionality().expect("a vector")
}

/// A matrix of distinct values, none at a kink.
fn matrix(rows: usize, cols: usize, seed: f64) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        ((i * cols + j) as f64 * 0.7 + seed).sin() * 1.3
    })
}

fn vector(len: usize, seed: f64) -> Array1<f64> {
    Array1::from_shape_fn(len, |i| (i as f64 * 0.9 + seed).cos() * 1.1)
}

/// Checks a function of array parameters: `$f(args…)` by name, the parameters with the
/// conversion from `ArrayD` that each takes (`m` or `v`), and the `Grad` fields in order.
macro_rules! check {
    ($f:ident($($arg:ident: $conv:ident = $value:expr),* $(,)?)) => {{
        $(let $arg = $value;)*
        let (value, grad) = $f::grad($(&$arg),*);
        assert_eq!(value, $f($(&$arg),*), "grad's value is the function's");
        let (forward, cache) = $f::forward($(&$arg),*);
        assert_eq!(forward, value, "forward's value is the function's");
        assert_eq!($f::backward(&cache, 1.0), grad, "backward with upstream 1 is grad");
        // Forward mode along a direction of the parameters' shapes: ∇f · v.
        let tangent = $f::Tangent { $($arg: $arg.mapv(|x| (3.0 * x).cos() - 0.2)),* };
        let expected = 0.0 $(+ (&grad.$arg * &tangent.$arg).sum())*;
        let (jvp_value, jvp) = $f::jvp($(&$arg,)* tangent);
        assert_eq!(jvp_value, value, "jvp's value is the function's");
        let scale = 1.0 $(+ grad.$arg.mapv(f64::abs).sum())*;
        assert!((jvp - expected).abs() <= 1e-12 * scale, "jvp {jvp} but ∇f · v = {expected}");
        let params = [$($arg.clone().into_dyn()),*];
        let analytic = [$(grad.$arg.clone().into_dyn()),*];
        let mut _k = 0;
        check(&params, &analytic, |p| {
            let mut k = 0;
            $(let $arg = $conv(&p[k]); k += 1;)*
            let _ = k;
            $f($(&$arg),*)
        });
        grad
    }};
}

// ---------------------------------------------------------------------------------------------
// Products and transposes

#[differentiate(jvp)]
fn matrix_matrix(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.dot(b).mapv(f64::sin).sum()
}

#[differentiate(jvp)]
fn matrix_vector(a: &Array2<f64>, x: &Array1<f64>) -> f64 {
    a.dot(x).mapv(f64::sin).sum()
}

#[differentiate(jvp)]
fn vector_matrix(x: &Array1<f64>, a: &Array2<f64>) -> f64 {
    x.dot(a).mapv(f64::sin).sum()
}

#[differentiate(jvp)]
fn vector_vector(x: &Array1<f64>, y: &Array1<f64>) -> f64 {
    x.dot(y).sin()
}

#[differentiate(jvp)]
fn transposed(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.t().dot(b).mapv(f64::sin).sum()
}

#[test]
fn products() {
    check!(matrix_matrix(a: m = matrix(3, 4, 0.1), b: m = matrix(4, 2, 0.5)));
    check!(matrix_vector(a: m = matrix(3, 4, 0.2), x: v = vector(4, 0.3)));
    check!(vector_matrix(x: v = vector(3, 0.4), a: m = matrix(3, 5, 0.6)));
    check!(vector_vector(x: v = vector(4, 0.7), y: v = vector(4, 0.8)));
    check!(transposed(a: m = matrix(4, 3, 0.9), b: m = matrix(4, 2, 1.0)));
}

// ---------------------------------------------------------------------------------------------
// Element by element, with broadcasting

#[differentiate(jvp)]
fn arithmetic(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let s = a + b;
    let d = &s - &(a * b);
    let q = &d / &(b * b + 2.0);
    (2.0 * &q - 1.0).mapv(f64::sin).sum()
}

#[differentiate(jvp)]
fn with_scalars(a: &Array2<f64>, s: f64) -> f64 {
    let scaled = a * s;
    let shifted = s - &scaled;
    (&shifted / s).mapv(f64::sin).sum() + (-a).sum()
}

#[differentiate(jvp)]
fn bias_row(h: &Array2<f64>, b: &Array1<f64>) -> f64 {
    (h + b).mapv(f64::sin).sum()
}

#[differentiate(jvp)]
fn bias_first(b: &Array1<f64>, h: &Array2<f64>) -> f64 {
    (b * h).mapv(f64::sin).sum()
}

#[differentiate(jvp)]
fn compound(a: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let mut h = a.to_owned();
    h += b;
    h *= 3.0;
    h -= a;
    h.mapv(f64::sin).sum()
}

/// The lecture's bias `b = np.zeros((1, K))`: a `(1, K)` row of the same rank as the batch,
/// stretched by broadcasting; its gradient is summed back over the batch.
#[differentiate(jvp)]
fn bias_as_a_matrix_row(h: &Array2<f64>, b: &Array2<f64>) -> f64 {
    (h + b).mapv(f64::sin).sum()
}

/// An `(n, 1)` column times an `(n, m)` matrix, and a `(1, 1)` matrix times it.
#[differentiate(jvp)]
fn column_and_single(a: &Array2<f64>, column: &Array2<f64>, single: &Array2<f64>) -> f64 {
    let scaled = a * column;
    (&scaled * single).mapv(f64::cos).sum()
}

#[test]
fn element_by_element() {
    check!(arithmetic(a: m = matrix(2, 3, 0.1), b: m = matrix(2, 3, 0.2)));
    let s = 1.7;
    let (value, grad) = with_scalars::grad(&matrix(2, 3, 0.3), s);
    assert_eq!(value, with_scalars(&matrix(2, 3, 0.3), s));
    let numeric = chainrule::numerical_gradient(|p: &[f64]| with_scalars(&matrix(2, 3, 0.3), p[0]), &[s]);
    assert!((grad.s - numeric[0]).abs() < 1e-7, "{} {}", grad.s, numeric[0]);
    let g = check!(bias_row(h: m = matrix(4, 3, 0.4), b: v = vector(3, 0.5)));
    assert_eq!(g.b.len(), 3);
    check!(bias_first(b: v = vector(3, 0.6), h: m = matrix(4, 3, 0.7)));
    check!(compound(a: m = matrix(3, 2, 0.8), b: v = vector(2, 0.9)));
}

/// An `(n, 1)` column stretched by a vector of fewer axes: `(n, 1) + (m,)` is `(n, m)`, as
/// numpy's rules say (the vector gets a leading axis, then both stretch their length-1 axes).
#[differentiate(jvp)]
fn column_plus_vector(column: &Array2<f64>, row: &Array1<f64>) -> f64 {
    (column + row).mapv(f64::sin).sum() + (row * column).mapv(f64::cos).sum()
}

/// A length-1 vector stretched along a matrix's rows.
#[differentiate(jvp)]
fn single_times_matrix(a: &Array2<f64>, single: &Array1<f64>) -> f64 {
    (a * single).mapv(f64::sin).sum()
}

/// An intermediate `(n, 1)` column (a product with a one-column matrix) stretched by a
/// vector: its gradient is summed back to one column before it reaches the product.
#[differentiate(jvp)]
fn product_column_plus_vector(x: &Array2<f64>, w: &Array2<f64>, row: &Array1<f64>) -> f64 {
    let column = x.dot(w);
    (&column + row).mapv(f64::sin).sum() + (row * &column).mapv(f64::cos).sum()
}

#[test]
fn broadcasting_against_fewer_axes() {
    let g = check!(column_plus_vector(column: m = matrix(3, 1, 0.2), row: v = vector(4, 0.3)));
    assert_eq!((g.column.shape(), g.row.shape()), (&[3, 1][..], &[4][..]));
    let g = check!(single_times_matrix(a: m = matrix(2, 3, 0.4), single: v = vector(1, 0.5)));
    assert_eq!(g.single.shape(), &[1]);
    // Without stretching, shape for shape.
    check!(column_plus_vector(column: m = matrix(3, 4, 0.2), row: v = vector(4, 0.3)));
    // An intermediate array stretched so: the backward pass keeps its shape only.
    let g = check!(product_column_plus_vector(
        x: m = matrix(3, 2, 0.2),
        w: m = matrix(2, 1, 0.6),
        row: v = vector(4, 0.3),
    ));
    assert_eq!((g.w.shape(), g.row.shape()), (&[2, 1][..], &[4][..]));
    check!(product_column_plus_vector(x: m = matrix(3, 2, 0.2), w: m = matrix(2, 4, 0.6), row: v = vector(4, 0.3)));
}

#[test]
fn broadcasting_between_arrays_of_the_same_rank() {
    let g = check!(bias_as_a_matrix_row(h: m = matrix(4, 3, 0.4), b: m = matrix(1, 3, 0.5)));
    assert_eq!(g.b.shape(), &[1, 3]);
    let g = check!(column_and_single(
        a: m = matrix(3, 4, 0.1),
        column: m = matrix(3, 1, 0.2),
        single: m = matrix(1, 1, 0.3),
    ));
    assert_eq!((g.column.shape(), g.single.shape()), (&[3, 1][..], &[1, 1][..]));
    // Without broadcasting the gradient is the one of the plain product, shape for shape.
    check!(column_and_single(
        a: m = matrix(3, 4, 0.1),
        column: m = matrix(3, 4, 0.2),
        single: m = matrix(3, 4, 0.3),
    ));
}

// ---------------------------------------------------------------------------------------------
// Activations and float methods on whole arrays

#[differentiate(jvp)]
fn mapv_forms(z: &Array2<f64>) -> f64 {
    let a = z.mapv(f64::tanh);
    let b = z.mapv(sigmoid);
    let c = z.mapv(chainrule::relu);
    let d = z.mapv(|v| v.max(0.0));
    let e = z.mapv(|x: f64| (0.5 * x).exp() + x.powi(3));
    (&a * &b + &c * 2.0 + &d * 3.0 + &e).sum()
}

#[differentiate(jvp)]
fn activations(z: &Array2<f64>, other: &Array2<f64>) -> f64 {
    let a = relu(z);
    let b = sigmoid(z);
    let c = tanh(z);
    let d = leaky_relu(z, 0.1);
    let e = elu(z, 1.5);
    let f = maxout(z, other);
    (&a * 1.5 + &b * &c + &d * 2.5 + &e * 3.5 + &f).sum()
}

#[differentiate(jvp)]
fn float_methods(x: &Array1<f64>) -> f64 {
    let p = x.mapv(|v| v * v + 1.0);
    let a = p.mapv(f64::ln);
    let b = p.mapv(f64::sqrt);
    let c = x.mapv(|v| v.powi(3));
    let d = x.exp();
    let e = p.ln() + p.sqrt() + x.powi(2);
    (&a * &b + &c + &d + &e).sum()
}

/// The ReLU layer's backward pass: a mask of the upstream array, times the upstream float.
#[differentiate(jvp)]
fn relu_layer(x: &Array1<f64>, dy: &Array1<f64>) -> f64 {
    relu(x).dot(dy) + 0.5 * leaky_relu(x, 0.1).dot(dy)
}

#[test]
fn activations_and_methods() {
    let g = check!(relu_layer(x: v = vector(7, 0.15), dy: v = vector(7, 1.15)));
    let (_, cache) = relu_layer::forward(&vector(7, 0.15), &vector(7, 1.15));
    let scaled = relu_layer::backward(&cache, -2.5).x;
    assert!(scaled.iter().zip(&g.x).all(|(s, g)| (s + 2.5 * g).abs() < 1e-12));
    check!(mapv_forms(z: m = matrix(3, 4, 0.25)));
    check!(activations(z: m = matrix(3, 4, 0.35), other: m = matrix(3, 4, 1.35)));
    check!(float_methods(x: v = vector(5, 0.45)));
}

/// The kinks follow the scalar conventions: relu'(0) = 0, max routes a tie to the first.
#[test]
fn kinks_as_for_floats() {
    let z = array![[-1.0, 0.0, 2.0]];
    let (_, g) = activations::grad(&z, &z);
    let (_, scalar) = {
        #[differentiate(jvp)]
        fn one(z: f64, other: f64) -> f64 {
            relu(z) * 1.5
                + sigmoid(z) * tanh(z)
                + leaky_relu(z, 0.1) * 2.5
                + elu(z, 1.5) * 3.5
                + maxout(z, other)
        }
        (0, [-1.0, 0.0, 2.0].map(|x| one::grad(x, x).1))
    };
    for (j, scalar) in scalar.iter().enumerate() {
        assert!((g.z[[0, j]] - scalar.z).abs() < 1e-12);
        assert_eq!(g.other[[0, j]], scalar.other);
    }
}

// ---------------------------------------------------------------------------------------------
// Reductions, axes, indexing

#[differentiate(jvp)]
fn reductions(a: &Array2<f64>) -> f64 {
    let rows = a.sum_axis(Axis(1));
    let cols = a.sum_axis(Axis(0));
    rows.mapv(f64::sin).sum() + cols.mapv(f64::cos).mean().unwrap() + a.mean().unwrap() * a.sum()
}

#[differentiate(jvp)]
fn softmax_written_out(z: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let e = z.mapv(f64::exp);
    let s = e.sum_axis(Axis(1));
    let p = &e / &s.view().insert_axis(Axis(1));
    (&p * w).sum()
}

#[differentiate(jvp)]
fn log_softmax_loss_written_out(scores: &Array1<f64>, y: usize) -> f64 {
    scores.mapv(f64::exp).sum().ln() - scores[y]
}

#[differentiate(jvp)]
fn indexing(a: &Array2<f64>, x: &Array1<f64>) -> f64 {
    let row = a.row(1);
    (&row * x).sum() + a[[0, 2]] * x[1] + a.row(0).dot(x)
}

#[test]
fn reductions_and_indexing() {
    check!(reductions(a: m = matrix(3, 4, 0.15)));
    check!(softmax_written_out(z: m = matrix(3, 4, 0.55), w: m = matrix(3, 4, 0.65)));
    let scores = array![3.2, 5.1, -1.7];
    let (loss, g) = log_softmax_loss_written_out::grad(&scores, 0);
    assert!((loss - chainrule::cross_entropy(&scores, &0)).abs() < 1e-12);
    let p = chainrule::softmax(&scores);
    for j in 0..3 {
        let expected = p[j] - if j == 0 { 1.0 } else { 0.0 };
        assert!((g.scores[j] - expected).abs() < 1e-12);
    }
    check!(indexing(a: m = matrix(3, 4, 0.75), x: v = vector(4, 0.85)));
}

// ---------------------------------------------------------------------------------------------
// Softmax and the classifiers' losses

#[differentiate(jvp)]
fn softmaxes(z: &Array2<f64>, w: &Array2<f64>) -> f64 {
    let p = chainrule::softmax(z);
    let l = chainrule::log_softmax(z);
    (&p * w).sum() + (&l * w).sum()
}

#[differentiate(jvp)]
fn cross_entropy_batch(scores: &Array2<f64>, labels: &[usize]) -> f64 {
    chainrule::cross_entropy(scores, labels)
}

#[differentiate(jvp)]
fn cross_entropy_array_labels(scores: &Array2<f64>, labels: &Array1<usize>) -> f64 {
    chainrule::cross_entropy(scores, labels)
}

#[differentiate(jvp)]
fn cross_entropy_one(scores: &Array1<f64>, label: usize) -> f64 {
    chainrule::cross_entropy(scores, &label)
}

#[differentiate(jvp)]
fn hinge(scores: &Array2<f64>, labels: &[usize]) -> f64 {
    chainrule::svm_loss(scores, labels)
}

#[differentiate(jvp)]
fn l2(w: &Array2<f64>, reg: f64) -> f64 {
    0.5 * reg * (w * w).sum()
}

/// Maxout over two affine maps of a batch.
#[differentiate(jvp)]
fn maxout_layer(
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    x: &Array2<f64>,
) -> f64 {
    let h = maxout(&(x.dot(w1) + b1), &(x.dot(w2) + b2));
    h.mapv(f64::sin).sum()
}

#[test]
fn losses() {
    check!(softmaxes(z: m = matrix(3, 4, 0.12), w: m = matrix(3, 4, 0.22)));
    let labels = [2usize, 0, 3];
    let scores = matrix(3, 4, 0.32);
    let (loss, g) = cross_entropy_batch::grad(&scores, &labels);
    assert_eq!(loss, chainrule::cross_entropy(&scores, &labels[..]));
    check(
        &[scores.clone().into_dyn()],
        &[g.scores.clone().into_dyn()],
        |p| cross_entropy_batch(&m(&p[0]), &labels),
    );
    let array_labels = Array1::from(labels.to_vec());
    let (_, g2) = cross_entropy_array_labels::grad(&scores, &array_labels);
    assert_eq!(g2.scores, g.scores);
    let row = vector(4, 0.42);
    let (_, g1) = cross_entropy_one::grad(&row, 1);
    check(&[row.clone().into_dyn()], &[g1.scores.into_dyn()], |p| {
        cross_entropy_one(&v(&p[0]), 1)
    });
    let (_, gh) = hinge::grad(&scores, &labels);
    check(&[scores.clone().into_dyn()], &[gh.scores.into_dyn()], |p| {
        hinge(&m(&p[0]), &labels)
    });
    let w = matrix(3, 2, 0.52);
    let (loss, gl) = l2::grad(&w, 0.1);
    assert!((loss - 0.05 * w.mapv(|x| x * x).sum()).abs() < 1e-15);
    assert_eq!(gl.w, &w * 0.1);
    check!(maxout_layer(
        w1: m = matrix(3, 4, 0.62),
        b1: v = vector(4, 0.72),
        w2: m = matrix(3, 4, 0.82),
        b2: v = vector(4, 0.92),
        x: m = matrix(5, 3, 1.02),
    ));
}

// ---------------------------------------------------------------------------------------------
// Views, owned arrays, f32

#[differentiate(jvp)]
fn views_and_owned(a: ArrayView2<f64>, b: Array2<f64>) -> f64 {
    (&a * &b).mapv(f64::sin).sum()
}

#[differentiate(jvp)]
fn in_f32(w: &Array2<f32>, x: &Array1<f32>) -> f32 {
    sigmoid(&w.dot(x)).sum() * 0.5
}

#[test]
fn views_owned_and_f32() {
    let (a, b) = (matrix(2, 3, 0.1), matrix(2, 3, 0.2));
    let (value, g) = views_and_owned::grad(a.view(), b.clone());
    assert_eq!(value, views_and_owned(a.view(), b.clone()));
    check(
        &[a.clone().into_dyn(), b.clone().into_dyn()],
        &[g.a.into_dyn(), g.b.into_dyn()],
        |p| views_and_owned(m(&p[0]).view(), m(&p[1])),
    );
    let w = matrix(2, 3, 0.3).mapv(|x| x as f32);
    let x = vector(3, 0.4).mapv(|x| x as f32);
    let (value, g) = in_f32::grad(&w, &x);
    assert_eq!(value, in_f32(&w, &x));
    let numeric = chainrule::numerical_gradient(
        |p: &[f32]| in_f32(&Array2::from_shape_vec((2, 3), p.to_vec()).expect("shape"), &x),
        &w.iter().copied().collect::<Vec<_>>(),
    );
    for (a, n) in g.w.iter().zip(&numeric) {
        assert!((a - n).abs() < 2e-3, "{a} {n}");
    }
}

// ---------------------------------------------------------------------------------------------
// The lecture's networks, on small sizes

/// f = W2 max(0, W1 x + b1) + b2, for one input vector; a scalar of it is checked.
#[differentiate(jvp)]
fn two_layer(w1: &Array2<f64>, b1: &Array1<f64>, w2: &Array2<f64>, b2: &Array1<f64>, x: &Array1<f64>) -> f64 {
    let h = relu(&(w1.dot(x) + b1));
    let f = w2.dot(&h) + b2;
    f.mapv(f64::sin).sum()
}

/// A 3-layer network over a batch (one example per row) with the softmax loss.
#[allow(clippy::too_many_arguments)]
#[differentiate(wrt(w1, b1, w2, b2, w3, b3))]
fn three_layer(
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    w3: &Array2<f64>,
    b3: &Array1<f64>,
    x: &Array2<f64>,
    y: &[usize],
) -> f64 {
    let h1 = relu(&(x.dot(w1) + b1));
    let h2 = relu(&(h1.dot(w2) + b2));
    let scores = h2.dot(w3) + b3;
    chainrule::cross_entropy(&scores, y)
}

#[test]
fn networks() {
    check!(two_layer(
        w1: m = matrix(4, 3, 0.11),
        b1: v = vector(4, 0.21),
        w2: m = matrix(2, 4, 0.31),
        b2: v = vector(2, 0.41),
        x: v = vector(3, 0.51),
    ));
    let (w1, b1, w2, b2, w3, b3) = (
        matrix(3, 5, 0.13),
        vector(5, 0.23),
        matrix(5, 4, 0.33),
        vector(4, 0.43),
        matrix(4, 3, 0.53),
        vector(3, 0.63),
    );
    let x = matrix(6, 3, 0.73);
    let y = [0usize, 2, 1, 1, 0, 2];
    let (loss, g) = three_layer::grad(&w1, &b1, &w2, &b2, &w3, &b3, &x, &y);
    assert_eq!(loss, three_layer(&w1, &b1, &w2, &b2, &w3, &b3, &x, &y));
    let params = [&w1, &w2, &w3].map(|w| w.clone().into_dyn());
    let biases = [&b1, &b2, &b3].map(|b| b.clone().into_dyn());
    let all: Vec<ArrayD<f64>> = params.iter().chain(&biases).cloned().collect();
    let analytic: Vec<ArrayD<f64>> = [g.w1.into_dyn(), g.w2.into_dyn(), g.w3.into_dyn()]
        .into_iter()
        .chain([g.b1.into_dyn(), g.b2.into_dyn(), g.b3.into_dyn()])
        .collect();
    check(&all, &analytic, |p| {
        three_layer(
            &m(&p[0]),
            &v(&p[3]),
            &m(&p[1]),
            &v(&p[4]),
            &m(&p[2]),
            &v(&p[5]),
            &x,
            &y,
        )
    });
}

// ---------------------------------------------------------------------------------------------
// Array operations anywhere: in loops and branches, over rows

/// A loop carrying an array: three tanh layers of the same weights.
#[differentiate(jvp)]
fn layers(w: &Array2<f64>, b: &Array1<f64>, x: &Array1<f64>) -> f64 {
    let mut h = x.clone();
    for _ in 0..3 {
        h = (&w.dot(&h) + b).mapv(f64::tanh);
    }
    h.sum()
}

/// Arrays computed in branches, and a branch's array result.
#[differentiate(jvp)]
fn array_branches(x: &Array1<f64>, y: &Array1<f64>) -> f64 {
    let z = if x[0] > 0.0 { x.mapv(f64::exp) * 2.0 } else { x - y };
    let mut total = 0.0;
    if z.sum() > 1.0 {
        total += (&z * y).sum();
    } else {
        total -= z.dot(y);
    }
    total
}

/// Rows of a matrix in a loop.
#[differentiate(jvp)]
fn over_rows(a: &Array2<f64>, x: &Array1<f64>) -> f64 {
    let mut total = 0.0;
    for i in 0..a.nrows() {
        let r = a.row(i);
        total += r.dot(x).tanh() + r.mapv(f64::sin).sum() * (i as f64);
    }
    total
}

/// A `while` loop updating an array until its sum passes a bound.
#[differentiate(jvp)]
fn grow(x: &Array1<f64>) -> f64 {
    let mut v = x.mapv(f64::exp);
    let mut steps = 0;
    while v.sum() < 10.0 && steps < 20 {
        v = &v * 1.5 + 0.5;
        steps += 1;
    }
    v.mapv(f64::ln).sum()
}

#[test]
fn array_operations_in_loops_and_branches() {
    check!(layers(w: m = matrix(4, 4, 0.1), b: v = vector(4, 0.2), x: v = vector(4, 0.3)));
    // Both sides of both branches.
    check!(array_branches(x: v = vector(3, 0.1), y: v = vector(3, 0.2)));
    check!(array_branches(x: v = -vector(3, 0.1), y: v = vector(3, 0.2)));
    check!(array_branches(x: v = vector(3, 2.0), y: v = vector(3, 0.2)));
    check!(over_rows(a: m = matrix(5, 3, 0.4), x: v = vector(3, 0.5)));
    check!(grow(x: v = vector(3, 0.6)));
    check!(grow(x: v = vector(3, 0.6) * 0.01));
}

/// A matrix built from zeros row by row in a loop (`row_mut(i).assign`), its rows summed by
/// iterating over them.
#[differentiate(jvp)]
fn built_rows(a: &Array2<f64>, x: &Array1<f64>) -> f64 {
    let (n, d) = a.dim();
    let mut out = Array2::zeros((n, d));
    for i in 0..n {
        out.row_mut(i)
            .assign(&(&a.row(i) * x[i % x.len()]).mapv(f64::sin));
    }
    let mut acc = Array1::zeros(d);
    for row in out.rows() {
        acc += &row;
    }
    let mut weighted = 0.0;
    for (j, column) in a.columns().into_iter().enumerate() {
        weighted += column.sum() * j as f64;
    }
    acc.mapv(f64::exp).sum() + weighted
}

/// Slices of vectors and matrices, columns, and lengths.
#[differentiate(jvp)]
fn slices_and_columns(a: &Array2<f64>, x: &Array1<f64>) -> f64 {
    let head = x.slice(s![..2]);
    let tail = x.slice(s![1..]);
    let mut total = head.dot(&head) * tail.mapv(f64::sin).sum();
    for j in 0..a.ncols() {
        total += a.column(j).mapv(f64::tanh).sum() * (j as f64 + 1.0);
    }
    let rows = a.slice(s![1..3, ..]);
    let columns = a.slice(s![.., 1..]);
    total
        + (&rows * &rows).sum()
        + columns.mapv(f64::cos).sum() * a.shape()[1] as f64
        + x.slice(s![1..x.len() - 1]).sum() * a.len_of(Axis(0)) as f64
}

/// Elements of ndarray arrays written and increased one by one, in loops and a branch.
#[differentiate(jvp)]
fn element_writes(a: &Array2<f64>, x: &Array1<f64>) -> f64 {
    let (n, d) = a.dim();
    let mut h = Array2::zeros((n, d));
    let mut v = x.clone();
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..d {
            h[[i, j]] = a[[i, j]] * x[j];
            if h[[i, j]] > 0.0 {
                v[j] += h[[i, j]].sin();
            } else {
                v[j] *= 0.5;
            }
        }
        total += h.row(i).dot(&v);
    }
    v[0] = total;
    v.mapv(f64::tanh).sum() + h.sum()
}

/// Arrays times zero in products, transposes, sums over an axis, slices and a softmax: the
/// gradient code folds each operation on a zero to zero (a float 0 is never an array
/// operand), and the parameters' gradients are arrays of zeros where nothing else flows.
#[differentiate(jvp)]
fn times_zero(a: &Array2<f64>, x: &Array1<f64>, unused: &Array2<f64>) -> f64 {
    let zero = &a.row(1) * 0.0;
    let zeros = a * 0.0;
    a.t().dot(x).dot(&zero)
        + zeros.sum_axis(Axis(0)).dot(x)
        + zeros.t().dot(a).sum()
        + softmax(&(x * 0.0)).sum()
        + zero.slice(s![1..]).sum()
        + a.dot(&zero).mapv(f64::sin).sum()
        + (unused * 0.0).sum()
}

#[test]
fn products_of_zeros() {
    check!(times_zero(a: m = matrix(3, 3, 0.7), x: v = vector(3, 0.8), unused: m = matrix(2, 2, 0.9)));
    let (a, x, unused) = (matrix(3, 3, 0.7), vector(3, 0.8), matrix(2, 2, 0.9));
    let (_, grad) = times_zero::grad(&a, &x, &unused);
    assert_eq!(grad.unused, Array2::<f64>::zeros((2, 2)));
    assert_eq!(grad.x.len(), 3);
}

#[test]
fn rows_columns_slices_and_new_arrays() {
    check!(built_rows(a: m = matrix(4, 3, 0.1), x: v = vector(3, 0.2)));
    check!(slices_and_columns(a: m = matrix(4, 3, 0.3), x: v = vector(5, 0.4)));
    check!(element_writes(a: m = matrix(4, 3, 0.5), x: v = vector(3, 0.6)));
    check!(element_writes(a: m = matrix(4, 3, 0.5), x: v = -vector(3, 0.6)));
}

/// A `#[differentiate]` function over arrays called from another, with parameters, views,
/// rows and computed arrays as arguments.
#[differentiate(jvp)]
fn tanh_layer(w: &Array2<f64>, b: &Array1<f64>, x: &Array1<f64>) -> f64 {
    (&w.dot(x) + b).mapv(f64::tanh).sum()
}

#[differentiate(jvp)]
fn calls_with_arrays(w: &Array2<f64>, b: &Array1<f64>, x: &Array1<f64>) -> f64 {
    let mut total = tanh_layer(w, b, x);
    let squashed = x.mapv(f64::sin);
    total += 2.0 * tanh_layer(w, b, &squashed);
    for i in 0..w.nrows() {
        total += tanh_layer(w, b, &(&w.row(i) * x[i])) * 0.5;
    }
    total
}

#[test]
fn calls_between_functions_over_arrays() {
    check!(calls_with_arrays(w: m = matrix(3, 3, 0.1), b: v = vector(3, 0.2), x: v = vector(3, 0.3)));
}

/// Rows passed as views, arrays passed by value, a call in a branch, calls in a module.
#[differentiate(jvp)]
fn row_energy(r: ArrayView1<f64>, scale: f64) -> f64 {
    r.mapv(|v| v * v).sum() * scale
}

#[differentiate(jvp)]
fn owned_sum(v: Array1<f64>) -> f64 {
    v.mapv(f64::exp).sum()
}

#[differentiate(jvp)]
fn views_and_values(a: &Array2<f64>, x: &Array1<f64>) -> f64 {
    let mut total = 0.0;
    for (i, r) in a.rows().into_iter().enumerate() {
        if x[i % x.len()] > 0.0 {
            total += row_energy(r, x[0]);
        } else {
            total += owned_sum(r.to_owned());
        }
    }
    total + owned_sum(x * 2.0)
}

#[differentiate(jvp)]
mod array_helpers {
    use chainrule::ndarray::{Array1, Array2};

    fn norm_squared(v: &Array1<f64>) -> f64 {
        v.dot(v)
    }

    pub fn residuals(a: &Array2<f64>, x: &Array1<f64>, y: &Array1<f64>) -> f64 {
        let r = a.dot(x) - y;
        0.5 * norm_squared(&r)
    }
}

#[test]
fn calls_with_views_values_and_modules() {
    check!(views_and_values(a: m = matrix(4, 3, 0.1), x: v = vector(3, 0.2)));
    check!(views_and_values(a: m = matrix(4, 3, 0.1), x: v = -vector(3, 0.2)));
    use array_helpers::residuals;
    check!(residuals(a: m = matrix(4, 3, 0.5), x: v = vector(3, 0.6), y: v = vector(4, 0.7)));
}

/// `layers` and `built_rows` in f32: the same gradients as in f64, to f32's precision.
#[differentiate(jvp)]
fn layers_f32(w: &Array2<f32>, b: &Array1<f32>, x: &Array1<f32>) -> f32 {
    let mut h = x.clone();
    for _ in 0..3 {
        h = (&w.dot(&h) + b).mapv(f32::tanh);
    }
    h.sum()
}

#[differentiate(jvp)]
fn built_rows_f32(a: &Array2<f32>, x: &Array1<f32>) -> f32 {
    let (n, d) = a.dim();
    let mut out = Array2::zeros((n, d));
    for i in 0..n {
        out.row_mut(i)
            .assign(&(&a.row(i) * x[i % x.len()]).mapv(f32::sin));
    }
    let mut acc = Array1::zeros(d);
    for row in out.rows() {
        acc += &row;
    }
    let mut weighted = 0.0;
    for (j, column) in a.columns().into_iter().enumerate() {
        weighted += column.sum() * j as f32;
    }
    acc.mapv(f32::exp).sum() + weighted
}

#[test]
fn array_operations_anywhere_in_f32() {
    fn close<D: chainrule::ndarray::Dimension>(
        a: &chainrule::ndarray::Array<f32, D>,
        b: &chainrule::ndarray::Array<f64, D>,
    ) {
        for (&a, &b) in a.iter().zip(b) {
            assert!(
                (f64::from(a) - b).abs() <= 1e-4 * 1f64.max(b.abs()),
                "{a} against {b}"
            );
        }
    }
    let (w, b, x) = (matrix(4, 4, 0.1), vector(4, 0.2), vector(4, 0.3));
    let (v32, g32) = layers_f32::grad(
        &w.mapv(|v| v as f32),
        &b.mapv(|v| v as f32),
        &x.mapv(|v| v as f32),
    );
    let (v64, g64) = layers::grad(&w, &b, &x);
    assert!((f64::from(v32) - v64).abs() < 1e-4);
    close(&g32.w, &g64.w);
    close(&g32.b, &g64.b);
    close(&g32.x, &g64.x);
    let (a, x) = (matrix(4, 3, 0.1), vector(3, 0.2));
    let (v32, g32) = built_rows_f32::grad(&a.mapv(|v| v as f32), &x.mapv(|v| v as f32));
    let (v64, g64) = built_rows::grad(&a, &x);
    assert!((f64::from(v32) - v64).abs() < 1e-3 * v64.abs());
    close(&g32.a, &g64.a);
    close(&g32.x, &g64.x);
}

// ---------------------------------------------------------------------------------------------
// Arrays in generic functions (`T: Real`): the same code as in f64, in f64 and in f32.

use chainrule::Real;

#[differentiate(jvp)]
fn layers_generic<T: Real>(w: &Array2<T>, b: &Array1<T>, x: &Array1<T>) -> T {
    let mut h = x.clone();
    for _ in 0..3 {
        h = (&w.dot(&h) + b).mapv(T::tanh);
    }
    h.sum()
}

/// Arithmetic with floats on either side (`s * &a` is written `&a * s` for ndarray).
#[differentiate(jvp)]
fn arithmetic_generic<T: Real>(a: &Array2<T>, b: &Array2<T>, s: T) -> T {
    let sum = a + b;
    let d = &sum - &(a * b);
    let q = &d / &(b * b + T::from_f64(2.0));
    let scaled = &q * s;
    (&scaled * T::from_f64(2.0) - T::one()).mapv(T::sin).sum() - a.sum() * s
}

#[differentiate(jvp)]
fn built_rows_generic<T: Real>(a: &Array2<T>, x: &Array1<T>) -> T {
    let (n, d) = a.dim();
    let mut out = Array2::zeros((n, d));
    for i in 0..n {
        out.row_mut(i).assign(&(&a.row(i) * x[i % x.len()]).mapv(T::sin));
    }
    let mut acc = Array1::zeros(d);
    for row in out.rows() {
        acc += &row;
    }
    let mut weighted = T::zero();
    for (j, column) in a.columns().into_iter().enumerate() {
        weighted += column.sum() * T::from_f64(j as f64);
    }
    acc.mapv(T::exp).sum() + weighted
}

#[differentiate(jvp)]
fn slices_and_elements_generic<T: Real>(a: &Array2<T>, x: &Array1<T>) -> T {
    let head = x.slice(s![..2]);
    let mut total = head.dot(&head);
    let mut h = Array2::zeros(a.dim());
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            h[[i, j]] = a[[i, j]] * x[j];
        }
        if h.row(i).sum() > T::zero() {
            total += h.row(i).mapv(|v| v * v).sum();
        }
    }
    total + h.sum_axis(Axis(0)).dot(x)
}

#[differentiate(jvp)]
fn two_layer_generic<T: Real>(
    w1: &Array2<T>,
    b1: &Array1<T>,
    w2: &Array2<T>,
    b2: &Array1<T>,
    x: &Array1<T>,
) -> T {
    let h = relu(&(w1.dot(x) + b1));
    let f = w2.dot(&h) + b2;
    f.mapv(T::sin).sum() + chainrule::softmax(&f)[0]
}
#[test]
fn arrays_in_generic_functions() {
    check!(layers(w: m = matrix(4, 4, 0.1), b: v = vector(4, 0.2), x: v = vector(4, 0.3)));
    let g = check!(layers_generic(w: m = matrix(4, 4, 0.1), b: v = vector(4, 0.2), x: v = vector(4, 0.3)));
    // The generic function's code in f64 is the f64 function's: the same bits.
    assert_eq!(g, {
        let (w, b, x) = (matrix(4, 4, 0.1), vector(4, 0.2), vector(4, 0.3));
        let concrete = layers::grad(&w, &b, &x).1;
        layers_generic::Grad {
            w: concrete.w,
            b: concrete.b,
            x: concrete.x,
        }
    });
    let (a, b) = (matrix(3, 2, 0.4), matrix(3, 2, 0.5));
    for s in [0.7, -1.3] {
        let f = |p: &[ArrayD<f64>]| arithmetic_generic(&m(&p[0]), &m(&p[1]), p[2][[0]]);
        let (value, grad) = arithmetic_generic::grad(&a, &b, s);
        assert_eq!(value, arithmetic_generic(&a, &b, s));
        let params = [
            a.clone().into_dyn(),
            b.clone().into_dyn(),
            Array1::from(vec![s]).into_dyn(),
        ];
        let analytic = [
            grad.a.into_dyn(),
            grad.b.into_dyn(),
            Array1::from(vec![grad.s]).into_dyn(),
        ];
        check(&params, &analytic, f);
    }
    check!(built_rows_generic(a: m = matrix(4, 3, 0.1), x: v = vector(3, 0.2)));
    check!(slices_and_elements_generic(a: m = matrix(4, 3, 0.6), x: v = vector(3, 0.7)));
    check!(two_layer_generic(
        w1: m = matrix(4, 3, 0.11),
        b1: v = vector(4, 0.21),
        w2: m = matrix(2, 4, 0.31),
        b2: v = vector(2, 0.41),
        x: v = vector(3, 0.51),
    ));
    // In f32: to f32's precision of the f64 gradient.
    let (a, x) = (matrix(4, 3, 0.1), vector(3, 0.2));
    let (v32, g32) = built_rows_generic::grad(&a.mapv(|v| v as f32), &x.mapv(|v| v as f32));
    let (v64, g64) = built_rows_generic::grad(&a, &x);
    assert!((f64::from(v32) - v64).abs() < 1e-4 * v64.abs());
    for (&a32, &a64) in g32.a.iter().zip(&g64.a).chain(g32.x.iter().zip(&g64.x)) {
        assert!(
            (f64::from(a32) - a64).abs() <= 1e-4 * 1f64.max(a64.abs()),
            "{a32} against {a64}"
        );
    }
}

/// Forward mode through the classifiers' losses (their labels have no tangent): ∇L · v.
#[test]
fn losses_in_forward_mode() {
    let labels = [2usize, 0, 3];
    let scores = matrix(3, 4, 0.32);
    let v = matrix(3, 4, 0.9);
    let (_, g) = cross_entropy_batch::grad(&scores, &labels);
    let (_, t) = cross_entropy_batch::jvp(
        &scores,
        &labels,
        cross_entropy_batch::Tangent { scores: v.clone() },
    );
    assert!((t - (&g.scores * &v).sum()).abs() < 1e-13);
    let (_, g) = hinge::grad(&scores, &labels);
    let (_, t) = hinge::jvp(&scores, &labels, hinge::Tangent { scores: v.clone() });
    assert!((t - (&g.scores * &v).sum()).abs() < 1e-13);
    let (one, w) = (vector(4, 0.1), vector(4, 0.7));
    let (_, g) = cross_entropy_one::grad(&one, 1);
    let (_, t) = cross_entropy_one::jvp(&one, 1, cross_entropy_one::Tangent { scores: w.clone() });
    assert!((t - (&g.scores * &w).sum()).abs() < 1e-13);
    // log_softmax of a vector (its own case of the row)
    let (_, g) = log_softmax_loss_written_out::grad(&one, 2);
    let (_, t) = log_softmax_loss_written_out::jvp(
        &one,
        2,
        log_softmax_loss_written_out::Tangent { scores: w.clone() },
    );
    assert!((t - (&g.scores * &w).sum()).abs() < 1e-13);
}
