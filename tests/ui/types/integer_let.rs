use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let t: i32 = 3;
    x * x
}

fn main() {}
