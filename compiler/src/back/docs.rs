//! Explaining the generated code to its reader: the last stage of the expansion adds to
//! the module `f` that [`crate::back::code`] wrote
//!
//! - `f::graph()`: the computational graph in Graphviz DOT ([`crate::back::dot`]);
//! - `f::trace(args…)`: the same graph for one evaluation, each edge annotated with its
//!   value and its gradient ([`crate::back::trace`]);
//! - `f::SOURCE`: the generated forward and backward code, pretty-printed;
//! - documentation: the symbolic partial derivatives in the module's, what each item
//!   computes in the items' ([`crate::back::math`]).
//!
//! The code back end hands over the module in parts ([`Generated`]); this one adds its
//! items and documentation and assembles it, every token keeping its span (hygiene and
//! error locations are unchanged).

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;

use crate::back::code::Generated;
use crate::back::dot;
use crate::back::math::{Math, Opaque};
use crate::ir::Function;
use crate::ir::{Extras, NodeId, Op, RegionId, Ty};
use crate::reverse::Adjoints;

/// Adds to the module the emitter wrote: always its documentation (the partial
/// derivatives) and `graph()`; `trace(…)` and `SOURCE` where the attribute asks for them.
///
/// `graph()` and the documentation are cheap: text linear in the function's size, a few
/// percent of the expansion's time. `trace` is a second evaluation of the whole function
/// that rustc must compile (as much again as `forward`, `backward` and `grad` together),
/// and `SOURCE` pretty-prints the generated code (reading it back with syn): each about
/// doubles the macro's cost, for every function, so each is asked for by name.
///
/// It adds tokens to the emitted parts, so that every token keeps its span (hygiene and
/// error locations are unchanged); only the items `SOURCE` shows are read with syn, to be
/// pretty-printed.
pub fn explain(
    function: &Function,
    adjoints: &Adjoints,
    backward_top: RegionId,
    generated: Generated,
) -> TokenStream {
    if let Some(error) = name_taken(function) {
        let error = error.to_compile_error();
        let generated = generated.assemble(TokenStream::new(), TokenStream::new(), TokenStream::new());
        return quote!(#generated #error);
    }
    explained(function, adjoints, backward_top, generated)
}

/// A constant of the user's that the function reads by a name the module's new items take
/// (`SOURCE`, `graph`, …): inside the module, the item would shadow it (the module reads
/// the user's names through `use super::*`).
fn name_taken(function: &Function) -> Option<syn::Error> {
    let extras = function.extras;
    let taken = |name: &str| match name {
        "graph" | "__DOT" => true,
        "trace" => extras.trace,
        "SOURCE" => extras.source,
        "jvp" | "Tangent" => extras.jvp,
        "hvp" | "hessian" => extras.hessian,
        _ => false,
    };
    let path = function.graph.named.iter().find(|path| {
        path.leading_colon.is_none() && path.segments.len() == 1 && taken(&path.segments[0].ident.to_string())
    })?;
    let name = path.segments[0].ident.to_string();
    let fn_name = &function.item.sig.ident;
    Some(syn::Error::new_spanned(
        path,
        format!(
            "the generated `{fn_name}::{name}` would hide this constant from the generated code: rename the \
             constant, or write its path (`self::{name}`)"
        ),
    ))
}

/// `#[doc = " line"]…` for a text.
fn doc_attributes(text: &str) -> TokenStream {
    let lines = doc_lines(text);
    quote!(#(#[doc = #lines])*)
}

fn explained(
    function: &Function,
    adjoints: &Adjoints,
    backward_top: RegionId,
    mut generated: Generated,
) -> TokenStream {
    let fn_name = function.item.sig.ident.clone();
    let name = fn_name.unraw().to_string();
    let g = &function.graph;
    let extras = function.extras;

    // SOURCE, from the emitted items, before anything is added to them.
    let source = extras.source.then(|| {
        let items = [
            &generated.cache,
            &generated.grad_struct,
            &generated.forward,
            &generated.backward,
        ];
        // (Without the alias `__forward` that callers use.)
        let chosen: Vec<syn::Item> = items
            .into_iter()
            .filter_map(|tokens| syn::parse2::<syn::File>(tokens.clone()).ok())
            .flat_map(|file| file.items)
            .filter(|item| !matches!(item, syn::Item::Use(_)))
            .collect();
        source(&name, chosen)
    });

    // The picture, and (if asked for) the code that annotates it.
    let picture = match &function.custom {
        Some(rule) => dot::custom_picture(function, rule),
        None => dot::picture(function),
    };
    let template_ident = syn::Ident::new("__DOT", Span::call_site());
    let template = dot::literal(&picture.template);

    let docs = Docs::new(function, adjoints);
    let forward_docs = doc_attributes(&format!("\n{}", docs.forward(&name)));

    let mut added = TokenStream::new();
    if let Some(source) = source {
        let doc = doc_attributes(&format!(
            "The code `#[differentiate]` generated for `{name}`: the [`Cache`] and [`Grad`] structs, \
             [`forward`] and [`backward`], pretty-printed (without their documentation) — what `cargo \
             expand` would show.{} Generated by `#[differentiate(source)]`.",
            match function.returns.is_vector() {
                true => "",
                false => " [`grad`] is the two passes in one function.",
            }
        ));
        let source = proc_macro2::Literal::string(&source);
        added.extend(quote! {
            #doc
            pub const SOURCE: &str = #source;
        });
    }
    let doc_graph = doc_attributes(&format!(
        "The computational graph of `{name}` in Graphviz DOT, drawn as in the lecture: one node per \
         operation, named as in the function (`q = x + y`), the inputs as blue boxes on the left, the \
         output as a yellow box on the right; an `if` as one cluster per branch, a loop as a cluster \
         holding its body once. Render it with `dot -Tpng`.\n\n\
         It is the graph the generated code computes, after simplification: constants are written into \
         the operations that use them, and a written-out sigmoid, 1 / (1 + e^−z), is one σ node."
    ));
    added.extend(quote! {
        /// The picture of [`graph`] and `trace`, with holes for `trace`'s numbers.
        #[doc(hidden)]
        pub const #template_ident: &str = #template;

        #doc_graph
        pub fn graph() -> ::std::string::String {
            ::chainrule::__private::dot::graph(#template_ident)
        }
    });
    if extras.trace {
        let trace = match &function.custom {
            Some(_) => {
                crate::back::trace::custom_trace_body(function, &picture, &template_ident.to_token_stream())
            }
            None => crate::back::trace::trace_body(
                function,
                adjoints,
                backward_top,
                &picture,
                &template_ident.to_token_stream(),
            ),
        };
        let doc_trace = doc_attributes(&format!(
            "The graph of [`graph`] for one evaluation of `{name}`, annotated as in the lecture: above \
             each edge the value flowing forward (green), below it the gradient flowing back along it \
             (red) — what this use of the value adds to its gradient, for upstream gradient 1; rounded \
             for reading, exact in each edge's and node's tooltip (an array of more than 64 numbers \
             shortened). An input's tooltip holds its whole gradient, as [`grad`] returns it (the same \
             bits).\n\n\
             Inside a loop, the values are those of the last iteration, and an edge between two values \
             of the loop shows the gradient of that iteration; an edge entering the loop from outside \
             shows the gradient summed over all iterations (all that the use inside the loop adds to \
             its source's gradient). The cluster's label says how many iterations ran. A branch not \
             taken is grey.\n\n\
             It is [`grad`]'s code with the recording in it, every value it shows kept: it is for reading, not for \
             speed. Generated by `#[differentiate(trace)]`."
        ));
        added.extend(trace_fn(&mut generated, g, quote!(trace), doc_trace, trace));
    }
    // Forward mode's picture, beside the gradient's.
    let forward_mode =
        (extras.trace && extras.jvp && function.custom.is_none() && !function.returns.is_vector())
            .then(|| crate::forward::forward(&function.graph, function.output).ok())
            .flatten();
    if let Some(tangents) = forward_mode {
        let trace = crate::back::trace::tangent_trace_body(
            function,
            tangents,
            &picture,
            &template_ident.to_token_stream(),
        );
        let doc_trace = doc_attributes(&format!(
            "The graph of [`graph`] for one evaluation of `{name}` in forward mode: above each edge \
             the value flowing forward (green), below it that value's tangent (blue), its \
             directional derivative along `tangent` — what [`jvp`] carries beside each value, \
             the output's tangent being [`jvp`]'s result (the same bits). Rounded for reading, exact \
             in the tooltips. Inside a loop, the values and tangents are those of the last \
             iteration. Generated by `#[differentiate(trace, jvp)]`."
        ));
        added.extend(trace_fn(&mut generated, g, quote!(trace_jvp), doc_trace, trace));
    }
    // The module's documentation, after the emitter's. rustdoc resolves its links from the
    // module's parent, so they name the module: `[`backward`](f::backward)`.
    let module_docs = linked(&docs.module(&name, extras), &fn_name.to_string());
    generated.assemble(doc_attributes(&format!("\n{module_docs}")), forward_docs, added)
}

/// `pub fn trace(…)` (or `trace_jvp`) of a trace body, with its documentation.
fn trace_fn(
    generated: &mut Generated,
    g: &crate::ir::Graph,
    name: TokenStream,
    doc: TokenStream,
    trace: crate::back::trace::TraceBody,
) -> TokenStream {
    generated.uses_super |= trace.uses_user_paths;
    let signature = &trace.signature;
    let generics = crate::back::code::fn_generics(g);
    let body = trace.body;
    quote! {
        #doc
        #[inline]
        pub fn #name #generics (#(#signature),*) -> ::std::string::String {
            #body
        }
    }
}

/// The module's documentation with its links written from the parent module:
/// `[`backward`]` → `[`backward`](f::backward)`.
fn linked(text: &str, module: &str) -> String {
    let mut text = text.to_string();
    for item in [
        "forward",
        "backward",
        "grad",
        "graph",
        "trace",
        "trace_jvp",
        "SOURCE",
        "Cache",
        "Grad",
        "jvp",
        "Tangent",
        "hvp",
        "hessian",
        "jacobian",
        "Jacobian",
    ] {
        text = text.replace(&format!("[`{item}`]"), &format!("[`{item}`]({module}::{item})"));
    }
    text
}

/// A text as the lines of doc attributes (` line`, blank lines empty).
fn doc_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            let line = line.trim();
            if line.is_empty() {
                String::new()
            } else {
                format!(" {line}")
            }
        })
        .collect()
}

/// `Cache`, `Grad`, `forward` and `backward`, pretty-printed without documentation.
fn source(name: &str, mut chosen: Vec<syn::Item>) -> String {
    for item in &mut chosen {
        let attrs = match item {
            syn::Item::Struct(s) => {
                for field in s.fields.iter_mut() {
                    field.attrs.retain(|a| !a.path().is_ident("doc"));
                }
                &mut s.attrs
            }
            syn::Item::Fn(f) => &mut f.attrs,
            _ => continue,
        };
        attrs.retain(|a| !a.path().is_ident("doc"));
    }
    let file = syn::File {
        shebang: None,
        attrs: Vec::new(),
        items: chosen,
    };
    format!(
        "// The code #[differentiate] generated for `{name}` (in its module `{name}`).\n{}",
        prettyplease::unparse(&file)
    )
}

/// About how many characters of partial derivatives the module's documentation lists
/// (a function of a thousand parameters gets the first few and a count of the others).
const DOC_PARTIALS: usize = 2000;

/// The documentation the explain stage adds.
struct Docs<'f> {
    function: &'f Function,
    adjoints: &'f Adjoints,
}

impl<'f> Docs<'f> {
    fn new(function: &'f Function, adjoints: &'f Adjoints) -> Self {
        Docs { function, adjoints }
    }

    /// The module's: the partial derivatives, and what else is there to read.
    fn module(&self, name: &str, extras: Extras) -> String {
        let g = &self.function.graph;
        let mut out = String::new();
        out.push_str("# The derivatives\n\n");
        if let Some(rule) = &self.function.custom {
            let rule = quote!(#rule).to_string().replace(' ', "");
            out.push_str(&format!(
                "Given by the custom rule `{rule}`: [`backward`] calls it with the parameters, the value \
                 and the upstream gradient.\n"
            ));
        } else if self.function.returns.is_vector() {
            out.push_str(
                "A vector-valued function: [`backward`] takes an upstream gradient ū of the output's \
                 shape and gives ūᵀJ, the vector–Jacobian product (the gradient of ū · f), in one reverse \
                 pass; [`jacobian`] gives the Jacobian J as one [`Grad`] per output (the rows of J), by \
                 reverse passes or, where there are fewer parameter floats than outputs, by forward \
                 passes ([`jvp`], J · v, one per column).\n",
            );
        } else {
            out.push_str(
                "What [`backward`] computes, as math: each partial derivative of the function, that is \
                 the gradient for upstream gradient 1, simplified as the generated code is (a sigmoid's \
                 derivative is σ(1 − σ), from its value).\n\n",
            );
            let mut math = Math::new(g, None);
            let mut written = 0;
            let mut left_out = 0;
            for (param, adjoint) in g.params.iter().zip(&self.adjoints.of_param) {
                if !param.wrt {
                    continue;
                }
                if written > DOC_PARTIALS {
                    left_out += 1;
                    continue;
                }
                let p = param.ident.unraw().to_string();
                for line in partials(&mut math, g.ty(param.node), *adjoint, name, &p) {
                    written += line.len();
                    out.push_str(&format!("- {line}\n"));
                }
            }
            if left_out > 0 {
                out.push_str(&format!("- and {left_out} more (see [`backward`])\n"));
            }
            let definitions = definitions(&mut math);
            if !definitions.is_empty() {
                out.push_str(&format!("\nwhere {}.\n", definitions.join(", ")));
            }
        }
        out.push_str("\n# Other derivatives\n\n");
        out.push_str(if self.function.returns.is_vector() {
            "[`jvp`] is forward mode: the value and the Jacobian times a [`Tangent`], J · v, in one forward pass. \
             The Hessian is for float-valued functions: differentiate one output of this one."
        } else if extras.jvp {
            "[`jvp`] is forward mode: the value and the directional derivative along a [`Tangent`], in one forward pass."
        } else {
            "`#[differentiate(jvp)]` adds `jvp(…, tangent)`, forward mode: the directional derivative in one forward pass."
        });
        out.push_str(if self.function.returns.is_vector() {
            ""
        } else if extras.hessian {
            " [`hvp`] is the Hessian times a vector (forward mode over the reverse pass), [`hessian`] the whole Hessian."
        } else {
            " `#[differentiate(hessian)]` adds `hvp(…, v)`, the Hessian times a vector, and `hessian(…)`."
        });
        out.push_str("\n\n# Seeing it\n\n[`graph`] draws the computational graph (Graphviz DOT).");
        out.push_str(if extras.trace {
            " [`trace`] draws it for one evaluation, each edge with its value and its gradient as in the lecture."
        } else {
            " `#[differentiate(trace)]` adds `trace(…)`, which draws it for one evaluation, each edge with its \
             value and its gradient as in the lecture."
        });
        if extras.trace && extras.jvp && !self.function.returns.is_vector() && self.function.custom.is_none()
        {
            out.push_str(
                " [`trace_jvp`] draws forward mode's: each edge with its value and that value's tangent.",
            );
        }
        out.push_str(if extras.source {
            " [`SOURCE`] is the generated [`forward`] and [`backward`] code, pretty-printed."
        } else {
            " `#[differentiate(source)]` adds `SOURCE`, the generated code as text."
        });
        out
    }

    /// `forward`'s: the value it computes, and what it keeps.
    fn forward(&self, name: &str) -> String {
        let g = &self.function.graph;
        if self.function.custom.is_some() {
            return format!("It calls `{name}` itself and keeps its parameters and its value.");
        }
        let params: Vec<String> = g.params.iter().map(|p| p.label()).collect();
        let mut math = Math::new(g, None);
        let mut out = String::new();
        if let Ok(text) = math.formula(self.function.output) {
            out.push_str(&format!("`{name}({}) = {}`", params.join(", "), text.text));
            let definitions = definitions(&mut math);
            if !definitions.is_empty() {
                out.push_str(&format!(", where {}", definitions.join(", ")));
            }
            out.push_str(".\n");
        }
        out
    }
}

/// The lines `∂f/∂x = …` for one parameter: one per element for an array whose gradient
/// is built element by element, one for the whole otherwise.
fn partials(math: &mut Math, ty: &Ty, adjoint: Option<NodeId>, name: &str, param: &str) -> Vec<String> {
    let Some(adjoint) = adjoint else {
        return vec![format!("`∂{name}/∂{param} = 0`")];
    };
    if let Ty::Array(..) = ty {
        return match elements(math, adjoint) {
            Ok(elements) => elements
                .into_iter()
                .map(|(index, text)| format!("`∂{name}/∂{param}[{index}] = {text}`"))
                .collect(),
            Err(why) => vec![format!("∂{name}/∂{param}: {}", opaque(why))],
        };
    }
    match math.formula(adjoint) {
        Ok(text) => vec![format!("`∂{name}/∂{param} = {}`", text.text)],
        Err(why) => vec![format!("∂{name}/∂{param}: {}", opaque(why))],
    }
}

fn opaque(why: Opaque) -> &'static str {
    match why {
        Opaque::Loop => "computed by a loop run backwards (see [`backward`])",
        Opaque::Array => "an array built element by element (see [`backward`])",
        Opaque::Call => "through the backward pass of a called function (see [`backward`])",
        Opaque::Long => "too long to write here (see [`backward`])",
    }
}

/// An array's gradient built by adding into single elements (`d_w[2] += …`), by element.
fn elements(math: &mut Math, adjoint: NodeId) -> Result<Vec<(String, String)>, Opaque> {
    let g = math.graph();
    let mut parts: Vec<(String, String)> = Vec::new();
    // Elements set (`d_w[2] = …`, a first contribution written rather than added): what
    // came before at that index does not count.
    let mut set: Vec<String> = Vec::new();
    let mut node = adjoint;
    loop {
        match g.op(node) {
            Op::ZerosLike => break,
            op @ (Op::AddAt | Op::Update) => {
                let sets = op == &Op::Update;
                let args = g.args(node).to_vec();
                let mut indices = Vec::new();
                for &i in &args[2..] {
                    indices.push(g.int_value(i).ok_or(Opaque::Loop)?.to_string());
                }
                let index = indices.join("][");
                if !set.contains(&index) {
                    let text = math.formula(args[1])?.text;
                    parts.push((index.clone(), text));
                }
                if sets {
                    set.push(index);
                }
                node = args[0];
            }
            Op::Project(_) if matches!(g.op(g.args(node)[0]), Op::Loop { .. } | Op::While { .. }) => {
                return Err(Opaque::Loop)
            }
            Op::Project(_) if matches!(g.op(g.args(node)[0]), Op::CallBackward { .. }) => {
                return Err(Opaque::Call)
            }
            _ => return Err(Opaque::Array),
        }
    }
    parts.reverse();
    // Elements that got several contributions add up.
    let mut merged: Vec<(String, String)> = Vec::new();
    for (index, text) in parts {
        match merged.iter_mut().find(|(i, _)| *i == index) {
            Some((_, sum)) => {
                sum.push_str(" + ");
                sum.push_str(&text);
            }
            None => merged.push((index, text)),
        }
    }
    merged.sort_by_key(|a| natural(&a.0));
    Ok(merged)
}

fn natural(index: &str) -> Vec<u64> {
    index.split("][").map(|p| p.parse().unwrap_or(0)).collect()
}

/// `dot = w0 · x0 + w1 · x1 + w2`, for the named values the formulas used.
fn definitions(math: &mut Math) -> Vec<String> {
    let mut out = Vec::new();
    let mut done = std::collections::BTreeSet::new();
    loop {
        let pending: Vec<NodeId> = math.named.iter().copied().filter(|n| !done.contains(n)).collect();
        if pending.is_empty() {
            break;
        }
        for id in pending {
            done.insert(id);
            let Some(name) = math.user_name(id) else { continue };
            match math.definition(id) {
                Ok(text) => out.push((id, format!("`{name} = {}`", text.text))),
                Err(_) => out.push((id, format!("`{name}` is computed by a loop"))),
            }
        }
    }
    out.sort();
    out.into_iter().map(|(_, text)| text).collect()
}
