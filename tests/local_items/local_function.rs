//! A differentiated function declared inside a function body, as in the crate's doc
//! example (doctests wrap their code in `fn main`).

use chainrule::differentiate;

fn main() {
    #[differentiate]
    fn f(x: f64, y: f64) -> f64 {
        x * y + x.exp()
    }

    let (value, grad) = f::grad(1.0, 2.0);
    assert_eq!(value, f(1.0, 2.0));
    assert_eq!(
        grad,
        f::Grad {
            x: 2.0 + 1.0_f64.exp(),
            y: 1.0
        }
    );
}
