//! Checks a trace against `grad`: the value on the output edge, and each input's gradient
//! (its tooltip) against the field of `Grad` of the same name, as `{:?}` writes both.

/// `value`, `grad` (as `format!("{grad:?}")`) and the trace of the same call.
pub fn check(name: &str, value: f64, grad: &str, trace: &str) {
    let output = trace
        .lines()
        .find(|l| l.contains("-> output"))
        .and_then(|l| between(l, "tooltip=\"value ", ";"))
        .unwrap_or_else(|| panic!("{name}: no output value in\n{trace}"));
    assert_eq!(output, format!("{value:?}"), "{name}: the value\n{trace}");
    for (field, gradient) in fields(grad) {
        if field == "_float" {
            continue;
        }
        let line = trace
            .lines()
            .find(|l| l.contains(&format!("[label=\"{field}\"")) && l.contains("tooltip=\"value "))
            .unwrap_or_else(|| panic!("{name}: no input `{field}` in\n{trace}"));
        let traced =
            between(line, "; gradient ", "\"]").unwrap_or_else(|| panic!("{name}: no gradient in {line}"));
        assert_eq!(traced, gradient, "{name}: ∂/∂{field}\n{trace}");
    }
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_string())
}

/// `Grad { x: 1.0, w: [1.0, 2.0] }` → [("x", "1.0"), ("w", "[1.0, 2.0]")].
fn fields(debug: &str) -> Vec<(String, String)> {
    let inner = debug
        .trim()
        .strip_prefix("Grad")
        .map(str::trim)
        .and_then(|s| s.strip_prefix('{'))
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or_default();
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    let chars: Vec<char> = inner.chars().collect();
    for (k, &c) in chars.iter().enumerate() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(chars[start..k].iter().collect::<String>());
                start = k + 1;
            }
            _ => {}
        }
    }
    out.push(chars[start..].iter().collect::<String>());
    out.into_iter()
        .filter_map(|field| {
            let (name, value) = field.split_once(':')?;
            Some((
                name.trim().trim_start_matches("r#").to_string(),
                value.trim().to_string(),
            ))
        })
        .collect()
}

/// Checks forward mode's picture against `jvp`: the output edge's tangent, as `{:?}` writes it.
pub fn check_tangent(name: &str, derivative: f64, trace: &str) {
    let output = trace
        .lines()
        .find(|l| l.contains("-> output"))
        .and_then(|l| between(l, "; tangent ", "\""))
        .unwrap_or_else(|| panic!("{name}: no output tangent in\n{trace}"));
    assert_eq!(output, format!("{derivative:?}"), "{name}: the tangent\n{trace}");
}
