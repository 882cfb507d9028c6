#[differentiate]
impl Spring {
    fn split(x: f64, limit: f64) -> (f64, f64) {
        if x > limit {
            return (limit, x - limit);
        }
        x.sin_cos()
    }
    fn fill(x: f64, out: &mut [f64]) {
        let (a, b) = Self::split(x, 2.0);
        out[0] = a;
        out[1] = b;
    }
    fn ends(&self, theta: f64) -> (f64, f64) {
        (self.k * theta.cos(), self.rest * theta.sin())
    }
    fn reach(&self, theta: f64) -> f64 {
        let (ex, ey) = self.ends(theta);
        let (s, c) = Self::split(theta + ex * ey, self.rest);
        let mut buf = [0.0; 2];
        Self::fill(theta * 0.5, &mut buf);
        let (p, q) = if s > c { (s * self.k, c) } else if c > 0.0 { let t = c.exp(); (t, s) } else { (c, s) };
        let (u, _) = match (theta.abs() * 3.0) as usize { 0 => (p, q), 1 | 2 => (q, p), _ => (1.0, 0.0) };
        p * q * u + buf[0] * buf[1] + buf[((theta.abs() * 2.0) as usize).clamp(0, 1)]
    }
}