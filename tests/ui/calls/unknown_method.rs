use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> (f64, f64) {
    x.sin_tan()
}

fn main() {}
