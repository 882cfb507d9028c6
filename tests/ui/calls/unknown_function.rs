use chainrule::differentiate;

fn square(t: f64) -> f64 {
    t * t
}

#[differentiate]
fn cube(t: f64) -> f64 {
    t * t * t
}

#[differentiate]
fn f(x: f64, w: [f64; 2]) -> f64 {
    // Every call of the helper is reported, and the differentiated callee is not.
    let a = square(x) + cube(x);
    let b = square(w[0] * a);
    // A call whose gradient is not needed runs the helper itself.
    let c = square(2.0);
    a + b * c
}

#[differentiate]
fn typo(x: f64) -> f64 {
    squar(x)
}

fn main() {}
