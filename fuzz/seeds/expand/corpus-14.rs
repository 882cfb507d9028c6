#[differentiate]
fn composed(a: f64, w: [f64; 2], b: f64) -> f64 {
    let h = square(a) + inner::cube(b);
    let x = [h, a];
    let mut s = 0.0;
    for i in 0..3 {
        s += layer(w, x, b * i as f64);
    }
    s * square(h)
}