//! An interpreter of the IR, for tests: evaluates a function's graph on `f64` values —
//! its forward regions, and after [`chainrule_compiler::reverse::reverse`] its backward ones — so that
//! random programs can be checked against finite differences and against a direct
//! evaluation of their source (see `random.rs`).
//!
//! Only live nodes run (those the output and the gradients need, by
//! [`chainrule_compiler::analysis::liveness`], as the emitted code has them). The interpreter checks
//! the graph's structure as it goes: a node may read only values of its own region or of
//! the regions around it (backward code: also the forward function body, which the cache
//! holds; anyone: constants and integer arithmetic on them), computed before it; indices
//! must be in bounds; a structured node's regions must agree with it.
//!
//! Calls of other `#[differentiate]` functions and user constants are not run
//! ([`Error::Unsupported`]); `std::f64::consts` are.

use std::collections::{HashMap, HashSet};

use chainrule_compiler::ir::{Graph, Len, NodeId, Op, RegionId, Ty};
use chainrule_compiler::ops::Prim;
use chainrule_compiler::reverse::Adjoints;

/// A value of the IR: the values of the random programs' generator.
pub use chainrule_testgen::Value;

/// A value, read as what a node expects.
trait Expect {
    fn float(&self) -> Result<f64, Error>;
    fn int(&self) -> Result<i64, Error>;
    fn boolean(&self) -> Result<bool, Error>;
    /// Zeros shaped like it.
    fn zeros(&self) -> Value;
}

impl Expect for Value {
    fn float(&self) -> Result<f64, Error> {
        match self {
            Value::Float(x) => Ok(*x),
            other => Err(Error::Malformed(format!("expected a float, found {other:?}"))),
        }
    }

    fn int(&self) -> Result<i64, Error> {
        match self {
            Value::Int(n) => Ok(*n),
            other => Err(Error::Malformed(format!("expected an integer, found {other:?}"))),
        }
    }

    fn boolean(&self) -> Result<bool, Error> {
        match self {
            Value::Bool(b) => Ok(*b),
            other => Err(Error::Malformed(format!("expected a bool, found {other:?}"))),
        }
    }

    fn zeros(&self) -> Value {
        match self {
            Value::Float(_) => Value::Float(0.0),
            Value::Int(_) => Value::Int(0),
            Value::Bool(_) => Value::Bool(false),
            Value::Array(items) => Value::Array(items.iter().map(Value::zeros).collect()),
        }
    }
}

/// Why an evaluation stopped.
#[derive(Debug)]
pub enum Error {
    /// Outside what the interpreter evaluates (calls of other functions, user constants):
    /// skip the program.
    Unsupported(String),
    /// The graph is wrong (a value read out of its scope or before it is computed, an
    /// index out of bounds, a loop that does not end …): a bug of the macro.
    Malformed(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Unsupported(what) => write!(f, "unsupported: {what}"),
            Error::Malformed(what) => write!(f, "malformed graph: {what}"),
        }
    }
}

/// What one evaluation gives.
#[derive(Clone, Debug)]
pub struct Run {
    pub value: f64,
    /// Per parameter, its gradient (by [`Interpreter::gradient`]; `None` where it is
    /// zero).
    pub gradient: Vec<Option<Value>>,
    /// The outcome of every float comparison and kink (abs, max, min, relu, …) the
    /// forward code went through, in order: two inputs with equal traces lie on the same
    /// smooth piece of the function.
    pub trace: Vec<u64>,
    /// The largest magnitude of a float the forward code computed.
    pub largest: f64,
    /// Whether the forward code computed an operation exactly where its derivative is
    /// not defined though its value is (`sqrt(0)`, `atan2(0, 0)`, `asin(1)`, …).
    pub singular: bool,
}

/// The most iterations a `while` loop may run.
const MAX_ITERATIONS: i64 = 100_000;

/// A graph made ready to run: which nodes are live, in which region, and the constants.
pub struct Interpreter<'g> {
    g: &'g Graph,
    output: NodeId,
    /// For a gradient: the parameters' adjoints, and the backward top region.
    backward: Option<(Vec<Option<NodeId>>, RegionId)>,
    /// The live nodes of each region, in evaluation order.
    nodes: Vec<Vec<NodeId>>,
    /// The outputs of each structured node that something reads.
    live_slots: HashMap<NodeId, HashSet<usize>>,
    /// The stacks of each loop that something reads.
    live_stacks: HashMap<NodeId, HashSet<usize>>,
    /// The constants' values (constants serve everywhere).
    constants: Vec<Option<Value>>,
}

impl<'g> Interpreter<'g> {
    /// Runs the function's forward code (the top region and what it owns).
    pub fn forward(g: &'g Graph, output: NodeId) -> Result<Self, Error> {
        Self::new(g, output, None)
    }

    /// Runs the forward code, then the backward code (the region `backward_top` that
    /// [`chainrule_compiler::reverse::reverse`] returned) with upstream gradient 1.
    pub fn gradient(
        g: &'g Graph,
        output: NodeId,
        adjoints: &Adjoints,
        backward_top: RegionId,
    ) -> Result<Self, Error> {
        Self::new(g, output, Some((adjoints.of_param.clone(), backward_top)))
    }

    fn new(
        g: &'g Graph,
        output: NodeId,
        backward: Option<(Vec<Option<NodeId>>, RegionId)>,
    ) -> Result<Self, Error> {
        let mut roots = vec![output];
        if let Some((of_param, _)) = &backward {
            roots.extend(of_param.iter().flatten());
        }
        let (live, live_slots) = chainrule_compiler::analysis::liveness(g, roots);
        let mut nodes = vec![Vec::new(); g.regions.len()];
        let mut constants = vec![None; g.len()];
        let mut live_stacks = HashMap::new();
        for id in g.ids() {
            let node = g.node(id);
            if node.region.index() >= nodes.len() {
                return Err(Error::Malformed(format!(
                    "%{} is in a region that does not exist",
                    id.index()
                )));
            }
            if live[id.index()] {
                nodes[node.region.index()].push(id);
            }
            if let (Op::Stacked(k), Some(&owner), true) = (&node.op, node.args.first(), live[id.index()]) {
                live_stacks.entry(owner).or_insert_with(HashSet::new).insert(*k);
            }
            let free = |k: usize| constants[node.args[k].index()].clone();
            let constant = match &node.op {
                // Computed from constants only: "free", it may be used anywhere (the
                // generated code writes it where it is used).
                _ if g.is_free(id) && !node.args.is_empty() => {
                    let args: Option<Vec<Value>> = (0..node.args.len()).map(free).collect();
                    let args = args.ok_or_else(|| {
                        Error::Malformed(format!("the constant %{} reads a non-constant", id.index()))
                    })?;
                    Some(match (&node.op, args.as_slice()) {
                        (Op::IntToFloat, [Value::Int(n)]) => Value::Float(*n as f64),
                        (Op::IntCast(_), [Value::Int(n)]) => Value::Int(*n),
                        (Op::IntCast(ty), [Value::Float(x)]) => Value::Int(float_as(*x, ty)),
                        (Op::IntBin(op), [Value::Int(a), Value::Int(b)]) => {
                            Value::Int(op.eval(*a, *b).ok_or_else(|| {
                                Error::Malformed(format!(
                                    "%{}: {a} {} {b} overflows",
                                    id.index(),
                                    op.symbol()
                                ))
                            })?)
                        }
                        (op, args) => {
                            return Err(Error::Malformed(format!(
                                "the constant %{}: {op:?} of {args:?}",
                                id.index()
                            )))
                        }
                    })
                }
                Op::Const(bits) => Some(Value::Float(f64::from_bits(*bits))),
                Op::Int { named: None, offset } => Some(Value::Int(*offset)),
                Op::Int { named: Some(_), .. } => {
                    return Err(Error::Unsupported("a named integer constant".to_string()))
                }
                Op::Bool(b) => Some(Value::Bool(*b)),
                Op::Named(index) => Some(Value::Float(named_constant(g, *index)?)),
                Op::Upstream => Some(Value::Float(1.0)),
                Op::Call { .. } | Op::CallJvp { .. } | Op::CallBackward { .. } | Op::CallHvp { .. } => {
                    return Err(Error::Unsupported("a call of another function".to_string()))
                }
                _ => None,
            };
            let leaf = matches!(
                node.op,
                Op::Const(_) | Op::Int { .. } | Op::Bool(_) | Op::Named(_) | Op::Upstream
            );
            if leaf && !node.args.is_empty() {
                return Err(Error::Malformed(format!(
                    "the constant %{} has arguments",
                    id.index()
                )));
            }
            constants[id.index()] = constant;
        }
        Ok(Interpreter {
            g,
            output,
            backward,
            nodes,
            live_slots,
            live_stacks,
            constants,
        })
    }

    /// The value (and, for a gradient, each parameter's gradient) for these arguments,
    /// one per parameter.
    pub fn run(&self, inputs: &[Value]) -> Result<Run, Error> {
        let g = self.g;
        if inputs.len() != g.params.len() {
            return Err(Error::Malformed(format!(
                "{} inputs for {} parameters",
                inputs.len(),
                g.params.len()
            )));
        }
        let mut machine = Machine {
            g,
            plan: self,
            inputs,
            values: self.constants.clone(),
            outputs: HashMap::new(),
            stacks: HashMap::new(),
            trace: Vec::new(),
            largest: 0.0,
            singular: false,
        };
        machine.run_region(RegionId::TOP)?;
        let value = machine.read(RegionId::TOP, self.output)?.float()?;
        let mut gradient = Vec::new();
        if let Some((of_param, backward_top)) = &self.backward {
            machine.run_region(*backward_top)?;
            for adjoint in of_param {
                gradient.push(match adjoint {
                    Some(id) => Some(machine.read(*backward_top, *id)?.clone()),
                    None => None,
                });
            }
        }
        Ok(Run {
            value,
            gradient,
            trace: machine.trace,
            largest: machine.largest,
            singular: machine.singular,
        })
    }
}

/// One run.
struct Machine<'a> {
    g: &'a Graph,
    plan: &'a Interpreter<'a>,
    inputs: &'a [Value],
    values: Vec<Option<Value>>,
    /// The values coming out of each structured node that ran (`None`: nobody reads it).
    outputs: HashMap<NodeId, Vec<Option<Value>>>,
    /// Each loop's per-iteration stacks, by position.
    stacks: HashMap<NodeId, Vec<Vec<Option<Value>>>>,
    trace: Vec<u64>,
    largest: f64,
    singular: bool,
}

impl Machine<'_> {
    /// The value of `id` as code in region `reader` sees it.
    fn read(&self, reader: RegionId, id: NodeId) -> Result<&Value, Error> {
        let g = self.g;
        let region = g.region_of(id);
        let constant = g.is_free(id) || g.op(id) == &Op::Upstream;
        if !constant && region != RegionId::TOP && !g.is_within(reader, region) {
            return Err(Error::Malformed(format!(
                "code in r{} reads %{} of r{}, which is not in scope there",
                reader.index(),
                id.index(),
                region.index()
            )));
        }
        if matches!(g.op(id), Op::Upstream) && !g.region(reader).backward {
            return Err(Error::Malformed(format!(
                "forward code in r{} reads the upstream gradient",
                reader.index()
            )));
        }
        self.values[id.index()].as_ref().ok_or_else(|| {
            Error::Malformed(format!(
                "%{} is read (in r{}) before it is computed",
                id.index(),
                reader.index()
            ))
        })
    }

    /// Argument `k` of node `id`.
    fn arg(&self, id: NodeId, k: usize) -> Result<&Value, Error> {
        let g = self.g;
        let arg = *g
            .args(id)
            .get(k)
            .ok_or_else(|| Error::Malformed(format!("%{} has no argument {k}", id.index())))?;
        if arg >= id {
            return Err(Error::Malformed(format!(
                "%{} reads %{}, which comes after it",
                id.index(),
                arg.index()
            )));
        }
        self.read(g.region_of(id), arg).map_err(|error| match error {
            Error::Malformed(what) => {
                Error::Malformed(format!("{what} (by %{}, {:?})", id.index(), g.op(id)))
            }
            other => other,
        })
    }

    fn args(&self, id: NodeId) -> Result<Vec<&Value>, Error> {
        (0..self.g.args(id).len()).map(|k| self.arg(id, k)).collect()
    }

    fn run_region(&mut self, region: RegionId) -> Result<(), Error> {
        for position in 0..self.plan.nodes[region.index()].len() {
            let id = self.plan.nodes[region.index()][position];
            self.node(id)?;
        }
        Ok(())
    }

    /// Records a kink or comparison of forward code: which side (or smooth piece) it took.
    fn kink(&mut self, id: NodeId, side: impl Into<u64>) {
        if !self.g.region(self.g.region_of(id)).backward {
            self.trace.push(side.into());
        }
    }

    fn node(&mut self, id: NodeId) -> Result<(), Error> {
        let g = self.g;
        let value = match g.op(id) {
            _ if g.is_free(id) => return Ok(()),
            Op::Const(_) | Op::Int { .. } | Op::Bool(_) | Op::Named(_) | Op::Upstream => return Ok(()),
            Op::RegionParam(_) | Op::LoopIndex => {
                // Bound by the loop that runs the region.
                if self.values[id.index()].is_none() {
                    return Err(Error::Malformed(format!(
                        "%{} (a loop parameter or index) is not bound by its loop",
                        id.index()
                    )));
                }
                return Ok(());
            }
            Op::Branch { then, otherwise } => return self.branch(id, *then, *otherwise),
            Op::Loop { body, rev } => return self.run_loop(id, *body, *rev),
            Op::While { cond, body } => return self.run_while(id, *cond, *body),
            Op::Call { .. } | Op::CallJvp { .. } | Op::CallBackward { .. } | Op::CallHvp { .. } => {
                return Err(Error::Unsupported("a call of another function".to_string()))
            }
            Op::Tensor(_) => return Err(Error::Unsupported("an ndarray operation".to_string())),
            Op::Param(k) => self
                .inputs
                .get(*k)
                .cloned()
                .ok_or_else(|| Error::Malformed(format!("no parameter {k}")))?,
            Op::Project(k) => {
                let owner = g.args(id)[0];
                self.outputs
                    .get(&owner)
                    .and_then(|outputs| outputs.get(*k))
                    .cloned()
                    .flatten()
                    .ok_or_else(|| {
                        Error::Malformed(format!(
                            "%{} reads output {k} of %{}, which has no such output (or has not run)",
                            id.index(),
                            owner.index()
                        ))
                    })?
            }
            Op::Stacked(k) => {
                let owner = g.args(id)[0];
                if owner >= id || g.region_of(owner) != g.region_of(id) {
                    return Err(Error::Malformed(format!(
                        "the stack %{} is not beside its loop %{}",
                        id.index(),
                        owner.index()
                    )));
                }
                let stack = self
                    .stacks
                    .get(&owner)
                    .and_then(|stacks| stacks.get(*k))
                    .ok_or_else(|| {
                        Error::Malformed(format!("%{} reads a stack that was not kept", id.index()))
                    })?;
                let items: Option<Vec<Value>> = stack.iter().cloned().collect();
                let items = items.ok_or_else(|| {
                    Error::Malformed(format!("the stack %{} misses an iteration", id.index()))
                })?;
                if let Ty::Array(_, Len::Lit(n)) = g.ty(id) {
                    if *n != items.len() as u64 {
                        return Err(Error::Malformed(format!(
                            "the stack %{} has {} entries but its type says {n}",
                            id.index(),
                            items.len()
                        )));
                    }
                }
                Value::Array(items)
            }
            Op::IntBin(op) => {
                let (a, b) = (self.arg(id, 0)?.int()?, self.arg(id, 1)?.int()?);
                Value::Int(op.eval(a, b).ok_or_else(|| {
                    Error::Malformed(format!(
                        "%{}: {a} {} {b} overflows or divides by zero",
                        id.index(),
                        op.symbol()
                    ))
                })?)
            }
            Op::IntToFloat => Value::Float(self.arg(id, 0)?.int()? as f64),
            Op::IntCast(ty) if matches!(self.arg(id, 0)?, Value::Float(_)) => {
                let x = self.arg(id, 0)?.float()?;
                let n = float_as(x, ty);
                // A jump: points on either side lie on different pieces.
                self.kink(id, n as u64);
                Value::Int(n)
            }
            Op::IntCast(ty) => {
                let n = self.arg(id, 0)?.int()?;
                if ty.starts_with('u') && n < 0 {
                    return Err(Error::Malformed(format!("%{}: {n} as {ty}", id.index())));
                }
                Value::Int(n)
            }
            Op::Prim(prim) => {
                let args = self.args(id)?;
                let value = prim_value(*prim, &args)?;
                let scalars: Vec<f64> = args.iter().map(|a| a.float().unwrap_or(f64::NAN)).collect();
                if let Value::Float(out) = value {
                    if !g.region(g.region_of(id)).backward {
                        self.largest = if out.is_finite() {
                            self.largest.max(out.abs())
                        } else {
                            f64::INFINITY
                        };
                        self.prim_kinks(id, *prim, &scalars);
                    }
                }
                value
            }
            Op::Select(cmp) => {
                let (lhs, rhs) = (self.arg(id, 0)?.float()?, self.arg(id, 1)?.float()?);
                let side = cmp.eval(lhs, rhs);
                let chosen = self.arg(id, if side { 2 } else { 3 })?.clone();
                self.kink(id, side);
                chosen
            }
            Op::Choose => {
                let taken = matches!(self.arg(id, 0)?, Value::Bool(true));
                self.arg(id, if taken { 1 } else { 2 })?.clone()
            }
            Op::Compare(cmp) => {
                let side = match (self.arg(id, 0)?, self.arg(id, 1)?) {
                    (Value::Float(a), Value::Float(b)) => {
                        let (a, b) = (*a, *b);
                        let side = cmp.eval(a, b);
                        self.kink(id, side);
                        side
                    }
                    (Value::Int(a), Value::Int(b)) => cmp.eval(*a, *b),
                    (a, b) => {
                        return Err(Error::Malformed(format!(
                            "%{} compares {a:?} and {b:?}",
                            id.index()
                        )))
                    }
                };
                Value::Bool(side)
            }
            Op::And => Value::Bool(self.arg(id, 0)?.boolean()? && self.arg(id, 1)?.boolean()?),
            Op::Or => Value::Bool(self.arg(id, 0)?.boolean()? || self.arg(id, 1)?.boolean()?),
            Op::Not => Value::Bool(!self.arg(id, 0)?.boolean()?),
            Op::ArrayLit => Value::Array(self.args(id)?.into_iter().cloned().collect()),
            Op::ArrayRepeat(len) => {
                let n = match len {
                    Len::Lit(n) => *n as usize,
                    Len::Runtime => self.index(id, 1)?,
                    _ => return Err(Error::Unsupported("an array of named length".to_string())),
                };
                Value::Array(vec![self.arg(id, 0)?.clone(); n])
            }
            Op::Index => {
                let mut value = self.arg(id, 0)?;
                for k in 1..g.args(id).len() {
                    let index = self.index(id, k)?;
                    value = match value {
                        Value::Array(items) => items.get(index).ok_or_else(|| {
                            Error::Malformed(format!(
                                "%{}: index {index} out of bounds (length {})",
                                id.index(),
                                items.len()
                            ))
                        })?,
                        other => return Err(Error::Malformed(format!("%{} indexes {other:?}", id.index()))),
                    };
                }
                value.clone()
            }
            Op::Push => {
                let mut array = self.arg(id, 0)?.clone();
                let value = self.arg(id, 1)?.clone();
                match &mut array {
                    Value::Array(items) => items.push(value),
                    other => return Err(Error::Malformed(format!("%{} pushes onto {other:?}", id.index()))),
                }
                array
            }
            Op::Update | Op::AddAt => {
                let mut array = self.arg(id, 0)?.clone();
                let new = self.arg(id, 1)?.clone();
                let indices: Vec<usize> = (2..g.args(id).len())
                    .map(|k| self.index(id, k))
                    .collect::<Result<_, _>>()?;
                let mut slot = &mut array;
                for &index in &indices {
                    slot = match slot {
                        Value::Array(items) => {
                            let len = items.len();
                            items.get_mut(index).ok_or_else(|| {
                                Error::Malformed(format!(
                                    "%{}: index {index} out of bounds (length {len})",
                                    id.index()
                                ))
                            })?
                        }
                        other => return Err(Error::Malformed(format!("%{} indexes {other:?}", id.index()))),
                    };
                }
                *slot = if g.op(id) == &Op::Update {
                    new
                } else {
                    prim_value(Prim::Add, &[slot, &new])?
                };
                array
            }
            Op::ZerosLike => match g.args(id).first() {
                // Zeros of a length: a vector of floats.
                Some(_) if matches!(self.arg(id, 0)?, Value::Int(_)) => {
                    let Value::Int(n) = *self.arg(id, 0)? else {
                        unreachable!()
                    };
                    Value::Array(vec![Value::Float(0.0); n.max(0) as usize])
                }
                Some(_) => self.arg(id, 0)?.zeros(),
                None => zeros(g.ty(id))?,
            },
            Op::Len => match self.arg(id, 0)? {
                Value::Array(items) => Value::Int(items.len() as i64),
                other => {
                    return Err(Error::Malformed(format!(
                        "%{}: the length of {other:?}",
                        id.index()
                    )))
                }
            },
            Op::Sum => {
                let mut floats = Vec::new();
                self.arg(id, 0)?.floats(&mut floats);
                Value::Float(floats.into_iter().fold(0.0, |sum, x| sum + x))
            }
        };
        self.values[id.index()] = Some(value);
        Ok(())
    }

    /// Argument `k` of `id` as an index.
    fn index(&self, id: NodeId, k: usize) -> Result<usize, Error> {
        let index = self.arg(id, k)?.int()?;
        usize::try_from(index)
            .map_err(|_| Error::Malformed(format!("%{}: the negative index {index}", id.index())))
    }

    /// The kinks and singular points of the operation's row.
    fn prim_kinks(&mut self, id: NodeId, prim: Prim, x: &[f64]) {
        let rule = prim.rule();
        if let Some(piece) = rule.piece {
            self.kink(id, piece(x).to_bits());
        }
        self.singular |= rule.singular.is_some_and(|singular| singular(x));
    }

    /// The values a region hands out (those of the owner's outputs something reads).
    fn yields(&self, owner: NodeId, region: RegionId) -> Result<Vec<Option<Value>>, Error> {
        let live = self.plan.live_slots.get(&owner);
        let mut values = Vec::new();
        for (k, &y) in self.g.region(region).yields.iter().enumerate() {
            values.push(match live.is_some_and(|slots| slots.contains(&k)) {
                true => Some(self.read(region, y)?.clone()),
                false => None,
            });
        }
        Ok(values)
    }

    /// Binds a loop region's parameters (and index) for one iteration.
    fn bind(&mut self, region: RegionId, carried: &[Option<Value>], index: Option<i64>) -> Result<(), Error> {
        let r = self.g.region(region);
        if r.params.len() != carried.len() {
            return Err(Error::Malformed(format!(
                "r{} has {} parameters but its loop carries {} values",
                region.index(),
                r.params.len(),
                carried.len()
            )));
        }
        for (k, (&param, value)) in r.params.iter().zip(carried).enumerate() {
            if self.g.op(param) != &Op::RegionParam(k) || self.g.region_of(param) != region {
                return Err(Error::Malformed(format!(
                    "parameter {k} of r{} is %{} ({:?})",
                    region.index(),
                    param.index(),
                    self.g.op(param)
                )));
            }
            self.values[param.index()] = value.clone();
        }
        if let (Some(node), Some(i)) = (r.index, index) {
            self.values[node.index()] = Some(Value::Int(i));
        }
        Ok(())
    }

    fn owned(&self, id: NodeId, region: RegionId) -> Result<(), Error> {
        let r = self.g.region(region);
        if r.owner != Some(id) || r.parent != Some(self.g.region_of(id)) {
            return Err(Error::Malformed(format!(
                "r{} belongs to {:?} in {:?}, but %{} in r{} runs it",
                region.index(),
                r.owner,
                r.parent,
                id.index(),
                self.g.region_of(id).index()
            )));
        }
        Ok(())
    }

    fn branch(&mut self, id: NodeId, then: RegionId, otherwise: RegionId) -> Result<(), Error> {
        self.owned(id, then)?;
        self.owned(id, otherwise)?;
        let (a, b) = (
            self.g.region(then).yields.len(),
            self.g.region(otherwise).yields.len(),
        );
        if a != b {
            return Err(Error::Malformed(format!(
                "the branches of %{} yield {a} and {b} values",
                id.index()
            )));
        }
        let region = if self.arg(id, 0)?.boolean()? {
            then
        } else {
            otherwise
        };
        self.run_region(region)?;
        let outputs = self.yields(id, region)?;
        self.outputs.insert(id, outputs);
        Ok(())
    }

    fn run_loop(&mut self, id: NodeId, body: RegionId, rev: bool) -> Result<(), Error> {
        self.owned(id, body)?;
        let start = self.arg(id, 0)?.int()?;
        let end = self.arg(id, 1)?.int()?;
        let mut carried = self.inits(id, 2)?;
        let count = usize::try_from(end - start).unwrap_or(0);
        let stacked = self.g.region(body).stacked.clone();
        let mut stacks = vec![vec![None; count]; stacked.len()];
        for step in 0..count as i64 {
            let i = if rev { end - 1 - step } else { start + step };
            self.bind(body, &carried, Some(i))?;
            self.run_region(body)?;
            for (k, &s) in stacked.iter().enumerate() {
                if self
                    .plan
                    .live_stacks
                    .get(&id)
                    .is_some_and(|live| live.contains(&k))
                {
                    stacks[k][(i - start) as usize] = Some(self.read(body, s)?.clone());
                }
            }
            carried = self.yields(id, body)?;
        }
        self.outputs.insert(id, carried);
        self.stacks.insert(id, stacks);
        Ok(())
    }

    /// A loop's initial values, from its argument `first` on (those of live outputs).
    fn inits(&self, id: NodeId, first: usize) -> Result<Vec<Option<Value>>, Error> {
        let live = self.plan.live_slots.get(&id);
        let mut values = Vec::new();
        for k in 0..self.g.args(id).len().saturating_sub(first) {
            values.push(match live.is_some_and(|slots| slots.contains(&k)) {
                true => Some(self.arg(id, first + k)?.clone()),
                false => None,
            });
        }
        Ok(values)
    }

    fn run_while(&mut self, id: NodeId, cond: RegionId, body: RegionId) -> Result<(), Error> {
        self.owned(id, cond)?;
        self.owned(id, body)?;
        let mut carried = self.inits(id, 0)?;
        let stacked = self.g.region(body).stacked.clone();
        let mut stacks: Vec<Vec<Option<Value>>> = vec![Vec::new(); stacked.len()];
        let mut count = 0;
        loop {
            self.bind(cond, &carried, None)?;
            self.run_region(cond)?;
            let go = match self.g.region(cond).yields.as_slice() {
                &[c] => self.read(cond, c)?.boolean()?,
                other => {
                    return Err(Error::Malformed(format!(
                        "the condition of %{} yields {other:?}",
                        id.index()
                    )))
                }
            };
            if !go {
                break;
            }
            if count == MAX_ITERATIONS {
                return Err(Error::Malformed(format!("%{} does not end", id.index())));
            }
            self.bind(body, &carried, Some(count))?;
            self.run_region(body)?;
            for (k, &s) in stacked.iter().enumerate() {
                let live = self
                    .plan
                    .live_stacks
                    .get(&id)
                    .is_some_and(|live| live.contains(&k));
                stacks[k].push(if live {
                    Some(self.read(body, s)?.clone())
                } else {
                    None
                });
            }
            carried = self.yields(id, body)?;
            count += 1;
        }
        carried.push(Some(Value::Int(count)));
        self.outputs.insert(id, carried);
        self.stacks.insert(id, stacks);
        Ok(())
    }
}

/// A primitive on floats (integers as floats), or element by element on arrays (adjoints
/// of arrays add up that way).
fn prim_value(prim: Prim, args: &[&Value]) -> Result<Value, Error> {
    let rule = prim.rule();
    if args.len() != rule.args.len() {
        return Err(Error::Malformed(format!(
            "{} takes {} arguments, given {}",
            rule.name,
            rule.args.len(),
            args.len()
        )));
    }
    if let (Prim::Add, [Value::Array(a), Value::Array(b)]) = (prim, args) {
        // An empty `Vec` is a zero gradient (`chainrule::__private::add`).
        if a.is_empty() {
            return Ok(Value::Array(b.clone()));
        }
        if b.is_empty() {
            return Ok(Value::Array(a.clone()));
        }
    }
    if let Some(Value::Array(first)) = args.iter().find(|a| matches!(a, Value::Array(_))) {
        let mut items = Vec::with_capacity(first.len());
        for k in 0..first.len() {
            let column: Vec<&Value> = args
                .iter()
                .map(|a| match a {
                    Value::Array(items) if items.len() == first.len() => Ok(&items[k]),
                    other => Err(Error::Malformed(format!(
                        "{} of arrays of different shapes ({other:?})",
                        rule.name
                    ))),
                })
                .collect::<Result<_, _>>()?;
            items.push(prim_value(prim, &column)?);
        }
        return Ok(Value::Array(items));
    }
    let scalars: Vec<f64> = args
        .iter()
        .map(|a| match a {
            Value::Float(x) => Ok(*x),
            Value::Int(n) => Ok(*n as f64),
            other => Err(Error::Malformed(format!("{} of {other:?}", rule.name))),
        })
        .collect::<Result<_, _>>()?;
    Ok(Value::Float((rule.eval)(&scalars)))
}

/// Zeros of a type (a fixed-size array's zeros need no value; a bool's is `false`, as
/// for a branch exporting a condition from one side only).
fn zeros(ty: &Ty) -> Result<Value, Error> {
    Ok(match ty {
        Ty::Float => Value::Float(0.0),
        Ty::Int(_) => Value::Int(0),
        Ty::Bool => Value::Bool(false),
        Ty::Array(element, Len::Lit(n)) => Value::Array(vec![zeros(element)?; *n as usize]),
        // As the generated code has it: an empty `Vec` is a zero gradient of any length.
        Ty::Array(_, Len::Runtime) => Value::Array(Vec::new()),
        Ty::Array(_, Len::Named(_) | Len::Op(..)) => {
            return Err(Error::Unsupported("zeros of a named length".to_string()))
        }
        other => {
            return Err(Error::Malformed(format!(
                "zeros of {other:?} without a value to shape them"
            )))
        }
    })
}

/// The value of a `core::f64::consts` (or `std::`) constant.
fn named_constant(g: &Graph, index: usize) -> Result<f64, Error> {
    use std::f64::consts;
    let path = &g.named[index];
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let unsupported = || Error::Unsupported(format!("the constant {}", segments.join("::")));
    let (name, module) = segments.split_last().ok_or_else(unsupported)?;
    if !matches!(
        module.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
        ["std" | "core", "f64", "consts"] | ["f64", "consts"] | ["consts"] | []
    ) {
        return Err(unsupported());
    }
    Ok(match name.as_str() {
        "PI" => consts::PI,
        "TAU" => consts::TAU,
        "E" => consts::E,
        "LN_2" => consts::LN_2,
        "LN_10" => consts::LN_10,
        "LOG2_E" => consts::LOG2_E,
        "LOG10_E" => consts::LOG10_E,
        "SQRT_2" => consts::SQRT_2,
        "FRAC_1_SQRT_2" => consts::FRAC_1_SQRT_2,
        "FRAC_PI_2" => consts::FRAC_PI_2,
        "FRAC_PI_3" => consts::FRAC_PI_3,
        "FRAC_PI_4" => consts::FRAC_PI_4,
        "FRAC_1_PI" => consts::FRAC_1_PI,
        "FRAC_2_PI" => consts::FRAC_2_PI,
        _ => return Err(unsupported()),
    })
}

/// Rust's `x as ty` of a float: toward zero, saturating at the type's bounds, NaN as 0
/// (64-bit bounds held as i64).
fn float_as(x: f64, ty: &str) -> i64 {
    if x.is_nan() {
        return 0;
    }
    let (low, high) = match ty {
        "u8" => (0.0, u8::MAX as f64),
        "u16" => (0.0, u16::MAX as f64),
        "u32" => (0.0, u32::MAX as f64),
        "usize" | "u64" | "u128" => (0.0, i64::MAX as f64),
        "i8" => (i8::MIN as f64, i8::MAX as f64),
        "i16" => (i16::MIN as f64, i16::MAX as f64),
        "i32" => (i32::MIN as f64, i32::MAX as f64),
        _ => (i64::MIN as f64, i64::MAX as f64),
    };
    x.trunc().clamp(low, high) as i64
}
