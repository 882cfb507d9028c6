//! `self` as data, without the struct's derive: a method differentiated with respect to its
//! other parameters only (`#[differentiate(wrt(x))]`) reads `self` field by field, and the
//! macro, which cannot see the struct, takes the type of each field read from how it is
//! used: `self.k * x` a float, `0..self.n` and `xs[self.i]` integers, `self.xs[i]`,
//! `self.xs.len()`, `self.xs.iter()`, `&self.xs` and `for v in &self.xs` an array of floats
//! (of integers where an element is an index: `xs[self.idx[k]]`), `self.n as f64` the cast.
//!
//! Each distinct read is one variable, bound at the start of the generated functions from
//! `self` (`let self__k = self_.k;`, `let self__xs = &self_.xs[..];`) and a data parameter
//! of the function: the body is rewritten to name it, so everything after this pass sees an
//! ordinary parameter. What cannot be read so (`self` passed whole, its methods called, a
//! field assigned, an array indexed twice) is an error that says what to write.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{BinOp, Block, Expr, Lit, Member};

use super::diag::Errors;
use super::names::Names;
use super::INTEGERS;

/// A read of `self`: its variable, how it is bound from `self`, its label (`self.k`) and
/// what it is.
pub struct Read {
    pub ident: Ident,
    pub binding: TokenStream,
    pub label: String,
    pub kind: Kind,
}

/// What a read of `self` is, from how it is used.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Kind {
    Float,
    /// An integer; the type where a cast names it (`self.n as u32`).
    Int(Option<String>),
    Bool,
    /// An array (or `Vec`, or slice) of floats, or of integers (`true`).
    Array {
        ints: bool,
    },
    /// `self.n as f64` (the function's float type, by name): a float, whatever the field
    /// is, bound with the cast.
    CastFloat(String),
}

/// The method's body with every read of `root` (`self_`) replaced by its variable, and the
/// reads.
/// `float` names the function's float type (`f64`, `f32`; none for a generic one).
pub fn rewritten(
    block: &Block,
    root: &Ident,
    float: Option<&str>,
    names: &mut Names,
    errors: &mut Errors,
) -> (Block, Vec<Read>) {
    let mut block = block.clone();
    let mut pass = Reads {
        root,
        float: float.map(str::to_string),
        names,
        errors,
        reads: Vec::new(),
        keys: Vec::new(),
        ints: Vec::new(),
        context: Context::Any,
        probing: false,
        probed: None,
        alias: None,
    };
    pass.visit_block_mut(&mut block);
    (block, pass.reads)
}

/// What the surrounding expression says the type of a read is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Context {
    Any,
    /// An integer, of the type the place needs: `usize` for an index, a bound or a
    /// length, `i32` for `powi`'s exponent.
    Int(&'static str),
    Bool,
}

struct Reads<'a> {
    root: &'a Ident,
    /// The function's float type, by name (none for a generic one).
    float: Option<String>,
    names: &'a mut Names,
    errors: &'a mut Errors,
    reads: Vec<Read>,
    /// Each read's field path (`k`, `a.b`) and kind, by index into `reads`.
    keys: Vec<(String, Kind)>,
    /// Variables the body declares as integers (`for i in 0..n`, `let k: usize`,
    /// `let k = 0;`): a comparison with one is of integers.
    ints: Vec<(Ident, &'static str)>,
    context: Context,
    /// Probing how a variable (`root`) is used, rather than rewriting: its uses are reads
    /// of it whole, and `probed` is what the first telling one says it is.
    probing: bool,
    probed: Option<Kind>,
    /// The kind of the read a `let n = self.n;` binds, from how `n` is used after it.
    alias: Option<Kind>,
}

const ARRAY_METHODS: &[&str] = &[
    "iter",
    "into_iter",
    "len",
    "clone",
    "is_empty",
    "windows",
    "chunks",
    "first",
    "last",
    "to_vec",
];

/// Methods whose arguments are integers (`x.powi(self.p)`, `xs.iter().skip(self.k)`).
const INT_ARGUMENTS: &[&str] = &[
    "powi", "pow", "step_by", "skip", "take", "windows", "chunks", "nth",
];

/// Methods of an integer (`self.n.min(3)`, `self.k.pow(2)`) as the macro reads them.
const INT_METHODS: &[&str] = &[
    "pow",
    "rem_euclid",
    "count_ones",
    "leading_zeros",
    "trailing_zeros",
];

impl Reads<'_> {
    /// `self_.a.b` as the members `[a, b]` (none for `self_` alone); `None` for anything
    /// else.
    fn chain<'e>(&self, expr: &'e Expr) -> Option<Vec<&'e Member>> {
        match expr {
            Expr::Field(field) => {
                let mut members = self.chain(&field.base)?;
                members.push(&field.member);
                Some(members)
            }
            Expr::Path(path) if path.qself.is_none() && path.path.is_ident(self.root) => Some(Vec::new()),
            Expr::Paren(inner) => self.chain(&inner.expr),
            Expr::Group(inner) => self.chain(&inner.expr),
            _ => None,
        }
    }

    /// A read of at least one field (`self.k`, not `self`).
    fn field_chain<'e>(&self, expr: &'e Expr) -> Option<Vec<&'e Member>> {
        self.chain(expr)
            .filter(|members| self.probing || !members.is_empty())
    }

    /// How the statements after `let name = self.f;` use `name`: as an array, an integer
    /// (of which type), a bool, or (what nothing tells otherwise) a float.
    fn probe(&self, name: &Ident, after: &[syn::Stmt]) -> Option<Kind> {
        let mut names = Names::of(TokenStream::new());
        let mut errors = Errors::default();
        let mut probe = Reads {
            root: name,
            float: self.float.clone(),
            names: &mut names,
            errors: &mut errors,
            reads: Vec::new(),
            keys: Vec::new(),
            ints: self.ints.clone(),
            context: Context::Any,
            probing: true,
            probed: None,
            alias: None,
        };
        let mut block = Block {
            brace_token: Default::default(),
            stmts: after.to_vec(),
        };
        probe.visit_block_mut(&mut block);
        probe.probed
    }

    /// The variable of the read of `members` as `kind`, made at its first use.
    fn read(&mut self, members: &[&Member], kind: Kind, at: &Expr) -> Expr {
        if self.probing {
            // The most telling use wins: an integer or an array over a cast to a float,
            // a cast over a float.
            let telling = match (&self.probed, &kind) {
                (None | Some(Kind::Float), _) => true,
                (Some(Kind::CastFloat(_)), Kind::Float | Kind::CastFloat(_)) => false,
                (Some(Kind::CastFloat(_)), _) => true,
                _ => false,
            };
            if telling {
                self.probed = Some(kind);
            }
            return at.clone();
        }
        let path: Vec<String> = members.iter().map(|m| member_name(m)).collect();
        let key = path.join(".");
        let found = self
            .keys
            .iter()
            .position(|(k, existing)| *k == key && *existing == kind);
        let index = match found {
            Some(index) => index,
            None => {
                let hint = format!("self__{}", path.join("_"));
                let hint = match kind {
                    Kind::CastFloat(_) => format!("{hint}_f"),
                    _ => hint,
                };
                let ident = self.names.fresh(&hint);
                let root = self.root;
                let span = at.span();
                let place = quote_spanned!(span=> #root #(.#members)*);
                let binding = match &kind {
                    Kind::Array { .. } => quote_spanned!(span=> &#place[..]),
                    // (Also where a variable copied from the field is cast: `f64 as f64`
                    // is a float's own value.)
                    Kind::CastFloat(ty) => {
                        let ty = Ident::new(ty, span);
                        quote_spanned!(span=> #place as #ty)
                    }
                    Kind::Int(Some(ty)) => {
                        let ty = Ident::new(ty, span);
                        quote_spanned!(span=> #place as #ty)
                    }
                    _ => place,
                };
                self.reads.push(Read {
                    ident,
                    binding,
                    label: format!("self.{key}"),
                    kind: kind.clone(),
                });
                self.keys.push((key, kind));
                self.reads.len() - 1
            }
        };
        let mut ident = self.reads[index].ident.clone();
        ident.set_span(at.span());
        syn::parse_quote!(#ident)
    }

    /// An integer literal, an integer variable, or a cast to an integer type: the integer
    /// type a read beside it takes (a literal's suffix, a cast's type, `usize` otherwise).
    fn int_of(&self, expr: &Expr) -> Option<&'static str> {
        match expr {
            Expr::Path(path) => {
                let ident = path.path.get_ident()?;
                self.ints
                    .iter()
                    .rev()
                    .find(|(i, _)| i == ident)
                    .map(|(_, ty)| *ty)
            }
            Expr::Cast(cast) => integer_type(&cast.ty).map(|ty| static_name(Some(&ty))),
            Expr::MethodCall(call) if call.method == "len" => Some("usize"),
            Expr::Paren(inner) => self.int_of(&inner.expr),
            Expr::Lit(lit) => match &lit.lit {
                Lit::Int(int) if !int.suffix().starts_with('f') => Some(static_name(Some(int.suffix()))),
                _ => None,
            },
            Expr::Unary(unary) => self.int_of(&unary.expr),
            _ => None,
        }
    }

    /// The variables of a loop's pattern that are integers: `i` of `for i in 0..n`, `k`
    /// of `for (k, x) in xs.iter().enumerate()`.
    fn loop_ints(&mut self, pat: &syn::Pat, iterated: &Expr) {
        match (pat, iterated) {
            (syn::Pat::Ident(binding), Expr::Range(_)) => self.ints.push((binding.ident.clone(), "usize")),
            (syn::Pat::Ident(binding), Expr::Paren(inner)) if matches!(&*inner.expr, Expr::Range(_)) => {
                self.ints.push((binding.ident.clone(), "usize"))
            }
            (syn::Pat::Ident(binding), Expr::MethodCall(call))
                if matches!(
                    call.method.to_string().as_str(),
                    "rev" | "step_by" | "skip" | "take"
                ) =>
            {
                self.loop_ints(&syn::Pat::Ident(binding.clone()), &call.receiver)
            }
            (syn::Pat::Tuple(tuple), Expr::MethodCall(call)) if call.method == "enumerate" => {
                if let Some(syn::Pat::Ident(binding)) = tuple.elems.first() {
                    self.ints.push((binding.ident.clone(), "usize"));
                }
            }
            _ => {}
        }
    }

    fn within(&mut self, context: Context, f: impl FnOnce(&mut Self)) {
        let outer = std::mem::replace(&mut self.context, context);
        f(self);
        self.context = outer;
    }

    fn visit_in(&mut self, context: Context, expr: &mut Expr) {
        self.within(context, |pass| pass.visit_expr_mut(expr));
    }

    /// `self` used whole, or a read the macro cannot type: said once, at its tokens.
    fn unreadable(&mut self, at: &Expr, what: &str) -> Expr {
        if self.probing {
            return at.clone();
        }
        self.errors.at(at, format_args!(
            "{what}: `self` is data here (it is not in `wrt(…)`), read field by field without seeing the struct: floats, integers, bools and one-dimensional arrays (`self.k`, `0..self.n`, `self.xs[i]`, `self.xs.iter()`). Read the fields this needs, or differentiate with respect to `self` too (`wrt(self, …)`, with `#[derive(chainrule::Differentiable)]` on the struct)"
        ));
        syn::parse_quote!(0.0)
    }

    /// The kind of a read of a scalar field in the current context.
    fn scalar(&self) -> Kind {
        match self.context {
            Context::Int(ty) => Kind::Int(Some(ty.to_string())),
            Context::Bool => Kind::Bool,
            Context::Any => Kind::Float,
        }
    }
}

fn member_name(member: &Member) -> String {
    match member {
        Member::Named(ident) => ident.to_string(),
        Member::Unnamed(index) => index.index.to_string(),
    }
}

/// An integer type's name (`usize`, `i32`), if `ty` is one.
fn integer_type(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(path) = ty else { return None };
    let ident = path.path.get_ident()?.to_string();
    INTEGERS.contains(&ident.as_str()).then_some(ident)
}

/// An integer type's name as a static string: `usize` unless it names another.
fn static_name(name: Option<&str>) -> &'static str {
    INTEGERS
        .iter()
        .find(|t| Some(**t) == name)
        .copied()
        .unwrap_or("usize")
}

impl VisitMut for Reads<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        // A read of a field: its kind from the context.
        if let Some(members) = self.field_chain(expr) {
            let members: Vec<Member> = members.into_iter().cloned().collect();
            let refs: Vec<&Member> = members.iter().collect();
            let kind = self.alias.take().unwrap_or_else(|| self.scalar());
            *expr = self.read(&refs, kind, &expr.clone());
            return;
        }
        if self.chain(expr).is_some() && !self.probing {
            *expr = self.unreadable(&expr.clone(), "`self` cannot be used whole here");
            return;
        }
        match expr {
            Expr::Cast(cast) => {
                if let Some(members) = self.field_chain(&cast.expr) {
                    let members: Vec<Member> = members.into_iter().cloned().collect();
                    let refs: Vec<&Member> = members.iter().collect();
                    let at = Expr::Cast(cast.clone());
                    let float = match &*cast.ty {
                        syn::Type::Path(path) => path.path.get_ident().map(|i| i.to_string()),
                        _ => None,
                    };
                    match (integer_type(&cast.ty), float) {
                        (Some(ty), _) => *expr = self.read(&refs, Kind::Int(Some(ty)), &at),
                        (None, Some(ty)) if self.float.as_deref() == Some(ty.as_str()) => {
                            *expr = self.read(&refs, Kind::CastFloat(ty), &at)
                        }
                        // `T::from_f64(self.n as f64)` in a generic function: an integer,
                        // cast as written.
                        _ => {
                            let operand = (*cast.expr).clone();
                            *cast.expr = self.read(&refs, Kind::Int(None), &operand);
                        }
                    }
                    return;
                }
                let context = match integer_type(&cast.ty) {
                    Some(_) => Context::Int("usize"),
                    None => Context::Any,
                };
                self.visit_in(context, &mut cast.expr);
            }
            Expr::Index(index) => {
                if let Some(members) = self.field_chain(&index.expr) {
                    let members: Vec<Member> = members.into_iter().cloned().collect();
                    let refs: Vec<&Member> = members.iter().collect();
                    let ints = matches!(self.context, Context::Int(_));
                    let base = (*index.expr).clone();
                    *index.expr = self.read(&refs, Kind::Array { ints }, &base);
                    self.visit_in(Context::Int("usize"), &mut index.index);
                    return;
                }
                if let Expr::Index(inner) = &*index.expr {
                    if self.field_chain(&inner.expr).is_some() {
                        *expr = self.unreadable(&expr.clone(), "a field of `self` indexed twice");
                        return;
                    }
                }
                self.visit_in(Context::Any, &mut index.expr);
                self.visit_in(Context::Int("usize"), &mut index.index);
            }
            Expr::MethodCall(call) => {
                if !self.probing && self.chain(&call.receiver).is_some_and(|m| m.is_empty()) {
                    let what = format!("`self.{}(…)` cannot be called here", call.method);
                    let at = Expr::MethodCall(call.clone());
                    *expr = self.unreadable(&at, &what);
                    return;
                }
                if let Some(members) = self.field_chain(&call.receiver) {
                    let members: Vec<Member> = members.into_iter().cloned().collect();
                    let refs: Vec<&Member> = members.iter().collect();
                    let method = call.method.to_string();
                    let receiver = (*call.receiver).clone();
                    let kind = if ARRAY_METHODS.contains(&method.as_str()) {
                        Kind::Array { ints: false }
                    } else if INT_METHODS.contains(&method.as_str()) {
                        Kind::Int(Some("usize".into()))
                    } else {
                        // `self.k.exp()`, `self.k.max(x)`: a float's methods, or an
                        // integer's where the context says (`0..self.n.min(3)`).
                        self.scalar()
                    };
                    *call.receiver = self.read(&refs, kind, &receiver);
                    let context = match self.context {
                        Context::Int(ty) => Context::Int(ty),
                        _ => Context::Any,
                    };
                    for arg in &mut call.args {
                        self.visit_in(context, arg);
                    }
                    return;
                }
                self.visit_in(Context::Any, &mut call.receiver);
                let context = match call.method.to_string().as_str() {
                    "powi" => Context::Int("i32"),
                    "pow" => Context::Int("u32"),
                    method if INT_ARGUMENTS.contains(&method) => Context::Int("usize"),
                    _ => Context::Any,
                };
                for arg in &mut call.args {
                    self.visit_in(context, arg);
                }
            }
            Expr::Reference(reference) => {
                if let Some(members) = self.field_chain(&reference.expr) {
                    let members: Vec<Member> = members.into_iter().cloned().collect();
                    let refs: Vec<&Member> = members.iter().collect();
                    let inner = (*reference.expr).clone();
                    *reference.expr = self.read(&refs, Kind::Array { ints: false }, &inner);
                    return;
                }
                self.visit_in(Context::Any, &mut reference.expr);
            }
            Expr::ForLoop(for_loop) => {
                self.loop_ints(&for_loop.pat, &for_loop.expr);
                if let Some(members) = self.field_chain(&for_loop.expr) {
                    let members: Vec<Member> = members.into_iter().cloned().collect();
                    let refs: Vec<&Member> = members.iter().collect();
                    let iterated = (*for_loop.expr).clone();
                    *for_loop.expr = self.read(&refs, Kind::Array { ints: false }, &iterated);
                } else {
                    self.visit_in(Context::Any, &mut for_loop.expr);
                }
                self.within(Context::Any, |pass| pass.visit_block_mut(&mut for_loop.body));
            }
            Expr::Range(range) => {
                for bound in [&mut range.start, &mut range.end].into_iter().flatten() {
                    self.visit_in(Context::Int("usize"), bound);
                }
            }
            Expr::Binary(binary)
                if super::is_compound(&binary.op) && self.field_chain(&binary.left).is_some() =>
            {
                *expr = self.unreadable(
                    &binary.left.clone(),
                    "a field of `self` cannot be assigned here (copy it into a `let mut`)",
                );
            }
            Expr::Binary(binary) => {
                let comparison = matches!(
                    binary.op,
                    BinOp::Eq(_) | BinOp::Ne(_) | BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_)
                );
                let logic = matches!(binary.op, BinOp::And(_) | BinOp::Or(_));
                let context = if logic {
                    Context::Bool
                } else if let Some(ty) = self.int_of(&binary.left).or_else(|| self.int_of(&binary.right)) {
                    Context::Int(ty)
                } else if comparison {
                    Context::Any
                } else {
                    self.context
                };
                let context = match context {
                    Context::Bool if !logic => Context::Any,
                    other => other,
                };
                self.visit_in(context, &mut binary.left);
                self.visit_in(context, &mut binary.right);
            }
            Expr::Assign(assign) if self.field_chain(&assign.left).is_some() => {
                *expr = self.unreadable(
                    &assign.left.clone(),
                    "a field of `self` cannot be assigned here (copy it into a `let mut`)",
                );
            }
            Expr::If(branch) => {
                self.visit_in(Context::Bool, &mut branch.cond);
                self.within(Context::Any, |pass| {
                    pass.visit_block_mut(&mut branch.then_branch);
                    if let Some((_, otherwise)) = &mut branch.else_branch {
                        pass.visit_expr_mut(otherwise);
                    }
                });
            }
            Expr::While(while_loop) => {
                self.visit_in(Context::Bool, &mut while_loop.cond);
                self.within(Context::Any, |pass| pass.visit_block_mut(&mut while_loop.body));
            }
            Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Not(_)) => {
                let context = match self.context {
                    Context::Int(_) => Context::Int("usize"),
                    _ => Context::Bool,
                };
                self.visit_in(context, &mut unary.expr);
            }
            Expr::Paren(_) | Expr::Group(_) | Expr::Unary(_) => syn::visit_mut::visit_expr_mut(self, expr),
            _ => self.within(Context::Any, |pass| syn::visit_mut::visit_expr_mut(pass, expr)),
        }
    }

    fn visit_block_mut(&mut self, block: &mut Block) {
        for k in 0..block.stmts.len() {
            // `let n = self.n;`: what `n` is, from its uses.
            if let syn::Stmt::Local(syn::Local {
                pat: syn::Pat::Ident(binding),
                init: Some(init),
                ..
            }) = &block.stmts[k]
            {
                // `let b = a;` of the variable probed: `b`'s uses tell too.
                if self.probing && self.chain(&init.expr).is_some_and(|m| m.is_empty()) {
                    let copied = self.probe(&binding.ident, &block.stmts[k + 1..]);
                    if matches!(self.probed, None | Some(Kind::Float)) && copied.is_some() {
                        self.probed = copied;
                    }
                }
                if !self.probing && self.field_chain(&init.expr).is_some() {
                    self.alias = self.probe(&binding.ident, &block.stmts[k + 1..]);
                    if let Some(Kind::Int(ty)) = &self.alias {
                        self.ints
                            .push((binding.ident.clone(), static_name(ty.as_deref())));
                    }
                }
            }
            self.visit_stmt_mut(&mut block.stmts[k]);
            self.alias = None;
        }
    }

    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        // `let n: usize = self.n;`
        let context = match &local.pat {
            syn::Pat::Type(typed) if integer_type(&typed.ty).is_some() => {
                Context::Int(static_name(integer_type(&typed.ty).as_deref()))
            }
            syn::Pat::Type(typed) if matches!(&*typed.ty, syn::Type::Path(p) if p.path.is_ident("bool")) => {
                Context::Bool
            }
            _ => Context::Any,
        };
        if let Some(init) = &mut local.init {
            let ident = match &local.pat {
                syn::Pat::Ident(binding) => Some(&binding.ident),
                syn::Pat::Type(typed) => match &*typed.pat {
                    syn::Pat::Ident(binding) => Some(&binding.ident),
                    _ => None,
                },
                _ => None,
            };
            if let Some(ident) = ident {
                if matches!(context, Context::Int(_)) || self.int_of(&init.expr).is_some() {
                    self.ints
                        .push((ident.clone(), self.int_of(&init.expr).unwrap_or("usize")));
                }
            }
            self.visit_in(context, &mut init.expr);
            if let Some((_, diverge)) = &mut init.diverge {
                self.visit_in(Context::Any, diverge);
            }
        }
    }
}

/// The tokens of a read's type, as a parameter of the generated code (`float` is the
/// function's float type).
pub fn type_tokens(kind: &Kind, float: &TokenStream) -> TokenStream {
    match kind {
        Kind::Float | Kind::CastFloat(_) => float.clone(),
        Kind::Int(Some(ty)) => {
            let ty = Ident::new(ty, Span::call_site());
            quote!(#ty)
        }
        Kind::Int(None) => quote!(usize),
        Kind::Bool => quote!(bool),
        Kind::Array { ints: false } => quote!(&[#float]),
        Kind::Array { ints: true } => quote!(&[usize]),
    }
}
