use chainrule::differentiate;

#[differentiate]
fn shadowed(x: f64) -> f64 {
    let scale = 2.0;
    let scaled = |t: f64| t * scale;
    let scale = 3.0;
    scaled(x) + scale
}

#[differentiate]
fn stored(x: f64) -> f64 {
    let sq = |t: f64| t * t;
    let g = sq;
    x
}

#[differentiate]
fn returns(x: f64) -> f64 {
    let clamp = |t: f64| {
        if t > 1.0 {
            return 1.0;
        }
        t
    };
    clamp(x)
}

#[differentiate]
fn arity(x: f64) -> f64 {
    let add = |a: f64, b: f64| a + b;
    add(x)
}

fn main() {}
