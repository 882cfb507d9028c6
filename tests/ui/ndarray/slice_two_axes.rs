use chainrule::differentiate;
use chainrule::ndarray::{s, Array2};

#[differentiate]
fn f(m: &Array2<f64>) -> f64 {
    m.slice(s![0..2, 1..3]).sum()
}

fn main() {}
