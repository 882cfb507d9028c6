#[differentiate]
fn stretched(x: &Array2<f64>, w: &Array2<f64>, row: &Array1<f64>) -> f64 {
    let column = x.dot(w);
    (&column + row).mapv(f64::sin).sum() + (row * &column).sum()
}