use chainrule::differentiate;
use chainrule::ndarray::Array2;

#[differentiate]
fn f(z: &Array2<f64>) -> f64 {
    z.mapv(|v| if v > 0.0 { v } else { 0.0 }).sum()
}

fn main() {}
