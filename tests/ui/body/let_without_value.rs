use chainrule::differentiate;

#[differentiate]
fn f(x: f64, n: usize) -> f64 {
    let y;
    match n {
        0 => y = x,
        _ => y = 2.0 * x,
    }
    y
}

fn main() {}
