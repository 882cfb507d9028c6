use chainrule::differentiate;

type Vector = [f64; 3];

// An alias the macro cannot see into: `#[differentiate]` on it lets it.
#[differentiate]
fn norm2(v: Vector) -> f64 {
    v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
}

fn main() {}
