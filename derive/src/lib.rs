//! The `#[differentiate]` macro of [chainrule](https://docs.rs/chainrule): a thin shim over
//! the compiler, [`chainrule_compiler`], an ordinary library crate (so that its tests, the
//! fuzz target and the benchmarks call it directly). Use it through the `chainrule` crate.

/// Generates the gradient of a function over `f64` (or `f32`), beside it.
///
/// For `fn f(x: f64, y: f64) -> f64`, `f` stays as written and a module `f` appears
/// with `f::forward(x, y) -> (f64, f::Cache)`, `f::backward(&cache, upstream) -> f::Grad`,
/// `f::grad(x, y) -> (f64, f::Grad)` and `f::Grad { x, y }`. See the `chainrule` crate's
/// documentation for the supported language.
#[proc_macro_attribute]
pub fn differentiate(
    attr: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    chainrule_compiler::expand(attr.into(), item.into()).into()
}

/// Makes a struct usable as a parameter of a `#[differentiate]` function, its gradient a
/// value of the same struct, with the arithmetic of an optimizer step (`p - lr * g`). See
/// `chainrule::Differentiable`.
#[proc_macro_derive(Differentiable, attributes(chainrule))]
pub fn derive_differentiable(item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    chainrule_compiler::derive(item.into()).into()
}

/// Internal: `#[differentiate]`'s expansion, resumed with a struct's definition by the
/// macro its derive generated. Not a public API.
#[doc(hidden)]
#[proc_macro]
pub fn __chainrule_resume(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    chainrule_compiler::resume(input.into()).into()
}
