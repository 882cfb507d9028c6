//! Generating random well-formed programs from a seed.

use crate::eval::NOT_IN_FLOAT;
use crate::*;

pub(crate) const FLOAT_PARAMS: &[&str] = &["x", "y", "z", "x", "y", "value", "upstream", "d_x"];
pub(crate) const ARRAY_PARAMS: &[&str] = &["w", "v", "xs"];
pub(crate) const FLOAT_LOCALS: &[&str] = &[
    "a", "b", "c", "t", "s", "q", "h", "x", "y", "a", "t", "value", "grad", "cache", "d_x", "d_a", "forward",
];
pub(crate) const ARRAY_LOCALS: &[&str] = &["buf", "arr", "w", "rows"];
pub(crate) const INDICES: &[&str] = &["i", "j", "k"];
pub(crate) const ELEMENTS: &[&str] = &["e", "el", "row"];
pub(crate) const CONSTANTS: &[f64] = &[0.5, 1.5, 2.0, 0.25, 3.0, 0.1, 1.0, 0.75, 0.0, 4.0];

pub(crate) struct Gen {
    rng: Rng,
    scopes: Vec<Vec<Var>>,
    /// Statements still to write (keeps programs small).
    budget: usize,
    loops: usize,
    fresh: usize,
    /// Whether expressions may be iterator chains and closures (one program in four,
    /// decided by the seed alone).
    chains: bool,
    /// Whether `for` loops may `break` and `continue` (one program in five).
    jumps: bool,
    /// Whether a loop's body may begin with a loop over a run-time length, a nest whose
    /// saved values have one buffer (one program in seven).
    nests: bool,
    /// The next `for` loop runs over a run-time length, if there is one.
    nest_next: bool,
}

impl Program {
    pub fn generate(seed: u64) -> Program {
        let mut gen = Gen {
            rng: Rng::new(seed),
            scopes: vec![Vec::new()],
            budget: 12,
            loops: 0,
            fresh: 0,
            chains: seed % 4 == 2,
            jumps: seed % 5 == 3,
            nests: seed % 7 == 4,
            nest_next: false,
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
    pub(crate) fn visible(&self) -> Vec<Var> {
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

    pub(crate) fn floats(&self) -> Vec<Var> {
        self.visible()
            .into_iter()
            .filter(|v| v.kind == Kind::Float)
            .collect()
    }

    pub(crate) fn arrays(&self) -> Vec<Var> {
        self.visible()
            .into_iter()
            .filter(|v| matches!(v.kind, Kind::Array(_)))
            .collect()
    }

    pub(crate) fn ints(&self) -> Vec<Var> {
        self.visible()
            .into_iter()
            .filter(|v| matches!(v.kind, Kind::Int(..)))
            .collect()
    }

    /// A variable the program reads and does not assign (a loop's index or element, a
    /// closure's parameter, a `let`).
    pub(crate) fn declare_value(&mut self, name: &str, kind: Kind) {
        self.declare(Var {
            name: name.to_string(),
            kind,
            assignable: false,
            by_ref: false,
            slice: None,
        });
    }

    pub(crate) fn declare(&mut self, var: Var) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(var);
        }
    }

    /// Sets whether the visible variable `name` may be assigned (inside a loop over it).
    pub(crate) fn set_assignable(&mut self, name: &str, assignable: bool) -> bool {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(var) = scope.iter_mut().rev().find(|v| v.name == name) {
                let before = var.assignable;
                var.assignable = assignable;
                return before;
            }
        }
        false
    }

    pub(crate) fn depth(&self) -> usize {
        if self.loops > 0 {
            2
        } else {
            3
        }
    }

    // --- integers

    /// An index into a dimension of length `len`, in bounds by construction.
    pub(crate) fn index(&mut self, len: usize) -> Int {
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
                // `(x.abs().min(2.0) as u32 as usize)`: a float's integer part.
                (0, _) if !self.floats().is_empty() && self.rng.chance(0.5) => {
                    let float = self.rng.pick(&self.floats()).name.clone();
                    Int::FromFloat(float, len - 1)
                }
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

    pub(crate) fn literal(&mut self) -> Expr {
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

    pub(crate) fn leaf(&mut self) -> Expr {
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

    pub(crate) fn bin(op: char, a: Expr, b: Expr) -> Expr {
        Expr::Bin(op, Box::new(a), Box::new(b))
    }

    /// `name` called on `args`, as a method where rustc can tell the receiver's type.
    pub(crate) fn method(&mut self, name: &'static str, args: Vec<Expr>) -> Expr {
        let form = if args[0].typed() && self.rng.chance(0.85) {
            Form::Method
        } else {
            Form::Path
        };
        Expr::Call(form, name, args)
    }

    pub(crate) fn function(&mut self, name: &'static str, args: Vec<Expr>) -> Expr {
        let form = if self.rng.chance(0.8) {
            Form::Function
        } else {
            Form::Qualified
        };
        Expr::Call(form, name, args)
    }

    /// `(e * e + c)`: positive.
    pub(crate) fn positive(&mut self, depth: usize) -> Expr {
        let e = self.float(depth);
        let c = *self.rng.pick(&[0.5, 1.0, 0.25, 2.0]);
        Self::bin('+', Self::bin('*', e.clone(), e), Expr::Lit(c))
    }

    /// `(e).tanh() * 0.9`: within (-1, 1).
    pub(crate) fn unit(&mut self, depth: usize) -> Expr {
        let e = self.float(depth);
        let tanh = self.method("tanh", vec![e]);
        Self::bin('*', tanh, Expr::Lit(0.9))
    }

    /// An argument for exp-like functions: bounded half of the time.
    pub(crate) fn tame(&mut self, depth: usize) -> Expr {
        let e = self.float(depth);
        if self.rng.chance(0.5) {
            let tanh = self.method("tanh", vec![e]);
            Self::bin('*', tanh, Expr::Lit(2.0))
        } else {
            e
        }
    }

    pub(crate) fn float(&mut self, depth: usize) -> Expr {
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
            93..=95 if self.chains => self.chain(d).unwrap_or_else(|| self.leaf()),
            96..=97 if self.chains => self.closure(d),
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

    /// An iterator chain over a one-dimensional array in scope (`None` if there is none).
    pub(crate) fn chain(&mut self, depth: usize) -> Option<Expr> {
        let arrays: Vec<(Var, usize)> = self
            .arrays()
            .into_iter()
            .filter_map(|v| match &v.kind {
                Kind::Array(dims) if dims.len() == 1 => {
                    let len = dims[0];
                    Some((v, len))
                }
                _ => None,
            })
            .collect();
        if arrays.is_empty() {
            return None;
        }
        let (source, len) = self.rng.pick(&arrays).clone();
        let windows = source.slice != Some("window") && self.rng.chance(0.2);
        let zip = (!windows && self.rng.chance(0.35)).then(|| {
            let sources: Vec<(Var, usize)> = arrays
                .iter()
                .filter(|(v, _)| v.slice != Some("window"))
                .cloned()
                .collect();
            self.rng.pick(&sources).clone()
        });
        let zip = zip.filter(|(v, _)| v.slice != Some("window") || !windows);
        let count = match (&zip, windows) {
            (_, true) => len - 1,
            (Some((_, other)), false) => len.min(*other),
            (None, false) => len,
        };
        let rev = self.rng.chance(0.25);
        let enumerate = self.rng.chance(0.3).then(|| *self.rng.pick(INDICES));
        let skip = usize::from(self.rng.chance(0.2));
        let copied = self.rng.chance(0.5);
        let element = if windows {
            *self.rng.pick(&["pair", "win"])
        } else {
            *self.rng.pick(&["e", "el", "u", "t"])
        };
        let other = *self.rng.pick(&["o", "b2"]);
        self.scopes.push(Vec::new());
        self.declare(Var {
            name: element.to_string(),
            kind: if windows {
                Kind::Array(vec![2])
            } else {
                Kind::Float
            },
            assignable: false,
            by_ref: false,
            slice: windows.then_some("window"),
        });
        if zip.is_some() {
            self.declare_value(other, Kind::Float);
        }
        if let Some(index) = enumerate {
            self.declare_value(index, Kind::Int(0, count as i64 - 1));
        }
        let map = self.float(depth.min(2));
        self.scopes.pop();
        let filter = self.rng.chance(0.25).then(|| {
            let op = *self.rng.pick(&["<", ">", "<=", ">="]);
            (op, *self.rng.pick(&[0.0, 0.5, -0.5, 1.0]))
        });
        let end = match self.rng.below(20) {
            0..=10 => ChainEnd::Sum,
            11..=13 => ChainEnd::Max,
            14..=16 if filter.is_none() && count > skip => ChainEnd::Min,
            17..=19 => ChainEnd::Count,
            _ => ChainEnd::Sum,
        };
        Some(Expr::Chain(Box::new(Chain {
            source: source.name,
            windows,
            zip: zip.map(|(v, _)| v.name),
            rev,
            enumerate,
            skip,
            copied,
            element,
            other,
            map,
            filter,
            end,
        })))
    }

    /// A closure defined and called in a block: `{ let g = |t: f64| body; g(a) + g(b) }`.
    pub(crate) fn closure(&mut self, depth: usize) -> Expr {
        let name = *self.rng.pick(&["sq", "phi", "g"]);
        let params: Vec<&'static str> = if self.rng.chance(0.6) {
            vec!["t"]
        } else {
            vec!["t", "r"]
        };
        self.scopes.push(Vec::new());
        for param in &params {
            self.declare_value(param, Kind::Float);
        }
        let body = self.float(depth.min(2));
        self.scopes.pop();
        let calls = (0..1 + self.rng.below(2))
            .map(|_| {
                params
                    .iter()
                    .map(|_| self.float(depth.saturating_sub(1)))
                    .collect()
            })
            .collect();
        Expr::Closure {
            name,
            params,
            body: Box::new(body),
            calls,
            op: *self.rng.pick(&['+', '-', '*']),
        }
    }

    /// A block with a value: `{ let t = …; value }` (or just the value).
    pub(crate) fn value_block(&mut self, depth: usize) -> Block {
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
            self.declare_value(name, Kind::Float);
        }
        let value = self.float(depth);
        self.scopes.pop();
        Block { stmts, value }
    }

    pub(crate) fn cond(&mut self, depth: usize) -> Cond {
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
    pub(crate) fn result(&mut self) -> Expr {
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

    pub(crate) fn stmt(&mut self, out: &mut Vec<Stmt>) {
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

    pub(crate) fn let_float(&mut self, out: &mut Vec<Stmt>, depth: usize) {
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

    pub(crate) fn let_array(&mut self, out: &mut Vec<Stmt>, depth: usize) {
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
    pub(crate) fn assign(&mut self, name: &str, indices: Vec<Int>, depth: usize) -> Stmt {
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
    pub(crate) fn block(&mut self, count: usize, out: &mut Vec<Stmt>) {
        for _ in 0..count {
            self.stmt(out);
        }
    }

    /// Ends a loop or branch body with an assignment to a variable from outside it, so
    /// that something is carried or merged.
    pub(crate) fn assign_outer(&mut self, out: &mut Vec<Stmt>, outer: &[Var]) {
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

    pub(crate) fn if_stmt(&mut self, out: &mut Vec<Stmt>) {
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
    pub(crate) fn ensure_carried(&mut self, out: &mut Vec<Stmt>) {
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

    pub(crate) fn loop_body(&mut self, out: &mut Vec<Stmt>, outer: &[Var]) {
        self.loops += 1;
        self.scopes.push(Vec::new());
        if self.nests && self.loops == 1 && self.run_time_length().is_some() {
            self.nest_next = true;
            self.for_loop(out);
        }
        let count = self.rng.below(3);
        self.block(count, out);
        self.assign_outer(out, outer);
        self.scopes.pop();
        self.loops -= 1;
    }

    /// In some `for` loops: `if cond { break; }` or `if cond { continue; }` somewhere in
    /// the body (its condition on what is in scope where the body starts).
    pub(crate) fn jump_in(&mut self, body: &mut Vec<Stmt>) {
        if !self.jumps || !self.rng.chance(0.9) {
            return;
        }
        let cond = self.cond(1);
        // Before the body's first `let`: one could shadow a variable the condition reads
        // (`let w = [a, b];` after an outer `w` of four), which it was generated without.
        let first_let = body
            .iter()
            .position(|s| matches!(s, Stmt::Let { .. }))
            .unwrap_or(body.len());
        let at = self.rng.below(first_let + 1);
        let brk = self.rng.chance(0.5);
        body.insert(at, Stmt::Jump { cond, brk });
    }

    pub(crate) fn for_loop(&mut self, out: &mut Vec<Stmt>) {
        self.ensure_carried(out);
        let outer = self.visible();
        let arrays = self.arrays();
        let mut body = Vec::new();
        let nest = std::mem::take(&mut self.nest_next);
        let stmt = if !nest && !arrays.is_empty() && self.rng.chance(0.3) {
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
                self.declare_value(index, Kind::Int(0, dims[0] as i64 - 1));
            }
            self.declare_value(&element, element_kind);
            // The array is borrowed while `iter()` runs.
            let was = (!by_value).then(|| self.set_assignable(&array.name, false));
            self.loop_body(&mut body, &outer);
            self.jump_in(&mut body);
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
        } else if let Some(end) = self.run_time_length().filter(|_| nest || self.rng.chance(0.4)) {
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
                self.declare_value(index, Kind::Int(start, last - 1));
            }
            self.loop_body(&mut body, &outer);
            self.jump_in(&mut body);
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
                self.declare_value(index, Kind::Int(start, last));
            }
            self.loop_body(&mut body, &outer);
            self.jump_in(&mut body);
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
    pub(crate) fn run_time_length(&mut self) -> Option<Int> {
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

    pub(crate) fn counted(&mut self, out: &mut Vec<Stmt>) {
        self.ensure_carried(out);
        let outer = self.visible();
        self.fresh += 1;
        let counter = format!("n{}", self.fresh);
        let limit = 1 + self.rng.below(3) as i64;
        self.scopes.push(Vec::new());
        self.declare_value(&counter, Kind::Int(0, limit - 1));
        let mut body = Vec::new();
        self.loop_body(&mut body, &outer);
        self.scopes.pop();
        out.push(Stmt::Counted { counter, limit, body });
    }

    pub(crate) fn float_while(&mut self, out: &mut Vec<Stmt>) {
        self.fresh += 1;
        let var = format!("level{}", self.fresh);
        let value = self.float(1);
        out.push(Stmt::Let {
            name: var.clone(),
            mutable: true,
            annotation: (!value.typed()).then_some(Kind::Float),
            value,
        });
        self.declare_value(&var, Kind::Float);
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
        self.declare_value(&var, Kind::Float);
    }
}
