#[differentiate]
fn element_updates(a: [f64; N], x: f64) -> f64 {
    let mut b = [0.0; N];
    let mut m = [[1.0; 2]; N];
    for i in 0..N {
        b[i] = a[i] * x;
        b[i] += 1.0;
        b[i] -= x * x;
        b[i] *= a[i];
        b[i] /= 1.0 + x * x;
        m[i][0] += b[i];
        m[i][1] *= b[i] - a[i];
    }
    let mut s = 0.0;
    for i in 0..N - 1 {
        s += (b[i + 1] - b[i]) * m[i][0] + m[i + 1][1];
    }
    let flat = [a[0], a[1], b[2], x];
    for i in 0..2 {
        for j in 0..2 {
            s += flat[i * 2 + j] * m[j][i];
        }
    }
    s
}