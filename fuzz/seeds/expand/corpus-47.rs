#[differentiate]
mod layers {
    use super::*;
    fn energy(v: &Array1<f64>) -> f64 {
        v.mapv(f64::tanh).dot(v) * 0.5
    }
    fn by_view(v: ArrayView1<f64>, c: f64) -> f64 {
        v.sum() * c
    }
    fn owned(v: Array1<f64>) -> f64 {
        (&v * &v).sum()
    }
    pub fn loss(w: &Array2<f64>, x: &Array1<f64>) -> f64 {
        let mut total = 0.0;
        for i in 0..w.nrows() {
            total += energy(&w.row(i).to_owned()) + by_view(w.row(i), 2.0);
        }
        let mut z = Array1::zeros(x.len());
        z.assign(&x.mapv(f64::sin));
        total + energy(&z) + owned(w.dot(x))
    }
}