//! The computational graph: nodes in an arena, referred to by [`NodeId`].
//!
//! A node's inputs always come before it, so arena order is evaluation order and the
//! reverse pass is a backwards walk. Identical nodes are interned, which gives common
//! subexpression elimination for free; every new node first goes through the
//! simplifier's peephole rules ([`crate::simplify::peephole`]).
//!
//! The graph is pure dataflow over one straight-line body. Branches and loops will
//! enter as nodes that own sub-graphs (regions), keeping the arena and the
//! inputs-before-node invariant.

use std::collections::HashMap;
use std::fmt;

use proc_macro2::{Ident, Span};

use crate::rules::Prim;

/// Index of a node in [`Graph::nodes`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NodeId(u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The float type a function computes in (one per function).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FloatType {
    F32,
    F64,
}

impl FloatType {
    pub fn name(self) -> &'static str {
        match self {
            FloatType::F32 => "f32",
            FloatType::F64 => "f64",
        }
    }

    /// Rounds an `f64` to this type (a no-op for `f64`).
    pub fn round(self, value: f64) -> f64 {
        match self {
            FloatType::F32 => value as f32 as f64,
            FloatType::F64 => value,
        }
    }
}

/// A comparison, as used by [`Op::Select`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Cmp {
    Gt,
    Lt,
    Eq,
}

impl Cmp {
    pub fn eval(self, lhs: f64, rhs: f64) -> bool {
        match self {
            Cmp::Gt => lhs > rhs,
            Cmp::Lt => lhs < rhs,
            Cmp::Eq => lhs == rhs,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Lt => "<",
            Cmp::Eq => "==",
        }
    }
}

/// What a node computes. Float-valued unless said otherwise.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Op {
    /// The function's parameter with this index.
    Param(usize),
    /// The upstream gradient dL/d(output), the backward pass's input.
    Upstream,
    /// A float constant, stored as the bits of an `f64` (already rounded to the
    /// function's float type).
    Const(u64),
    /// A named constant the macro cannot see into (`PI`, a user's `const`), by index
    /// into [`Graph::named`].
    Named(usize),
    /// An integer (only as `powi`'s exponent): a named integer constant, if any, plus an
    /// offset — so that `n - 1` stays exact whatever `n` is.
    Int { named: Option<usize>, offset: i64 },
    /// An integer argument converted to the float type (`n as f64`).
    IntToFloat,
    /// A primitive operation of the rule table.
    Prim(Prim),
    /// `if args[0] CMP args[1] { args[2] } else { args[3] }`: how kinks (relu, abs, max)
    /// route gradients.
    Select(Cmp),
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Node {
    pub op: Op,
    pub args: Vec<NodeId>,
}

/// A function parameter: its name as the user wrote it, and its node.
#[derive(Clone, Debug)]
pub struct Param {
    pub ident: Ident,
    pub node: NodeId,
}

/// Where peephole rules may change results: in the user's forward code only exact
/// rewrites are allowed (the forward value must equal the original function's, bit for
/// bit); gradient code may also drop `0 · x` terms, as every AD tool does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    Forward,
    Reverse,
}

pub struct Graph {
    pub nodes: Vec<Node>,
    /// The node's user-given name (from a `let` or a parameter), if any.
    pub names: Vec<Option<Ident>>,
    /// The span of the tokens the node first came from, for diagnostics.
    pub spans: Vec<Option<Span>>,
    /// Paths of named constants, for [`Op::Named`] (emitted as the user wrote them).
    pub named: Vec<syn::Path>,
    pub params: Vec<Param>,
    pub float: FloatType,
    pub phase: Phase,
    interned: HashMap<Node, NodeId>,
}

impl Graph {
    pub fn new(float: FloatType) -> Self {
        Graph {
            nodes: Vec::new(),
            names: Vec::new(),
            spans: Vec::new(),
            named: Vec::new(),
            params: Vec::new(),
            float,
            phase: Phase::Forward,
            interned: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    pub fn op(&self, id: NodeId) -> &Op {
        &self.nodes[id.index()].op
    }

    pub fn args(&self, id: NodeId) -> &[NodeId] {
        &self.nodes[id.index()].args
    }

    pub fn ids(&self) -> impl DoubleEndedIterator<Item = NodeId> + ExactSizeIterator {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// The node computing `op` on `args`: simplified, then interned.
    pub fn add(&mut self, op: Op, args: Vec<NodeId>) -> NodeId {
        if let Some(simpler) = crate::simplify::peephole(self, &op, &args) {
            return simpler;
        }
        self.intern(Node { op, args })
    }

    fn intern(&mut self, node: Node) -> NodeId {
        if let Some(&id) = self.interned.get(&node) {
            return id;
        }
        let id = NodeId(self.nodes.len() as u32);
        self.interned.insert(node.clone(), id);
        self.nodes.push(node);
        self.names.push(None);
        self.spans.push(None);
        id
    }

    /// Records where a node came from (the first place wins, as for names).
    pub fn set_span(&mut self, id: NodeId, span: Span) {
        self.spans[id.index()].get_or_insert(span);
    }

    /// Gives a node the user's name, unless it already has one (`let b = a;` keeps `a`).
    pub fn name(&mut self, id: NodeId, ident: &Ident) {
        let slot = &mut self.names[id.index()];
        if slot.is_none() {
            *slot = Some(ident.clone());
        }
    }

    pub fn constant(&mut self, value: f64) -> NodeId {
        let value = self.float.round(value);
        self.add(Op::Const(value.to_bits()), Vec::new())
    }

    /// A constant of `core::{f32,f64}::consts` (`"LN_2"`), by name, as the reader knows it.
    pub fn std_constant(&mut self, name: &str) -> NodeId {
        let path = format!("::core::{}::consts::{name}", self.float.name());
        let path: syn::Path =
            syn::parse_str(&path).unwrap_or_else(|_| syn::Path::from(Ident::new(name, Span::call_site())));
        let index = self.named_index(&path);
        self.add(Op::Named(index), Vec::new())
    }

    /// The index of a named constant's path in [`Graph::named`], added if new (so that
    /// equal paths make equal nodes).
    pub fn named_index(&mut self, path: &syn::Path) -> usize {
        let text = quote::quote!(#path).to_string();
        match self
            .named
            .iter()
            .position(|p| quote::quote!(#p).to_string() == text)
        {
            Some(index) => index,
            None => {
                self.named.push(path.clone());
                self.named.len() - 1
            }
        }
    }

    pub fn const_value(&self, id: NodeId) -> Option<f64> {
        match self.op(id) {
            Op::Const(bits) => Some(f64::from_bits(*bits)),
            _ => None,
        }
    }

    pub fn is_const(&self, id: NodeId, value: f64) -> bool {
        self.const_value(id) == Some(value)
    }

    /// Whether the node's value is fixed at compile time or by the user's constants,
    /// so that it needs no gradient and can be emitted wherever it is used.
    pub fn is_free(&self, id: NodeId) -> bool {
        match self.op(id) {
            Op::Const(_) | Op::Named(_) | Op::Int { .. } => true,
            Op::IntToFloat => self.is_free(self.args(id)[0]),
            _ => false,
        }
    }

    pub fn prim(&mut self, prim: Prim, args: &[NodeId]) -> NodeId {
        self.add(Op::Prim(prim), args.to_vec())
    }

    pub fn neg(&mut self, a: NodeId) -> NodeId {
        self.prim(Prim::Neg, &[a])
    }

    pub fn sum(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.prim(Prim::Add, &[a, b])
    }

    pub fn diff(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.prim(Prim::Sub, &[a, b])
    }

    pub fn mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.prim(Prim::Mul, &[a, b])
    }

    pub fn div(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.prim(Prim::Div, &[a, b])
    }

    pub fn recip(&mut self, a: NodeId) -> NodeId {
        let one = self.constant(1.0);
        self.div(one, a)
    }

    pub fn square(&mut self, a: NodeId) -> NodeId {
        self.mul(a, a)
    }

    /// `if lhs CMP rhs { then } else { otherwise }`.
    pub fn select(&mut self, cmp: Cmp, lhs: NodeId, rhs: NodeId, then: NodeId, otherwise: NodeId) -> NodeId {
        self.add(Op::Select(cmp), vec![lhs, rhs, then, otherwise])
    }

    /// An integer `n` as a float, exactly.
    pub fn int_to_float(&mut self, int: NodeId) -> NodeId {
        self.add(Op::IntToFloat, vec![int])
    }

    /// The integer `n + delta`.
    pub fn int_offset(&mut self, int: NodeId, delta: i64) -> NodeId {
        match *self.op(int) {
            Op::Int { named, offset } => self.add(
                Op::Int {
                    named,
                    offset: offset.saturating_add(delta),
                },
                Vec::new(),
            ),
            _ => int,
        }
    }

    /// For every node, whether its value depends on a parameter (activity analysis:
    /// only such nodes carry gradients).
    pub fn active(&self) -> Vec<bool> {
        let mut active = vec![false; self.len()];
        for id in self.ids() {
            let node = self.node(id);
            active[id.index()] =
                matches!(node.op, Op::Param(_)) || node.args.iter().any(|a| active[a.index()]);
        }
        active
    }
}

/// The IR as text, one node a line (`%3 = mul %1, %2  // q`), for tests and debugging.
impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for id in self.ids() {
            let node = self.node(id);
            write!(f, "%{} = ", id.0)?;
            match &node.op {
                Op::Param(i) => write!(f, "param {}", self.params[*i].ident)?,
                Op::Upstream => write!(f, "upstream")?,
                Op::Const(bits) => write!(f, "const {:?}", f64::from_bits(*bits))?,
                Op::Named(i) => {
                    let path = &self.named[*i];
                    write!(f, "named {}", quote::quote!(#path).to_string().replace(' ', ""))?
                }
                Op::Int { named, offset } => match named {
                    Some(i) => {
                        let path = &self.named[*i];
                        write!(
                            f,
                            "int {} + {offset}",
                            quote::quote!(#path).to_string().replace(' ', "")
                        )?
                    }
                    None => write!(f, "int {offset}")?,
                },
                Op::IntToFloat => write!(f, "int_to_float")?,
                Op::Prim(prim) => write!(f, "{}", prim.rule().name)?,
                Op::Select(cmp) => write!(f, "select {}", cmp.symbol())?,
            }
            for (i, arg) in node.args.iter().enumerate() {
                write!(f, "{} %{}", if i == 0 { "" } else { "," }, arg.0)?;
            }
            if let Some(name) = &self.names[id.index()] {
                write!(f, "  // {name}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
