//! Calls of functions that may not be `#[differentiate]`: the macro sees one function at a
//! time and cannot tell an ordinary helper `g` from a differentiated one, whose module `g`
//! the generated code calls (`g::__forward`, `g::__vjp`). So the generated module imports `g`
//! by name (`use super::g;`: the function always, the module `g` where there is one) and,
//! by a glob that such an import shadows, a stand-in module `g`. A hidden function checks
//! each call (`g::__chainrule_check(())`, spanned at the call): every generated module has
//! that function, and the stand-in's carries a bound that fails with chainrule's message:
//!
//! ```text
//! error[E0277]: `g` is not a `#[differentiate]` function, so `f` cannot differentiate through this call
//!   --> src/main.rs:9:5
//!    |
//!  9 |     g(x) * 2.0
//!    |     ^ `g` has no generated gradient
//!    = note: put `#[differentiate]` on `fn g` …, or give it a custom rule …
//! ```
//!
//! The stand-in's `__forward` and `__vjp` are typed as the call uses them, so that nothing
//! else is reported. A differentiated `g` is unaffected: the explicit import brings its
//! module, which shadows the stand-in. A call whose gradient is not needed calls `g`
//! itself, and needs neither.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;

use crate::ir::{Graph, NodeId, Op, Ty};

/// The names of the generated module's own items: a callee of one of these names keeps the
/// plain path (an import of it would clash).
const GENERATED: &[&str] = &[
    "forward",
    "__forward",
    "backward",
    "grad",
    "graph",
    "trace",
    "SOURCE",
    "Cache",
    "Grad",
    "Types",
    "__vjp",
    "__chainrule_check",
    "__chainrule_calls",
    "__chainrule_callees",
];

/// A function called by name: its name, and each argument's type as the stand-in takes it.
struct Callee {
    ident: Ident,
    args: Vec<TokenStream>,
    gradients: Vec<TokenStream>,
    /// The type of the value the call returns.
    output: TokenStream,
}

/// The imports, checks and stand-ins for the calls of `function` whose gradient is needed
/// (`differentiated`), or nothing; `rust_type` writes a value's type.
pub fn fallbacks(
    g: &Graph,
    function: &Ident,
    differentiated: &dyn Fn(NodeId) -> bool,
    rust_type: &dyn Fn(&Ty) -> TokenStream,
) -> TokenStream {
    let mut callees: Vec<Callee> = Vec::new();
    let mut checks = Vec::new();
    let float = match &g.generic {
        Some(t) => quote!(#t),
        None => rust_type(&Ty::Float),
    };
    for id in g.ids() {
        let Op::Call { callee, by_ref, .. } = g.op(id) else {
            continue;
        };
        if !differentiated(id) {
            continue;
        }
        let path = &g.named[*callee];
        let Some(ident) = path.get_ident() else {
            continue;
        };
        let name = ident.unraw().to_string();
        if GENERATED.contains(&name.as_str()) || ident == function {
            continue;
        }
        let span = g.spans[id.index()].unwrap_or_else(|| ident.span());
        let unit = quote_spanned!(span=> ());
        checks.push(quote_spanned!(span=> #ident::__chainrule_check(#unit);));
        if callees.iter().any(|c| c.ident == *ident) {
            continue;
        }
        // Floats as the float type (which a generic stand-in infers from them), the rest
        // as they come.
        let mut args = Vec::new();
        for (k, &arg) in g.args(id).iter().enumerate() {
            args.push(match g.ty(arg) {
                Ty::Float if k >= 64 || by_ref & (1 << k) == 0 => float.clone(),
                _ => {
                    let generic = format_ident!("A{}", k);
                    quote!(#generic)
                }
            });
        }
        let gradients = g.args(id).iter().map(|&a| rust_type(g.ty(a))).collect();
        // The value's type as the call reads it (a vector where the `let` says so).
        let output = g
            .ids()
            .find(|&user| matches!(g.op(user), Op::Project(0)) && g.args(user).first() == Some(&id))
            .map_or_else(|| float.clone(), |value| rust_type(g.ty(value)));
        callees.push(Callee {
            ident: ident.clone(),
            args,
            gradients,
            output,
        });
    }
    if callees.is_empty() {
        return TokenStream::new();
    }
    let imports = callees.iter().map(|callee| {
        let ident = &callee.ident;
        quote_spanned!(ident.span()=> #[allow(unused_imports)] use super::#ident;)
    });
    let float_generic = g.generic.as_ref().map(|t| quote!(#t: ::chainrule::Real));
    let stand_ins = callees.iter().map(|callee| {
        let ident = &callee.ident;
        let name = ident.unraw().to_string();
        let bound = format_ident!("{}_has_a_generated_gradient", name);
        let message = format!(
            "`{name}` is not a `#[differentiate]` function, so `{function}` cannot differentiate through this call"
        );
        let label = format!("`{name}` has no generated gradient");
        let note = match callee.output.to_string() == float.to_string() {
            true => format!(
                "put `#[differentiate]` on `fn {name}` (its body is then differentiated as this one is), \
                 or give it a custom rule: `#[differentiate(backward = {name}_backward)]` on `fn {name}`, \
                 with `fn {name}_backward(<{name}'s parameters>, value: f64, upstream: f64) -> {name}::Grad`"
            ),
            false => format!(
                "put `#[differentiate]` on `fn {name}` (a function returning a tuple or an array is \
                 differentiated too), or make it a helper inlined where it is called: \
                 `#[differentiate] mod m {{ fn {name}(…) -> … {{ … }} fn {function}(…) -> f64 {{ … }} }}`"
            ),
        };
        let generics: Vec<TokenStream> = callee
            .args
            .iter()
            .filter(|a| a.to_string().starts_with('A'))
            .cloned()
            .chain(float_generic.clone())
            .collect();
        let (args, gradients, output) = (&callee.args, &callee.gradients, &callee.output);
        let span = Span::call_site();
        quote_spanned! {span=>
            #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
            pub trait #bound {}
            pub mod #ident {
                pub struct Types;
                impl<F> ::chainrule::__private::Caches<F> for Types {
                    type Cache = ();
                    type Held = ();
                    fn hold(_: ()) {}
                }
                pub fn __chainrule_check<M: super::#bound>(_: M) {}
                pub fn __forward<#(#generics),*>(#(_: #args),*) -> (#output, ()) {
                    loop {}
                }
                pub fn __vjp<C, #float_generic>(_: &C, _: #output) -> (#(#gradients,)*) {
                    loop {}
                }
            }
        }
    });
    quote! {
        #(#imports)*
        #[allow(unused_imports)]
        use self::__chainrule_callees::*;
        /// Each call of a function by name, checked to have a generated gradient.
        #[doc(hidden)]
        fn __chainrule_calls() {
            #(#checks)*
        }
        #[doc(hidden)]
        #[allow(non_camel_case_types, non_snake_case, unreachable_code, clippy::all)]
        mod __chainrule_callees {
            #(#stand_ins)*
        }
    }
}
