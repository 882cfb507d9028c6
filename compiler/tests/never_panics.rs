//! The macro never panics (issue 4, part 2): a property test over thousands of inputs per
//! run, most of them invalid, each through [`chainrule_compiler::expand`].
//!
//! Three families of inputs (see [`fuzzing`], shared with the fuzz target in `fuzz/`):
//!
//! - (a) mutations of valid annotated functions: a corpus covering the language, tokenized,
//!   then 1 to 8 token-level edits (delete, duplicate, swap or move a token or a group,
//!   replace an identifier, literal or punctuation by another from a pool, insert one,
//!   unwrap a group, nest tokens in a group, change a delimiter, truncate, splice in a
//!   piece of another function), more than half of them edits that mostly keep the syntax
//!   valid, so that the input gets past syn into the macro (a name for a name, a literal for
//!   a literal, an operator for one of its kind, a statement deleted, duplicated, swapped
//!   or taken from another function);
//! - (b) arbitrary token streams: random tokens and groups, bare or inside a function's
//!   skeleton, and bodies assembled from the corpus's statements;
//! - (c) random attribute arguments (`wrt(..)`, `backward = ..` mutated, or random tokens)
//!   on corpus functions.
//!
//! Each input goes through `expand` inside `catch_unwind`: it must not panic, and when the
//! item parses as an item, the expansion (the item, then the generated code or
//! `compile_error!`s) must parse as a file. A failure prints its seed, its input and a
//! reduced input. Seeds are fixed, so a run reproduces:
//! `NEVER_PANICS_SEED=n cargo test -p chainrule-compiler never_panics -- --nocapture` runs
//! the one input of seed `n` and prints it; `NEVER_PANICS_CASES=n` changes how many inputs
//! a run checks (default [`DEFAULT_CASES`]), `NEVER_PANICS_FROM=n` the first seed (0).

use std::cell::{Cell, RefCell};
use std::panic;
use std::sync::Once;
use std::time::{Duration, Instant};

use proc_macro2::TokenStream;

use chainrule_testgen::fuzzing::{self, Node, Rng};

/// Inputs per run: 5 to 10 s in a debug build (on 2 busy cores).
const DEFAULT_CASES: u64 = 6_000;

/// The input of one seed: its family, the attribute's arguments and the item.
fn case(seed: u64) -> (&'static str, TokenStream, TokenStream) {
    let mut rng = Rng::new(seed);
    let family = seed % 20;
    let (name, (attr, item)) = match family {
        0..=11 => ("mutated function", fuzzing::mutated_corpus_function(&mut rng)),
        12..=16 => ("random tokens", fuzzing::random_item(&mut rng)),
        _ => (
            "random attribute",
            fuzzing::function_with_random_attribute(&mut rng),
        ),
    };
    (name, attr, item)
}

/// The expansion, with the derives of the structs the input declares (and
/// [`fuzzing::STRUCTS`]) answering as their generated macros would: each
/// `S! { @chainrule_differentiate … }` resumed with `S`'s definition, so that struct
/// parameters are taken apart too.
fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let expanded = chainrule_compiler::expand(attr, item.clone());
    let mut structs: Vec<syn::Item> = fuzzing::STRUCTS
        .iter()
        .filter_map(|s| syn::parse_str(s).ok())
        .collect();
    if let Ok(item) = syn::parse2::<syn::Item>(item) {
        declared_structs(&item, &mut structs);
    }
    resumed(expanded, &structs, 0)
}

fn declared_structs(item: &syn::Item, into: &mut Vec<syn::Item>) {
    match item {
        syn::Item::Struct(_) | syn::Item::Type(_) => into.push(item.clone()),
        syn::Item::Mod(module) => {
            for inner in module.content.iter().flat_map(|(_, items)| items) {
                declared_structs(inner, into);
            }
        }
        _ => {}
    }
}

/// `tokens` with each derive's macro call answered (at most a few rounds deep).
fn resumed(tokens: TokenStream, structs: &[syn::Item], depth: usize) -> TokenStream {
    use quote::ToTokens;
    if depth > 4 || !tokens.to_string().contains("chainrule_differentiate") {
        return tokens;
    }
    let Ok(file) = syn::parse2::<syn::File>(tokens.clone()) else {
        return tokens;
    };
    let mut out = TokenStream::new();
    for item in file.items {
        match item {
            syn::Item::Macro(mac)
                if mac
                    .mac
                    .tokens
                    .to_string()
                    .starts_with("@ chainrule_differentiate") =>
            {
                let name = mac.mac.path.segments.last().map(|s| s.ident.clone());
                let named = |d: &&syn::Item| match d {
                    syn::Item::Struct(def) => Some(&def.ident) == name.as_ref(),
                    syn::Item::Type(def) => Some(&def.ident) == name.as_ref(),
                    _ => false,
                };
                match structs.iter().find(named) {
                    Some(def) => {
                        let rest = &mac.mac.tokens;
                        let answer = chainrule_compiler::resume(quote::quote!((#def) #rest));
                        out.extend(resumed(answer, structs, depth + 1));
                    }
                    None => mac.to_tokens(&mut out),
                }
            }
            syn::Item::Mod(mut module) => {
                if let Some((brace, items)) = module.content.take() {
                    let inner: TokenStream = items.iter().map(|i| i.to_token_stream()).collect();
                    let inner = resumed(inner, structs, depth);
                    match syn::parse2::<syn::File>(inner) {
                        Ok(file) => module.content = Some((brace, file.items)),
                        Err(_) => module.content = Some((brace, items)),
                    }
                }
                module.to_tokens(&mut out);
            }
            other => other.to_tokens(&mut out),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Catching panics quietly, with their location

thread_local! {
    /// Set while this thread runs inputs: its panics are expected and reported by the test.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Where the last quiet panic happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A panic hook that records the location of this module's expected panics instead of
/// printing them, and leaves every other panic (other tests', other threads') to the
/// hook that was there before.
fn install_quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let location = info.location().map(ToString::to_string);
                LOCATION.with(|cell| *cell.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// [`fuzzing::check`] with the panic's location added to its message.
fn check(attr: &TokenStream, item: &TokenStream) -> Result<bool, String> {
    install_quiet_hook();
    QUIET.with(|quiet| quiet.set(true));
    LOCATION.with(|cell| cell.borrow_mut().take());
    let result = fuzzing::check(expand, attr, item);
    QUIET.with(|quiet| quiet.set(false));
    result.map_err(|error| match LOCATION.with(|cell| cell.borrow_mut().take()) {
        Some(location) => format!("{error} (at {location})"),
        None => error,
    })
}

/// What makes two failures the same bug while reducing: the kind, and the location of the
/// panic (or the message without its numbers, which name the input's sizes).
fn failure_key(error: &str) -> String {
    let kind = if error.starts_with("panicked") {
        "panic"
    } else {
        "unparsable expansion"
    };
    match error.rsplit_once(" (at ") {
        Some((_, location)) => format!("{kind} at {location}"),
        None => {
            let message: String = first_line(error)
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .collect();
            format!("{kind}: {message}")
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reduction

/// Shrinks a failing input while it fails the same way: deletes tokens and groups, unwraps
/// and empties groups, in the item and in the attribute, until no single edit keeps the
/// failure (or a budget of checks runs out).
fn reduce(attr: &TokenStream, item: &TokenStream, key: &str) -> (TokenStream, TokenStream) {
    let mut attr = fuzzing::tree(attr.clone());
    let mut item = fuzzing::tree(item.clone());
    let mut budget = 4_000;
    let still_fails = |attr: &[Node], item: &[Node]| {
        check(&fuzzing::stream(attr), &fuzzing::stream(item))
            .err()
            .is_some_and(|error| failure_key(&error) == key)
    };
    'progress: loop {
        for in_item in [true, false] {
            let nodes = if in_item { &item } else { &attr };
            for path in fuzzing::node_paths(nodes) {
                for edit in 0..3 {
                    if budget == 0 {
                        break 'progress;
                    }
                    let mut candidate = nodes.clone();
                    if !apply_reduction(&mut candidate, &path, edit) {
                        continue;
                    }
                    budget -= 1;
                    let fails = if in_item {
                        still_fails(&attr, &candidate)
                    } else {
                        still_fails(&candidate, &item)
                    };
                    if fails {
                        if in_item {
                            item = candidate;
                        } else {
                            attr = candidate;
                        }
                        continue 'progress;
                    }
                }
            }
        }
        break;
    }
    (fuzzing::stream(&attr), fuzzing::stream(&item))
}

/// Edit 0 deletes the node at `path`, 1 unwraps it (a group), 2 empties it (a group).
/// False when the edit does not apply.
fn apply_reduction(nodes: &mut Vec<Node>, path: &[usize], edit: usize) -> bool {
    let Some((&index, owner)) = path.split_last() else {
        return false;
    };
    let Some(list) = fuzzing::list_mut(nodes, owner) else {
        return false;
    };
    match (edit, list.get_mut(index)) {
        (0, Some(_)) => {
            list.remove(index);
            true
        }
        (1, Some(Node::Group(..))) => {
            fuzzing::unwrap_at(nodes, path);
            true
        }
        (2, Some(Node::Group(_, children))) if !children.is_empty() => {
            children.clear();
            true
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// The tests

struct Failure {
    seed: u64,
    family: &'static str,
    error: String,
    attr: TokenStream,
    item: TokenStream,
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number: {value}")),
    )
}

#[test]
fn never_panics_on_mutated_and_random_input() {
    // Mutations can nest deeply: give the checks (syn's parse of the expansion, outside
    // `expand`'s own stack) room.
    stacker::grow(256 << 20, || {
        if let Some(seed) = env_number("NEVER_PANICS_SEED") {
            let (family, attr, item) = case(seed);
            eprintln!("seed {seed} ({family})\nattribute: {attr}\nitem: {item}");
            eprintln!("expansion: {}", expand(attr.clone(), item.clone()));
            if let Err(error) = check(&attr, &item) {
                panic!("seed {seed}: {error}");
            }
            return;
        }
        let cases = env_number("NEVER_PANICS_CASES").unwrap_or(DEFAULT_CASES);
        let first = env_number("NEVER_PANICS_FROM").unwrap_or(0);
        let started = Instant::now();
        let mut failures = Vec::new();
        // Per family: inputs, items among them, time.
        let mut families: Vec<(&str, usize, usize, Duration)> = Vec::new();
        let mut slowest = (Duration::ZERO, 0);
        for seed in first..first + cases {
            let one = Instant::now();
            let (family, attr, item) = case(seed);
            let result = check(&attr, &item);
            let elapsed = one.elapsed();
            let index = match families.iter().position(|entry| entry.0 == family) {
                Some(index) => index,
                None => {
                    families.push((family, 0, 0, Duration::ZERO));
                    families.len() - 1
                }
            };
            let entry = &mut families[index];
            entry.1 += 1;
            entry.2 += usize::from(result == Ok(true));
            entry.3 += elapsed;
            slowest = slowest.max((elapsed, seed));
            if let Err(error) = result {
                failures.push(Failure {
                    seed,
                    family,
                    error,
                    attr,
                    item,
                });
            }
        }
        eprintln!(
            "{cases} inputs in {:.1?}, the slowest {:.1?} (seed {}); {} failed",
            started.elapsed(),
            slowest.0,
            slowest.1,
            failures.len()
        );
        for (family, count, items, time) in &families {
            eprintln!(
                "  {family}: {count} inputs in {time:.1?}, {items} of them items (the rest echoed back)"
            );
        }
        if failures.is_empty() {
            return;
        }
        // Report every failure by seed, then reduce one of each kind.
        let mut report = String::new();
        for failure in &failures {
            report += &format!(
                "seed {} ({}): {}\n",
                failure.seed,
                failure.family,
                first_line(&failure.error)
            );
        }
        let mut kinds: Vec<String> = Vec::new();
        for failure in &failures {
            let key = failure_key(&failure.error);
            if kinds.contains(&key) || kinds.len() >= 5 {
                continue;
            }
            kinds.push(key.clone());
            let (attr, item) = reduce(&failure.attr, &failure.item, &key);
            report += &format!(
                "\nseed {} ({}): {}\n  attribute: {}\n  item: {}\n  reduced attribute: {attr}\n  reduced item: {item}\n",
                failure.seed, failure.family, failure.error, failure.attr, failure.item
            );
        }
        panic!(
            "{} of {cases} inputs failed (rerun one with NEVER_PANICS_SEED=n):\n{report}",
            failures.len()
        );
    });
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The corpus is valid: each function expands without a `compile_error!`, so that the
/// mutations start from the whole language, not from its error paths.
#[test]
fn never_panics_corpus_is_valid() {
    for index in 0..fuzzing::CORPUS.len() {
        let (attr, item) = fuzzing::corpus_entry(index);
        let expansion = expand(attr, item.clone()).to_string();
        assert!(
            !expansion.contains("compile_error"),
            "corpus function {index} is rejected: {expansion}"
        );
        // Every derive asked is answered: struct parameters are taken apart.
        assert!(
            !expansion.contains("@ chainrule_differentiate [")
                && (expansion.contains("fn grad") || expansion.contains("fn jacobian")),
            "corpus function {index} is not expanded whole: {expansion}"
        );
        let tokens = fuzzing::count_nodes(&fuzzing::tree(item));
        assert!(tokens > 10, "corpus function {index} is too small");
    }
}

/// What the fuzz target runs, on random bytes and on the seed corpus: its input splitting
/// and byte-driven choices work, and do not fail (a smoke test of `fuzz/`).
#[test]
fn never_panics_on_fuzz_target_inputs() {
    stacker::grow(256 << 20, || {
        let mut rng = Rng::new(0xF022);
        let mut inputs = 0;
        let seeds = fuzzing::CORPUS.iter().map(|source| source.as_bytes().to_vec());
        let random = (0..300).map(|_| {
            let length = rng.below(200);
            (0..length).map(|_| rng.below(256) as u8).collect::<Vec<u8>>()
        });
        let all: Vec<Vec<u8>> = seeds.chain(random.collect::<Vec<_>>()).collect();
        for data in &all {
            for (attr, item) in fuzzing::fuzz_inputs(data) {
                inputs += 1;
                if let Err(error) = check(&attr, &item) {
                    panic!("fuzz input {data:?}: {error}\nattribute: {attr}\nitem: {item}");
                }
            }
        }
        // Each seed is source (one input) and choices (another).
        assert!(inputs >= 2 * fuzzing::CORPUS.len() + 300, "{inputs}");
        // A seed, as source, is its corpus function with its attribute split off.
        let (attr, item) = fuzzing::fuzz_inputs(fuzzing::CORPUS[8].as_bytes()).remove(0);
        assert_eq!(
            (attr.to_string(), item.to_string()),
            (
                fuzzing::corpus_entry(8).0.to_string(),
                fuzzing::corpus_entry(8).1.to_string()
            )
        );
    });
}

/// The fuzz target's seed corpus (`fuzz/seeds/expand/`) is this corpus, one file per
/// function. `NEVER_PANICS_WRITE_SEEDS=1` writes it.
#[test]
fn never_panics_fuzz_seeds_match_the_corpus() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/expand");
    let write = std::env::var_os("NEVER_PANICS_WRITE_SEEDS").is_some();
    if write {
        std::fs::create_dir_all(&directory).expect("create the seed directory");
    }
    for (index, source) in fuzzing::CORPUS.iter().enumerate() {
        let path = directory.join(format!("corpus-{index:02}.rs"));
        if write {
            std::fs::write(&path, source).expect("write a seed");
        }
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            written,
            *source,
            "{} is not corpus function {index}: run NEVER_PANICS_WRITE_SEEDS=1 cargo test -p chainrule-compiler never_panics_fuzz_seeds",
            path.display()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Bugs found (reduced; un-ignore when fixed, and remove their entry from
// `fuzzing::known_bug`)

/// `#[differentiate(backward = crate)]`: `parse` accepts the path `crate` as the rule's
/// name, and `emit` writes the call `crate(a, upstream)`, which does not parse (rustc
/// reports a syntax error in the macro's output instead of chainrule's error at `crate`).
/// Found by seeds 55938 and 380317 (`NEVER_PANICS_CASES=400000`).
#[test]

fn backward_rule_named_crate() {
    let expansion = expand(
        quote::quote!(backward = crate),
        quote::quote!(
            fn f() -> f64 {}
        ),
    );
    if let Err(error) = syn::parse2::<syn::File>(expansion.clone()) {
        panic!("the expansion does not parse: {error}\n{expansion}");
    }
}
