use chainrule::Differentiable;

#[derive(Clone, Debug, PartialEq, Differentiable)]
enum Choice {
    A(f64),
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Pair(f64, f64);

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Counts {
    n: usize,
    flag: bool,
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Marked {
    w: f64,
    #[chainrule(skip)]
    name: String,
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Borrowed<'a> {
    w: &'a [f64],
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Unsupported {
    w: f64,
    name: String,
}

fn main() {}
