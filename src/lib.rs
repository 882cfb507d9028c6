//! # chainrule: compile-time reverse-mode automatic differentiation
//!
//! Put [`macro@differentiate`] on an ordinary Rust function over floats, and a module of
//! the same name appears beside it with the function's gradient, written out as plain
//! Rust by the macro: no tape, no dual numbers, no run-time graph.
//!
//! ```
//! use chainrule::differentiate;
//!
//! #[differentiate]
//! fn f(x: f64, y: f64, z: f64) -> f64 {
//!     let q = x + y;
//!     q * z
//! }
//!
//! let (value, grad) = f::grad(-2.0, 5.0, -4.0);
//! assert_eq!(value, -12.0);
//! assert_eq!((grad.x, grad.y, grad.z), (-4.0, -4.0, 3.0));
//!
//! // The same in two passes: the forward pass keeps what the backward pass needs.
//! let (value, cache) = f::forward(-2.0, 5.0, -4.0);
//! let grad = f::backward(&cache, 1.0);
//! assert_eq!(grad, f::Grad { x: -4.0, y: -4.0, z: 3.0 });
//! # let _ = value;
//! ```
//!
//! The [`guide`] is the reference: the generated API, the supported language, the
//! derivative of every operation, the conventions at kinks, the errors and the limits.

pub use chainrule_core::*;
#[doc(hidden)]
pub use chainrule_derive::__chainrule_resume;
pub use chainrule_derive::{differentiate, Differentiable};

/// The reference, chapter by chapter (clap's `_derive::_tutorial` is the model): every
/// example compiles and runs as a doctest, so that the guide stays true. (The examples keep
/// their `fn main`: a generated module sees the items beside its function, which a
/// doctest's implicit `main` would hide.)
#[allow(clippy::needless_doctest_main)]
pub mod guide {
    #[doc = include_str!("../guide/api.md")]
    pub mod api {}
    #[doc = include_str!("../guide/language.md")]
    pub mod language {}
    #[doc = include_str!("../guide/arrays.md")]
    pub mod arrays {}
    #[doc = include_str!("../guide/operations.md")]
    pub mod operations {}
    #[doc = include_str!("../guide/derivatives.md")]
    pub mod derivatives {}
    #[doc = include_str!("../guide/differentiation.md")]
    pub mod differentiation {}
    #[doc = include_str!("../guide/errors.md")]
    pub mod errors {}
    #[doc = include_str!("../guide/internals.md")]
    pub mod internals {}
}

/// The README's examples, compiled and run as doctests so that they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
