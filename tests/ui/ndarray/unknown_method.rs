use chainrule::differentiate;
use chainrule::ndarray::Array2;

#[differentiate]
fn f(w: &Array2<f64>) -> f64 {
    w.norm_l2()
}

fn main() {}
