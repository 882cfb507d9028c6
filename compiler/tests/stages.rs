//! The compiler's modules import only from their own stage and earlier ones, in the order
//! of `chainrule_compiler::STAGES` (the pipeline: the operation table, the IR, analyses,
//! the front end, the transformations, the back ends, the expansion). Run by `.ci/run`
//! through `cargo test`: a `use crate::…` of a later stage fails it.

use std::path::{Path, PathBuf};

use chainrule_compiler::STAGES;

/// The stage of a module path (`back::code::tensor` → `back::code`): the longest entry of
/// [`STAGES`] it starts with.
fn stage_of(path: &str) -> Option<usize> {
    STAGES
        .iter()
        .enumerate()
        .filter(|(_, stage)| path == **stage || path.starts_with(&format!("{stage}::")))
        .max_by_key(|(_, stage)| stage.len())
        .map(|(index, _)| index)
}

/// The module path of a source file below `src/` (`back/code/mod.rs` → `back::code`).
fn module_of(file: &Path) -> String {
    let parts: Vec<String> = file
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|part| part != "mod")
        .collect();
    parts.join("::")
}

/// The paths `crate::…` in a file's code (comments left out), with their line numbers.
fn crate_paths(source: &str) -> Vec<(usize, String)> {
    let mut paths = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let path: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let path = path.trim_end_matches(':').to_string();
            if !path.is_empty() {
                paths.push((number + 1, path));
            }
            rest = after;
        }
    }
    paths
}

/// Where a file imports from a later stage than its own (or from no stage).
fn violations(module: &str, source: &str) -> Vec<String> {
    let Some(own) = stage_of(module) else {
        // A group of stages (`back`, whose back ends are stages of their own) only declares
        // its modules.
        let group = STAGES
            .iter()
            .any(|stage| stage.starts_with(&format!("{module}::")));
        return match crate_paths(source).first() {
            None if group => Vec::new(),
            _ => vec![format!(
                "{module}: not in STAGES, or a group of stages that imports"
            )],
        };
    };
    crate_paths(source)
        .into_iter()
        .filter_map(|(line, path)| match stage_of(&path) {
            Some(target) if target <= own => None,
            Some(target) => Some(format!(
                "{module}, line {line}: `crate::{path}` is stage {target} ({}), after this module's stage {own} ({})",
                STAGES[target], STAGES[own]
            )),
            None => Some(format!("{module}, line {line}: `crate::{path}` is in no stage")),
        })
        .collect()
}

fn sources(directory: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).expect("src/ is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_import_only_earlier_stages() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("below src/");
        if relative == Path::new("lib.rs") {
            continue; // the crate root declares the stages
        }
        let source = std::fs::read_to_string(file).expect("a source file");
        problems.extend(violations(&module_of(relative), &source));
        checked += 1;
    }
    assert!(
        checked >= 15,
        "only {checked} files found below {}",
        src.display()
    );
    assert!(
        problems.is_empty(),
        "imports against the pipeline order:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_sees_a_later_stage() {
    // The IR reading the front end, the operation table reading the IR: both refused.
    assert_eq!(violations("ir", "use crate::front::tidy;\n").len(), 1);
    assert_eq!(
        violations("ops::tensor", "fn f(g: &mut crate::ir::Graph) {}\n").len(),
        1
    );
    // A back end reading the IR, and a sub-stage reading the one before it: allowed.
    assert!(violations(
        "back::trace",
        "use crate::back::code::emit;\nuse crate::ir::Graph;\n"
    )
    .is_empty());
    // Comments are not imports.
    assert!(violations("ir", "// see crate::back::dot\n").is_empty());
    assert_eq!(module_of(Path::new("back/code/mod.rs")), "back::code");
    assert_eq!(stage_of("back::code::tensor"), stage_of("back::code"));
}
