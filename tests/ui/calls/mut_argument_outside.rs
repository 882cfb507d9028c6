use chainrule::differentiate;

fn fill(out: &mut Vec<f64>, x: f64) -> f64 {
    out.push(x);
    x
}

// A helper writing through `&mut` outside the caller's module cannot be seen.
#[differentiate]
fn f(x: f64) -> f64 {
    let mut buf = Vec::new();
    fill(&mut buf, x) * 2.0
}

fn main() {}
