use chainrule::differentiate;

#[differentiate]
fn polar(r: f64, theta: f64) -> [f64; 2] {
    [r * theta.cos(), r * theta.sin()]
}

#[differentiate]
fn caller(r: f64) -> f64 {
    let point = polar(r, 0.5);
    point[0] * point[1]
}

#[differentiate]
fn direct(r: f64) -> f64 {
    polar(r, 0.5)[1]
}

fn main() {}
