#[differentiate]
mod structs {
    #[derive(Clone, Debug, PartialEq, chainrule::Differentiable)]
    struct Layer<T> {
        w: [[T; 2]; 3],
        b: [T; 3],
    }
    #[derive(Clone, Debug, PartialEq, chainrule::Differentiable)]
    struct Params<T> {
        hidden: Layer<T>,
        out: [T; 3],
        scale: T,
        steps: usize,
        coefficients: Vec<T>,
        #[chainrule(data)]
        name: String,
    }
    fn net<T: Real>(p: &Params<T>, x: [T; 2]) -> T {
        let mut y = T::zero();
        for i in 0..3 {
            let mut z = p.hidden.b[i];
            for j in 0..2 {
                z += p.hidden.w[i][j] * x[j];
            }
            y += p.out[i] * z.tanh();
        }
        let tail = |t: T| t * p.scale;
        tail(y) + p.coefficients.iter().map(|c| *c * *c).sum::<T>() * T::from_f64(p.steps as f64)
    }
    #[derive(Clone, Debug, PartialEq, chainrule::Differentiable)]
    struct State {
        position: f64,
        velocity: f64,
    }
    fn integrate(mut s: State, k: f64, steps: u32) -> f64 {
        for _ in 0..steps {
            s.velocity += -k * s.position * 0.1;
            s.position += s.velocity * 0.1;
        }
        s.position
    }
    type Point = [f64; 2];
    #[derive(Clone, Debug, PartialEq, chainrule::Differentiable)]
    struct Sample {
        x: Point,
        y: f64,
    }
    fn data_loss(p: &Params<f64>, data: &[Sample], states: [State; 2]) -> f64 {
        let mut total = 0.0;
        for (k, s) in data.iter().enumerate() {
            total += (net(p, s.x) - s.y).powi(2) * (k as f64 + 1.0);
        }
        let last = data.iter().map(|s| s.y * s.x[1]).fold(0.0, f64::max);
        total / data.len() as f64 + data[0].y * last + integrate(states[1].clone(), 2.0, 3)
    }
}