use chainrule::differentiate;

#[differentiate]
fn f(x: f64, y: f64) -> f64 {
    // A tuple taken apart is supported (`let (a, b) = (x, y);`); one kept whole is not.
    let pair = (x, y);
    pair.0 * pair.1
}

fn main() {}
