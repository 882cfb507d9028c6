//! A checker of Graphviz DOT syntax, for the pictures `f::graph()` and `f::trace(…)` draw,
//! where Graphviz itself (`dot`) is not installed. It follows the grammar of
//! <https://graphviz.org/doc/info/lang.html> (statements, attribute lists, subgraphs,
//! the four kinds of ID: names, numerals, quoted strings, HTML strings), and checks a
//! little more than the grammar: HTML labels' tags are balanced, attribute names are ones
//! Graphviz knows, and every edge joins declared nodes. It returns what it read, so that
//! tests can look at the nodes and edges. (No DOT parser on crates.io is both maintained
//! and able to read HTML labels; this one is small.)
//!
//! Shared by the derive crate's unit tests and the integration tests (`#[path]`).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

/// A parsed graph: its nodes' attributes and its edges' (attribute lists merged, later
/// ones winning, as Graphviz reads them).
#[derive(Debug, Default)]
pub struct Dot {
    pub directed: bool,
    pub nodes: BTreeMap<String, BTreeMap<String, String>>,
    pub edges: Vec<(String, String, BTreeMap<String, String>)>,
    pub clusters: Vec<BTreeMap<String, String>>,
}

/// Attributes Graphviz knows (those a picture of ours may use, and common others).
const ATTRIBUTES: &[&str] = &[
    "label",
    "xlabel",
    "shape",
    "style",
    "color",
    "fillcolor",
    "fontcolor",
    "fontname",
    "fontsize",
    "rankdir",
    "nodesep",
    "ranksep",
    "arrowsize",
    "arrowhead",
    "peripheries",
    "tooltip",
    "constraint",
    "penwidth",
    "labelloc",
    "margin",
    "width",
    "height",
    "splines",
    "compound",
    "lhead",
    "ltail",
    "rank",
    "dir",
    "weight",
    "bgcolor",
    "labeljust",
    "headlabel",
    "taillabel",
    "group",
    "id",
    "class",
];

#[derive(Clone, Debug, PartialEq)]
enum Token {
    /// A name or numeral (`n0`, `digraph`, `0.35`).
    Name(String),
    /// A quoted string, unescaped.
    Quoted(String),
    /// An HTML string, without its outer `<` `>`.
    Html(String),
    Punct(&'static str),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let at_line_start = |i: usize| {
        i == 0
            || chars[..i]
                .iter()
                .rev()
                .take_while(|&&c| c != '\n')
                .all(|c| c.is_whitespace())
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if (c == '#' && at_line_start(i)) || (c == '/' && chars.get(i + 1) == Some(&'/')) {
            // A comment to the end of the line.
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let end =
                (i + 2..chars.len().saturating_sub(1)).find(|&j| chars[j] == '*' && chars[j + 1] == '/');
            i = end.ok_or("unterminated comment")? + 2;
        } else if c == '"' {
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("unterminated string".into()),
                    Some('"') => break,
                    Some('\\') if chars.get(i + 1) == Some(&'"') => {
                        value.push('"');
                        i += 2;
                    }
                    Some(&c) => {
                        if c.is_control() && c != '\n' && c != '\t' {
                            return Err(format!("control character {c:?} in a string"));
                        }
                        value.push(c);
                        i += 1;
                    }
                }
            }
            i += 1;
            tokens.push(Token::Quoted(value));
        } else if c == '<' {
            let mut depth = 1;
            let start = i + 1;
            i += 1;
            while depth > 0 {
                match chars.get(i) {
                    None => return Err("unterminated HTML string".into()),
                    Some('<') => depth += 1,
                    Some('>') => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
            let html: String = chars[start..i - 1].iter().collect();
            check_html(&html)?;
            tokens.push(Token::Html(html));
        } else if c == '-' && matches!(chars.get(i + 1), Some('>') | Some('-')) {
            tokens.push(Token::Punct(if chars[i + 1] == '>' { "->" } else { "--" }));
            i += 2;
        } else if let Some(p) = ["{", "}", "[", "]", ";", ",", "=", ":"]
            .iter()
            .find(|p| p.starts_with(c))
        {
            tokens.push(Token::Punct(p));
            i += 1;
        } else if c == '-' || c == '.' || c.is_ascii_digit() {
            // A numeral: [-]?(.[0-9]+ | [0-9]+(.[0-9]*)?)
            let start = i;
            if c == '-' {
                i += 1;
            }
            let digits_before = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            i += digits_before;
            let mut digits_after = 0;
            if chars.get(i) == Some(&'.') {
                i += 1;
                digits_after = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                i += digits_after;
            }
            if digits_before + digits_after == 0 {
                return Err(format!("bad numeral at {start}"));
            }
            if chars.get(i).is_some_and(|c| c.is_alphabetic() || *c == '_') {
                return Err(format!("a name may not start with a digit (at {start})"));
            }
            tokens.push(Token::Name(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' || (c as u32) >= 0x80 {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || (chars[i] as u32) >= 0x80)
            {
                i += 1;
            }
            tokens.push(Token::Name(chars[start..i].iter().collect()));
        } else {
            return Err(format!("unexpected character {c:?} at {i}"));
        }
    }
    Ok(tokens)
}

/// Tags of an HTML label balance (`<font …>…</font>`, `<br/>`).
fn check_html(html: &str) -> Result<(), String> {
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').ok_or("unclosed tag in an HTML label")? + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(opened) if opened == name.trim() => {}
                other => return Err(format!("`</{name}>` closes {other:?} in an HTML label")),
            }
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or_default().to_string();
            if !["font", "b", "i", "u", "sub", "sup", "table", "tr", "td"].contains(&name.as_str()) {
                return Err(format!("unknown tag `{name}` in an HTML label"));
            }
            open.push(name);
        } else if !tag.trim_end_matches('/').trim().eq_ignore_ascii_case("br") {
            return Err(format!("unknown empty tag `{tag}` in an HTML label"));
        }
        rest = &rest[end + 1..];
    }
    if rest.contains('>') {
        return Err("stray `>` in an HTML label".into());
    }
    match open.pop() {
        Some(tag) => Err(format!("`<{tag}>` not closed in an HTML label")),
        None => Ok(()),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    dot: Dot,
    declared: BTreeSet<String>,
    used: Vec<String>,
}

fn keyword(token: Option<&Token>, word: &str) -> bool {
    matches!(token, Some(Token::Name(name)) if name.eq_ignore_ascii_case(word))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn peek_at(&self, k: usize) -> Option<&Token> {
        self.tokens.get(self.at + k)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, punct: &str) -> Result<(), String> {
        match self.next() {
            Some(Token::Punct(p)) if p == punct => Ok(()),
            other => Err(format!("expected `{punct}`, found {other:?} (token {})", self.at)),
        }
    }

    fn is_punct(&self, punct: &str) -> bool {
        matches!(self.peek(), Some(Token::Punct(p)) if *p == punct)
    }

    fn id(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Name(name)) => {
                if ["node", "edge", "graph", "digraph", "subgraph", "strict"]
                    .iter()
                    .any(|k| name.eq_ignore_ascii_case(k))
                {
                    return Err(format!("keyword `{name}` used as an ID"));
                }
                Ok(name)
            }
            Some(Token::Quoted(text)) => Ok(text),
            Some(Token::Html(html)) => Ok(format!("<{html}>")),
            other => Err(format!("expected an ID, found {other:?} (token {})", self.at)),
        }
    }

    fn graph(&mut self) -> Result<(), String> {
        if keyword(self.peek(), "strict") {
            self.next();
        }
        if keyword(self.peek(), "digraph") {
            self.dot.directed = true;
        } else if !keyword(self.peek(), "graph") {
            return Err("a DOT file starts with `graph` or `digraph`".into());
        }
        self.next();
        if !self.is_punct("{") {
            self.id()?;
        }
        self.expect("{")?;
        let mut attributes = BTreeMap::new();
        self.statements(&mut attributes)?;
        self.expect("}")?;
        if self.at < self.tokens.len() {
            return Err("text after the graph".into());
        }
        Ok(())
    }

    /// Statements up to the closing `}`; graph attributes (`label="…"`) go into `graph`.
    fn statements(&mut self, graph: &mut BTreeMap<String, String>) -> Result<(), String> {
        while !self.is_punct("}") {
            if self.peek().is_none() {
                return Err("missing `}`".into());
            }
            self.statement(graph)?;
            if self.is_punct(";") {
                self.next();
            }
        }
        Ok(())
    }

    fn statement(&mut self, graph: &mut BTreeMap<String, String>) -> Result<(), String> {
        if ["graph", "node", "edge"].iter().any(|k| keyword(self.peek(), k)) {
            self.next();
            let attributes = self.attribute_lists()?;
            if attributes.is_none() {
                return Err("an attribute statement needs `[…]`".into());
            }
            return Ok(());
        }
        if keyword(self.peek(), "subgraph") || self.is_punct("{") {
            let first = self.subgraph()?;
            return self.edges_from(first);
        }
        if matches!(self.peek_at(1), Some(Token::Punct("="))) {
            let name = self.id()?;
            self.expect("=")?;
            let value = self.id()?;
            check_attribute(&name)?;
            graph.insert(name, value);
            return Ok(());
        }
        let node = self.node_id()?;
        if self.is_punct("->") || self.is_punct("--") {
            return self.edges_from(vec![node]);
        }
        let attributes = self.attribute_lists()?.unwrap_or_default();
        self.declared.insert(node.clone());
        self.dot.nodes.entry(node).or_default().extend(attributes);
        Ok(())
    }

    fn node_id(&mut self) -> Result<String, String> {
        let id = self.id()?;
        if self.is_punct(":") {
            self.next();
            self.id()?;
            if self.is_punct(":") {
                self.next();
                self.id()?;
            }
        }
        Ok(id)
    }

    /// `subgraph [ID] { … }`: its nodes.
    fn subgraph(&mut self) -> Result<Vec<String>, String> {
        if keyword(self.peek(), "subgraph") {
            self.next();
            if !self.is_punct("{") {
                self.id()?;
            }
        }
        self.expect("{")?;
        let before: BTreeSet<String> = self.declared.clone();
        let mut attributes = BTreeMap::new();
        self.statements(&mut attributes)?;
        self.expect("}")?;
        self.dot.clusters.push(attributes);
        Ok(self.declared.difference(&before).cloned().collect())
    }

    fn edges_from(&mut self, mut from: Vec<String>) -> Result<(), String> {
        let mut chain = Vec::new();
        while self.is_punct("->") || self.is_punct("--") {
            let op = match self.next() {
                Some(Token::Punct(op)) => op,
                _ => unreachable!(),
            };
            if (op == "->") != self.dot.directed {
                return Err(format!(
                    "`{op}` in a {}",
                    if self.dot.directed { "digraph" } else { "graph" }
                ));
            }
            let to = if keyword(self.peek(), "subgraph") || self.is_punct("{") {
                self.subgraph()?
            } else {
                vec![self.node_id()?]
            };
            chain.push((from.clone(), to.clone()));
            from = to;
        }
        let attributes = self.attribute_lists()?.unwrap_or_default();
        for (sources, targets) in chain {
            for source in &sources {
                for target in &targets {
                    self.used.push(source.clone());
                    self.used.push(target.clone());
                    self.dot
                        .edges
                        .push((source.clone(), target.clone(), attributes.clone()));
                }
            }
        }
        Ok(())
    }

    /// `[a=b, c=d] [e=f]`, merged; `None` if there is none.
    fn attribute_lists(&mut self) -> Result<Option<BTreeMap<String, String>>, String> {
        let mut attributes: Option<BTreeMap<String, String>> = None;
        while self.is_punct("[") {
            self.next();
            let merged = attributes.get_or_insert_with(BTreeMap::new);
            while !self.is_punct("]") {
                let name = self.id()?;
                check_attribute(&name)?;
                self.expect("=")?;
                let value = self.id()?;
                merged.insert(name, value);
                if self.is_punct(",") || self.is_punct(";") {
                    self.next();
                }
            }
            self.expect("]")?;
        }
        Ok(attributes)
    }
}

fn check_attribute(name: &str) -> Result<(), String> {
    if ATTRIBUTES.contains(&name) {
        Ok(())
    } else {
        Err(format!("unknown attribute `{name}`"))
    }
}

/// Reads a DOT text, or says what is wrong with it.
pub fn parse(text: &str) -> Result<Dot, String> {
    let mut parser = Parser {
        tokens: tokenize(text)?,
        at: 0,
        dot: Dot::default(),
        declared: BTreeSet::new(),
        used: Vec::new(),
    };
    parser.graph()?;
    for node in &parser.used {
        if !parser.declared.contains(node) {
            return Err(format!("edge to the undeclared node `{node}`"));
        }
    }
    Ok(parser.dot)
}

/// Checks a DOT text: with Graphviz's `dot -Tsvg` where it is installed, and always with
/// [`parse`]. Returns what `parse` read.
pub fn check(text: &str) -> Dot {
    let dot = parse(text).unwrap_or_else(|error| panic!("not valid DOT: {error}\n{text}"));
    if let Some(error) = graphviz_rejects(text) {
        panic!("`dot -Tsvg` rejects it: {error}\n{text}");
    }
    dot
}

/// Whether Graphviz can be run (`dot -V`).
pub fn graphviz_installed() -> bool {
    std::process::Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `dot -Tsvg`'s complaint about a text, if Graphviz is installed and complains: an error,
/// or a warning about the text (not about the machine's fonts).
pub fn graphviz_rejects(text: &str) -> Option<String> {
    use std::io::Write;
    if !graphviz_installed() {
        return None;
    }
    let mut child = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let about_the_text = stderr.lines().any(|line| {
        let lower = line.to_lowercase();
        !line.trim().is_empty() && !lower.contains("font") && !lower.contains("metrics")
    });
    if !output.status.success() || about_the_text {
        Some(format!("{}: {stderr}", output.status))
    } else {
        None
    }
}

#[cfg(test)]
mod checker_tests {
    use super::*;

    #[test]
    fn reads_what_graphviz_reads() {
        let dot = parse(
            "digraph \"f\" { graph [rankdir=LR]; node [shape=ellipse];\n n0 [label=\"x\"] [tooltip=\"a \\\"b\\\"\"];\n subgraph cluster_1 { label=\"for i\"; n1 [label=<<font color=\"red\">1</font><br/>>]; }\n n0 -> n1 [label=-0.5]; }",
        )
        .unwrap();
        assert_eq!(dot.nodes.len(), 2);
        assert_eq!(dot.nodes["n0"]["tooltip"], "a \"b\"");
        assert_eq!(dot.edges.len(), 1);
        assert_eq!(dot.clusters[0]["label"], "for i");
    }

    #[test]
    fn rejects_what_graphviz_rejects() {
        for bad in [
            "digraph { a -> b }",                            // undeclared nodes (ours)
            "digraph { a [label=\"x\"]; a -- a }",           // `--` in a digraph
            "digraph { a [label=\"x\" }",                    // unclosed list
            "digraph { a [label=<<font>x</b>>] }",           // unbalanced HTML
            "digraph { a [lable=\"x\"] }",                   // unknown attribute
            "digraph { a [label=\"x\"]; 1a [label=\"y\"] }", // a name starting with a digit
            "digraph { a [label=\"x\"] ",                    // no `}`
            "digraph { node }",                              // attribute statement without `[…]`
            "digraph { a [label=\"x\u{1}\"] }",              // a control character
        ] {
            assert!(parse(bad).is_err(), "accepted: {bad}");
        }
    }
}
