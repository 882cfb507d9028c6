use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let y = x * x;
}

fn main() {}
