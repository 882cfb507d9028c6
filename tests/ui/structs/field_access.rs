use chainrule::{differentiate, Differentiable};

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Params {
    w: [f64; 2],
    b: f64,
    #[chainrule(data)]
    label: String,
}

#[differentiate]
fn unknown_field(p: &Params, x: f64) -> f64 {
    p.w[0] * x + p.c
}

#[differentiate]
fn whole_struct(p: &Params, x: f64) -> f64 {
    let q = p;
    x * q.b
}

#[differentiate]
fn data_field(p: &Params, x: f64) -> f64 {
    let n = p.label.len() as f64;
    x * n
}

#[differentiate]
fn shadowed(p: &Params, x: f64) -> f64 {
    let y = p.b * x;
    let p = 2.0;
    y * p
}

fn main() {}
