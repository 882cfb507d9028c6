use chainrule::differentiate;

#[differentiate]
fn break_in_a_value(x: f64) -> f64 {
    let mut s = x;
    for _ in 0..3 {
        let a = if s > 2.0 { break } else { 1.0 };
        s += a;
    }
    s
}

#[differentiate]
fn endless(x: f64) -> f64 {
    let mut s = x;
    loop {
        s *= 2.0;
    }
}

#[differentiate]
fn break_value_of_a_for(x: f64) -> f64 {
    let mut s = x;
    for _ in 0..3 {
        s += 1.0;
        if s > 2.0 {
            break 'missing;
        }
    }
    s
}

fn main() {}
