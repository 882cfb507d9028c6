//! Random programs over ndarray arrays: array operations inside loops, `while` loops and
//! branches, over rows and columns, slices, matrices built row by row or element by element
//! from zeros, and calls of helpers in a `#[differentiate]` module (one returning a tuple,
//! one writing into a scratch `Vec` through `&mut`, both inlined).
//!
//! Each program is printed twice: as ndarray code for `#[differentiate]`
//! ([`ArrayProgram::tokens`]), and as plain loops over `Vec`s ([`ArrayProgram::reference`],
//! calling `chainrule_e2e::plain`'s helpers), an implementation of the same function that
//! shares nothing with ndarray or the macro. `e2e/` compiles both, checks that they agree,
//! and checks the gradient against central differences; the compiler's tests expand every
//! program.
//!
//! The parameters are always `w: &Array2<f64>` (n × n), `m: &Array2<f64>` (r × n),
//! `b: &Array1<f64>` and `x: &Array1<f64>` (n), with n in 2..=4 and r in 1..=n; every
//! vector the program computes has length n. Loops apply a bounded function (tanh, sin,
//! the sigmoid) to what they carry, so that values stay moderate on [-1.5, 1.5].

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, ToTokens};

use crate::Rng;

/// A vector of length n.
#[derive(Clone, Debug)]
enum Vector {
    X,
    B,
    Var(String),
    /// `w.dot(&v)`, or of a matrix the program built.
    MatVec(Matrix, Box<Vector>),
    /// `w.t().dot(&v)`
    TransposedVec(Box<Vector>),
    Add(Box<Vector>, Box<Vector>),
    Mul(Box<Vector>, Box<Vector>),
    Scale(Box<Vector>, f64),
    Shift(Box<Vector>, f64),
    Map(Func, Box<Vector>),
    /// `w.row(i)` for an index in scope (a loop's) or a literal one.
    Row(Matrix, Index),
    /// `w.column(j)`
    Column(Index),
}

/// An n × n matrix.
#[derive(Clone, Debug)]
enum Matrix {
    W,
    Var(String),
}

#[derive(Clone, Debug)]
enum Index {
    Lit(usize),
    Var(String),
}

/// A float.
#[derive(Clone, Debug)]
enum Scalar {
    Lit(f64),
    Sum(Vector),
    Dot(Vector, Vector),
    Element(Vector, Index),
    /// `v.slice(s![a..b]).sum()`
    SliceSum(Vector, usize, usize),
    Tanh(Box<Scalar>),
    Mul(Box<Scalar>, Box<Scalar>),
    Add(Box<Scalar>, Box<Scalar>),
    /// `energy(&v)`, the module's helper.
    Helper(Vector),
    /// `{ let (mean, square) = moments(&v); mean - 0.5 * square.tanh() }`: the module's
    /// helper returning a tuple (inlined).
    Moments(Vector),
    Total,
}

#[derive(Clone, Copy, Debug)]
enum Func {
    Tanh,
    Sin,
    Sigmoid,
    /// `|t| (t * t + 0.5).ln()`
    SoftLog,
}

#[derive(Clone, Debug)]
enum Stmt {
    /// `let mut name = v;`
    Let(String, Vector),
    /// `for _ in 0..count { name = v; }`
    Repeat(usize, String, Vector),
    /// `while steps < count && s < limit { name = v; steps += 1; }`
    While(usize, Scalar, f64, String, Vector),
    /// `let name = if s > c { a } else { b };`
    Branch(String, Scalar, f64, Vector, Vector),
    /// `total += s;`
    Total(Scalar),
    /// `for i in 0..m.nrows() { total += (m.row(i).dot(&v)).tanh(); }` (or over `m.rows()`)
    RowLoop(String, Vector, bool),
    /// `let mut name = Array2::zeros((n, n)); for i in 0..n { name.row_mut(i).assign(&v); }`
    Build(String, String, Vector),
    /// `for j in 0..w.ncols() { total += w.column(j).dot(&v) * c; }`
    ColumnLoop(String, Vector, f64),
    /// `let mut name = Array2::zeros((n, n)); for i in 0..n { for j in 0..n {
    /// name[[i, j]] = (w[[i, j]] * s).tanh(); } name[[i, i]] += c; }`
    Elements(String, String, String, Scalar, f64),
    /// `let mut name = Array1::zeros(n); for i in 0..n { name[i] = s.tanh(); }`
    VectorElements(String, String, Scalar),
    /// `total += stash(&mut kept, s);`: the module's helper writing into the scratch
    /// vector `kept` (inlined), which the function sums at its end.
    Stash(Scalar),
}

/// A random function over arrays (see the module's documentation).
pub struct ArrayProgram {
    pub seed: u64,
    /// The vectors' length.
    pub n: usize,
    /// `m`'s rows.
    pub rows: usize,
    /// In a `#[differentiate] mod` with the helper `energy`.
    pub in_module: bool,
    /// Generic: `fn f<T: Real>(w: &Array2<T>, …) -> T` (called with arrays of `f64`).
    pub generic: bool,
    body: Vec<Stmt>,
}

struct Gen {
    rng: Rng,
    n: usize,
    vectors: Vec<String>,
    matrices: Vec<String>,
    indices: Vec<String>,
    helper: bool,
    fresh: usize,
}

impl Gen {
    fn fresh(&mut self, hint: &str) -> String {
        self.fresh += 1;
        format!("{hint}{}", self.fresh)
    }

    fn coefficient(&mut self) -> f64 {
        // Two decimals, so that the printed literal is the value.
        let c = (self.rng.unit() * 2.4 - 1.2) * 100.0;
        c.round() / 100.0
    }

    fn index(&mut self) -> Index {
        match self.indices.last() {
            Some(i) if self.rng.chance(0.6) => Index::Var(i.clone()),
            _ => Index::Lit(self.rng.below(self.n)),
        }
    }

    fn matrix(&mut self) -> Matrix {
        match self.rng.chance(0.4) && !self.matrices.is_empty() {
            true => Matrix::Var(self.rng.pick(&self.matrices).clone()),
            false => Matrix::W,
        }
    }

    fn func(&mut self) -> Func {
        *self
            .rng
            .pick(&[Func::Tanh, Func::Sin, Func::Sigmoid, Func::SoftLog])
    }

    fn bounded(&mut self) -> Func {
        *self.rng.pick(&[Func::Tanh, Func::Sin, Func::Sigmoid])
    }

    fn vector(&mut self, depth: usize) -> Vector {
        let leaf = depth == 0 || self.rng.chance(0.25);
        if leaf {
            return match self.rng.below(5) {
                0 => Vector::X,
                1 => Vector::B,
                2 if !self.vectors.is_empty() => Vector::Var(self.rng.pick(&self.vectors).clone()),
                3 => {
                    let matrix = self.matrix();
                    Vector::Row(matrix, self.index())
                }
                4 => Vector::Column(self.index()),
                _ => Vector::X,
            };
        }
        let d = depth - 1;
        match self.rng.below(8) {
            0 => Vector::MatVec(self.matrix(), Box::new(self.vector(d))),
            1 => Vector::TransposedVec(Box::new(self.vector(d))),
            2 => Vector::Add(Box::new(self.vector(d)), Box::new(self.vector(d))),
            3 => Vector::Mul(Box::new(self.vector(d)), Box::new(self.vector(d))),
            4 => Vector::Scale(Box::new(self.vector(d)), self.coefficient()),
            5 => Vector::Shift(Box::new(self.vector(d)), self.coefficient()),
            _ => Vector::Map(self.func(), Box::new(self.vector(d))),
        }
    }

    /// A vector kept within [-1, 1]: a bounded function of one.
    fn squashed(&mut self, depth: usize) -> Vector {
        let f = self.bounded();
        Vector::Map(f, Box::new(self.vector(depth)))
    }

    fn scalar(&mut self, depth: usize) -> Scalar {
        let leaf = depth == 0 || self.rng.chance(0.3);
        if leaf {
            return match self.rng.below(6) {
                0 => Scalar::Lit(self.coefficient()),
                1 => Scalar::Dot(self.vector(1), self.vector(1)),
                2 => Scalar::Element(self.vector(1), self.index()),
                3 => {
                    let a = self.rng.below(self.n);
                    let b = a + 1 + self.rng.below(self.n - a);
                    Scalar::SliceSum(self.vector(1), a, b)
                }
                4 if self.helper => match self.rng.chance(0.5) {
                    true => Scalar::Helper(self.vector(1)),
                    false => Scalar::Moments(self.vector(1)),
                },
                _ => Scalar::Sum(self.vector(2)),
            };
        }
        let d = depth - 1;
        match self.rng.below(4) {
            0 => Scalar::Tanh(Box::new(self.scalar(d))),
            1 => Scalar::Mul(
                Box::new(self.scalar(d)),
                Box::new(Scalar::Tanh(Box::new(self.scalar(d)))),
            ),
            2 => Scalar::Add(Box::new(self.scalar(d)), Box::new(self.scalar(d))),
            _ => Scalar::Tanh(Box::new(Scalar::Add(
                Box::new(self.scalar(d)),
                Box::new(Scalar::Total),
            ))),
        }
    }

    fn stmt(&mut self) -> Stmt {
        match self.rng.below(11) {
            0 | 1 => {
                let name = self.fresh("h");
                let value = self.squashed(2);
                self.vectors.push(name.clone());
                Stmt::Let(name, value)
            }
            2 if !self.vectors.is_empty() => {
                let name = self.rng.pick(&self.vectors).clone();
                let count = 1 + self.rng.below(3);
                Stmt::Repeat(count, name, self.squashed(2))
            }
            3 if !self.vectors.is_empty() => {
                let name = self.rng.pick(&self.vectors).clone();
                let count = 1 + self.rng.below(4);
                let condition = Scalar::Sum(Vector::Var(name.clone()));
                let limit = self.coefficient() * 2.0;
                Stmt::While(count, condition, limit, name, self.squashed(2))
            }
            4 => {
                let name = self.fresh("z");
                let condition = self.scalar(1);
                let c = self.coefficient();
                let (a, b) = (self.squashed(2), self.vector(2));
                self.vectors.push(name.clone());
                Stmt::Branch(name, condition, c, a, b)
            }
            5 => {
                let i = self.fresh("i");
                self.indices.push(i.clone());
                let v = self.squashed(1);
                self.indices.pop();
                let by_rows = self.rng.chance(0.5);
                Stmt::RowLoop(i, v, by_rows)
            }
            6 => {
                let name = self.fresh("built");
                let i = self.fresh("i");
                self.indices.push(i.clone());
                let v = self.squashed(2);
                self.indices.pop();
                self.matrices.push(name.clone());
                Stmt::Build(name, i, v)
            }
            7 => {
                let j = self.fresh("j");
                self.indices.push(j.clone());
                let v = self.squashed(1);
                self.indices.pop();
                let c = self.coefficient();
                Stmt::ColumnLoop(j, v, c)
            }
            8 => {
                let (name, i, j) = (self.fresh("elements"), self.fresh("i"), self.fresh("j"));
                self.indices.extend([i.clone(), j.clone()]);
                let value = self.scalar(1);
                self.indices.truncate(self.indices.len() - 2);
                let c = self.coefficient();
                self.matrices.push(name.clone());
                Stmt::Elements(name, i, j, value, c)
            }
            9 => {
                let (name, i) = (self.fresh("filled"), self.fresh("i"));
                self.indices.push(i.clone());
                let value = self.scalar(1);
                self.indices.pop();
                self.vectors.push(name.clone());
                Stmt::VectorElements(name, i, value)
            }
            10 if self.helper => Stmt::Stash(self.scalar(1)),
            _ => Stmt::Total(self.scalar(2)),
        }
    }
}

impl ArrayProgram {
    pub fn generate(seed: u64) -> ArrayProgram {
        let mut rng = Rng::new(seed ^ 0x00a7_7a75_00a7_7a75);
        let n = 2 + rng.below(3);
        // At most n rows, so that a row loop's index is an index of a vector too.
        let rows = 1 + rng.below(n);
        let in_module = rng.chance(0.3);
        let generic = rng.chance(0.25);
        let mut gen = Gen {
            rng,
            n,
            vectors: Vec::new(),
            matrices: Vec::new(),
            indices: Vec::new(),
            helper: in_module,
            fresh: 0,
        };
        let count = 2 + gen.rng.below(5);
        let mut body: Vec<Stmt> = (0..count).map(|_| gen.stmt()).collect();
        // Something reads every vector, so that each is differentiated.
        for name in gen.vectors.clone() {
            body.push(Stmt::Total(Scalar::Sum(Vector::Var(name))));
        }
        ArrayProgram {
            seed,
            n,
            rows,
            in_module,
            generic,
            body,
        }
    }

    /// The parameters' names and shapes, in order: `w`, `m`, `b`, `x`.
    pub fn shapes(&self) -> [(&'static str, Vec<usize>); 4] {
        [
            ("w", vec![self.n, self.n]),
            ("m", vec![self.rows, self.n]),
            ("b", vec![self.n]),
            ("x", vec![self.n]),
        ]
    }

    /// `fn f(w: &Array2<f64>, m: &Array2<f64>, b: &Array1<f64>, x: &Array1<f64>) -> f64`,
    /// and in a module, the helper `energy` beside it (the module's attribute is the
    /// caller's to write: see [`ArrayProgram::in_module`]).
    pub fn tokens(&self) -> TokenStream {
        let mut printer = Printer {
            plain: false,
            generic: self.generic,
            n: self.n,
        };
        let body: Vec<TokenStream> = self.body.iter().map(|s| printer.stmt(s)).collect();
        let (scratch, kept) = self.scratch(&printer);
        let (generics, t) = match self.generic {
            true => (quote!(<T: Real>), quote!(T)),
            false => (TokenStream::new(), quote!(f64)),
        };
        let (zero, half) = (printer.lit(0.0), printer.lit(0.5));
        let f = quote! {
            fn f #generics (w: &Array2<#t>, m: &Array2<#t>, b: &Array1<#t>, x: &Array1<#t>) -> #t {
                let mut total = #zero;
                #scratch
                #(#body)*
                #kept
                total
            }
        };
        let count = match self.generic {
            true => quote!(T::from_f64(v.len() as f64)),
            false => quote!(v.len() as f64),
        };
        match self.in_module {
            true => quote! {
                fn energy #generics (v: &Array1<#t>) -> #t {
                    v.mapv(#t::tanh).dot(v) * #half
                }
                fn moments #generics (v: &Array1<#t>) -> (#t, #t) {
                    let n = #count;
                    (v.sum() / n, v.dot(v) / n)
                }
                fn stash #generics (out: &mut Vec<#t>, s: #t) -> #t {
                    out.push(s.tanh());
                    if out.len() > 2 {
                        return s * #half;
                    }
                    s
                }
                pub #f
            },
            false => f,
        }
    }

    /// The same function as plain loops over `Vec`s (`fn reference(w: &[Vec<f64>], m:
    /// &[Vec<f64>], b: &[f64], x: &[f64]) -> f64`), with `chainrule_e2e::plain`'s helpers.
    pub fn reference(&self) -> TokenStream {
        let mut printer = Printer {
            plain: true,
            generic: false,
            n: self.n,
        };
        let body: Vec<TokenStream> = self.body.iter().map(|s| printer.stmt(s)).collect();
        let (scratch, kept) = self.scratch(&printer);
        quote! {
            fn reference(w: &[Vec<f64>], m: &[Vec<f64>], b: &[f64], x: &[f64]) -> f64 {
                let (w, m, b, x) = (w.to_vec(), m.to_vec(), b.to_vec(), x.to_vec());
                let _ = (&w, &m, &b, &x);
                let mut total = 0.0;
                #scratch
                #(#body)*
                #kept
                total
            }
        }
    }

    /// The scratch vector `stash` writes into, declared and, at the end, summed (where a
    /// statement stashes).
    fn scratch(&self, printer: &Printer) -> (TokenStream, TokenStream) {
        let (t, quarter) = (printer.float_type(), printer.lit(0.25));
        match self.body.iter().any(|s| matches!(s, Stmt::Stash(_))) {
            true => (
                quote!(let mut kept: Vec<#t> = Vec::new();),
                quote!(total += kept.iter().sum::<#t>() * #quarter;),
            ),
            false => (TokenStream::new(), TokenStream::new()),
        }
    }
}

struct Printer {
    /// Print the plain reference rather than ndarray code.
    plain: bool,
    /// Print the ndarray code generic over `T: Real`.
    generic: bool,
    n: usize,
}

fn float(value: f64) -> TokenStream {
    let magnitude = Literal::f64_suffixed(value.abs());
    match value.is_sign_negative() {
        true => quote!((-#magnitude)),
        false => quote!(#magnitude),
    }
}

fn ident(name: &str) -> proc_macro2::Ident {
    format_ident!("{name}")
}

impl Printer {
    /// A float constant: a literal, or `T::from_f64(…)` in generic code.
    fn lit(&self, value: f64) -> TokenStream {
        match self.generic && !self.plain {
            true => {
                let literal = Literal::f64_suffixed(value);
                quote!(T::from_f64(#literal))
            }
            false => float(value),
        }
    }

    fn float_type(&self) -> TokenStream {
        match self.generic && !self.plain {
            true => quote!(T),
            false => quote!(f64),
        }
    }

    fn index(&self, index: &Index) -> TokenStream {
        match index {
            Index::Lit(i) => Literal::usize_unsuffixed(*i).into_token_stream(),
            Index::Var(name) => ident(name).into_token_stream(),
        }
    }

    fn matrix(&self, matrix: &Matrix) -> TokenStream {
        match matrix {
            Matrix::W => quote!(w),
            Matrix::Var(name) => ident(name).into_token_stream(),
        }
    }

    /// An owned vector (ndarray: `Array1<f64>`; plain: `Vec<f64>`).
    fn owned(&self, v: &Vector) -> TokenStream {
        match (self.plain, v) {
            (false, Vector::X) => quote!(x.to_owned()),
            (false, Vector::B) => quote!(b.to_owned()),
            (true, Vector::X) => quote!(x.clone()),
            (true, Vector::B) => quote!(b.clone()),
            (_, Vector::Var(name)) => {
                let name = ident(name);
                quote!(#name.clone())
            }
            (false, Vector::Row(..) | Vector::Column(_)) => {
                let view = self.reference(v);
                quote!((#view).to_owned())
            }
            _ => self.value(v),
        }
    }

    /// A reference to a vector (ndarray: `&Array1` or `&ArrayView1`; plain: `&[f64]`).
    fn reference(&self, v: &Vector) -> TokenStream {
        match (self.plain, v) {
            (false, Vector::X) => quote!(x),
            (false, Vector::B) => quote!(b),
            (true, Vector::X) => quote!(&x),
            (true, Vector::B) => quote!(&b),
            (_, Vector::Var(name)) => {
                let name = ident(name);
                quote!(&#name)
            }
            (false, Vector::Row(matrix, i)) => {
                let (matrix, i) = (self.matrix(matrix), self.index(i));
                quote!(&#matrix.row(#i))
            }
            (false, Vector::Column(j)) => {
                let j = self.index(j);
                quote!(&w.column(#j))
            }
            _ => {
                let value = self.value(v);
                quote!(&(#value))
            }
        }
    }

    /// A new vector computed from others.
    fn value(&self, v: &Vector) -> TokenStream {
        let plain = self.plain;
        match v {
            Vector::X | Vector::B | Vector::Var(_) => self.owned(v),
            Vector::MatVec(matrix, inner) => {
                let (matrix, inner) = (self.matrix(matrix), self.reference(inner));
                match plain {
                    false => quote!(#matrix.dot(#inner)),
                    true => quote!(plain::matvec(&#matrix, #inner)),
                }
            }
            Vector::TransposedVec(inner) => {
                let inner = self.reference(inner);
                match plain {
                    false => quote!(w.t().dot(#inner)),
                    true => quote!(plain::transposed_matvec(&w, #inner)),
                }
            }
            Vector::Add(a, b) | Vector::Mul(a, b) => {
                let (a_ref, b_ref) = (self.reference(a), self.reference(b));
                let add = matches!(v, Vector::Add(..));
                match (plain, add) {
                    (false, true) => quote!(#a_ref + #b_ref),
                    (false, false) => quote!(#a_ref * #b_ref),
                    (true, true) => quote!(plain::zip(#a_ref, #b_ref, |p, q| p + q)),
                    (true, false) => quote!(plain::zip(#a_ref, #b_ref, |p, q| p * q)),
                }
            }
            Vector::Scale(inner, c) | Vector::Shift(inner, c) => {
                let (inner, c) = (self.reference(inner), self.lit(*c));
                let scale = matches!(v, Vector::Scale(..));
                match (plain, scale) {
                    (false, true) => quote!(#inner * #c),
                    (false, false) => quote!(#inner + #c),
                    (true, true) => quote!(plain::map(#inner, |p| p * #c)),
                    (true, false) => quote!(plain::map(#inner, |p| p + #c)),
                }
            }
            Vector::Map(func, inner) => {
                let (t, half) = (self.float_type(), self.lit(0.5));
                let f = match (plain, func) {
                    (false, Func::Tanh) => quote!(#t::tanh),
                    (false, Func::Sin) => quote!(#t::sin),
                    (false, Func::Sigmoid) => quote!(sigmoid),
                    (_, Func::SoftLog) => quote!(|t: #t| (t * t + #half).ln()),
                    (true, Func::Tanh) => quote!(|t: f64| t.tanh()),
                    (true, Func::Sin) => quote!(|t: f64| t.sin()),
                    (true, Func::Sigmoid) => quote!(|t: f64| 1.0 / (1.0 + (-t).exp())),
                };
                match plain {
                    false => {
                        let inner = self.reference(inner);
                        quote!((#inner).mapv(#f))
                    }
                    true => {
                        let inner = self.reference(inner);
                        quote!(plain::map(#inner, #f))
                    }
                }
            }
            Vector::Row(matrix, i) => {
                let (matrix, i) = (self.matrix(matrix), self.index(i));
                match plain {
                    false => quote!(#matrix.row(#i).to_owned()),
                    true => quote!(#matrix[#i].clone()),
                }
            }
            Vector::Column(j) => {
                let j = self.index(j);
                match plain {
                    false => quote!(w.column(#j).to_owned()),
                    true => quote!(plain::column(&w, #j)),
                }
            }
        }
    }

    fn scalar(&self, s: &Scalar) -> TokenStream {
        let plain = self.plain;
        match s {
            Scalar::Lit(c) => self.lit(*c),
            Scalar::Total => quote!(total),
            Scalar::Sum(v) => {
                let v = self.reference(v);
                match plain {
                    false => quote!((#v).sum()),
                    true => quote!(plain::sum(#v)),
                }
            }
            Scalar::Dot(a, b) => {
                let (a, b) = (self.reference(a), self.reference(b));
                match plain {
                    false => quote!((#a).dot(#b)),
                    true => quote!(plain::dot(#a, #b)),
                }
            }
            Scalar::Element(v, i) => {
                let (v, i) = (self.reference(v), self.index(i));
                quote!((#v)[#i])
            }
            Scalar::SliceSum(v, start, end) => {
                let v = self.reference(v);
                let (start, end) = (Literal::usize_unsuffixed(*start), Literal::usize_unsuffixed(*end));
                match plain {
                    false => quote!((#v).slice(s![#start..#end]).sum()),
                    true => quote!(plain::sum(&(#v)[#start..#end])),
                }
            }
            Scalar::Tanh(inner) => {
                let inner = self.scalar(inner);
                quote!((#inner).tanh())
            }
            Scalar::Mul(a, b) => {
                let (a, b) = (self.scalar(a), self.scalar(b));
                quote!((#a) * (#b))
            }
            Scalar::Add(a, b) => {
                let (a, b) = (self.scalar(a), self.scalar(b));
                quote!((#a) + (#b))
            }
            Scalar::Helper(v) => match (plain, v) {
                // `energy` takes `&Array1<f64>`: a row is made an array first, as rustc
                // asks.
                (false, Vector::Row(..) | Vector::Column(_)) => {
                    let v = self.owned(v);
                    quote!(energy(&#v))
                }
                (false, _) => {
                    let v = self.reference(v);
                    quote!(energy(#v))
                }
                (true, _) => {
                    let v = self.reference(v);
                    quote!(plain::energy(#v))
                }
            },
            Scalar::Moments(v) => {
                let (v, moments) = match (plain, v) {
                    (false, Vector::Row(..) | Vector::Column(_)) => {
                        let v = self.owned(v);
                        (quote!(&#v), quote!(moments))
                    }
                    (false, _) => (self.reference(v), quote!(moments)),
                    (true, _) => (self.reference(v), quote!(plain::moments)),
                };
                let half = self.lit(0.5);
                quote!({
                    let (mean, square) = #moments(#v);
                    mean - #half * square.tanh()
                })
            }
        }
    }

    fn stmt(&mut self, stmt: &Stmt) -> TokenStream {
        let plain = self.plain;
        let n = Literal::usize_unsuffixed(self.n);
        match stmt {
            Stmt::Let(name, v) => {
                let (name, v) = (ident(name), self.value(v));
                quote!(let mut #name = #v;)
            }
            Stmt::Repeat(count, name, v) => {
                let (name, v, count) = (ident(name), self.value(v), Literal::usize_unsuffixed(*count));
                quote!(for _ in 0..#count { #name = #v; })
            }
            Stmt::While(count, condition, limit, name, v) => {
                let (name, v, count) = (ident(name), self.value(v), Literal::usize_unsuffixed(*count));
                let (condition, limit) = (self.scalar(condition), self.lit(*limit));
                quote! {
                    let mut steps = 0;
                    while steps < #count && #condition < #limit {
                        #name = #v;
                        steps += 1;
                    }
                }
            }
            Stmt::Branch(name, condition, c, a, b) => {
                let (name, condition, c) = (ident(name), self.scalar(condition), self.lit(*c));
                let (a, b) = (self.value(a), self.value(b));
                quote!(let mut #name = if #condition > #c { #a } else { #b };)
            }
            Stmt::Total(s) => {
                let s = self.scalar(s);
                quote!(total += #s;)
            }
            Stmt::RowLoop(i, v, by_rows) => {
                let (i, v, half) = (ident(i), self.reference(v), self.lit(0.5));
                match (plain, by_rows) {
                    (false, false) => quote! {
                        for #i in 0..m.nrows() {
                            total += m.row(#i).dot(#v).tanh() * #half;
                        }
                    },
                    (false, true) => quote! {
                        for (#i, row) in m.rows().into_iter().enumerate() {
                            total += row.dot(#v).tanh() * #half;
                        }
                    },
                    (true, _) => quote! {
                        for #i in 0..m.len() {
                            total += plain::dot(&m[#i], #v).tanh() * 0.5;
                        }
                    },
                }
            }
            Stmt::Build(name, i, v) => {
                let (name, i, v) = (ident(name), ident(i), self.value(v));
                match plain {
                    false => quote! {
                        let mut #name = Array2::zeros((#n, #n));
                        for #i in 0..#n {
                            #name.row_mut(#i).assign(&#v);
                        }
                    },
                    true => quote! {
                        let mut #name = vec![vec![0.0; #n]; #n];
                        for #i in 0..#n {
                            #name[#i] = #v;
                        }
                    },
                }
            }
            Stmt::ColumnLoop(j, v, c) => {
                let (j, v, c) = (ident(j), self.reference(v), self.lit(*c));
                match plain {
                    false => quote! {
                        for #j in 0..w.ncols() {
                            total += w.column(#j).dot(#v) * #c;
                        }
                    },
                    true => quote! {
                        for #j in 0..#n {
                            total += plain::dot(&plain::column(&w, #j), #v) * #c;
                        }
                    },
                }
            }
            Stmt::Elements(name, i, j, value, c) => {
                let (name, i, j) = (ident(name), ident(i), ident(j));
                let (value, c) = (self.scalar(value), self.lit(*c));
                match plain {
                    false => quote! {
                        let mut #name = Array2::zeros((#n, #n));
                        for #i in 0..#n {
                            for #j in 0..#n {
                                #name[[#i, #j]] = (w[[#i, #j]] * (#value)).tanh();
                            }
                            #name[[#i, #i]] += #c;
                        }
                    },
                    true => quote! {
                        let mut #name = vec![vec![0.0; #n]; #n];
                        for #i in 0..#n {
                            for #j in 0..#n {
                                #name[#i][#j] = (w[#i][#j] * (#value)).tanh();
                            }
                            #name[#i][#i] += #c;
                        }
                    },
                }
            }
            Stmt::Stash(value) => {
                let value = self.scalar(value);
                match plain {
                    false => quote!(total += stash(&mut kept, #value);),
                    true => quote!(total += plain::stash(&mut kept, #value);),
                }
            }
            Stmt::VectorElements(name, i, value) => {
                let (name, i, value) = (ident(name), ident(i), self.scalar(value));
                let zeros = match plain {
                    false => quote!(Array1::zeros(#n)),
                    true => quote!(vec![0.0; #n]),
                };
                quote! {
                    let mut #name = #zeros;
                    for #i in 0..#n {
                        #name[#i] = (#value).tanh();
                    }
                }
            }
        }
    }
}
