#[differentiate]
fn pushed(xs: &[f64], k: f64) -> f64 {
    let mut squares = Vec::new();
    let mut pairs: Vec<[f64; 2]> = Vec::with_capacity(xs.len());
    for x in xs.iter() {
        if *x > 0.0 {
            squares.push(x * k);
        }
        pairs.push([*x, k]);
    }
    squares.push(k);
    let mut total = 0.0;
    for s in squares.iter() {
        total += s;
    }
    total + pairs[0][1] * pairs.len() as f64
}