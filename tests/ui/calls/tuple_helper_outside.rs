use chainrule::differentiate;

fn split(x: f64) -> (f64, f64) {
    (x.sin(), x.cos())
}

// A tuple-returning function neither differentiated nor a helper in the caller's module.
#[differentiate]
fn f(x: f64) -> f64 {
    let (s, c) = split(x);
    s * c
}

fn main() {}
