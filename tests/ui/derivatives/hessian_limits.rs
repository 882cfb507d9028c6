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

fn main() {}
