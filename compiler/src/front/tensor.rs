//! Reading ndarray code: array types (`Array2<f64>`, `&Array1<f64>`, `ArrayView2<f64>`),
//! arithmetic on whole arrays, their methods (`dot`, `t`, `sum`, `sum_axis`, `mapv`, …) and
//! chainrule's array functions (`softmax`, `cross_entropy`, …).
//!
//! The macro sees tokens only: an array's rank comes from the parameter's written type, and
//! follows through each operation (a matrix times a vector is a vector). Its shape is known
//! at run time only.

use syn::{BinOp, Expr, ExprMethodCall, Type};

use super::{describe, float_type, is_integer_type, tokens, Expect, Lower};
use crate::ir::{FloatType, NodeId, Op, Ty};
use crate::ops::tensor::{self, TensorOp};
use crate::ops::{self, Prim};

/// The ndarray types of arrays: their name and rank, and whether it is a view.
fn array_name(name: &str) -> Option<(u8, bool)> {
    Some(match name {
        "Array1" => (1, false),
        "Array2" => (2, false),
        "ArrayView1" => (1, true),
        "ArrayView2" => (2, true),
        "Array" => (0, false),
        "ArrayView" => (0, true),
        _ => return None,
    })
}

/// The rank of `Ix1`, `Ix2` (in `Array<f64, Ix2>`).
fn dimension_rank(ty: &Type) -> Option<u8> {
    let Type::Path(path) = ty else { return None };
    match path.path.segments.last()?.ident.to_string().as_str() {
        "Ix1" => Some(1),
        "Ix2" => Some(2),
        _ => None,
    }
}

/// The path of an array type, through a reference (`&Array2<f64>`).
fn array_path(ty: &Type) -> Option<&syn::TypePath> {
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => array_path(&reference.elem),
        Type::Paren(inner) => array_path(&inner.elem),
        Type::Group(inner) => array_path(&inner.elem),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            array_name(&last.ident.to_string()).map(|_| path)
        }
        _ => None,
    }
}

/// Whether a parameter's written type is an ndarray array (or a reference to one).
pub fn is_tensor_type(ty: &Type) -> bool {
    array_path(ty).is_some()
}

/// Whether an array type is a view (`ArrayView2<f64>`), which the cache copies.
pub fn is_view_type(path: &syn::TypePath) -> bool {
    path.path
        .segments
        .last()
        .and_then(|s| array_name(&s.ident.to_string()))
        .is_some_and(|(_, view)| view)
}

/// The type of an ndarray array type, if `ty` is one: `Ok` for a float array of the
/// function's float type or an integer one (labels), `Err` with a message otherwise.
pub fn tensor_type(ty: &Type, float: FloatType, generic: Option<&syn::Ident>) -> Option<Result<Ty, String>> {
    let path = array_path(ty)?;
    let last = path.path.segments.last()?;
    let (mut rank, _) = array_name(&last.ident.to_string())?;
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return Some(Err(format!(
            "write the element type of `{}`: `{}<{}>`",
            last.ident,
            last.ident,
            float.name()
        )));
    };
    let types: Vec<&Type> = arguments
        .args
        .iter()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    if rank == 0 {
        // `Array<f64, Ix2>`
        match types.get(1).and_then(|t| dimension_rank(t)) {
            Some(r) => rank = r,
            None => {
                return Some(Err(format!(
                    "the array type `{}` is not supported: arrays have one or two axes (`Array1<{float}>`, `Array2<{float}>`, `Array<{float}, Ix2>`)",
                    tokens(ty),
                    float = float.name()
                )))
            }
        }
    }
    let Some(element) = types.first() else {
        return Some(Err("write the element type of the array".to_string()));
    };
    if let Some(found) = float_type(element, generic) {
        if found != float {
            return Some(Err(format!(
                "this is an array of {} but the function computes in {}: use one float type per function",
                found.name(),
                float.name()
            )));
        }
        return Some(Ok(Ty::tensor(rank)));
    }
    if is_integer_type(element) && rank == 1 {
        return Some(Ok(Ty::Tensor {
            elem: Box::new(Ty::Int(Some(tokens(element)))),
            rank,
        }));
    }
    Some(Err(format!(
        "the array type `{}` is not supported: arrays hold {float} (or, as labels, `usize` in one axis)",
        tokens(ty),
        float = float.name()
    )))
}

const ARRAY_METHODS: &str = "`dot`, `t`, `sum`, `mean().unwrap()`, `sum_axis`, `insert_axis`, `row`, `column`, `slice(s![a..b])`, `mapv`, `rows`, `columns`, `outer_iter`, `iter`, `assign`, `row_mut(i).assign`, `len`, `nrows`, `ncols`, `len_of`, `shape`, `dim`, `view`, `to_owned` and `clone`";

fn is_float_tensor(ty: &Ty) -> bool {
    matches!(ty, Ty::Tensor { elem, .. } if **elem == Ty::Float)
}

/// `Axis(k)` or `ndarray::Axis(k)`: k.
fn axis(expr: &Expr) -> Option<u8> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    if path.path.segments.last()?.ident != "Axis" || call.args.len() != 1 {
        return None;
    }
    match &call.args[0] {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(k),
            ..
        }) => k.base10_parse().ok(),
        _ => None,
    }
}

impl Lower<'_> {
    /// `&x`: the value itself (arrays and labels are passed by reference).
    pub(super) fn reference(&mut self, reference: &syn::ExprReference, expect: Expect) -> Option<NodeId> {
        if reference.mutability.is_some() {
            return Some(self.error(
                reference,
                "`&mut` is not supported here: a helper taking a `&mut` argument (a scratch buffer) is inlined where it is called, when it is in the same `#[differentiate] mod` as its caller",
            ));
        }
        let value = self.expr_any(&reference.expr, expect)?;
        match self.graph.ty(value) {
            Ty::Tensor { .. } | Ty::Array(..) | Ty::Int(_) => Some(value),
            _ => Some(self.error(reference, "references are not supported: use float values")),
        }
    }

    /// A float, or an array of floats (element by element).
    pub(super) fn float_or_tensor(&mut self, expr: &Expr) -> NodeId {
        let node = self.expr_as(expr, Expect::Float);
        match self.graph.ty(node) {
            Ty::Float => node,
            ty if is_float_tensor(ty) => node,
            ty => {
                let found = describe(ty);
                self.error(
                    expr,
                    format!("expected an {}, found {found}", self.graph.float.name()),
                )
            }
        }
    }

    /// `&a + &b`, `&h * 2.0`, `1.0 - &x`, …: element by element, broadcasting.
    pub(super) fn tensor_binary(
        &mut self,
        op: &BinOp,
        prim: Option<Prim>,
        lhs: NodeId,
        rhs: NodeId,
    ) -> NodeId {
        let (lhs_ty, rhs_ty) = (self.graph.ty(lhs).clone(), self.graph.ty(rhs).clone());
        let operand = |ty: &Ty| *ty == Ty::Float || is_float_tensor(ty);
        let Some(prim) = prim else {
            return self.error(
                op,
                format!(
                    "`{}` on arrays is not supported: arrays take `+ - * /` element by element",
                    tokens(op)
                ),
            );
        };
        if !operand(&lhs_ty) || !operand(&rhs_ty) {
            return self.error(
                op,
                format!(
                    "`{}` between {} and {}: arrays combine with arrays of floats and with floats",
                    tokens(op),
                    describe(&lhs_ty),
                    describe(&rhs_ty)
                ),
            );
        }
        self.graph.prim(prim, &[lhs, rhs])
    }

    /// `x.len()` of an array.
    pub(super) fn is_tensor_node(&self, node: NodeId) -> bool {
        self.graph.ty(node).is_tensor()
    }

    /// `m[[i, j]]` or `v[i]` of the array `array` (`index.expr`'s value: a variable, or
    /// any expression, `w.dot(&x)[0]`).
    pub(super) fn tensor_element(&mut self, index: &syn::ExprIndex, array: NodeId) -> NodeId {
        let Ty::Tensor { rank, .. } = self.graph.ty(array).clone() else {
            return array;
        };
        let positions: Vec<&Expr> = match &*index.index {
            Expr::Array(list) => list.elems.iter().collect(),
            single => vec![single],
        };
        if positions.len() != rank as usize {
            return self.error(
                index,
                format!(
                    "this array has {rank} axes: index an element with {}, or take a row with `.row(i)`",
                    if rank == 1 { "`v[i]`" } else { "`m[[i, j]]`" }
                ),
            );
        }
        let indices: Vec<NodeId> = positions.into_iter().map(|i| self.integer(i)).collect();
        self.graph.index(array, &indices)
    }

    /// A method of arrays, if `call` is one (`None` leaves it to the float methods).
    pub(super) fn tensor_method(&mut self, call: &ExprMethodCall) -> Option<NodeId> {
        let name = call.method.to_string();
        let op = tensor::method(&name);
        let identity = matches!(name.as_str(), "view" | "to_owned" | "clone");
        let known = op.is_some()
            || identity
            || matches!(
                name.as_str(),
                "row"
                    | "column"
                    | "slice"
                    | "mapv"
                    | "unwrap"
                    | "expect"
                    | "nrows"
                    | "ncols"
                    | "len_of"
                    | "shape"
            );
        if !known {
            // An unknown method of an array variable: say what arrays have.
            let receiver = super::path_ident(&call.receiver)
                .and_then(|i| self.lookup(i))
                .map(|b| b.node)?;
            if !self.graph.ty(receiver).is_tensor() || ops::method(&name).is_some() || name == "len" {
                return None;
            }
            self.args_for_diagnostics(&call.args.iter().collect::<Vec<_>>());
            return Some(self.error(
                &call.method,
                format!(
                    "unsupported method `{name}` of an array: the differentiable array methods are {ARRAY_METHODS}, and the float methods element by element{}",
                    super::nearest_method_note(&name)
                ),
            ));
        }
        if matches!(name.as_str(), "unwrap" | "expect") {
            // `x.mean().unwrap()`: ndarray's mean is `None` for an empty array.
            return match &*call.receiver {
                Expr::MethodCall(inner) if inner.method == "mean" => {
                    Some(self.expr_as(&call.receiver, Expect::Any))
                }
                _ => None,
            };
        }
        let receiver = self.expr_as(&call.receiver, Expect::Any);
        let ty = self.graph.ty(receiver).clone();
        if !is_float_tensor(&ty) {
            if ty.is_tensor() && identity {
                return Some(receiver); // labels
            }
            if matches!(ty, Ty::Float) && name == "clone" {
                return None;
            }
            self.args_for_diagnostics(&call.args.iter().collect::<Vec<_>>());
            let found = describe(&ty);
            return Some(self.error(
                &call.method,
                format!(
                    "`{name}` is a method of arrays (`Array1`, `Array2`), but this is {found} here: the macro knows a value is an array, and its rank, from a parameter's type (`&Array2<f64>`) and the array operations on it; a value returned by another function is not one"
                ),
            ));
        }
        if identity {
            return Some(receiver);
        }
        let rank = ty.rank();
        let args: Vec<&Expr> = call.args.iter().collect();
        let arity = |this: &mut Self, n: usize| {
            if args.len() != n {
                this.args_for_diagnostics(&args);
                let message = format!(
                    "`{name}` takes {n} argument{}, found {}",
                    if n == 1 { "" } else { "s" },
                    args.len()
                );
                this.errors.at(&call.method, message);
                return false;
            }
            true
        };
        Some(match (name.as_str(), op) {
            ("row", _) => {
                if !arity(self, 1) {
                    return Some(receiver);
                }
                if rank != 2 {
                    return Some(self.error(&call.method, "`row` is a method of matrices (`Array2`)"));
                }
                let i = self.integer(args[0]);
                self.graph.index(receiver, &[i])
            }
            ("column", _) => {
                if !arity(self, 1) {
                    return Some(receiver);
                }
                if rank != 2 {
                    return Some(self.error(&call.method, "`column` is a method of matrices (`Array2`)"));
                }
                let j = self.integer(args[0]);
                let transposed = self.graph.tensor(TensorOp::T, &[receiver]);
                self.graph.index(transposed, &[j])
            }
            // Lengths: `a.shape()[k]`, `a.nrows()`, `a.ncols()`, `a.len_of(Axis(k))`, from
            // the array's shape (which is what the backward pass keeps of it, if anything).
            ("shape" | "nrows" | "ncols" | "len_of", _) => {
                let axis_count = if name == "len_of" { 1 } else { 0 };
                if !arity(self, axis_count) {
                    return Some(receiver);
                }
                let k = match name.as_str() {
                    "nrows" | "shape" => 0,
                    "ncols" => 1,
                    _ => match axis(args[0]) {
                        Some(k) if k < rank => k,
                        _ => {
                            return Some(self.error(
                                args[0],
                                format!(
                                    "`len_of` takes an axis of this array: `Axis(0)` … `Axis({})`",
                                    rank - 1
                                ),
                            ))
                        }
                    },
                };
                if k >= rank {
                    return Some(self.error(
                        &call.method,
                        format!("`{name}` is a method of matrices (`Array2`): this is a vector, use `len()`"),
                    ));
                }
                let shape = self.graph.tensor(TensorOp::ShapeOf, &[receiver]);
                if name == "shape" {
                    return Some(shape);
                }
                let k = self.graph.add(
                    Op::Int {
                        named: None,
                        offset: i64::from(k),
                    },
                    Vec::new(),
                );
                self.graph.index(shape, &[k])
            }
            ("slice", _) => {
                if !arity(self, 1) {
                    return Some(receiver);
                }
                self.slice(receiver, rank, args[0])
            }
            ("mapv", _) => {
                if !arity(self, 1) {
                    return Some(receiver);
                }
                self.mapv(receiver, args[0])
            }
            (_, Some(TensorOp::Dot)) => {
                if !arity(self, 1) {
                    return Some(receiver);
                }
                let other = self.expr_as(args[0], Expect::Any);
                let other_ty = self.graph.ty(other).clone();
                if !is_float_tensor(&other_ty) {
                    let found = describe(&other_ty);
                    return Some(
                        self.error(args[0], format!("`dot` multiplies by an array, not by {found}")),
                    );
                }
                self.graph.tensor(TensorOp::Dot, &[receiver, other])
            }
            (_, Some(TensorOp::SumAxis(_) | TensorOp::InsertAxis(_))) => {
                if !arity(self, 1) {
                    return Some(receiver);
                }
                let limit = if name == "sum_axis" { rank } else { rank + 1 };
                match axis(args[0]) {
                    Some(k) if k < limit && !(name == "insert_axis" && rank >= 2) => {
                        let op = if name == "sum_axis" {
                            TensorOp::SumAxis(k)
                        } else {
                            TensorOp::InsertAxis(k)
                        };
                        self.graph.tensor(op, &[receiver])
                    }
                    _ => self.error(
                        args[0],
                        format!(
                            "`{name}` takes an axis of this array: `Axis(0)` … `Axis({})`",
                            limit - 1
                        ),
                    ),
                }
            }
            (_, Some(op)) => {
                if !arity(self, 0) {
                    return Some(receiver);
                }
                self.graph.tensor(op, &[receiver])
            }
            _ => return None,
        })
    }

    /// `x.slice(s![a..b])`, `m.slice(s![a.., ..])`, `m.slice(s![.., ..b])`: one axis
    /// sliced by a range, every other taken whole.
    fn slice(&mut self, array: NodeId, rank: u8, info: &Expr) -> NodeId {
        let usage = if rank == 1 {
            "slice a vector with `s![a..b]` (either end may be left out)"
        } else {
            "slice a matrix along one axis: `s![a..b, ..]` (rows) or `s![.., a..b]` (columns), either end may be left out"
        };
        let ranges = match info {
            Expr::Macro(mac) if mac.mac.path.segments.last().is_some_and(|s| s.ident == "s") => mac
                .mac
                .parse_body_with(syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated)
                .ok(),
            _ => None,
        };
        let Some(ranges) = ranges.filter(|r| r.len() == rank as usize) else {
            self.errors.at(info, usage);
            return array;
        };
        let mut sliced = None;
        for (k, range) in ranges.iter().enumerate() {
            let Expr::Range(range) = range else {
                self.errors.at(range, usage);
                return array;
            };
            if range.start.is_none() && range.end.is_none() {
                continue;
            }
            if sliced.is_some() || matches!(range.limits, syn::RangeLimits::Closed(_)) {
                self.errors.at(range, usage);
                return array;
            }
            sliced = Some((k as u8, range));
        }
        let Some((axis, range)) = sliced else {
            return array; // `s![..]`: the whole array
        };
        let start = match &range.start {
            Some(start) => self.integer(start),
            None => self.graph.add(
                Op::Int {
                    named: None,
                    offset: 0,
                },
                Vec::new(),
            ),
        };
        let mut args = vec![array, start];
        if let Some(end) = &range.end {
            args.push(self.integer(end));
        }
        self.graph.tensor(TensorOp::Slice(axis), &args)
    }

    /// `Array1::zeros(n)`, `Array2::zeros((n, m))`, `Array2::<f64>::zeros((n, m))`, if
    /// `path` names one.
    pub(super) fn tensor_constructor(&mut self, path: &syn::Path, args: &[&Expr]) -> Option<NodeId> {
        let segments: Vec<&syn::PathSegment> = path.segments.iter().collect();
        let [.., ty, constructor] = segments.as_slice() else {
            return None;
        };
        let (written_rank, _) = array_name(&ty.ident.to_string())?;
        let op = tensor::constructor(&constructor.ident.to_string())?;
        // `Array2::zeros(a.dim())`, `zeros(a.raw_dim())`: another array's shape.
        let of_shape: Vec<Expr>;
        let lengths: Vec<&Expr> = match args {
            [Expr::MethodCall(call)]
                if call.args.is_empty() && matches!(call.method.to_string().as_str(), "dim" | "raw_dim") =>
            {
                let receiver = &call.receiver;
                of_shape = match written_rank {
                    1 => vec![syn::parse_quote!(#receiver.len())],
                    _ => vec![
                        syn::parse_quote!(#receiver.nrows()),
                        syn::parse_quote!(#receiver.ncols()),
                    ],
                };
                of_shape.iter().collect()
            }
            [Expr::Tuple(tuple)] => tuple.elems.iter().collect(),
            [Expr::Paren(single)] => vec![&*single.expr],
            [single] => vec![*single],
            _ => {
                self.args_for_diagnostics(args);
                return Some(self.error(
                    path,
                    "`zeros` takes the array's shape: `Array1::zeros(n)`, `Array2::zeros((n, m))`, `Array2::zeros(a.dim())`",
                ));
            }
        };
        if written_rank != 0 && lengths.len() != written_rank as usize || lengths.len() > 2 {
            return Some(self.error(
                args[0],
                format!(
                    "the shape of an `{}` is {}",
                    ty.ident,
                    if written_rank == 1 {
                        "one length: `zeros(n)`"
                    } else {
                        "two lengths: `zeros((n, m))`"
                    }
                ),
            ));
        }
        let lengths: Vec<NodeId> = lengths.into_iter().map(|n| self.integer(n)).collect();
        Some(self.graph.tensor(op, &lengths))
    }

    /// `m.row_mut(i).assign(&v)` (a row replaced) and `a.assign(&b)` (the whole array): the
    /// variable's new value.
    pub(super) fn array_assign(&mut self, call: &ExprMethodCall) -> NodeId {
        let (target, row) = match &*call.receiver {
            Expr::MethodCall(inner) if inner.method == "row_mut" && inner.args.len() == 1 => {
                (&*inner.receiver, Some(&inner.args[0]))
            }
            target => (target, None),
        };
        const USAGE: &str = "`assign` replaces an array variable's elements (`a.assign(&b)`) or a matrix's row (`m.row_mut(i).assign(&v)`)";
        let Some(ident) = super::path_ident(target).cloned() else {
            self.args_for_diagnostics(&call.args.iter().collect::<Vec<_>>());
            return self.error(&call.receiver, USAGE);
        };
        let Some(binding) = self.lookup(&ident).cloned() else {
            return self.error(target, format_args!("there is no variable `{ident}`"));
        };
        let rank = self.graph.ty(binding.node).rank();
        if !is_float_tensor(self.graph.ty(binding.node))
            || call.args.len() != 1
            || (row.is_some() && rank != 2)
        {
            self.args_for_diagnostics(&call.args.iter().collect::<Vec<_>>());
            return self.error(call, USAGE);
        }
        if !binding.mutable {
            return self.error(
                target,
                format_args!("`{ident}` is not mutable: declare it with `let mut {ident}`"),
            );
        }
        let value = self.expr_as(&call.args[0], Expect::Any);
        let want = if row.is_some() { 1 } else { rank };
        if !is_float_tensor(self.graph.ty(value)) || self.graph.ty(value).rank() != want {
            let found = describe(self.graph.ty(value));
            return self.error(
                &call.args[0],
                format!("`assign` takes an array of {want} axis{} here (a float fills an array: write `Array::from_elem`), not {found}", if want == 1 { "" } else { "es" }),
            );
        }
        let updated = match row {
            Some(i) => {
                let i = self.integer(i);
                self.graph.add(Op::Update, vec![binding.node, value, i])
            }
            None => value,
        };
        self.graph.name(updated, &ident);
        if let Some(binding) = self.lookup_mut(&ident) {
            binding.node = updated;
        }
        self.placeholder()
    }

    /// `z.mapv(f64::tanh)`, `z.mapv(chainrule::sigmoid)`, `z.mapv(|v| v.max(0.0))`: the
    /// function applied element by element, which is the function applied to the array.
    fn mapv(&mut self, array: NodeId, function: &Expr) -> NodeId {
        const USAGE: &str = "`mapv` takes a float method (`f64::exp`, `T::exp`), an activation function of one argument (`chainrule::sigmoid`), or a closure of one element with a float body (`|v| v.max(0.0)`)";
        match function {
            Expr::Path(path) if path.qself.is_none() => {
                let segments: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
                let generic = self.graph.generic.as_ref().map(ToString::to_string);
                let prim = match segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                    [float, name]
                        if matches!(*float, "f64" | "f32") || generic.as_deref() == Some(*float) =>
                    {
                        ops::method(name)
                    }
                    [name] | ["chainrule", name] => ops::function(name),
                    _ => None,
                };
                match prim {
                    Some(prim) if prim.rule().args.len() == 1 => self.graph.prim(prim, &[array]),
                    _ => self.error(function, USAGE),
                }
            }
            Expr::Closure(closure) if closure.inputs.len() == 1 => {
                if let Some(branch) = first_branch(&closure.body) {
                    // The array stands in for the result: nothing follows from it.
                    self.errors.at(
                        branch,
                        "a branch per element in `mapv` is not supported: write it with `max`/`min` (`|v| v.max(0.0)`) or an activation (`relu(&z)`), or branch in a loop over the elements (`for i in 0..z.len() { if z[i] > 0.0 { … } }`)",
                    );
                    return array;
                }
                let pat = match &closure.inputs[0] {
                    syn::Pat::Type(typed) => &*typed.pat,
                    pat => pat,
                };
                let Some(ident) = self.binding(pat, "closure parameter") else {
                    return array;
                };
                self.scopes.push(Vec::new());
                self.bind(ident, array, false);
                let value = self.expr_as(&closure.body, Expect::Float);
                self.scopes.pop();
                if self.graph.ty(value) != self.graph.ty(array) {
                    return self.error(
                        &closure.body,
                        "the closure's value must depend on its element: `|v| …` computes a float from `v`",
                    );
                }
                value
            }
            other => self.error(other, USAGE),
        }
    }

    /// `softmax(&z)`, `chainrule::cross_entropy(&logits, &labels)`, …, if `name` is one.
    pub(super) fn tensor_function(&mut self, name: &str, args: &[&Expr], at: &syn::Path) -> Option<NodeId> {
        let op = tensor::function(name)?;
        if args.len() != op.rule().arity {
            self.args_for_diagnostics(args);
            let n = op.rule().arity;
            return Some(self.error(
                at,
                format!(
                    "`{name}` takes {n} argument{}, found {}",
                    if n == 1 { "" } else { "s" },
                    args.len()
                ),
            ));
        }
        let scores = self.expr_as(args[0], Expect::Any);
        let ty = self.graph.ty(scores).clone();
        if !is_float_tensor(&ty) {
            self.args_for_diagnostics(&args[1..]);
            let found = describe(&ty);
            return Some(self.error(
                args[0],
                format!("`{name}` takes an array of scores (`&Array1<f64>`, `&Array2<f64>` with one row per example), not {found}"),
            ));
        }
        let mut nodes = vec![scores];
        if let Some(labels) = args.get(1) {
            let node = self.expr_as(labels, Expect::Int);
            let ok = match (self.graph.ty(node), ty.rank()) {
                (Ty::Int(_), 1) => true,
                (Ty::Array(element, _), 2) => matches!(**element, Ty::Int(_)),
                (Ty::Tensor { elem, rank: 1 }, 2) => matches!(**elem, Ty::Int(_)),
                _ => false,
            };
            if !ok {
                return Some(self.error(
                    labels,
                    "the labels are one `usize` for a vector of scores, or one per row of a matrix (`&[usize]`, `&Vec<usize>`, `&Array1<usize>`)",
                ));
            }
            nodes.push(node);
        }
        Some(self.graph.tensor(op, &nodes))
    }

    /// `h += &b`, `w -= &(&d_w * rate)`: element by element.
    pub(super) fn tensor_assign(&mut self, old: NodeId, op: &BinOp, rhs: NodeId) -> Option<NodeId> {
        if !self.is_tensor_node(old) {
            return None;
        }
        let prim = super::compound_prim(op)?;
        let rhs_ty = self.graph.ty(rhs).clone();
        if !(rhs_ty == Ty::Float || is_float_tensor(&rhs_ty)) {
            return None;
        }
        Some(self.graph.prim(prim, &[old, rhs]))
    }
}

/// The first `if` or `match` in an expression, if any.
fn first_branch(expr: &Expr) -> Option<proc_macro2::TokenStream> {
    struct Find(Option<proc_macro2::TokenStream>);
    impl<'ast> syn::visit::Visit<'ast> for Find {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            if self.0.is_some() {
                return;
            }
            match expr {
                Expr::If(branch) => self.0 = Some(quote::ToTokens::to_token_stream(&branch.if_token)),
                Expr::Match(branch) => self.0 = Some(quote::ToTokens::to_token_stream(&branch.match_token)),
                _ => syn::visit::visit_expr(self, expr),
            }
        }
    }
    let mut find = Find(None);
    syn::visit::Visit::visit_expr(&mut find, expr);
    find.0
}
