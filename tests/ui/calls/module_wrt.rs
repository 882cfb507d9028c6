use chainrule::differentiate;

#[differentiate(wrt(x))]
mod m {
    fn f(x: f64, y: f64) -> f64 {
        x * y
    }
}

fn main() {}
