use chainrule::differentiate;
use chainrule::ndarray::Array2;

fn scale(z: &Array2<f64>) -> Array2<f64> {
    z * 2.0
}

#[differentiate]
fn f(z: &Array2<f64>) -> f64 {
    let s = scale(z);
    s.sum()
}

fn main() {}
