//! The computational graph: nodes in an arena, referred to by [`NodeId`].
//!
//! A node's inputs always come before it, so arena order is evaluation order and the
//! reverse pass is a backwards walk. Identical nodes are interned, which gives common
//! subexpression elimination for free; every new node first goes through the
//! simplifier's peephole rules (`peephole::peephole`).
//!
//! Control flow is structured: every node belongs to a [`Region`]. The function body is
//! the top region; an `if` is an [`Op::Branch`] node owning two regions, a loop an
//! [`Op::Loop`] or [`Op::While`] node owning its body. A region reads the nodes of the
//! regions around it, and hands values out through its `yields` (read by
//! [`Op::Project`] nodes beside the structured node); a loop body's `params` are the
//! loop-carried values at the start of an iteration (SSA with block parameters).

use std::collections::{HashMap, HashSet};
use std::fmt;

use proc_macro2::{Ident, Span};
use quote::ToTokens;

pub use crate::ops::Cmp;
use crate::ops::{precedence, Prim};

mod derivative;
mod peephole;

pub use derivative::At;

/// How many floating-point operations the backward pass may redo to recompute a value of
/// a loop body instead of saving it per iteration.
const RECOMPUTE_BUDGET: usize = 4;

/// The most floats a loop's stack of saved values keeps in a fixed-size array (32 KiB of
/// `f64`): larger stacks are `Vec`s, on the heap.
const MAX_STACK_FLOATS: u64 = 4096;

/// How many floats (or words) a value of this type takes, for [`MAX_STACK_FLOATS`].
fn floats_in(ty: &Ty) -> u64 {
    match ty {
        Ty::Array(element, Len::Lit(n)) => n.saturating_mul(floats_in(element)),
        // A `Vec`, an ndarray array: a pointer and lengths.
        Ty::Array(..) | Ty::Tensor { .. } => 3,
        // A callee's cache, of a size not known here: taken as large.
        Ty::Opaque(_) => MAX_STACK_FLOATS / 16,
        _ => 1,
    }
}

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
    /// A type parameter bounded by `chainrule::Real` (its name is [`Graph::generic`]).
    Generic,
}

impl FloatType {
    pub fn name(self) -> &'static str {
        match self {
            FloatType::F32 => "f32",
            FloatType::F64 => "f64",
            FloatType::Generic => "the generic float type",
        }
    }

    /// Rounds an `f64` to this type (a no-op for `f64`).
    pub fn round(self, value: f64) -> f64 {
        match self {
            FloatType::F32 => value as f32 as f64,
            FloatType::F64 | FloatType::Generic => value,
        }
    }
}

/// A comparison producing a bool, on floats or integers (`x > 0.0`, `i < n`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    pub fn eval<T: PartialOrd>(self, lhs: T, rhs: T) -> bool {
        match self {
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
            CmpOp::Eq => lhs == rhs,
            CmpOp::Ne => lhs != rhs,
        }
    }
}

/// Integer arithmetic (indices, trip counts): never differentiated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum IntOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    /// `a.min(b)`
    Min,
    /// `a.max(b)`
    Max,
    /// `a.pow(b)` (the exponent a `u32`)
    Pow,
}

impl IntOp {
    /// The operator (for the methods, their name).
    pub fn symbol(self) -> &'static str {
        match self {
            IntOp::Add => "+",
            IntOp::Sub => "-",
            IntOp::Mul => "*",
            IntOp::Div => "/",
            IntOp::Rem => "%",
            IntOp::Min => "min",
            IntOp::Max => "max",
            IntOp::Pow => "pow",
        }
    }

    /// The integer methods, by name: `i.min(1)`.
    pub fn method(name: &str) -> Option<IntOp> {
        [IntOp::Min, IntOp::Max, IntOp::Pow]
            .into_iter()
            .find(|op| op.symbol() == name)
    }

    /// Whether it is written as a method call, `a.min(b)`, rather than infix.
    pub fn is_method(self) -> bool {
        matches!(self, IntOp::Min | IntOp::Max | IntOp::Pow)
    }

    /// Its [`precedence`] as an infix operator.
    pub fn level(self) -> u8 {
        match self {
            IntOp::Add | IntOp::Sub => precedence::SUM,
            _ => precedence::PRODUCT,
        }
    }

    pub fn eval(self, a: i64, b: i64) -> Option<i64> {
        match self {
            IntOp::Add => a.checked_add(b),
            IntOp::Sub => a.checked_sub(b),
            IntOp::Mul => a.checked_mul(b),
            IntOp::Div => a.checked_div(b),
            IntOp::Rem => a.checked_rem(b),
            IntOp::Min => Some(a.min(b)),
            IntOp::Max => Some(a.max(b)),
            IntOp::Pow => a.checked_pow(u32::try_from(b).ok()?),
        }
    }
}

/// The length of an array type.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Len {
    /// `[f64; 3]`
    Lit(u64),
    /// `[f64; N]`, by index into [`Graph::named`].
    Named(usize),
    /// Known at run time only: a slice or `Vec` parameter, a stack of a loop whose trip
    /// count is a run-time value.
    Runtime,
    /// Arithmetic on lengths: `[f64; STEPS + 1]`, `[0.0; 2 * N]`.
    Op(IntOp, Box<Len>, Box<Len>),
}

impl Len {
    /// The indices into [`Graph::named`] of the constants it mentions.
    pub fn named(&self, out: &mut Vec<usize>) {
        match self {
            Len::Named(index) => out.push(*index),
            Len::Op(_, a, b) => {
                a.named(out);
                b.named(out);
            }
            Len::Lit(_) | Len::Runtime => {}
        }
    }

    /// The length as Rust source, each constant written by `path` (`STEPS + 1`).
    pub fn write<T: fmt::Display>(&self, path: &impl Fn(usize) -> T) -> String {
        match self {
            Len::Lit(n) => n.to_string(),
            Len::Named(index) => path(*index).to_string(),
            Len::Runtime => "0".to_string(),
            Len::Op(op, a, b) => {
                let operand = |len: &Len| match len {
                    Len::Op(..) => format!("({})", len.write(path)),
                    _ => len.write(path),
                };
                if op.is_method() {
                    format!("{}.{}({})", operand(a), op.symbol(), b.write(path))
                } else {
                    format!("{} {} {}", operand(a), op.symbol(), operand(b))
                }
            }
        }
    }
}

/// The type of a node's value.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Ty {
    /// The function's float type.
    Float,
    /// An integer; the type's name where it is known (`usize`), else inferred by rustc
    /// (and `usize` where a name is needed).
    Int(Option<String>),
    Bool,
    Array(Box<Ty>, Len),
    /// The cache of a called differentiated function (`g::Cache`), by index into
    /// [`Graph::named`] of its path.
    Opaque(usize),
    /// A structured node (its values come out through projections).
    Unit,
    /// An ndarray array of `rank` axes (`Array2<f64>`, `&Array1<f64>`, `ArrayView2<f64>`),
    /// its elements floats of the function's type or integers (labels); its shape is known
    /// at run time only. See [`crate::ops::tensor`].
    Tensor {
        elem: Box<Ty>,
        rank: u8,
    },
}

impl Ty {
    /// Whether values of this type carry gradients.
    pub fn is_differentiable(&self) -> bool {
        match self {
            Ty::Float => true,
            Ty::Array(element, _) | Ty::Tensor { elem: element, .. } => element.is_differentiable(),
            _ => false,
        }
    }

    /// A float array of `rank` axes (a float for rank 0).
    pub fn tensor(rank: u8) -> Ty {
        match rank {
            0 => Ty::Float,
            rank => Ty::Tensor {
                elem: Box::new(Ty::Float),
                rank,
            },
        }
    }

    /// The rank of an array value (0 for anything else).
    pub fn rank(&self) -> u8 {
        match self {
            Ty::Tensor { rank, .. } => *rank,
            _ => 0,
        }
    }

    pub fn is_tensor(&self) -> bool {
        matches!(self, Ty::Tensor { .. })
    }

    /// The type after indexing `depth` times.
    pub fn element(&self, depth: usize) -> Ty {
        match (depth, self) {
            (0, ty) => ty.clone(),
            (_, Ty::Array(element, _)) => element.element(depth - 1),
            (_, Ty::Tensor { elem, rank }) if depth >= *rank as usize => (**elem).clone(),
            (_, Ty::Tensor { elem, rank }) => Ty::Tensor {
                elem: elem.clone(),
                rank: rank - depth as u8,
            },
            _ => Ty::Float,
        }
    }

    pub fn int() -> Ty {
        Ty::Int(None)
    }
}

/// The integer type of a loop's index, as far as the stacks of saved values need it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IndexKind {
    Usize,
    /// `u8`, `u16`, `u32`, `u64`: never negative.
    Unsigned,
    /// Signed, or not known to the macro.
    Other,
}

/// Index of a region in [`Graph::regions`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RegionId(u32);

impl RegionId {
    /// The function body.
    pub const TOP: RegionId = RegionId(0);

    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A block of nodes: the function body, a branch of an `if`, the body or the condition of
/// a loop; a forward one or its reverse.
#[derive(Clone, Debug, Default)]
pub struct Region {
    pub parent: Option<RegionId>,
    /// Part of the backward pass.
    pub backward: bool,
    /// The structured node that owns it.
    pub owner: Option<NodeId>,
    /// Loop-carried values at the start of an iteration ([`Op::RegionParam`] nodes).
    pub params: Vec<NodeId>,
    /// The loop's index (or, in a `while` loop, its iteration counter).
    pub index: Option<NodeId>,
    /// What the region hands out: a branch's values, a loop body's next carried values,
    /// a `while` condition's bool.
    pub yields: Vec<NodeId>,
    /// Loop bodies: values the backward pass needs from every iteration, kept in
    /// per-iteration stacks ([`Op::Stacked`]).
    pub stacked: Vec<NodeId>,
    /// A reverse loop's body: how many of its carried values (the first) are the gradients
    /// flowing back through the loop, its only sources; the others accumulate gradients of
    /// values from outside it. Where the sources are all zero, the loop adds only zeros.
    pub sources: usize,
    /// A loop as the user wrote it (`for i in 0..n`, `while z < 10.0`) and the name of its
    /// index, for the pictures of the graph.
    pub header: Option<Header>,
}

/// A loop as the user wrote it, kept by the front end for the pictures.
#[derive(Clone, Debug, Default)]
pub struct Header {
    /// `for i in 0..n`, `while z < 10.0`
    pub text: String,
    /// The name of the loop's index (`i`), if the user named it.
    pub index: Option<String>,
}

/// What `#[differentiate(…)]` asks for besides the gradient: `trace` and `source` (both
/// off by default: they cost compile time).
#[derive(Clone, Copy, Default, Debug)]
pub struct Extras {
    /// `f::trace(args…)`.
    pub trace: bool,
    /// `f::SOURCE`.
    pub source: bool,
    /// `f::jvp(args…, tangent)`: forward mode.
    pub jvp: bool,
    /// `f::hvp(args…, tangent)` and `f::hessian(args…)`: forward mode over the reverse pass.
    pub hessian: bool,
}

impl Extras {
    /// The flag an attribute argument names (`trace`, `source`), if it is one and not set
    /// yet.
    pub fn flag(&mut self, keyword: &proc_macro2::Ident) -> Option<&mut bool> {
        let flag = if keyword == "trace" {
            &mut self.trace
        } else if keyword == "source" {
            &mut self.source
        } else if keyword == "jvp" {
            &mut self.jvp
        } else if keyword == "hessian" {
            &mut self.hessian
        } else {
            return None;
        };
        (!*flag).then_some(flag)
    }
}

/// What a function returns, as the generated code's signatures write it.
#[derive(Clone, Debug)]
pub enum Returns {
    /// A float: `f64`, `f32`, `T`.
    Float,
    /// A vector of floats, its type as written: `[f64; 3]`, `Vec<f64>`, `Array1<f64>` (the
    /// output node is an array of floats, or a rank-1 ndarray array), and its length where
    /// the type says it (`3`).
    Vector {
        written: proc_macro2::TokenStream,
        len: Option<proc_macro2::TokenStream>,
        kind: VectorKind,
    },
    /// A tuple of this many floats, `(f64, f64)`: in the graph an array of them (the front
    /// end reads `(a, b)` in return position as `[a, b]`); the signatures convert.
    Tuple(usize),
}

/// Which vector type a function returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorKind {
    /// `[f64; M]`
    Fixed,
    /// `Vec<f64>` (in the graph, an array of run-time length, or of a length the body fixes:
    /// `vec![a, b]`)
    Vec,
    /// `Array1<f64>`
    Array1,
}

impl Returns {
    /// Whether the function is vector-valued (it has a Jacobian rather than a gradient).
    pub fn is_vector(&self) -> bool {
        !matches!(self, Returns::Float)
    }

    /// The number of outputs, where the type says it: `3` for `[f64; 3]` or a tuple of 3.
    pub fn len(&self) -> Option<proc_macro2::TokenStream> {
        match self {
            Returns::Float => Some(quote::quote!(1usize)),
            Returns::Vector { len, .. } => len.clone(),
            Returns::Tuple(n) => Some(proc_macro2::Literal::usize_unsuffixed(*n).into_token_stream()),
        }
    }
}

/// A function, read: its graph and the node of its result.
pub struct Function {
    pub item: syn::ItemFn,
    pub graph: Graph,
    pub output: NodeId,
    /// What it returns: a float, or a vector of them.
    pub returns: Returns,
    /// `#[differentiate(backward = path)]`: the user's own backward rule; the body is
    /// not read.
    pub custom: Option<syn::Path>,
    /// `#[differentiate(backward = …, jvp = path)]`: its forward rule beside it.
    pub custom_jvp: Option<syn::Path>,
    /// `#[differentiate(trace, source)]`: what else to generate.
    pub extras: Extras,
    /// A method of a `#[differentiate] impl` block, read as a function of `self_` (its
    /// module is named after the type and the method: no function of that name exists).
    pub method: bool,
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
    /// An integer: a named integer constant, if any, plus an offset — so that `n - 1`
    /// stays exact whatever `n` is.
    Int {
        named: Option<usize>,
        offset: i64,
    },
    /// Integer arithmetic on two integers.
    IntBin(IntOp),
    /// An integer converted to the float type (`n as f64`).
    IntToFloat,
    /// An integer converted to another integer type (`k as usize`).
    IntCast(String),
    /// A primitive operation of the rule table.
    Prim(Prim),
    /// `if args[0] CMP args[1] { args[2] } else { args[3] }`: how kinks (relu, abs, max)
    /// route gradients.
    Select(Cmp),
    /// `if args[0] { args[1] } else { args[2] }` on a bool: a kink's routing decided in the
    /// forward pass, where backward code would otherwise keep both operands of the
    /// comparison per iteration (see [`Graph::routed`]).
    Choose,
    /// A comparison (bool).
    Compare(CmpOp),
    Bool(bool),
    And,
    Or,
    Not,
    /// `[a, b, c]`
    ArrayLit,
    /// `[value; len]`
    ArrayRepeat(Len),
    /// `array[i][j]…`: args are the array, then one index per level.
    Index,
    /// `array` with `array[i]… = value`: args are the array, the value, the indices.
    Update,
    /// `array` with `array[i]… += value` (gradients flowing into an element).
    AddAt,
    /// `array` with `value` pushed (`v.push(x)` on a `Vec`): args are the array, the
    /// value, and the array's length before (the pushed element's index, for the
    /// backward pass).
    Push,
    /// Zeros shaped like `args[0]` (an array's gradient before anything flows into it).
    ZerosLike,
    /// The length of an array or slice (`x.len()`).
    Len,
    /// The sum of all elements of an array.
    Sum,
    /// `if args[0] { then } else { otherwise }`.
    Branch {
        then: RegionId,
        otherwise: RegionId,
    },
    /// `for i in args[0]..args[1]` (reversed if `rev`), the loop-carried values starting
    /// from args[2..].
    Loop {
        body: RegionId,
        rev: bool,
    },
    /// `while cond { body }`, the carried values starting from args[..]. Its last output is
    /// the number of iterations.
    While {
        cond: RegionId,
        body: RegionId,
    },
    /// The `k`-th loop-carried value, inside a loop body or condition.
    RegionParam(usize),
    /// The loop's index inside its body.
    LoopIndex,
    /// The `k`-th value coming out of the structured node `args[0]`.
    Project(usize),
    /// The per-iteration stack of the loop `args[0]`'s `stacked[k]`.
    Stacked(usize),
    /// A call of another `#[differentiate]` function (path by index into
    /// [`Graph::named`]); `by_ref` has bit k set where argument k is passed as `&arg`,
    /// `deref` where it is `*arg`. Outputs: the value, and the callee's cache.
    Call {
        callee: usize,
        by_ref: u64,
        deref: u64,
    },
    /// The call in forward mode: args are the arguments, then one tangent per argument
    /// (for an argument with none, an integer or a bool, the argument itself, unread).
    /// Outputs: the value, and its tangent (`g::__jvp`).
    CallJvp {
        callee: usize,
        by_ref: u64,
        deref: u64,
    },
    /// Its backward pass, args [cache, upstream] (then the call's arguments, where the
    /// graph is [`Graph::second_order`]); output k is the gradient of argument k (of
    /// `arity`).
    CallBackward {
        callee: usize,
        arity: usize,
        /// The call's (see [`Op::Call`]).
        by_ref: u64,
        deref: u64,
    },
    /// The call's backward pass in forward mode (second derivatives, `g::__hvp`): args are
    /// the call's arguments, one tangent per argument (as [`Op::CallJvp`]), the upstream
    /// and its tangent. Output k < `arity` is the gradient of argument k, output
    /// `arity + k` its tangent.
    CallHvp {
        callee: usize,
        by_ref: u64,
        deref: u64,
        arity: usize,
    },
    /// An operation on whole arrays, of the rule table's array part
    /// ([`crate::ops::tensor`]). Arithmetic and the float methods applied to arrays
    /// are [`Op::Prim`] nodes of array type: element by element.
    Tensor(crate::ops::tensor::TensorOp),
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Node {
    pub op: Op,
    pub args: Vec<NodeId>,
    pub region: RegionId,
}

/// A function parameter: its name as the user wrote it, its type, its node, and whether
/// the gradient is taken with respect to it.
#[derive(Clone, Debug)]
pub struct Param {
    /// Its name in the generated code (for a struct's field, a fresh name: `p_w`).
    pub ident: Ident,
    /// The type as written, for signatures: back ends copy these tokens and never read
    /// them (how the value is passed is [`Param::passing`]).
    pub written: proc_macro2::TokenStream,
    pub passing: Passing,
    pub node: NodeId,
    pub wrt: bool,
    /// A field of a struct parameter: how the generated code binds it (`&p.w`, `p.b`), and
    /// its name as the user writes it (`p.w`).
    pub field: Option<(proc_macro2::TokenStream, String)>,
}

impl Param {
    /// Its name as the user writes it: `x`, or `p.w` for a struct's field.
    pub fn label(&self) -> String {
        use syn::ext::IdentExt;
        match &self.field {
            Some((_, label)) => label.clone(),
            None => self.ident.unraw().to_string(),
        }
    }
}

/// A parameter of the signature: one [`Param`], or a struct whose fields are params.
#[derive(Clone, Debug)]
pub enum Argument {
    Param(usize),
    Record(Record),
}

/// A parameter of a `#[derive(chainrule::Differentiable)]` struct type (`p: &Params`, or
/// `self`): its fields are [`Param`]s, bound from it at the start, and its gradient is a
/// value of the same struct, built from theirs.
#[derive(Clone, Debug)]
pub struct Record {
    pub ident: Ident,
    /// The type as written (`&Params`), for signatures.
    pub written: proc_macro2::TokenStream,
    /// The struct type without the reference (`Params<T>`), for the gradient's field.
    pub owned: proc_macro2::TokenStream,
    pub tree: Tree,
    /// Whether the gradient is taken with respect to it (some field is a float).
    pub wrt: bool,
    /// A method's `self` read as data, field by field, its struct unseen: its reads are
    /// params of their own, in no tree (see `front::opaque`).
    pub opaque: bool,
}

/// A struct's fields, as the gradient is built: `Params { w: d_p_w, n: 0, … }`.
#[derive(Clone, Debug)]
pub struct Tree {
    /// The struct's path, for its literal (`model::Params`).
    pub path: proc_macro2::TokenStream,
    pub fields: Vec<(Ident, Field)>,
    /// For an array-of-structs parameter (`data: &[Sample]`), how many structs: each field
    /// holds that field of every element.
    pub elements: Option<Elements>,
}

/// How many structs an array-of-structs parameter holds: `&[S]` and `&Vec<S>` a run-time
/// number, `[S; N]` and `&[S; N]` `N`.
#[derive(Clone, Debug)]
pub enum Elements {
    Runtime,
    Fixed(proc_macro2::TokenStream),
}

#[derive(Clone, Debug)]
pub enum Field {
    /// The [`Param`] with this index.
    Leaf(usize),
    /// Data (an integer, a bool, `#[chainrule(data)]`): `Default` in a gradient.
    Data,
    Nested(Tree),
}

/// How a parameter is passed, decided once by the front end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Passing {
    /// By value: `x: f64`, `w: [f64; 3]`, `n: usize`.
    Value,
    /// An owned ndarray array: `a: Array2<f64>`.
    OwnedArray,
    /// An ndarray view: `a: ArrayView2<f64>` (the cache copies it).
    View,
    /// A reference to a fixed-size array: `w: &[f64; 3]`.
    RefFixed,
    /// A slice or a `&Vec`: `xs: &[f64]` (the cache copies it).
    RefSlice,
    /// A reference to an ndarray array: `a: &Array2<f64>`.
    RefArray,
}

impl Passing {
    /// Passed by reference (`&…`).
    pub fn is_reference(self) -> bool {
        matches!(self, Passing::RefFixed | Passing::RefSlice | Passing::RefArray)
    }

    /// An ndarray array, owned, viewed or borrowed.
    pub fn is_ndarray(self) -> bool {
        matches!(self, Passing::OwnedArray | Passing::View | Passing::RefArray)
    }
}

/// Where peephole rules may change results: in the user's forward code only exact
/// rewrites are allowed (the forward value must equal the original function's, bit for
/// bit); gradient code may also drop `0 · x` terms, as every AD tool does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    Forward,
    Reverse,
}

#[derive(Clone)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub tys: Vec<Ty>,
    /// The node's user-given name (from a `let` or a parameter), if any.
    pub names: Vec<Option<Ident>>,
    /// The span of the tokens the node first came from, for diagnostics.
    pub spans: Vec<Option<Span>>,
    /// Paths of named constants, for [`Op::Named`] (emitted as the user wrote them).
    pub named: Vec<syn::Path>,
    pub params: Vec<Param>,
    /// The signature's parameters, in order: params, and structs of them.
    pub signature: Vec<Argument>,
    pub regions: Vec<Region>,
    /// Where new nodes go.
    pub current: RegionId,
    pub float: FloatType,
    /// The type parameter of a generic function (`T` in `fn f<T: Real>`), which then
    /// computes in `T` (constants are folded as f64 values only where exact for any `T`).
    pub generic: Option<Ident>,
    /// The function's lifetime parameters as written (`'a`, `'b: 'a`), which the generated
    /// functions taking its parameters declare too.
    pub lifetimes: Vec<proc_macro2::TokenStream>,
    /// The function's const parameters as written (`const N: usize`), which the generated
    /// functions and structs declare too, and their names.
    pub consts: Vec<(proc_macro2::TokenStream, Ident)>,
    pub phase: Phase,
    /// Second derivatives will be taken (`hessian`): a call's backward pass reads the call's
    /// arguments too (saved per iteration in a loop), which forward mode over the reverse
    /// pass hands to the callee's `__hvp`.
    pub second_order: bool,
    /// Each forward loop body's index, as its reversed loop's index.
    pub mirror_index: HashMap<RegionId, NodeId>,
    /// For a backward node, the forward node whose adjoint it is (the first one), so that
    /// it can be named after it (`d_q`).
    pub adjoint_of: HashMap<NodeId, NodeId>,
    /// In forward mode's graph, for a tangent, the node whose tangent it is (`t_q`).
    pub tangent_of: HashMap<NodeId, NodeId>,
    /// Comparisons made in the forward pass for backward code's routing
    /// ([`Graph::routed`]): named `routing`.
    pub routing: HashSet<NodeId>,
    interned: HashMap<Node, NodeId>,
    /// The index in [`Graph::named`] of each path, by its text.
    named_by_text: HashMap<String, usize>,
}

impl Graph {
    pub fn new(float: FloatType) -> Self {
        Graph {
            nodes: Vec::new(),
            tys: Vec::new(),
            names: Vec::new(),
            spans: Vec::new(),
            named: Vec::new(),
            params: Vec::new(),
            signature: Vec::new(),
            regions: vec![Region::default()],
            current: RegionId::TOP,
            float,
            generic: None,
            lifetimes: Vec::new(),
            consts: Vec::new(),
            phase: Phase::Forward,
            second_order: false,
            mirror_index: HashMap::new(),
            adjoint_of: HashMap::new(),
            tangent_of: HashMap::new(),
            routing: HashSet::new(),
            interned: HashMap::new(),
            named_by_text: HashMap::new(),
        }
    }

    /// An empty graph for the same function: its float type, generics, named paths and
    /// signature, without nodes, parameters or regions but the top one (forward mode builds
    /// its graph anew from the function's).
    pub fn derived(&self) -> Graph {
        Graph {
            named: self.named.clone(),
            named_by_text: self.named_by_text.clone(),
            signature: self.signature.clone(),
            generic: self.generic.clone(),
            lifetimes: self.lifetimes.clone(),
            consts: self.consts.clone(),
            ..Graph::new(self.float)
        }
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no nodes yet.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
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

    pub fn ty(&self, id: NodeId) -> &Ty {
        &self.tys[id.index()]
    }

    pub fn region_of(&self, id: NodeId) -> RegionId {
        self.nodes[id.index()].region
    }

    pub fn region(&self, id: RegionId) -> &Region {
        &self.regions[id.index()]
    }

    pub fn region_mut(&mut self, id: RegionId) -> &mut Region {
        &mut self.regions[id.index()]
    }

    pub fn ids(&self) -> impl DoubleEndedIterator<Item = NodeId> + ExactSizeIterator {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// The nodes of one region, in evaluation order.
    pub fn region_nodes(&self, region: RegionId) -> Vec<NodeId> {
        self.ids().filter(|&id| self.region_of(id) == region).collect()
    }

    /// A new region inside the current one (not entered).
    pub fn new_region(&mut self, backward: bool) -> RegionId {
        let id = RegionId(self.regions.len() as u32);
        self.regions.push(Region {
            parent: Some(self.current),
            backward,
            ..Region::default()
        });
        id
    }

    /// Whether `inner` is `outer` or nested in it.
    pub fn is_within(&self, inner: RegionId, outer: RegionId) -> bool {
        let mut region = Some(inner);
        while let Some(r) = region {
            if r == outer {
                return true;
            }
            region = self.region(r).parent;
        }
        false
    }

    /// The node computing `op` on `args`: simplified, then interned.
    pub fn add(&mut self, op: Op, args: Vec<NodeId>) -> NodeId {
        if let Some(simpler) = peephole::peephole(self, &op, &args) {
            return simpler;
        }
        let ty = self.infer(&op, &args);
        self.add_typed(op, args, ty)
    }

    /// Replaces a node's operation (same arguments and type), keeping the interning
    /// table true.
    pub fn set_op(&mut self, id: NodeId, op: Op) {
        let node = &self.nodes[id.index()];
        if self.interned.get(node) == Some(&id) {
            self.interned.remove(node);
        }
        let node = &mut self.nodes[id.index()];
        node.op = op;
        if !self.interned.contains_key(node) {
            self.interned.insert(node.clone(), id);
        }
    }

    /// Adds a node of a given type, without simplification.
    pub fn add_typed(&mut self, op: Op, mut args: Vec<NodeId>, ty: Ty) -> NodeId {
        if self.region(self.current).backward
            && op == Op::Len
            && args.len() == 1
            && self.region_of(args[0]) == RegionId::TOP
            && !self.is_free(args[0])
            && !self.region(RegionId::TOP).backward
        {
            // The length of a top-level array, read by backward code: taken in the forward
            // pass, so that the cache keeps a `usize`, not a copy of the array only its
            // length is read of.
            let saved = self.current;
            self.current = RegionId::TOP;
            let len = self.add_typed(op, args, ty);
            self.current = saved;
            return len;
        }
        if self.region(self.current).backward {
            // Backward code reads forward values through the cache and the stacks.
            for arg in &mut args {
                *arg = self.import(*arg);
            }
        }
        // Constants belong to no block: one node serves everywhere.
        let leaf =
            matches!(op, Op::Const(_) | Op::Named(_) | Op::Int { .. } | Op::Bool(_)) && args.is_empty();
        let region = if leaf { RegionId::TOP } else { self.current };
        let node = Node { op, args, region };
        if let Some(&id) = self.interned.get(&node) {
            return id;
        }
        let id = NodeId(self.nodes.len() as u32);
        // Structured nodes are each their own; a typed zero's type is not in the key; a
        // vector of run-time length (`vec![0.0; n]`, `Vec::new()`) is an allocation of its
        // own (two are two variables, each moved into its own).
        let unique = matches!(
            node.op,
            Op::Branch { .. }
                | Op::Loop { .. }
                | Op::While { .. }
                | Op::RegionParam(_)
                | Op::LoopIndex
                | Op::Call { .. }
                | Op::CallJvp { .. }
                | Op::CallBackward { .. }
                | Op::CallHvp { .. }
                | Op::ArrayRepeat(Len::Runtime)
        ) || (node.op == Op::ZerosLike && node.args.is_empty());
        let internable = !unique;
        if internable {
            self.interned.insert(node.clone(), id);
        }
        self.nodes.push(node);
        self.tys.push(ty);
        self.names.push(None);
        self.spans.push(None);
        id
    }

    /// The type of `op` applied to `args`.
    fn infer(&self, op: &Op, args: &[NodeId]) -> Ty {
        let arg_ty = |k: usize| args.get(k).map(|&a| self.ty(a).clone()).unwrap_or(Ty::Float);
        match op {
            Op::Param(i) => self
                .params
                .get(*i)
                .map(|p| self.ty(p.node).clone())
                .unwrap_or(Ty::Float),
            Op::Int { .. } | Op::LoopIndex => Ty::int(),
            Op::IntBin(_) => match (arg_ty(0), arg_ty(1)) {
                (Ty::Int(Some(name)), _) | (_, Ty::Int(Some(name))) => Ty::Int(Some(name)),
                _ => Ty::int(),
            },
            Op::Len => Ty::Int(Some("usize".to_string())),
            Op::IntCast(name) => Ty::Int(Some(name.clone())),
            Op::Compare(_) | Op::Bool(_) | Op::And | Op::Or | Op::Not => Ty::Bool,
            Op::Choose => arg_ty(1),
            Op::ArrayLit => Ty::Array(Box::new(arg_ty(0)), Len::Lit(args.len() as u64)),
            Op::ArrayRepeat(len) => Ty::Array(Box::new(arg_ty(0)), len.clone()),
            Op::Index => arg_ty(0).element(args.len().saturating_sub(1)),
            Op::Update | Op::AddAt | Op::ZerosLike | Op::Push => arg_ty(0),
            Op::Branch { .. } | Op::Loop { .. } | Op::While { .. } => Ty::Unit,
            Op::Call { .. } | Op::CallJvp { .. } | Op::CallBackward { .. } | Op::CallHvp { .. } => Ty::Unit,
            // Adjoints of arrays add up element by element.
            Op::Prim(_) if matches!(arg_ty(0), Ty::Array(..)) => arg_ty(0),
            // Element by element on ndarray arrays (broadcast to the largest rank).
            Op::Prim(_) | Op::Select(_) if args.iter().any(|&a| self.ty(a).is_tensor()) => {
                Ty::tensor(args.iter().map(|&a| self.ty(a).rank()).max().unwrap_or(0))
            }
            Op::Tensor(op) => {
                let ranks: Vec<u8> = args.iter().map(|&a| self.ty(a).rank()).collect();
                match op.rule().shape {
                    // `[usize; rank]`
                    true => Ty::Array(
                        Box::new(Ty::Int(Some("usize".to_string()))),
                        Len::Lit(u64::from(op.result(&ranks))),
                    ),
                    false => Ty::tensor(op.result(&ranks)),
                }
            }
            _ => Ty::Float,
        }
    }

    /// A forward value, as backward code in the current region can read it.
    ///
    /// Top-level values are read from the cache; integers computed from loop indices are
    /// recomputed; anything else inside a branch or loop is exported from it (as an extra
    /// output of the branch, or a per-iteration stack of the loop) and read from there.
    pub fn import(&mut self, id: NodeId) -> NodeId {
        let region = self.region_of(id);
        if region == RegionId::TOP || self.is_free(id) || self.region(region).backward {
            return id;
        }
        if let Some((owner, init, step)) = self.induction(id) {
            // A counter the loop steps by the same amount each iteration (`index += 1`):
            // its value at iteration t is its value before the loop plus t steps.
            if let Some(&index) = self.mirror_index.get(&region) {
                let position = self.stack_position(owner, index);
                let offset = self.int_bin(IntOp::Mul, position, step);
                return self.int_bin(IntOp::Add, init, offset);
            }
        }
        if self.recomputable(id) {
            // Cheaper to compute again than to save: `i + 1`, `xs.len()`, `w[i]` of a
            // cached `w`.
            return match self.op(id).clone() {
                Op::LoopIndex => self.mirror_index.get(&region).copied().unwrap_or(id),
                op => {
                    let args = self.args(id).to_vec();
                    let ty = self.ty(id).clone();
                    match op {
                        Op::IntBin(_) | Op::Len | Op::Index | Op::IntToFloat | Op::IntCast(_) => {
                            self.add(op, args)
                        }
                        _ => self.add_typed(op, args, ty),
                    }
                }
            };
        }
        let Some(owner) = self.region(region).owner else {
            return id;
        };
        let outer = self.region_of(owner);
        let saved = self.current;
        let imported = match self.op(owner).clone() {
            Op::Branch { then, otherwise } => {
                // An output of the branch: one that already gives the value where this
                // branch runs (the backward code reading it runs only there), or a new one
                // giving it here and zero in the other branch.
                let other = if region == then { otherwise } else { then };
                let k = match self.region(region).yields.iter().position(|&y| y == id) {
                    Some(k) => k,
                    None => {
                        self.region_mut(region).yields.push(id);
                        self.current = other;
                        let zero = self.add_typed(Op::ZerosLike, Vec::new(), self.ty(id).clone());
                        self.region_mut(other).yields.push(zero);
                        self.region(region).yields.len() - 1
                    }
                };
                self.current = outer;
                let out = self.project(owner, k, self.ty(id).clone());
                self.current = saved;
                self.import(out)
            }
            Op::Loop { .. } | Op::While { .. } => {
                // A per-iteration stack, read back at the same iteration.
                let stacked = &mut self.region_mut(region).stacked;
                let k = match stacked.iter().position(|&s| s == id) {
                    Some(k) => k,
                    None => {
                        stacked.push(id);
                        stacked.len() - 1
                    }
                };
                self.current = outer;
                let ty = Ty::Array(Box::new(self.ty(id).clone()), self.stack_len(owner, self.ty(id)));
                let stack = self.add_typed(Op::Stacked(k), vec![owner], ty);
                self.current = saved;
                let index = match self.mirror_index.get(&region) {
                    Some(&index) => index,
                    None => return id,
                };
                let position = match self.op(owner) {
                    Op::Loop { .. } => self.stack_position(owner, index),
                    _ => index,
                };
                self.index(stack, &[position])
            }
            _ => id,
        };
        self.current = saved;
        imported
    }

    /// Whether backward code can recompute a forward value from values it has anyway,
    /// rather than saving it: integer arithmetic on loop indices, lengths, and elements of
    /// arrays the backward pass has (a top-level `w[i]`).
    pub fn recomputable(&self, id: NodeId) -> bool {
        let mut budget = RECOMPUTE_BUDGET;
        self.recompute_within(id, &mut budget)
    }

    /// A `usize` counter a `for` loop carries and steps by the same amount each iteration
    /// (`let mut index = c * n; for r in 0..m { …; index += 1; }`, the step computed before
    /// the loop): the loop, the counter's value before it, and the step.
    pub fn induction(&self, id: NodeId) -> Option<(NodeId, NodeId, NodeId)> {
        let Op::RegionParam(k) = *self.op(id) else {
            return None;
        };
        if self.ty(id) != &Ty::Int(Some("usize".to_string())) {
            return None;
        }
        let region = self.region_of(id);
        let owner = self.region(region).owner?;
        if !matches!(self.op(owner), Op::Loop { .. }) || self.region(region).backward {
            return None;
        }
        let next = *self.region(region).yields.get(k)?;
        let init = *self.args(owner).get(2 + k)?;
        let Op::IntBin(IntOp::Add) = self.op(next) else {
            return None;
        };
        let step = match *self.args(next) {
            [a, b] if a == id => b,
            [a, b] if b == id => a,
            _ => return None,
        };
        let outside = |n: NodeId| self.is_free(n) || !self.is_within(self.region_of(n), region);
        outside(step).then_some((owner, init, step))
    }

    /// [`Graph::recomputable`], spending at most `budget` floating-point operations.
    fn recompute_within(&self, id: NodeId, budget: &mut usize) -> bool {
        let region = self.region_of(id);
        if region == RegionId::TOP || self.is_free(id) {
            return true;
        }
        if self.induction(id).is_some() {
            // From the counter before the loop (kept once per outer iteration, if it is not
            // computed again) and the loop's index.
            return self.mirror_index.contains_key(&region);
        }
        match self.op(id) {
            Op::LoopIndex => self.mirror_index.contains_key(&region),
            Op::IntBin(_) | Op::Len | Op::Index | Op::IntToFloat | Op::IntCast(_) => {
                self.args(id).iter().all(|&a| self.recompute_within(a, budget))
            }
            // A few additions and multiplications (`x[i + 1] - x[i] * x[i]`) cost less than
            // a per-iteration stack: an allocation, a store and a load. They give the same
            // bits again.
            Op::Prim(Prim::Add | Prim::Sub | Prim::Mul | Prim::Neg | Prim::Max | Prim::Min)
                if self.ty(id) == &Ty::Float && *budget > 0 =>
            {
                *budget -= 1;
                self.args(id).iter().all(|&a| self.recompute_within(a, budget))
            }
            _ => false,
        }
    }

    /// The integer type of a `for` loop's index, as its stacks need to know it.
    pub fn index_kind(&self, owner: NodeId) -> IndexKind {
        let name = self.args(owner)[..2]
            .iter()
            .find_map(|&bound| match self.ty(bound) {
                Ty::Int(Some(name)) => Some(name.clone()),
                _ => None,
            });
        let literal = |k: usize| self.int_value(self.args(owner)[k]).is_some_and(|v| v >= 0);
        match name.as_deref() {
            // Literal bounds: the stacks' indexing makes the index a `usize`, as ever.
            None if literal(0) && literal(1) => IndexKind::Usize,
            Some("usize") => IndexKind::Usize,
            Some("u8" | "u16" | "u32" | "u64") => IndexKind::Unsigned,
            // Signed, or a type the macro cannot see (a user's integer constant).
            _ => IndexKind::Other,
        }
    }

    /// Where the iteration with index `index` of the `for` loop `owner` keeps its values
    /// in the loop's stacks: `index - start`, as a `usize` (computed in `i64` for signed
    /// types, where `start` may be negative).
    pub fn stack_position(&mut self, owner: NodeId, index: NodeId) -> NodeId {
        let start = self.args(owner)[0];
        let usize = || "usize".to_string();
        match self.index_kind(owner) {
            IndexKind::Usize => self.int_bin(IntOp::Sub, index, start),
            IndexKind::Unsigned => {
                let offset = self.int_bin(IntOp::Sub, index, start);
                self.add(Op::IntCast(usize()), vec![offset])
            }
            IndexKind::Other if self.int_value(start) == Some(0) => {
                self.add(Op::IntCast(usize()), vec![index])
            }
            IndexKind::Other => {
                let index = self.add(Op::IntCast("i64".to_string()), vec![index]);
                let start = self.add(Op::IntCast("i64".to_string()), vec![start]);
                let offset = self.int_bin(IntOp::Sub, index, start);
                self.add(Op::IntCast(usize()), vec![offset])
            }
        }
    }

    /// How many entries a loop's per-iteration stacks have: a literal or named constant
    /// where the range says so, else a run-time length.
    pub fn stack_len(&self, owner: NodeId, saved: &Ty) -> Len {
        if !matches!(self.op(owner), Op::Loop { .. }) {
            return Len::Runtime;
        }
        let (start, end) = (self.args(owner)[0], self.args(owner)[1]);
        match (self.op(start), self.op(end)) {
            (
                Op::Int {
                    named: None,
                    offset: a,
                },
                Op::Int {
                    named: None,
                    offset: b,
                },
            ) => {
                let len = u64::try_from(b - a).unwrap_or(0);
                // A fixed array on the stack while it is small; on the heap past that (a
                // million saved floats would overflow the thread's stack). A named
                // constant's value is not known here: the heap too.
                let floats = len.saturating_mul(floats_in(saved));
                if floats <= MAX_STACK_FLOATS {
                    Len::Lit(len)
                } else {
                    Len::Runtime
                }
            }
            _ => Len::Runtime,
        }
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

    pub fn int(&mut self, value: i64) -> NodeId {
        self.add(
            Op::Int {
                named: None,
                offset: value,
            },
            Vec::new(),
        )
    }

    /// A constant of `core::{f32,f64}::consts` (`"LN_2"`), by name, as the reader knows it.
    pub fn std_constant(&mut self, name: &str, value: f64) -> NodeId {
        if self.generic.is_some() {
            return self.constant(value); // made with `T::from_f64`
        }
        let path = format!("::core::{}::consts::{name}", self.float.name());
        let path: syn::Path =
            syn::parse_str(&path).unwrap_or_else(|_| syn::Path::from(Ident::new(name, Span::call_site())));
        let index = self.named_index(&path);
        self.add(Op::Named(index), Vec::new())
    }

    /// The index of a named constant's path in [`Graph::named`], added if new (so that
    /// equal paths make equal nodes).
    /// The index of a named constant's path in [`Graph::named`], added if new.
    pub fn named_index(&mut self, path: &syn::Path) -> usize {
        let text = quote::quote!(#path).to_string();
        if let Some(&index) = self.named_by_text.get(&text) {
            return index;
        }
        self.named.push(path.clone());
        self.named_by_text.insert(text, self.named.len() - 1);
        self.named.len() - 1
    }

    pub fn const_value(&self, id: NodeId) -> Option<f64> {
        match self.op(id) {
            Op::Const(bits) => Some(f64::from_bits(*bits)),
            _ => None,
        }
    }

    pub fn int_value(&self, id: NodeId) -> Option<i64> {
        match self.op(id) {
            Op::Int { named: None, offset } => Some(*offset),
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
            Op::Const(_) | Op::Named(_) | Op::Int { .. } | Op::Bool(_) => true,
            Op::IntToFloat | Op::IntBin(_) | Op::IntCast(_) => self.args(id).iter().all(|&a| self.is_free(a)),
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

    /// `if lhs CMP rhs { then } else { otherwise }` in backward code, which routes a kink's
    /// gradient: where the comparison reads forward values of a loop or a branch that the
    /// backward pass would keep for it (`max`'s result and first argument, two floats an
    /// iteration), it is made in the forward pass, where they are, and the backward pass
    /// keeps its outcome: the routing bit, one `bool` an iteration. The same comparison of
    /// the same values, so the same side. Elsewhere (top-level values, values cheaper to
    /// compute again, arrays), a [`Graph::select`].
    pub fn routed(&mut self, cmp: Cmp, lhs: NodeId, rhs: NodeId, then: NodeId, otherwise: NodeId) -> NodeId {
        let forward = |g: &Graph, id: NodeId| !g.region(g.region_of(id)).backward;
        let kept =
            |g: &Graph, id: NodeId| !g.is_free(id) && g.region_of(id) != RegionId::TOP && !g.recomputable(id);
        let floats = [lhs, rhs, then, otherwise]
            .iter()
            .all(|&a| self.ty(a) == &Ty::Float);
        if !self.region(self.current).backward
            || !floats
            || !forward(self, lhs)
            || !forward(self, rhs)
            || !(kept(self, lhs) || kept(self, rhs))
        {
            return self.select(cmp, lhs, rhs, then, otherwise);
        }
        // Where both are: the inner of their blocks (one holds the other, as both are
        // operands of one operation).
        let (a, b) = (self.region_of(lhs), self.region_of(rhs));
        let region = match (self.is_free(lhs), self.is_free(rhs)) {
            (true, _) => b,
            (_, true) => a,
            _ if self.is_within(a, b) => a,
            _ if self.is_within(b, a) => b,
            _ => return self.select(cmp, lhs, rhs, then, otherwise),
        };
        let op = match cmp {
            Cmp::Gt => CmpOp::Gt,
            Cmp::Ge => CmpOp::Ge,
            Cmp::Lt => CmpOp::Lt,
            Cmp::Eq => CmpOp::Eq,
        };
        let saved = self.current;
        self.current = region;
        let taken = self.add_typed(Op::Compare(op), vec![lhs, rhs], Ty::Bool);
        self.current = saved;
        self.routing.insert(taken);
        self.choose(taken, then, otherwise)
    }

    /// `if cond { then } else { otherwise }` on a bool.
    pub fn choose(&mut self, cond: NodeId, then: NodeId, otherwise: NodeId) -> NodeId {
        self.add(Op::Choose, vec![cond, then, otherwise])
    }

    /// An integer `n` as a float, exactly.
    pub fn int_to_float(&mut self, int: NodeId) -> NodeId {
        self.add(Op::IntToFloat, vec![int])
    }

    pub fn int_bin(&mut self, op: IntOp, a: NodeId, b: NodeId) -> NodeId {
        self.add(Op::IntBin(op), vec![a, b])
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
            _ => {
                let delta = self.int(delta);
                self.int_bin(IntOp::Add, int, delta)
            }
        }
    }

    /// `array[indices…]`
    pub fn index(&mut self, array: NodeId, indices: &[NodeId]) -> NodeId {
        let mut args = vec![array];
        args.extend_from_slice(indices);
        self.add(Op::Index, args)
    }

    /// Zeros shaped like `like`: a float zero, or an array of them.
    pub fn zeros_like(&mut self, like: NodeId) -> NodeId {
        fn runtime_length(ty: &Ty) -> bool {
            match ty {
                Ty::Array(_, Len::Runtime) => true,
                Ty::Array(element, _) => runtime_length(element),
                _ => false,
            }
        }
        match self.ty(like).clone() {
            // A top-level vector of floats, in backward code: from its length, which the
            // cache keeps, not the vector (`vec![0.0; len]`).
            ty @ Ty::Array(_, Len::Runtime)
                if ty.element(1) == Ty::Float
                    && self.region(self.current).backward
                    && self.region_of(like) == RegionId::TOP
                    && !self.is_free(like) =>
            {
                let len = self.add(Op::Len, vec![like]);
                self.add_typed(Op::ZerosLike, vec![len], ty)
            }
            // Only a run-time length needs the value itself (`vec![0.0; like.len()]`).
            ty @ Ty::Array(..) if !runtime_length(&ty) => self.add_typed(Op::ZerosLike, Vec::new(), ty),
            Ty::Array(..) | Ty::Tensor { .. } => self.add(Op::ZerosLike, vec![like]),
            _ => self.constant(0.0),
        }
    }

    /// `array` with `value` added at `indices`.
    pub fn add_at(&mut self, array: NodeId, value: NodeId, indices: &[NodeId]) -> NodeId {
        let mut args = vec![array, value];
        args.extend_from_slice(indices);
        self.add(Op::AddAt, args)
    }

    /// The body of a loop node (`for` or `while`).
    pub fn body_of(&self, loop_node: NodeId) -> Option<RegionId> {
        match *self.op(loop_node) {
            Op::Loop { body, .. } | Op::While { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The `k`-th output of a structured node, of type `ty`.
    pub fn project(&mut self, node: NodeId, k: usize, ty: Ty) -> NodeId {
        self.add_typed(Op::Project(k), vec![node], ty)
    }
}

/// The IR as text, one node a line (`%3 = mul %1, %2  // q`), for tests and debugging.
impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = |i: usize| {
            let path = &self.named[i];
            quote::quote!(#path).to_string().replace(' ', "")
        };
        for id in self.ids() {
            let node = self.node(id);
            if node.region != RegionId::TOP {
                write!(f, "[r{}] ", node.region.0)?;
            }
            write!(f, "%{} = ", id.0)?;
            match &node.op {
                Op::Param(i) => write!(f, "param {}", self.params[*i].ident)?,
                Op::Const(bits) => write!(f, "const {:?}", f64::from_bits(*bits))?,
                Op::Named(i) => write!(f, "named {}", path(*i))?,
                Op::Int {
                    named: Some(i),
                    offset,
                } => write!(f, "int {} + {offset}", path(*i))?,
                Op::Int { named: None, offset } => write!(f, "int {offset}")?,
                Op::Prim(prim) => write!(f, "{}", prim.rule().name)?,
                Op::Select(cmp) => write!(f, "select {}", cmp.symbol())?,
                Op::Choose => write!(f, "choose")?,
                Op::Compare(cmp) => write!(f, "compare {}", cmp.symbol())?,
                Op::IntBin(op) => write!(f, "int {}", op.symbol())?,
                Op::Branch { then, otherwise } => write!(f, "branch r{} r{}", then.0, otherwise.0)?,
                Op::Loop { body, rev } => write!(f, "loop r{}{}", body.0, if *rev { " rev" } else { "" })?,
                Op::While { cond, body } => write!(f, "while r{} r{}", cond.0, body.0)?,
                other => write!(f, "{}", format!("{other:?}").to_lowercase())?,
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
