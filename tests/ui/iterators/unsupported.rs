use chainrule::differentiate;

#[differentiate]
fn collected(xs: &[f64]) -> f64 {
    let doubled = xs.iter().map(|x| x * 2.0).collect::<std::collections::VecDeque<f64>>();
    xs[0]
}

#[differentiate]
fn max_by(xs: &[f64]) -> f64 {
    *xs.iter().max_by(|a, b| a.total_cmp(b)).unwrap()
}

#[differentiate]
fn zip_after_filter(xs: &[f64], ys: &[f64]) -> f64 {
    xs.iter().filter(|x| **x > 0.0).zip(ys).map(|(x, y)| x * y).sum()
}

#[differentiate]
fn take_while(xs: &[f64]) -> f64 {
    xs.iter().take_while(|x| **x > 0.0).sum()
}

#[differentiate]
fn window_passed_on(xs: &[f64]) -> f64 {
    xs.windows(2).map(|w| w.first().unwrap() * 2.0).sum()
}

fn main() {}
