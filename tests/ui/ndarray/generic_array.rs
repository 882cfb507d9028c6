use chainrule::ndarray::Array1;
use chainrule::{differentiate, Real};

#[differentiate]
fn f<T: Real>(z: &Array1<T>) -> T {
    z.sum()
}

fn main() {}
