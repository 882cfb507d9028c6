// A helper returning a tuple is inlined where it is called: it cannot call itself.
#[chainrule::differentiate]
mod m {
    fn halves(x: f64, n: u32) -> (f64, f64) {
        if n == 0 {
            (x, x)
        } else {
            let (a, b) = halves(x * 0.5, n - 1);
            (a + b, a * b)
        }
    }

    pub fn f(x: f64) -> f64 {
        let (a, b) = halves(x, 3);
        a * b
    }
}

fn main() {}
