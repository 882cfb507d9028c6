#[differentiate]
impl Spring {
    fn energy(&self, x: f64) -> f64 {
        0.5 * self.k * (x - self.rest).powi(2) + Self::OFFSET
    }
    fn stiffer(self, by: f64) -> f64 {
        self.k * by + self.energy(by)
    }
    fn label(&self) -> usize {
        3
    }
}