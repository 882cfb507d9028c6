use chainrule::differentiate;

#[differentiate]
fn square(x: f64) -> f64 {
    x * x
}

// A callee without `hessian`: the call says what to add.
#[differentiate(hessian)]
fn calls(x: f64) -> f64 {
    square(x) + x
}

#[differentiate(hessian)]
fn cube(x: f64) -> f64 {
    x * x * x
}

// A call inside a loop: not yet.
#[differentiate(hessian)]
fn in_a_loop(x: f64, n: usize) -> f64 {
    let mut s = 0.0;
    for _ in 0..n {
        s += cube(x);
    }
    s
}

fn main() {}
