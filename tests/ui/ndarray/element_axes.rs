use chainrule::differentiate;
use chainrule::ndarray::Array2;

// An element of a matrix is assigned with one index per axis.
#[differentiate]
fn f(w: &Array2<f64>, x: f64) -> f64 {
    let mut m = w.clone();
    m[0] = x;
    m.sum()
}

fn main() {}
