use chainrule::differentiate;

#[differentiate]
fn f(x: f64, y: f64) -> f64 {
    println!("start");
    let r = x % y;
    let s = r.floor();
    s * 2
}

fn main() {}
