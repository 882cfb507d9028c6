// `#[differentiate(trace)]` draws floats and fixed-size arrays; over ndarray arrays it is
// refused at the signature (`f::graph()` is there all the same).
use chainrule::differentiate;
use chainrule::ndarray::Array1;

#[differentiate(trace)]
fn loss(w: &Array1<f64>, x: &Array1<f64>) -> f64 {
    w.dot(x).tanh()
}

fn main() {}
