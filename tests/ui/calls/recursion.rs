use chainrule::differentiate;

#[differentiate]
fn fact(x: f64, n: usize) -> f64 {
    if n == 0 { 1.0 } else { x * fact(x, n - 1) }
}

fn main() {}
