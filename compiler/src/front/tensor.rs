//! Reading ndarray code: array types (`Array2<f64>`, `&Array1<f64>`, `ArrayView2<f64>`),
//! arithmetic on whole arrays, their methods (`dot`, `t`, `sum`, `sum_axis`, `mapv`, …) and
//! chainrule's array functions (`softmax`, `cross_entropy`, …).
//!
//! The macro sees tokens only: an array's rank comes from the parameter's written type, and
//! follows through each operation (a matrix times a vector is a vector). Its shape is known
//! at run time only.

use quote::ToTokens;
use syn::{BinOp, Expr, ExprMethodCall, Type};

use super::{describe, float_type, is_integer_type, tokens, Expect, Lower};
use crate::ir::{FloatType, NodeId, RegionId, Ty};
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
        if found == FloatType::Generic || float == FloatType::Generic {
            return Some(Err(
                "arrays of a generic float type are not supported: write `f64` or `f32`".to_string(),
            ));
        }
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

const ARRAY_METHODS: &str = "`dot`, `t`, `sum`, `mean().unwrap()`, `sum_axis`, `insert_axis`, `row`, `mapv`, `len`, `view`, `to_owned` and `clone`";

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
    /// Whether array operations may be here: at the function's top level only.
    fn array_operation_here(&mut self, at: &dyn ToTokens) -> bool {
        if self.graph.current != RegionId::TOP {
            self.errors.push(syn::Error::new_spanned(
                at.to_token_stream(),
                "operations on whole arrays are supported outside `if`, `match` and loops only: compute them before",
            ));
            return false;
        }
        true
    }

    /// `&x`: the value itself (arrays and labels are passed by reference).
    pub(super) fn reference(&mut self, reference: &syn::ExprReference, expect: Expect) -> Option<NodeId> {
        if reference.mutability.is_some() {
            return Some(self.error(reference, "`&mut` is not supported"));
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
        if !self.array_operation_here(op) {
            return lhs;
        }
        self.graph.prim(prim, &[lhs, rhs])
    }

    /// `x.len()` of an array.
    pub(super) fn is_tensor_node(&self, node: NodeId) -> bool {
        self.graph.ty(node).is_tensor()
    }

    /// `m[[i, j]]` or `v[i]` of an array variable, if `index` is one.
    pub(super) fn tensor_index(&mut self, index: &syn::ExprIndex) -> Option<NodeId> {
        let ident = super::path_ident(&index.expr)?;
        let array = self.lookup(ident)?.node;
        let Ty::Tensor { rank, .. } = self.graph.ty(array).clone() else {
            return None;
        };
        let positions: Vec<&Expr> = match &*index.index {
            Expr::Array(list) => list.elems.iter().collect(),
            single => vec![single],
        };
        if positions.len() != rank as usize {
            return Some(self.error(
                index,
                format!(
                    "this array has {rank} axes: index an element with {}, or take a row with `.row(i)`",
                    if rank == 1 { "`v[i]`" } else { "`m[[i, j]]`" }
                ),
            ));
        }
        let indices: Vec<NodeId> = positions.into_iter().map(|i| self.integer(i)).collect();
        Some(self.graph.index(array, &indices))
    }

    /// A method of arrays, if `call` is one (`None` leaves it to the float methods).
    pub(super) fn tensor_method(&mut self, call: &ExprMethodCall) -> Option<NodeId> {
        let name = call.method.to_string();
        let op = tensor::method(&name);
        let identity = matches!(name.as_str(), "view" | "to_owned" | "clone");
        let known = op.is_some() || identity || matches!(name.as_str(), "row" | "mapv" | "unwrap" | "expect");
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
        if !self.array_operation_here(&call.method) {
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

    /// `z.mapv(f64::tanh)`, `z.mapv(chainrule::sigmoid)`, `z.mapv(|v| v.max(0.0))`: the
    /// function applied element by element, which is the function applied to the array.
    fn mapv(&mut self, array: NodeId, function: &Expr) -> NodeId {
        const USAGE: &str = "`mapv` takes a float method (`f64::exp`), an activation function of one argument (`chainrule::sigmoid`), or a closure of one element with a float body (`|v| v.max(0.0)`)";
        match function {
            Expr::Path(path) if path.qself.is_none() => {
                let segments: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
                let prim = match segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                    [float, name] if matches!(*float, "f64" | "f32") => ops::method(name),
                    [name] | ["chainrule", name] => ops::function(name),
                    _ => None,
                };
                match prim {
                    Some(prim) if prim.rule().args.len() == 1 => self.graph.prim(prim, &[array]),
                    _ => self.error(function, USAGE),
                }
            }
            Expr::Closure(closure) if closure.inputs.len() == 1 => {
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
        if !self.array_operation_here(at) {
            return Some(self.placeholder());
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
        if !self.array_operation_here(op) {
            return Some(old);
        }
        Some(self.graph.prim(prim, &[old, rhs]))
    }

    /// A new node of array type inside a branch or loop is an error.
    pub(super) fn check_array_result(&mut self, node: NodeId, at: &dyn ToTokens) {
        if self.graph.ty(node).is_tensor() && self.graph.current != RegionId::TOP {
            self.array_operation_here(at);
        }
    }
}
