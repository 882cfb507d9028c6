#[differentiate(wrt(x))]
impl Table {
    fn value(&self, x: f64) -> f64 {
        let n = self.order;
        let ws = self.weights;
        let mut s = self.bias;
        for i in 0..n {
            s += ws[i] * (x - self.knots[self.lookup[i]]).powi(self.power) / (i + 1) as f64;
        }
        let spread = self.knots.iter().map(|k| (x - k).abs()).sum::<f64>() / self.knots.len() as f64;
        let m = self.order;
        if self.clamped && s > 1.0 { 1.0 + spread } else { s * self.scale as f64 + self.order as f64 * x + m as f64 }
    }
}