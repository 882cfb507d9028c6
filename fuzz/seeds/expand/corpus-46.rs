#[differentiate]
fn array_loops(w: &Array2<f64>, b: &Array1<f64>, x: &Array1<f64>, k: usize) -> f64 {
    let (n, d) = w.dim();
    let mut h = Array2::zeros((n, d));
    let mut total = 0.0;
    for i in 0..n {
        let row = w.row(i);
        if row.sum() > 0.0 {
            h.row_mut(i).assign(&(&row * x));
        } else {
            total += row.dot(x) * 0.5;
        }
    }
    for j in 0..w.ncols() {
        total += w.column(j).sum() * b[j % b.len()];
    }
    for r in h.rows() {
        total += r.mapv(f64::tanh).sum();
    }
    let mut i = 0;
    while i < h.nrows() {
        total += h[[i, 0]];
        i += 1;
    }
    let head = x.slice(s![0..k]);
    total + head.sum() + w.dot(x)[0] + h.len_of(Axis(0)) as f64 * w.shape()[1] as f64
}