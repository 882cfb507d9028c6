//! Random well-formed `#[differentiate]` programs, for chainrule's tests (issue 4, part 1).
//!
//! [`Program::generate`] writes a random well-formed function over the supported
//! language: expressions over every operation of the rule table (as methods, `f64::`
//! paths and activation functions, and the written-out sigmoid), `let` bindings with
//! shadowing (of parameters too), variables reused many times, `let mut` with compound
//! assignment, `if`/`else` (statements and expressions) on float and integer
//! conditions, `match` on loop indices, `for` loops over literal ranges (`a..b`, `..=`,
//! `.rev()`), over `0..n` and `0..xs.len()` and over array elements (`.iter()`,
//! `.enumerate()`, `.rev()`), `while` loops on a counter or a float, nested loops,
//! fixed-size arrays (1-D and 2-D, by value and by reference), slices and `&Vec<f64>`,
//! integer parameters, element and whole-array assignment, `return`, `wrt(…)`, and
//! generic functions (`T: chainrule::Real`, run with `T = f64`). Arguments of functions
//! with restricted domains are kept inside them (`(e * e + 0.5).ln()`,
//! `(e.tanh() * 0.9).asin()`, `(e.abs() + 0.5).powf(…)`, `… / (e * e + 1.0)`), so that
//! programs are defined on [-1.5, 1.5].
//!
//! A program is a syntax tree that prints itself as tokens ([`Program::tokens`]; as text
//! for a reader, [`Program::pretty`]) and evaluates itself with plain `f64` arithmetic, as
//! Rust runs it ([`Program::eval`]; with the largest magnitude it computes on the way,
//! [`Program::evaluate`]). [`Program::params`] says how to call it, [`Program::inputs`]
//! draws arguments in [-1.5, 1.5].
//! Everything follows from a seed ([`Rng`], splitmix64): a program and its points
//! reproduce from the seed alone.
//!
//! Two test suites use it: the compiler's `random` test runs each program through the
//! compiler's graph and an interpreter of it (no rustc), and `e2e/` has a build script write
//! programs with `#[differentiate]` for rustc to compile, whose `grad` its test checks.
//!
//! [`fuzzing`] holds the other kind of input: a corpus of valid functions and mutations of
//! it, mostly invalid, for the never-panics property test and the fuzz target.

pub mod arrays;
pub mod fuzzing;

pub use arrays::ArrayProgram;

// The syntax tree and the values are here; a module each for generating programs,
// printing them as Rust, and evaluating them (independently of the compiler).
mod eval;
mod generate;
mod print;

pub use eval::{operation, Evaluation, Stop};
pub use print::data_self_by_value;

use proc_macro2::Literal;

// ---------------------------------------------------------------------------------------
// randomness

/// splitmix64: small, fast, and the same sequence everywhere.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------------------
// values

/// A value of the language: an argument, what a variable holds, a gradient (and, for the
/// interpreter of the derive crate's tests, a condition).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Float(f64),
    Int(i64),
    Bool(bool),
    Array(Vec<Value>),
}

impl Value {
    /// Every float in it, in order (an array flattened).
    pub fn floats(&self, out: &mut Vec<f64>) {
        match self {
            Value::Float(x) => out.push(*x),
            Value::Array(items) => items.iter().for_each(|item| item.floats(out)),
            Value::Int(_) | Value::Bool(_) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// the syntax tree

/// What a variable holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Float,
    /// An integer within lo..=hi (a loop index or counter).
    Int(i64, i64),
    /// An array of floats of these dimensions, outermost first.
    Array(Vec<usize>),
}

#[derive(Clone, Debug)]
struct Var {
    name: String,
    kind: Kind,
    /// Whether the program may assign to it here.
    assignable: bool,
    /// A reference (`&[f64; 3]` parameter): written `*w` where its value is copied.
    by_ref: bool,
    /// A parameter of run-time length: `&[f64]` or `&Vec<f64>` (its length is fixed per
    /// program, and known here, so that indices stay in bounds).
    slice: Option<&'static str>,
}

/// An integer expression (indices, counters).
#[derive(Clone, Debug)]
enum Int {
    Lit(i64),
    Var(String),
    Bin(char, Box<Int>, Box<Int>),
    /// `xs.len()`, of the length the program is called with.
    Len(String, i64),
    /// `(i as usize)`
    Cast(Box<Int>),
    /// `(x.abs().min(hi) as u32 as usize).clamp(0, hi)` of a float variable `x`: Rust's
    /// float-to-integer cast (toward zero), in `0..=hi`.
    FromFloat(String, i64),
}

#[derive(Clone, Debug)]
enum Cond {
    Float(&'static str, Expr, Expr),
    Int(&'static str, Int, Int),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

/// How an operation is called.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Form {
    /// `x.exp()`
    Method,
    /// `f64::exp(x)`
    Path,
    /// `sigmoid(x)`
    Function,
    /// `chainrule::sigmoid(x)`
    Qualified,
}

#[derive(Clone, Debug)]
enum Expr {
    /// An unsuffixed literal (non-negative).
    Lit(f64),
    /// `0.5f64`
    Suffixed(f64),
    /// A variable (`*w` for an array parameter by reference).
    Var(String, bool),
    /// `a[i][j]`: an element, or a row.
    Index(String, Vec<Int>),
    /// `(i as f64)`
    Cast(Int),
    /// `std::f64::consts::PI`
    Const(&'static str),
    Neg(Box<Expr>),
    Bin(char, Box<Expr>, Box<Expr>),
    /// An operation by name; a method's receiver is the first argument.
    Call(Form, &'static str, Vec<Expr>),
    Powi(Form, Box<Expr>, i64),
    If(Box<Cond>, Box<Block>, Box<Block>),
    Block(Box<Block>),
    /// `match i { 0 => a, 1 | 2 => b, _ => c }`
    Match(Int, Vec<(Vec<i64>, Expr)>, Box<Expr>),
    Array(Vec<Expr>),
    Repeat(Box<Expr>, usize),
    /// An iterator chain over one-dimensional arrays, consumed to a float.
    Chain(Box<Chain>),
    /// `{ let g = |t: f64, …| body; g(a, …) op g(b, …) }`: a closure, called once or
    /// twice where it is defined.
    Closure {
        name: &'static str,
        params: Vec<&'static str>,
        body: Box<Expr>,
        calls: Vec<Vec<Expr>>,
        op: char,
    },
}

/// `source.iter()` (or `.windows(2)`), `.copied()`, `.zip(other.iter())`, `.rev()`,
/// `.enumerate()`, `.skip(k)`, `.map(|…| map)`, `.filter(|&v| v op c)`, then the end.
#[derive(Clone, Debug)]
struct Chain {
    source: String,
    /// `source.windows(2)`: the element is a window of two, an array to the map.
    windows: bool,
    zip: Option<String>,
    rev: bool,
    /// The index `enumerate` binds.
    enumerate: Option<&'static str>,
    skip: usize,
    /// `.copied()` and `|e|`, or `|&e|`.
    copied: bool,
    element: &'static str,
    other: &'static str,
    map: Expr,
    filter: Option<(&'static str, f64)>,
    end: ChainEnd,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ChainEnd {
    /// `.sum::<f64>()`
    Sum,
    /// `.fold(-10.0, f64::max)`
    Max,
    /// `.reduce(f64::min).unwrap()` (of a chain that is not empty)
    Min,
    /// `(… .count() as f64)`
    Count,
}

#[derive(Clone, Debug)]
struct Block {
    stmts: Vec<Stmt>,
    value: Expr,
}

#[derive(Clone, Debug)]
enum Range {
    /// `a..b`, `a..=b`, `(a..b).rev()`
    Ints {
        start: i64,
        end: i64,
        inclusive: bool,
        rev: bool,
    },
    /// `0..n`, `1..xs.len()`, `(0..n).rev()` (empty where `start` is past the end), and
    /// with the bound cast to another integer type where the index is unused
    /// (`for _ in 0..(n as u32)`).
    Upto {
        start: i64,
        end: Int,
        ty: Option<&'static str>,
        rev: bool,
    },
    /// `for v in w`, `for &v in w.iter()`, `for (j, &v) in w.iter().enumerate()`, and
    /// `.rev()` of the last two.
    Elements {
        array: String,
        by_value: bool,
        enumerate: bool,
        rev: bool,
    },
}

#[derive(Clone, Debug)]
enum Stmt {
    Let {
        name: String,
        mutable: bool,
        annotation: Option<Kind>,
        value: Expr,
    },
    /// `a op= value`, `a[i][j] op= value`
    Assign {
        name: String,
        indices: Vec<Int>,
        op: &'static str,
        value: Expr,
    },
    If {
        cond: Cond,
        then: Vec<Stmt>,
        otherwise: Option<Vec<Stmt>>,
    },
    For {
        /// The index variable (`_` if none); for arrays, the element's name too.
        index: Option<String>,
        element: Option<String>,
        range: Range,
        body: Vec<Stmt>,
    },
    /// `let mut k = 0; while k < n { body k += 1; }`
    Counted {
        counter: String,
        limit: i64,
        body: Vec<Stmt>,
    },
    /// `if cond { break; }` (`brk`) or `if cond { continue; }`, in a `for` loop's body.
    Jump { cond: Cond, brk: bool },
    /// `while s < limit { body s += step; }` on a float (the step is at least 0.5).
    While {
        var: String,
        limit: f64,
        body: Vec<Stmt>,
        step: Expr,
    },
}

/// A parameter of a [`Program`], as a caller sees it.
#[derive(Clone, Debug)]
pub struct Param<'a> {
    pub name: &'a str,
    /// An integer parameter's kind is `Int(n, n)`: the program is called with `n`. An
    /// array's holds its dimensions (a slice's too: its length is fixed per program).
    pub kind: &'a Kind,
    pub passing: Passing,
    /// Whether the gradient is taken with respect to it (a field of `f::Grad`).
    pub wrt: bool,
}

/// How a parameter is passed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Passing {
    /// `x: f64`, `w: [f64; 3]`, `n: usize`
    Value,
    /// `w: &[f64; 3]`
    Ref,
    /// `xs: &[f64]`
    Slice,
    /// `xs: &Vec<f64>`
    Vec,
}

/// A program whose leading parameters are a struct's fields ([`Program::bundled`]).
pub struct Bundle {
    /// `pub struct Params { pub a: f64, … }` (`Params<T>` in a generic program).
    pub definition: proc_macro2::TokenStream,
    /// `fn f(params: &Params, …) -> f64 { let a = params.a; … }`.
    pub function: proc_macro2::TokenStream,
    /// How many of the program's parameters are fields, in order.
    pub count: usize,
    /// `p: Params` rather than `p: &Params`.
    pub by_value: bool,
}

/// A bundled program as a method of its struct without the derive ([`Program::data_self`]).
pub struct DataSelf {
    /// `#[differentiate(wrt(…))] impl Params { pub fn f(&self, …) -> f64 { let a = self.a; … } }`
    pub method: proc_macro2::TokenStream,
    /// The method as the macro reads it: `fn f(self_: &Params, …)`, its reads of `self_`.
    pub function: proc_macro2::TokenStream,
    /// `wrt(…)`: the parameters after `self`, with a gradient.
    pub attr: proc_macro2::TokenStream,
}

/// A function `fn f(params) -> f64 { body value }`.
pub struct Program {
    pub seed: u64,
    params: Vec<Var>,
    /// `#[differentiate(wrt(…))]`: the parameters the gradient is taken with respect to
    /// (all, if `None`).
    wrt: Option<Vec<String>>,
    body: Vec<Stmt>,
    value: Expr,
    /// Ends with `return value;`.
    explicit_return: bool,
    /// `fn f<T: chainrule::Real>`, computing in `T` (run here with `T = f64`).
    generic: bool,
}
