#[differentiate]
mod inlined {
    fn polar(r: f64, theta: f64) -> (f64, f64) {
        let (s, c) = theta.sin_cos();
        (r * c, r * s)
    }
    fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    }
    fn squares(xs: &[f64], scratch: &mut Vec<f64>) -> f64 {
        scratch.clear();
        for x in xs {
            scratch.push(x * x);
        }
        scratch.iter().sum()
    }
    fn sines(xs: &[f64], out: &mut [f64], cap: f64) -> f64 {
        for i in 0..xs.len() {
            out[i] = (xs[i] * cap).sin();
        }
        if xs[0] > cap {
            return out[0];
        }
        out[0] * 2.0
    }
    fn accumulate(total: &mut f64, x: f64) {
        *total += x.tanh();
    }
    fn rotated<T: Real>(x: T, y: T) -> (T, T) {
        let (a, b) = polar(x.hypot(y), y.atan2(x));
        (a, b)
    }
    pub fn motion(r: f64, theta: f64, xs: &[f64], w: [f64; 3]) -> f64 {
        let (x, y) = polar(r, theta);
        let n = cross(w, [x, y, 1.0]);
        let mut scratch = Vec::new();
        let mut buf = vec![0.0; xs.len()];
        let mut total = 0.0;
        accumulate(&mut total, x * y);
        let (a, b) = rotated(x, y);
        total + n[0] + squares(xs, &mut scratch) * scratch[1] + sines(xs, &mut buf, r) + buf[1] * a - b
    }
}