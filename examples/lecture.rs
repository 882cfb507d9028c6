//! The two worked examples of CS231n lecture 4, gate by gate: `cargo run --example lecture`.
//!
//! Each gate is a tiny function with `#[differentiate]`. Its `forward` computes the gate's value and a
//! cache; its `backward(&cache, upstream)` multiplies the upstream gradient (∂f/∂ of the gate's output,
//! flowing back from the end of the graph) by the gate's local gradients. Chaining the gates by hand
//! shows the numbers of the lecture's pictures; `#[differentiate]` on the whole function then gives the
//! same gradient in one call.

use chainrule::differentiate;

// The gates. `#[differentiate]` leaves each function as written and adds beside it a module of the
// same name: `mul::forward(a, b)` returns the value and a `mul::Cache`, and
// `mul::backward(&cache, upstream)` returns a `mul::Grad { a, b }`.

#[differentiate]
fn add(a: f64, b: f64) -> f64 {
    a + b
}

#[differentiate]
fn mul(a: f64, b: f64) -> f64 {
    a * b
}

#[differentiate]
fn times_minus_one(a: f64) -> f64 {
    -a
}

#[differentiate]
fn exp(a: f64) -> f64 {
    a.exp()
}

#[differentiate]
fn plus_one(a: f64) -> f64 {
    a + 1.0
}

#[differentiate]
fn reciprocal(a: f64) -> f64 {
    1.0 / a
}

#[differentiate]
fn sigmoid(a: f64) -> f64 {
    chainrule::sigmoid(a)
}

/// The lecture's first function, whole.
#[differentiate]
fn f(x: f64, y: f64, z: f64) -> f64 {
    let q = x + y;
    q * z
}

/// The lecture's neuron, whole. The macro recognizes the written-out sigmoid and differentiates it
/// as one sigmoid gate.
#[differentiate]
fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let dot = w0 * x0 + w1 * x1 + w2;
    1.0 / (1.0 + (-dot).exp())
}

fn main() {
    println!("Each gate's forward computes its value. Walking back, its backward turns the upstream");
    println!("gradient ∂f/∂(its output) into ∂f/∂(each input) = upstream × local gradient.");
    println!();
    simple_expression();
    sigmoid_neuron();
    println!();
    println!("The code #[differentiate] writes for `f` and `neuron` is in the README");
    println!("(or, with cargo-expand installed, run `cargo expand --example lecture`).");
}

fn simple_expression() {
    let (x, y, z) = (-2.0, 5.0, -4.0);
    println!("1. f(x, y, z) = (x + y) · z   at x = {x}, y = {y}, z = {z}");

    let (q, add_cache) = add::forward(x, y);
    let (out, mul_cache) = mul::forward(q, z);
    forward_header();
    forward_row("q = x + y", q);
    forward_row("f = q · z", out);

    backward_header();
    let d_out = 1.0; // ∂f/∂f
    let mul_grad = mul::backward(&mul_cache, d_out); // mul switches: ∂/∂q = z, ∂/∂z = q
    backward_row("f = q · z", d_out, &[("q", mul_grad.a), ("z", mul_grad.b)]);
    let add_grad = add::backward(&add_cache, mul_grad.a); // add distributes
    backward_row("q = x + y", mul_grad.a, &[("x", add_grad.a), ("y", add_grad.b)]);

    let (value, grad) = f::grad(x, y, z);
    let by_gates = [add_grad.a, add_grad.b, mul_grad.b];
    let whole = [grad.x, grad.y, grad.z];
    compare("f::grad", &["x", "y", "z"], (out, &by_gates), (value, &whole));

    assert_eq!((out, by_gates), (-12.0, [-4.0, -4.0, 3.0]));
    assert_eq!((value, whole), (-12.0, [-4.0, -4.0, 3.0]));
}

fn sigmoid_neuron() {
    let (w0, x0, w1, x1, w2) = (2.0, -1.0, -3.0, -2.0, -3.0);
    println!();
    println!("2. f(w, x) = 1 / (1 + e^-(w0·x0 + w1·x1 + w2))");
    println!("   at w0 = {w0}, x0 = {x0}, w1 = {w1}, x1 = {x1}, w2 = {w2}");

    let (a, a_cache) = mul::forward(w0, x0);
    let (b, b_cache) = mul::forward(w1, x1);
    let (c, c_cache) = add::forward(a, b);
    let (dot, dot_cache) = add::forward(c, w2);
    let (e, e_cache) = times_minus_one::forward(dot);
    let (g, g_cache) = exp::forward(e);
    let (h, h_cache) = plus_one::forward(g);
    let (out, out_cache) = reciprocal::forward(h);
    forward_header();
    forward_row("a = w0 · x0", a);
    forward_row("b = w1 · x1", b);
    forward_row("c = a + b", c);
    forward_row("dot = c + w2", dot);
    forward_row("e = dot · -1", e);
    forward_row("g = exp(e)", g);
    forward_row("h = g + 1", h);
    forward_row("f = 1 / h", out);

    backward_header();
    let d_out = 1.0;
    let d_h = reciprocal::backward(&out_cache, d_out).a; // local gradient -1/h²
    backward_row("f = 1 / h", d_out, &[("h", d_h)]);
    let d_g = plus_one::backward(&h_cache, d_h).a; // local gradient 1
    backward_row("h = g + 1", d_h, &[("g", d_g)]);
    let d_e = exp::backward(&g_cache, d_g).a; // local gradient e^e = g
    backward_row("g = exp(e)", d_g, &[("e", d_e)]);
    let d_dot = times_minus_one::backward(&e_cache, d_e).a; // local gradient -1
    backward_row("e = dot · -1", d_e, &[("dot", d_dot)]);
    let dot_grad = add::backward(&dot_cache, d_dot);
    backward_row("dot = c + w2", d_dot, &[("c", dot_grad.a), ("w2", dot_grad.b)]);
    let c_grad = add::backward(&c_cache, dot_grad.a);
    backward_row("c = a + b", dot_grad.a, &[("a", c_grad.a), ("b", c_grad.b)]);
    let b_grad = mul::backward(&b_cache, c_grad.b);
    backward_row("b = w1 · x1", c_grad.b, &[("w1", b_grad.a), ("x1", b_grad.b)]);
    let a_grad = mul::backward(&a_cache, c_grad.a);
    backward_row("a = w0 · x0", c_grad.a, &[("w0", a_grad.a), ("x0", a_grad.b)]);
    let by_gates = [a_grad.a, a_grad.b, b_grad.a, b_grad.b, dot_grad.b];

    let (sigma, sigma_cache) = sigmoid::forward(dot);
    let d_dot_sigmoid = sigmoid::backward(&sigma_cache, 1.0).a;
    println!();
    println!("  Or one sigmoid gate for the last four: its local gradient σ(1 − σ) reads its output.");
    forward_header();
    forward_row("f = σ(dot)", sigma);
    backward_header();
    backward_row("f = σ(dot)", 1.0, &[("dot", d_dot_sigmoid)]);

    let (value, grad) = neuron::grad(w0, x0, w1, x1, w2);
    let whole = [grad.w0, grad.x0, grad.w1, grad.x1, grad.w2];
    let names = ["w0", "x0", "w1", "x1", "w2"];
    compare("neuron::grad", &names, (out, &by_gates), (value, &whole));
    println!("  (six gates round differently from one σ(1 − σ): the last digit may differ)");

    const VALUE: f64 = 0.7310585786300049;
    const GRADIENT: [f64; 5] = [
        -0.19661193324148185,
        0.3932238664829637,
        -0.3932238664829637,
        -0.5898357997244456,
        0.19661193324148185,
    ];
    assert_eq!((out, sigma, value), (VALUE, VALUE, VALUE));
    assert_eq!(d_dot_sigmoid, 0.19661193324148185);
    assert_eq!(whole, GRADIENT);
    for (gates, exact) in by_gates.iter().zip(GRADIENT) {
        assert!(
            (gates - exact).abs() <= 4.0 * f64::EPSILON * exact.abs(),
            "{gates} vs {exact}"
        );
    }
}

// Printing, in aligned columns: a node or gate, then numbers aligned on their decimal points.

fn forward_header() {
    println!();
    println!("  {:<15}value", "forward pass");
}

fn forward_row(node: &str, value: f64) {
    println!("  {node:<15}{}", number(value));
}

fn backward_header() {
    println!();
    println!("  {:<15}{:<24}input gradient", "backward pass", "upstream");
}

/// A gate's backward step: the upstream gradient ∂f/∂(its output), then, for each of its inputs, the
/// upstream gradient times the local gradient: ∂f/∂(input).
fn backward_row(gate: &str, upstream: f64, inputs: &[(&str, f64)]) {
    for (i, (input, gradient)) in inputs.iter().enumerate() {
        let (gate, upstream) = if i == 0 {
            (gate, number(upstream))
        } else {
            ("", String::new())
        };
        println!("  {gate:<15}{upstream:<24}{input:<6}{}", number(*gradient));
    }
}

/// The gradient found gate by gate beside the one `#[differentiate]` writes for the whole function.
fn compare(whole_function: &str, names: &[&str], by_gates: (f64, &[f64]), whole: (f64, &[f64])) {
    println!();
    println!("  {:<15}{:<24}{whole_function}", "result", "gate by gate");
    println!("  {:<15}{:<24}{}", "f", number(by_gates.0), number(whole.0));
    for ((name, gates), whole) in names.iter().zip(by_gates.1).zip(whole.1) {
        let name = format!("∂f/∂{name}");
        println!("  {name:<15}{:<24}{}", number(*gates), number(*whole));
    }
}

/// A number aligned on its decimal point (integers as `-12`, fractions as `0.73…`).
fn number(value: f64) -> String {
    let text = value.to_string();
    match text.split_once('.') {
        Some((whole, fraction)) => format!("{whole:>3}.{fraction}"),
        None => format!("{text:>3}"),
    }
}
