use chainrule::differentiate;

#[differentiate]
fn f(xs: &[f64]) -> f64 {
    let mut v = Vec::with_capacity(xs.len());
    for i in 0..xs.len() {
        v.push(xs[i] * 2.0);
    }
    v[0]
}

fn main() {}
