//! The run-time side of `f::graph()` and `f::trace(…)`: the macro writes the picture of a
//! function's graph as a Graphviz DOT template with holes; `graph` removes the holes, and
//! [`Trace`] records one evaluation's values and gradients and writes them into them.
//!
//! A hole is `§`, a kind letter, numbers separated by `:`, then `¤` (characters no
//! label holds):
//! `n5` (node 5's attributes), `i0` (an input's), `e3:5` or `e3:5:9` (edge 3's, showing
//! slot 5's value, drawn only if slot 9 — a branch — was taken), `l7` (a loop cluster's
//! label: slot 7 counts its iterations), `b8` (a branch cluster's label: slot 8 records
//! that it was taken).

use core::fmt::Write;

use crate::Real;

/// Where a hole starts, in the template the macro writes (`chainrule-compiler` uses these).
pub const HOLE: char = '§';
/// Where a hole ends.
pub const HOLE_END: char = '¤';

/// Values' colour (as in the lecture's pictures: forward values green, gradients red).
const VALUE_COLOUR: &str = "#2e7d32";
const GRADIENT_COLOUR: &str = "#c62828";
/// Forward mode's tangents (`trace_jvp`).
const TANGENT_COLOUR: &str = "#1565c0";
const FADED: &str = "#c4c4c4";

/// The picture without its holes.
pub fn graph(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut in_hole = false;
    for c in template.chars() {
        match c {
            HOLE => in_hole = true,
            HOLE_END => in_hole = false,
            c if !in_hole => out.push(c),
            _ => {}
        }
    }
    out
}

/// What a recorded value holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An `f64`.
    F64,
    /// An `f32` (written with `f32`'s digits).
    F32,
    /// An integer.
    Int,
    /// A bool.
    Bool,
}

/// A recorded value: a number, or an array of them (flattened, with its shape).
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    kind: Kind,
    shape: Vec<usize>,
    data: Vec<f64>,
}

impl Value {
    fn scalar(kind: Kind, value: f64) -> Value {
        Value {
            kind,
            shape: Vec::new(),
            data: vec![value],
        }
    }

    fn array<'a, T: Record + ?Sized + 'a>(items: impl ExactSizeIterator<Item = &'a T>) -> Value {
        let len = items.len();
        let mut kind = Kind::F64;
        let mut shape = vec![len];
        let mut data = Vec::new();
        for (k, item) in items.enumerate() {
            let value = item.record();
            if k == 0 {
                kind = value.kind;
                shape.extend(&value.shape);
            }
            data.extend(value.data);
        }
        Value { kind, shape, data }
    }

    /// Adds `other` in, element by element (at `offset` of the flattened array).
    fn add_at(&mut self, offset: usize, other: &Value) {
        for (k, x) in other.data.iter().enumerate() {
            if let Some(slot) = self.data.get_mut(offset + k) {
                *slot += x;
            }
        }
    }

    fn zeros_like(&self) -> Value {
        Value {
            kind: self.kind,
            shape: self.shape.clone(),
            data: vec![0.0; self.data.len()],
        }
    }

    /// As people read it: two decimals, arrays shortened.
    fn rounded(&self) -> String {
        self.write(&|kind, x| rounded(kind, x), 6)
    }

    /// Every digit (the shortest text that reads back as the same number).
    fn exact(&self) -> String {
        self.write(&exact, 64)
    }

    fn write(&self, number: &dyn Fn(Kind, f64) -> String, most: usize) -> String {
        if self.shape.is_empty() {
            return self
                .data
                .first()
                .map(|&x| number(self.kind, x))
                .unwrap_or_default();
        }
        let mut out = String::new();
        self.write_level(&mut out, 0, 0, number, most);
        out
    }

    fn write_level(
        &self,
        out: &mut String,
        depth: usize,
        offset: usize,
        number: &dyn Fn(Kind, f64) -> String,
        most: usize,
    ) {
        let len = self.shape[depth];
        let stride: usize = self.shape[depth + 1..].iter().product();
        out.push('[');
        for k in 0..len.min(most) {
            if k > 0 {
                out.push_str(", ");
            }
            if depth + 1 == self.shape.len() {
                let x = self.data.get(offset + k).copied().unwrap_or(0.0);
                out.push_str(&number(self.kind, x));
            } else {
                self.write_level(out, depth + 1, offset + k * stride, number, most);
            }
        }
        if len > most {
            let _ = write!(out, ", … ({len})");
        }
        out.push(']');
    }
}

fn rounded(kind: Kind, x: f64) -> String {
    match kind {
        Kind::Int => format!("{}", x as i64),
        Kind::Bool => (x != 0.0).to_string(),
        Kind::F64 | Kind::F32 => {
            if x.is_nan() {
                "NaN".to_string()
            } else if x.is_infinite() {
                if x > 0.0 { "inf" } else { "-inf" }.to_string()
            } else if x == 0.0 || (0.01..1e5).contains(&x.abs()) {
                let text = format!("{x:.2}");
                if text == "-0.00" {
                    "0.00".to_string()
                } else {
                    text
                }
            } else {
                format!("{x:.2e}")
            }
        }
    }
}

fn exact(kind: Kind, x: f64) -> String {
    match kind {
        Kind::Int => format!("{}", x as i64),
        Kind::Bool => (x != 0.0).to_string(),
        Kind::F32 => format!("{:?}", x as f32),
        Kind::F64 => format!("{x:?}"),
    }
}

/// A value `f::trace` can record: floats, integers, bools, and arrays, slices and
/// vectors of them.
pub trait Record {
    /// The value, as the trace keeps it.
    fn record(&self) -> Value;
}

impl<T: Real> Record for T {
    fn record(&self) -> Value {
        let kind = if core::mem::size_of::<T>() == 4 {
            Kind::F32
        } else {
            Kind::F64
        };
        Value::scalar(kind, <T as Real>::to_f64(*self))
    }
}

macro_rules! record_integers {
    ($($t:ty),*) => {
        $(impl Record for $t {
            fn record(&self) -> Value {
                Value::scalar(Kind::Int, *self as f64)
            }
        })*
    };
}

record_integers!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

impl Record for bool {
    fn record(&self) -> Value {
        Value::scalar(Kind::Bool, f64::from(u8::from(*self)))
    }
}

/// Nothing: what a called function returns for a parameter it does not differentiate
/// (a compile error elsewhere; recorded without a second one).
impl Record for () {
    fn record(&self) -> Value {
        Value {
            kind: Kind::F64,
            shape: vec![0],
            data: Vec::new(),
        }
    }
}

impl<T: Record, const N: usize> Record for [T; N] {
    fn record(&self) -> Value {
        Value::array(self.iter())
    }
}

impl<T: Record> Record for [T] {
    fn record(&self) -> Value {
        Value::array(self.iter())
    }
}

impl<T: Record> Record for Vec<T> {
    fn record(&self) -> Value {
        Value::array(self.iter())
    }
}

/// One evaluation, recorded for the picture: the value of every node shown, the
/// gradient along every edge, each input's whole gradient.
#[derive(Debug)]
pub struct Trace {
    template: &'static str,
    /// By slot: the nodes' values, then per cluster whether its branch was taken or how
    /// many iterations its loop ran.
    values: Vec<Option<Value>>,
    /// By slot: an input's gradient.
    inputs: Vec<Option<Value>>,
    /// By edge: the gradient along it, the slot whose value it shows, and whether it
    /// takes no more contributions.
    gradients: Vec<Option<Value>>,
    sources: Vec<usize>,
    frozen: Vec<bool>,
    /// Forward mode (`trace_jvp`): by slot, the tangent of each node's value, which every
    /// edge from it carries (instead of gradients).
    tangents: Option<Vec<Option<Value>>>,
}

impl Trace {
    /// An evaluation to record, for a template with `slots` slots and `edges` edges.
    pub fn new(template: &'static str, slots: usize, edges: usize) -> Trace {
        let mut sources = vec![usize::MAX; edges];
        for (kind, numbers) in holes(template) {
            if let ('e', [edge, value, ..]) = (kind, numbers.as_slice()) {
                if let Some(source) = sources.get_mut(*edge) {
                    *source = *value;
                }
            }
        }
        Trace {
            template,
            values: vec![None; slots],
            inputs: vec![None; slots],
            gradients: vec![None; edges],
            sources,
            frozen: vec![false; edges],
            tangents: None,
        }
    }

    /// An evaluation in forward mode to record: values and their tangents.
    pub fn forward(template: &'static str, slots: usize, edges: usize) -> Trace {
        Trace {
            tangents: Some(vec![None; slots]),
            ..Trace::new(template, slots, edges)
        }
    }

    /// A node's tangent (the last one recorded counts).
    pub fn tangent<R: Record + ?Sized>(&mut self, slot: usize, tangent: &R) {
        if let Some(entry) = self.tangents.as_mut().and_then(|t| t.get_mut(slot)) {
            *entry = Some(tangent.record());
        }
    }

    fn tangent_of(&self, slot: usize) -> Option<&Value> {
        self.tangents.as_ref()?.get(slot)?.as_ref()
    }

    /// A node's value (the last one recorded counts).
    pub fn value<R: Record + ?Sized>(&mut self, slot: usize, value: &R) {
        if let Some(entry) = self.values.get_mut(slot) {
            *entry = Some(value.record());
        }
    }

    /// An input's whole gradient.
    pub fn input<R: Record + ?Sized>(&mut self, slot: usize, gradient: &R) {
        if let Some(entry) = self.inputs.get_mut(slot) {
            *entry = Some(gradient.record());
        }
    }

    /// A branch was taken.
    pub fn taken(&mut self, slot: usize) {
        self.value(slot, &true);
    }

    /// A loop starts: no iterations yet.
    pub fn reset(&mut self, slot: usize) {
        self.value(slot, &0usize);
    }

    /// A loop's iteration.
    pub fn count(&mut self, slot: usize) {
        if let Some(Some(value)) = self.values.get_mut(slot) {
            if let Some(count) = value.data.first_mut() {
                *count += 1.0;
            }
        }
    }

    /// A new iteration: the values of the one before are gone.
    pub fn clear(&mut self, slots: &[usize]) {
        for &slot in slots {
            if let Some(entry) = self.values.get_mut(slot) {
                *entry = None;
            }
            if let Some(entry) = self.tangents.as_mut().and_then(|t| t.get_mut(slot)) {
                *entry = None;
            }
        }
    }

    /// A gradient flowing back along an edge (contributions add up, until it is frozen).
    pub fn grad<R: Record + ?Sized>(&mut self, edge: usize, gradient: &R) {
        if self.frozen.get(edge).copied().unwrap_or(true) {
            return;
        }
        let gradient = gradient.record();
        match &mut self.gradients[edge] {
            Some(sum) if sum.data.len() == gradient.data.len() => sum.add_at(0, &gradient),
            entry => *entry = Some(gradient),
        }
    }

    /// A gradient flowing into one element of an array (`d_w[i] += g`).
    pub fn grad_at<R: Record + ?Sized>(&mut self, edge: usize, indices: &[usize], gradient: &R) {
        if self.frozen.get(edge).copied().unwrap_or(true) {
            return;
        }
        let Some(Some(source)) = self.sources.get(edge).and_then(|&s| self.values.get(s)) else {
            return;
        };
        let mut offset = 0;
        for (depth, &index) in indices.iter().enumerate() {
            let stride: usize = source
                .shape
                .get(depth + 1..)
                .map(|s| s.iter().product())
                .unwrap_or(1);
            offset += index * stride;
        }
        let zeros = source.zeros_like();
        let sum = self.gradients[edge].get_or_insert(zeros);
        sum.add_at(offset, &gradient.record());
    }

    /// The edges take no more contributions (a loop's iteration is over).
    pub fn freeze(&mut self, edges: &[usize]) {
        for &edge in edges {
            if let Some(frozen) = self.frozen.get_mut(edge) {
                *frozen = true;
            }
        }
    }

    /// The picture with this evaluation's numbers.
    pub fn finish(self) -> String {
        let mut out = String::with_capacity(self.template.len() * 2);
        let mut rest = self.template;
        while let Some(start) = rest.find(HOLE) {
            out.push_str(&rest[..start]);
            let after = &rest[start + HOLE.len_utf8()..];
            let Some(end) = after.find(HOLE_END) else {
                rest = "";
                break;
            };
            let (kind, numbers) = parse_hole(&after[..end]);
            self.fill(&mut out, kind, &numbers);
            rest = &after[end + HOLE_END.len_utf8()..];
        }
        out.push_str(rest);
        out
    }

    fn slot(&self, slot: usize) -> Option<&Value> {
        self.values.get(slot).and_then(Option::as_ref)
    }

    fn fill(&self, out: &mut String, kind: char, numbers: &[usize]) {
        let first = numbers.first().copied().unwrap_or(usize::MAX);
        match kind {
            'n' => match self.slot(first) {
                Some(value) => match self.tangent_of(first) {
                    Some(tangent) => {
                        let _ = write!(
                            out,
                            " [tooltip=\"value {}; tangent {}\"]",
                            value.exact(),
                            tangent.exact()
                        );
                    }
                    None => {
                        let _ = write!(out, " [tooltip=\"value {}\"]", value.exact());
                    }
                },
                None => {
                    let _ = write!(
                        out,
                        " [style=dashed, color=\"{FADED}\", fontcolor=\"{FADED}\", tooltip=\"not evaluated\"]"
                    );
                }
            },
            'i' if self.tangents.is_some() => {
                let value = self.slot(first).map(Value::exact).unwrap_or_default();
                match self.tangent_of(first) {
                    Some(tangent) => {
                        let _ = write!(out, " [tooltip=\"value {value}; tangent {}\"]", tangent.exact());
                    }
                    None => {
                        let _ = write!(out, " [tooltip=\"value {value}\"]");
                    }
                }
            }
            'i' => {
                let value = self.slot(first).map(Value::exact).unwrap_or_default();
                match self.inputs.get(first).and_then(Option::as_ref) {
                    Some(gradient) => {
                        let _ = write!(out, " [tooltip=\"value {value}; gradient {}\"]", gradient.exact());
                    }
                    None => {
                        let _ = write!(out, " [tooltip=\"value {value}\"]");
                    }
                }
            }
            'l' => match self.slot(first).and_then(|v| v.data.first()) {
                Some(&count) => {
                    let count = count as u64;
                    let _ = match count {
                        0 => write!(out, " (no iteration)"),
                        1 => write!(out, " (1 iteration)"),
                        n => write!(out, " ({n} iterations; the last shown)"),
                    };
                }
                None => out.push_str(" (not run)"),
            },
            'b' => out.push_str(match self.slot(first) {
                Some(_) => " (taken)",
                None => " (not taken)",
            }),
            'e' => {
                let edge = first;
                let value = numbers.get(1).and_then(|&s| self.slot(s));
                let taken = numbers.get(2).is_none_or(|&s| self.slot(s).is_some());
                match value.filter(|_| taken) {
                    None => {
                        let _ = write!(out, " [style=dashed, color=\"{FADED}\"]");
                    }
                    Some(value) if self.tangents.is_some() => {
                        // Forward mode: the edge carries its source's value and tangent.
                        let tangent = numbers.get(1).and_then(|&s| self.tangent_of(s));
                        let _ = write!(
                            out,
                            " [label=<<font color=\"{VALUE_COLOUR}\">{}</font>",
                            value.rounded()
                        );
                        if let Some(tangent) = tangent {
                            let _ = write!(
                                out,
                                "<br/><font color=\"{TANGENT_COLOUR}\">{}</font>",
                                tangent.rounded()
                            );
                        }
                        let _ = write!(out, ">, tooltip=\"value {}", value.exact());
                        if let Some(tangent) = tangent {
                            let _ = write!(out, "; tangent {}", tangent.exact());
                        }
                        out.push_str("\"]");
                    }
                    Some(value) => {
                        let gradient = self.gradients.get(edge).and_then(Option::as_ref);
                        let _ = write!(
                            out,
                            " [label=<<font color=\"{VALUE_COLOUR}\">{}</font>",
                            value.rounded()
                        );
                        if let Some(gradient) = gradient {
                            let _ = write!(
                                out,
                                "<br/><font color=\"{GRADIENT_COLOUR}\">{}</font>",
                                gradient.rounded()
                            );
                        }
                        let _ = write!(out, ">, tooltip=\"value {}", value.exact());
                        if let Some(gradient) = gradient {
                            let _ = write!(out, "; gradient {}", gradient.exact());
                        }
                        out.push_str("\"]");
                    }
                }
            }
            _ => {}
        }
    }
}

fn parse_hole(text: &str) -> (char, Vec<usize>) {
    let mut chars = text.chars();
    let kind = chars.next().unwrap_or(' ');
    let numbers = chars.as_str().split(':').filter_map(|n| n.parse().ok()).collect();
    (kind, numbers)
}

/// The holes of a template, in order.
fn holes(template: &str) -> Vec<(char, Vec<usize>)> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find(HOLE) {
        let after = &rest[start + HOLE.len_utf8()..];
        let Some(end) = after.find(HOLE_END) else { break };
        out.push(parse_hole(&after[..end]));
        rest = &after[end + HOLE_END.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str =
        "digraph \"f\" {\n  n0 [label=\"x\"]§i0¤;\n  n1 [label=\"2 · x\"]§n1¤;\n  n0 -> n1§e0:0¤;\n  n1 -> output§e1:1¤;\n}\n";

    #[test]
    fn graph_has_no_holes() {
        assert_eq!(
            graph(TEMPLATE),
            "digraph \"f\" {\n  n0 [label=\"x\"];\n  n1 [label=\"2 · x\"];\n  n0 -> n1;\n  n1 -> output;\n}\n"
        );
    }

    #[test]
    fn trace_fills_values_and_gradients() {
        let mut trace = Trace::new(TEMPLATE, 2, 2);
        trace.value(0, &-2.0_f64);
        trace.value(1, &-4.0_f64);
        trace.grad(1, &1.0_f64);
        trace.grad(0, &2.0_f64);
        trace.input(0, &2.0_f64);
        let text = trace.finish();
        assert!(
            text.contains("n0 [label=\"x\"] [tooltip=\"value -2.0; gradient 2.0\"];"),
            "{text}"
        );
        assert!(
            text.contains("n0 -> n1 [label=<<font color=\"#2e7d32\">-2.00</font><br/><font color=\"#c62828\">2.00</font>>, tooltip=\"value -2.0; gradient 2.0\"];"),
            "{text}"
        );
    }

    #[test]
    fn arrays_add_at_elements_and_freeze() {
        let mut trace = Trace::new(TEMPLATE, 2, 2);
        trace.value(0, &[[1.0_f32, 2.0], [3.0, 4.0]]);
        trace.grad_at(0, &[1, 0], &0.5_f32);
        trace.grad_at(0, &[1], &[1.0_f32, 1.0]);
        trace.freeze(&[0]);
        trace.grad_at(0, &[0, 0], &9.0_f32);
        let text = trace.finish();
        assert!(text.contains("gradient [[0.0, 0.0], [1.5, 1.0]]"), "{text}");
        assert!(text.contains("[[1.00, 2.00], [3.00, 4.00]]"), "{text}");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(rounded(Kind::F64, -0.19661193324148185), "-0.20");
        assert_eq!(rounded(Kind::F64, -12.0), "-12.00");
        assert_eq!(rounded(Kind::F64, 1.5e-7), "1.50e-7");
        assert_eq!(rounded(Kind::F64, -0.0), "0.00");
        assert_eq!(exact(Kind::F32, f64::from(0.1_f32)), "0.1");
        assert_eq!(
            Value::array([1usize, 2, 3, 4, 5, 6, 7].iter()).rounded(),
            "[1, 2, 3, 4, 5, 6, … (7)]"
        );
    }
}
