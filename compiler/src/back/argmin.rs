//! `f::Problem` (feature `argmin`): the function as an argmin problem over nalgebra's
//! `DVector`, its data parameters as the struct's fields. A float-valued function is a
//! `CostFunction` and a `Gradient` (and a `Hessian` where it has `f::hessian`); a
//! vector-valued one an `Operator` (its residuals) and a `Jacobian`.
//!
//! Only for what argmin's model is: a function of one parameter vector. A function that
//! differentiates several parameters, a struct, or is generic gets no `Problem` (its
//! documentation says how to wrap it).

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::quote;

use crate::ir::{Argument, Function};

/// How the differentiated parameter is made from argmin's vector: the owned type
/// `FromParam` reads, and whether the function takes it by reference.
struct Vector {
    owned: TokenStream,
    by_reference: bool,
}

/// The items of `f::Problem`, or nothing where the function is not a function of one
/// parameter vector. `hessian`: whether `f::hessian` was generated.
pub fn problem(function: &Function, hessian: bool) -> TokenStream {
    let g = &function.graph;
    if function.method || g.generic.is_some() || !g.consts.is_empty() || !g.lifetimes.is_empty() {
        return TokenStream::new();
    }
    let float = Ident::new(g.float.name(), Span::call_site());
    let mut fields = Vec::new();
    let mut args = Vec::new();
    let mut vector = None;
    let mut borrowed = false;
    for argument in &g.signature {
        let (ident, written, wrt) = match argument {
            Argument::Param(k) => (&g.params[*k].ident, &g.params[*k].written, g.params[*k].wrt),
            // A struct of parameters is several vectors' worth: not argmin's model.
            Argument::Record(record) if record.wrt => return TokenStream::new(),
            Argument::Record(record) => (&record.ident, &record.written, false),
        };
        let Ok(ty) = syn::parse2::<syn::Type>(written.clone()) else {
            return TokenStream::new();
        };
        if wrt {
            if vector.is_some() {
                return TokenStream::new();
            }
            let Some(found) = parameter_vector(&ty, &float) else {
                return TokenStream::new();
            };
            args.push(match found.by_reference {
                true => quote!(&param),
                false => quote!(param),
            });
            vector = Some(found);
            continue;
        }
        let Some((field, by_reference)) = data_field(&ty) else {
            return TokenStream::new();
        };
        borrowed |= by_reference;
        let doc = format!(" The parameter `{ident}`, data.");
        fields.push(quote!(#[doc = #doc] pub #ident: #field));
        args.push(quote!(self.#ident));
    }
    let Some(Vector { owned, .. }) = vector else {
        return TokenStream::new();
    };
    let lifetime = borrowed.then(|| quote!(<'a>));
    let problem = match fields.is_empty() {
        true => quote!(
            pub struct Problem;
        ),
        false => quote!(pub struct Problem #lifetime { #(#fields,)* }),
    };
    let core = quote!(::chainrule::argmin::__core);
    let param_type = quote!(::chainrule::nalgebra::DVector<#float>);
    let result = |ty: TokenStream| quote!(::core::result::Result<#ty, #core::Error>);
    let read = quote!(let param: #owned = ::chainrule::argmin::param(param)?;);
    let name = &function.item.sig.ident;
    let output = result(quote!(#float));
    let vector_result = result(param_type.clone());
    let matrix_result = result(quote!(::chainrule::nalgebra::DMatrix<#float>));
    let impls = match function.returns.is_vector() {
        false => {
            let hessian = hessian.then(|| {
                quote! {
                    impl #lifetime #core::Hessian for Problem #lifetime {
                        type Param = #param_type;
                        type Hessian = ::chainrule::nalgebra::DMatrix<#float>;
                        fn hessian(&self, param: &Self::Param) -> #matrix_result {
                            #read
                            let (_, _, hessian) = hessian(#(#args),*);
                            ::core::result::Result::Ok(::chainrule::matrix::from_hessian(&hessian))
                        }
                    }
                }
            });
            quote! {
                impl #lifetime #core::CostFunction for Problem #lifetime {
                    type Param = #param_type;
                    type Output = #float;
                    fn cost(&self, param: &Self::Param) -> #output {
                        #read
                        ::core::result::Result::Ok(super::#name(#(#args),*))
                    }
                }

                impl #lifetime #core::Gradient for Problem #lifetime {
                    type Param = #param_type;
                    type Gradient = #param_type;
                    fn gradient(&self, param: &Self::Param) -> #vector_result {
                        #read
                        let (_, grad) = grad(#(#args),*);
                        ::core::result::Result::Ok(::chainrule::argmin::vector(&grad))
                    }
                }

                #hessian
            }
        }
        true => quote! {
            impl #lifetime #core::Operator for Problem #lifetime {
                type Param = #param_type;
                type Output = #param_type;
                fn apply(&self, param: &Self::Param) -> #vector_result {
                    #read
                    ::core::result::Result::Ok(::chainrule::argmin::vector(&super::#name(#(#args),*)))
                }
            }

            impl #lifetime #core::Jacobian for Problem #lifetime {
                type Param = #param_type;
                type Jacobian = ::chainrule::nalgebra::DMatrix<#float>;
                fn jacobian(&self, param: &Self::Param) -> #matrix_result {
                    #read
                    let (_, rows) = jacobian(#(#args),*);
                    ::core::result::Result::Ok(::chainrule::matrix::jacobian(&rows[..]))
                }
            }
        },
    };
    let traits = match function.returns.is_vector() {
        false if hessian => "`CostFunction`, `Gradient` and `Hessian`",
        false => "`CostFunction` and `Gradient`",
        true => "`Operator` (the residuals) and `Jacobian`",
    };
    let doc = format!(
        " `{}` as an argmin problem: {traits} over nalgebra's `DVector<{float}>` (the \
         differentiated parameter's floats), the parameters it does not differentiate as \
         fields.",
        name
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy)]
        #problem

        #impls
    }
}

/// The differentiated parameter as argmin's vector: a float, an array, a slice, a `Vec`
/// or an `Array1` of the function's float type, owned or borrowed.
fn parameter_vector(ty: &syn::Type, float: &Ident) -> Option<Vector> {
    let (inner, by_reference) = match ty {
        syn::Type::Reference(reference) if reference.mutability.is_none() => (&*reference.elem, true),
        syn::Type::Reference(_) => return None,
        other => (other, false),
    };
    let is_float = |ty: &syn::Type| matches!(ty, syn::Type::Path(path) if path.qself.is_none() && path.path.is_ident(float));
    let owned = match inner {
        syn::Type::Slice(slice) if by_reference && is_float(&slice.elem) => quote!(::std::vec::Vec<#float>),
        syn::Type::Array(array) if is_float(&array.elem) => quote!(#inner),
        syn::Type::Path(_) if is_float(inner) => quote!(#float),
        syn::Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
                return None;
            };
            let [syn::GenericArgument::Type(element)] = arguments.args.iter().collect::<Vec<_>>()[..] else {
                return None;
            };
            match (last.ident.to_string().as_str(), is_float(element)) {
                ("Vec", true) => quote!(::std::vec::Vec<#float>),
                ("Array1", true) => quote!(#inner),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(Vector { owned, by_reference })
}

/// A data parameter as a field: a shared reference given the struct's lifetime (`&'a
/// [f64]`), or an owned integer, float or `bool` (the struct is `Copy`); whether it
/// borrows. Anything else (a `&mut`, a reference inside, an owned `Vec`) is no field.
fn data_field(ty: &syn::Type) -> Option<(TokenStream, bool)> {
    match ty {
        syn::Type::Reference(reference) if reference.mutability.is_none() && reference.lifetime.is_none() => {
            let elem = &reference.elem;
            let inner = quote!(#elem);
            (!borrows(&inner)).then(|| (quote!(&'a #elem), true))
        }
        syn::Type::Path(path) if path.qself.is_none() => {
            let primitive = [
                "f32", "f64", "bool", "usize", "isize", "u8", "u16", "u32", "u64", "u128", "i8", "i16",
                "i32", "i64", "i128",
            ];
            let ident = path.path.get_ident()?;
            primitive
                .contains(&ident.to_string().as_str())
                .then(|| (quote!(#ty), false))
        }
        _ => None,
    }
}

/// Whether tokens hold a reference or a lifetime.
fn borrows(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|token| match token {
        TokenTree::Punct(punct) => punct.as_char() == '&' || punct.as_char() == '\'',
        TokenTree::Group(group) => borrows(&group.stream()),
        _ => false,
    })
}
