use chainrule::differentiate;

#[differentiate]
fn f(x: f64, y: f64) -> f64 {
    if let 0 = 1 { x } else { y }
}

fn main() {}
