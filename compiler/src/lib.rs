//! The compiler behind [chainrule](https://docs.rs/chainrule)'s `#[differentiate]`: from
//! an ordinary Rust function to its gradient, as ordinary Rust. The macro crate
//! (`chainrule-derive`) is a thin shim over [`expand()`].
//!
//! The stages, in pipeline order; each module imports only from those above it (a test,
//! `tests/stages.rs`, checks that against [`STAGES`]):
//!
//! 1. [`ops`]: the operation table, one row per operation: how it is written, evaluated,
//!    where it has kinks, and its derivative as an expression over its inputs and output;
//! 2. [`ir`]: the computational graph (types, nodes, regions, the function) and its
//!    builder, which applies peephole rules to every node as it is built;
//! 3. [`analysis`]: activity (which values carry gradients) and liveness;
//! 4. [`front`]: the front end, syn → IR (attribute, signature, statements, expressions,
//!    control flow, calls, arrays), with every error at its tokens;
//! 5. [`reverse`]: the reverse-mode transformation, adjoints through the table's rows;
//!    [`forward`]: forward mode, tangents through the same rows;
//! 6. [`back`]: the back ends over the IR: math (formulas), code (`forward`, `backward`,
//!    `grad`), DOT (`graph()`), trace (`trace(…)`), docs, and argmin (`f::Problem`);
//! 7. [`expand`](mod@expand): all of them on proc-macro2 tokens;
//! 8. [`derive`](mod@derive): `#[derive(Differentiable)]`, which tells `expand` a struct's fields.

pub mod ops;

pub mod ir;

pub mod analysis;

pub mod front;

pub mod reverse;

pub mod forward;

pub mod back;

pub mod expand;

pub mod derive;

pub use derive::derive;
pub use expand::{expand, resume};

/// The stages in pipeline order (module paths below the crate, sub-stages of [`back`]
/// in their order): a module may import from its own stage and from earlier ones only.
pub const STAGES: &[&str] = &[
    "ops",
    "ir",
    "analysis",
    "front",
    "reverse",
    "forward",
    "back::math",
    "back::code",
    "back::dot",
    "back::trace",
    "back::docs",
    "back::argmin",
    "expand",
    "derive",
];
