use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let y = x;
    y += 1.0;
    y
}

fn main() {}
