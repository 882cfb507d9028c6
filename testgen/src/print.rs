//! Printing a program as Rust: the tokens `#[differentiate]` reads.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, ToTokens};

use crate::*;

pub(crate) fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

thread_local! {
    /// Whether the program being printed is generic (`fn f<T: chainrule::Real>`): floats
    /// are `T`, constants `T::from_f64(c)`.
    static GENERIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Whether the next `let` is printed with its value assigned later, in both branches
    /// of an `if` (`let v; if 1 > 0 { v = e; } else { v = e; }`): once per program.
    static DEFERRED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Whether loops over an array's elements are written as iterator chains
    /// (`for (j, e) in (0..w.len()).zip(w.iter().copied()).rev()`).
    static CHAINED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Whether `let`s are written as tuples where that means the same.
    static TUPLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pub(crate) fn generic() -> bool {
    GENERIC.with(|g| g.get())
}

/// `f64`, or `T` in a generic function.
pub(crate) fn float_type() -> TokenStream {
    if generic() {
        quote!(T)
    } else {
        quote!(f64)
    }
}

pub(crate) fn float_literal(value: f64) -> TokenStream {
    let literal = Literal::f64_unsuffixed(value);
    match generic() {
        true if value == 1.0 => quote!(T::one()),
        true if value == 0.0 => quote!(T::zero()),
        true => quote!(T::from_f64(#literal)),
        false => quote!(#literal),
    }
}

pub(crate) fn kind_tokens(kind: &Kind) -> TokenStream {
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
    pub(crate) fn tokens(&self) -> TokenStream {
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
            Int::FromFloat(name, hi) => {
                let (top, hi) = (Literal::i64_unsuffixed(*hi), Literal::f64_unsuffixed(*hi as f64));
                let name = ident(name);
                // (Clamped into the range it is in already: integer `clamp`.)
                quote!((#name.abs().min(#hi) as u32 as usize).clamp(0, #top))
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

    /// Its range, if no part of it can be negative (the program computes in `usize`).
    pub(crate) fn bounds(&self, vars: &dyn Fn(&str) -> Option<(i64, i64)>) -> Option<(i64, i64)> {
        let (lo, hi) = match self {
            Int::Lit(n) | Int::Len(_, n) => (*n, *n),
            Int::Var(name) => vars(name)?,
            Int::Cast(int) => int.bounds(vars)?,
            Int::FromFloat(_, hi) => (0, *hi),
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
    pub(crate) fn tokens(&self) -> TokenStream {
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
}

impl Expr {
    /// Whether rustc knows it is an `f64` without looking further (a method can be called
    /// on it; a `let` of it needs no annotation).
    pub(crate) fn typed(&self) -> bool {
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
            Expr::Chain(_) => true,
            Expr::Closure { body, .. } => body.typed(),
        }
    }

    /// As an operand: in parentheses unless it is one token tree or a call.
    pub(crate) fn operand(&self) -> TokenStream {
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
            Expr::Chain(chain) if chain.end != ChainEnd::Count => tokens,
            _ => quote!((#tokens)),
        }
    }

    pub(crate) fn tokens(&self) -> TokenStream {
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
            Expr::Chain(chain) => chain.tokens(),
            Expr::Closure {
                name,
                params,
                body,
                calls,
                op,
            } => {
                let name = ident(name);
                let float = float_type();
                let params = params.iter().map(|p| ident(p));
                let body = body.tokens();
                let op = match op {
                    '+' => quote!(+),
                    '-' => quote!(-),
                    _ => quote!(*),
                };
                let mut value = TokenStream::new();
                for (k, args) in calls.iter().enumerate() {
                    let args = args.iter().map(Expr::tokens);
                    if k > 0 {
                        value.extend(op.clone());
                    }
                    value.extend(quote!(#name(#(#args),*)));
                }
                quote!({ let #name = |#(#params: #float),*| #body; #value })
            }
        }
    }
}

impl Chain {
    fn tokens(&self) -> TokenStream {
        let float = float_type();
        let source = ident(&self.source);
        let mut chain = if self.windows {
            quote!(#source.windows(2))
        } else if self.copied {
            quote!(#source.iter().copied())
        } else {
            quote!(#source.iter())
        };
        let element = ident(self.element);
        let mut pattern = if self.windows || self.copied {
            quote!(#element)
        } else {
            quote!(&#element)
        };
        if let Some(other) = &self.zip {
            let (other, name) = (ident(other), ident(self.other));
            chain = if self.copied {
                quote!(#chain.zip(#other.iter().copied()))
            } else {
                quote!(#chain.zip(#other.iter()))
            };
            pattern = if self.copied {
                quote!((#pattern, #name))
            } else {
                quote!((#pattern, &#name))
            };
        }
        if self.rev {
            chain = quote!(#chain.rev());
        }
        if let Some(index) = self.enumerate {
            let index = ident(index);
            chain = quote!(#chain.enumerate());
            pattern = quote!((#index, #pattern));
        }
        if self.skip > 0 {
            let skip = Literal::usize_unsuffixed(self.skip);
            chain = quote!(#chain.skip(#skip));
        }
        let map = self.map.tokens();
        chain = quote!(#chain.map(|#pattern| #map));
        if let Some((op, value)) = self.filter {
            let value = float_literal(value);
            let op: TokenStream = op.parse().expect("an operator");
            chain = quote!(#chain.filter(|&v| v #op #value));
        }
        match self.end {
            ChainEnd::Sum => quote!(#chain.sum::<#float>()),
            ChainEnd::Max => {
                let init = Expr::Neg(Box::new(Expr::Lit(10.0))).tokens();
                quote!(#chain.fold(#init, #float::max))
            }
            ChainEnd::Min => quote!(#chain.reduce(#float::min).unwrap()),
            ChainEnd::Count if generic() => quote!(T::from_f64(#chain.count() as f64)),
            ChainEnd::Count => quote!((#chain.count() as f64)),
        }
    }
}

impl Block {
    pub(crate) fn tokens(&self) -> TokenStream {
        let stmts = self.stmts.iter().map(Stmt::tokens);
        let value = self.value.tokens();
        quote!(#(#stmts)* #value)
    }
}

pub(crate) fn block_tokens(stmts: &[Stmt]) -> TokenStream {
    if !TUPLED.with(|t| t.get()) {
        let stmts = stmts.iter().map(Stmt::tokens);
        return quote!(#(#stmts)*);
    }
    // Two `let`s in a row as one tuple `let`, where that means the same (the second value
    // does not read the first name); a `let` of `e.sin()` as `let (v, _) = e.sin_cos();`.
    let mut out = TokenStream::new();
    let mut k = 0;
    while k < stmts.len() {
        if let (Some(first), Some(second)) = (
            stmts.get(k).and_then(Stmt::tuple_part),
            stmts.get(k + 1).and_then(Stmt::tuple_part),
        ) {
            let reads_first = second
                .3
                .to_string()
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| first.0 == w);
            if !reads_first && first.0 != second.0 {
                let ((a, ma, ta, va), (b, mb, tb, vb)) = (first, second);
                // One pair in three from the branches of an `if`, each ending with the same
                // tuple (the same meaning, through a branch assigning both names).
                let value = match (va.to_string().len() + vb.to_string().len()) % 3 {
                    0 => quote!(if 0.5 < 1.0 { (#va, #vb) } else { ({ #va }, #vb) }),
                    _ => quote!((#va, #vb)),
                };
                out.extend(quote!(let (#ma #a, #mb #b): (#ta, #tb) = #value;));
                k += 2;
                continue;
            }
        }
        if let Stmt::Let {
            name,
            mutable,
            annotation,
            value: Expr::Call(Form::Method, "sin", args),
        } = &stmts[k]
        {
            let (name, mutability) = (ident(name), mutable.then(|| quote!(mut)));
            let ty = annotation.as_ref().map(kind_tokens).unwrap_or_else(float_type);
            let receiver = args[0].operand();
            let float = float_type();
            out.extend(quote!(let (#mutability #name, _): (#ty, #float) = #receiver.sin_cos();));
            k += 1;
            continue;
        }
        out.extend(stmts[k].tokens());
        k += 1;
    }
    out
}

impl Stmt {
    /// A `let` as the part of a tuple `let`: its name, `mut`, type (`_` if none is
    /// written) and value.
    fn tuple_part(&self) -> Option<(Ident, Option<TokenStream>, TokenStream, TokenStream)> {
        match self {
            Stmt::Let {
                name,
                mutable,
                annotation,
                value,
            } => {
                let ty = annotation.as_ref().map(kind_tokens).unwrap_or_else(|| quote!(_));
                Some((ident(name), mutable.then(|| quote!(mut)), ty, value.tokens()))
            }
            _ => None,
        }
    }

    pub(crate) fn tokens(&self) -> TokenStream {
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
                // Only where Rust accepts it as it is: a type written, and a value that does
                // not read a variable of the same name (which `let v;` would shadow).
                let deferrable = annotation.is_some()
                    && !value
                        .to_string()
                        .split(|c: char| !c.is_alphanumeric() && c != '_')
                        .any(|word| name == word);
                if deferrable && DEFERRED.with(|d| d.replace(false)) {
                    return quote! {
                        let #mutability #name #annotation;
                        if 1 > 0 { #name = #value; } else { #name = #value; }
                    };
                }
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
                        if CHAINED.with(|c| c.get()) {
                            // The same loops, as iterator chains.
                            return match (by_value, enumerate) {
                                // By value: a copy, which the body may assign.
                                (true, _) => quote!(for #element in #array.into_iter() { #body }),
                                (false, false) => {
                                    quote!(for #element in #array.iter().copied() #rev { #body })
                                }
                                (false, true) => quote! {
                                    for (#index, #element) in (0..#array.len()).zip(#array.iter().copied()) #rev { #body }
                                },
                            };
                        }
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
            Stmt::Jump { cond, brk } => {
                let cond = cond.tokens();
                if *brk {
                    quote!(if #cond { break; })
                } else {
                    quote!(if #cond { continue; })
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
        // One program in eleven initializes its first `let` in the branches of an `if`.
        DEFERRED.with(|d| d.set(self.seed % 11 == 5));
        // One program in three writes its loops over elements as iterator chains.
        CHAINED.with(|c| c.set(self.seed % 3 == 1));
        // One program in six writes pairs of `let`s as tuple `let`s.
        TUPLED.with(|t| t.set(self.seed % 6 == 4));
        let float = float_type();
        // One program in five names the lifetime of its references (`&'a [f64]`), decided by
        // the seed alone so that the rest of the program is the same either way.
        let references = self.params.iter().any(|p| p.slice.is_some() || p.by_ref);
        let lifetime = (self.seed % 5 == 0 && references).then(|| quote!('a));
        // One program in thirteen takes its first float parameter `mut` and assigns it
        // (`x = x * 1.0;`, the same value), decided by the seed alone.
        let mutable = (self.seed % 13 == 7)
            .then(|| {
                self.params
                    .iter()
                    .position(|p| matches!(p.kind, Kind::Float) && p.slice.is_none() && !p.by_ref)
            })
            .flatten();
        let params: Vec<TokenStream> = self
            .params
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let name = ident(&p.name);
                let ty = kind_tokens(&p.kind);
                if mutable == Some(k) {
                    quote!(mut #name: #ty)
                } else if p.slice == Some("slice") {
                    quote!(#name: & #lifetime [#float])
                } else if p.slice == Some("vec") {
                    quote!(#name: & #lifetime Vec<#float>)
                } else if p.by_ref {
                    quote!(#name: & #lifetime #ty)
                } else {
                    quote!(#name: #ty)
                }
            })
            .collect();
        let body = block_tokens(&self.body);
        let body = match mutable {
            Some(k) => {
                let (name, one) = (ident(&self.params[k].name), float_literal(1.0));
                quote!(#name = #name * #one; #body)
            }
            None => body,
        };
        let value = self.value.tokens();
        // One program in seven returns from a guard first (the same value either way, so
        // that the generator's own evaluation holds), decided by the seed alone.
        let guard = (self.seed % 7 == 3).then(|| {
            let threshold = float_literal(0.25);
            quote!(if (#value) > #threshold { return #value; })
        });
        // One program in nine keeps its value in a vector grown by `push` and reads it back
        // (the same value), decided by the seed alone.
        let value = match self.seed % 9 == 4 {
            true => {
                let two = float_literal(2.0);
                quote! {{
                    let trail_value = #value;
                    let mut trail = Vec::new();
                    trail.push(trail_value);
                    trail.push(trail_value * #two);
                    trail[trail.len() - 2]
                }}
            }
            false => value,
        };
        let value = if self.explicit_return {
            quote!(#guard return #value;)
        } else {
            quote!(#guard #value)
        };
        let generics = match (&lifetime, self.generic) {
            (Some(a), true) => Some(quote!(<#a, T: chainrule::Real>)),
            (None, true) => Some(quote!(<T: chainrule::Real>)),
            (Some(a), false) => Some(quote!(<#a>)),
            (None, false) => None,
        };
        GENERIC.with(|g| g.set(outer));
        DEFERRED.with(|d| d.set(false));
        CHAINED.with(|c| c.set(false));
        TUPLED.with(|t| t.set(false));
        quote! {
            fn f #generics (#(#params),*) -> #float {
                #body
                #value
            }
        }
    }

    /// One program in eight (without `wrt`, and with a parameter by value first) takes
    /// its leading parameters by value (floats, integers, fixed arrays) as the fields of a
    /// struct: `struct Params { a: f64, w: [f64; 3] }` and `fn f(params: &Params, …)` (or
    /// `params: Params`), whose body starts by reading them (`let a = params.a;`), so that it means
    /// the same. The struct's definition (without attributes), the function, and how many
    /// parameters went into the struct, whose fields are theirs in order.
    pub fn bundled(&self) -> Option<Bundle> {
        if self.seed % 8 != 6 || self.wrt.is_some() {
            return None;
        }
        let count = self
            .params
            .iter()
            .take_while(|p| p.slice.is_none() && !p.by_ref)
            .count();
        if count == 0 {
            return None;
        }
        let mut function: syn::ItemFn = syn::parse2(self.tokens()).ok()?;
        let taken: Vec<syn::FnArg> = function.sig.inputs.iter().take(count).cloned().collect();
        let rest: Vec<syn::FnArg> = function.sig.inputs.iter().skip(count).cloned().collect();
        let mut fields = Vec::new();
        let mut reads = Vec::new();
        for arg in &taken {
            let syn::FnArg::Typed(typed) = arg else {
                return None;
            };
            let syn::Pat::Ident(binding) = &*typed.pat else {
                return None;
            };
            let (name, ty, mutability) = (&binding.ident, &typed.ty, &binding.mutability);
            fields.push(quote!(pub #name: #ty));
            reads.push(quote!(let #mutability #name = params.#name;));
        }
        let by_value = self.seed % 16 == 14;
        let generic = self.generic.then(|| quote!(<T>));
        let ty = match by_value {
            true => quote!(Params #generic),
            false => quote!(&Params #generic),
        };
        let mut inputs: Vec<syn::FnArg> = vec![syn::parse_quote!(params: #ty)];
        inputs.extend(rest);
        function.sig.inputs = inputs.into_iter().collect();
        let stmts = std::mem::take(&mut function.block.stmts);
        let reads: syn::Block = syn::parse_quote!({ #(#reads)* });
        function.block.stmts = reads.stmts.into_iter().chain(stmts).collect();
        Some(Bundle {
            definition: quote!(pub struct Params #generic { #(#fields,)* }),
            function: quote!(#function),
            count,
            by_value,
        })
    }

    /// One bundled program in two (those by value) is a method of its struct, which has no
    /// derive: `impl Params { fn f(&self, …) }` (or `self`), differentiated with respect to
    /// the other parameters, so that `self` is data read field by field (the bundle's reads,
    /// of `self`). Only where those parameters have a gradient and the fields are what data
    /// reads are (no two-dimensional or assigned arrays).
    pub fn data_self(&self) -> Option<DataSelf> {
        let bundle = self.bundled()?;
        if self.seed % 16 != 14 {
            return None;
        }
        let params = self.params();
        let original: syn::ItemFn = syn::parse2(self.tokens()).ok()?;
        for (param, input) in params.iter().zip(&original.sig.inputs).take(bundle.count) {
            let mutable = matches!(input, syn::FnArg::Typed(t) if matches!(&*t.pat, syn::Pat::Ident(b) if b.mutability.is_some()));
            if matches!(param.kind, Kind::Array(dims) if dims.len() > 1 || mutable) {
                return None;
            }
        }
        let wrt: Vec<Ident> = params[bundle.count..]
            .iter()
            .filter(|p| p.wrt)
            .map(|p| Ident::new(p.name, Span::call_site()))
            .collect();
        if wrt.is_empty() {
            return None;
        }
        let by_value = data_self_by_value(self.seed);
        let mut function: syn::ItemFn = syn::parse2(bundle.function.clone()).ok()?;
        // The macro's reading: `self_: &Params`, the reads of `self_`.
        let mut read = function.clone();
        let ty = match self.generic {
            true => quote!(Params<T>),
            false => quote!(Params),
        };
        let first: syn::FnArg = match by_value {
            true => syn::parse_quote!(self_: #ty),
            false => syn::parse_quote!(self_: &#ty),
        };
        let rest: Vec<syn::FnArg> = read.sig.inputs.iter().skip(1).cloned().collect();
        read.sig.inputs = std::iter::once(first).chain(rest.clone()).collect();
        read.block = syn::parse2(renamed(read.block.to_token_stream(), "self_")).ok()?;
        let receiver: syn::FnArg = match by_value {
            true => syn::parse_quote!(self),
            false => syn::parse_quote!(&self),
        };
        function.sig.inputs = std::iter::once(receiver).chain(rest).collect();
        function.block = syn::parse2(renamed(function.block.to_token_stream(), "self")).ok()?;
        function.vis = syn::parse_quote!(pub);
        // The float type parameter goes to the block; a lifetime stays the method's.
        let mut generics = syn::Generics::default();
        for param in std::mem::take(&mut function.sig.generics.params) {
            match param {
                syn::GenericParam::Type(_) => generics.params.push(param),
                other => function.sig.generics.params.push(other),
            }
        }
        let (impl_generics, _, _) = generics.split_for_impl();
        let attr = quote!(wrt(#(#wrt),*));
        Some(DataSelf {
            method: quote! {
                #[differentiate(#attr)]
                impl #impl_generics #ty {
                    #function
                }
            },
            function: quote!(#read),
            attr,
        })
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
}

/// Whether a data-`self` method ([`Program::data_self`]) takes `self` by value (else
/// `&self`).
pub fn data_self_by_value(seed: u64) -> bool {
    (seed / 16) % 2 == 1
}

/// `params.a` → `self.a`: the bundle's reads, of another name.
fn renamed(tokens: TokenStream, to: &str) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            proc_macro2::TokenTree::Ident(ident) if ident == "params" => {
                proc_macro2::TokenTree::Ident(Ident::new(to, ident.span()))
            }
            proc_macro2::TokenTree::Group(group) => {
                let mut inner = proc_macro2::Group::new(group.delimiter(), renamed(group.stream(), to));
                inner.set_span(group.span());
                proc_macro2::TokenTree::Group(inner)
            }
            other => other,
        })
        .collect()
}
