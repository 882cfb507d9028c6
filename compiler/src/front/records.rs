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
use crate::ir::Elements;

/// The struct definitions the derives gave, by the path the function names them with
/// ([`key`]).
#[derive(Default, Clone)]
pub struct Structs {
    defs: Vec<(String, syn::ItemStruct)>,
    /// Type aliases with `#[differentiate]` (`type Vector = [f64; 3];`), by key.
    aliases: Vec<(String, syn::ItemType)>,
}

impl Structs {
    pub fn insert(&mut self, key: String, def: syn::ItemStruct) {
        self.defs.push((key, def));
    }

    /// A struct's definition or a type alias's, as its macro handed it.
    pub fn insert_item(&mut self, key: String, item: syn::Item) -> syn::Result<()> {
        match item {
            syn::Item::Struct(def) => self.defs.push((key, def)),
            syn::Item::Type(alias) => self.aliases.push((key, alias)),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "chainrule: a derive's macro hands over a struct or a type alias",
                ))
            }
        }
        Ok(())
    }

    /// Whether a struct or an alias of this key is known.
    pub fn knows(&self, key: &str) -> bool {
        self.get(key).is_some() || self.alias(key).is_some()
    }

    pub fn alias(&self, key: &str) -> Option<&syn::ItemType> {
        self.aliases
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, alias)| alias)
    }

    /// Every definition, by key: structs, then aliases.
    pub fn items(&self) -> Vec<(&String, TokenStream)> {
        let structs = self.defs.iter().map(|(k, d)| (k, d.to_token_stream()));
        let aliases = self.aliases.iter().map(|(k, a)| (k, a.to_token_stream()));
        structs.chain(aliases).collect()
    }

    /// The function with every known alias written out (`v: Vector` as `v: [f64; 3]`).
    pub fn unaliased(&self, function: &syn::ItemFn) -> syn::ItemFn {
        let mut function = function.clone();
        if !self.aliases.is_empty() {
            Unalias(self, 0).visit_item_fn_mut(&mut function);
        }
        function
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

/// The element type's path of an array, slice or `&Vec` of structs the language does not
/// know, and how many there are: `&[Sample]`, `[Layer; 3]`.
pub fn element_path<'t>(ty: &'t Type, generic: Option<&Ident>) -> Option<(&'t syn::Path, Elements)> {
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => match &*reference.elem {
            Type::Slice(slice) => Some((struct_path(&slice.elem, generic)?, Elements::Runtime)),
            Type::Path(path) if path.qself.is_none() => {
                let last = path.path.segments.last()?;
                let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                    return None;
                };
                match (last.ident == "Vec", args.args.first()) {
                    (true, Some(syn::GenericArgument::Type(element))) => {
                        Some((struct_path(element, generic)?, Elements::Runtime))
                    }
                    _ => None,
                }
            }
            other => element_path(other, generic),
        },
        Type::Array(array) => {
            let len = &array.len;
            Some((struct_path(&array.elem, generic)?, Elements::Fixed(quote!(#len))))
        }
        Type::Paren(inner) => element_path(&inner.elem, generic),
        Type::Group(inner) => element_path(&inner.elem, generic),
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
        if !structs.knows(&k) && !found.iter().any(|(f, _)| *f == k) {
            found.push((k, path));
        }
    };
    for ty in inputs {
        if let Some(path) = struct_path(ty, generic).or_else(|| element_path(ty, generic).map(|(p, _)| p)) {
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
    /// Whether the field is a float, integer or bool (passed by value; the others by
    /// reference).
    pub scalar: bool,
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
/// `[f64; 3]`). For an array of structs (`data: &[Sample]`, `elements`), each field a
/// parameter holding that field of every element (`data_x` bound from
/// `&data.iter().map(|e| e.x)…`).
pub fn shape(
    ident: &Ident,
    path: &syn::Path,
    elements: Option<&Elements>,
    structs: &Structs,
    generic: Option<&Ident>,
    names: &mut Names,
) -> Vec<(Ident, Shape)> {
    let label = ident.to_string();
    let place = Place {
        record: ident.clone(),
        members: TokenStream::new(),
        elements: elements.cloned(),
    };
    fields(path, &place, &label, structs, generic, names, 0)
}

/// Where a field is: the parameter, the fields on the way (`.layer`), and for an array of
/// structs how many there are.
struct Place {
    record: Ident,
    members: TokenStream,
    elements: Option<Elements>,
}

impl Place {
    fn field(&self, name: &Ident) -> Place {
        let members = &self.members;
        Place {
            record: self.record.clone(),
            members: quote!(#members.#name),
            elements: self.elements.clone(),
        }
    }

    /// How the field is bound, and its type there: a float copied, anything else borrowed;
    /// of an array of structs, gathered from every element (a float copied, anything else
    /// cloned).
    fn binding(&self, ty: &Type, scalar: bool) -> (TokenStream, Type) {
        let (record, members) = (&self.record, &self.members);
        let element = |at: TokenStream| match scalar {
            true => quote!(#at #members),
            false => quote!(::core::clone::Clone::clone(&#at #members)),
        };
        match &self.elements {
            None if scalar => (quote!(#record #members), ty.clone()),
            None => (quote!(&#record #members), syn::parse_quote!(&#ty)),
            Some(Elements::Runtime) => {
                let each = element(quote!(e));
                (
                    quote!(&#record.iter().map(|e| #each).collect::<::std::vec::Vec<_>>()),
                    syn::parse_quote!(&::std::vec::Vec<#ty>),
                )
            }
            Some(Elements::Fixed(len)) => {
                let each = element(quote!(#record[k]));
                (
                    quote!(&::core::array::from_fn::<_, { #len }, _>(|k| #each)),
                    syn::parse_quote!(&[#ty; #len]),
                )
            }
        }
    }
}

fn fields(
    path: &syn::Path,
    base: &Place,
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
        // A field of an alias type (`w: Vector`), written out.
        if let Some(nested) = nested_path(path, def, field).filter(|n| structs.alias(&key(n)).is_some()) {
            if let Type::Path(typed) = &mut ty {
                typed.path = nested;
            }
            Unalias(structs, 0).visit_type_mut(&mut ty);
        }
        let access = base.field(name);
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
        let (binding, leaf_ty) = access.binding(&ty, scalar);
        let hint = field_label.replace('.', "_");
        shapes.push((
            name.clone(),
            Shape::Leaf(Box::new(Leaf {
                ident: names.fresh(&hint),
                binding,
                label: field_label,
                ty: leaf_ty,
                declared: field.ty.clone(),
                scalar,
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

/// Aliases written out, their generic parameters replaced by the arguments given.
struct Unalias<'s>(&'s Structs, usize);

impl VisitMut for Unalias<'_> {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::Path(path) = ty {
            if let Some(alias) = self
                .0
                .alias(&key(&bare(&path.path)))
                .filter(|_| path.qself.is_none() && self.1 < 16)
            {
                let args: Vec<TokenStream> = match path.path.segments.last().map(|s| &s.arguments) {
                    Some(syn::PathArguments::AngleBracketed(args)) => {
                        args.args.iter().map(|a| a.to_token_stream()).collect()
                    }
                    _ => Vec::new(),
                };
                let names = alias.generics.params.iter().filter_map(|p| match p {
                    syn::GenericParam::Type(t) => Some(t.ident.to_string()),
                    syn::GenericParam::Const(c) => Some(c.ident.to_string()),
                    syn::GenericParam::Lifetime(_) => None,
                });
                let substitution: HashMap<String, TokenStream> = names.zip(args).collect();
                let mut written = (*alias.ty).clone();
                Substitute(&substitution).visit_type_mut(&mut written);
                *ty = written;
                // An alias of an alias.
                self.1 += 1;
                self.visit_type_mut(ty);
                self.1 -= 1;
                return;
            }
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
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
    /// Each struct parameter's type, for the methods called on it (`p.energy(x)`).
    types: Vec<(Ident, syn::Path)>,
    /// Arrays of structs (`data: &[Sample]`): each leaf holds its field of every element.
    arrays: Vec<(Ident, Vec<(Ident, Node)>)>,
}

enum Node {
    /// A field's parameter, and whether it is passed by value (a float, an integer or a
    /// bool; the others are references).
    Leaf(Ident, bool),
    Data,
    Nested(Vec<(Ident, Node)>),
}

impl Fields {
    pub fn add(&mut self, ident: &Ident, path: &syn::Path, shape: &[(Ident, Shape)]) {
        self.types.push((ident.clone(), bare(path)));
        self.records.push((ident.clone(), nodes(shape)));
    }

    pub fn add_elements(&mut self, ident: &Ident, shape: &[(Ident, Shape)]) {
        self.arrays.push((ident.clone(), nodes(shape)));
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
                Shape::Leaf(leaf) => Node::Leaf(leaf.ident.clone(), leaf.scalar),
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

impl Rewrite<'_, '_> {
    /// A call's argument that is a struct parameter, or a struct inside one (`p`, `&p`,
    /// `p.layer`): its fields' parameters, in order, as the called function's generated
    /// code takes them (by value, or by reference).
    fn spread(&self, arg: &Expr) -> Option<Vec<Expr>> {
        // `p`, `&p`, `p.clone()`: the same values.
        let inner = match arg {
            Expr::Reference(reference) if reference.mutability.is_none() => &*reference.expr,
            Expr::MethodCall(call) if call.method == "clone" && call.args.is_empty() => &*call.receiver,
            other => other,
        };
        let (root, members) = Self::chain(inner)?;
        if self.shadowed.contains(root) {
            return None;
        }
        let mut nodes = self.record(root)?;
        for member in members {
            match nodes
                .iter()
                .find(|(name, _)| name == member)
                .map(|(_, node)| node)
            {
                Some(Node::Nested(inner)) => nodes = inner,
                _ => return None,
            }
        }
        let span = arg
            .to_token_stream()
            .into_iter()
            .next()
            .map_or(Span::call_site(), |t| t.span());
        let mut out = Vec::new();
        spread_nodes(nodes, span, &mut out);
        Some(out)
    }
}

fn spread_nodes(nodes: &[(Ident, Node)], span: Span, out: &mut Vec<Expr>) {
    for (_, node) in nodes {
        match node {
            Node::Leaf(leaf, by_value) => {
                let mut leaf = leaf.clone();
                leaf.set_span(span);
                out.push(match by_value {
                    true => syn::parse_quote!(#leaf),
                    false => syn::parse_quote!(&#leaf),
                });
            }
            Node::Data => {}
            Node::Nested(inner) => spread_nodes(inner, span, out),
        }
    }
}

/// `NetworkModel` → `network_model`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (k, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if k > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Rewrite<'_, '_> {
    /// `p.energy(x)` on a struct parameter: the method's function, `spring_energy(p, x)`
    /// (the module `#[differentiate] impl Spring` puts beside its block, named from where
    /// the struct is).
    fn method_as_call(&self, call: &syn::ExprMethodCall) -> Option<Expr> {
        let Expr::Path(receiver) = &*call.receiver else {
            return None;
        };
        let root = receiver.path.get_ident()?;
        if call.method == "clone" || self.shadowed.contains(root) || self.record(root).is_none() {
            return None;
        }
        let (_, ty) = self.fields.types.iter().find(|(name, _)| name == root)?;
        let mut path = ty.clone();
        let last = path.segments.last_mut()?;
        last.ident = Ident::new(
            &format!("{}_{}", snake_case(&last.ident.to_string()), call.method),
            call.method.span(),
        );
        let (receiver, args) = (&call.receiver, &call.args);
        Some(syn::parse_quote!(#path(#receiver, #args)))
    }
}

impl VisitMut for Rewrite<'_, '_> {
    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        let args = std::mem::take(&mut call.args);
        for arg in args {
            match self.spread(&arg) {
                Some(fields) => call.args.extend(fields),
                None => call.args.push(arg),
            }
        }
        syn::visit_mut::visit_expr_call_mut(self, call);
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::MethodCall(call) = expr {
            if let Some(replaced) = self.method_as_call(call) {
                *expr = replaced;
                if let Expr::Call(call) = expr {
                    self.visit_expr_call_mut(call);
                }
                return;
            }
        }
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
                        Node::Leaf(leaf, _) if k + 1 == members.len() => {
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
                        Node::Leaf(..) => {
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
                        "`{walked}` is a struct: read its fields (`{walked}.{}`), or pass it whole to a `#[differentiate]` function (`g(&{walked})`); it cannot be copied or stored yet",
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

/// The body with each array-of-structs parameter's elements read by field: `data[i].x`,
/// and `s.x` after `let s = data[i];` (as the iterator rewrite writes a loop over `data`),
/// become `data_x[i]`; `data.len()` is a field's length. Runs after the other rewrites,
/// on the index loops they leave. Any other use of an element is an error.
pub fn elements_rewritten(block: &Block, fields: &Fields, errors: &mut Errors) -> Block {
    let mut block = block.clone();
    if fields.arrays.is_empty() {
        return block;
    }
    let mut rewrite = ElementReads {
        fields,
        errors,
        names: Names::of(&block),
        scopes: vec![Vec::new()],
    };
    rewrite.visit_block_mut(&mut block);
    block
}

/// A name the element rewrite knows: another name of an array of structs (`let d = data;`),
/// an element (`let s = data[i];`, the index kept in a variable of its own), or a variable
/// of the user's that hides one of those.
enum Alias {
    Array(Ident, Ident),
    Element(Ident, Ident, Ident),
    Hidden(Ident),
}

struct ElementReads<'a, 'e> {
    fields: &'a Fields,
    errors: &'e mut Errors,
    names: Names,
    scopes: Vec<Vec<Alias>>,
}

/// What an expression names, for the element rewrite.
enum Target {
    Array(Ident),
    Element(Ident, Expr),
}

impl ElementReads<'_, '_> {
    fn array(&self, ident: &Ident) -> Option<&[(Ident, Node)]> {
        self.fields
            .arrays
            .iter()
            .find(|(name, _)| name == ident)
            .map(|(_, nodes)| nodes.as_slice())
    }

    fn alias(&self, ident: &Ident) -> Option<&Alias> {
        self.scopes
            .iter()
            .rev()
            .flatten()
            .rev()
            .find(|alias| match alias {
                Alias::Array(name, _) | Alias::Element(name, _, _) | Alias::Hidden(name) => name == ident,
            })
    }

    /// The array or element an expression names, if any.
    fn target(&self, expr: &Expr) -> Option<Target> {
        match expr {
            Expr::Path(path) if path.qself.is_none() => {
                let ident = path.path.get_ident()?;
                match self.alias(ident) {
                    Some(Alias::Array(_, array)) => Some(Target::Array(array.clone())),
                    Some(Alias::Element(_, array, index)) => {
                        Some(Target::Element(array.clone(), syn::parse_quote!(#index)))
                    }
                    Some(Alias::Hidden(_)) => None,
                    None => self.array(ident).map(|_| Target::Array(ident.clone())),
                }
            }
            Expr::Paren(inner) => self.target(&inner.expr),
            Expr::Reference(reference) if reference.mutability.is_none() => self.target(&reference.expr),
            Expr::Index(index) => match self.target(&index.expr)? {
                Target::Array(array) => Some(Target::Element(array, (*index.index).clone())),
                Target::Element(..) => None,
            },
            _ => None,
        }
    }

    /// `target.a.b` as the field's parameter, indexed: `data_a_b[i]`.
    fn field(&mut self, expr: &Expr) -> Option<Result<Expr, ()>> {
        let mut members = Vec::new();
        let mut base = expr;
        while let Expr::Field(field) = base {
            let syn::Member::Named(member) = &field.member else {
                return None;
            };
            members.push(member.clone());
            base = &field.base;
        }
        if members.is_empty() {
            return None;
        }
        members.reverse();
        let Target::Element(array, mut index) = self.target(base)? else {
            return None;
        };
        self.visit_expr_mut(&mut index);
        let mut nodes = self.array(&array)?;
        let mut walked = format!("{array}[…]");
        for (k, member) in members.iter().enumerate() {
            let Some((_, node)) = nodes.iter().find(|(name, _)| name == member) else {
                // rustc says so, at the user's function.
                return Some(Ok(syn::parse_quote!(0.0)));
            };
            walked = format!("{walked}.{member}");
            match node {
                Node::Leaf(leaf, _) if k + 1 == members.len() => {
                    return Some(Ok(syn::parse_quote!(#leaf[#index])));
                }
                Node::Nested(inner) => nodes = inner,
                _ => {
                    self.errors.at(expr, format_args!("`{walked}` cannot be read here: read a float, integer or array field of an element"));
                    return Some(Err(()));
                }
            }
        }
        self.errors
            .at(expr, format_args!("`{walked}` is a struct: read its fields"));
        Some(Err(()))
    }

    fn alias_here(&mut self, alias: Alias) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(alias);
        }
    }

    /// The first field's parameter of an array of structs (for its length).
    fn first_leaf(&self, array: &Ident) -> Option<Ident> {
        fn first(nodes: &[(Ident, Node)]) -> Option<Ident> {
            nodes.iter().find_map(|(_, node)| match node {
                Node::Leaf(leaf, _) => Some(leaf.clone()),
                Node::Data => None,
                Node::Nested(inner) => first(inner),
            })
        }
        first(self.array(array)?)
    }
}

impl ElementReads<'_, '_> {
    /// `for s in data`, `for s in data.iter()`, `for (k, s) in data.iter().enumerate()`
    /// over an array of structs: an index loop, `s` an element.
    fn element_loop(&mut self, for_loop: &mut syn::ExprForLoop) -> bool {
        let mut iterated = &*for_loop.expr;
        let mut enumerate = false;
        loop {
            match iterated {
                Expr::MethodCall(call)
                    if call.args.is_empty() && call.method == "enumerate" && !enumerate =>
                {
                    enumerate = true;
                    iterated = &call.receiver;
                }
                Expr::MethodCall(call)
                    if call.args.is_empty() && (call.method == "iter" || call.method == "into_iter") =>
                {
                    iterated = &call.receiver;
                    break;
                }
                _ => break,
            }
        }
        let Some(Target::Array(array)) = self.target(iterated) else {
            return false;
        };
        let (position, element) = match (&*for_loop.pat, enumerate) {
            (syn::Pat::Ident(binding), false) => (None, binding.ident.clone()),
            (syn::Pat::Tuple(tuple), true) if tuple.elems.len() == 2 => {
                match (&tuple.elems[0], &tuple.elems[1]) {
                    (position, syn::Pat::Ident(binding)) => (Some(position.clone()), binding.ident.clone()),
                    _ => return false,
                }
            }
            _ => return false,
        };
        let Some(leaf) = self.first_leaf(&array) else {
            return false;
        };
        let index = self.names.fresh("i");
        let mut body = for_loop.body.clone();
        self.scopes
            .push(vec![Alias::Element(element, array, index.clone())]);
        self.visit_block_mut(&mut body);
        self.scopes.pop();
        if let Some(position) = position {
            body.stmts.insert(0, syn::parse_quote!(let #position = #index;));
        }
        *for_loop.pat = syn::parse_quote!(#index);
        *for_loop.expr = syn::parse_quote!(0..#leaf.len());
        for_loop.body = body;
        true
    }
}

impl VisitMut for ElementReads<'_, '_> {
    fn visit_block_mut(&mut self, block: &mut Block) {
        self.scopes.push(Vec::new());
        let stmts = std::mem::take(&mut block.stmts);
        for mut stmt in stmts {
            if let syn::Stmt::Local(local) = &stmt {
                let name = match &local.pat {
                    syn::Pat::Ident(binding) if binding.subpat.is_none() => Some(binding.ident.clone()),
                    syn::Pat::Type(typed) => match &*typed.pat {
                        syn::Pat::Ident(binding) => Some(binding.ident.clone()),
                        _ => None,
                    },
                    _ => None,
                };
                let init = local.init.as_ref().filter(|init| init.diverge.is_none());
                if let (Some(name), Some(init)) = (name.clone(), init) {
                    match self.target(&init.expr) {
                        Some(Target::Array(array)) => {
                            self.alias_here(Alias::Array(name, array));
                            continue;
                        }
                        Some(Target::Element(array, mut index)) => {
                            self.visit_expr_mut(&mut index);
                            let kept = self.names.fresh(&format!("{name}_index"));
                            block.stmts.push(syn::parse_quote!(let #kept = #index;));
                            self.alias_here(Alias::Element(name, array, kept));
                            continue;
                        }
                        None => {}
                    }
                }
                if let Some(name) = name.filter(|n| self.alias(n).is_some() || self.array(n).is_some()) {
                    self.visit_stmt_mut(&mut stmt);
                    block.stmts.push(stmt);
                    self.alias_here(Alias::Hidden(name));
                    continue;
                }
            }
            self.visit_stmt_mut(&mut stmt);
            block.stmts.push(stmt);
        }
        self.scopes.pop();
    }

    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        // An array of structs passed whole: its fields, as the callee takes them.
        // An element passed whole (`g(&data[i])`, `g(s.clone())`): its fields there.
        let args = std::mem::take(&mut call.args);
        for arg in args {
            let whole = match &arg {
                Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => &*m.receiver,
                other => other,
            };
            let span = arg
                .to_token_stream()
                .into_iter()
                .next()
                .map_or(Span::call_site(), |t| t.span());
            match self.target(whole) {
                Some(Target::Array(array)) => {
                    let nodes = self.array(&array).unwrap_or_default();
                    let mut spread = Vec::new();
                    spread_nodes(nodes, span, &mut spread);
                    call.args.extend(spread);
                }
                Some(Target::Element(array, mut index)) => {
                    self.visit_expr_mut(&mut index);
                    let nodes = self.array(&array).unwrap_or_default();
                    let mut spread = Vec::new();
                    spread_nodes(nodes, span, &mut spread);
                    for field in spread {
                        call.args.push(match field {
                            Expr::Reference(reference) => {
                                let leaf = &reference.expr;
                                syn::parse_quote!(&#leaf[#index])
                            }
                            leaf => syn::parse_quote!(#leaf[#index]),
                        });
                    }
                }
                None => {
                    let mut arg = arg;
                    self.visit_expr_mut(&mut arg);
                    call.args.push(arg);
                }
            }
        }
        self.visit_expr_mut(&mut call.func);
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::ForLoop(for_loop) = expr {
            if self.element_loop(for_loop) {
                return;
            }
        }
        if let Some(result) = self.field(expr) {
            if let Ok(replaced) = result {
                *expr = replaced;
            }
            return;
        }
        // `data.len()`
        if let Expr::MethodCall(call) = expr {
            if call.method == "len" && call.args.is_empty() {
                if let Some(Target::Array(array)) = self.target(&call.receiver) {
                    match self.first_leaf(&array) {
                        Some(leaf) => *expr = syn::parse_quote!(#leaf.len()),
                        None => self.errors.at(
                            &*expr,
                            format_args!(
                                "`{array}` has no field the function can read, to take its length from"
                            ),
                        ),
                    }
                    return;
                }
            }
        }
        match self.target(expr) {
            Some(Target::Array(array)) => {
                self.errors.at(
                    &*expr,
                    format_args!("`{array}` is an array of structs: read its elements' fields (`{array}[i].x`, or `s.x` in `for s in {array}`), or pass it whole to a `#[differentiate]` function"),
                );
            }
            Some(Target::Element(array, _)) => {
                self.errors.at(
                    &*expr,
                    format_args!("an element of `{array}` is a struct: read its fields (`.x`); it cannot be copied or passed on whole yet"),
                );
            }
            None => syn::visit_mut::visit_expr_mut(self, expr),
        }
    }
}
