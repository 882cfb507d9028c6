//! Emission of array operations as plain ndarray code: `x.dot(&w)`, `&h + &b`,
//! `d_scores.sum_axis(Axis(0))`, `z.mapv(f64::exp)`, and for the element-by-element
//! backward passes one `Zip` over the arrays involved, with the scalar rule as its
//! closure: `Zip::from(h).and_broadcast(&d_h).map_collect(|&h, &d_h| if h > 0.0 { d_h } else { 0.0 })`.
//!
//! Operands are taken by reference. A value is a reference already where it is a reference
//! parameter, and where backward code reads a forward array: `backward` unpacks the cache by
//! reference, and `grad` rebinds each such array (`let h = &h;`) before its backward part,
//! so that both read the same text.

use std::collections::HashSet;

use proc_macro2::{Ident, TokenStream};
use quote::{quote, ToTokens};

use super::{is_copy, make_ident, written, Place, Plan, Printed};
use crate::ir::{NodeId, Op, Ty};
use crate::ops::precedence::{CAST, POSTFIX, PRODUCT, SUM, UNARY};
use crate::ops::tensor::{Code, Operand, Runtime, TensorOp};
use crate::ops::{Prim, Syntax};

/// At most this many arrays go into one `Zip` (ndarray's limit).
const MAX_PRODUCERS: usize = 6;

/// What a `Zip` closure is being written for: the array operands it reads as floats, and
/// the element-by-element nodes written inside it as float code.
#[derive(Default)]
pub(super) struct Closure {
    pub params: Vec<(NodeId, Ident)>,
    pub fused: HashSet<NodeId>,
}

impl Plan<'_> {
    /// An array operation as ndarray code, or `None` for a node that is not one.
    pub(super) fn tensor_inline(&self, id: NodeId) -> Option<Printed> {
        let g = self.g;
        if self.closure.borrow().fused.contains(&id) {
            return None; // written as float code inside a closure
        }
        let args = g.args(id);
        match g.op(id) {
            Op::Tensor(op) => Some(self.tensor_op(id, *op)),
            Op::Index if g.ty(args[0]).is_tensor() => Some(self.tensor_index(id)),
            Op::Prim(prim) if g.ty(id).is_tensor() => Some(self.elementwise(id, *prim)),
            Op::Select(_) if g.ty(id).is_tensor() => Some(self.zip(id)),
            _ => None,
        }
    }

    /// Whether backward or forward code reading `arg` for `reader` has a reference already.
    pub(super) fn is_reference(&self, reader: NodeId, arg: NodeId) -> bool {
        let g = self.g;
        if let Op::Param(k) = g.op(arg) {
            if g.params[*k].passing.is_reference() && !self.backward(reader) {
                return true;
            }
        }
        self.backward(reader) && !self.backward(arg) && !g.is_free(arg) && !is_copy(g.ty(arg))
    }

    /// `&x`, or `x` where it is a reference already.
    pub(super) fn by_ref(&self, reader: NodeId, arg: NodeId) -> TokenStream {
        let value = self.expr(arg).at(UNARY);
        if self.is_reference(reader, arg) {
            value
        } else {
            quote!(&#value)
        }
    }

    /// An owned array written inline and read once: an operator may consume it.
    fn is_owned_temporary(&self, id: NodeId) -> bool {
        let g = self.g;
        let view = match g.op(id) {
            Op::Tensor(op) => matches!(op, TensorOp::T | TensorOp::InsertAxis(_) | TensorOp::Slice(_)),
            Op::Index => true,
            Op::Param(_) | Op::RegionParam(_) | Op::Project(_) | Op::Stacked(_) => true,
            _ => false,
        };
        g.ty(id).is_tensor() && self.names[id.index()].is_none() && !view && self.closure_param(id).is_none()
    }

    /// Whether the code for `id` is an ndarray view: a view parameter, or a row, transpose
    /// or slice written where it is read (named, it is made owned).
    pub(super) fn is_view(&self, id: NodeId) -> bool {
        let g = self.g;
        match g.op(id) {
            Op::Param(k) => g.params[*k].passing == crate::ir::Passing::View,
            Op::Index | Op::Tensor(TensorOp::T | TensorOp::InsertAxis(_) | TensorOp::Slice(_)) => {
                g.ty(id).is_tensor() && self.names[id.index()].is_none() && self.closure_param(id).is_none()
            }
            _ => false,
        }
    }

    fn is_unnamed_select(&self, id: NodeId) -> bool {
        let g = self.g;
        matches!(g.op(id), Op::Select(_)) && g.ty(id).is_tensor() && self.names[id.index()].is_none()
    }

    fn receiver(&self, arg: NodeId) -> TokenStream {
        self.expr(arg).at(POSTFIX)
    }

    /// A view made owned where it gets a name of its own (`let w_t = w.t().to_owned();`).
    fn owned_if_named(&self, id: NodeId, view: TokenStream) -> Printed {
        if self.names[id.index()].is_some() {
            Printed::new(quote!(#view.to_owned()), POSTFIX)
        } else {
            Printed::new(view, POSTFIX)
        }
    }

    /// An array operation, as its row's [`Code`] says.
    fn tensor_op(&self, id: NodeId, op: TensorOp) -> Printed {
        let g = self.g;
        let args = g.args(id);
        let ndarray = quote!(::chainrule::ndarray);
        let axis = op.axis().unwrap_or(0);
        let operand = |operand: &Operand| match *operand {
            Operand::Ref(k) => self.by_ref(id, args[k]),
            Operand::Expr(k) => self.expr(args[k]).tokens,
            // Moved where it is a temporary (`unbroadcast` returns it as it is where no
            // axis was stretched), else copied.
            Operand::Owned(k) if self.is_owned_temporary(args[k]) => self.expr(args[k]).tokens,
            Operand::Owned(k) => {
                let a = self.receiver(args[k]);
                quote!(#a.to_owned())
            }
            Operand::Axis => {
                let k = proc_macro2::Literal::u8_unsuffixed(axis);
                quote!(#ndarray::Axis(#k))
            }
            Operand::AxisNumber => proc_macro2::Literal::u8_unsuffixed(axis).into_token_stream(),
        };
        match op.rule().code {
            Code::Methods { chain, view } => {
                let mut tokens = self.receiver(args[0]);
                for (method, method_args) in chain {
                    let method = make_ident(method);
                    let method_args = method_args.iter().map(operand);
                    tokens = quote!(#tokens.#method(#(#method_args),*));
                }
                match view {
                    true => self.owned_if_named(id, tokens),
                    false => Printed::new(tokens, POSTFIX),
                }
            }
            Code::Call {
                path,
                args: call_args,
                rank,
            } => {
                let function = runtime(path);
                let rank = rank.then(|| {
                    let rank = proc_macro2::Literal::u8_unsuffixed(g.ty(args[0]).rank());
                    quote!(::<#rank>)
                });
                let call_args = call_args.iter().map(operand);
                Printed::new(quote!(#function #rank(#(#call_args),*)), POSTFIX)
            }
            Code::Fill => {
                let value = self.typed(args[0]).tokens;
                let like = self.receiver(args[1]);
                Printed::new(
                    quote!(#ndarray::Array::from_elem(#like.raw_dim(), #value)),
                    POSTFIX,
                )
            }
            Code::Zeros => {
                let float = self.float();
                let lengths: Vec<TokenStream> = args.iter().map(|&a| self.expr(a).tokens).collect();
                let shape = match lengths.as_slice() {
                    [n] => n.clone(),
                    lengths => quote!((#(#lengths),*)),
                };
                Printed::new(quote!(#ndarray::Array::<#float, _>::zeros(#shape)), POSTFIX)
            }
            Code::Slice => {
                let a = self.receiver(args[0]);
                let start = self.expr(args[1]).at(CAST);
                let range = match args.get(2) {
                    Some(&end) => {
                        let end = self.expr(end).at(CAST);
                        quote!(#start..#end)
                    }
                    None => quote!(#start..),
                };
                let all = (0..g.ty(args[0]).rank()).map(|k| match k == axis {
                    true => range.clone(),
                    false => quote!(..),
                });
                self.owned_if_named(id, quote!(#a.slice(#ndarray::s![#(#all),*])))
            }
            Code::Count => {
                let a = self.receiver(args[0]);
                let float = self.float();
                Printed::new(quote!(#a.len() as #float), CAST)
            }
        }
    }

    /// `v[i]`, `m[[i, j]]`, `m.row(i)`.
    fn tensor_index(&self, id: NodeId) -> Printed {
        let g = self.g;
        let args = g.args(id);
        let array = self.receiver(args[0]);
        let indices: Vec<TokenStream> = args[1..].iter().map(|&i| self.expr(i).tokens).collect();
        if g.ty(id).is_tensor() {
            let i = &indices[0];
            return self.owned_if_named(id, quote!(#array.row(#i)));
        }
        Printed::new(element(array, &indices), POSTFIX)
    }

    /// `target[i] += value;`, `target[[i, j]] = value;`, or a row of it, in place.
    pub(super) fn tensor_update(&self, id: NodeId, target: TokenStream) -> TokenStream {
        let g = self.g;
        let args = g.args(id);
        let indices: Vec<TokenStream> = args[2..].iter().map(|&i| self.expr(i).tokens).collect();
        let add = !matches!(g.op(id), Op::Update);
        let rank = match g.ty(args[0]) {
            Ty::Tensor { rank, .. } => *rank as usize,
            _ => indices.len(),
        };
        if !g.ty(args[1]).is_tensor() && indices.len() < rank {
            // A row set to (or increased by) a float: gradient code folds an array times a
            // zero to the float 0.
            let (i, value) = (&indices[0], self.expr(args[1]).tokens);
            return match add {
                true => quote!({ let mut row = #target.row_mut(#i); row += #value; }),
                false => quote!(#target.row_mut(#i).fill(#value);),
            };
        }
        if g.ty(args[1]).is_tensor() {
            let (i, value) = (&indices[0], self.by_ref(id, args[1]));
            return if add {
                quote!(::chainrule::__private::tensor::add_row(&mut #target, #i, #value);)
            } else {
                quote!(#target.row_mut(#i).assign(#value);)
            };
        }
        let place = element(target, &indices);
        let value = self.expr(args[1]).tokens;
        if add {
            quote!(#place += #value;)
        } else {
            quote!(#place = #value;)
        }
    }

    /// A float operation applied to arrays element by element.
    fn elementwise(&self, id: NodeId, prim: Prim) -> Printed {
        let g = self.g;
        let args = g.args(id);
        let tensors = args.iter().filter(|&&a| g.ty(a).is_tensor()).count();
        let rule = prim.rule();
        // A float operand beside an array gets its type written (`2.0_f64 * &x`); an array
        // computed just for this operation is consumed, its buffer reused for the result.
        let operand = |a: NodeId, level: u8| {
            if self.is_owned_temporary(a) {
                self.expr(a).at(level)
            } else if g.ty(a).is_tensor() {
                self.by_ref(id, a)
            } else {
                self.typed(a).at(level)
            }
        };
        match rule.syntax {
            // An operation on a select of arrays is written into the select's `Zip`
            // (`(if relu > 0.0 { dy } else { 0.0 }) * upstream`): one pass.
            Syntax::Infix(..) if args.iter().any(|&a| self.is_unnamed_select(a)) => self.zip(id),
            // A generic float before an array: ndarray has `&a * s` for any scalar `s`, but
            // `s * &a` only for the concrete floats. A sum or product is written the other way
            // round (the same bits); a difference or quotient as a map.
            Syntax::Infix(..)
                if g.generic.is_some()
                    && args.len() == 2
                    && !g.ty(args[0]).is_tensor()
                    && g.ty(args[1]).is_tensor() =>
            {
                let level = match prim {
                    Prim::Add => SUM,
                    Prim::Mul => PRODUCT,
                    _ => return self.zip(id),
                };
                let (a, s) = (operand(args[1], level), self.typed(args[0]).at(level + 1));
                match prim {
                    Prim::Add => Printed::new(quote!(#a + #s), SUM),
                    _ => Printed::new(quote!(#a * #s), PRODUCT),
                }
            }
            // `-&a` needs `&T: Neg`, which a generic float does not promise: a map.
            Syntax::Prefix(_)
                if g.generic.is_some() && g.ty(args[0]).is_tensor() && !self.is_owned_temporary(args[0]) =>
            {
                let x = self.receiver(args[0]);
                Printed::new(quote!(#x.mapv(|v| -v)), POSTFIX)
            }
            // Operators apply to arrays as to floats.
            Syntax::Prefix(_) | Syntax::Infix(..) => written(rule, |k, place| match place {
                Place::Operand(level) => operand(args[k], level),
                _ => operand(args[k], POSTFIX),
            }),
            Syntax::Function if tensors == 1 && g.ty(args[0]).is_tensor() => {
                let name = make_ident(rule.name);
                let x = self.by_ref(id, args[0]);
                let rest = args[1..].iter().map(|&a| self.typed(a).tokens);
                Printed::new(quote!(::chainrule::#name(#x #(, #rest)*)), POSTFIX)
            }
            Syntax::Method if tensors == 1 && args.len() == 1 => {
                let x = self.receiver(args[0]);
                let (float, name) = (self.float(), make_ident(rule.name));
                Printed::new(quote!(#x.mapv(#float::#name)), POSTFIX)
            }
            _ => self.zip(id),
        }
    }

    /// An element-by-element node as one pass over its arrays: `x.mapv(|x| …)` for one,
    /// `Zip::from(a).and_broadcast(b)….map_collect(|&a, &b| …)` for several. Operands that
    /// are themselves element-by-element operations on one array (`d_y * 2.0`) are written
    /// inside the closure rather than computed as arrays of their own.
    fn zip(&self, id: NodeId) -> Printed {
        let g = self.g;
        let rank = g.ty(id).rank();
        let mut fused = vec![id];
        let mut producers: Vec<NodeId> = Vec::new();
        let mut work = vec![id];
        while let Some(node) = work.pop() {
            for &arg in g.args(node) {
                if !g.ty(arg).is_tensor() || producers.contains(&arg) || fused.contains(&arg) {
                    continue;
                }
                // A select of arrays is a `Zip` of its own anyway: its consumer joins it.
                let one_array = g.args(arg).iter().filter(|&&a| g.ty(a).is_tensor()).count() == 1;
                let fusable = self.names[arg.index()].is_none()
                    && (one_array && matches!(g.op(arg), Op::Prim(_)) || matches!(g.op(arg), Op::Select(_)))
                    && g.ty(arg).rank() == rank;
                if fusable {
                    fused.push(arg);
                    work.push(arg);
                } else {
                    producers.push(arg);
                }
            }
        }
        if producers.len() > MAX_PRODUCERS {
            // Too many arrays for one Zip: only the node's own operands.
            fused = vec![id];
            producers = g
                .args(id)
                .iter()
                .copied()
                .filter(|&a| g.ty(a).is_tensor())
                .collect();
            producers.dedup();
        }
        // The largest first, so that the others broadcast to it.
        if let Some(position) = producers.iter().position(|&p| g.ty(p).rank() == rank) {
            let first = producers.remove(position);
            producers.insert(0, first);
        }
        let params: Vec<(NodeId, Ident)> = producers
            .iter()
            .enumerate()
            .map(|(k, &p)| {
                let name = match &self.names[p.index()] {
                    Some(name) => name.clone(),
                    None => format!("v{k}"),
                };
                (p, make_ident(&name))
            })
            .collect();
        let saved = self.closure.replace(Closure {
            params: params.clone(),
            fused: fused.iter().copied().collect(),
        });
        let body = self.inline(id).tokens;
        self.closure.replace(saved);
        let refs: Vec<TokenStream> = producers.iter().map(|&p| self.by_ref(id, p)).collect();
        let idents: Vec<&Ident> = params.iter().map(|(_, ident)| ident).collect();
        match refs.as_slice() {
            [] => Printed::new(body, POSTFIX),
            [_] => {
                let x = self.receiver(producers[0]);
                let v = idents[0];
                Printed::new(quote!(#x.mapv(|#v| #body)), POSTFIX)
            }
            [first, rest @ ..] => {
                // Arrays of the result's rank have its shape; lower ranks broadcast to it.
                let and = producers[1..].iter().zip(rest).map(|(&p, r)| {
                    if g.ty(p).rank() == rank {
                        quote!(.and(#r))
                    } else {
                        quote!(.and_broadcast(#r))
                    }
                });
                Printed::new(
                    quote!(::chainrule::ndarray::Zip::from(#first) #(#and)*
                        .map_collect(|#(&#idents),*| #body)),
                    POSTFIX,
                )
            }
        }
    }

    /// Inside a closure: an array operand read as the closure's float parameter.
    pub(super) fn closure_param(&self, id: NodeId) -> Option<Printed> {
        let closure = self.closure.borrow();
        let (_, ident) = closure.params.iter().find(|(p, _)| *p == id)?;
        Some(Printed::new(ident.to_token_stream(), POSTFIX))
    }

    /// The type of an array: `::chainrule::ndarray::Array2<f64>`.
    pub(super) fn tensor_type(&self, elem: &Ty, rank: u8) -> TokenStream {
        let elem = self.rust_type(elem);
        let array = make_ident(&format!("Array{rank}"));
        quote!(::chainrule::ndarray::#array<#elem>)
    }
}

/// `a[i]` or `a[[i, j]]`.
fn element(array: TokenStream, indices: &[TokenStream]) -> TokenStream {
    match indices {
        [i] => quote!(#array[#i]),
        many => quote!(#array[[#(#many),*]]),
    }
}

/// The path of a run-time function.
fn runtime(path: Runtime) -> TokenStream {
    match path {
        Runtime::Public(name) => {
            let name = make_ident(name);
            quote!(::chainrule::#name)
        }
        Runtime::Private(name) => {
            let name = make_ident(name);
            quote!(::chainrule::__private::tensor::#name)
        }
    }
}
