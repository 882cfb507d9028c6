use chainrule::differentiate;

#[derive(Clone, Debug, PartialEq)]
struct Params {
    w: [f64; 2],
    b: f64,
}

// Without the derive, `#[differentiate]` cannot learn the fields.
#[differentiate]
fn loss(p: &Params, x: f64) -> f64 {
    p.w[0] * x + p.b
}

fn main() {}
