#[differentiate]
fn jumps(xs: &[f64], w: [f64; 3], x: f64) -> f64 {
    let mut s = x;
    'outer: for i in 0..xs.len() {
        for j in (0..3).rev() {
            if xs[i] * w[j] > 2.0 {
                continue 'outer;
            }
            if w[j] < -1.0 {
                break 'outer;
            }
            s += xs[i] * w[j];
        }
    }
    for &v in xs.iter() {
        if v > 3.0 {
            return s * v;
        }
    }
    let mut k = 0;
    let t = loop {
        k += 1;
        s = s * 0.5 + 1.0;
        if k >= 10 {
            break s * 2.0;
        }
    };
    while s > 0.1 {
        s *= 0.5;
        if s < t {
            break;
        }
    }
    s + t
}