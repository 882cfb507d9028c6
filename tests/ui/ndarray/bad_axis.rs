use chainrule::differentiate;
use chainrule::ndarray::{Array2, Axis};

#[differentiate]
fn f(w: &Array2<f64>) -> f64 {
    w.sum_axis(Axis(2)).sum()
}

fn main() {}
