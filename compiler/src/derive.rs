//! `#[derive(chainrule::Differentiable)]`: a struct usable as a parameter of a
//! `#[differentiate]` function, with the gradient arithmetic of an optimizer step.
//!
//! It generates three things:
//! - a macro under the struct's own name (in the macro namespace, so that importing the
//!   struct imports it too) that hands the struct's definition to `#[differentiate]`'s
//!   expansion ([`crate::expand::resume`]): how the attribute, which sees one item, learns
//!   the fields;
//! - `impl chainrule::Differentiable`, field by field (data fields copied, `Default` in a
//!   zero);
//! - the operators: `a + b`, `a - b`, `-a`, `k * a`, `a * k`, `a / k`, `+=`, `-=`, `*=`,
//!   `/=`, on values and on references.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::spanned::Spanned;

use crate::front::records::is_data;

/// The derive's expansion, on proc-macro2 tokens. Never panics: a problem is a
/// `compile_error!` at its tokens.
pub fn derive(input: TokenStream) -> TokenStream {
    match syn::parse2::<syn::DeriveInput>(input).and_then(|input| expand(&input)) {
        Ok(tokens) => tokens,
        Err(error) => error.to_compile_error(),
    }
}

fn expand(input: &syn::DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let fields = match &input.data {
        syn::Data::Struct(data) => match &data.fields {
            syn::Fields::Named(named) => named.named.iter().collect::<Vec<_>>(),
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "`Differentiable` is derived for a struct with named fields (`struct Params { w: [f64; 3], b: f64 }`)",
                ))
            }
        },
        syn::Data::Enum(data) => {
            return Err(syn::Error::new_spanned(
                data.enum_token,
                "`Differentiable` is derived for a struct with named fields: an enum has no gradient of its own shape",
            ))
        }
        syn::Data::Union(data) => {
            return Err(syn::Error::new_spanned(
                data.union_token,
                "`Differentiable` is derived for a struct with named fields, not a union",
            ))
        }
    };
    if let Some(lifetime) = input.generics.lifetimes().next() {
        return Err(syn::Error::new_spanned(
            lifetime,
            "a `Differentiable` struct owns its values: no lifetime parameters (use arrays, `Vec`s or ndarray arrays, not slices)",
        ));
    }
    for field in &fields {
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("chainrule")) {
            let ok = attr.parse_args::<Ident>().is_ok_and(|ident| ident == "data");
            if !ok {
                return Err(syn::Error::new_spanned(
                    attr,
                    "the field attribute is `#[chainrule(data)]`: a field the gradient does not cover (copied, `Default` in a gradient)",
                ));
            }
        }
    }
    let differentiable: Vec<&syn::Field> = fields.iter().copied().filter(|f| !is_data(f)).collect();
    let Some(first) = differentiable.first() else {
        return Err(syn::Error::new_spanned(
            name,
            format!("`{name}` has no field to differentiate (a float, an array of floats, an ndarray array, or a `Differentiable` struct); every field is data"),
        ));
    };
    let definition = definition(input, &fields);
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    // The float type: a generic struct's first type parameter (`Params<T>`), else its first
    // field's (`f64` for `[f64; 3]`, through the impls).
    let float_param = input.generics.type_params().next().map(|t| &t.ident);
    let scalar = match float_param {
        Some(t) => t.to_token_stream(),
        None => {
            let ty = &first.ty;
            quote!(<#ty as ::chainrule::Differentiable>::Scalar)
        }
    };
    // Bounds, for a struct generic over its float type: every differentiable field of that
    // scalar type, data fields `Clone + Default`.
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| p.to_token_stream()).collect())
        .unwrap_or_default();
    if float_param.is_some() {
        for field in &fields {
            let ty = &field.ty;
            predicates.push(match is_data(field) {
                true => quote!(#ty: ::core::clone::Clone + ::core::default::Default),
                false => quote!(#ty: ::chainrule::Differentiable<Scalar = #scalar>),
            });
        }
        predicates.push(quote!(#scalar: ::chainrule::Real));
    }
    let bounds = quote!(where #(#predicates,)*);
    let each = |data: TokenStream, value: &dyn Fn(&Ident) -> TokenStream| -> Vec<TokenStream> {
        fields
            .iter()
            .filter_map(|field| {
                let ident = field.ident.as_ref()?;
                Some(match is_data(field) {
                    true => quote!(#ident: #data),
                    false => {
                        let value = value(ident);
                        quote!(#ident: #value)
                    }
                })
            })
            .collect()
    };
    // Each method's struct literal: a differentiable field's value from the trait's method,
    // a data field `Default` (in a zero) or `self`'s.
    let zero = each(
        quote!(::core::default::Default::default()),
        &|f| quote!(::chainrule::Differentiable::zero_like(&self.#f)),
    );
    let add = each_copied(
        &fields,
        &|f| quote!(::chainrule::Differentiable::plus(&self.#f, &other.#f)),
    );
    let sub = each_copied(
        &fields,
        &|f| quote!(::chainrule::Differentiable::minus(&self.#f, &other.#f)),
    );
    let scale = each_copied(
        &fields,
        &|f| quote!(::chainrule::Differentiable::times(&self.#f, by)),
    );
    let read = each_copied(
        &fields,
        &|f| quote!(::chainrule::Differentiable::read_flat(&self.#f, floats)),
    );
    let floats: Vec<&Ident> = differentiable.iter().filter_map(|f| f.ident.as_ref()).collect();
    let (first_float, rest_floats) = (floats[0], &floats[1..]);
    let this = quote!(#name #type_generics);
    let differentiable_impl = quote! {
        impl #impl_generics ::chainrule::Differentiable for #this #bounds {
            type Scalar = #scalar;

            fn zero_like(&self) -> Self {
                #name { #(#zero,)* }
            }

            fn plus(&self, other: &Self) -> Self {
                #name { #(#add,)* }
            }

            fn minus(&self, other: &Self) -> Self {
                #name { #(#sub,)* }
            }

            fn times(&self, by: Self::Scalar) -> Self {
                #name { #(#scale,)* }
            }

            fn dot_product(&self, other: &Self) -> Self::Scalar {
                ::chainrule::Differentiable::dot_product(&self.#first_float, &other.#first_float)
                    #(+ ::chainrule::Differentiable::dot_product(&self.#rest_floats, &other.#rest_floats))*
            }

            fn write_flat(&self, out: &mut ::std::vec::Vec<Self::Scalar>) {
                #(::chainrule::Differentiable::write_flat(&self.#floats, out);)*
            }

            fn read_flat(&self, floats: &mut dyn ::core::iter::Iterator<Item = Self::Scalar>) -> Self {
                #name { #(#read,)* }
            }
        }
    };
    let operators = operators(input, &this, &bounds);
    let answer = crate::expand::answering_macro(name, &definition);
    Ok(quote! {
        #answer
        #differentiable_impl
        #operators
    })
}

/// `field: value` for each field: a differentiable one's `value`, a data field `self`'s.
fn each_copied(fields: &[&syn::Field], value: &dyn Fn(&Ident) -> TokenStream) -> Vec<TokenStream> {
    fields
        .iter()
        .filter_map(|field| {
            let ident = field.ident.as_ref()?;
            Some(match is_data(field) {
                true => quote!(#ident: ::core::clone::Clone::clone(&self.#ident)),
                false => {
                    let value = value(ident);
                    quote!(#ident: #value)
                }
            })
        })
        .collect()
}

/// The struct as `#[differentiate]` reads it: fields and generics, no other attributes.
fn definition(input: &syn::DeriveInput, fields: &[&syn::Field]) -> TokenStream {
    let (name, generics) = (&input.ident, &input.generics);
    let where_clause = &generics.where_clause;
    let fields = fields.iter().map(|field| {
        let (ident, ty) = (&field.ident, &field.ty);
        let data = crate::front::records::marked_data(field).then(|| quote!(#[chainrule(data)]));
        quote!(#data #ident: #ty)
    });
    quote!(struct #name #generics #where_clause { #(#fields,)* })
}

/// The operators of an optimizer step, through the trait's methods.
fn operators(input: &syn::DeriveInput, this: &TokenStream, bounds: &TokenStream) -> TokenStream {
    let (impl_generics, _, _) = input.generics.split_for_impl();
    let params = &input.generics.params;
    let impl_generics_tail = quote!(#params);
    let scalar = quote!(<#this as ::chainrule::Differentiable>::Scalar);
    let d = quote!(::chainrule::Differentiable);
    let ops = quote!(::core::ops);
    let mut out = quote! {
        impl #impl_generics #ops::Add for #this #bounds {
            type Output = Self;
            fn add(self, other: Self) -> Self { #d::plus(&self, &other) }
        }
        impl<'__a, #impl_generics_tail> #ops::Add<&'__a #this> for &'__a #this #bounds {
            type Output = #this;
            fn add(self, other: Self) -> #this { #d::plus(self, other) }
        }
        impl #impl_generics #ops::Sub for #this #bounds {
            type Output = Self;
            fn sub(self, other: Self) -> Self { #d::minus(&self, &other) }
        }
        impl<'__a, #impl_generics_tail> #ops::Sub<&'__a #this> for &'__a #this #bounds {
            type Output = #this;
            fn sub(self, other: Self) -> #this { #d::minus(self, other) }
        }
        impl #impl_generics #ops::Neg for #this #bounds {
            type Output = Self;
            fn neg(self) -> Self { #d::minus(&#d::zero_like(&self), &self) }
        }
        impl #impl_generics #ops::Mul<#scalar> for #this #bounds {
            type Output = Self;
            fn mul(self, by: #scalar) -> Self { #d::times(&self, by) }
        }
        impl #impl_generics #ops::Div<#scalar> for #this #bounds {
            type Output = Self;
            fn div(self, by: #scalar) -> Self {
                #d::times(&self, <#scalar as ::chainrule::Real>::from_f64(1.0) / by)
            }
        }
        impl #impl_generics #ops::AddAssign for #this #bounds {
            fn add_assign(&mut self, other: Self) { *self = #d::plus(self, &other); }
        }
        impl<'__a, #impl_generics_tail> #ops::AddAssign<&'__a #this> for #this #bounds {
            fn add_assign(&mut self, other: &'__a #this) { *self = #d::plus(self, other); }
        }
        impl #impl_generics #ops::SubAssign for #this #bounds {
            fn sub_assign(&mut self, other: Self) { *self = #d::minus(self, &other); }
        }
        impl<'__a, #impl_generics_tail> #ops::SubAssign<&'__a #this> for #this #bounds {
            fn sub_assign(&mut self, other: &'__a #this) { *self = #d::minus(self, other); }
        }
        impl #impl_generics #ops::MulAssign<#scalar> for #this #bounds {
            fn mul_assign(&mut self, by: #scalar) { *self = #d::times(self, by); }
        }
        impl #impl_generics #ops::DivAssign<#scalar> for #this #bounds {
            fn div_assign(&mut self, by: #scalar) {
                *self = #d::times(self, <#scalar as ::chainrule::Real>::from_f64(1.0) / by);
            }
        }
    };
    // `k * a` for the concrete float types the struct may have (a foreign trait for a
    // foreign type: only with the struct's type written out).
    let type_params: Vec<&syn::TypeParam> = input.generics.type_params().collect();
    let name = &input.ident;
    for float in ["f64", "f32"] {
        let float = format_ident!("{}", float);
        // The impl's generic parameters (the struct's, but its float type), and the type.
        let (generics, ty): (Vec<&syn::GenericParam>, TokenStream) = match type_params.as_slice() {
            [] if mentions_float(input, &float) => (params.iter().collect(), this.clone()),
            [_] => {
                let args = params.iter().map(|p| match p {
                    syn::GenericParam::Type(_) => float.to_token_stream(),
                    syn::GenericParam::Const(c) => c.ident.to_token_stream(),
                    syn::GenericParam::Lifetime(l) => l.lifetime.to_token_stream(),
                });
                let others = params
                    .iter()
                    .filter(|p| !matches!(p, syn::GenericParam::Type(_)))
                    .collect();
                (others, quote!(#name<#(#args),*>))
            }
            _ => continue,
        };
        let bound = quote!(where #ty: ::chainrule::Differentiable<Scalar = #float>);
        out.extend(quote! {
            impl<#(#generics),*> #ops::Mul<#ty> for #float #bound {
                type Output = #ty;
                fn mul(self, value: #ty) -> #ty { #d::times(&value, self) }
            }
            impl<'__a, #(#generics),*> #ops::Mul<&'__a #ty> for #float #bound {
                type Output = #ty;
                fn mul(self, value: &'__a #ty) -> #ty { #d::times(value, self) }
            }
        });
    }
    out
}

/// Whether a struct's fields name the float type (`f64` in `[f64; 3]`).
fn mentions_float(input: &syn::DeriveInput, float: &Ident) -> bool {
    fn mentions(tokens: TokenStream, float: &Ident) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(ident) => ident == *float,
            proc_macro2::TokenTree::Group(group) => mentions(group.stream(), float),
            _ => false,
        })
    }
    match &input.data {
        syn::Data::Struct(data) => data
            .fields
            .iter()
            .filter(|f| !is_data(f))
            .any(|f| mentions(f.ty.to_token_stream(), float)),
        _ => false,
    }
}
