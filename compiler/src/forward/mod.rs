//! Forward mode: tangents by the chain rule, node by node, in one forward pass.
//!
//! The function's graph is built anew, each node followed by its tangent (the directional
//! derivative of its value along the parameters' tangents): for a primitive the row's
//! partials times its inputs' tangents, Σₖ ∂out/∂xₖ · ṫₖ (the same partials the reverse
//! pass multiplies by the upstream gradient), through the builder, so that the peephole
//! rules apply; for the array operations the tangent moves as the value does (an element
//! read reads the tangent's element). Nothing here knows an operation; what it knows is
//! structure:
//!
//! - an `if` stays an `if`, each branch handing out its values' tangents beside them;
//! - a loop carries each carried value's tangent beside it;
//! - a call of another `#[differentiate]` function calls its forward mode (`g::__jvp`).
//!
//! Tangents exist only for active values (those that depend on a parameter the derivative
//! is taken with respect to and on which the result depends): the others' tangents are
//! zero, and no code computes them.

use crate::ir::{At, Graph, NodeId, Op, Param, Phase, RegionId, Ty};

/// The function's graph in forward mode: its value and its tangent.
pub struct Tangents {
    /// The function's nodes (the same values, bit for bit) and their tangents.
    pub graph: Graph,
    pub value: NodeId,
    /// The result's tangent (a zero constant where it depends on no parameter).
    pub tangent: NodeId,
    /// For each parameter of the function differentiated with respect to, the index in
    /// `graph.params` of its tangent (a parameter of its own, after the function's).
    pub of_param: Vec<Option<usize>>,
    /// By node of the function's graph: its copy, and its tangent, in `graph`.
    pub copies: Vec<Option<NodeId>>,
    pub tangents: Vec<Option<NodeId>>,
    /// Each region of the function's graph and the region it became.
    pub regions: Vec<(RegionId, RegionId)>,
}

/// What forward mode does not go through yet (the caller falls back to the gradient).
#[derive(Debug)]
pub struct Unsupported(pub &'static str, pub Option<proc_macro2::Span>);

/// Builds the graph of the function `g` (its result `output`) with tangents, before the
/// reverse pass has touched it.
pub fn forward(g: &Graph, output: NodeId) -> Result<Tangents, Unsupported> {
    let (mut new, mut pass, of_param) = start(g, crate::analysis::active(g));
    pass.region(&mut new, RegionId::TOP)?;
    let value = pass.primal(output)?;
    let tangent = pass.tangent_or_zero(&mut new, output);
    Ok(Tangents {
        graph: new,
        value,
        tangent,
        of_param,
        copies: pass.map,
        tangents: pass.tangent,
        regions: pass.regions,
    })
}

/// Forward mode over the reverse pass: the function's graph with its backward pass (from
/// `reverse::reverse`, whose top region is `backward_top` and whose parameters' adjoints
/// are `gradient`), built anew with the tangent of every value, the gradient's included:
/// the tangent of the gradient along `v` is the Hessian times `v`.
pub fn over_reverse(
    g: &Graph,
    output: NodeId,
    gradient: &[Option<NodeId>],
    backward_top: RegionId,
) -> Result<Second, Unsupported> {
    let (mut new, mut pass, of_param) = start(g, crate::analysis::varied(g));
    // Only what the value and the gradient need, and what the regions hand out (the reverse
    // pass leaves nodes no one reads, some of them out of the scope of what they read).
    let handed = g
        .regions
        .iter()
        .flat_map(|r| r.yields.iter().chain(&r.stacked))
        .copied();
    let roots: Vec<NodeId> = gradient
        .iter()
        .flatten()
        .copied()
        .chain([output])
        .chain(handed)
        .collect();
    pass.live = Some(crate::analysis::liveness(g, roots).0);
    pass.region(&mut new, RegionId::TOP)?;
    let top = new.new_region(false);
    new.region_mut(top).parent = None;
    new.current = top;
    pass.regions.push((backward_top, top));
    pass.region(&mut new, backward_top)?;
    // The backward regions are marked so only now: the builder reads forward values into
    // backward code through the cache, which the rebuilt graph already does.
    for &(old, region) in &pass.regions {
        new.region_mut(region).backward = g.region(old).backward;
    }
    for (&adjoint, &of) in &g.adjoint_of {
        if let (Some(a), Some(o)) = (pass.map[adjoint.index()], pass.map[of.index()]) {
            new.adjoint_of.entry(a).or_insert(o);
        }
    }
    new.current = top;
    let value = pass.primal(output)?;
    let mut grads = Vec::new();
    let mut hvps = Vec::new();
    for adjoint in gradient {
        grads.push(adjoint.map(|a| pass.primal(a)).transpose()?);
        hvps.push(adjoint.and_then(|a| pass.tangent[a.index()]));
    }
    new.phase = Phase::Reverse;
    Ok(Second {
        graph: new,
        value,
        gradient: grads,
        hvp: hvps,
        backward_top: top,
        of_param,
    })
}

/// The graph of the function and its backward pass in forward mode.
pub struct Second {
    pub graph: Graph,
    pub value: NodeId,
    /// Each parameter's gradient (`None`: zero), as the reverse pass gave it.
    pub gradient: Vec<Option<NodeId>>,
    /// Each parameter's row of the Hessian times the tangent (`None`: zero).
    pub hvp: Vec<Option<NodeId>>,
    /// The backward pass's top region in the new graph.
    pub backward_top: RegionId,
    /// As [`Tangents::of_param`].
    pub of_param: Vec<Option<usize>>,
}

/// The new graph with the function's parameters and, after them, their tangents' (`t_x`
/// for `x`), and the rebuilding pass over `g` with activity `active`.
fn start(g: &Graph, active: Vec<bool>) -> (Graph, Rebuild<'_>, Vec<Option<usize>>) {
    let mut new = g.derived();
    new.params = g.params.clone();
    let mut pass = Rebuild {
        old: g,
        active,
        map: vec![None; g.len()],
        tangent: vec![None; g.len()],
        stack_slots: std::collections::HashMap::new(),
        regions: vec![(RegionId::TOP, RegionId::TOP)],
        live: None,
    };
    let mut of_param = Vec::new();
    for param in &g.params {
        if !param.wrt || !g.ty(param.node).is_differentiable() {
            of_param.push(None);
            continue;
        }
        let index = new.params.len();
        let ident = quote::format_ident!("t_{}", syn::ext::IdentExt::unraw(&param.ident));
        let node = new.add_typed(Op::Param(index), Vec::new(), g.ty(param.node).clone());
        new.names[node.index()] = Some(ident.clone());
        new.params.push(Param {
            ident,
            wrt: false,
            field: None,
            node,
            ..param.clone()
        });
        new.tangent_of.insert(node, param.node);
        pass.tangent[param.node.index()] = Some(node);
        of_param.push(Some(index));
    }
    (new, pass, of_param)
}

/// A term of the tangent of `node`, broadcast to its shape where it is smaller: a float's
/// tangent spread over the array it was broadcast to, a bias row's over the batch.
fn broadcast(new: &mut Graph, term: NodeId, node: NodeId) -> NodeId {
    let (have, want) = (new.ty(term).rank(), new.ty(node).rank());
    if !new.ty(node).is_tensor() || have >= want {
        return term;
    }
    if have == 0 {
        return new.fill(term, node);
    }
    // (zeros of the result's shape plus the row: written, not simplified away)
    let zeros = new.zeros_like(node);
    let ty = new.ty(node).clone();
    new.add_typed(Op::Prim(crate::ops::Prim::Add), vec![zeros, term], ty)
}

struct Rebuild<'g> {
    old: &'g Graph,
    active: Vec<bool>,
    /// Each old node's node in the new graph.
    map: Vec<Option<NodeId>>,
    /// Each old node's tangent in the new graph (`None`: zero).
    tangent: Vec<Option<NodeId>>,
    /// Where a loop's stack of a saved value's tangent is: (old loop, old stack) → new stack.
    stack_slots: std::collections::HashMap<(NodeId, usize), usize>,
    /// Each old region and the new one it became.
    regions: Vec<(RegionId, RegionId)>,
    /// The old nodes to build (all where `None`).
    live: Option<Vec<bool>>,
}

impl Rebuild<'_> {
    /// The new node of an old one, built already (the old graph's order is evaluation
    /// order): an error rather than a panic should a graph break that.
    fn primal(&self, id: NodeId) -> Result<NodeId, Unsupported> {
        self.map[id.index()].ok_or(Unsupported(
            "a value read before it is computed (a bug of chainrule's: please report the function)",
            None,
        ))
    }

    /// The new nodes of old ones; for one not built (nothing the result needs reads it: an
    /// initial value a loop overwrites, an output no one reads), a stand-in of its type,
    /// which no code reads either.
    fn primals(&self, new: &mut Graph, ids: &[NodeId]) -> Vec<NodeId> {
        ids.iter()
            .map(|&a| match self.map[a.index()] {
                Some(node) => node,
                None => new.add_typed(Op::ZerosLike, Vec::new(), self.old.ty(a).clone()),
            })
            .collect()
    }

    /// The tangent of an old node, zeros of its shape where it has none.
    fn tangent_or_zero(&self, new: &mut Graph, id: NodeId) -> NodeId {
        match self.tangent[id.index()] {
            Some(t) => t,
            None => match self.map[id.index()] {
                Some(like) => new.zeros_like(like),
                None => self.primals(new, &[id])[0],
            },
        }
    }

    /// Whether a tangent flows through an old node.
    fn carries(&self, id: NodeId) -> bool {
        self.active[id.index()] && self.old.ty(id).is_differentiable()
    }

    /// Copies an old node into the current region of the new graph, as it was.
    fn copy(&mut self, new: &mut Graph, id: NodeId, op: Op) -> NodeId {
        let old = self.old;
        let args = self.primals(new, old.args(id));
        let node = new.add_typed(op, args, old.ty(id).clone());
        if let Some(name) = &old.names[id.index()] {
            new.name(node, name);
        }
        if let Some(span) = old.spans[id.index()] {
            new.set_span(node, span);
        }
        self.map[id.index()] = Some(node);
        node
    }

    /// Rebuilds the old region `region` into the new graph's current region.
    fn region(&mut self, new: &mut Graph, region: RegionId) -> Result<(), Unsupported> {
        let old = self.old;
        for id in old.region_nodes(region) {
            let dead = self.live.as_ref().is_some_and(|live| !live[id.index()]);
            if self.map[id.index()].is_some() || dead && !matches!(old.op(id), Op::Param(_)) {
                continue;
            }
            match old.op(id).clone() {
                Op::Branch { then, otherwise } => self.branch(new, id, then, otherwise)?,
                Op::Loop { body, rev } => self.for_loop(new, id, body, rev)?,
                Op::While { cond, body } => self.while_loop(new, id, cond, body)?,
                Op::Call {
                    callee,
                    by_ref,
                    deref,
                } if old.args(id).iter().any(|&a| self.carries(a)) => {
                    self.call(new, id, callee, by_ref, deref)
                }
                Op::Param(i) => {
                    // (its tangent is a parameter too, made first)
                    let node = self.copy(new, id, Op::Param(i));
                    new.params[i].node = node;
                }
                // A call's cache, where the call became its forward mode (`CallJvp`): its
                // backward pass (`CallHvp`) reads the arguments instead.
                Op::Project(1)
                    if matches!(old.op(old.args(id)[0]), Op::Call { .. })
                        && self.map[old.args(id)[0].index()]
                            .is_some_and(|call| matches!(new.op(call), Op::CallJvp { .. })) => {}
                Op::Project(_) => {
                    // Made with the structured node (`outputs`), unless nobody reads it.
                    if self.map[id.index()].is_none() {
                        self.copy(new, id, old.op(id).clone());
                    }
                }
                Op::Stacked(k) => {
                    let node = self.copy(new, id, Op::Stacked(k));
                    let owner = old.args(id)[0];
                    if let Some(&slot) = self.stack_slots.get(&(owner, k)) {
                        let stack =
                            new.add_typed(Op::Stacked(slot), new.args(node).to_vec(), old.ty(id).clone());
                        new.tangent_of.insert(stack, node);
                        self.tangent[id.index()] = Some(stack);
                    }
                }
                Op::CallBackward {
                    callee,
                    arity,
                    by_ref,
                    deref,
                } => self.call_backward(new, id, (callee, arity, by_ref, deref))?,
                Op::CallJvp { .. } => {
                    let span = old.spans[id.index()];
                    return Err(Unsupported("a call's forward mode twice", span));
                }
                op => {
                    let node = self.copy(new, id, op);
                    if self.carries(id) {
                        let phase = std::mem::replace(&mut new.phase, Phase::Reverse);
                        let tangent = self.tangent_of(new, id, node);
                        new.phase = phase;
                        let tangent = tangent?;
                        if let Some(t) = tangent {
                            if !new.is_free(t) && !matches!(new.op(t), Op::Param(_)) {
                                new.tangent_of.entry(t).or_insert(node);
                            }
                        }
                        self.tangent[id.index()] = tangent;
                    }
                }
            }
        }
        Ok(())
    }

    /// The tangent of the old node `id`, built as `node` in the new graph.
    fn tangent_of(
        &mut self,
        new: &mut Graph,
        id: NodeId,
        node: NodeId,
    ) -> Result<Option<NodeId>, Unsupported> {
        let old = self.old;
        let args = old.args(id).to_vec();
        let tangents: Vec<Option<NodeId>> = args.iter().map(|a| self.tangent[a.index()]).collect();
        let new_args = new.args(node).to_vec();
        if tangents.iter().all(Option::is_none) {
            return Ok(None);
        }
        Ok(match old.op(id).clone() {
            Op::Prim(prim) => {
                let at = At {
                    op: None,
                    args: &new_args,
                    out: node,
                    upstream: None,
                };
                let mut sum: Option<NodeId> = None;
                for (d, t) in prim.rule().partials.iter().zip(&tangents) {
                    let Some(t) = *t else { continue };
                    let Some(partial) = new.derivative(d, &at) else {
                        continue;
                    };
                    let term = match new.ty(node) {
                        // Gradients of arrays adding up in the backward pass: `d_w + d_w_1`.
                        Ty::Array(..) if new.is_const(partial, 1.0) => t,
                        Ty::Array(..) => return Err(Unsupported("arithmetic on whole arrays", None)),
                        _ => new.mul(partial, t),
                    };
                    let term = broadcast(new, term, node);
                    sum = Some(match sum {
                        Some(s) => new.sum(s, term),
                        None => term,
                    });
                }
                sum
            }
            Op::Select(cmp) => {
                let then = self.tangent_or_zero(new, args[2]);
                let otherwise = self.tangent_or_zero(new, args[3]);
                Some(new.select(cmp, new_args[0], new_args[1], then, otherwise))
            }
            Op::Choose => {
                let then = self.tangent_or_zero(new, args[1]);
                let otherwise = self.tangent_or_zero(new, args[2]);
                Some(new.choose(new_args[0], then, otherwise))
            }
            // The tangent moves as the value does: an element of an array's tangent, an
            // array's tangent with an element's written, pushed, gathered, repeated, summed.
            Op::Index => tangents[0].map(|t| new.index(t, &new_args[1..])),
            op @ (Op::Update | Op::AddAt | Op::Push) => {
                let array = self.tangent_or_zero(new, args[0]);
                let value = self.tangent_or_zero(new, args[1]);
                let mut moved = vec![array, value];
                moved.extend_from_slice(&new_args[2..]);
                Some(new.add(op, moved))
            }
            Op::ArrayLit => {
                let elements = args.iter().map(|&a| self.tangent_or_zero(new, a)).collect();
                Some(new.add(Op::ArrayLit, elements))
            }
            op @ Op::ArrayRepeat(_) => {
                let mut moved = new_args.clone();
                moved[0] = self.tangent_or_zero(new, args[0]);
                Some(new.add(op, moved))
            }
            Op::Sum => {
                let summed = self.tangent_or_zero(new, args[0]);
                Some(new.add(Op::Sum, vec![summed]))
            }
            Op::ZerosLike => None,
            Op::Tensor(op) => return self.tensor(new, op, node, &args, &tangents),
            _ => None,
        })
    }

    /// The tangent of an operation on whole arrays, from its row: its forward rule where it
    /// has one, else (linear in the arguments of `linear_in`) the operation applied to each
    /// such argument's tangent in its place, summed (`ṫa·b + a·ṫb` for `dot`).
    fn tensor(
        &mut self,
        new: &mut Graph,
        op: crate::ops::tensor::TensorOp,
        node: NodeId,
        args: &[NodeId],
        tangents: &[Option<NodeId>],
    ) -> Result<Option<NodeId>, Unsupported> {
        let new_args = new.args(node).to_vec();
        let rank = |k: usize| new_args.get(k).map_or(0, |&a| new.ty(a).rank());
        let rule = op.jvp((rank(0), rank(1)));
        let mut sum: Option<NodeId> = None;
        for (k, t) in tangents.iter().enumerate() {
            let Some(t) = *t else { continue };
            let term = match rule.get(k) {
                Some(d) => {
                    let at = At {
                        op: Some(op),
                        args: &new_args,
                        out: node,
                        upstream: Some(t),
                    };
                    match new.derivative(d, &at) {
                        Some(term) => term,
                        None => continue,
                    }
                }
                None if rule.is_empty() && op.rule().linear_in.contains(&k) => {
                    let mut moved = new_args.clone();
                    moved[k] = t;
                    new.tensor(op, &moved)
                }
                None => return Err(Unsupported("an ndarray operation without a forward rule", None)),
            };
            let term = broadcast(new, term, node);
            sum = Some(match sum {
                Some(s) => new.sum(s, term),
                None => term,
            });
        }
        let _ = args;
        Ok(sum)
    }

    /// The projections of the old structured node `owner` onto the new one: output `k` of
    /// the old node is output `k` of the new one, its tangent output `tangent_slot(k)`.
    fn outputs(
        &mut self,
        new: &mut Graph,
        owner: NodeId,
        node: NodeId,
        tangent_slot: &dyn Fn(usize) -> Option<usize>,
    ) {
        let old = self.old;
        let projections: Vec<NodeId> = old
            .ids()
            .filter(|&p| matches!(old.op(p), Op::Project(_)) && old.args(p)[0] == owner)
            .collect();
        // A call become its forward mode has no cache (its backward pass reads the arguments).
        let no_cache = matches!(old.op(owner), Op::Call { .. }) && matches!(new.op(node), Op::CallJvp { .. });
        for p in projections {
            let Op::Project(k) = *old.op(p) else { continue };
            if self.map[p.index()].is_some() || no_cache && k == 1 {
                continue; // (a `while` loop's count, moved after the tangents)
            }
            let ty = old.ty(p).clone();
            let value = new.project(node, k, ty.clone());
            if let Some(name) = &old.names[p.index()] {
                new.name(value, name);
            }
            self.map[p.index()] = Some(value);
            if let Some(slot) = tangent_slot(k).filter(|_| self.carries(p)) {
                let tangent = new.project(node, slot, ty);
                new.tangent_of.insert(tangent, value);
                self.tangent[p.index()] = Some(tangent);
            }
        }
    }

    /// `if cond { … } else { … }`: each side hands out the tangents of the values it hands
    /// out, after them.
    fn branch(
        &mut self,
        new: &mut Graph,
        id: NodeId,
        then: RegionId,
        otherwise: RegionId,
    ) -> Result<(), Unsupported> {
        let old = self.old;
        let outer = new.current;
        let count = old.region(then).yields.len();
        // The outputs with a tangent: a differentiable value active on either side.
        let with_tangent: Vec<usize> = (0..count)
            .filter(|&k| {
                [then, otherwise]
                    .iter()
                    .any(|&r| old.region(r).yields.get(k).is_some_and(|&y| self.carries(y)))
            })
            .collect();
        let mut regions = Vec::new();
        for side in [then, otherwise] {
            let region = self.new_region(new, side);
            new.current = region;
            self.region(new, side)?;
            let yields = old.region(side).yields.clone();
            let mut handed = self.primals(new, &yields);
            for &k in &with_tangent {
                handed.push(self.tangent_or_zero(new, yields[k]));
            }
            new.region_mut(region).yields = handed;
            new.region_mut(region).header = old.region(side).header.clone();
            regions.push(region);
            new.current = outer;
        }
        let cond = self.primal(old.args(id)[0])?;
        let node = new.add_typed(
            Op::Branch {
                then: regions[0],
                otherwise: regions[1],
            },
            vec![cond],
            Ty::Unit,
        );
        for &r in &regions {
            new.region_mut(r).owner = Some(node);
        }
        self.map[id.index()] = Some(node);
        self.outputs(new, id, node, &|k| {
            with_tangent.iter().position(|&j| j == k).map(|j| count + j)
        });
        Ok(())
    }

    /// A loop body's region: its index, its carried values and their tangents (after
    /// them), its nodes, and its next values and their tangents.
    fn body(
        &mut self,
        new: &mut Graph,
        owner: NodeId,
        body: RegionId,
        with_tangent: &[usize],
    ) -> Result<RegionId, Unsupported> {
        let old = self.old;
        let region = self.new_region(new, body);
        new.current = region;
        new.region_mut(region).header = old.region(body).header.clone();
        self.params(new, body, region, with_tangent);
        if let Some(index) = old.region(body).index {
            let node = new.add_typed(Op::LoopIndex, Vec::new(), old.ty(index).clone());
            if let Some(name) = &old.names[index.index()] {
                new.name(node, name);
            }
            self.map[index.index()] = Some(node);
            new.region_mut(region).index = Some(node);
        }
        self.region(new, body)?;
        let yields = old.region(body).yields.clone();
        let mut next = self.primals(new, &yields);
        for &k in with_tangent {
            next.push(self.tangent_or_zero(new, yields[k]));
        }
        new.region_mut(region).yields = next;
        // The values saved per iteration for the backward pass, and their tangents after.
        let saved = old.region(body).stacked.clone();
        let mut stacked = self.primals(new, &saved);
        for (k, &s) in saved.iter().enumerate() {
            if let Some(t) = self.tangent[s.index()] {
                self.stack_slots.insert((owner, k), stacked.len());
                stacked.push(t);
            }
        }
        new.region_mut(region).stacked = stacked;
        Ok(region)
    }

    /// A new region in the current one, for the old region `old`.
    fn new_region(&mut self, new: &mut Graph, old: RegionId) -> RegionId {
        let region = new.new_region(false);
        self.regions.push((old, region));
        region
    }

    /// The carried values of an old loop region as parameters of the new one, and their
    /// tangents after them.
    fn params(&mut self, new: &mut Graph, old_region: RegionId, region: RegionId, with_tangent: &[usize]) {
        let old = self.old;
        let params = old.region(old_region).params.clone();
        let mut new_params = Vec::new();
        for (k, &p) in params.iter().enumerate() {
            let node = new.add_typed(Op::RegionParam(k), Vec::new(), old.ty(p).clone());
            if let Some(name) = &old.names[p.index()] {
                new.name(node, name);
            }
            self.map[p.index()] = Some(node);
            new_params.push(node);
        }
        for (j, &k) in with_tangent.iter().enumerate() {
            let p = params[k];
            let node = new.add_typed(Op::RegionParam(params.len() + j), Vec::new(), old.ty(p).clone());
            new.tangent_of.insert(node, new_params[k]);
            self.tangent[p.index()] = Some(node);
            new_params.push(node);
        }
        new.region_mut(region).params = new_params;
    }

    /// The carried values with a tangent: active ones.
    fn carried_tangents(&self, body: RegionId) -> Vec<usize> {
        let params = &self.old.region(body).params;
        (0..params.len()).filter(|&k| self.carries(params[k])).collect()
    }

    /// `for i in start..end { … }`, carrying the tangents beside the values.
    fn for_loop(
        &mut self,
        new: &mut Graph,
        id: NodeId,
        body: RegionId,
        rev: bool,
    ) -> Result<(), Unsupported> {
        let old = self.old;
        let outer = new.current;
        let with_tangent = self.carried_tangents(body);
        let region = self.body(new, id, body, &with_tangent)?;
        new.current = outer;
        let old_args = old.args(id).to_vec();
        let mut args = self.primals(new, &old_args);
        for &k in &with_tangent {
            args.push(self.tangent_or_zero(new, old_args[2 + k]));
        }
        let node = new.add_typed(Op::Loop { body: region, rev }, args, Ty::Unit);
        new.region_mut(region).owner = Some(node);
        self.map[id.index()] = Some(node);
        let n = old.region(body).params.len();
        self.outputs(new, id, node, &|k| {
            with_tangent.iter().position(|&j| j == k).map(|j| n + j)
        });
        Ok(())
    }

    /// `while cond { … }`: the condition reads the carried values (and their tangents,
    /// unread); the iteration count, the last output, moves after the tangents.
    fn while_loop(
        &mut self,
        new: &mut Graph,
        id: NodeId,
        cond: RegionId,
        body: RegionId,
    ) -> Result<(), Unsupported> {
        let old = self.old;
        let outer = new.current;
        let with_tangent = self.carried_tangents(body);
        let cond_region = self.new_region(new, cond);
        new.current = cond_region;
        self.params(new, cond, cond_region, &with_tangent);
        self.region(new, cond)?;
        let cond_yields = old.region(cond).yields.clone();
        new.region_mut(cond_region).yields = self.primals(new, &cond_yields);
        new.current = outer;
        let region = self.body(new, id, body, &with_tangent)?;
        new.current = outer;
        let old_args = old.args(id).to_vec();
        let mut args = self.primals(new, &old_args);
        for &k in &with_tangent {
            args.push(self.tangent_or_zero(new, old_args[k]));
        }
        let node = new.add_typed(
            Op::While {
                cond: cond_region,
                body: region,
            },
            args,
            Ty::Unit,
        );
        new.region_mut(cond_region).owner = Some(node);
        new.region_mut(region).owner = Some(node);
        self.map[id.index()] = Some(node);
        let n = old.region(body).params.len();
        let m = with_tangent.len();
        // Outputs: the carried values, their tangents, the count.
        let projections: Vec<NodeId> = old
            .ids()
            .filter(|&p| old.op(p) == &Op::Project(n) && old.args(p)[0] == id)
            .collect();
        for p in projections {
            let count = new.project(node, n + m, old.ty(p).clone());
            self.map[p.index()] = Some(count);
        }
        self.outputs(new, id, node, &|k| match k < n {
            true => with_tangent.iter().position(|&j| j == k).map(|j| n + j),
            false => None,
        });
        Ok(())
    }

    /// A call's backward pass (`g::__vjp(&cache, upstream)`), in forward mode: the callee's
    /// gradient and its tangent from the call's arguments and their tangents, the upstream
    /// and its (`g::__hvp`). For a call in the function's top region (whose arguments the
    /// backward pass reads as they are).
    fn call_backward(
        &mut self,
        new: &mut Graph,
        id: NodeId,
        (callee, arity, by_ref, deref): (usize, usize, u64, u64),
    ) -> Result<(), Unsupported> {
        let old = self.old;
        let (cache, upstream) = (old.args(id)[0], old.args(id)[1]);
        // The call's arguments as the backward pass reads them (saved per iteration in a
        // loop): there where the graph is `second_order`, else the call's own, at the top.
        let call = match old.op(cache) {
            Op::Project(1) => Some(old.args(cache)[0]),
            _ => None,
        };
        let span = call.and_then(|c| old.spans[c.index()]);
        let old_args = match (old.args(id).len() > 2, call) {
            (true, _) => old.args(id)[2..].to_vec(),
            (false, Some(call)) if old.region_of(call) == RegionId::TOP => old.args(call).to_vec(),
            _ => {
                return Err(Unsupported(
                    "a call inside a loop or a branch without its arguments",
                    span,
                ))
            }
        };
        let mut args = self.with_tangents(new, &old_args);
        let up = self.primals(new, &[upstream])[0];
        let t_up = self.tangent_or_zero(new, upstream);
        args.extend([up, t_up]);
        let node = new.add_typed(
            Op::CallHvp {
                callee,
                by_ref,
                deref,
                arity,
            },
            args,
            Ty::Unit,
        );
        if let Some(span) = span {
            new.set_span(node, span);
        }
        self.map[id.index()] = Some(node);
        self.outputs(new, id, node, &|k| (k < arity).then_some(arity + k));
        Ok(())
    }

    /// A call's arguments, then one tangent each (zeros where it has none; the argument
    /// itself, unread, for one without: an integer, a bool).
    fn with_tangents(&mut self, new: &mut Graph, old_args: &[NodeId]) -> Vec<NodeId> {
        let old = self.old;
        let mut args = self.primals(new, old_args);
        for (k, &a) in old_args.iter().enumerate() {
            let tangent = match old.ty(a).is_differentiable() {
                true => self.tangent_or_zero(new, a),
                false => args[k],
            };
            args.push(tangent);
        }
        args
    }

    /// A call of another `#[differentiate]` function with an argument that has a tangent:
    /// the callee's forward mode, given every argument's tangent (zeros where it has none;
    /// the argument itself, unread, for one without: an integer, a bool).
    fn call(&mut self, new: &mut Graph, id: NodeId, callee: usize, by_ref: u64, deref: u64) {
        let old = self.old;
        let old_args = old.args(id).to_vec();
        let args = self.with_tangents(new, &old_args);
        let node = new.add_typed(
            Op::CallJvp {
                callee,
                by_ref,
                deref,
            },
            args,
            Ty::Unit,
        );
        if let Some(span) = old.spans[id.index()] {
            new.set_span(node, span);
        }
        self.map[id.index()] = Some(node);
        self.outputs(new, id, node, &|k| (k == 0).then_some(1));
    }
}
