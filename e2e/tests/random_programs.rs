//! Random `#[differentiate]` programs, compiled by rustc, checked against finite
//! differences (see the crate's documentation and `build.rs`).

use chainrule_e2e::check_all;

/// The programs `build.rs` wrote: random code, which lints would find much to say about
/// (the macro's own output allows them anyway), such as `k < 0` on a `usize` index.
#[allow(unused, unused_comparisons, clippy::all)]
mod programs {
    include!(concat!(env!("OUT_DIR"), "/programs.rs"));
}

#[test]
fn random_programs_through_rustc() {
    let stats = check_all(programs::CASES);
    // Most points must have been checked (in a run of many programs).
    assert!(
        stats.programs < 100 || stats.checked * 5 >= stats.points * 4,
        "too few points checked (fewer than 80%): {stats:?}"
    );
}
