use chainrule::differentiate;

#[differentiate(wrt(w))]
fn layer(w: f64, x: f64) -> f64 {
    w * x
}

#[differentiate]
fn net(w: f64, x: f64) -> f64 {
    layer(w, layer(w, x))
}

fn main() {}
