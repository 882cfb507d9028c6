//! Unit tests of the pipeline on `quote!` input: IR dumps, peephole rules, snapshots of
//! the generated code (reviewed when they change: `cargo insta review`, or
//! `INSTA_UPDATE=always cargo test -p chainrule-compiler` and read the diff).

use proc_macro2::TokenStream;
use quote::quote;

use chainrule_compiler::{expand, front, ir, ops, reverse};

#[path = "expansion/pictures.rs"]
mod pictures;

/// The expansion, pretty-printed; the picture's template (`__DOT`, one long line) is
/// left out: it has snapshots of its own, as DOT (`explain_tests.rs`).
fn pretty(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file).replace(&pictures::template_line(&file), "\"…\""),
        Err(error) => panic!("generated code does not parse: {error}\n{tokens}"),
    }
}

fn expand_fn(item: TokenStream) -> String {
    pretty(expand(TokenStream::new(), item))
}

/// The expansion of an item whose function takes structs, with the derives of `structs`
/// answering as the generated macros would (each `S! { @chainrule_differentiate … }` is
/// resumed with `S`'s definition).
fn expand_with(structs: &[TokenStream], attr: TokenStream, item: TokenStream) -> String {
    let defs: Vec<syn::ItemStruct> = structs
        .iter()
        .map(|s| syn::parse2(s.clone()).expect("a struct"))
        .collect();
    let mut file: syn::File = syn::parse2(expand(attr, item)).expect("parses");
    for _ in 0..8 {
        let mut items = Vec::new();
        let mut resumed = false;
        for item in file.items {
            match item {
                syn::Item::Macro(mac)
                    if mac
                        .mac
                        .tokens
                        .to_string()
                        .starts_with("@ chainrule_differentiate") =>
                {
                    let name = &mac.mac.path.segments.last().expect("a name").ident;
                    let def = defs.iter().find(|d| d.ident == *name).expect("a known struct");
                    let rest = &mac.mac.tokens;
                    let tokens = chainrule_compiler::resume(quote!((#def) #rest));
                    items.extend(syn::parse2::<syn::File>(tokens).expect("parses").items);
                    resumed = true;
                }
                other => items.push(other),
            }
        }
        file.items = items;
        if !resumed {
            break;
        }
    }
    pretty(quote::ToTokens::to_token_stream(&file))
}

fn graph_of(item: TokenStream) -> (ir::Graph, ir::NodeId) {
    let function = front::parse(TokenStream::new(), syn::parse2(item).expect("a function"))
        .unwrap_or_else(|error| panic!("rejected: {error}"));
    (function.graph, function.output)
}

#[test]
fn snapshot_lecture_simple() {
    insta::assert_snapshot!(expand_fn(quote! {
        fn f(x: f64, y: f64, z: f64) -> f64 {
            let q = x + y;
            q * z
        }
    }));
}

#[test]
fn snapshot_lecture_neuron() {
    insta::assert_snapshot!(expand_fn(quote! {
        fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
            let dot = w0 * x0 + w1 * x1 + w2;
            1.0 / (1.0 + (-dot).exp())
        }
    }));
}

/// Forward mode and second derivatives of the lecture's neuron and of a loop: `jvp`
/// (tangents `t_…` beside the values), `hvp` (forward mode over the reverse pass) and
/// `hessian`.
#[test]
fn snapshot_jvp_and_hessian() {
    insta::assert_snapshot!(pretty(expand(
        quote!(jvp, hessian),
        quote! {
            fn neuron(w: [f64; 3], x: [f64; 2]) -> f64 {
                let dot = w[0] * x[0] + w[1] * x[1] + w[2];
                1.0 / (1.0 + (-dot).exp())
            }
        }
    )));
    insta::assert_snapshot!(pretty(expand(
        quote!(jvp, hessian),
        quote! {
            fn rosenbrock(x: &[f64]) -> f64 {
                let mut s = 0.0;
                for i in 0..x.len() - 1 {
                    let a = x[i + 1] - x[i] * x[i];
                    let b = 1.0 - x[i];
                    s += 100.0 * a * a + b * b;
                }
                s
            }
        }
    )));
    // Through calls: each call's `__jvp` forward, its `__hvp` backward.
    insta::assert_snapshot!(pretty(expand(
        quote!(hessian),
        quote! {
            fn two_springs(x: f64, y: f64, k: f64) -> f64 {
                spring(x, k) + spring(y - x, 2.0 * k)
            }
        }
    )));
}

/// Vector-valued functions: the polar map (`forward` returns the array, `backward` takes an
/// upstream of its shape, `jvp` carries tangents, `jacobian` chooses its passes), and residuals
/// of run-time count collected from an iterator.
#[test]
fn snapshot_vector_valued() {
    insta::assert_snapshot!(expand_fn(quote! {
        fn polar(r: f64, theta: f64) -> (f64, f64) {
            (r * theta.cos(), r * theta.sin())
        }
    }));
    insta::assert_snapshot!(pretty(expand(
        quote!(wrt(p)),
        quote! {
            fn residuals(p: [f64; 2], xs: &[f64], ys: &[f64]) -> Vec<f64> {
                xs.iter().zip(ys).map(|(x, y)| p[0] * x + p[1] - y).collect()
            }
        }
    )));
}

/// Helpers inlined where they are called: a tuple result and a scratch vector written
/// through `&mut`, their variables renamed (`s_polar`, `x_squares`).
#[test]
fn snapshot_inlined_helpers() {
    insta::assert_snapshot!(expand_fn(quote! {
        mod kinematics {
            fn polar(r: f64, theta: f64) -> (f64, f64) {
                let (s, c) = theta.sin_cos();
                (r * c, r * s)
            }
            fn squares(xs: &[f64], scratch: &mut Vec<f64>) -> f64 {
                scratch.clear();
                for x in xs {
                    scratch.push(x * x);
                }
                scratch.iter().sum()
            }
            pub fn f(r: f64, theta: f64, xs: &[f64]) -> f64 {
                let (x, y) = polar(r, theta);
                let mut scratch = Vec::new();
                x * y + squares(xs, &mut scratch) * scratch[0]
            }
        }
    }));
}

#[test]
fn snapshot_kinks_and_reuse() {
    insta::assert_snapshot!(expand_fn(quote! {
        pub fn kinks(a: f32, b: f32) -> f32 {
            let m = a.max(b);
            let r = relu(a * b) + m.abs();
            r * a.tanh() + 2.0_f32.sqrt() * b.powi(3)
        }
    }));
}

#[test]
fn ir_of_the_lecture_function() {
    let (mut g, output) = graph_of(quote! {
        fn f(x: f64, y: f64, z: f64) -> f64 {
            let q = x + y;
            q * z
        }
    });
    assert_eq!(
        g.to_string(),
        "%0 = param x  // x\n%1 = param y  // y\n%2 = param z  // z\n%3 = add %0, %1  // q\n%4 = mul %3, %2\n"
    );
    let (adjoints, _) = reverse::reverse(&mut g, output);
    // add distributes: x and y share q's adjoint; mul switches: d_q = upstream × z.
    let d_q = adjoints.of_param[0].expect("d_x");
    assert_eq!(adjoints.of_param[1], Some(d_q));
    assert_eq!(g.op(d_q), &ir::Op::Prim(ops::Prim::Mul));
    assert_eq!(g.op(g.args(d_q)[0]), &ir::Op::Upstream);
    assert_eq!(g.args(d_q)[1], g.params[2].node);
}

#[test]
fn every_written_out_sigmoid_is_recognized() {
    for body in [
        quote!(1.0 / (1.0 + (-z).exp())),
        quote!(1.0 / (1.0 + f64::exp(-z))),
        quote!(1.0 / ((-z).exp() + 1.0)),
        quote!((1.0 + (-z).exp()).recip()),
        quote!({
            let e = (-z).exp();
            let d = 1.0 + e;
            1.0 / d
        }),
        quote!(chainrule::sigmoid(z)),
    ] {
        let (g, output) = graph_of(quote!(fn s(z: f64) -> f64 { #body }));
        assert_eq!(g.op(output), &ir::Op::Prim(ops::Prim::Sigmoid), "{body}");
    }
    // Not a sigmoid: e^{+z}, or 2 in the numerator.
    for body in [quote!(1.0 / (1.0 + z.exp())), quote!(2.0 / (1.0 + (-z).exp()))] {
        let (g, output) = graph_of(quote!(fn s(z: f64) -> f64 { #body }));
        assert_ne!(g.op(output), &ir::Op::Prim(ops::Prim::Sigmoid), "{body}");
    }
}

#[test]
fn forward_folding_is_exact_only() {
    // 0.1 + 0.2 folds (exactly rounded); sin(1.0) stays for run time.
    let (g, output) = graph_of(quote!(
        fn c(x: f64) -> f64 {
            x * (0.1 + 0.2) + 1.0_f64.sin()
        }
    ));
    let text = g.to_string();
    assert!(text.contains(&format!("const {:?}", 0.1 + 0.2)), "{text}");
    assert!(text.contains("sin"), "{text}");
    assert_eq!(g.op(output), &ir::Op::Prim(ops::Prim::Add));
    // In f32, constants are rounded and folded in f32.
    let (g, _) = graph_of(quote!(
        fn c(x: f32) -> f32 {
            x * (0.1 + 0.2)
        }
    ));
    assert!(g
        .to_string()
        .contains(&format!("const {:?}", f64::from(0.1_f32 + 0.2_f32))));
    // x * 0 is kept in the forward pass (it is NaN for infinite x) …
    let (g, output) = graph_of(quote!(
        fn c(x: f64) -> f64 {
            x * 0.0
        }
    ));
    assert_eq!(g.op(output), &ir::Op::Prim(ops::Prim::Mul));
    // … and x - (-0.0) too (it turns -0 into +0), while x - 0.0 and x * 1.0 vanish.
    let (g, output) = graph_of(quote!(
        fn c(x: f64) -> f64 {
            x - -0.0
        }
    ));
    assert_eq!(g.op(output), &ir::Op::Prim(ops::Prim::Sub));
    let (g, output) = graph_of(quote!(
        fn c(x: f64) -> f64 {
            (x - 0.0) * 1.0 / 1.0
        }
    ));
    assert_eq!(g.op(output), &ir::Op::Param(0));
}

#[test]
fn no_code_for_constants_or_unread_gradients() {
    let code = expand_fn(quote! {
        fn f(x: f64, y: f64) -> f64 {
            let unused = y.exp();
            x * 3.0 + std::f64::consts::PI.sin()
        }
    });
    let backward =
        &code[code.find("pub fn backward").expect("backward")..code.find("pub fn grad").expect("grad")];
    assert!(backward.contains("let d_x = upstream * 3.0;"), "{code}");
    assert!(backward.contains("y: 0.0"), "{code}");
    let module = &code[code.find("mod f").expect("module")..];
    assert!(!module.contains("exp"), "{code}");
    assert!(!backward.contains("sin"), "{code}");
}

#[test]
fn never_panics_on_odd_input() {
    let cases = [
        quote!(),
        quote!(fn),
        quote!(
            struct S;
        ),
        quote!(
            fn f() {}
        ),
        quote!(
            fn f() -> f64 {}
        ),
        quote!(
            fn f(x: f64) -> f64 {
                x.powi(99999999999999999999999)
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                x.powi(-9223372036854775808)
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                1e999 * x
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                x.powi(i64::MAX).powi(-1)
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                {
                    {
                        {
                            x
                        }
                    }
                }
            }
        ),
        quote!(
            fn f(self) -> f64 {
                self
            }
        ),
        quote!(
            fn f(x: f64) -> f64 {
                return;
            }
        ),
        quote!(fn f(x: f64) -> f64 { let; x }),
        quote!(
            fn f(x: f64) -> f64 {
                x.max(x, x) + sigmoid() + f64::nope(x) + ::chainrule::relu(x)
            }
        ),
    ];
    for case in cases {
        let _ = expand(TokenStream::new(), case);
        let _ = expand(
            quote!(stray, args),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
        );
    }
}

#[test]
fn snapshot_neuron_with_arrays_and_a_loop() {
    insta::assert_snapshot!(expand_fn(quote! {
        fn neuron(w: [f64; 3], x: [f64; 2]) -> f64 {
            let mut dot = w[2];
            for i in 0..2 {
                dot += w[i] * x[i];
            }
            sigmoid(dot)
        }
    }));
}

#[test]
fn snapshot_branch_and_loops() {
    insta::assert_snapshot!(expand_fn(quote! {
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
    }));
}

/// A loop nest keeps its saved values in one buffer, allocated before the nest
/// (`n * x.len()` floats), written and read at `i * x.len() + j`.
#[test]
fn snapshot_loop_nest_buffer() {
    insta::assert_snapshot!(expand_fn(quote! {
        fn llsq(x: &[f64], n: usize) -> f64 {
            let mut sum = 0.0;
            for i in 0..n {
                let t = -1.0 + (i as f64) * 2.0 / ((n - 1) as f64);
                let mut residual = t.signum();
                let mut power = 1.0;
                for &xj in x {
                    residual -= xj * power;
                    power *= t;
                }
                sum += residual * residual;
            }
            sum / 2.0
        }
    }));
}

#[test]
fn snapshot_calls_custom_rule_and_generic() {
    insta::assert_snapshot!(expand_fn(quote! {
        fn composed(a: f64, b: f64) -> f64 {
            let h = square(a) + b;
            h * layers::square(h)
        }
    }));
    insta::assert_snapshot!(expand(
        quote!(backward = erf_backward),
        quote! {
            fn erf(x: f64) -> f64 {
                libm::erf(x)
            }
        }
    )
    .to_string());
    insta::assert_snapshot!(expand_fn(quote! {
        fn softplus<T: chainrule::Real>(x: T) -> T {
            (T::one() + x.exp()).ln() * T::from_f64(0.5)
        }
    }));
}

#[test]
fn snapshot_two_layer_net() {
    insta::assert_snapshot!(expand_fn(quote! {
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
    }));
}

#[test]
fn snapshot_array_updated_in_place() {
    insta::assert_snapshot!(expand_fn(quote! {
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
    }));
}

/// Valid but extreme input: a 1,000-deep nesting, 10,000 operations, 200 parameters. Each
/// expands (no stack overflow, no hang) to code that parses.
#[test]
fn pathological_sizes() {
    stacker::grow(256 << 20, || {
        let deep = format!(
            "fn deep(x: f64) -> f64 {{ {}x{} }}",
            "(".repeat(1000),
            ").sin()".repeat(1000)
        );
        let long = format!("fn long(x: f64) -> f64 {{ x{} }}", " * 1.5 + x".repeat(10_000));
        let params: Vec<String> = (0..200).map(|k| format!("p{k}")).collect();
        let many = format!(
            "fn many({}) -> f64 {{ {} }}",
            params
                .iter()
                .map(|p| format!("{p}: f64"))
                .collect::<Vec<_>>()
                .join(", "),
            params.join(" * ")
        );
        for source in [deep, long, many] {
            let item: TokenStream = source.parse().expect("test input parses");
            let started = std::time::Instant::now();
            let expanded = expand(TokenStream::new(), item);
            let elapsed = started.elapsed();
            let file = syn::parse2::<syn::File>(expanded).expect("the expansion parses");
            assert_eq!(file.items.len(), 3, "the function, its marker and its module");
            assert!(elapsed.as_secs() < 20, "expansion took {elapsed:?}");
        }
    });
}

/// Functions of growing size for the compile-cost measurements: `n` operations in a
/// chain (`x * c + x …`), or an `n`-deep composition of one method, or a product of `n`
/// factors.
pub(crate) fn sized_source(shape: &str, n: usize) -> String {
    match shape {
        "chain" => format!("fn f(x: f64) -> f64 {{ x{} }}", " * 1.5 + x".repeat(n / 2)),
        "sin" | "exp" => {
            format!(
                "fn f(x: f64) -> f64 {{ {}x{} }}",
                "(".repeat(n),
                format!(").{shape}()").repeat(n)
            )
        }
        "product" => {
            let params: Vec<String> = (0..n).map(|k| format!("x{k}")).collect();
            let list = params
                .iter()
                .map(|p| format!("{p}: f64"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("fn f({list}) -> f64 {{ {} }}", params.join(" * "))
        }
        _ => String::new(),
    }
}

fn expansion_size(source: &str) -> usize {
    let item: TokenStream = source.parse().expect("a function");
    stacker::grow(256 << 20, || expand(TokenStream::new(), item).to_string().len())
}

/// Naive symbolic differentiation of sin(sin(…(x))) swells exponentially; reverse mode
/// over a graph is linear: the generated code of a 1,000-deep composition is a bounded
/// multiple of the input, and doubling the depth doubles it.
#[test]
fn generated_code_grows_linearly() {
    for shape in ["sin", "exp", "chain", "product"] {
        let (small, large) = (sized_source(shape, 500), sized_source(shape, 1000));
        let (small_out, large_out) = (expansion_size(&small), expansion_size(&large));
        let ratio = large_out as f64 / large.len() as f64;
        // (A product of 1,000 parameters is 43.5×: every module carries `__jvp`, forward
        // mode for its callers, whose signature takes each parameter and its tangent.)
        assert!(ratio < 45.0, "{shape}: the expansion is {ratio:.1}× the input");
        let growth = large_out as f64 / small_out as f64;
        assert!(
            (1.7..2.3).contains(&growth),
            "{shape}: doubling the size grew the output {growth:.2}×"
        );
    }
}

/// The compile-cost table of BENCHMARKS.md:
/// `cargo test -p chainrule-compiler --release -- --ignored compile_cost --nocapture`.
#[test]
#[ignore = "a measurement, not a check: run it to refresh BENCHMARKS.md"]
fn compile_cost() {
    println!("| shape | operations | input bytes | output bytes | expansion (median of 5) |");
    println!("|---|---:|---:|---:|---:|");
    for shape in ["chain", "sin", "exp", "product"] {
        for n in [10, 100, 1000, 10_000] {
            if shape == "product" && n > 1000 {
                continue; // 10,000 parameters is not a function anyone writes
            }
            let source = sized_source(shape, n);
            let mut times = Vec::new();
            let mut size = 0;
            for _ in 0..5 {
                let started = std::time::Instant::now();
                size = expansion_size(&source);
                times.push(started.elapsed());
            }
            times.sort();
            println!("| {shape} | {n} | {} | {size} | {:.2?} |", source.len(), times[2]);
        }
    }
}

#[test]
fn snapshot_tensor_two_layer_net() {
    insta::assert_snapshot!(expand_fn(quote! {
        fn two_layer(w1: &Array2<f64>, b1: &Array1<f64>, w2: &Array2<f64>, b2: &Array1<f64>, x: &Array2<f64>, y: &[usize]) -> f64 {
            let h = chainrule::relu(&(x.dot(w1) + b1));
            let scores = h.dot(w2) + b2;
            chainrule::cross_entropy(&scores, y) + 0.5 * 1e-3 * ((w1 * w1).sum() + (w2 * w2).sum())
        }
    }));
}

#[test]
fn snapshot_tensor_relu_layer() {
    insta::assert_snapshot!(pretty(expand(
        quote!(wrt(x)),
        quote! {
            fn relu_layer(x: &Array1<f64>, dy: &Array1<f64>) -> f64 {
                relu(x).dot(dy)
            }
        }
    )));
}

#[test]
fn snapshot_struct_parameter() {
    insta::assert_snapshot!(expand_with(
        &[
            quote!(
                struct Params {
                    w: [f64; 2],
                    b: f64,
                    #[chainrule(data)]
                    name: String,
                    steps: usize,
                    inner: Inner,
                }
            ),
            quote!(
                struct Inner {
                    scale: f64,
                }
            ),
        ],
        TokenStream::new(),
        quote! {
            fn loss(p: &Params, x: [f64; 2]) -> f64 {
                let mut s = p.b;
                for i in 0..p.steps {
                    s += p.w[i % 2] * x[i % 2];
                }
                p.inner.scale * s * s
            }
        }
    ));
}

#[test]
fn snapshot_method() {
    insta::assert_snapshot!(expand_with(
        &[quote!(
            struct Spring<T> {
                k: T,
                rest: T,
            }
        )],
        TokenStream::new(),
        quote! {
            impl<T: Real> Spring<T> {
                fn energy(&self, x: T) -> T {
                    T::from_f64(0.5) * self.k * (x - self.rest).powi(2)
                }
            }
        }
    ));
}

/// `self` as data, without the derive: each read bound from `self`, typed by its use.
#[test]
fn snapshot_method_data_self() {
    insta::assert_snapshot!(expand_fn(quote! {
        impl Table {
            #[differentiate(wrt(x))]
            fn value(&self, x: f64) -> f64 {
                let n = self.order;
                let mut s = self.bias;
                for i in 0..n {
                    s += self.weights[i] * x.powi(self.power) + self.knots[self.lookup[i]];
                }
                s * self.scale as f64
            }
        }
    }));
}

#[test]
fn snapshot_slice_of_structs() {
    insta::assert_snapshot!(expand_with(
        &[quote!(
            struct Sample {
                x: f64,
                y: f64,
            }
        )],
        quote!(wrt(w)),
        quote! {
            fn loss(w: f64, data: &[Sample]) -> f64 {
                data.iter().map(|s| (w * s.x - s.y).powi(2)).sum::<f64>() / data.len() as f64
            }
        }
    ));
}
