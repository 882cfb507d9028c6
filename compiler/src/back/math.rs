//! Nodes of the graph as math, for people: `q = x + y`, `σ(dot) · (1 − σ(dot)) · x0`.
//!
//! Two uses: the labels of the graph's pictures ([`crate::back::dot`]), where each node shows
//! its own operation on its inputs, and the symbolic partial derivatives in the generated
//! documentation ([`crate::back::docs`]), which are the gradient nodes the reverse pass built
//! — simplified as the generated code is — written out with the upstream gradient 1.
//!
//! Every text is bounded: an operand whose text would be longer than a limit is written
//! `…` in a label, and makes a derivative "too long to show" in the documentation, so
//! that the text generated for a function stays linear in its size (a deep composition
//! `sin(sin(…))` would otherwise write quadratically much).

use std::collections::BTreeSet;

use syn::ext::IdentExt;

use crate::ir::{Graph, IntOp, NodeId, Op, RegionId};
use crate::ops::precedence::{AND, COMPARE, IF, OR, POSTFIX as ATOM, SUM, UNARY};
use crate::ops::{Notation, Piece, Prim, Syntax};

/// An unnamed operand is written inline in a label if it fits in this many characters
/// (else `…`: its value comes in along an edge anyway).
const LABEL_OPERAND: usize = 20;
/// … and is at most this many operations deep (`sin(sin(…))`).
const LABEL_DEPTH: usize = 2;
/// A named value whose definition is at most this long is written out where it is used
/// in a derivative (`∂f/∂z = x + y` rather than `q`); longer ones keep their name and are
/// defined once below the derivatives.
const INLINE_NAMED: usize = 12;
/// The longest derivative (or definition) the documentation writes out.
const DOC_TEXT: usize = 240;

/// A piece of math text and how tightly it binds.
#[derive(Clone, Debug)]
pub struct Text {
    pub text: String,
    prec: u8,
    /// Its value, where it is a constant (with the upstream gradient taken as 1).
    value: Option<f64>,
}

impl Text {
    fn new(text: impl Into<String>, prec: u8) -> Self {
        Text {
            text: text.into(),
            prec,
            value: None,
        }
    }

    fn constant(value: f64) -> Self {
        let text = number(value);
        let prec = if text.starts_with('−') { UNARY } else { ATOM };
        Text {
            text,
            prec,
            value: Some(value),
        }
    }

    /// The text, in parentheses if it binds looser than `level`.
    fn at(&self, level: u8) -> String {
        if self.prec < level {
            format!("({})", self.text)
        } else {
            self.text.clone()
        }
    }
}

/// Why a derivative is not written out as a formula.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Opaque {
    /// It is computed by a loop run backwards.
    Loop,
    /// It is an array built element by element (in branches, or from a whole array).
    Array,
    /// It comes from the backward pass of a called function.
    Call,
    /// It would be longer than the documentation writes.
    Long,
}

/// A number as people write it: `2`, `0.5`, `−3`, `1.4142135623730951`.
pub fn number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "∞" } else { "−∞" }.to_string();
    }
    let text = if value == value.trunc() && value.abs() < 1e15 {
        format!("{}", value.abs() as i64)
    } else {
        format!("{:?}", value.abs())
    };
    if value.is_sign_negative() && value != 0.0 {
        format!("−{text}")
    } else {
        text
    }
}

/// A named constant by its last path segment, the usual ones as written in math.
fn constant_name(path: &syn::Path) -> String {
    let last = path
        .segments
        .last()
        .map(|s| s.ident.unraw().to_string())
        .unwrap_or_default();
    match last.as_str() {
        "PI" => "π".to_string(),
        "E" => "e".to_string(),
        "TAU" => "τ".to_string(),
        "LN_2" => "ln 2".to_string(),
        "LN_10" => "ln 10".to_string(),
        "SQRT_2" => "√2".to_string(),
        "FRAC_PI_2" => "π/2".to_string(),
        _ => last,
    }
}

fn superscript(n: i64) -> Option<String> {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    if !(-99..=99).contains(&n) {
        return None;
    }
    let mut text = String::new();
    if n < 0 {
        text.push('⁻');
    }
    for digit in n.unsigned_abs().to_string().bytes() {
        text.push(DIGITS[usize::from(digit - b'0')]);
    }
    Some(text)
}

/// Writes graph nodes as math. Texts are memoized per node, so writing every node of a
/// graph costs time linear in its size.
pub struct Math<'g> {
    g: &'g Graph,
    /// How the upstream gradient reads in derivatives: `1` for ∂f/∂x itself, or the name
    /// of `backward`'s parameter.
    upstream: Option<&'static str>,
    /// Documentation texts, by node (`Err` where there is no formula).
    docs: Vec<Option<Result<Text, Opaque>>>,
    /// Named forward values a documentation text referred to by name.
    pub named: BTreeSet<NodeId>,
}

impl<'g> Math<'g> {
    /// Derivatives read with the upstream gradient 1 (`None`) or a named one.
    pub fn new(g: &'g Graph, upstream: Option<&'static str>) -> Self {
        Math {
            g,
            upstream,
            docs: vec![None; g.len()],
            named: BTreeSet::new(),
        }
    }

    pub fn graph(&self) -> &'g Graph {
        self.g
    }

    /// The user's name for a node: a parameter's or a `let`'s.
    pub fn user_name(&self, id: NodeId) -> Option<String> {
        match self.g.op(id) {
            Op::Param(k) => Some(self.g.params[*k].label()),
            _ => self.g.names[id.index()].as_ref().map(|n| n.unraw().to_string()),
        }
    }

    /// The name of a loop's index: the user's (`i` in `for i in …`), else `i`.
    pub fn index_name(&self, region: RegionId) -> String {
        self.g
            .region(region)
            .header
            .as_ref()
            .and_then(|h| h.index.clone())
            .unwrap_or_else(|| "i".to_string())
    }

    // --- labels -------------------------------------------------------------------

    /// A node as an operand in a label: its name or a constant, or (unnamed) its
    /// expression if that fits in `budget` characters, else `…`.
    pub fn operand(&mut self, id: NodeId) -> Text {
        self.bounded(id, LABEL_OPERAND, LABEL_DEPTH)
            .unwrap_or_else(|| Text::new("…", ATOM))
    }

    /// A node written within `budget` characters, if it fits: names and constants as
    /// themselves, unnamed values as their expressions (whose operands share what is left).
    /// Each call visits at most about `budget` nodes.
    fn bounded(&mut self, id: NodeId, budget: usize, depth: usize) -> Option<Text> {
        let fits = |t: Text| (t.text.chars().count() <= budget).then_some(t);
        if let Some(text) = self.leaf(id) {
            return fits(text);
        }
        if let Some(name) = self.user_name(id) {
            return fits(Text::new(name, ATOM));
        }
        if depth == 0 || budget < 3 || matches!(self.g.op(id), Op::Project(_)) && self.call_of(id).is_none() {
            return None;
        }
        let text = self.expression_within(id, budget, depth - 1);
        fits(text)
    }

    fn call_of(&self, id: NodeId) -> Option<NodeId> {
        match self.g.op(id) {
            Op::Project(0) => {
                let owner = self.g.args(id)[0];
                matches!(self.g.op(owner), Op::Call { .. }).then_some(owner)
            }
            _ => None,
        }
    }

    /// A node's label: `q = x + y` for a named value, else its expression (`w0 · x0`).
    pub fn label(&mut self, id: NodeId) -> String {
        let expression = self.expression(id).text;
        match (self.user_name(id), self.g.op(id)) {
            (_, Op::Param(_) | Op::RegionParam(_) | Op::LoopIndex | Op::Update) => expression,
            (Some(name), _) if name != expression => format!("{name} = {expression}"),
            _ => expression,
        }
    }

    /// Constants, named constants, parameters, carried variables and loop indices: what
    /// is written as itself.
    fn leaf(&self, id: NodeId) -> Option<Text> {
        let g = self.g;
        Some(match g.op(id) {
            Op::Const(bits) => {
                let value = f64::from_bits(*bits);
                match g.float {
                    // An f32 constant with f32's digits (`1.4142135`, not its f64 expansion).
                    crate::ir::FloatType::F32 if value.fract() != 0.0 && value.is_finite() => {
                        let mut text = Text::constant(value);
                        text.text = text.text.replace(
                            &format!("{:?}", value.abs()),
                            &format!("{:?}", value.abs() as f32),
                        );
                        text
                    }
                    _ => Text::constant(value),
                }
            }
            Op::Named(index) => Text::new(constant_name(&g.named[*index]), ATOM),
            Op::Int { named, offset } => match named {
                None => Text::constant(*offset as f64),
                Some(index) => {
                    let name = constant_name(&g.named[*index]);
                    match offset {
                        0 => Text::new(name, ATOM),
                        k if *k < 0 => Text::new(format!("{name} − {}", k.unsigned_abs()), SUM),
                        k => Text::new(format!("{name} + {k}"), SUM),
                    }
                }
            },
            Op::Bool(value) => Text::new(value.to_string(), ATOM),
            Op::Param(k) => Text::new(g.params[*k].label(), ATOM),
            Op::LoopIndex => Text::new(self.index_name(g.region_of(id)), ATOM),
            Op::RegionParam(_) => Text::new(self.user_name(id).unwrap_or_else(|| "value".into()), ATOM),
            Op::Upstream => match self.upstream {
                None => Text::constant(1.0),
                Some(name) => Text::new(name, ATOM),
            },
            _ => return None,
        })
    }

    /// What a node computes from its operands (as [`Math::operand`]s).
    pub fn expression(&mut self, id: NodeId) -> Text {
        self.expression_within(id, LABEL_OPERAND * 2, LABEL_DEPTH)
    }

    /// A node's expression, its unnamed operands written within what is left of `budget`.
    fn expression_within(&mut self, id: NodeId, budget: usize, depth: usize) -> Text {
        if let Some(text) = self.leaf(id) {
            return text;
        }
        let g = self.g;
        let args: Vec<NodeId> = match self.call_of(id) {
            Some(call) => g.args(call).to_vec(),
            None => g.args(id).to_vec(),
        };
        let mut left = budget.saturating_sub(4);
        let mut operands: Vec<Text> = Vec::with_capacity(args.len());
        for &arg in &args {
            let text = self
                .bounded(arg, left, depth)
                .unwrap_or_else(|| Text::new("…", ATOM));
            left = left.saturating_sub(text.text.chars().count() + 3);
            operands.push(text);
        }
        match g.op(id).clone() {
            Op::Prim(prim) => prim_text(prim, &operands),
            Op::Index => index_text(&operands),
            Op::Update => {
                let value = operands.remove(1);
                Text::new(format!("{} = {}", index_text(&operands).text, value.text), IF)
            }
            Op::Project(k) => match self.call_of(id) {
                Some(call) => match g.op(call) {
                    Op::Call { callee, .. } => call_text(&g.named[*callee], &operands),
                    _ => Text::new("?", ATOM),
                },
                None => Text::new(self.user_name(id).unwrap_or_else(|| format!("value {k}")), ATOM),
            },
            op => generic_text(g, &op, &operands),
        }
    }

    // --- documentation --------------------------------------------------------------

    /// A node as a formula for the documentation: forward values by name where the user
    /// named them (and their definitions are long), everything else written out.
    pub fn formula(&mut self, id: NodeId) -> Result<Text, Opaque> {
        if let Some(done) = &self.docs[id.index()] {
            return done.clone();
        }
        let result = self.formula_uncached(id);
        let result = match result {
            Ok(text) if text.text.chars().count() > DOC_TEXT => Err(Opaque::Long),
            other => other,
        };
        self.docs[id.index()] = Some(result.clone());
        result
    }

    /// A forward value's definition, for the list below the derivatives.
    pub fn definition(&mut self, id: NodeId) -> Result<Text, Opaque> {
        let result = self.define(id);
        match result {
            Ok(text) if text.text.chars().count() > DOC_TEXT => Err(Opaque::Long),
            other => other,
        }
    }

    fn formula_uncached(&mut self, id: NodeId) -> Result<Text, Opaque> {
        if let Some(text) = self.leaf(id) {
            if matches!(self.g.op(id), Op::RegionParam(_) | Op::LoopIndex) {
                return Err(Opaque::Loop);
            }
            return Ok(text);
        }
        let g = self.g;
        let backward = g.region(g.region_of(id)).backward;
        if !backward {
            if let Some(name) = self.user_name(id) {
                // A named forward value: written out if short, else by name.
                return match self.define(id) {
                    Ok(text) if text.text.chars().count() <= INLINE_NAMED => Ok(text),
                    _ => {
                        self.named.insert(id);
                        Ok(Text::new(name, ATOM))
                    }
                };
            }
        }
        self.define(id)
    }

    /// A node's formula, from its operands' formulas.
    fn define(&mut self, id: NodeId) -> Result<Text, Opaque> {
        let g = self.g;
        if let Some(text) = self.leaf(id) {
            return Ok(text);
        }
        let args = g.args(id).to_vec();
        match g.op(id).clone() {
            Op::Project(k) => {
                let owner = args[0];
                return match g.op(owner).clone() {
                    Op::Branch { then, otherwise } => {
                        let cond = self.formula(g.args(owner)[0])?;
                        let yields = |r: RegionId| g.region(r).yields.get(k).copied();
                        let (Some(a), Some(b)) = (yields(then), yields(otherwise)) else {
                            return Err(Opaque::Loop);
                        };
                        let (a, b) = (self.formula(a)?, self.formula(b)?);
                        if a.text == b.text {
                            return Ok(a);
                        }
                        Ok(if_text(&cond.text, &a, &b))
                    }
                    Op::Call { .. } | Op::CallBackward { .. } | Op::CallHvp { .. } => Err(Opaque::Call),
                    _ => Err(Opaque::Loop),
                };
            }
            Op::Stacked(_) | Op::Loop { .. } | Op::While { .. } | Op::Branch { .. } => {
                return Err(Opaque::Loop)
            }
            Op::AddAt | Op::ZerosLike | Op::Sum | Op::Update => return Err(Opaque::Array),
            Op::Call { .. } | Op::CallBackward { .. } | Op::CallHvp { .. } => return Err(Opaque::Call),
            _ => {}
        }
        let mut operands = Vec::with_capacity(args.len());
        for &arg in &args {
            operands.push(self.formula(arg)?);
        }
        Ok(match g.op(id).clone() {
            Op::Prim(prim) => simplified(prim, &operands).unwrap_or_else(|| prim_text(prim, &operands)),
            Op::Index => index_text(&operands),
            Op::Select(cmp) => {
                let (lhs, rhs) = (&operands[0], &operands[1]);
                let cond = format!("{} {} {}", lhs.at(COMPARE + 1), cmp.symbol(), rhs.at(COMPARE + 1));
                if operands[2].text == operands[3].text {
                    operands[2].clone()
                } else {
                    if_text(&cond, &operands[2], &operands[3])
                }
            }
            Op::Choose if operands[1].text == operands[2].text => operands[1].clone(),
            Op::Choose => if_text(&operands[0].text, &operands[1], &operands[2]),
            op => generic_text(g, &op, &operands),
        })
    }
}

/// `if c { a } else { b }`, or `else if …` for a chain.
fn if_text(cond: &str, a: &Text, b: &Text) -> Text {
    let otherwise = if b.prec == IF && b.text.starts_with("if ") {
        b.text.clone()
    } else {
        format!("{{ {} }}", b.text)
    };
    Text::new(format!("if {cond} {{ {} }} else {otherwise}", a.text), IF)
}

/// `upstream × local` with the upstream gradient 1: `1 · z` is `z`, `2 · 1` is `2`, …
fn simplified(prim: Prim, operands: &[Text]) -> Option<Text> {
    let value = |k: usize| operands.get(k).and_then(|t| t.value);
    let negate = |t: &Text| match t.value {
        Some(v) => Text::constant(-v),
        None => Text::new(format!("−{}", t.at(UNARY)), UNARY),
    };
    match prim {
        Prim::Neg => value(0).map(|v| Text::constant(-v)),
        // The identities first, so that a constant keeps its text (an f32's digits).
        Prim::Mul => match (value(0), value(1)) {
            (Some(1.0), _) => Some(operands[1].clone()),
            (_, Some(1.0)) => Some(operands[0].clone()),
            (Some(-1.0), _) => Some(negate(&operands[1])),
            (_, Some(-1.0)) => Some(negate(&operands[0])),
            (Some(0.0), _) | (_, Some(0.0)) => Some(Text::constant(0.0)),
            (Some(a), Some(b)) => Some(Text::constant(a * b)),
            _ => None,
        },
        Prim::Div => match (value(0), value(1)) {
            (_, Some(1.0)) => Some(operands[0].clone()),
            (Some(0.0), _) => Some(Text::constant(0.0)),
            (Some(a), Some(b)) => Some(Text::constant(a / b)),
            _ => None,
        },
        Prim::Add => match (value(0), value(1)) {
            (Some(0.0), _) => Some(operands[1].clone()),
            (_, Some(0.0)) => Some(operands[0].clone()),
            (Some(a), Some(b)) => Some(Text::constant(a + b)),
            _ => None,
        },
        Prim::Sub => match (value(0), value(1)) {
            (_, Some(0.0)) => Some(operands[0].clone()),
            (Some(0.0), _) => Some(negate(&operands[1])),
            (Some(a), Some(b)) => Some(Text::constant(a - b)),
            _ => None,
        },
        _ => None,
    }
}

/// A primitive operation on its operands' texts.
pub fn prim_text(prim: Prim, operands: &[Text]) -> Text {
    let rule = prim.rule();
    let a = |k: usize| operands.get(k).cloned().unwrap_or_else(|| Text::new("?", ATOM));
    let list = |from: usize| {
        operands[from.min(operands.len())..]
            .iter()
            .map(|t| t.text.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (rule.notation, rule.syntax) {
        (Notation::Power, _) => match a(1).value.and_then(|n| superscript(n as i64)) {
            Some(power) => Text::new(format!("{}{power}", a(0).at(ATOM)), ATOM),
            None => Text::new(format!("{}^{}", a(0).at(ATOM), a(1).at(ATOM)), ATOM),
        },
        (Notation::Template(pieces, level), _) => {
            let text: String = pieces
                .iter()
                .map(|piece| match *piece {
                    Piece::Text(text) => text.to_string(),
                    Piece::Arg(k, at) => a(k).at(at),
                })
                .collect();
            Text::new(text, level)
        }
        (notation, Syntax::Prefix(symbol)) => {
            let symbol = match notation {
                Notation::Symbol(symbol) => symbol,
                _ => symbol,
            };
            Text::new(format!("{symbol}{}", a(0).at(UNARY)), UNARY)
        }
        (notation, Syntax::Infix(symbol, level)) => {
            let symbol = match notation {
                Notation::Symbol(symbol) => symbol,
                _ => symbol,
            };
            // Left-associative: `a − (b − c)` keeps its parentheses.
            Text::new(
                format!("{} {symbol} {}", a(0).at(level), a(1).at(level + 1)),
                level,
            )
        }
        (_, Syntax::Method | Syntax::Function) => Text::new(format!("{}({})", rule.name, list(0)), ATOM),
    }
}

/// `a[i][j]`
fn index_text(operands: &[Text]) -> Text {
    let mut text = operands.first().map(|a| a.at(ATOM)).unwrap_or_default();
    for index in operands.iter().skip(1) {
        text.push('[');
        text.push_str(&index.text);
        text.push(']');
    }
    Text::new(text, ATOM)
}

/// `g(a, b)`, by the function's last path segment.
fn call_text(path: &syn::Path, operands: &[Text]) -> Text {
    let name = path
        .segments
        .last()
        .map(|s| s.ident.unraw().to_string())
        .unwrap_or_default();
    let list = operands
        .iter()
        .map(|t| t.text.clone())
        .collect::<Vec<_>>()
        .join(", ");
    Text::new(format!("{name}({list})"), ATOM)
}

/// The operations besides primitives, projections and indexing.
fn generic_text(g: &Graph, op: &Op, operands: &[Text]) -> Text {
    let a = |k: usize| operands.get(k).cloned().unwrap_or_else(|| Text::new("?", ATOM));
    let list = || {
        operands
            .iter()
            .map(|t| t.text.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match op {
        Op::IntBin(int_op) if int_op.is_method() => {
            Text::new(format!("{}({}, {})", int_op.symbol(), a(0).text, a(1).text), ATOM)
        }
        Op::IntBin(int_op) => {
            let level = int_op.level();
            let symbol = match int_op {
                IntOp::Sub => "−",
                other => other.symbol(),
            };
            Text::new(
                format!("{} {symbol} {}", a(0).at(level), a(1).at(level + 1)),
                level,
            )
        }
        // Conversions between numbers change no value a reader cares about.
        Op::IntToFloat | Op::IntCast(_) => a(0),
        Op::Compare(cmp) => Text::new(
            format!(
                "{} {} {}",
                a(0).at(COMPARE + 1),
                cmp.symbol(),
                a(1).at(COMPARE + 1)
            ),
            COMPARE,
        ),
        Op::Choose => Text::new(
            format!("if {} {{ {} }} else {{ {} }}", a(0).text, a(1).text, a(2).text),
            IF,
        ),
        Op::Select(cmp) => Text::new(
            format!(
                "if {} {} {} {{ {} }} else {{ {} }}",
                a(0).at(COMPARE + 1),
                cmp.symbol(),
                a(1).at(COMPARE + 1),
                a(2).text,
                a(3).text
            ),
            IF,
        ),
        Op::And => Text::new(format!("{} && {}", a(0).at(AND), a(1).at(AND + 1)), AND),
        Op::Or => Text::new(format!("{} || {}", a(0).at(OR), a(1).at(OR + 1)), OR),
        Op::Not => Text::new(format!("!{}", a(0).at(UNARY)), UNARY),
        Op::ArrayLit => Text::new(format!("[{}]", list()), ATOM),
        Op::ArrayRepeat(len) => {
            let len = match len {
                crate::ir::Len::Runtime => a(1).text,
                len => len.write(&|index| constant_name(&g.named[index])),
            };
            Text::new(format!("[{}; {len}]", a(0).text), ATOM)
        }
        Op::Len => Text::new(format!("len({})", a(0).text), ATOM),
        Op::Sum => Text::new(format!("Σ {}", a(0).at(ATOM)), UNARY),
        Op::ZerosLike => Text::constant(0.0),
        Op::AddAt => Text::new(format!("{} + {}", a(0).at(SUM), a(1).at(SUM + 1)), SUM),
        Op::Call { callee, .. } => call_text(&g.named[*callee], operands),
        Op::Loop { .. } => Text::new("for", ATOM),
        Op::While { .. } => Text::new("while", ATOM),
        Op::Branch { .. } => Text::new("if", ATOM),
        // An ndarray operation, as a function of its operands: `dot(x, w1)`.
        Op::Tensor(op) => Text::new(format!("{}({})", op.rule().name, list()), ATOM),
        _ => Text::new("?", ATOM),
    }
}
