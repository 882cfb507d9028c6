use chainrule::differentiate;

#[differentiate]
fn f(x: &mut f64, y: f64) -> f64 {
    y * y
}

fn main() {}
