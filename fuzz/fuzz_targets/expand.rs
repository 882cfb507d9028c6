//! Fuzzes `#[differentiate]`'s whole expansion (`chainrule_compiler::expand`) with
//! (i) the fuzzer's bytes as Rust source, tokenized (its leading `#[differentiate(…)]`, if
//! any, split off as the attribute's arguments; skipped unless UTF-8 that tokenizes), and
//! (ii) the bytes as the choices that mutate a corpus of valid functions, build random
//! token streams or random attribute arguments (`fuzzing::fuzz_inputs`). Each input must
//! not panic, and when the item parses as an item its expansion must parse as a file.
#![no_main]

use chainrule_fuzz::{expand, fuzzing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Checking the expansion of a deeply nested input recurses in syn, as the expansion
    // does: run on a stack as large as `expand`'s own.
    stacker::grow(256 << 20, || {
        for (attr, item) in fuzzing::fuzz_inputs(data) {
            if let Err(error) = fuzzing::check(expand, &attr, &item) {
                panic!("{error}\nattribute: {attr}\nitem: {item}");
            }
        }
    });
});
