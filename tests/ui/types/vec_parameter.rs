use chainrule::differentiate;

#[differentiate]
fn f(x: f64, v: Vec<f64>) -> f64 {
    x * x
}

fn main() {}
