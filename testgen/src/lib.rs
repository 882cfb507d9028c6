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

pub mod fuzzing;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

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

// ---------------------------------------------------------------------------------------
// printing

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

thread_local! {
    /// Whether the program being printed is generic (`fn f<T: chainrule::Real>`): floats
    /// are `T`, constants `T::from_f64(c)`.
    static GENERIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn generic() -> bool {
    GENERIC.with(|g| g.get())
}

/// `f64`, or `T` in a generic function.
fn float_type() -> TokenStream {
    if generic() {
        quote!(T)
    } else {
        quote!(f64)
    }
}

fn float_literal(value: f64) -> TokenStream {
    let literal = Literal::f64_unsuffixed(value);
    match generic() {
        true if value == 1.0 => quote!(T::one()),
        true if value == 0.0 => quote!(T::zero()),
        true => quote!(T::from_f64(#literal)),
        false => quote!(#literal),
    }
}

fn kind_tokens(kind: &Kind) -> TokenStream {
    match kind {
        Kind::Float => float_type(),
        Kind::Int(..) => quote!(usize),
        Kind::Array(dims) => {
            let mut ty = float_type();
            for &n in dims.iter().rev() {
                let n = Literal::usize_unsuffixed(n);
                ty = quote!([#ty; #n]);
            }
            ty
        }
    }
}

impl Int {
    fn tokens(&self) -> TokenStream {
        match self {
            Int::Lit(n) => {
                let n = Literal::i64_unsuffixed(*n);
                quote!(#n)
            }
            Int::Var(name) => {
                let name = ident(name);
                quote!(#name)
            }
            Int::Len(name, _) => {
                let name = ident(name);
                quote!(#name.len())
            }
            Int::Cast(int) => {
                let int = int.tokens();
                quote!((#int as usize))
            }
            // By the path: an untyped receiver (`let mut n = 0;`) has no methods.
            Int::Bin(op @ ('m' | 'M'), a, b) => {
                let (a, b) = (a.tokens(), b.tokens());
                let method = ident(if *op == 'm' { "min" } else { "max" });
                quote!(usize::#method(#a, #b))
            }
            Int::Bin(op, a, b) => {
                let (a, b) = (a.tokens(), b.tokens());
                let op = match op {
                    '+' => quote!(+),
                    '-' => quote!(-),
                    '*' => quote!(*),
                    '/' => quote!(/),
                    _ => quote!(%),
                };
                quote!((#a #op #b))
            }
        }
    }

    fn eval(&self, env: &Env) -> i64 {
        match self {
            Int::Lit(n) => *n,
            Int::Var(name) => match env.get(name) {
                Value::Int(n) => *n,
                other => panic!("the integer variable {name} holds {other:?}"),
            },
            Int::Len(name, _) => match env.get(name) {
                Value::Array(items) => items.len() as i64,
                other => panic!("the length of {other:?}"),
            },
            Int::Cast(int) => int.eval(env),
            Int::Bin(op, a, b) => {
                let (a, b) = (a.eval(env), b.eval(env));
                match op {
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    '/' => a / b,
                    'm' => a.min(b),
                    'M' => a.max(b),
                    _ => a % b,
                }
            }
        }
    }

    /// Its range, if no part of it can be negative (the program computes in `usize`).
    fn bounds(&self, vars: &dyn Fn(&str) -> Option<(i64, i64)>) -> Option<(i64, i64)> {
        let (lo, hi) = match self {
            Int::Lit(n) | Int::Len(_, n) => (*n, *n),
            Int::Var(name) => vars(name)?,
            Int::Cast(int) => int.bounds(vars)?,
            Int::Bin(op, a, b) => {
                let (a, b) = (a.bounds(vars)?, b.bounds(vars)?);
                match op {
                    '+' => (a.0 + b.0, a.1 + b.1),
                    '-' => (a.0 - b.1, a.1 - b.0),
                    '*' => (a.0 * b.0, a.1 * b.1),
                    '/' if b.0 > 0 => (a.0 / b.1, a.1 / b.0),
                    'm' => (a.0.min(b.0), a.1.min(b.1)),
                    'M' => (a.0.max(b.0), a.1.max(b.1)),
                    '%' if b.0 > 0 && a.1 < b.0 => a,
                    '%' if b.0 > 0 => (0, b.1 - 1),
                    _ => return None,
                }
            }
        };
        (lo >= 0).then_some((lo, hi))
    }
}

impl Cond {
    fn tokens(&self) -> TokenStream {
        let compare = |op: &str| match op {
            "<" => quote!(<),
            ">" => quote!(>),
            "<=" => quote!(<=),
            ">=" => quote!(>=),
            "==" => quote!(==),
            _ => quote!(!=),
        };
        match self {
            Cond::Float(op, a, b) => {
                let (a, b, op) = (a.operand(), b.operand(), compare(op));
                quote!(#a #op #b)
            }
            Cond::Int(op, a, b) => {
                let (a, b, op) = (a.tokens(), b.tokens(), compare(op));
                quote!(#a #op #b)
            }
            Cond::And(a, b) => {
                let (a, b) = (a.tokens(), b.tokens());
                quote!((#a) && (#b))
            }
            Cond::Or(a, b) => {
                let (a, b) = (a.tokens(), b.tokens());
                quote!((#a) || (#b))
            }
            Cond::Not(a) => {
                let a = a.tokens();
                quote!(!(#a))
            }
        }
    }

    fn eval(&self, env: &mut Env) -> Result<bool, Stop> {
        fn compare<T: PartialOrd>(op: &str, a: T, b: T) -> bool {
            match op {
                "<" => a < b,
                ">" => a > b,
                "<=" => a <= b,
                ">=" => a >= b,
                "==" => a == b,
                _ => a != b,
            }
        }
        Ok(match self {
            Cond::Float(op, a, b) => {
                let (a, b) = (a.float(env)?, b.float(env)?);
                compare(op, a, b)
            }
            Cond::Int(op, a, b) => compare(op, a.eval(env), b.eval(env)),
            Cond::And(a, b) => a.eval(env)? && b.eval(env)?,
            Cond::Or(a, b) => a.eval(env)? || b.eval(env)?,
            Cond::Not(a) => !a.eval(env)?,
        })
    }
}

impl Expr {
    /// Whether rustc knows it is an `f64` without looking further (a method can be called
    /// on it; a `let` of it needs no annotation).
    fn typed(&self) -> bool {
        match self {
            Expr::Lit(_) => false,
            Expr::Suffixed(_) | Expr::Var(..) | Expr::Index(..) | Expr::Cast(_) | Expr::Const(_) => true,
            Expr::Neg(e) | Expr::Repeat(e, _) => e.typed(),
            Expr::Bin(_, a, b) => a.typed() || b.typed(),
            Expr::Call(Form::Method | Form::Path, ..) | Expr::Powi(..) => true,
            Expr::Call(_, _, args) | Expr::Array(args) => args.iter().any(Expr::typed),
            Expr::If(_, a, b) => a.value.typed() || b.value.typed(),
            Expr::Block(block) => block.value.typed(),
            Expr::Match(_, arms, default) => default.typed() || arms.iter().any(|(_, e)| e.typed()),
        }
    }

    /// As an operand: in parentheses unless it is one token tree or a call.
    fn operand(&self) -> TokenStream {
        let tokens = self.tokens();
        match self {
            Expr::Lit(_)
            | Expr::Suffixed(_)
            | Expr::Var(_, false)
            | Expr::Index(..)
            | Expr::Cast(_)
            | Expr::Const(_)
            | Expr::Call(..)
            | Expr::Powi(..)
            | Expr::Array(_)
            | Expr::Repeat(..) => tokens,
            _ => quote!((#tokens)),
        }
    }

    fn tokens(&self) -> TokenStream {
        match self {
            Expr::Lit(value) => float_literal(*value),
            Expr::Suffixed(value) if generic() => float_literal(*value),
            Expr::Suffixed(value) => {
                let literal = Literal::f64_suffixed(*value);
                quote!(#literal)
            }
            Expr::Var(name, by_ref) => {
                let name = ident(name);
                if *by_ref {
                    quote!(*#name)
                } else {
                    quote!(#name)
                }
            }
            Expr::Index(name, indices) => {
                let name = ident(name);
                let indices = indices.iter().map(Int::tokens);
                quote!(#name #([#indices])*)
            }
            Expr::Cast(int) => {
                let int = int.tokens();
                match generic() {
                    true => quote!(T::from_f64(#int as f64)),
                    false => quote!((#int as f64)),
                }
            }
            Expr::Const(name) => {
                let name = ident(name);
                match generic() {
                    true => quote!(T::from_f64(std::f64::consts::#name)),
                    false => quote!(std::f64::consts::#name),
                }
            }
            Expr::Neg(e) => {
                let e = e.operand();
                quote!(-#e)
            }
            Expr::Bin(op, a, b) => {
                let (a, b) = (a.operand(), b.operand());
                match op {
                    '+' => quote!(#a + #b),
                    '-' => quote!(#a - #b),
                    '*' => quote!(#a * #b),
                    '%' => quote!(#a % #b),
                    _ => quote!(#a / #b),
                }
            }
            Expr::Call(form, name, args) => {
                let name = ident(name);
                match form {
                    Form::Method => {
                        let receiver = args[0].operand();
                        let rest = args[1..].iter().map(Expr::tokens);
                        quote!(#receiver.#name(#(#rest),*))
                    }
                    Form::Path => {
                        let args = args.iter().map(Expr::tokens);
                        let float = float_type();
                        quote!(#float::#name(#(#args),*))
                    }
                    Form::Function => {
                        let args = args.iter().map(Expr::tokens);
                        quote!(#name(#(#args),*))
                    }
                    Form::Qualified => {
                        let args = args.iter().map(Expr::tokens);
                        quote!(chainrule::#name(#(#args),*))
                    }
                }
            }
            Expr::Powi(form, base, n) => {
                let magnitude = Literal::i64_unsuffixed(n.abs());
                let n = if *n < 0 {
                    quote!(-#magnitude)
                } else {
                    quote!(#magnitude)
                };
                if *form == Form::Method {
                    let base = base.operand();
                    quote!(#base.powi(#n))
                } else {
                    let base = base.tokens();
                    let float = float_type();
                    quote!(#float::powi(#base, #n))
                }
            }
            Expr::If(cond, then, otherwise) => {
                let (cond, then, otherwise) = (cond.tokens(), then.tokens(), otherwise.tokens());
                quote!(if #cond { #then } else { #otherwise })
            }
            Expr::Block(block) => {
                let block = block.tokens();
                quote!({ #block })
            }
            Expr::Match(scrutinee, arms, default) => {
                let scrutinee = scrutinee.tokens();
                let arms = arms.iter().map(|(patterns, value)| {
                    let patterns = patterns.iter().map(|&p| Literal::i64_unsuffixed(p));
                    let value = value.tokens();
                    quote!(#(#patterns)|* => #value,)
                });
                let default = default.tokens();
                quote!(match #scrutinee { #(#arms)* _ => #default })
            }
            Expr::Array(items) => {
                let items = items.iter().map(Expr::tokens);
                quote!([#(#items),*])
            }
            Expr::Repeat(item, n) => {
                let item = item.tokens();
                let n = Literal::usize_unsuffixed(*n);
                quote!([#item; #n])
            }
        }
    }

    fn float(&self, env: &mut Env) -> Result<f64, Stop> {
        match self.eval(env)? {
            Value::Float(x) => Ok(x),
            other => panic!("a float expression gave {other:?}: {}", self.tokens()),
        }
    }

    /// The value, as Rust computes it.
    fn eval(&self, env: &mut Env) -> Result<Value, Stop> {
        let value = match self {
            Expr::Lit(value) | Expr::Suffixed(value) => Value::Float(*value),
            Expr::Var(name, _) => env.get(name).clone(),
            Expr::Index(name, indices) => {
                let indices: Vec<i64> = indices.iter().map(|i| i.eval(env)).collect();
                let mut value = env.get(name);
                for index in indices {
                    value = match value {
                        Value::Array(items) => &items[index as usize],
                        other => panic!("indexing {other:?}"),
                    };
                }
                value.clone()
            }
            Expr::Cast(int) => Value::Float(int.eval(env) as f64),
            Expr::Const(name) => Value::Float(match *name {
                "PI" => std::f64::consts::PI,
                "E" => std::f64::consts::E,
                "LN_2" => std::f64::consts::LN_2,
                "SQRT_2" => std::f64::consts::SQRT_2,
                _ => std::f64::consts::FRAC_PI_4,
            }),
            Expr::Neg(e) => Value::Float(-e.float(env)?),
            Expr::Bin(op, a, b) => {
                let (a, b) = (a.float(env)?, b.float(env)?);
                Value::Float(match op {
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    '%' => a % b,
                    _ => a / b,
                })
            }
            Expr::Call(_, name, args) => {
                let mut x = Vec::new();
                for arg in args {
                    x.push(arg.float(env)?);
                }
                Value::Float(apply(name, &x))
            }
            Expr::Powi(_, base, n) => Value::Float(base.float(env)?.powi(*n as i32)),
            Expr::If(cond, then, otherwise) => {
                let block = if cond.eval(env)? { then } else { otherwise };
                block.eval(env)?
            }
            Expr::Block(block) => block.eval(env)?,
            Expr::Match(scrutinee, arms, default) => {
                let n = scrutinee.eval(env);
                match arms.iter().find(|(patterns, _)| patterns.contains(&n)) {
                    Some((_, value)) => value.eval(env)?,
                    None => default.eval(env)?,
                }
            }
            Expr::Array(items) => {
                let mut values = Vec::new();
                for item in items {
                    values.push(item.eval(env)?);
                }
                Value::Array(values)
            }
            Expr::Repeat(item, n) => Value::Array(vec![item.eval(env)?; *n]),
        };
        if let Value::Float(x) = value {
            env.computed(x);
        }
        Ok(value)
    }
}

/// f64's methods that `num_traits::Float` has not (so generic code cannot call them).
const NOT_IN_FLOAT: &[&str] = &["rem_euclid", "div_euclid", "round_ties_even"];

/// An operation of the language, as Rust and chainrule's runtime compute it.
fn apply(name: &str, x: &[f64]) -> f64 {
    match name {
        "exp" => x[0].exp(),
        "exp2" => x[0].exp2(),
        "exp_m1" => x[0].exp_m1(),
        "ln" => x[0].ln(),
        "ln_1p" => x[0].ln_1p(),
        "log" => x[0].log(x[1]),
        "log2" => x[0].log2(),
        "log10" => x[0].log10(),
        "sqrt" => x[0].sqrt(),
        "cbrt" => x[0].cbrt(),
        "recip" => x[0].recip(),
        "powf" => x[0].powf(x[1]),
        "sin" => x[0].sin(),
        "cos" => x[0].cos(),
        "tan" => x[0].tan(),
        "asin" => x[0].asin(),
        "acos" => x[0].acos(),
        "atan" => x[0].atan(),
        "atan2" => x[0].atan2(x[1]),
        "sinh" => x[0].sinh(),
        "cosh" => x[0].cosh(),
        "tanh" => x[0].tanh(),
        "abs" => x[0].abs(),
        "max" | "maxout" => x[0].max(x[1]),
        "min" => x[0].min(x[1]),
        "hypot" => x[0].hypot(x[1]),
        "mul_add" => x[0].mul_add(x[1], x[2]),
        "asinh" => x[0].asinh(),
        "acosh" => x[0].acosh(),
        "atanh" => x[0].atanh(),
        "signum" => x[0].signum(),
        "copysign" => x[0].copysign(x[1]),
        "clamp" => x[0].clamp(x[1], x[2]),
        "floor" => x[0].floor(),
        "ceil" => x[0].ceil(),
        "round" => x[0].round(),
        "round_ties_even" => x[0].round_ties_even(),
        "trunc" => x[0].trunc(),
        "fract" => x[0].fract(),
        "div_euclid" => x[0].div_euclid(x[1]),
        "rem_euclid" => x[0].rem_euclid(x[1]),
        "to_radians" => x[0].to_radians(),
        "to_degrees" => x[0].to_degrees(),
        // chainrule_core::activation, as written there
        "sigmoid" => 1.0 / (1.0 + (-x[0]).exp()),
        "relu" => {
            if x[0] <= 0.0 {
                0.0
            } else {
                x[0]
            }
        }
        "leaky_relu" => {
            if x[0] > 0.0 {
                x[0]
            } else {
                x[1] * x[0]
            }
        }
        "elu" => {
            if x[0] > 0.0 {
                x[0]
            } else {
                x[1] * x[0].exp_m1()
            }
        }
        other => panic!("no operation {other}"),
    }
}

impl Block {
    fn tokens(&self) -> TokenStream {
        let stmts = self.stmts.iter().map(Stmt::tokens);
        let value = self.value.tokens();
        quote!(#(#stmts)* #value)
    }

    fn eval(&self, env: &mut Env) -> Result<Value, Stop> {
        env.scopes.push(Vec::new());
        let value = exec_all(&self.stmts, env).and_then(|()| self.value.eval(env));
        env.scopes.pop();
        value
    }
}

fn block_tokens(stmts: &[Stmt]) -> TokenStream {
    let stmts = stmts.iter().map(Stmt::tokens);
    quote!(#(#stmts)*)
}

impl Stmt {
    fn tokens(&self) -> TokenStream {
        match self {
            Stmt::Let {
                name,
                mutable,
                annotation,
                value,
            } => {
                let name = ident(name);
                let mutability = mutable.then(|| quote!(mut));
                let annotation = annotation.as_ref().map(|kind| {
                    let ty = kind_tokens(kind);
                    quote!(: #ty)
                });
                let value = value.tokens();
                quote!(let #mutability #name #annotation = #value;)
            }
            Stmt::Assign {
                name,
                indices,
                op,
                value,
            } => {
                let name = ident(name);
                let indices = indices.iter().map(Int::tokens);
                let value = value.tokens();
                let op = match *op {
                    "=" => quote!(=),
                    "+=" => quote!(+=),
                    "-=" => quote!(-=),
                    "*=" => quote!(*=),
                    _ => quote!(/=),
                };
                quote!(#name #([#indices])* #op #value;)
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                let (cond, then) = (cond.tokens(), block_tokens(then));
                match otherwise {
                    Some(otherwise) => {
                        let otherwise = block_tokens(otherwise);
                        quote!(if #cond { #then } else { #otherwise })
                    }
                    None => quote!(if #cond { #then }),
                }
            }
            Stmt::For {
                index,
                element,
                range,
                body,
            } => {
                let body = block_tokens(body);
                let index = match index {
                    Some(name) => {
                        let name = ident(name);
                        quote!(#name)
                    }
                    None => quote!(_),
                };
                match range {
                    Range::Ints {
                        start,
                        end,
                        inclusive,
                        rev,
                    } => {
                        let (start, end) = (Literal::i64_unsuffixed(*start), Literal::i64_unsuffixed(*end));
                        let range = if *inclusive {
                            quote!(#start..=#end)
                        } else {
                            quote!(#start..#end)
                        };
                        let range = if *rev { quote!((#range).rev()) } else { range };
                        quote!(for #index in #range { #body })
                    }
                    Range::Upto { start, end, ty, rev } => {
                        let start = Literal::i64_unsuffixed(*start);
                        let end = match ty {
                            Some(ty) => {
                                let (end, ty) = (end.tokens(), ident(ty));
                                quote!((#end as #ty))
                            }
                            None => end.tokens(),
                        };
                        let range = if *rev {
                            quote!((#start..#end).rev())
                        } else {
                            quote!(#start..#end)
                        };
                        quote!(for #index in #range { #body })
                    }
                    Range::Elements {
                        array,
                        by_value,
                        enumerate,
                        rev,
                    } => {
                        let array = ident(array);
                        let element = ident(element.as_deref().unwrap_or("_"));
                        let rev = rev.then(|| quote!(.rev()));
                        match (by_value, enumerate) {
                            (true, _) => quote!(for #element in #array { #body }),
                            (false, false) => quote!(for &#element in #array.iter() #rev { #body }),
                            (false, true) => {
                                quote!(for (#index, &#element) in #array.iter().enumerate() #rev { #body })
                            }
                        }
                    }
                }
            }
            Stmt::Counted { counter, limit, body } => {
                let counter = ident(counter);
                let limit = Literal::i64_unsuffixed(*limit);
                let body = block_tokens(body);
                quote! {
                    let mut #counter = 0;
                    while #counter < #limit {
                        #body
                        #counter += 1;
                    }
                }
            }
            Stmt::While {
                var,
                limit,
                body,
                step,
            } => {
                let var = ident(var);
                let limit = float_literal(*limit);
                let body = block_tokens(body);
                let step = step.tokens();
                quote! {
                    while #var < #limit {
                        #body
                        #var += #step;
                    }
                }
            }
        }
    }

    fn exec(&self, env: &mut Env) -> Result<(), Stop> {
        match self {
            Stmt::Let { name, value, .. } => {
                let value = value.eval(env)?;
                env.declare(name, value);
            }
            Stmt::Assign {
                name,
                indices,
                op,
                value,
            } => {
                let value = value.eval(env)?;
                let indices: Vec<i64> = indices.iter().map(|i| i.eval(env)).collect();
                let mut slot = env.get_mut(name);
                for index in indices {
                    slot = match slot {
                        Value::Array(items) => &mut items[index as usize],
                        other => panic!("indexing {other:?}"),
                    };
                }
                *slot = match (*op, &*slot, value) {
                    ("=", _, value) => value,
                    ("+=", Value::Float(a), Value::Float(b)) => Value::Float(a + b),
                    ("-=", Value::Float(a), Value::Float(b)) => Value::Float(a - b),
                    ("*=", Value::Float(a), Value::Float(b)) => Value::Float(a * b),
                    ("/=", Value::Float(a), Value::Float(b)) => Value::Float(a / b),
                    (op, old, new) => panic!("{old:?} {op} {new:?}"),
                };
                if let Value::Float(x) = *slot {
                    env.computed(x);
                }
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                if cond.eval(env)? {
                    env.block(then)?;
                } else if let Some(otherwise) = otherwise {
                    env.block(otherwise)?;
                }
            }
            Stmt::For {
                index,
                element,
                range,
                body,
            } => match range {
                Range::Ints {
                    start,
                    end,
                    inclusive,
                    rev,
                } => {
                    let end = if *inclusive { end + 1 } else { *end };
                    let mut indices: Vec<i64> = (*start..end).collect();
                    if *rev {
                        indices.reverse();
                    }
                    env.ints(index, &indices, body)?;
                }
                Range::Upto { start, end, rev, .. } => {
                    let mut indices: Vec<i64> = (*start..end.eval(env)).collect();
                    if *rev {
                        indices.reverse();
                    }
                    env.ints(index, &indices, body)?;
                }
                Range::Elements { array, rev, .. } => {
                    let items = match env.get(array) {
                        Value::Array(items) => items.clone(),
                        other => panic!("looping over {other:?}"),
                    };
                    let mut items: Vec<(usize, Value)> = items.into_iter().enumerate().collect();
                    if *rev {
                        items.reverse();
                    }
                    for (i, item) in items {
                        env.tick()?;
                        env.scopes.push(Vec::new());
                        if let Some(index) = index {
                            env.declare(index, Value::Int(i as i64));
                        }
                        if let Some(element) = element {
                            env.declare(element, item);
                        }
                        let done = env.block(body);
                        env.scopes.pop();
                        done?;
                    }
                }
            },
            Stmt::Counted { counter, limit, body } => {
                env.declare(counter, Value::Int(0));
                loop {
                    let Value::Int(k) = *env.get(counter) else {
                        panic!("the counter {counter} is not an integer")
                    };
                    if k >= *limit {
                        break;
                    }
                    env.tick()?;
                    env.block(body)?;
                    *env.get_mut(counter) = Value::Int(k + 1);
                }
            }
            Stmt::While {
                var,
                limit,
                body,
                step,
            } => loop {
                let Value::Float(s) = *env.get(var) else {
                    panic!("the loop variable {var} is not a float")
                };
                if s.partial_cmp(limit) != Some(std::cmp::Ordering::Less) {
                    break;
                }
                env.tick()?;
                env.scopes.push(Vec::new());
                let step = exec_all(body, env).and_then(|()| step.float(env));
                env.scopes.pop();
                let step = step?;
                let Value::Float(s) = *env.get(var) else {
                    panic!("the loop variable {var} is not a float")
                };
                env.computed(s + step);
                *env.get_mut(var) = Value::Float(s + step);
            },
        }
        Ok(())
    }
}

fn exec_all(stmts: &[Stmt], env: &mut Env) -> Result<(), Stop> {
    stmts.iter().try_for_each(|stmt| stmt.exec(env))
}

/// What [`Program::evaluate`] gives.
#[derive(Clone, Copy, Debug)]
pub struct Evaluation {
    pub value: f64,
    /// The largest magnitude of a float the program computed (infinite if one was not
    /// finite): where it is large, differences lose their digits and gradients may be NaN
    /// (0 × ∞) where the value is not.
    pub largest: f64,
}

/// The reference evaluation gave up: too many loop iterations.
#[derive(Debug)]
pub struct Stop;

/// Variables while the program runs, innermost scope last.
struct Env {
    scopes: Vec<Vec<(String, Value)>>,
    iterations: usize,
    /// The largest magnitude of a float computed (infinite once one is not finite).
    largest: f64,
}

impl Env {
    fn computed(&mut self, x: f64) {
        self.largest = if x.is_finite() {
            self.largest.max(x.abs())
        } else {
            f64::INFINITY
        };
    }

    fn get(&self, name: &str) -> &Value {
        self.scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, value)| value)
            .unwrap_or_else(|| panic!("no variable {name}"))
    }

    fn get_mut(&mut self, name: &str) -> &mut Value {
        self.scopes
            .iter_mut()
            .rev()
            .flat_map(|scope| scope.iter_mut().rev())
            .find(|(n, _)| n == name)
            .map(|(_, value)| value)
            .unwrap_or_else(|| panic!("no variable {name}"))
    }

    fn declare(&mut self, name: &str, value: Value) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((name.to_string(), value));
        }
    }

    fn block(&mut self, stmts: &[Stmt]) -> Result<(), Stop> {
        self.scopes.push(Vec::new());
        let done = exec_all(stmts, self);
        self.scopes.pop();
        done
    }

    /// A loop over integers.
    fn ints(&mut self, index: &Option<String>, indices: &[i64], body: &[Stmt]) -> Result<(), Stop> {
        for &i in indices {
            self.tick()?;
            self.scopes.push(Vec::new());
            if let Some(index) = index {
                self.declare(index, Value::Int(i));
            }
            let done = self.block(body);
            self.scopes.pop();
            done?;
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), Stop> {
        self.iterations += 1;
        if self.iterations > 2_000 {
            return Err(Stop);
        }
        Ok(())
    }
}

impl Program {
    /// The attribute's arguments: `wrt(…)`, or nothing.
    pub fn attr(&self) -> TokenStream {
        match &self.wrt {
            Some(names) => {
                let names = names.iter().map(|n| ident(n));
                quote!(wrt(#(#names),*))
            }
            None => TokenStream::new(),
        }
    }

    /// Whether the gradient is taken with respect to parameter `k`.
    pub fn wrt(&self, k: usize) -> bool {
        let p = &self.params[k];
        !matches!(p.kind, Kind::Int(..)) && self.wrt.as_ref().is_none_or(|names| names.contains(&p.name))
    }

    /// The parameters, in order, as a caller sees them.
    pub fn params(&self) -> Vec<Param<'_>> {
        (self.params.iter().enumerate())
            .map(|(k, p)| Param {
                name: &p.name,
                kind: &p.kind,
                passing: match (p.slice, p.by_ref) {
                    (Some("slice"), _) => Passing::Slice,
                    (Some(_), _) => Passing::Vec,
                    (None, true) => Passing::Ref,
                    (None, false) => Passing::Value,
                },
                wrt: self.wrt(k),
            })
            .collect()
    }

    /// Whether it is `fn f<T: chainrule::Real>` (to be called with `T = f64`).
    pub fn is_generic(&self) -> bool {
        self.generic
    }

    /// Arguments as Rust (`1.5, &[0.5, 2.0], 3`), for a test that compiles the program.
    pub fn arguments(&self, inputs: &[Value]) -> String {
        fn literal(value: &Value) -> String {
            match value {
                Value::Float(x) => format!("{x:?}"),
                Value::Int(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(items) => {
                    format!("[{}]", items.iter().map(literal).collect::<Vec<_>>().join(", "))
                }
            }
        }
        self.params
            .iter()
            .zip(inputs)
            .map(|(p, v)| match p.slice {
                Some("vec") => format!("&vec!{}", literal(v)),
                Some(_) => format!("&{}", literal(v)),
                None if p.by_ref => format!("&{}", literal(v)),
                None => literal(v),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn tokens(&self) -> TokenStream {
        let outer = GENERIC.with(|g| g.replace(self.generic));
        let float = float_type();
        let params: Vec<TokenStream> = self
            .params
            .iter()
            .map(|p| {
                let name = ident(&p.name);
                let ty = kind_tokens(&p.kind);
                if p.slice == Some("slice") {
                    quote!(#name: &[#float])
                } else if p.slice == Some("vec") {
                    quote!(#name: &Vec<#float>)
                } else if p.by_ref {
                    quote!(#name: &#ty)
                } else {
                    quote!(#name: #ty)
                }
            })
            .collect();
        let body = block_tokens(&self.body);
        let value = self.value.tokens();
        let value = if self.explicit_return {
            quote!(return #value;)
        } else {
            value
        };
        let generics = self.generic.then(|| quote!(<T: chainrule::Real>));
        GENERIC.with(|g| g.set(outer));
        quote! {
            fn f #generics (#(#params),*) -> #float {
                #body
                #value
            }
        }
    }

    /// The program as a reader would like it.
    pub fn pretty(&self) -> String {
        let tokens = self.tokens();
        match syn::parse2::<syn::File>(tokens.clone()) {
            Ok(file) => prettyplease::unparse(&file),
            Err(_) => tokens.to_string(),
        }
    }

    /// Random arguments in [-1.5, 1.5].
    pub fn inputs(&self, rng: &mut Rng) -> Vec<Value> {
        fn random(kind: &Kind, rng: &mut Rng) -> Value {
            match kind {
                Kind::Array(dims) => match dims.split_first() {
                    Some((&n, rest)) => {
                        let inner = Kind::Array(rest.to_vec());
                        Value::Array((0..n).map(|_| random(&inner, rng)).collect())
                    }
                    None => random(&Kind::Float, rng),
                },
                Kind::Int(n, _) => Value::Int(*n),
                Kind::Float => Value::Float(rng.unit() * 3.0 - 1.5),
            }
        }
        self.params.iter().map(|p| random(&p.kind, rng)).collect()
    }

    /// What the function returns for these arguments.
    pub fn eval(&self, inputs: &[Value]) -> Result<f64, Stop> {
        self.evaluate(inputs).map(|evaluation| evaluation.value)
    }

    /// What the function returns for these arguments, and the largest magnitude of a float
    /// it computes on the way.
    pub fn evaluate(&self, inputs: &[Value]) -> Result<Evaluation, Stop> {
        let mut env = Env {
            scopes: vec![self
                .params
                .iter()
                .zip(inputs)
                .map(|(p, v)| (p.name.clone(), v.clone()))
                .collect()],
            iterations: 0,
            largest: 0.0,
        };
        env.scopes.push(Vec::new());
        exec_all(&self.body, &mut env)?;
        let value = self.value.float(&mut env)?;
        Ok(Evaluation {
            value,
            largest: env.largest,
        })
    }
}

// ---------------------------------------------------------------------------------------
// generating

const FLOAT_PARAMS: &[&str] = &["x", "y", "z", "x", "y", "value", "upstream", "d_x"];
const ARRAY_PARAMS: &[&str] = &["w", "v", "xs"];
const FLOAT_LOCALS: &[&str] = &[
    "a", "b", "c", "t", "s", "q", "h", "x", "y", "a", "t", "value", "grad", "cache", "d_x", "d_a", "forward",
];
const ARRAY_LOCALS: &[&str] = &["buf", "arr", "w", "rows"];
const INDICES: &[&str] = &["i", "j", "k"];
const ELEMENTS: &[&str] = &["e", "el", "row"];
const CONSTANTS: &[f64] = &[0.5, 1.5, 2.0, 0.25, 3.0, 0.1, 1.0, 0.75, 0.0, 4.0];

struct Gen {
    rng: Rng,
    scopes: Vec<Vec<Var>>,
    /// Statements still to write (keeps programs small).
    budget: usize,
    loops: usize,
    fresh: usize,
}

impl Program {
    pub fn generate(seed: u64) -> Program {
        let mut gen = Gen {
            rng: Rng::new(seed),
            scopes: vec![Vec::new()],
            budget: 12,
            loops: 0,
            fresh: 0,
        };
        let mut params: Vec<Var> = Vec::new();
        let floats = 1 + gen.rng.below(3);
        while params.len() < floats {
            let name = *gen.rng.pick(FLOAT_PARAMS);
            if params.iter().all(|p| p.name != name) {
                params.push(Var {
                    name: name.to_string(),
                    kind: Kind::Float,
                    assignable: false,
                    by_ref: false,
                    slice: None,
                });
            }
        }
        let arrays = [0, 0, 1, 1, 1, 2][gen.rng.below(6)];
        for name in &ARRAY_PARAMS[..arrays] {
            let dims = match gen.rng.below(6) {
                0 => vec![2],
                1 | 2 => vec![3],
                3 => vec![4],
                4 => vec![2, 3],
                _ => vec![3, 2],
            };
            params.push(Var {
                name: name.to_string(),
                kind: Kind::Array(dims),
                assignable: false,
                by_ref: gen.rng.chance(0.2),
                slice: None,
            });
        }
        if gen.rng.chance(0.25) {
            let len = 2 + gen.rng.below(3);
            params.push(Var {
                name: "xs".to_string(),
                kind: Kind::Array(vec![len]),
                assignable: false,
                by_ref: true,
                slice: Some(*gen.rng.pick(&["slice", "vec"])),
            });
        }
        if gen.rng.chance(0.2) {
            // an integer parameter, with the value the program is called with
            let n = 1 + gen.rng.below(4) as i64;
            params.push(Var {
                name: "n".to_string(),
                kind: Kind::Int(n, n),
                assignable: false,
                by_ref: false,
                slice: None,
            });
        }
        let wrt = gen.rng.chance(0.15).then(|| {
            let differentiable: Vec<String> = params
                .iter()
                .filter(|p| !matches!(p.kind, Kind::Int(..)))
                .map(|p| p.name.clone())
                .collect();
            let mut chosen: Vec<String> = differentiable
                .iter()
                .filter(|_| gen.rng.chance(0.5))
                .cloned()
                .collect();
            if chosen.is_empty() {
                chosen.push(gen.rng.pick(&differentiable).clone());
            }
            chosen
        });
        gen.scopes[0] = params.clone();
        gen.scopes.push(Vec::new());
        let mut body = Vec::new();
        let count = 1 + gen.rng.below(6);
        for _ in 0..count {
            gen.stmt(&mut body);
        }
        let value = gen.result();
        let mut program = Program {
            seed,
            params,
            wrt,
            body,
            value,
            explicit_return: gen.rng.chance(0.1),
            generic: gen.rng.chance(0.15),
        };
        // `chainrule::Real` (num-traits' `Float`) lacks a few of f64's methods: a program
        // calling them is not generic.
        if program.generic {
            let text = program.tokens().to_string();
            program.generic = !NOT_IN_FLOAT.iter().any(|name| text.contains(name));
        }
        program
    }
}

impl Gen {
    /// The variables in scope (the innermost of each name).
    fn visible(&self) -> Vec<Var> {
        let mut seen: Vec<Var> = Vec::new();
        for scope in self.scopes.iter().rev() {
            for var in scope.iter().rev() {
                if seen.iter().all(|v| v.name != var.name) {
                    seen.push(var.clone());
                }
            }
        }
        seen
    }

    fn floats(&self) -> Vec<Var> {
        self.visible()
            .into_iter()
            .filter(|v| v.kind == Kind::Float)
            .collect()
    }

    fn arrays(&self) -> Vec<Var> {
        self.visible()
            .into_iter()
            .filter(|v| matches!(v.kind, Kind::Array(_)))
            .collect()
    }

    fn ints(&self) -> Vec<Var> {
        self.visible()
            .into_iter()
            .filter(|v| matches!(v.kind, Kind::Int(..)))
            .collect()
    }

    fn declare(&mut self, var: Var) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(var);
        }
    }

    /// Sets whether the visible variable `name` may be assigned (inside a loop over it).
    fn set_assignable(&mut self, name: &str, assignable: bool) -> bool {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(var) = scope.iter_mut().rev().find(|v| v.name == name) {
                let before = var.assignable;
                var.assignable = assignable;
                return before;
            }
        }
        false
    }

    fn depth(&self) -> usize {
        if self.loops > 0 {
            2
        } else {
            3
        }
    }

    // --- integers

    /// An index into a dimension of length `len`, in bounds by construction.
    fn index(&mut self, len: usize) -> Int {
        let ints = self.ints();
        let bounds_of = |name: &str| {
            ints.iter().find(|v| v.name == name).and_then(|v| match v.kind {
                Kind::Int(lo, hi) => Some((lo, hi)),
                _ => None,
            })
        };
        let len = len as i64;
        for _ in 0..6 {
            let var = match ints.is_empty() {
                true => None,
                false => Some(Int::Var(self.rng.pick(&ints).name.clone())),
            };
            let candidate = match (self.rng.below(9), var) {
                (1..=3, Some(var)) => var,
                (4, Some(var)) => Int::Bin(
                    '%',
                    Box::new(Int::Bin(
                        '+',
                        Box::new(var),
                        Box::new(Int::Lit(1 + self.rng.below(2) as i64)),
                    )),
                    Box::new(Int::Lit(len)),
                ),
                (5, Some(var)) => Int::Bin('-', Box::new(Int::Lit(len - 1)), Box::new(var)),
                (6, Some(var)) => Int::Bin('/', Box::new(var), Box::new(Int::Lit(2))),
                // `i.min(len - 1)`, `i.max(k)`: integer methods.
                (7, Some(var)) => Int::Bin('m', Box::new(var), Box::new(Int::Lit(len - 1))),
                (8, Some(var)) => Int::Bin(
                    'M',
                    Box::new(var),
                    Box::new(Int::Lit(self.rng.below(len as usize) as i64)),
                ),
                _ => Int::Lit(self.rng.below(len as usize) as i64),
            };
            if let Some((lo, hi)) = candidate.bounds(&bounds_of) {
                if lo >= 0 && hi < len {
                    if self.rng.chance(0.1) {
                        return Int::Cast(Box::new(candidate));
                    }
                    return candidate;
                }
            }
        }
        Int::Lit(self.rng.below(len as usize) as i64)
    }

    // --- floats

    fn literal(&mut self) -> Expr {
        let value = if self.rng.chance(0.7) {
            *self.rng.pick(CONSTANTS)
        } else {
            self.rng.below(300) as f64 / 100.0
        };
        if self.rng.chance(0.1) {
            Expr::Suffixed(value)
        } else {
            Expr::Lit(value)
        }
    }

    fn leaf(&mut self) -> Expr {
        let floats = self.floats();
        let arrays = self.arrays();
        let ints = self.ints();
        let roll = self.rng.unit();
        if roll < 0.62 && !floats.is_empty() {
            let var = self.rng.pick(&floats).clone();
            return Expr::Var(var.name, false);
        }
        if roll < 0.8 && !arrays.is_empty() {
            let array = self.rng.pick(&arrays).clone();
            let Kind::Array(dims) = &array.kind else {
                unreachable!()
            };
            let indices = dims.iter().map(|&n| self.index(n)).collect();
            return Expr::Index(array.name, indices);
        }
        if roll < 0.86 && !ints.is_empty() {
            let var = match arrays.iter().find(|a| a.slice.is_some()) {
                Some(Var {
                    name,
                    kind: Kind::Array(dims),
                    ..
                }) if self.rng.chance(0.2) => Int::Len(name.clone(), dims[0] as i64),
                _ => Int::Var(self.rng.pick(&ints).name.clone()),
            };
            let int = if self.rng.chance(0.3) {
                Int::Bin('+', Box::new(var), Box::new(Int::Lit(1)))
            } else {
                var
            };
            return Expr::Cast(int);
        }
        if roll < 0.89 {
            const NAMED: &[&str] = &["PI", "E", "LN_2", "SQRT_2", "FRAC_PI_4"];
            return Expr::Const(NAMED[self.rng.below(NAMED.len())]);
        }
        if floats.is_empty() || roll < 0.97 {
            return self.literal();
        }
        let var = self.rng.pick(&floats).clone();
        Expr::Var(var.name, false)
    }

    fn bin(op: char, a: Expr, b: Expr) -> Expr {
        Expr::Bin(op, Box::new(a), Box::new(b))
    }

    /// `name` called on `args`, as a method where rustc can tell the receiver's type.
    fn method(&mut self, name: &'static str, args: Vec<Expr>) -> Expr {
        let form = if args[0].typed() && self.rng.chance(0.85) {
            Form::Method
        } else {
            Form::Path
        };
        Expr::Call(form, name, args)
    }

    fn function(&mut self, name: &'static str, args: Vec<Expr>) -> Expr {
        let form = if self.rng.chance(0.8) {
            Form::Function
        } else {
            Form::Qualified
        };
        Expr::Call(form, name, args)
    }

    /// `(e * e + c)`: positive.
    fn positive(&mut self, depth: usize) -> Expr {
        let e = self.float(depth);
        let c = *self.rng.pick(&[0.5, 1.0, 0.25, 2.0]);
        Self::bin('+', Self::bin('*', e.clone(), e), Expr::Lit(c))
    }

    /// `(e).tanh() * 0.9`: within (-1, 1).
    fn unit(&mut self, depth: usize) -> Expr {
        let e = self.float(depth);
        let tanh = self.method("tanh", vec![e]);
        Self::bin('*', tanh, Expr::Lit(0.9))
    }

    /// An argument for exp-like functions: bounded half of the time.
    fn tame(&mut self, depth: usize) -> Expr {
        let e = self.float(depth);
        if self.rng.chance(0.5) {
            let tanh = self.method("tanh", vec![e]);
            Self::bin('*', tanh, Expr::Lit(2.0))
        } else {
            e
        }
    }

    fn float(&mut self, depth: usize) -> Expr {
        if depth == 0 || self.rng.chance(0.2) {
            return self.leaf();
        }
        let d = depth - 1;
        match self.rng.below(100) {
            0..=7 => Self::bin('+', self.float(d), self.float(d)),
            8..=13 => Self::bin('-', self.float(d), self.float(d)),
            14..=22 => Self::bin('*', self.float(d), self.float(d)),
            23..=27 => {
                let numerator = self.float(d);
                let denominator = match self.rng.below(5) {
                    0 => self.positive(d),
                    1 => Expr::Lit(*self.rng.pick(&[2.0, 0.5, 3.0, 4.0, 0.1])),
                    2 => {
                        let e = self.float(d);
                        self.method("exp", vec![e])
                    }
                    3 => {
                        let e = self.float(d);
                        let abs = self.method("abs", vec![e]);
                        Self::bin('+', abs, Expr::Lit(1.0))
                    }
                    _ => {
                        let e = self.float(d);
                        Self::bin('+', Self::bin('*', e.clone(), e), Expr::Lit(1.0))
                    }
                };
                Self::bin('/', numerator, denominator)
            }
            28..=30 => Expr::Neg(Box::new(self.float(d))),
            31..=33 => {
                let arg = self.tame(d);
                self.method("exp", vec![arg])
            }
            34 => {
                let arg = self.tame(d);
                self.method("exp2", vec![arg])
            }
            35 => {
                let arg = self.tame(d);
                self.method("exp_m1", vec![arg])
            }
            36..=37 => {
                let arg = self.positive(d);
                self.method("ln", vec![arg])
            }
            38 => {
                let e = self.float(d);
                let arg = Self::bin('*', e.clone(), e);
                self.method("ln_1p", vec![arg])
            }
            39 => {
                let arg = self.positive(d);
                self.method("log2", vec![arg])
            }
            40 => {
                let arg = self.positive(d);
                self.method("log10", vec![arg])
            }
            41 => {
                let arg = self.positive(d);
                // at least 1.5: away from base 1, where ln(base) = 0
                let e = self.float(d);
                let base = Self::bin('+', Self::bin('*', e.clone(), e), Expr::Lit(1.5));
                self.method("log", vec![arg, base])
            }
            42..=43 => {
                let arg = self.positive(d);
                self.method("sqrt", vec![arg])
            }
            44 => {
                let arg = self.positive(d);
                self.method("cbrt", vec![arg])
            }
            45 => {
                let arg = self.positive(d);
                self.method("recip", vec![arg])
            }
            46..=48 => {
                let arg = self.float(d);
                self.method("sin", vec![arg])
            }
            49..=50 => {
                let arg = self.float(d);
                self.method("cos", vec![arg])
            }
            51 => {
                let inner = self.float(d);
                let arg = self.method("tanh", vec![inner]);
                self.method("tan", vec![arg])
            }
            52 => {
                let arg = self.unit(d);
                self.method("asin", vec![arg])
            }
            53 => {
                let arg = self.unit(d);
                self.method("acos", vec![arg])
            }
            54 => match self.rng.below(4) {
                0 | 1 => {
                    let arg = self.float(d);
                    self.method("atan", vec![arg])
                }
                2 => {
                    let arg = self.float(d);
                    self.method("asinh", vec![arg])
                }
                _ => {
                    // acosh on [1, ∞), atanh on (−1, 1)
                    if self.rng.chance(0.5) {
                        let arg = Self::bin('+', self.positive(d), Expr::Lit(1.0));
                        self.method("acosh", vec![arg])
                    } else {
                        let inner = self.float(d);
                        let arg = Self::bin('*', self.method("tanh", vec![inner]), Expr::Lit(0.5));
                        self.method("atanh", vec![arg])
                    }
                }
            },
            55 => {
                let arg = self.tame(d);
                self.method("sinh", vec![arg])
            }
            56 => {
                let arg = self.tame(d);
                self.method("cosh", vec![arg])
            }
            57..=59 => {
                let arg = self.float(d);
                if self.rng.chance(0.2) {
                    self.function("tanh", vec![arg])
                } else {
                    self.method("tanh", vec![arg])
                }
            }
            60..=61 => {
                let arg = self.float(d);
                self.method("abs", vec![arg])
            }
            62..=63 => {
                let arg = self.float(d);
                self.function("relu", vec![arg])
            }
            64 => {
                let arg = self.float(d);
                let slope = if self.rng.chance(0.6) {
                    Expr::Lit(*self.rng.pick(&[0.1, 0.01, 0.2]))
                } else {
                    self.float(d)
                };
                self.function("leaky_relu", vec![arg, slope])
            }
            65 => {
                let arg = self.float(d);
                let alpha = if self.rng.chance(0.6) {
                    Expr::Lit(*self.rng.pick(&[1.0, 0.5, 1.5]))
                } else {
                    self.float(d)
                };
                self.function("elu", vec![arg, alpha])
            }
            66..=67 => {
                let (a, b) = (self.float(d), self.float(d));
                self.method("max", vec![a, b])
            }
            68..=69 => {
                let (a, b) = (self.float(d), self.float(d));
                self.method("min", vec![a, b])
            }
            70 => {
                let (a, b) = (self.float(d), self.float(d));
                self.function("maxout", vec![a, b])
            }
            71 => {
                let (a, b) = (self.float(d), self.float(d));
                self.method("hypot", vec![a, b])
            }
            // Piecewise: steps (gradient 0), remainders and clamps (one-sided at jumps).
            72 if self.rng.chance(0.5) => {
                let arg = self.float(d);
                match self.rng.below(12) {
                    0 => self.method("floor", vec![arg]),
                    1 => self.method("ceil", vec![arg]),
                    2 => self.method("round", vec![arg]),
                    3 => self.method("round_ties_even", vec![arg]),
                    4 => self.method("trunc", vec![arg]),
                    5 => self.method("fract", vec![arg]),
                    6 => self.method("signum", vec![arg]),
                    7 => {
                        let sign = self.float(d);
                        self.method("copysign", vec![arg, sign])
                    }
                    8 => {
                        let lo = Expr::Lit(*self.rng.pick(&[-1.0, -0.5, 0.0]));
                        let hi = Expr::Lit(*self.rng.pick(&[0.5, 1.0, 2.0]));
                        self.method("clamp", vec![arg, lo, hi])
                    }
                    9 => {
                        let divisor = self.positive(d);
                        Self::bin('%', arg, divisor)
                    }
                    10 => {
                        let divisor = self.positive(d);
                        let name = if self.rng.chance(0.5) {
                            "rem_euclid"
                        } else {
                            "div_euclid"
                        };
                        self.method(name, vec![arg, divisor])
                    }
                    _ => {
                        let name = if self.rng.chance(0.5) {
                            "to_radians"
                        } else {
                            "to_degrees"
                        };
                        self.method(name, vec![arg])
                    }
                }
            }
            72 => {
                let y = self.float(d);
                let x = if self.rng.chance(0.5) {
                    self.positive(d)
                } else {
                    self.float(d)
                };
                self.method("atan2", vec![y, x])
            }
            73..=74 => {
                let base = self.float(d);
                let base = self.method("abs", vec![base]);
                let base = Self::bin('+', base, Expr::Lit(0.5));
                let exponent = self.float(d);
                self.method("powf", vec![base, exponent])
            }
            75..=76 => {
                let (a, b, c) = (self.float(d), self.float(d), self.float(d));
                self.method("mul_add", vec![a, b, c])
            }
            77..=80 => {
                let n = self.rng.below(7) as i64 - 2;
                let base = if n < 0 { self.positive(d) } else { self.float(d) };
                let form = if base.typed() && self.rng.chance(0.85) {
                    Form::Method
                } else {
                    Form::Path
                };
                Expr::Powi(form, Box::new(base), n)
            }
            81..=83 => {
                let arg = self.float(d);
                match self.rng.below(4) {
                    // written out: the simplifier recognizes it
                    0 => {
                        let exp = self.method("exp", vec![Expr::Neg(Box::new(arg))]);
                        Self::bin('/', Expr::Lit(1.0), Self::bin('+', Expr::Lit(1.0), exp))
                    }
                    1 => {
                        let exp = self.method("exp", vec![Expr::Neg(Box::new(arg))]);
                        self.method("recip", vec![Self::bin('+', exp, Expr::Lit(1.0))])
                    }
                    _ => self.function("sigmoid", vec![arg]),
                }
            }
            84..=87 => {
                let cond = self.cond(d);
                let then = self.value_block(d);
                let otherwise = self.value_block(d);
                Expr::If(Box::new(cond), Box::new(then), Box::new(otherwise))
            }
            88..=89 => Expr::Block(Box::new(self.value_block(d))),
            90..=92 if !self.ints().is_empty() => {
                let ints = self.ints();
                let var = self.rng.pick(&ints).clone();
                let Kind::Int(lo, hi) = var.kind else {
                    unreachable!()
                };
                let mut arms = Vec::new();
                let mut n = lo;
                while n <= hi && arms.len() < 3 {
                    let mut patterns = vec![n];
                    if self.rng.chance(0.3) && n < hi {
                        n += 1;
                        patterns.push(n);
                    }
                    n += 1;
                    arms.push((patterns, self.float(d)));
                }
                Expr::Match(Int::Var(var.name), arms, Box::new(self.float(d)))
            }
            _ => self.leaf(),
        }
    }

    /// A block with a value: `{ let t = …; value }` (or just the value).
    fn value_block(&mut self, depth: usize) -> Block {
        self.scopes.push(Vec::new());
        let mut stmts = Vec::new();
        if self.rng.chance(0.3) {
            let name = *self.rng.pick(FLOAT_LOCALS);
            let value = self.float(depth);
            let annotation = (!value.typed()).then_some(Kind::Float);
            stmts.push(Stmt::Let {
                name: name.to_string(),
                mutable: false,
                annotation,
                value,
            });
            self.declare(Var {
                name: name.to_string(),
                kind: Kind::Float,
                assignable: false,
                by_ref: false,
                slice: None,
            });
        }
        let value = self.float(depth);
        self.scopes.pop();
        Block { stmts, value }
    }

    fn cond(&mut self, depth: usize) -> Cond {
        let ints = self.ints();
        match self.rng.below(20) {
            0..=1 if depth > 0 => {
                let (a, b) = (self.cond(depth - 1), self.cond(depth - 1));
                if self.rng.chance(0.5) {
                    Cond::And(Box::new(a), Box::new(b))
                } else {
                    Cond::Or(Box::new(a), Box::new(b))
                }
            }
            2 => Cond::Not(Box::new(self.cond(depth.saturating_sub(1)))),
            3..=5 if !ints.is_empty() => {
                let var = self.rng.pick(&ints).clone();
                let Kind::Int(lo, hi) = var.kind else {
                    unreachable!()
                };
                let n = lo + self.rng.below((hi - lo + 1) as usize) as i64;
                let var = Int::Var(var.name);
                let (var, n) = if self.rng.chance(0.3) {
                    (Int::Bin('%', Box::new(var), Box::new(Int::Lit(2))), n % 2)
                } else {
                    (var, n)
                };
                let op = *self.rng.pick(&["<", ">", "<=", ">=", "==", "!="]);
                Cond::Int(op, var, Int::Lit(n))
            }
            _ => {
                let op = *self.rng.pick(&["<", ">", "<=", ">=", "<", ">", "!="]);
                let a = self.float(depth);
                let b = if self.rng.chance(0.4) {
                    self.literal()
                } else {
                    self.float(depth)
                };
                Cond::Float(op, a, b)
            }
        }
    }

    /// The function's value: an expression, plus some of the variables the body computed.
    fn result(&mut self) -> Expr {
        let mut value = self.float(3);
        let mut terms: Vec<Expr> = Vec::new();
        let visible = self.visible();
        for var in visible.iter().filter(|v| v.assignable) {
            if terms.len() < 3 && self.rng.chance(0.7) {
                match &var.kind {
                    Kind::Float => terms.push(Expr::Var(var.name.clone(), false)),
                    Kind::Array(dims) => {
                        let indices = dims.iter().map(|&n| Int::Lit(self.rng.below(n) as i64)).collect();
                        terms.push(Expr::Index(var.name.clone(), indices));
                    }
                    Kind::Int(..) => {}
                }
            }
        }
        for term in terms {
            let op = *self.rng.pick(&['+', '+', '-', '*']);
            value = Self::bin(op, value, term);
        }
        value
    }

    // --- statements

    fn stmt(&mut self, out: &mut Vec<Stmt>) {
        if self.budget == 0 {
            return;
        }
        self.budget -= 1;
        let depth = self.depth();
        let visible = self.visible();
        let floats: Vec<Var> = visible
            .iter()
            .filter(|v| v.assignable && v.kind == Kind::Float)
            .cloned()
            .collect();
        let arrays: Vec<Var> = visible
            .iter()
            .filter(|v| v.assignable && matches!(v.kind, Kind::Array(_)))
            .cloned()
            .collect();
        match self.rng.below(100) {
            0..=27 => self.let_float(out, depth),
            28..=42 if !floats.is_empty() => {
                let var = self.rng.pick(&floats).clone();
                out.push(self.assign(&var.name, Vec::new(), depth));
            }
            43..=49 => self.let_array(out, depth),
            50 if !arrays.is_empty() => {
                // the whole array, from another of its shape or a literal
                let var = self.rng.pick(&arrays).clone();
                let Kind::Array(dims) = &var.kind else {
                    unreachable!()
                };
                let sources: Vec<Var> = self
                    .arrays()
                    .into_iter()
                    .filter(|a| a.kind == var.kind && a.slice.is_none() && a.name != var.name)
                    .collect();
                let value = match sources.is_empty() {
                    false => {
                        let source = self.rng.pick(&sources);
                        Expr::Var(source.name.clone(), source.by_ref)
                    }
                    true if dims.len() == 1 => Expr::Array((0..dims[0]).map(|_| self.float(depth)).collect()),
                    true => Expr::Repeat(Box::new(Expr::Repeat(Box::new(self.literal()), dims[1])), dims[0]),
                };
                out.push(Stmt::Assign {
                    name: var.name,
                    indices: Vec::new(),
                    op: "=",
                    value,
                });
            }
            51..=57 if !arrays.is_empty() => {
                let var = self.rng.pick(&arrays).clone();
                let Kind::Array(dims) = &var.kind else {
                    unreachable!()
                };
                let indices = dims.iter().map(|&n| self.index(n)).collect();
                out.push(self.assign(&var.name, indices, depth));
            }
            58..=67 => self.if_stmt(out),
            68..=85 if self.loops < 2 => self.for_loop(out),
            86..=89 if self.loops < 2 => self.counted(out),
            90..=92 if self.loops < 2 => self.float_while(out),
            _ => self.let_float(out, depth),
        }
    }

    fn let_float(&mut self, out: &mut Vec<Stmt>, depth: usize) {
        let name = *self.rng.pick(FLOAT_LOCALS);
        let value = self.float(depth);
        let mutable = self.rng.chance(0.45);
        let annotation = (!value.typed() || self.rng.chance(0.1)).then_some(Kind::Float);
        out.push(Stmt::Let {
            name: name.to_string(),
            mutable,
            annotation,
            value,
        });
        self.declare(Var {
            name: name.to_string(),
            kind: Kind::Float,
            assignable: mutable,
            by_ref: false,
            slice: None,
        });
    }

    fn let_array(&mut self, out: &mut Vec<Stmt>, depth: usize) {
        let name = *self.rng.pick(ARRAY_LOCALS);
        let arrays: Vec<Var> = self.arrays().into_iter().filter(|a| a.slice.is_none()).collect();
        let (value, dims) = if !arrays.is_empty() && self.rng.chance(0.4) {
            let source = self.rng.pick(&arrays).clone();
            let Kind::Array(dims) = &source.kind else {
                unreachable!()
            };
            if dims.len() == 2 && self.rng.chance(0.5) {
                // a row
                let row = self.index(dims[0]);
                (Expr::Index(source.name.clone(), vec![row]), dims[1..].to_vec())
            } else {
                (Expr::Var(source.name.clone(), source.by_ref), dims.clone())
            }
        } else {
            let n = 2 + self.rng.below(3);
            if self.rng.chance(0.15) {
                let m = 2 + self.rng.below(2);
                let item = Expr::Repeat(Box::new(self.literal()), m);
                (Expr::Repeat(Box::new(item), n), vec![n, m])
            } else if self.rng.chance(0.5) {
                let items = (0..n).map(|_| self.float(depth.min(2))).collect();
                (Expr::Array(items), vec![n])
            } else {
                let item = if self.rng.chance(0.5) {
                    self.literal()
                } else {
                    self.float(1)
                };
                (Expr::Repeat(Box::new(item), n), vec![n])
            }
        };
        let kind = Kind::Array(dims);
        let mutable = self.rng.chance(0.75);
        let annotation = (!value.typed()).then(|| kind.clone());
        out.push(Stmt::Let {
            name: name.to_string(),
            mutable,
            annotation,
            value,
        });
        self.declare(Var {
            name: name.to_string(),
            kind,
            assignable: mutable,
            by_ref: false,
            slice: None,
        });
    }

    /// `name[indices] op= value`.
    fn assign(&mut self, name: &str, indices: Vec<Int>, depth: usize) -> Stmt {
        let (op, value) = match self.rng.below(10) {
            0..=2 => ("=", self.float(depth)),
            3..=5 => ("+=", self.float(depth)),
            6 => ("-=", self.float(depth)),
            7..=8 => {
                let factor = match self.rng.below(3) {
                    0 => self.float(depth),
                    1 => {
                        let e = self.float(depth);
                        self.method("cos", vec![e])
                    }
                    _ => {
                        let e = self.float(depth);
                        let tanh = self.method("tanh", vec![e]);
                        Self::bin('+', tanh, Expr::Lit(1.0))
                    }
                };
                ("*=", factor)
            }
            _ => ("/=", self.positive(depth.saturating_sub(1))),
        };
        Stmt::Assign {
            name: name.to_string(),
            indices,
            op,
            value,
        }
    }

    /// A block of statements in its own scope.
    fn block(&mut self, count: usize, out: &mut Vec<Stmt>) {
        for _ in 0..count {
            self.stmt(out);
        }
    }

    /// Ends a loop or branch body with an assignment to a variable from outside it, so
    /// that something is carried or merged.
    fn assign_outer(&mut self, out: &mut Vec<Stmt>, outer: &[Var]) {
        let outer: Vec<&Var> = outer.iter().filter(|v| v.assignable).collect();
        if outer.is_empty() {
            return;
        }
        let var = (*self.rng.pick(&outer)).clone();
        // still the same variable (not shadowed inside the body)?
        if !self
            .visible()
            .iter()
            .any(|v| v.name == var.name && v.kind == var.kind && v.assignable)
        {
            return;
        }
        let depth = self.depth();
        let stmt = match &var.kind {
            Kind::Array(dims) => {
                let indices = dims.iter().map(|&n| self.index(n)).collect();
                self.assign(&var.name, indices, depth)
            }
            _ => self.assign(&var.name, Vec::new(), depth),
        };
        out.push(stmt);
    }

    fn if_stmt(&mut self, out: &mut Vec<Stmt>) {
        let cond = self.cond(1);
        let outer = self.visible();
        let mut sides = Vec::new();
        for _ in 0..2 {
            self.scopes.push(Vec::new());
            let mut stmts = Vec::new();
            let count = self.rng.below(2);
            self.block(count, &mut stmts);
            if self.rng.chance(0.8) {
                self.assign_outer(&mut stmts, &outer);
            }
            self.scopes.pop();
            sides.push(stmts);
        }
        let otherwise = sides.pop().filter(|_| self.rng.chance(0.7));
        let then = sides.pop().unwrap_or_default();
        out.push(Stmt::If {
            cond,
            then,
            otherwise,
        });
    }

    /// A mutable float for a loop to carry, if there is none.
    fn ensure_carried(&mut self, out: &mut Vec<Stmt>) {
        if self.floats().iter().all(|v| !v.assignable) || self.rng.chance(0.3) {
            let name = *self.rng.pick(&["acc", "s", "total", "p"]);
            let value = if self.rng.chance(0.5) {
                self.literal()
            } else {
                self.float(1)
            };
            let annotation = (!value.typed()).then_some(Kind::Float);
            out.push(Stmt::Let {
                name: name.to_string(),
                mutable: true,
                annotation,
                value,
            });
            self.declare(Var {
                name: name.to_string(),
                kind: Kind::Float,
                assignable: true,
                by_ref: false,
                slice: None,
            });
        }
    }

    fn loop_body(&mut self, out: &mut Vec<Stmt>, outer: &[Var]) {
        self.loops += 1;
        self.scopes.push(Vec::new());
        let count = self.rng.below(3);
        self.block(count, out);
        self.assign_outer(out, outer);
        self.scopes.pop();
        self.loops -= 1;
    }

    fn for_loop(&mut self, out: &mut Vec<Stmt>) {
        self.ensure_carried(out);
        let outer = self.visible();
        let arrays = self.arrays();
        let mut body = Vec::new();
        let stmt = if !arrays.is_empty() && self.rng.chance(0.3) {
            let array = self.rng.pick(&arrays).clone();
            let Kind::Array(dims) = &array.kind else {
                unreachable!()
            };
            let by_value = !array.by_ref && self.rng.chance(0.4);
            let enumerate = !by_value && self.rng.chance(0.5);
            let rev = !by_value && self.rng.chance(0.3);
            let element = self.rng.pick(ELEMENTS).to_string();
            let index = enumerate.then(|| self.rng.pick(INDICES).to_string());
            let element_kind = if dims.len() > 1 {
                Kind::Array(dims[1..].to_vec())
            } else {
                Kind::Float
            };
            self.scopes.push(Vec::new());
            if let Some(index) = &index {
                self.declare(Var {
                    name: index.clone(),
                    kind: Kind::Int(0, dims[0] as i64 - 1),
                    assignable: false,
                    by_ref: false,
                    slice: None,
                });
            }
            self.declare(Var {
                name: element.clone(),
                kind: element_kind,
                assignable: false,
                by_ref: false,
                slice: None,
            });
            // The array is borrowed while `iter()` runs.
            let was = (!by_value).then(|| self.set_assignable(&array.name, false));
            self.loop_body(&mut body, &outer);
            if let Some(was) = was {
                self.set_assignable(&array.name, was);
            }
            self.scopes.pop();
            Stmt::For {
                index,
                element: Some(element),
                range: Range::Elements {
                    array: array.name.clone(),
                    by_value,
                    enumerate,
                    rev,
                },
                body,
            }
        } else if let Some(end) = self.run_time_length().filter(|_| self.rng.chance(0.4)) {
            let last = match &end {
                Int::Len(_, n) => *n,
                Int::Var(name) => match self.visible().iter().find(|v| &v.name == name).map(|v| &v.kind) {
                    Some(Kind::Int(n, _)) => *n,
                    _ => unreachable!(),
                },
                _ => unreachable!(),
            };
            // From 1 or 2 at times: empty where the bound is smaller.
            let start = if self.rng.chance(0.8) {
                0
            } else {
                1 + self.rng.below(2) as i64
            };
            // The bound of another integer type at times: then the index is unused.
            let ty = self
                .rng
                .chance(0.15)
                .then(|| *self.rng.pick(&["u32", "i32", "u8", "i64", "u16", "isize"]));
            let index = (ty.is_none() && start < last).then(|| self.rng.pick(INDICES).to_string());
            self.scopes.push(Vec::new());
            if let Some(index) = &index {
                self.declare(Var {
                    name: index.clone(),
                    kind: Kind::Int(start, last - 1),
                    assignable: false,
                    by_ref: false,
                    slice: None,
                });
            }
            self.loop_body(&mut body, &outer);
            self.scopes.pop();
            Stmt::For {
                index,
                element: None,
                range: Range::Upto {
                    start,
                    end,
                    ty,
                    rev: self.rng.chance(0.3),
                },
                body,
            }
        } else {
            let start = if self.rng.chance(0.8) {
                0
            } else {
                1 + self.rng.below(2) as i64
            };
            let count = 1 + self.rng.below(4) as i64;
            let inclusive = self.rng.chance(0.2);
            let rev = self.rng.chance(0.25);
            let last = start + count - 1;
            let end = if inclusive { last } else { last + 1 };
            let index = (!self.rng.chance(0.1)).then(|| self.rng.pick(INDICES).to_string());
            self.scopes.push(Vec::new());
            if let Some(index) = &index {
                self.declare(Var {
                    name: index.clone(),
                    kind: Kind::Int(start, last),
                    assignable: false,
                    by_ref: false,
                    slice: None,
                });
            }
            self.loop_body(&mut body, &outer);
            self.scopes.pop();
            Stmt::For {
                index,
                element: None,
                range: Range::Ints {
                    start,
                    end,
                    inclusive,
                    rev,
                },
                body,
            }
        };
        out.push(stmt);
    }

    /// A bound known only at run time: `n`, or `xs.len()` (at least 1).
    fn run_time_length(&mut self) -> Option<Int> {
        let mut ends = Vec::new();
        for var in self.visible() {
            match (&var.kind, var.slice) {
                (Kind::Int(lo, hi), _) if lo == hi && *lo > 0 => ends.push(Int::Var(var.name.clone())),
                (Kind::Array(dims), Some(_)) => ends.push(Int::Len(var.name.clone(), dims[0] as i64)),
                _ => {}
            }
        }
        (!ends.is_empty()).then(|| self.rng.pick(&ends).clone())
    }

    fn counted(&mut self, out: &mut Vec<Stmt>) {
        self.ensure_carried(out);
        let outer = self.visible();
        self.fresh += 1;
        let counter = format!("n{}", self.fresh);
        let limit = 1 + self.rng.below(3) as i64;
        self.scopes.push(Vec::new());
        self.declare(Var {
            name: counter.clone(),
            kind: Kind::Int(0, limit - 1),
            assignable: false,
            by_ref: false,
            slice: None,
        });
        let mut body = Vec::new();
        self.loop_body(&mut body, &outer);
        self.scopes.pop();
        out.push(Stmt::Counted { counter, limit, body });
    }

    fn float_while(&mut self, out: &mut Vec<Stmt>) {
        self.fresh += 1;
        let var = format!("level{}", self.fresh);
        let value = self.float(1);
        out.push(Stmt::Let {
            name: var.clone(),
            mutable: true,
            annotation: (!value.typed()).then_some(Kind::Float),
            value,
        });
        self.declare(Var {
            name: var.clone(),
            kind: Kind::Float,
            assignable: false,
            by_ref: false,
            slice: None,
        });
        let outer = self.visible();
        let limit = *self.rng.pick(&[1.0, 2.0, 3.0, 0.5]);
        self.loops += 1;
        self.scopes.push(Vec::new());
        let mut body = Vec::new();
        let count = self.rng.below(2);
        self.block(count, &mut body);
        self.assign_outer(&mut body, &outer);
        let step = self.positive(1);
        self.scopes.pop();
        self.loops -= 1;
        out.push(Stmt::While {
            var: var.clone(),
            limit,
            body,
            step,
        });
        // After the loop it is an ordinary variable (which the loop no longer changes).
        self.declare(Var {
            name: var,
            kind: Kind::Float,
            assignable: false,
            by_ref: false,
            slice: None,
        });
    }
}
