//! `f::graph()`, `f::trace(…)` and `f::SOURCE`: the lecture's pictures to the last bit, and
//! for functions over the whole language, a trace whose numbers are `grad`'s and a DOT
//! text that Graphviz accepts (`dot -Tsvg` where it is installed, and always a checker of
//! DOT's grammar).

#[path = "support/dot_syntax.rs"]
mod dot_syntax;

use chainrule::{differentiate, relu, sigmoid, Real};
use dot_syntax::Dot;

// ---- the lecture ----------------------------------------------------------------------

#[differentiate(trace, source)]
fn f(x: f64, y: f64, z: f64) -> f64 {
    let q = x + y;
    q * z
}

#[differentiate(trace, source)]
fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let dot = w0 * x0 + w1 * x1 + w2;
    1.0 / (1.0 + (-dot).exp())
}

const NEURON_VALUE: f64 = 0.7310585786300049;
const NEURON_GRAD: [f64; 5] = [
    -0.19661193324148185,
    0.3932238664829637,
    -0.3932238664829637,
    -0.5898357997244456,
    0.19661193324148185,
];

/// The exact numbers of a tooltip (`value -2.0; gradient [1.0, 2.0]`), arrays flattened.
fn tooltip(
    attributes: &std::collections::BTreeMap<String, String>,
    what: &str,
    f32: bool,
) -> Option<Vec<f64>> {
    let text = attributes.get("tooltip")?;
    let part = text
        .split("; ")
        .find_map(|p| p.strip_prefix(&format!("{what} ")))?;
    Some(
        part.replace(['[', ']'], " ")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                if f32 {
                    f64::from(t.parse::<f32>().unwrap_or_else(|_| panic!("a number: {t}")))
                } else {
                    t.parse::<f64>().unwrap_or_else(|_| panic!("a number: {t}"))
                }
            })
            .collect(),
    )
}

fn node_named<'d>(dot: &'d Dot, label: &str) -> &'d str {
    dot.nodes
        .iter()
        .find(|(_, a)| a.get("label").map(String::as_str) == Some(label))
        .map(|(id, _)| id.as_str())
        .unwrap_or_else(|| panic!("no node `{label}` in\n{dot:?}"))
}

/// The (value, gradient) on the edge between the nodes labelled `from` and `to`
/// (`to` = `output` for the function's value).
fn edge(dot: &Dot, from: &str, to: &str) -> (Vec<f64>, Option<Vec<f64>>) {
    edge_numbers(dot, from, to, "gradient")
}

/// The value and the `what` (gradient, tangent) an edge's tooltip holds.
fn edge_numbers(dot: &Dot, from: &str, to: &str, what: &str) -> (Vec<f64>, Option<Vec<f64>>) {
    let from = node_named(dot, from);
    let to = if to == "output" {
        "output"
    } else {
        node_named(dot, to)
    };
    let (_, _, attributes) = dot
        .edges
        .iter()
        .find(|(a, b, _)| a == from && b == to)
        .unwrap_or_else(|| panic!("no edge {from} -> {to}"));
    (
        tooltip(attributes, "value", false).expect("a value"),
        tooltip(attributes, what, false),
    )
}

/// An input's value and whole gradient, from its tooltip.
fn input(dot: &Dot, name: &str, f32: bool) -> (Vec<f64>, Vec<f64>) {
    let attributes = &dot.nodes[node_named(dot, name)];
    (
        tooltip(attributes, "value", f32).expect("a value"),
        tooltip(attributes, "gradient", f32).unwrap_or_else(|| panic!("no gradient for {name}")),
    )
}

#[test]
fn lecture_graph() {
    let graph = f::graph();
    let dot = dot_syntax::check(&graph);
    assert_eq!(dot.nodes["n3"]["label"], "q = x + y");
    insta::assert_snapshot!(graph);
    let graph = neuron::graph();
    dot_syntax::check(&graph);
    insta::assert_snapshot!(graph);
}

/// The lecture's first picture: values -2, 5, -4, 3, -12 forward; gradients -4, -4, 3,
/// -4, 1 back.
#[test]
fn lecture_trace() {
    let text = f::trace(-2.0, 5.0, -4.0);
    let dot = dot_syntax::check(&text);
    assert_eq!(edge(&dot, "x", "q = x + y"), (vec![-2.0], Some(vec![-4.0])));
    assert_eq!(edge(&dot, "y", "q = x + y"), (vec![5.0], Some(vec![-4.0])));
    assert_eq!(edge(&dot, "q = x + y", "q · z"), (vec![3.0], Some(vec![-4.0])));
    assert_eq!(edge(&dot, "z", "q · z"), (vec![-4.0], Some(vec![3.0])));
    assert_eq!(edge(&dot, "q · z", "output"), (vec![-12.0], Some(vec![1.0])));
    let (value, grad) = f::grad(-2.0, 5.0, -4.0);
    assert_eq!(value, -12.0);
    for (name, gradient) in [("x", grad.x), ("y", grad.y), ("z", grad.z)] {
        assert_eq!(input(&dot, name, false).1, vec![gradient]);
    }
    insta::assert_snapshot!(text);
}

/// The lecture's neuron, as the generated code computes it: the written-out sigmoid is
/// one σ gate, whose input gradient is σ(1 − σ) = 0.19661193324148185.
#[test]
fn lecture_neuron_trace() {
    let point = (2.0, -1.0, -3.0, -2.0, -3.0);
    let text = neuron::trace(point.0, point.1, point.2, point.3, point.4);
    let dot = dot_syntax::check(&text);
    let sigma = "σ(dot)";
    assert_eq!(edge(&dot, sigma, "output"), (vec![NEURON_VALUE], Some(vec![1.0])));
    assert_eq!(
        edge(&dot, "dot = w0 · x0 + w1 · x1 + w2", sigma),
        (vec![1.0], Some(vec![0.19661193324148185]))
    );
    assert_eq!(
        edge(&dot, "w0", "w0 · x0"),
        (vec![2.0], Some(vec![NEURON_GRAD[0]]))
    );
    assert_eq!(
        edge(&dot, "x1", "w1 · x1"),
        (vec![-2.0], Some(vec![NEURON_GRAD[3]]))
    );
    let (value, grad) = neuron::grad(point.0, point.1, point.2, point.3, point.4);
    assert_eq!(value, NEURON_VALUE);
    let grads = [grad.w0, grad.x0, grad.w1, grad.x1, grad.w2];
    assert_eq!(grads, NEURON_GRAD);
    for (name, gradient) in ["w0", "x0", "w1", "x1", "w2"].iter().zip(grads) {
        assert_eq!(input(&dot, name, false).1, vec![gradient], "{name}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn source_is_the_generated_code() {
    assert!(f::SOURCE.contains("pub fn forward(x: f64, y: f64, z: f64) -> (f64, Cache) {"));
    assert!(f::SOURCE.contains("let d_q = upstream * z;"));
    assert!(f::SOURCE.contains("pub fn backward(cache: &Cache, upstream: f64) -> Grad {"));
    assert!(neuron::SOURCE.contains("::chainrule::sigmoid(dot)"));
    insta::assert_snapshot!(f::SOURCE);
}

// ---- the whole language: the trace's numbers are grad's --------------------------------

/// A gradient as exact numbers, flattened (f32 widened exactly).
trait Flat {
    const F32: bool;
    fn flat(&self) -> Vec<f64>;
}

impl Flat for f64 {
    const F32: bool = false;
    fn flat(&self) -> Vec<f64> {
        vec![*self]
    }
}

impl Flat for f32 {
    const F32: bool = true;
    fn flat(&self) -> Vec<f64> {
        vec![f64::from(*self)]
    }
}

impl<T: Flat, const N: usize> Flat for [T; N] {
    const F32: bool = T::F32;
    fn flat(&self) -> Vec<f64> {
        self.iter().flat_map(Flat::flat).collect()
    }
}

impl<T: Flat> Flat for Vec<T> {
    const F32: bool = T::F32;
    fn flat(&self) -> Vec<f64> {
        self.iter().flat_map(Flat::flat).collect()
    }
}

fn is_f32<T: Flat>(_: &T) -> bool {
    T::F32
}

/// Checks `f::trace(args)` against `f::grad(args)`: the value on the output edge and
/// each input's gradient, bit for bit; and both pictures against Graphviz.
macro_rules! check_trace {
    ($f:ident $(::<$t:ty>)? ($($arg:expr),* $(,)?) => [$($param:ident),* $(,)?]) => {{
        let (value, grad) = $f::grad $(::<$t>)? ($($arg),*);
        let text = $f::trace $(::<$t>)? ($($arg),*);
        let dot = dot_syntax::check(&text);
        dot_syntax::check(&$f::graph());
        let (_, _, out) = dot.edges.iter().find(|(_, to, _)| to == "output").expect("an output edge");
        let f32 = is_f32(&value);
        assert_eq!(tooltip(out, "value", f32).expect("the value"), value.flat(), "{}: value", stringify!($f));
        $(
            assert_eq!(
                input(&dot, stringify!($param), f32).1,
                grad.$param.flat(),
                "{}: ∂/∂{}\n{text}",
                stringify!($f),
                stringify!($param)
            );
        )*
        (text, dot)
    }};
}

#[differentiate(trace)]
fn branchy(x: f64, y: f64) -> f64 {
    let v = if x > y { x * x - y } else { (y - x).exp() };
    v * y
}

#[differentiate(trace)]
fn matched(x: f64, k: usize) -> f64 {
    match k {
        0 => x.sin(),
        1 | 2 => x * x,
        _ => -x,
    }
}

#[differentiate(trace)]
fn powers(x: f64, n: usize) -> f64 {
    let mut p = 1.0;
    for _ in 0..n {
        p *= x;
    }
    p
}

#[differentiate(trace)]
fn halve(x: f64) -> f64 {
    let mut y = x * 3.0;
    while y.abs() > 1.0 {
        y /= 2.0;
    }
    y * x
}

#[differentiate(trace)]
fn array_neuron(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = w[2];
    for i in 0..2 {
        dot += w[i] * x[i];
    }
    sigmoid(dot)
}

#[differentiate(trace)]
fn mean_square(xs: &[f64]) -> f64 {
    let mut sum = 0.0;
    for &x in xs.iter() {
        sum += x * x;
    }
    sum / xs.len() as f64
}

#[differentiate(trace)]
fn net(w1: [[f64; 2]; 2], w2: [f64; 2], x: [f64; 2]) -> f64 {
    let mut h = [0.0; 2];
    for i in 0..2 {
        let mut z = 0.0;
        for j in 0..2 {
            z += w1[i][j] * x[j];
        }
        h[i] = relu(z);
    }
    let mut out = 0.0;
    for i in 0..2 {
        out += w2[i] * h[i];
    }
    out * out
}

#[differentiate(trace)]
fn square(a: f64) -> f64 {
    a * a
}

#[differentiate(trace)]
fn calls(a: f64, b: f64) -> f64 {
    let mut s = square(a);
    for i in 0..3 {
        s += square(b * i as f64);
    }
    if a > b {
        s * square(a - b)
    } else {
        s
    }
}

#[differentiate(trace)]
fn softplus<T: Real>(x: T, k: T) -> T {
    (T::one() + (k * x).exp()).ln() / k
}

#[differentiate(wrt(w), trace)]
fn affine(w: f64, x: f64, b: f64) -> f64 {
    w * x + b
}

/// A custom rule: the body is not read.
#[differentiate(backward = cube_backward, trace)]
fn cube(x: f64) -> f64 {
    x.powi(3)
}

fn cube_backward(x: f64, _value: f64, upstream: f64) -> cube::Grad {
    cube::Grad {
        x: upstream * 3.0 * x * x,
    }
}

#[differentiate(trace)]
fn uses_cube(x: f64, ys: [f64; 2]) -> f64 {
    let mut s = cube(x);
    for y in ys {
        s += cube(y * x);
    }
    s
}

/// In f32, with a reference to an array and a `&Vec` (as the language allows).
#[differentiate(trace)]
#[allow(clippy::ptr_arg)]
fn kinks(a: f32, b: f32, w: &[f32; 2], xs: &Vec<f32>) -> f32 {
    let m = a.max(b);
    let r = relu(a * b) + m.abs() + w[0] * xs[1];
    r * a.tanh() + 2.0_f32.sqrt() * b.powi(3) + w[1]
}

#[differentiate(trace)]
fn constant(x: f64) -> f64 {
    let _ = x;
    2.0
}

#[test]
fn trace_is_grad() {
    check_trace!(f(-2.0, 5.0, -4.0) => [x, y, z]);
    check_trace!(neuron(2.0, -1.0, -3.0, -2.0, -3.0) => [w0, x0, w1, x1, w2]);
    check_trace!(branchy(2.0, 1.5) => [x, y]);
    check_trace!(branchy(0.5, 1.5) => [x, y]);
    for k in 0..4 {
        check_trace!(matched(0.7, k) => [x]);
    }
    for n in [0, 1, 4] {
        check_trace!(powers(1.3, n) => [x]);
    }
    check_trace!(halve(5.0) => [x]);
    check_trace!(halve(0.1) => [x]);
    check_trace!(array_neuron([2.0, -3.0, -3.0], [-1.0, -2.0]) => [w, x]);
    check_trace!(mean_square(&[1.0, 2.0, 3.0, 4.0]) => [xs]);
    check_trace!(net([[0.5, -1.0], [1.5, 0.25]], [0.3, -0.7], [1.0, 2.0]) => [w1, w2, x]);
    check_trace!(calls(1.5, 0.5) => [a, b]);
    check_trace!(calls(0.5, 1.5) => [a, b]);
    check_trace!(softplus::<f64>(0.5, 4.0) => [x, k]);
    check_trace!(softplus::<f32>(0.5, 4.0) => [x, k]);
    check_trace!(affine(2.0, 3.0, 1.0) => [w]);
    check_trace!(cube(1.5) => [x]);
    check_trace!(uses_cube(1.5, [0.5, -2.0]) => [x, ys]);
    check_trace!(constant(1.0) => [x]);
    check_trace!(kinks(0.7, -1.3, &[0.5, 2.0], &vec![1.0, 3.0]) => [a, b, w, xs]);
    check_trace!(kinks(1.5, 0.25, &[0.5, 2.0], &vec![1.0, 3.0]) => [a, b, w, xs]);
}

/// Inside a loop: the values of the last iteration; an edge from outside the loop carries
/// the gradient of all iterations.
#[test]
fn loops_show_the_last_iteration() {
    let (text, dot) = check_trace!(array_neuron([2.0, -3.0, -3.0], [-1.0, -2.0]) => [w, x]);
    assert!(
        text.contains("for i in 0..2 (2 iterations; the last shown)"),
        "{text}"
    );
    let (_, grad) = array_neuron::grad([2.0, -3.0, -3.0], [-1.0, -2.0]);
    // w[i] in the last iteration is w[1] = -3, x[i] is x[1] = -2.
    let (value, gradient) = edge(&dot, "w[i]", "w[i] · x[i]");
    assert_eq!(value, vec![-3.0]);
    assert_eq!(gradient, Some(vec![grad.w[1]]));
    // w flows into the loop through w[i] (both iterations) and into w[2] before it.
    let (value, gradient) = edge(&dot, "w", "w[i]");
    assert_eq!(value, vec![2.0, -3.0, -3.0]);
    assert_eq!(gradient, Some(vec![grad.w[0], grad.w[1], 0.0]));
    assert_eq!(edge(&dot, "w", "dot = w[2]").1, Some(vec![0.0, 0.0, grad.w[2]]));
    insta::assert_snapshot!(text);
}

#[test]
fn a_branch_not_taken_is_grey() {
    let (text, dot) = check_trace!(branchy(0.5, 1.5) => [x, y]);
    assert!(text.contains("if x > y (not taken)"), "{text}");
    assert!(text.contains("else (taken)"), "{text}");
    let untaken = &dot.nodes[node_named(&dot, "x · x")];
    assert_eq!(untaken.get("style").map(String::as_str), Some("dashed"));
    let (text, _) = check_trace!(branchy(2.0, 1.5) => [x, y]);
    assert!(text.contains("if x > y (taken)"), "{text}");
    insta::assert_snapshot!(text);
}

/// Every picture of the functions above is valid DOT: what `dot -Tsvg` accepts.
#[test]
fn graphviz_accepts_every_graph() {
    for graph in [
        f::graph(),
        neuron::graph(),
        branchy::graph(),
        matched::graph(),
        powers::graph(),
        halve::graph(),
        array_neuron::graph(),
        mean_square::graph(),
        net::graph(),
        calls::graph(),
        softplus::graph(),
        affine::graph(),
        cube::graph(),
        uses_cube::graph(),
        constant::graph(),
        kinks::graph(),
    ] {
        dot_syntax::check(&graph);
    }
    if !dot_syntax::graphviz_installed() {
        eprintln!("Graphviz is not installed: DOT checked by its grammar only");
    }
}

/// With chainrule's `trace` and `source` features, a function whose attribute asks for
/// neither has both (`.ci/run` runs this file with them).
#[cfg(all(feature = "trace", feature = "source"))]
mod by_feature {
    use chainrule::differentiate;

    #[differentiate]
    fn plain(x: f64, y: f64) -> f64 {
        (x * y).sin()
    }

    #[test]
    fn every_function_has_trace_and_source() {
        let (value, grad) = plain::grad(0.5, 2.0);
        let trace = plain::trace(0.5, 2.0);
        assert!(trace.starts_with("digraph"), "{trace}");
        assert!(
            trace.contains(&format!("{value:?}")),
            "the value in the trace: {trace}"
        );
        assert!(
            trace.contains(&format!("{:?}", grad.x)),
            "∂x in the trace: {trace}"
        );
        assert!(plain::SOURCE.contains("pub fn backward(cache: &Cache, upstream: f64) -> Grad {"));
    }
}

// ---- forward mode's picture -------------------------------------------------------------

#[differentiate(trace, jvp)]
fn circuit(x: f64, y: f64, z: f64) -> f64 {
    let q = x + y;
    q * z
}

#[differentiate(trace, jvp)]
fn looped_neuron(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = w[2];
    for i in 0..2 {
        dot += w[i] * x[i];
    }
    1.0 / (1.0 + (-dot).exp())
}

/// The (value, tangent) on an edge of `trace_jvp`'s picture.
fn tangent_edge(dot: &Dot, from: &str, to: &str) -> (Vec<f64>, Vec<f64>) {
    let (value, tangent) = edge_numbers(dot, from, to, "tangent");
    (value, tangent.expect("a tangent"))
}

/// The lecture's circuit in forward mode along z: each edge carries its source's value and
/// tangent, ż = 1 making q · z's tangent q = 3; along x, ∂f/∂x = z = −4.
#[test]
fn lecture_trace_in_forward_mode() {
    let along_z = circuit::Tangent {
        x: 0.0,
        y: 0.0,
        z: 1.0,
    };
    let text = circuit::trace_jvp(-2.0, 5.0, -4.0, along_z);
    let dot = dot_syntax::check(&text);
    assert_eq!(tangent_edge(&dot, "x", "q = x + y"), (vec![-2.0], vec![0.0]));
    assert_eq!(tangent_edge(&dot, "q = x + y", "q · z"), (vec![3.0], vec![0.0]));
    assert_eq!(tangent_edge(&dot, "z", "q · z"), (vec![-4.0], vec![1.0]));
    assert_eq!(tangent_edge(&dot, "q · z", "output"), (vec![-12.0], vec![3.0]));
    assert!(text.contains("#1565c0"), "tangents are blue");
    insta::assert_snapshot!(text);
    let along_x = circuit::Tangent {
        x: 1.0,
        y: 0.0,
        z: 0.0,
    };
    let dot = dot_syntax::check(&circuit::trace_jvp(-2.0, 5.0, -4.0, along_x));
    assert_eq!(tangent_edge(&dot, "q = x + y", "q · z"), (vec![3.0], vec![1.0]));
    let (value, derivative) = circuit::jvp(-2.0, 5.0, -4.0, along_x);
    assert_eq!(
        tangent_edge(&dot, "q · z", "output"),
        (vec![value], vec![derivative])
    );
}

/// A loop: its values and tangents those of the last iteration; the neuron's output tangent
/// along w₀ is σ'(1) · x₀ = −0.19661193324148185, `jvp`'s bits.
#[test]
fn a_loop_in_forward_mode() {
    let (w, x) = ([2.0, -3.0, -3.0], [-1.0, -2.0]);
    let along = looped_neuron::Tangent {
        w: [1.0, 0.0, 0.0],
        x: [0.0; 2],
    };
    let dot = dot_syntax::check(&looped_neuron::trace_jvp(w, x, along));
    let (value, derivative) = looped_neuron::jvp(w, x, along);
    assert_eq!(derivative, -0.19661193324148185);
    assert_eq!(
        tangent_edge(&dot, "σ(dot)", "output"),
        (vec![value], vec![derivative])
    );
    assert_eq!(tangent_edge(&dot, "w[i]", "w[i] · x[i]"), (vec![-3.0], vec![0.0]));
    assert_eq!(tangent_edge(&dot, "dot", "σ(dot)"), (vec![1.0], vec![-1.0]));
}
