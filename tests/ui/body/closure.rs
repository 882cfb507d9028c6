use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let square = |t: f64| t * t;
    x * x
}

fn main() {}
