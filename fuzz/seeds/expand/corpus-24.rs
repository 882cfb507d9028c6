#[differentiate(wrt(w1, b1, w2, b2))]
fn net(w1: &Array2<f64>, b1: &Array1<f64>, w2: &Array2<f64>, b2: &Array1<f64>, x: &Array2<f64>, y: &[usize]) -> f64 {
    let h = relu(&(x.dot(w1) + b1));
    let scores = h.dot(w2) + b2;
    cross_entropy(&scores, y) + 0.5 * 1e-3 * ((w1 * w1).sum() + (w2 * w2).sum())
}