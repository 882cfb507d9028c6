//! The last stage: the whole expansion, on proc-macro2 tokens (so that it runs outside the
//! compiler too: in tests, the fuzz target and the benchmarks).

use proc_macro2::TokenStream;
use quote::quote;

use crate::{back, front, reverse};

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
        Ok(other) => {
            let error = syn::Error::new_spanned(
                item_keyword(&other),
                "#[differentiate] applies to a function (`fn`) over f64 or f32, or to an inline module (`mod m { … }`) of them",
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
    use quote::ToTokens;
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
    let mut function = front::parse(attr, function)?;
    let (adjoints, backward_top) = reverse::reverse(&mut function.graph, function.output);
    let generated = back::code::emit(&function, &adjoints, backward_top);
    Ok(back::docs::explain(&function, &adjoints, backward_top, generated))
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
    let mut expanded = Vec::new();
    for item in items {
        match item {
            syn::Item::Fn(mut function) => {
                let own = function
                    .attrs
                    .iter()
                    .position(is_differentiate)
                    .map(|k| function.attrs.remove(k));
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
                match differentiate_function(args, function.clone()) {
                    Ok(generated) => expanded.push(quote!(#function #generated)),
                    Err(error) => {
                        expanded.push(quote!(#function));
                        errors.extend(error.to_compile_error());
                    }
                }
            }
            syn::Item::Mod(inner) if inner.content.is_some() => expanded.push(expand_module(attr, inner)),
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
