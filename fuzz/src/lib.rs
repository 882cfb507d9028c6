//! The expansion of `#[differentiate]` outside the proc-macro crate, for the fuzz target:
//! the derive crate's modules are included by path (a proc-macro crate exports only its
//! macros), at the crate root since they refer to each other as `crate::ir` and so on, with
//! the same dependencies as the derive crate. `fuzzing` is the corpus, the mutations and the
//! check shared with the derive crate's property test (`derive/src/never_panics.rs`).

// What the derive crate uses only in its own tests is unused here.
#![allow(dead_code)]

#[path = "../../derive/src/diag.rs"]
mod diag;
#[path = "../../derive/src/dot.rs"]
mod dot;
#[path = "../../derive/src/emit.rs"]
mod emit;
#[path = "../../derive/src/expand.rs"]
pub mod expand;
#[path = "../../derive/src/explain.rs"]
mod explain;
#[path = "../../derive/src/ir.rs"]
mod ir;
#[path = "../../derive/src/math.rs"]
mod math;
#[path = "../../derive/src/parse.rs"]
mod parse;
#[path = "../../derive/src/reverse.rs"]
mod reverse;
#[path = "../../derive/src/rules.rs"]
mod rules;
#[path = "../../derive/src/simplify.rs"]
mod simplify;
#[path = "../../derive/src/trace.rs"]
mod trace;

#[path = "../../derive/src/never_panics/fuzzing.rs"]
pub mod fuzzing;
