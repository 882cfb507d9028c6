use chainrule::differentiate;

#[differentiate]
fn f(x: f64, n: i32) -> f64 {
    x * x
}

fn main() {}
