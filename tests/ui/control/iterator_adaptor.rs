use chainrule::differentiate;

#[differentiate]
fn f(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in xs.iter().map(|v| v * 2.0) {
        s += v;
    }
    s
}

fn main() {}
