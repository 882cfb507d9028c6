//! Structs as parameters: `p: &Params`, `p: Params`, `self`, for a struct with
//! `#[derive(chainrule::Differentiable)]`.
//!
//! The macro sees one item at a time; the derive is how it learns a struct's fields. The
//! expansion asks each struct's derive for its definition (see `expand`), then the front end
//! takes the struct apart: each field becomes a parameter of its own (`p.w` is the parameter
//! `p_w`, bound from `&p.w` at the start), and the body's field accesses are rewritten to
//! those names on the syntax tree, before anything else reads it:
//!
//! ```text
//! fn loss(p: &Params, x: f64) -> f64 { p.w[0] * x + p.b }
//!   →  parameters p_w = &p.w, p_b = p.b, x;  body  p_w[0] * x + p_b
//! ```
//!
//! The gradient with respect to `p` is a `Params` built from the fields' gradients (data
//! fields `Default`). Nested structs are taken apart the same way (`p.layer.w`).

use std::collections::HashMap;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, Type};

use super::diag::Errors;
use super::names::Names;
use super::{float_type, is_integer_type, tensor};

/// The struct definitions the derives gave, by the path the function names them with
/// ([`key`]).
#[derive(Default, Clone)]
pub struct Structs {
    defs: Vec<(String, syn::ItemStruct)>,
}

impl Structs {
    pub fn insert(&mut self, key: String, def: syn::ItemStruct) {
        self.defs.push((key, def));
    }

    pub fn get(&self, key: &str) -> Option<&syn::ItemStruct> {
        self.defs.iter().find(|(k, _)| k == key).map(|(_, def)| def)
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &syn::ItemStruct)> {
        self.defs.iter().map(|(k, d)| (k, d))
    }
}

/// A struct type's path as text, without generic arguments: `model::Params`.
pub fn key(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let joined = segments.join("::");
    match path.leading_colon {
        Some(_) => format!("::{joined}"),
        None => joined,
    }
}

/// The path of a parameter's type if it names a type the language does not know, which
/// may be a derived struct: `Params`, `&model::Params<f64>`.
pub fn struct_path<'t>(ty: &'t Type, generic: Option<&Ident>) -> Option<&'t syn::Path> {
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => struct_path(&reference.elem, generic),
        Type::Paren(inner) => struct_path(&inner.elem, generic),
        Type::Group(inner) => struct_path(&inner.elem, generic),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            let known = float_type(ty, generic).is_some()
                || is_integer_type(ty)
                || path.path.is_ident("bool")
                || tensor::is_tensor_type(ty)
                || ["Vec", "Option", "Box", "String", "str", "Self"]
                    .contains(&last.ident.to_string().as_str());
            (!known).then_some(&path.path)
        }
        _ => None,
    }
}

/// The path without its last segment's generic arguments (`Params<f64>` → `Params`).
pub fn bare(path: &syn::Path) -> syn::Path {
    let mut bare = path.clone();
    if let Some(last) = bare.segments.last_mut() {
        last.arguments = syn::PathArguments::None;
    }
    bare
}

/// Whether a field is data: an integer, a bool, or marked `#[chainrule(data)]`.
pub fn is_data(field: &syn::Field) -> bool {
    marked_data(field)
        || is_integer_type(&field.ty)
        || matches!(&field.ty, Type::Path(p) if p.path.is_ident("bool"))
}

/// Whether a field is marked `#[chainrule(data)]`.
pub fn marked_data(field: &syn::Field) -> bool {
    field.attrs.iter().any(|attr| {
        attr.path().is_ident("chainrule") && attr.parse_args::<Ident>().is_ok_and(|ident| ident == "data")
    })
}

/// The path of a field's type, from where the function is, if it may be a derived struct:
/// relative to the struct's own path (`model::Params`'s `Layer` is `model::Layer`).
pub fn nested_path(outer: &syn::Path, def: &syn::ItemStruct, field: &syn::Field) -> Option<syn::Path> {
    if is_data(field) {
        return None;
    }
    let path = struct_path(&field.ty, None)?;
    // The struct's own type parameters (`T` in `b: T`) are not structs.
    if def.generics.type_params().any(|t| path.is_ident(&t.ident)) {
        return None;
    }
    let first = path.segments.first()?.ident.to_string();
    let absolute = path.leading_colon.is_some() || ["crate", "self", "super"].contains(&first.as_str());
    let mut nested = bare(path);
    if !absolute && outer.segments.len() > 1 {
        let mut prefixed = bare(outer);
        prefixed.segments.pop();
        prefixed.segments.extend(nested.segments);
        nested = prefixed;
    }
    Some(nested)
}

/// The struct types a function's signature names (and, for those known, their fields'
/// struct types) that `structs` does not know yet, by key, each once.
pub fn missing(inputs: &[&Type], generic: Option<&Ident>, structs: &Structs) -> Vec<(String, syn::Path)> {
    let mut found: Vec<(String, syn::Path)> = Vec::new();
    let add = |path: syn::Path, found: &mut Vec<(String, syn::Path)>| {
        let k = key(&path);
        if structs.get(&k).is_none() && !found.iter().any(|(f, _)| *f == k) {
            found.push((k, path));
        }
    };
    for ty in inputs {
        if let Some(path) = struct_path(ty, generic) {
            add(bare(path), &mut found);
        }
    }
    for (k, def) in structs.iter() {
        let Ok(outer) = syn::parse_str::<syn::Path>(k) else {
            continue;
        };
        for field in &def.fields {
            if let Some(path) = nested_path(&outer, def, field) {
                add(path, &mut found);
            }
        }
    }
    found
}

/// A struct parameter's fields as the lowering creates them: for each leaf, its fresh
/// name, its binding (`&p.w`), its label (`p.w`) and its type.
pub struct Leaf {
    pub ident: Ident,
    pub binding: TokenStream,
    pub label: String,
    pub ty: Type,
    /// The field's type as declared (for messages).
    pub declared: Type,
}

/// A struct parameter's tree with its leaves in order: field names, leaves and nested
/// structs.
pub enum Shape {
    Leaf(Box<Leaf>),
    Data,
    Nested(TokenStream, Vec<(Ident, Shape)>),
}

/// Takes a struct parameter apart: its fields, with the struct's generic parameters
/// replaced by the arguments the parameter's type gives (`Params<f64>`'s `[T; 3]` is
/// `[f64; 3]`).
pub fn shape(
    ident: &Ident,
    path: &syn::Path,
    structs: &Structs,
    generic: Option<&Ident>,
    names: &mut Names,
) -> Vec<(Ident, Shape)> {
    let label = ident.to_string();
    let base = ident.to_token_stream();
    fields(path, &base, &label, structs, generic, names, 0)
}

fn fields(
    path: &syn::Path,
    base: &TokenStream,
    label: &str,
    structs: &Structs,
    generic: Option<&Ident>,
    names: &mut Names,
    depth: usize,
) -> Vec<(Ident, Shape)> {
    let Some(def) = structs.get(&key(&bare(path))) else {
        return Vec::new();
    };
    let substitution = substitution(def, path);
    let mut shapes = Vec::new();
    for field in &def.fields {
        let Some(name) = &field.ident else { continue };
        let mut ty = field.ty.clone();
        Substitute(&substitution).visit_type_mut(&mut ty);
        let access = quote!(#base.#name);
        let field_label = format!("{label}.{name}");
        if marked_data(field) {
            shapes.push((name.clone(), Shape::Data));
            continue;
        }
        let nested =
            nested_path(path, def, field).filter(|nested| structs.get(&key(nested)).is_some() && depth < 16);
        if let Some(nested) = nested {
            let mut with_args = nested.clone();
            if let (Some(last), Some(Type::Path(written))) = (with_args.segments.last_mut(), Some(strip(&ty)))
            {
                if let Some(written_last) = written.path.segments.last() {
                    last.arguments = written_last.arguments.clone();
                }
            }
            let inner = fields(
                &with_args,
                &access,
                &field_label,
                structs,
                generic,
                names,
                depth + 1,
            );
            shapes.push((name.clone(), Shape::Nested(nested.to_token_stream(), inner)));
            continue;
        }
        let scalar = is_integer_type(&ty)
            || float_type(&ty, generic).is_some()
            || matches!(&ty, Type::Path(p) if p.path.is_ident("bool"));
        let (binding, leaf_ty): (TokenStream, Type) = match scalar {
            true => (access.clone(), ty.clone()),
            false => (quote!(&#access), syn::parse_quote!(&#ty)),
        };
        let hint = field_label.replace('.', "_");
        shapes.push((
            name.clone(),
            Shape::Leaf(Box::new(Leaf {
                ident: names.fresh(&hint),
                binding,
                label: field_label,
                ty: leaf_ty,
                declared: field.ty.clone(),
            })),
        ));
    }
    shapes
}

fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Paren(inner) => strip(&inner.elem),
        Type::Group(inner) => strip(&inner.elem),
        other => other,
    }
}

/// The struct's generic parameters (types and consts), by name, and what the written type
/// gives each.
fn substitution(def: &syn::ItemStruct, path: &syn::Path) -> HashMap<String, TokenStream> {
    let args: Vec<TokenStream> = match path.segments.last().map(|s| &s.arguments) {
        Some(syn::PathArguments::AngleBracketed(args)) => args
            .args
            .iter()
            .filter(|a| !matches!(a, syn::GenericArgument::Lifetime(_)))
            .map(|a| a.to_token_stream())
            .collect(),
        _ => Vec::new(),
    };
    def.generics
        .params
        .iter()
        .filter_map(|param| match param {
            syn::GenericParam::Type(t) => Some(t.ident.to_string()),
            syn::GenericParam::Const(c) => Some(c.ident.to_string()),
            syn::GenericParam::Lifetime(_) => None,
        })
        .zip(args)
        .collect()
}

struct Substitute<'s>(&'s HashMap<String, TokenStream>);

impl VisitMut for Substitute<'_> {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::Path(path) = ty {
            if let Some(ident) = path.path.get_ident().filter(|_| path.qself.is_none()) {
                if let Some(replacement) = self.0.get(&ident.to_string()) {
                    if let Ok(replaced) = syn::parse2::<Type>(replacement.clone()) {
                        *ty = replaced;
                        return;
                    }
                }
            }
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Path(path) = expr {
            if let Some(ident) = path.path.get_ident().filter(|_| path.qself.is_none()) {
                if let Some(replacement) = self.0.get(&ident.to_string()) {
                    if let Ok(replaced) = syn::parse2::<Expr>(quote!({ #replacement })) {
                        *expr = replaced;
                        return;
                    }
                }
            }
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

/// The struct parameters' fields, for the body's rewrite: by parameter name, the path of
/// field names to each leaf's name.
#[derive(Default)]
pub struct Fields {
    records: Vec<(Ident, Vec<(Ident, Node)>)>,
}

enum Node {
    Leaf(Ident),
    Data,
    Nested(Vec<(Ident, Node)>),
}

impl Fields {
    pub fn add(&mut self, ident: &Ident, shape: &[(Ident, Shape)]) {
        self.records.push((ident.clone(), nodes(shape)));
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

fn nodes(shape: &[(Ident, Shape)]) -> Vec<(Ident, Node)> {
    shape
        .iter()
        .map(|(name, shape)| {
            let node = match shape {
                Shape::Leaf(leaf) => Node::Leaf(leaf.ident.clone()),
                Shape::Data => Node::Data,
                Shape::Nested(_, inner) => Node::Nested(nodes(inner)),
            };
            (name.clone(), node)
        })
        .collect()
}

/// The body with each struct parameter's field accesses (`p.w`, `p.layer.b`) replaced by
/// the field's parameter, and every other use of a struct parameter an error.
pub fn rewritten(block: &Block, fields: &Fields, errors: &mut Errors) -> Block {
    let mut block = block.clone();
    if fields.is_empty() {
        return block;
    }
    let mut rewrite = Rewrite {
        fields,
        errors,
        shadowed: Vec::new(),
    };
    rewrite.visit_block_mut(&mut block);
    block
}

struct Rewrite<'a, 'e> {
    fields: &'a Fields,
    errors: &'e mut Errors,
    /// Struct parameters a variable's name repeats (reported once, at the variable).
    shadowed: Vec<Ident>,
}

impl Rewrite<'_, '_> {
    fn record(&self, ident: &Ident) -> Option<&[(Ident, Node)]> {
        self.fields
            .records
            .iter()
            .find(|(name, _)| name == ident)
            .map(|(_, nodes)| nodes.as_slice())
    }

    /// `p.a.b` as the record `p` and the members `[a, b]`.
    fn chain(expr: &Expr) -> Option<(&Ident, Vec<&Ident>)> {
        match expr {
            Expr::Field(field) => {
                let syn::Member::Named(member) = &field.member else {
                    return None;
                };
                let (root, mut members) = Self::chain(&field.base)?;
                members.push(member);
                Some((root, members))
            }
            Expr::Path(path) if path.qself.is_none() => Some((path.path.get_ident()?, Vec::new())),
            Expr::Paren(inner) => Self::chain(&inner.expr),
            _ => None,
        }
    }
}

impl VisitMut for Rewrite<'_, '_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Some((root, members)) = Self::chain(expr) {
            if let Some(nodes) = self.record(root).filter(|_| !self.shadowed.contains(root)) {
                let mut nodes = nodes;
                let mut walked = root.to_string();
                for (k, member) in members.iter().enumerate() {
                    let Some((_, node)) = nodes.iter().find(|(name, _)| name == *member) else {
                        // rustc says so, at the user's function, with the nearest name.
                        *expr = syn::parse_quote!(0.0);
                        return;
                    };
                    walked = format!("{walked}.{member}");
                    match node {
                        Node::Leaf(leaf) if k + 1 == members.len() => {
                            let mut leaf = leaf.clone();
                            leaf.set_span(
                                expr.to_token_stream()
                                    .into_iter()
                                    .last()
                                    .map_or(Span::call_site(), |t| t.span()),
                            );
                            *expr = syn::parse_quote!(#leaf);
                            return;
                        }
                        Node::Leaf(_) => {
                            self.errors.at(&*expr, format_args!("`{walked}` is not a struct"));
                            return;
                        }
                        Node::Data => {
                            self.errors.at(
                                &*expr,
                                format_args!("`{walked}` is marked `#[chainrule(data)]`: the function cannot read it (only integer, bool and differentiable fields are values it computes with)"),
                            );
                            return;
                        }
                        Node::Nested(inner) => nodes = inner,
                    }
                }
                self.errors.at(
                    &*expr,
                    format_args!(
                        "`{walked}` is a struct: read its fields (`{walked}.{}`); a whole struct cannot be passed on or copied yet",
                        nodes.first().map_or("field".to_string(), |(name, _)| name.to_string())
                    ),
                );
                return;
            }
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_pat_ident_mut(&mut self, pat: &mut syn::PatIdent) {
        if self.record(&pat.ident).is_some() && !self.shadowed.contains(&pat.ident) {
            self.shadowed.push(pat.ident.clone());
            self.errors.at(
                &pat.ident,
                format_args!(
                    "`{}` names the struct parameter already: give this variable another name",
                    pat.ident
                ),
            );
        }
        syn::visit_mut::visit_pat_ident_mut(self, pat);
    }
}
