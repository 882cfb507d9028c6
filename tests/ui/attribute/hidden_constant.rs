use chainrule::differentiate;

const SOURCE: f64 = 2.0;

#[differentiate(source)]
fn f(x: f64) -> f64 {
    x * SOURCE
}

fn main() {}
