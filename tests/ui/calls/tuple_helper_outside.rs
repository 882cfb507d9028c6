use chainrule::differentiate;

fn split(x: f64) -> (f64, f64) {
    (x.sin(), x.cos())
}

// A tuple-returning helper outside the caller's module cannot be seen.
#[differentiate]
fn f(x: f64) -> f64 {
    let (s, c) = split(x);
    s * c
}

fn main() {}
