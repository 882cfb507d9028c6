//! The back ends, each over the IR, in the order they build on each other: [`math`]
//! (operations and partials as formulas), [`code`] (the module `f`: `forward`,
//! `backward`, `grad`), [`dot`] (`f::graph()`), [`trace`] (`f::trace(…)`, the picture with
//! numbers) and [`docs`] (the module's documentation, and the assembly of the others), and [`argmin`]
//! (`f::Problem`, with the feature of that name).

pub mod math;

pub mod code;

pub mod dot;

pub mod trace;

pub mod docs;

pub mod argmin;
