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
        Ok(other) => {
            let error = syn::Error::new_spanned(
                item_keyword(&other),
                "#[differentiate] applies to a function (`fn`) over f64 or f32",
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
