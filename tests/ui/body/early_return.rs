use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let y = x * x;
    return y;
    y + 1.0
}

fn main() {}
