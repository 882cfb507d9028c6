#[differentiate]
fn arrays(a: ArrayView2<f64>, v: &Array1<f64>, k: usize) -> f64 {
    let mut z = a.t().dot(v).mapv(f64::tanh);
    z *= 2.0;
    let p = softmax(&(&a.sum_axis(Axis(1)) - v.mean().unwrap()));
    z.mapv(|t| t.max(0.0) * t).sum() + p[k] + a[[0, 1]] + a.row(0).sum() + log_softmax(&z).sum()
}