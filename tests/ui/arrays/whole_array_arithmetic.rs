use chainrule::differentiate;

#[differentiate]
fn f(a: [f64; 3], b: [f64; 3]) -> f64 {
    let c = a + b;
    c[0]
}

fn main() {}
