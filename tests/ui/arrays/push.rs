use chainrule::differentiate;

#[differentiate]
fn f(xs: &[f64]) -> f64 {
    // `Vec::new()` holds floats unless its type is written, or the first push is an array
    // written out.
    let mut pairs = Vec::new();
    for i in 0..xs.len() {
        let pair = [xs[i], 2.0 * xs[i]];
        pairs.push(pair);
    }
    pairs[0][1]
}

fn main() {}
