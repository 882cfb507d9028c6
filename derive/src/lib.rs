//! The `#[differentiate]` macro of [chainrule](https://docs.rs/chainrule): a small
//! compiler from an ordinary Rust function to its gradient, as ordinary Rust.
//!
//! The pipeline, one module per stage, data flowing one way:
//! `parse` (syn → IR) → `ir` (the computational graph) → `reverse` (adjoints
//! through the `rules` table) → `simplify` (peephole rules as nodes are built,
//! liveness) → `emit` (quote); `expand` runs them on proc-macro2 tokens. Use it
//! through the `chainrule` crate.

mod diag;
mod dot;
mod emit;
mod expand;
mod explain;
#[cfg(test)]
mod interpret;
mod ir;
mod math;
#[cfg(test)]
mod never_panics;
mod parse;
#[cfg(test)]
mod random;
mod reverse;
mod rules;
mod simplify;
mod trace;

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
    expand::expand(attr.into(), item.into()).into()
}

#[cfg(test)]
use expand::expand;

#[cfg(test)]
mod explain_tests;
#[cfg(test)]
mod tests;
