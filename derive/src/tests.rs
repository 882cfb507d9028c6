//! Unit tests of the pipeline on `parse_quote!` input.

use super::*;

pub(crate) fn pretty(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(error) => panic!("generated code does not parse: {error}\n{tokens}"),
    }
}

#[test]
fn lecture_simple() {
    let out = expand(
        TokenStream::new(),
        quote! {
            fn f(x: f64, y: f64, z: f64) -> f64 {
                let q = x + y;
                q * z
            }
        },
    );
    println!("{}", pretty(out));
}

#[test]
fn lecture_neuron() {
    let out = expand(
        TokenStream::new(),
        quote! {
            fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
                let dot = w0 * x0 + w1 * x1 + w2;
                1.0 / (1.0 + (-dot).exp())
            }
        },
    );
    println!("{}", pretty(out));
}
