//! The last stage: the whole expansion, on proc-macro2 tokens (so that it runs outside the
//! compiler too: in tests, the fuzz target and the benchmarks).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::ext::IdentExt;
use syn::visit_mut::VisitMut;

use crate::front::records::{self, Structs};
use crate::{back, forward, front, reverse};

/// The whole expansion, on proc-macro2 tokens (so that it runs outside the compiler, in
/// tests). Never panics: every problem becomes a `compile_error!` at its tokens, emitted
/// after the user's function unchanged so that one mistake does not cascade.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    // Parsing and lowering recurse once per level of nesting: a 1,000-deep expression
    // needs more than the stack the compiler leaves a macro. Run on a stack of our own (on
    // this thread, so that the compiler's tokens stay valid).
    stacker::grow(STACK_SEGMENT, || expand_on_stack(attr, item))
}

/// The stack the expansion runs on (reserved, and committed only as it is used).
const STACK_SEGMENT: usize = 256 << 20;

fn expand_on_stack(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(function)) => function,
        Ok(syn::Item::Mod(module)) if module.content.is_some() => return expand_module(&attr, module),
        Ok(syn::Item::Impl(block)) => return expand_impl(&attr, block),
        Ok(syn::Item::Type(alias)) => return expand_alias(&attr, &alias),
        Ok(other) => {
            let error = syn::Error::new_spanned(
                item_keyword(&other),
                "#[differentiate] applies to a function (`fn`) over f64 or f32, to an inline module (`mod m { … }`) of them, to an `impl` block of methods, or to a type alias (`type Vector = [f64; 3];`)",
            )
            .to_compile_error();
            return quote!(#item #error);
        }
        Err(error) => {
            let error = syn::Error::new(
                error.span(),
                format!("#[differentiate] applies to a function: {error}"),
            )
            .to_compile_error();
            return quote!(#item #error);
        }
    };
    match differentiate_function(attr, function.clone()) {
        Ok(generated) => quote!(#function #generated),
        Err(error) => {
            let errors = error.to_compile_error();
            quote!(#function #errors)
        }
    }
}

/// The tokens naming an item's kind (`struct`, `const`, …), to point an error at.
fn item_keyword(item: &syn::Item) -> TokenStream {
    match item {
        syn::Item::Const(item) => item.const_token.into_token_stream(),
        syn::Item::Struct(item) => item.struct_token.into_token_stream(),
        syn::Item::Enum(item) => item.enum_token.into_token_stream(),
        syn::Item::Static(item) => item.static_token.into_token_stream(),
        syn::Item::Impl(item) => item.impl_token.into_token_stream(),
        syn::Item::Mod(item) => item.mod_token.into_token_stream(),
        syn::Item::Trait(item) => item.trait_token.into_token_stream(),
        syn::Item::Type(item) => item.type_token.into_token_stream(),
        other => other.into_token_stream(),
    }
}

fn differentiate_function(attr: TokenStream, function: syn::ItemFn) -> syn::Result<TokenStream> {
    differentiate(attr, function, false)
}

/// A function, or a method read as one (`method`).
fn differentiate(attr: TokenStream, function: syn::ItemFn, method: bool) -> syn::Result<TokenStream> {
    let structs = Structs::default();
    // A `self` read as data needs no derive: its struct is not asked for.
    let data_self = data_self(&attr, &function, method);
    let inputs: Vec<&syn::Type> = input_types(&function)
        .into_iter()
        .zip(&function.sig.inputs)
        .filter(|(_, input)| data_self.is_none() || !is_self_param(input))
        .map(|(ty, _)| ty)
        .collect();
    let missing = records::missing(&inputs, generic(&function), &structs);
    if !missing.is_empty() {
        return Ok(ask(&attr, &function, &structs, &missing, method));
    }
    generate(attr, function, &structs, method)
}

fn generate(
    attr: TokenStream,
    function: syn::ItemFn,
    structs: &Structs,
    method: bool,
) -> syn::Result<TokenStream> {
    let data_self = data_self(&attr, &function, method);
    let mut function = front::parse_method(attr, function, structs, data_self.as_ref())?;
    function.method = method;
    // Forward mode reads the graph before the reverse pass adds to it.
    // A vector-valued function always has forward mode: its Jacobian's columns.
    let vector = function.returns.is_vector();
    let tangents = match (function.extras.jvp || vector) && function.custom.is_none() {
        true => forward::forward(&function.graph, function.output).ok(),
        false => None,
    };
    let forward_mode = tangents.is_some();
    // Second derivatives reverse a copy of their own, whose calls' backward passes read the
    // calls' arguments too (the first-order code saves nothing for them).
    let second_order = (function.extras.hessian && !vector && function.custom.is_none()).then(|| {
        let mut graph = function.graph.clone();
        graph.second_order = true;
        let (adjoints, backward_top) = reverse::reverse(&mut graph, function.output);
        (graph, adjoints, backward_top)
    });
    let (adjoints, backward_top) = reverse::reverse(&mut function.graph, function.output);
    let mut generated = back::code::emit(&function, &adjoints, backward_top);
    let jvp = back::code::jvp::items(&function, tangents, function.extras.jvp || vector);
    generated.rest.extend(jvp);
    generated.rest.extend(back::code::jvp::grad_flatten(&function));
    if vector {
        generated
            .rest
            .extend(back::code::jvp::jacobian(&function, forward_mode));
    }
    let mut has_hessian = false;
    if function.extras.hessian && vector {
        let hessian_by_feature = cfg!(feature = "hessian");
        if !hessian_by_feature {
            let error = syn::Error::new_spanned(
                &function.item.sig.output,
                "`hessian` is for a float-valued function: a vector-valued one has a Hessian per output (differentiate `fn g(…) -> f64 { f(…)[i] }`); its `jacobian` is here",
            );
            generated.rest.extend(error.to_compile_error());
        }
    } else if function.extras.hessian {
        let second = match &function.custom {
            Some(custom) => Err(syn::Error::new_spanned(
                custom,
                "a custom rule has no second derivatives: `hessian` needs the function's body",
            )),
            None => second_order
                .as_ref()
                .ok_or(forward::Unsupported(
                    "a function without its second-order graph",
                    None,
                ))
                .and_then(|(graph, adjoints, backward_top)| {
                    forward::over_reverse(graph, function.output, &adjoints.of_param, *backward_top)
                })
                .map_err(|forward::Unsupported(what, span)| {
                    let message = format!("`hessian` does not go through {what}");
                    match span {
                        Some(span) => syn::Error::new(span, message),
                        None => syn::Error::new_spanned(&function.item.sig.ident, message),
                    }
                }),
        };
        match second {
            Ok(second) => {
                generated
                    .rest
                    .extend(back::code::jvp::second_items(&function, second));
                has_hessian = true;
            }
            Err(error) => generated.rest.extend(error.to_compile_error()),
        }
    }
    if cfg!(feature = "argmin") {
        generated
            .rest
            .extend(back::argmin::problem(&function, has_hessian));
    }
    Ok(back::docs::explain(&function, &adjoints, backward_top, generated))
}

/// A method's `self` (the function's `self_`) when it is data: left out of `wrt(…)`. It is
/// then read field by field, and its struct needs no derive (see `front::opaque`).
fn data_self(attr: &TokenStream, function: &syn::ItemFn, method: bool) -> Option<proc_macro2::Ident> {
    if !method || !function.sig.inputs.first().is_some_and(is_self_param) {
        return None;
    }
    let this = format_ident!("self_");
    match front::wrt(attr.clone()) {
        Some(names) if !names.contains(&this) => Some(this),
        _ => None,
    }
}

/// The parameter a method's receiver becomes (`self_: &Params`).
fn is_self_param(input: &syn::FnArg) -> bool {
    matches!(input, syn::FnArg::Typed(typed) if matches!(&*typed.pat, syn::Pat::Ident(p) if p.ident == "self_"))
}

/// A method's attribute arguments with `wrt(self, x)` naming the function's `self_`.
fn method_args(args: TokenStream) -> TokenStream {
    use proc_macro2::TokenTree;
    fn renamed(tokens: TokenStream) -> TokenStream {
        tokens
            .into_iter()
            .map(|token| match token {
                TokenTree::Ident(ident) if ident == "self" => {
                    TokenTree::Ident(proc_macro2::Ident::new("self_", ident.span()))
                }
                other => other,
            })
            .collect()
    }
    let mut after_wrt = false;
    args.into_iter()
        .map(|token| {
            let token = match token {
                TokenTree::Group(group) if after_wrt => {
                    let mut inner = proc_macro2::Group::new(group.delimiter(), renamed(group.stream()));
                    inner.set_span(group.span());
                    TokenTree::Group(inner)
                }
                other => other,
            };
            after_wrt = matches!(&token, TokenTree::Ident(ident) if ident == "wrt");
            token
        })
        .collect()
}

/// The types of a function's parameters.
fn input_types(function: &syn::ItemFn) -> Vec<&syn::Type> {
    function
        .sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(typed) => Some(&*typed.ty),
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// A generic function's type parameter (its float type).
fn generic(function: &syn::ItemFn) -> Option<&proc_macro2::Ident> {
    function.sig.generics.type_params().next().map(|t| &t.ident)
}

/// Asks the derives of the struct types in `missing` for their definitions (the macro sees
/// one item at a time): each derive defines a macro under its struct's name (importing the
/// struct imports it too), which hands the definition to [`resume`] with what was sent.
/// The first is called here, beside the function; [`resume`] calls the next, and expands
/// the function when it has them all.
///
/// A struct without the derive has no such macro: rustc says it cannot find it, and the
/// check beside says why (a glob stand-in cannot shadow a macro from macro-expanded code).
fn ask(
    attr: &TokenStream,
    function: &syn::ItemFn,
    structs: &Structs,
    missing: &[(String, syn::Path)],
    method: bool,
) -> TokenStream {
    let pending = missing.iter().map(|(key, path)| quote!((#key (#path))));
    let known = structs
        .items()
        .into_iter()
        .map(|(key, def)| quote!((#key (#def))));
    let first = &missing[0].1;
    let method = method.then(|| quote!(method));
    let invocation = quote! {
        #first! { @chainrule_differentiate [#(#pending)*] [#(#known)*] [#attr] { #function } #method }
    };
    // Each struct (or alias) must have its macro: a check that the macro's answer makes
    // pass (`resume` implements the trait for the marker), so that without the macro
    // rustc says why, at the type.
    let checks = missing.iter().map(|(key, path)| {
        let (marker, bound) = check_names(&function.sig.ident, key);
        let message = format!("`{key}` is not a struct with `#[derive(chainrule::Differentiable)]` (nor a type alias with `#[differentiate]`), so `#[differentiate]` cannot read it");
        let label = "the derive (or the attribute) tells `#[differentiate]` what this type is";
        let mut note = format!("add `#[derive(Clone, Debug, PartialEq, chainrule::Differentiable)]` to the struct `{key}` (its macro must be reachable here: import it with `use`), put `#[differentiate]` on a type alias, or pass the fields as parameters");
        if method.is_some() {
            note.push_str("; in a method, `self` left out of `wrt(…)` (`#[differentiate(wrt(x))]`) is data, read field by field, and needs no derive");
        }
        let span = path.segments.last().map_or_else(proc_macro2::Span::call_site, |s| s.ident.span());
        let at_type = proc_macro2::Ident::new(&marker.to_string(), span);
        let check = format_ident!("{}_check", marker);
        let require = quote::quote_spanned!(span=> require::<#at_type>());
        quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            struct #marker;
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
            trait #bound {}
            #[allow(dead_code, non_snake_case)]
            #[doc(hidden)]
            fn #check() {
                fn require<T: #bound>() {}
                #require;
            }
        }
    });
    quote! {
        #invocation
        #(#checks)*
    }
}

/// The marker type and trait of the check that `key`'s macro answered for `function`.
fn check_names(function: &proc_macro2::Ident, key: &str) -> (proc_macro2::Ident, proc_macro2::Ident) {
    let key: String = key
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    let function = function.unraw();
    (
        format_ident!("__chainrule_answered_{}_{}", function, key),
        format_ident!("__chainrule_answers_{}_{}", function, key),
    )
}

/// What a derive's macro hands back: its struct's definition, then what `ask` sent
/// (`(def) @chainrule_differentiate [pending] [known] [attr] { item }`, the pending and the
/// known as `("key" (path or definition))`). Calls the next pending derive, or asks for
/// the nested structs' derives, or expands the function.
pub fn resume(input: TokenStream) -> TokenStream {
    stacker::grow(STACK_SEGMENT, || match resume_on_stack(input) {
        Ok(tokens) => tokens,
        Err(error) => error.to_compile_error(),
    })
}

fn resume_on_stack(input: TokenStream) -> syn::Result<TokenStream> {
    let malformed = || {
        syn::Error::new(
            proc_macro2::Span::call_site(),
            "chainrule: malformed internal macro call (a derive's macro is for `#[differentiate]` only)",
        )
    };
    let tokens: Vec<proc_macro2::TokenTree> = input.into_iter().collect();
    let group = |k: usize| match tokens.get(k) {
        Some(proc_macro2::TokenTree::Group(group)) => Some(group.stream()),
        _ => None,
    };
    let marked = matches!(
        tokens.get(1..3),
        Some([proc_macro2::TokenTree::Punct(at), proc_macro2::TokenTree::Ident(marker)])
            if at.as_char() == '@' && marker == "chainrule_differentiate"
    );
    let (Some(def), Some(pending), Some(known), Some(attr), Some(item), true) =
        (group(0), group(3), group(4), group(5), group(6), marked)
    else {
        return Err(malformed());
    };
    let function: syn::ItemFn = syn::parse2(item)?;
    let method = matches!(tokens.get(7), Some(proc_macro2::TokenTree::Ident(ident)) if ident == "method");
    let flag = method.then(|| quote!(method));
    // `(key (tokens))` pairs.
    let pairs = |stream: TokenStream| -> syn::Result<Vec<(String, TokenStream)>> {
        stream
            .into_iter()
            .map(|entry| {
                let proc_macro2::TokenTree::Group(entry) = entry else {
                    return Err(malformed());
                };
                let mut parts = entry.stream().into_iter();
                let (Some(key), Some(proc_macro2::TokenTree::Group(value))) = (parts.next(), parts.next())
                else {
                    return Err(malformed());
                };
                let key: syn::LitStr = syn::parse2(key.into_token_stream())?;
                Ok((key.value(), value.stream()))
            })
            .collect()
    };
    let mut structs = Structs::default();
    let insert = |structs: &mut Structs, key: String, def: TokenStream| -> syn::Result<()> {
        structs.insert_item(key, syn::parse2(def)?)
    };
    for (key, def) in pairs(known)? {
        insert(&mut structs, key, def)?;
    }
    let mut pending = pairs(pending)?;
    if pending.is_empty() {
        return Err(malformed());
    }
    let (key, _) = pending.remove(0);
    insert(&mut structs, key.clone(), def)?;
    // The check beside the function passes: this type's macro answered.
    let (marker, bound) = check_names(&function.sig.ident, &key);
    let answered = quote!(impl #bound for #marker {});
    if let Some((_, next)) = pending.first() {
        let next = next.clone();
        let pending = pending.iter().map(|(key, path)| quote!((#key (#path))));
        let known = structs
            .items()
            .into_iter()
            .map(|(key, def)| quote!((#key (#def))));
        return Ok(quote! {
            #answered
            #next! { @chainrule_differentiate [#(#pending)*] [#(#known)*] [#attr] { #function } #flag }
        });
    }
    let written_out = structs.unaliased(&function);
    let missing = records::missing(&input_types(&written_out), generic(&written_out), &structs);
    if !missing.is_empty() {
        let asked = ask(&attr, &function, &structs, &missing, method);
        return Ok(quote!(#answered #asked));
    }
    let generated =
        generate(attr, written_out, &structs, method).unwrap_or_else(|error| error.to_compile_error());
    Ok(quote!(#answered #generated))
}

/// `#[differentiate] mod m { … }`: every function in it that returns a float is
/// differentiated (with the module's `trace`/`source`, or its own `#[differentiate(…)]`),
/// so that its helpers need no attribute of their own; other items, and functions of
/// other results, stay as they are. Inline modules inside it likewise.
fn expand_module(attr: &TokenStream, mut module: syn::ItemMod) -> TokenStream {
    let mut errors = TokenStream::new();
    if let Some(misplaced) = attr
        .clone()
        .into_iter()
        .find(|t| matches!(t, proc_macro2::TokenTree::Ident(ident) if ident == "wrt" || ident == "backward"))
    {
        errors.extend(
            syn::Error::new_spanned(
                &misplaced,
                format!(
                    "`{misplaced}` is about one function: put `#[differentiate({misplaced} …)]` on that function inside the module"
                ),
            )
            .to_compile_error(),
        );
    }
    let Some((brace, items)) = module.content.take() else {
        return quote!(#module);
    };
    // Helpers returning tuples or arrays, or taking `&mut` arguments: inlined where the
    // module's functions call them.
    let helpers: Vec<syn::ItemFn> = items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Fn(function) if front::helpers::is_inlined(function) => {
                let mut function = function.clone();
                function.attrs.retain(|a| !is_differentiate(a));
                Some(function)
            }
            _ => None,
        })
        .collect();
    let mut expanded = Vec::new();
    for item in items {
        match item {
            syn::Item::Fn(mut function) => {
                let own = function
                    .attrs
                    .iter()
                    .position(is_differentiate)
                    .map(|k| function.attrs.remove(k));
                // A helper is inlined where the module's functions call it; one with an
                // attribute of its own (a vector-valued function, `-> [f64; 2]`) also gets
                // its module.
                if front::helpers::is_inlined(&function) && own.is_none() {
                    expanded.push(quote!(#function));
                    continue;
                }
                let args = match &own {
                    Some(attribute) => match &attribute.meta {
                        syn::Meta::List(list) => list.tokens.clone(),
                        _ => TokenStream::new(),
                    },
                    None => attr.clone(),
                };
                if own.is_none() && !returns_float(&function) {
                    expanded.push(quote!(#function));
                    continue;
                }
                let (inlined, inline_errors) = front::helpers::inline(&function, &helpers);
                if !inline_errors.is_empty() {
                    // What follows from a call left in place would only repeat it.
                    errors.extend(inline_errors.iter().map(syn::Error::to_compile_error));
                    expanded.push(quote!(#function));
                    continue;
                }
                match differentiate_function(args, inlined) {
                    Ok(generated) => expanded.push(quote!(#function #generated)),
                    Err(error) => {
                        expanded.push(quote!(#function));
                        errors.extend(error.to_compile_error());
                    }
                }
            }
            syn::Item::Mod(inner) if inner.content.is_some() => expanded.push(expand_module(attr, inner)),
            syn::Item::Impl(block) => expanded.push(expand_impl(attr, block)),
            syn::Item::Type(alias) => expanded.push(expand_alias(attr, &alias)),
            other => expanded.push(quote!(#other)),
        }
    }
    let syn::ItemMod {
        attrs,
        vis,
        unsafety,
        mod_token,
        ident,
        ..
    } = &module;
    let mut body = TokenStream::new();
    body.extend(expanded);
    body.extend(errors);
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, body);
    group.set_span(brace.span.join());
    quote!(#(#attrs)* #vis #unsafety #mod_token #ident #group)
}

/// `#[differentiate]` or `#[chainrule::differentiate(…)]`.
fn is_differentiate(attribute: &syn::Attribute) -> bool {
    attribute
        .path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "differentiate")
}

/// Whether a function returns `f64`, `f32` or one of its type parameters.
fn returns_float(function: &syn::ItemFn) -> bool {
    let syn::ReturnType::Type(_, ty) = &function.sig.output else {
        return false;
    };
    let syn::Type::Path(path) = &**ty else {
        return false;
    };
    let Some(ident) = path.path.get_ident() else {
        return false;
    };
    ident == "f64" || ident == "f32" || function.sig.generics.type_params().any(|p| p.ident == *ident)
}

/// `#[differentiate] impl Params { fn energy(&self, x: f64) -> f64 { … } }`: each method
/// that returns a float (or has its own `#[differentiate(…)]`) is read as the function
/// `fn params_energy(self_: &Params, x: f64) -> f64` (`self` renamed, `Self` written out,
/// the impl's generics its own), whose module `params_energy` goes beside the block; the
/// block gains `energy_grad(&self, x)`, calling its `grad`. Associated functions returning
/// tuples or arrays, or taking `&mut` arguments (`Self::split(x)`), are inlined where the
/// methods call them (see [`front::helpers`]).
fn expand_impl(attr: &TokenStream, mut block: syn::ItemImpl) -> TokenStream {
    if let Some((_, path, _)) = &block.trait_ {
        let error = syn::Error::new_spanned(
            path,
            "#[differentiate] applies to an inherent `impl` block (`impl Params { … }`): put the methods to differentiate in one",
        );
        let error = error.to_compile_error();
        return quote!(#block #error);
    }
    let self_ty = (*block.self_ty).clone();
    let type_name = match &self_ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    let Some(type_name) = type_name else {
        let error = syn::Error::new_spanned(
            &self_ty,
            "#[differentiate] applies to the `impl` block of a struct",
        )
        .to_compile_error();
        return quote!(#block #error);
    };
    let mut errors = TokenStream::new();
    let mut generated = TokenStream::new();
    let mut conveniences = TokenStream::new();
    // Associated functions returning tuples or arrays, or taking `&mut` arguments
    // (`Self::split(x)`): inlined where the block's methods call them, as in a module.
    // Methods of that kind on `self` (`self.parts(x)`, `&self` or `self`) too: their `self`
    // is the caller's.
    let helpers: Vec<(syn::ItemFn, bool)> = block
        .items
        .iter()
        .filter_map(|item| match item {
            syn::ImplItem::Fn(function) => {
                let receiver = function.sig.receiver();
                if receiver.is_some_and(|r| r.reference.is_some() && r.mutability.is_some()) {
                    return None;
                }
                let mut sig = function.sig.clone();
                sig.inputs = sig
                    .inputs
                    .into_iter()
                    .filter(|input| !matches!(input, syn::FnArg::Receiver(_)))
                    .collect();
                let function = syn::ItemFn {
                    attrs: Vec::new(),
                    vis: syn::Visibility::Inherited,
                    sig,
                    block: Box::new(function.block.clone()),
                };
                front::helpers::is_inlined(&function).then_some((function, receiver.is_some()))
            }
            _ => None,
        })
        .collect();
    let helper_names: Vec<String> = helpers.iter().map(|(h, _)| h.sig.ident.to_string()).collect();
    let helpers: Vec<syn::ItemFn> = helpers
        .into_iter()
        .filter_map(|(mut helper, on_self)| {
            AssociatedCalls(&helper_names).visit_item_fn_mut(&mut helper);
            SelfType(&self_ty).visit_item_fn_mut(&mut helper);
            if on_self {
                helper.block = Box::new(syn::parse2(rename_self(helper.block.to_token_stream())).ok()?);
            }
            Some(helper)
        })
        .collect();
    for item in &mut block.items {
        let syn::ImplItem::Fn(method) = item else { continue };
        let own = method
            .attrs
            .iter()
            .position(is_differentiate)
            .map(|k| method.attrs.remove(k));
        let args = match &own {
            Some(attribute) => match &attribute.meta {
                syn::Meta::List(list) => list.tokens.clone(),
                _ => TokenStream::new(),
            },
            None => attr.clone(),
        };
        let args = method_args(args);
        let mut read = method.clone();
        AssociatedCalls(&helper_names).visit_impl_item_fn_mut(&mut read);
        match method_function(&block.generics, &self_ty, &type_name, &read) {
            Ok(_) if own.is_none() && !returns_float_method(&block.generics, method) => {}
            Ok((function, convenience)) => match inline_helpers(function, &helpers) {
                Err(inline_errors) => errors.extend(inline_errors),
                Ok(function) => match differentiate(args, function, true) {
                    Ok(tokens) => {
                        generated.extend(tokens);
                        conveniences.extend(convenience);
                    }
                    Err(error) => errors.extend(error.to_compile_error()),
                },
            },
            Err(error) => errors.extend(error.to_compile_error()),
        }
    }
    let (impl_generics, _, where_clause) = block.generics.split_for_impl();
    let extra = (!conveniences.is_empty()).then(|| {
        quote! {
            impl #impl_generics #self_ty #where_clause {
                #conveniences
            }
        }
    });
    quote!(#block #extra #generated #errors)
}

/// A method as the function it is differentiated as, and the block's convenience method.
fn method_function(
    generics: &syn::Generics,
    self_ty: &syn::Type,
    type_name: &str,
    method: &syn::ImplItemFn,
) -> syn::Result<(syn::ItemFn, TokenStream)> {
    let name = &method.sig.ident;
    let module = format_ident!("{}_{}", records::snake_case(type_name), name.unraw());
    let this = format_ident!("self_");
    let mut inputs: Vec<syn::FnArg> = Vec::new();
    let mut receiver_tokens = None;
    for input in &method.sig.inputs {
        match input {
            syn::FnArg::Receiver(receiver) => {
                if receiver.colon_token.is_some() {
                    return Err(syn::Error::new_spanned(
                        receiver,
                        "write the receiver as `&self` or `self`",
                    ));
                }
                if let Some((_, Some(lifetime))) = &receiver.reference {
                    return Err(syn::Error::new_spanned(
                        lifetime,
                        "write the receiver as `&self`, without a lifetime",
                    ));
                }
                if receiver.mutability.is_some() && receiver.reference.is_some() {
                    return Err(syn::Error::new_spanned(
                        receiver,
                        "a differentiated method computes a value and changes nothing: take `&self` (or `self`)",
                    ));
                }
                let mutability = &receiver.mutability;
                let ty = match &receiver.reference {
                    Some(_) => quote!(&#self_ty),
                    None => quote!(#self_ty),
                };
                inputs.push(syn::parse_quote!(#mutability #this: #ty));
                receiver_tokens = Some(match &receiver.reference {
                    Some(_) => quote!(&self),
                    None => quote!(self),
                });
            }
            typed => inputs.push(typed.clone()),
        }
    }
    let mut sig = method.sig.clone();
    sig.ident = module.clone();
    sig.inputs = inputs.into_iter().collect();
    // The impl's generics, then the method's.
    let mut merged = generics.clone();
    merged.params.extend(method.sig.generics.params.iter().cloned());
    if let Some(own) = &method.sig.generics.where_clause {
        merged
            .make_where_clause()
            .predicates
            .extend(own.predicates.iter().cloned());
    }
    sig.generics = merged;
    let mut function = syn::ItemFn {
        attrs: method
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .cloned()
            .collect(),
        vis: method.vis.clone(),
        sig,
        block: Box::new(method.block.clone()),
    };
    SelfType(self_ty).visit_item_fn_mut(&mut function);
    let renamed = rename_self(function.block.to_token_stream());
    function.block = Box::new(syn::parse2(renamed)?);
    // `p.energy_grad(x)`: the block's own way to the gradient.
    let convenience = receiver_tokens.map(|receiver| {
        let grad_name = format_ident!("{}_grad", name.unraw());
        let vis = &method.vis;
        let args: Vec<&syn::PatType> = method
            .sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Typed(typed) => Some(typed),
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        let arg_names: Vec<TokenStream> = args
            .iter()
            .map(|a| match &*a.pat {
                syn::Pat::Ident(ident) => ident.ident.to_token_stream(),
                other => other.to_token_stream(),
            })
            .collect();
        let arg_decls = args.iter().map(|a| {
            let (name, ty) = (&a.pat, &a.ty);
            let name = match &**name {
                syn::Pat::Ident(ident) => ident.ident.to_token_stream(),
                other => other.to_token_stream(),
            };
            quote!(#name: #ty)
        });
        let output = match &method.sig.output {
            syn::ReturnType::Type(_, ty) => ty.to_token_stream(),
            syn::ReturnType::Default => quote!(()),
        };
        let type_args: Vec<TokenStream> = function
            .sig
            .generics
            .params
            .iter()
            .filter_map(|p| match p {
                syn::GenericParam::Type(t) => Some(t.ident.to_token_stream()),
                syn::GenericParam::Const(c) => Some(c.ident.to_token_stream()),
                syn::GenericParam::Lifetime(_) => None,
            })
            .collect();
        let grad_args = (!type_args.is_empty()).then(|| quote!(<#(#type_args),*>));
        let own_generics = &method.sig.generics;
        let doc = format!(" The value of [`Self::{name}`] and its gradient ([`{module}::grad`]).");
        let uses = format_ident!("__chainrule_uses_{}", name.unraw());
        quote! {
            #[doc = #doc]
            #vis fn #grad_name #own_generics (#receiver, #(#arg_decls),*) -> (#output, #module::Grad #grad_args) {
                #module::grad(self, #(#arg_names),*)
            }
            #[doc(hidden)]
            #[allow(dead_code)]
            fn #uses() {
                let _ = Self::#name;
            }
        }
    });
    Ok((function, convenience.unwrap_or_default()))
}

/// Whether a method returns `f64`, `f32` or a type parameter of its own or its block.
fn returns_float_method(generics: &syn::Generics, method: &syn::ImplItemFn) -> bool {
    let mut merged = method.sig.generics.clone();
    merged.params.extend(generics.params.iter().cloned());
    let mut sig = method.sig.clone();
    sig.generics = merged;
    returns_float(&syn::ItemFn {
        attrs: Vec::new(),
        vis: syn::Visibility::Inherited,
        sig,
        block: Box::new(method.block.clone()),
    })
}

/// A function with the calls of `helpers` inlined, or the errors of those that cannot be
/// (what follows from a call left in place would only repeat them).
fn inline_helpers(function: syn::ItemFn, helpers: &[syn::ItemFn]) -> Result<syn::ItemFn, TokenStream> {
    if helpers.is_empty() {
        return Ok(function);
    }
    let (inlined, errors) = front::helpers::inline(&function, helpers);
    match errors.is_empty() {
        true => Ok(inlined),
        false => Err(errors.iter().map(syn::Error::to_compile_error).collect()),
    }
}

/// `Self::split(x)` of an inlined associated function of the block, and `self.parts(x)` of
/// an inlined method, as the inliner finds calls: `split(x)`, `parts(x)`.
struct AssociatedCalls<'n>(&'n [String]);

impl syn::visit_mut::VisitMut for AssociatedCalls<'_> {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        // `self.parts(x)`: `parts(x)`, the inliner's form.
        if let syn::Expr::MethodCall(call) = expr {
            let on_self = matches!(&*call.receiver, syn::Expr::Path(p) if p.path.is_ident("self"));
            if on_self && call.turbofish.is_none() && self.0.iter().any(|n| call.method == n) {
                let (method, args) = (&call.method, &call.args);
                *expr = syn::parse_quote!(#method(#args));
            }
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        if let syn::Expr::Path(path) = &mut *call.func {
            let segments = &path.path.segments;
            if path.qself.is_none() && segments.len() == 2 && segments[0].ident == "Self" {
                let name = segments[1].ident.clone();
                if self.0.iter().any(|n| name == n) {
                    path.path = name.into();
                }
            }
        }
        syn::visit_mut::visit_expr_call_mut(self, call);
    }
}

/// `Self` written out as the impl's type (`Self::K` as `Quadratic::<T>::K`).
struct SelfType<'t>(&'t syn::Type);

impl syn::visit_mut::VisitMut for SelfType<'_> {
    fn visit_expr_path_mut(&mut self, expr: &mut syn::ExprPath) {
        let starts_with_self =
            expr.qself.is_none() && expr.path.segments.len() > 1 && expr.path.segments[0].ident == "Self";
        if let (true, syn::Type::Path(ty)) = (starts_with_self, self.0) {
            let mut path = ty.path.clone();
            for segment in &mut path.segments {
                if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    args.colon2_token = Some(Default::default());
                }
            }
            path.segments.extend(expr.path.segments.iter().skip(1).cloned());
            expr.path = path;
            return;
        }
        syn::visit_mut::visit_expr_path_mut(self, expr);
    }

    fn visit_type_mut(&mut self, ty: &mut syn::Type) {
        if let syn::Type::Path(path) = ty {
            if path.qself.is_none() && path.path.is_ident("Self") {
                *ty = self.0.clone();
                return;
            }
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

/// `self` as `self_` (but `self::path`).
fn rename_self(tokens: TokenStream) -> TokenStream {
    let tokens: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tokens.len());
    for (k, token) in tokens.iter().enumerate() {
        match token {
            proc_macro2::TokenTree::Ident(ident) if ident == "self" => {
                let path =
                    matches!(tokens.get(k + 1), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ':');
                match path {
                    true => out.push(token.clone()),
                    false => out.push(proc_macro2::TokenTree::Ident(proc_macro2::Ident::new(
                        "self_",
                        ident.span(),
                    ))),
                }
            }
            proc_macro2::TokenTree::Group(group) => {
                let mut renamed = proc_macro2::Group::new(group.delimiter(), rename_self(group.stream()));
                renamed.set_span(group.span());
                out.push(proc_macro2::TokenTree::Group(renamed));
            }
            other => out.push(other.clone()),
        }
    }
    out.into_iter().collect()
}

/// `#[differentiate] type Vector = [f64; 3];`: the alias, and a macro of its name (as a
/// derive makes for a struct) that hands its definition to the functions that name it,
/// which read it written out.
fn expand_alias(attr: &TokenStream, alias: &syn::ItemType) -> TokenStream {
    if let Some(token) = attr.clone().into_iter().next() {
        let error = syn::Error::new_spanned(token, "a type alias takes `#[differentiate]` without arguments")
            .to_compile_error();
        return quote!(#alias #error);
    }
    let name = &alias.ident;
    let (generics, ty) = (&alias.generics, &alias.ty);
    let answer = answering_macro(name, &quote!(type #name #generics = #ty;));
    quote!(#alias #answer)
}

/// The macro under a struct's (or alias's) name that hands its `definition` to
/// [`resume`] when a `#[differentiate]` function asks (see `ask`): what the derive and the
/// alias attribute generate.
pub fn answering_macro(name: &proc_macro2::Ident, definition: &TokenStream) -> TokenStream {
    let helper = format_ident!("__chainrule_struct_{}", name);
    quote! {
        #[doc(hidden)]
        macro_rules! #helper {
            (@chainrule_differentiate $($rest:tt)*) => {
                ::chainrule::__chainrule_resume! { (#definition) @chainrule_differentiate $($rest)* }
            };
        }
        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use #helper as #name;
    }
}
