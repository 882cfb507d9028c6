//! Differentiated functions declared inside a function body (as in the crate's doc
//! example, which doctests wrap in `fn main`): a `trybuild` pass case, a program that
//! must compile and run. (A constant declared in that same body is out of reach of the
//! generated module, a documented limit: `tests/ui/limits/local_constant.rs`.)

#[test]
fn function_declared_in_a_function_body() {
    // Regression: the generated `const _` that marks `f` as used once named `super::f`,
    // which a block does not have.
    trybuild::TestCases::new().pass("tests/local_items/local_function.rs");
}
