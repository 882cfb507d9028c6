use chainrule::{differentiate, Differentiable};

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Spring {
    k: f64,
}

#[differentiate]
impl Spring {
    // A differentiated method changes nothing.
    fn stretch(&mut self, x: f64) -> f64 {
        self.k * x
    }
}

trait Energy {
    fn energy(&self, x: f64) -> f64;
}

#[differentiate]
impl Energy for Spring {
    fn energy(&self, x: f64) -> f64 {
        self.k * x * x
    }
}

fn main() {}
