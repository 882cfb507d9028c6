use chainrule::differentiate;

// A Hessian is for a float-valued function.
#[differentiate(hessian)]
fn hessian_of_a_vector(x: f64) -> [f64; 2] {
    [x * x, x.sin()]
}

// A custom backward rule is for a float-valued function.
#[differentiate(backward = pair_backward)]
fn custom_pair(x: f64) -> [f64; 2] {
    [x, x]
}

// The trace shows a gradient.
#[differentiate(trace)]
fn traced(x: f64) -> Vec<f64> {
    vec![x; 3]
}

// A tuple of floats only.
#[differentiate]
fn mixed(x: f64) -> (f64, usize) {
    (x, 1)
}

// The body's value must be the declared vector.
#[differentiate]
fn not_a_vector(x: f64) -> [f64; 2] {
    x * 2.0
}

fn main() {}
