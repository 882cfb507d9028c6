use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    match x {
        _ => x * x,
    }
}

fn main() {}
