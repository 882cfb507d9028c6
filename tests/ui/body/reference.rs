use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let r = &x;
    x * x
}

fn main() {}
