//! Evaluating a program as Rust would, independently of the compiler: the expected
//! values (and, by finite differences, gradients) the tests compare against.

use crate::*;

impl Int {
    pub(crate) fn eval(&self, env: &Env) -> i64 {
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
            Int::FromFloat(name, hi) => match env.get(name) {
                Value::Float(x) => x.abs().min(*hi as f64) as u32 as i64,
                other => panic!("the float variable {name} holds {other:?}"),
            },
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
}

impl Cond {
    pub(crate) fn eval(&self, env: &mut Env) -> Result<bool, Stop> {
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
    pub(crate) fn float(&self, env: &mut Env) -> Result<f64, Stop> {
        match self.eval(env)? {
            Value::Float(x) => Ok(x),
            other => panic!("a float expression gave {other:?}: {}", self.tokens()),
        }
    }

    /// The value, as Rust computes it.
    pub(crate) fn eval(&self, env: &mut Env) -> Result<Value, Stop> {
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
                if singular(name, &x) {
                    // The derivative is not finite here (0/0 or ∞): as a value that is not.
                    env.largest = f64::INFINITY;
                }
                Value::Float(operation(name, &x).unwrap_or_else(|| panic!("no operation {name}")))
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
            Expr::Chain(chain) => Value::Float(chain.eval(env)?),
            Expr::Closure {
                params,
                body,
                calls,
                op,
                ..
            } => {
                let mut result: Option<f64> = None;
                for args in calls {
                    let mut values = Vec::new();
                    for arg in args {
                        values.push(arg.float(env)?);
                    }
                    env.scopes.push(Vec::new());
                    for (param, value) in params.iter().zip(values) {
                        env.declare(param, Value::Float(value));
                    }
                    let value = body.float(env);
                    env.scopes.pop();
                    let value = value?;
                    result = Some(match (result, op) {
                        (None, _) => value,
                        (Some(a), '+') => a + value,
                        (Some(a), '-') => a - value,
                        (Some(a), _) => a * value,
                    });
                }
                Value::Float(result.expect("a call"))
            }
        };
        if let Value::Float(x) = value {
            env.computed(x);
        }
        Ok(value)
    }
}

impl Chain {
    /// The chain's value, element by element as Rust's iterators go.
    fn eval(&self, env: &mut Env) -> Result<f64, Stop> {
        let floats = |value: &Value| match value {
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::Float(x) => *x,
                    other => panic!("a chain over {other:?}"),
                })
                .collect::<Vec<f64>>(),
            other => panic!("a chain over {other:?}"),
        };
        let source = floats(env.get(&self.source));
        let other = self.zip.as_ref().map(|name| floats(env.get(name)));
        let count = match (&other, self.windows) {
            (_, true) => source.len().saturating_sub(1),
            (Some(other), false) => source.len().min(other.len()),
            (None, false) => source.len(),
        };
        let mut positions: Vec<usize> = (0..count).collect();
        if self.rev {
            positions.reverse();
        }
        let mut total: Option<f64> = match self.end {
            // Rust's float `sum` starts at −0.0.
            ChainEnd::Sum => Some(-0.0),
            ChainEnd::Count => Some(0.0),
            ChainEnd::Max => Some(-10.0),
            ChainEnd::Min => None,
        };
        for (k, &p) in positions.iter().enumerate().skip(self.skip) {
            env.tick()?;
            env.scopes.push(Vec::new());
            if self.windows {
                let window = vec![Value::Float(source[p]), Value::Float(source[p + 1])];
                env.declare(self.element, Value::Array(window));
            } else {
                env.declare(self.element, Value::Float(source[p]));
            }
            if let Some(other) = &other {
                env.declare(self.other, Value::Float(other[p]));
            }
            if let Some(index) = self.enumerate {
                env.declare(index, Value::Int(k as i64));
            }
            let value = self.map.float(env);
            env.scopes.pop();
            let value = value?;
            if let Some((op, c)) = self.filter {
                let passes = match op {
                    "<" => value < c,
                    ">" => value > c,
                    "<=" => value <= c,
                    _ => value >= c,
                };
                if !passes {
                    continue;
                }
            }
            total = Some(match (total, self.end) {
                (Some(t), ChainEnd::Sum) => t + value,
                (Some(t), ChainEnd::Count) => t + 1.0,
                (Some(t), ChainEnd::Max) => t.max(value),
                (Some(t), _) => t.min(value),
                (None, _) => value,
            });
            if let Some(t) = total {
                env.computed(t);
            }
        }
        Ok(total.expect("a chain that is not empty"))
    }
}

/// f64's methods that `num_traits::Float` has not (so generic code cannot call them).
pub(crate) const NOT_IN_FLOAT: &[&str] = &["rem_euclid", "div_euclid", "round_ties_even", "as u32 as usize"];

/// Whether an operation's derivative is not finite at `x` (the operation table's singular
/// points: `atan2(0, 0)`, `√0`, `asin(±1)`, …), where a gradient is NaN or infinite though
/// the value is not.
fn singular(name: &str, x: &[f64]) -> bool {
    match name {
        "sqrt" | "cbrt" | "powf" => x[0] == 0.0,
        "log" => x[0] == 0.0 || x[1] == 1.0 || x[1] == 0.0,
        "asin" | "acos" | "atanh" => x[0].abs() == 1.0,
        "acosh" => x[0] == 1.0,
        "atan2" => x[0] == 0.0 && x[1] == 0.0,
        _ => false,
    }
}

/// An operation of the language, as Rust and chainrule's runtime compute it.
pub fn operation(name: &str, x: &[f64]) -> Option<f64> {
    Some(match name {
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
        "powi" => x[0].powi(x[1] as i32),
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
        _ => return None,
    })
}

impl Block {
    pub(crate) fn eval(&self, env: &mut Env) -> Result<Value, Stop> {
        env.scopes.push(Vec::new());
        let value = exec_all(&self.stmts, env).and_then(|()| self.value.eval(env));
        env.scopes.pop();
        value
    }
}

impl Stmt {
    pub(crate) fn exec(&self, env: &mut Env) -> Result<(), Stop> {
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
                        if env.jump.take() == Some(true) {
                            break;
                        }
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
            Stmt::Jump { cond, brk } => {
                if cond.eval(env)? {
                    env.jump = Some(*brk);
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

pub(crate) fn exec_all(stmts: &[Stmt], env: &mut Env) -> Result<(), Stop> {
    for stmt in stmts {
        stmt.exec(env)?;
        if env.jump.is_some() {
            break;
        }
    }
    Ok(())
}

/// What [`Program::evaluate`] gives.
#[derive(Clone, Copy, Debug)]
pub struct Evaluation {
    pub value: f64,
    /// The largest magnitude of a float the program computed (infinite if one was not
    /// finite, or an operation's derivative: at a singular point): where it is large,
    /// differences lose their digits and gradients may be NaN (0 × ∞) where the value is not.
    pub largest: f64,
}

/// The reference evaluation gave up: too many loop iterations.
#[derive(Debug)]
pub struct Stop;

/// Variables while the program runs, innermost scope last.
pub(crate) struct Env {
    scopes: Vec<Vec<(String, Value)>>,
    iterations: usize,
    /// The largest magnitude of a float computed (infinite once one is not finite).
    largest: f64,
    /// A `break` (`Some(true)`) or `continue` (`Some(false)`) leaving the blocks up to its
    /// loop.
    jump: Option<bool>,
}

impl Env {
    pub(crate) fn computed(&mut self, x: f64) {
        self.largest = if x.is_finite() {
            self.largest.max(x.abs())
        } else {
            f64::INFINITY
        };
    }

    pub(crate) fn get(&self, name: &str) -> &Value {
        self.scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, value)| value)
            .unwrap_or_else(|| panic!("no variable {name}"))
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> &mut Value {
        self.scopes
            .iter_mut()
            .rev()
            .flat_map(|scope| scope.iter_mut().rev())
            .find(|(n, _)| n == name)
            .map(|(_, value)| value)
            .unwrap_or_else(|| panic!("no variable {name}"))
    }

    pub(crate) fn declare(&mut self, name: &str, value: Value) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((name.to_string(), value));
        }
    }

    pub(crate) fn block(&mut self, stmts: &[Stmt]) -> Result<(), Stop> {
        self.scopes.push(Vec::new());
        let done = exec_all(stmts, self);
        self.scopes.pop();
        done
    }

    /// A loop over integers.
    pub(crate) fn ints(
        &mut self,
        index: &Option<String>,
        indices: &[i64],
        body: &[Stmt],
    ) -> Result<(), Stop> {
        for &i in indices {
            self.tick()?;
            self.scopes.push(Vec::new());
            if let Some(index) = index {
                self.declare(index, Value::Int(i));
            }
            let done = self.block(body);
            self.scopes.pop();
            done?;
            if self.jump.take() == Some(true) {
                break;
            }
        }
        Ok(())
    }

    pub(crate) fn tick(&mut self) -> Result<(), Stop> {
        self.iterations += 1;
        if self.iterations > 2_000 {
            return Err(Stop);
        }
        Ok(())
    }
}

impl Program {
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
            jump: None,
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
