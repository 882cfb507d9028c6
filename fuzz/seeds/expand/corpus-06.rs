#[differentiate]
fn match_statement(x: f64, y: f64, mode: u32) -> f64 {
    let mut s = x;
    match mode {
        0 => s += y,
        1 | 3 => {
            s *= y;
            s = s.tanh();
        }
        4..=6 => {
            let t = y * y;
            s = s / t;
        }
        _ => {}
    }
    s * x
}