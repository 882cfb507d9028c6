use chainrule::differentiate;

struct Model {
    w: f64,
}

impl Model {
    #[differentiate]
    fn f(&self, x: f64) -> f64 {
        x * x
    }
}

fn main() {}
