use chainrule::{differentiate, Differentiable};

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Line {
    w: f64,
    b: f64,
}

#[differentiate(hessian)]
fn fit(p: &Line, x: f64) -> f64 {
    (p.w * x + p.b).powi(2)
}

#[differentiate]
fn square(x: f64) -> f64 {
    x * x
}

#[differentiate(hessian)]
fn calls(x: f64) -> f64 {
    square(x) + x
}

fn main() {}
