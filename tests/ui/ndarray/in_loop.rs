use chainrule::differentiate;
use chainrule::ndarray::Array1;

#[differentiate]
fn f(w: &Array1<f64>, n: usize) -> f64 {
    let mut total = 0.0;
    for _ in 0..n {
        total += (w * 2.0).sum();
    }
    total
}

fn main() {}
