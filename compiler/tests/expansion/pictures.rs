//! Tests of what the expansion explains: the pictures (snapshots of their DOT text, and
//! every picture of the test functions and of random programs checked as DOT), `SOURCE`
//! (it parses as Rust), the trace's code (snapshots; it is compiled and run against
//! `grad` in `tests/graph.rs`), the documentation's derivatives, and the size of it all.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

#[path = "../../../tests/support/dot_syntax.rs"]
mod dot_syntax;

use chainrule_compiler::expand;
use chainrule_testgen::Program;

/// The literal of `__DOT` as a pretty-printed file shows it (for `tests.rs`, which leaves
/// it out of its snapshots).
pub fn template_line(file: &syn::File) -> String {
    constant(file, "__DOT")
        .map(|lit| lit.token().to_string())
        .unwrap_or_else(|| "\u{0}".to_string())
}

fn module_items(file: &syn::File) -> &[syn::Item] {
    file.items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(module) => module.content.as_ref().map(|(_, items)| items.as_slice()),
            _ => None,
        })
        .unwrap_or(&[])
}

fn constant(file: &syn::File, name: &str) -> Option<syn::LitStr> {
    module_items(file).iter().find_map(|item| match item {
        syn::Item::Const(c) if c.ident == name => match &*c.expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(lit),
                ..
            }) => Some(lit.clone()),
            _ => None,
        },
        _ => None,
    })
}

fn function<'f>(file: &'f syn::File, name: &str) -> Option<&'f syn::ItemFn> {
    module_items(file).iter().find_map(|item| match item {
        syn::Item::Fn(f) if f.sig.ident == name => Some(f),
        _ => None,
    })
}

fn expanded(attr: TokenStream, item: TokenStream) -> syn::File {
    let tokens = stacker::grow(64 << 20, || expand(attr, item));
    syn::parse2(tokens.clone())
        .unwrap_or_else(|error| panic!("the expansion does not parse: {error}\n{tokens}"))
}

/// `f::graph()`: the template without its holes.
fn without_holes(template: &str) -> String {
    let mut out = String::new();
    let mut in_hole = false;
    for c in template.chars() {
        match c {
            chainrule_compiler::back::dot::HOLE => in_hole = true,
            chainrule_compiler::back::dot::HOLE_END => in_hole = false,
            c if !in_hole => out.push(c),
            _ => {}
        }
    }
    out
}

fn graph(item: TokenStream) -> String {
    let file = expanded(TokenStream::new(), item);
    without_holes(&constant(&file, "__DOT").expect("a picture").value())
}

/// The module's documentation, as text.
fn module_docs(file: &syn::File) -> String {
    file.items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(module) => Some(docs(&module.attrs)),
            _ => None,
        })
        .unwrap_or_default()
}

fn docs(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn lecture_f() -> TokenStream {
    quote! {
        fn f(x: f64, y: f64, z: f64) -> f64 {
            let q = x + y;
            q * z
        }
    }
}

fn lecture_neuron() -> TokenStream {
    quote! {
        fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
            let dot = w0 * x0 + w1 * x1 + w2;
            1.0 / (1.0 + (-dot).exp())
        }
    }
}

/// Functions over the whole language (those of the snapshot tests, and more).
fn language() -> Vec<TokenStream> {
    vec![
        lecture_f(),
        lecture_neuron(),
        quote! {
            pub fn kinks(a: f32, b: f32) -> f32 {
                let m = a.max(b);
                let r = relu(a * b) + m.abs();
                r * a.tanh() + 2.0_f32.sqrt() * b.powi(3)
            }
        },
        quote! {
            fn neuron(w: [f64; 3], x: [f64; 2]) -> f64 {
                let mut dot = w[2];
                for i in 0..2 {
                    dot += w[i] * x[i];
                }
                sigmoid(dot)
            }
        },
        quote! {
            fn control(x: f64, xs: &[f64], n: usize) -> f64 {
                let y = if x > 0.0 { x * x } else { -x };
                let mut p = 1.0;
                for _ in 0..n {
                    p = p * y;
                }
                let mut s = 0.0;
                for &v in xs.iter() {
                    s += v.sin();
                }
                let mut z = s;
                while z < 10.0 {
                    z = z * 2.0 + p;
                }
                z
            }
        },
        quote! {
            fn composed(a: f64, b: f64) -> f64 {
                let h = square(a) + b;
                h * layers::square(h)
            }
        },
        quote! {
            fn softplus<T: chainrule::Real>(x: T) -> T {
                (T::one() + x.exp()).ln() * T::from_f64(0.5)
            }
        },
        quote! {
            fn net(w1: [[f64; 4]; 3], b1: [f64; 3], w2: [f64; 3], b2: f64, x: [f64; 4], y: f64) -> f64 {
                let mut h = [0.0; 3];
                for i in 0..3 {
                    let mut z = b1[i];
                    for j in 0..4 {
                        z += w1[i][j] * x[j];
                    }
                    h[i] = relu(z);
                }
                let mut out = b2;
                for i in 0..3 {
                    out += w2[i] * h[i];
                }
                let e = out - y;
                e * e
            }
        },
        quote! {
            fn prefix_products(w: [f64; 6]) -> f64 {
                let mut a = [0.0; 6];
                a[0] = w[0];
                for i in 1..6 {
                    a[i] = a[i - 1] * w[i];
                }
                let mut s = 0.0;
                for i in 0..6 {
                    s += a[i];
                }
                s
            }
        },
        quote! {
            fn matched(x: f64, k: usize) -> f64 {
                match k {
                    0 => x.sin(),
                    1 | 2 => x * x,
                    _ => -x,
                }
            }
        },
        quote! {
            fn constant(x: f64) -> f64 {
                let _ = x;
                std::f64::consts::PI
            }
        },
    ]
}

#[test]
fn snapshot_graph_lecture() {
    insta::assert_snapshot!(graph(lecture_f()));
    insta::assert_snapshot!(graph(lecture_neuron()));
}

#[test]
fn snapshot_graph_control_flow() {
    let functions = language();
    insta::assert_snapshot!(graph(functions[3].clone())); // a loop
    insta::assert_snapshot!(graph(functions[4].clone())); // a branch, loops, a while loop
    insta::assert_snapshot!(graph(functions[5].clone())); // calls
}

/// The code of `f::trace`: plain, one `let` per value, each recorded.
#[test]
fn snapshot_trace_code() {
    for item in [lecture_f(), language()[3].clone(), language()[4].clone()] {
        let file = expanded(quote!(trace), item);
        let trace = function(&file, "trace").expect("trace");
        let code = prettyplease::unparse(&syn::File {
            shebang: None,
            attrs: Vec::new(),
            items: vec![syn::Item::Fn(trace.clone())],
        });
        insta::assert_snapshot!(code);
    }
}

#[test]
fn extras_only_where_asked_for() {
    let file = expanded(TokenStream::new(), lecture_f());
    assert!(function(&file, "graph").is_some());
    assert!(function(&file, "trace").is_none());
    assert!(constant(&file, "SOURCE").is_none());
    let file = expanded(quote!(trace), lecture_f());
    assert!(function(&file, "trace").is_some());
    assert!(constant(&file, "SOURCE").is_none());
    let file = expanded(quote!(source, wrt(x)), lecture_f());
    assert!(function(&file, "trace").is_none());
    assert!(constant(&file, "SOURCE").is_some());
    // Each once.
    let text = expand(quote!(trace, trace), lecture_f()).to_string();
    assert!(text.contains("compile_error"), "{text}");
}

/// Every picture is DOT: of the functions above, and of random programs over the whole
/// language (checked with `dot -Tsvg` too where Graphviz is installed, for the first few).
#[test]
fn every_picture_is_dot() {
    let mut checked = 0;
    for item in language() {
        dot_syntax::check(&graph(item));
        checked += 1;
    }
    for seed in 0..300 {
        let program = Program::generate(seed);
        let file = expanded(program.attr(), program.tokens());
        let text = without_holes(&constant(&file, "__DOT").expect("a picture").value());
        if let Err(error) = dot_syntax::parse(&text) {
            panic!("seed {seed}: {error}\n{}\n{text}", program.pretty());
        }
        if seed < 40 {
            if let Some(error) = dot_syntax::graphviz_rejects(&text) {
                panic!("seed {seed}: `dot -Tsvg`: {error}\n{}\n{text}", program.pretty());
            }
        }
        checked += 1;
    }
    assert!(checked > 300);
}

/// `SOURCE` parses as Rust, and is the generated `forward` and `backward`.
#[test]
fn source_parses_as_rust() {
    let mut items = language();
    items.extend((0..200).map(|seed| Program::generate(seed).tokens()));
    for item in items {
        let file = expanded(quote!(source), item.clone());
        let source = constant(&file, "SOURCE").expect("SOURCE").value();
        let parsed = syn::parse_file(&source).unwrap_or_else(|error| panic!("{error}\n{source}"));
        let names: Vec<String> = parsed
            .items
            .iter()
            .map(|item| match item {
                syn::Item::Fn(f) => f.sig.ident.to_string(),
                syn::Item::Struct(s) => s.ident.to_string(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(names, ["Cache", "Grad", "forward", "backward"], "{source}");
        // The same code as the module's `forward`.
        let forward = function(&file, "forward").expect("forward");
        let in_source = parsed.items.iter().find_map(|i| match i {
            syn::Item::Fn(f) if f.sig.ident == "forward" => Some(f),
            _ => None,
        });
        let text = |f: &syn::ItemFn| {
            let mut f = f.clone();
            f.attrs.retain(|a| !a.path().is_ident("doc"));
            prettyplease::unparse(&syn::File {
                shebang: None,
                attrs: Vec::new(),
                items: vec![syn::Item::Fn(f)],
            })
        };
        assert_eq!(in_source.map(text), Some(text(forward)));
    }
}

/// With `trace`, random programs expand to Rust whose trace names no float constant
/// without its type (`2.0.exp()` would not compile).
#[test]
fn traces_of_random_programs_parse() {
    for seed in 0..200 {
        let program = Program::generate(seed);
        let attr = program.attr();
        let attr = if attr.is_empty() {
            quote!(trace)
        } else {
            quote!(#attr, trace)
        };
        let file = expanded(attr, program.tokens());
        let trace = function(&file, "trace").unwrap_or_else(|| panic!("seed {seed}: no trace"));
        let text = trace.to_token_stream().to_string();
        assert!(!text.contains("compile_error"), "seed {seed}: {text}");
    }
}

#[test]
fn derivatives_in_the_documentation() {
    let file = expanded(TokenStream::new(), lecture_f());
    let text = module_docs(&file);
    for line in ["- `∂f/∂x = z`", "- `∂f/∂y = z`", "- `∂f/∂z = x + y`"] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    let forward = docs(&function(&file, "forward").expect("forward").attrs);
    assert!(forward.contains("`f(x, y, z) = (x + y) · z`"), "{forward}");

    // The sigmoid's derivative from its value, σ(1 − σ); `dot` by name.
    let text = module_docs(&expanded(TokenStream::new(), lecture_neuron()));
    for line in [
        "- `∂neuron/∂w0 = σ(dot) · (1 − σ(dot)) · x0`",
        "- `∂neuron/∂x1 = σ(dot) · (1 − σ(dot)) · w1`",
        "- `∂neuron/∂w2 = σ(dot) · (1 − σ(dot))`",
        "where `dot = w0 · x0 + w1 · x1 + w2`.",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }

    // A branch, a kink, and an array's gradient built element by element in the branches.
    let text = module_docs(&expanded(
        TokenStream::new(),
        quote! {
            fn g(w: [f64; 2], x: f64) -> f64 {
                let y = if x > 0.0 { w[0] * x } else { w[1] };
                relu(y) + x.powi(3)
            }
        },
    ));
    for line in [
        "- ∂g/∂w: an array built element by element",
        "- `∂g/∂x = 3 · x² + (if x > 0 { if relu(y) > 0 { w[0] } else { 0 } } else { 0 })`",
        "where `y = if x > 0 { w[0] · x } else { w[1] }`.",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }

    // A loop has no closed formula.
    let text = module_docs(&expanded(TokenStream::new(), language()[3].clone()));
    assert!(
        text.contains("∂neuron/∂w: computed by a loop run backwards"),
        "{text}"
    );
}

/// With `trace` and `source`, the expansion is still linear in the function's size: a
/// 1,000-deep composition expands to a bounded multiple of its input, and doubling the
/// depth doubles the expansion. (Without them, `tests.rs` bounds it at 40×.)
#[test]
fn explained_code_grows_linearly() {
    let size = |n: usize| {
        let source = format!(
            "fn f(x: f64) -> f64 {{ {}x{} }}",
            "(".repeat(n),
            ").sin()".repeat(n)
        );
        let item: TokenStream = source.parse().expect("a function");
        let output = stacker::grow(256 << 20, || {
            expand(quote!(trace, source), item).to_string().len()
        });
        (source.len(), output)
    };
    let (_, small) = size(500);
    let (input, large) = size(1000);
    let ratio = large as f64 / input as f64;
    assert!(ratio < 80.0, "the expansion is {ratio:.1}× the input");
    let growth = large as f64 / small as f64;
    assert!(
        (1.7..2.3).contains(&growth),
        "doubling the size grew the output {growth:.2}×"
    );
}

/// An array's gradient built element by element outside branches and loops is listed by
/// element.
#[test]
fn derivatives_of_array_elements() {
    let text = module_docs(&expanded(
        TokenStream::new(),
        quote! {
            fn neuron(w: [f64; 3], x: [f64; 2]) -> f64 {
                sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
            }
        },
    ));
    for line in [
        "- `∂neuron/∂w[0] = σ(w[0] · x[0] + w[1] · x[1] + w[2]) · (1 − σ(w[0] · x[0] + w[1] · x[1] + w[2])) · x[0]`",
        "- `∂neuron/∂w[2] = ",
        "- `∂neuron/∂x[1] = ",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

/// `tests/random_traces.rs`: random programs over the whole language (`random.rs`) with
/// `#[differentiate(trace)]`, each called at random arguments, its trace's numbers compared
/// with `grad`'s there (compiled and run by `cargo test`). This test keeps the file what
/// the generator makes: `RANDOM_TRACES_WRITE=1 cargo test -p chainrule-compiler random_traces`
/// rewrites it.
fn random_traces_file() -> String {
    let mut modules = String::new();
    let mut calls = String::new();
    let mut written = 0;
    let mut seed = 0;
    while written < RANDOM_TRACES {
        let program = Program::generate(seed);
        let mut rng = chainrule_testgen::Rng::new(seed ^ 0x5eed);
        let inputs = program.inputs(&mut rng);
        seed += 1;
        if program.eval(&inputs).is_err() {
            continue; // a loop that does not end at these arguments
        }
        let attr = program.attr();
        let attr = if attr.is_empty() {
            "trace, jvp".to_string()
        } else {
            format!("{attr}, trace, jvp")
        };
        let function = program.pretty().replacen("fn f", "pub fn f", 1);
        let function = function.trim_end().replace('\n', "\n    ");
        let module = format!("p{}", program.seed);
        modules.push_str(&format!(
            "#[rustfmt::skip]\nmod {module} {{\n    #[allow(unused_imports)]\n    use chainrule::{{differentiate, elu, leaky_relu, maxout, relu, sigmoid, tanh}};\n\n    #[differentiate({attr})]\n    {function}\n}}\n\n"
        ));
        let turbofish = if program.is_generic() { "::<f64>" } else { "" };
        let arguments = program.arguments(&inputs);
        calls.push_str(&format!(
            "    let (value, grad) = {module}::f::grad{turbofish}({arguments});\n    check(\"{module}\", value, &format!(\"{{grad:?}}\"), &{module}::f::trace{turbofish}({arguments}));\n    let (_, derivative) = {module}::f::jvp{turbofish}({arguments}, grad.clone());\n    check_tangent(\"{module}\", derivative, &{module}::f::trace_jvp{turbofish}({arguments}, grad.clone()));\n"
        ));
        written += 1;
    }
    format!(
        "//! Random programs over the whole language (compiler/tests/random.rs) with\n\
         //! `#[differentiate(trace, jvp)]`: at random arguments, each trace's value and input\n\
         //! gradients must be `grad`'s, bit for bit, and forward mode's picture (`trace_jvp`, along\n\
         //! the gradient) must end with `jvp`'s tangent. Generated by the derive crate's test\n\
         //! `random_traces_match_the_generator`; `RANDOM_TRACES_WRITE=1 cargo test -p chainrule-compiler\n\
         //! random_traces` rewrites it.\n\n\
         #![allow(warnings, clippy::all, clippy::pedantic, clippy::nursery)]\n\n\
         #[path = \"support/traces.rs\"]\nmod traces;\nuse traces::{{check, check_tangent}};\n\n\
         {modules}\
         #[test]\n#[rustfmt::skip]\nfn random_traces_are_grad() {{\n{calls}}}\n"
    )
}

/// How many random programs `tests/random_traces.rs` holds.
const RANDOM_TRACES: usize = 100;

#[test]
fn random_traces_match_the_generator() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/random_traces.rs");
    let expected = random_traces_file();
    if std::env::var_os("RANDOM_TRACES_WRITE").is_some() {
        std::fs::write(&path, &expected).expect("write tests/random_traces.rs");
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == expected,
        "tests/random_traces.rs is not what the generator makes: run RANDOM_TRACES_WRITE=1 cargo test -p chainrule-compiler random_traces"
    );
}

/// The compile-cost table of BENCHMARKS.md for `#[differentiate(trace, source)]`:
/// `cargo test -p chainrule-compiler --release -- --ignored compile_cost --nocapture`.
#[test]
#[ignore = "a measurement, not a check: run it to refresh BENCHMARKS.md"]
fn compile_cost_with_trace_and_source() {
    println!("| shape | operations | input bytes | output bytes | expansion (median of 5) |");
    println!("|---|---:|---:|---:|---:|");
    for shape in ["chain", "sin", "exp", "product"] {
        for n in [10, 100, 1000, 10_000] {
            if shape == "product" && n > 1000 {
                continue;
            }
            let source = super::sized_source(shape, n);
            let item: TokenStream = source.parse().expect("a function");
            let mut times = Vec::new();
            let mut size = 0;
            for _ in 0..5 {
                let started = std::time::Instant::now();
                size = stacker::grow(256 << 20, || {
                    expand(quote!(trace, source), item.clone()).to_string().len()
                });
                times.push(started.elapsed());
            }
            times.sort();
            println!("| {shape} | {n} | {} | {size} | {:.2?} |", source.len(), times[2]);
        }
    }
}

/// A constant named as one of the new items would be hidden by it inside the module.
#[test]
fn a_constant_named_like_an_item_is_an_error() {
    let item = quote! {
        fn f(x: f64) -> f64 {
            x * SOURCE
        }
    };
    let text = expand(TokenStream::new(), item.clone()).to_string();
    assert!(!text.contains("compile_error"), "{text}");
    let text = expand(quote!(source), item).to_string();
    assert!(text.contains("would hide this constant"), "{text}");
    let text = expand(
        TokenStream::new(),
        quote!(
            fn f(x: f64) -> f64 {
                x * self::graph
            }
        ),
    )
    .to_string();
    assert!(!text.contains("compile_error"), "{text}");
}
