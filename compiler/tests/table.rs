//! The README's table of supported operations is the operation table's: every row is
//! there, and nothing else is.

use chainrule_compiler::ops::{Prim, Syntax};

/// The README's "Supported operations" section.
fn section() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md");
    let start = readme.find("## Supported operations").expect("the section");
    let rest = &readme[start + 2..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
}

/// How the README writes a row's operation.
fn written(prim: Prim) -> String {
    let rule = prim.rule();
    match rule.syntax {
        Syntax::Prefix(symbol) => format!("`{symbol}a`"),
        Syntax::Infix(symbol, _) => format!("`a {symbol} b`"),
        Syntax::Method => format!(".{}(", rule.name),
        Syntax::Function => format!("`{}(", rule.name),
    }
}

#[test]
fn readme_lists_every_operation() {
    let section = section();
    let missing: Vec<String> = Prim::ALL
        .iter()
        .map(|&prim| written(prim))
        .filter(|form| !section.contains(form.as_str()))
        .collect();
    assert!(missing.is_empty(), "README's table lacks {missing:?}");
}

#[test]
fn readme_lists_no_other_method() {
    let section = section();
    let table: String = section.lines().filter(|line| line.starts_with('|')).collect();
    let methods: Vec<Prim> = Prim::ALL.to_vec();
    for piece in table.split('.').skip(1) {
        let name: String = piece
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() || !piece[name.len()..].starts_with('(') || name.starts_with(char::is_numeric) {
            continue;
        }
        assert!(
            methods
                .iter()
                .any(|p| p.rule().name == name && p.rule().syntax == Syntax::Method),
            "README's table names the method `{name}`, which is not a row of the operation table"
        );
    }
}
