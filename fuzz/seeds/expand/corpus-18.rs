#[differentiate]
fn combined_conditions(x: f64, y: f64, flag: bool, k: i32) -> f64 {
    let mut r = x + y;
    if x > 0.0 && y > 0.0 {
        r = x * y;
    }
    if !(x > y) || x < -1.0 {
        r += y.sin();
    }
    if flag && k > 2 {
        r *= x;
    } else if !flag || k == 0 {
        r -= x * y;
    } else {
        r = r.tanh();
    }
    r
}