use chainrule::differentiate;

struct Table {
    k: f64,
    grid: Vec<Vec<f64>>,
}

fn total(t: &Table) -> f64 {
    t.k
}

#[differentiate(wrt(x))]
impl Table {
    // `self` whole cannot be passed on: the macro does not see the struct.
    fn whole(&self, x: f64) -> f64 {
        total(self) * x
    }

    // Nor its methods called.
    fn calls(&self, x: f64) -> f64 {
        self.whole(x) * x
    }

    // Data arrays are one-dimensional.
    fn twice(&self, x: f64) -> f64 {
        self.grid[0][1] * x
    }

    // A field of data is not assigned.
    fn assigns(mut self, x: f64) -> f64 {
        self.k = 2.0;
        self.k * x
    }
}

struct Opaque {
    k: f64,
}

// Differentiated with respect to `self`: the struct needs the derive.
#[differentiate]
impl Opaque {
    fn energy(&self, x: f64) -> f64 {
        self.k * x
    }
}

fn main() {}
