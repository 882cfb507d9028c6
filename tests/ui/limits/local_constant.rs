//! Limit: a constant declared in the same function body is out of the generated module's reach
//! (its `use super::*` reaches the enclosing module, not the block); rustc reports it.

use chainrule::differentiate;

fn main() {
    const K: f64 = 2.0;

    #[differentiate]
    fn g(x: f64) -> f64 {
        K * x * x
    }

    let (value, grad) = g::grad(3.0);
    assert_eq!(value, g(3.0));
    assert_eq!(grad, g::Grad { x: 12.0 });
}
