//! The fuzz target's library: the compiler's expansion ([`chainrule_compiler::expand`])
//! and the inputs and check it shares with the compiler's never-panics property test
//! ([`chainrule_testgen::fuzzing`]), both ordinary dependencies.

pub use chainrule_compiler::expand;
pub use chainrule_testgen::fuzzing;
