//! The spiral case study: the 2-layer network trained by gradient descent with the
//! generated gradients reaches at least 97% training accuracy; the linear classifier about
//! 50%. (Dependencies are optimized in test builds, see Cargo.toml, so this takes seconds.)
#![cfg(feature = "ndarray")]

#[path = "../examples/spiral/model.rs"]
mod model;

use model::{accuracy, spiral, Linear, Network, Rng, RATE, REG};

/// Gradient-descent steps of the network (the case study takes 10,000; 97% comes sooner).
const NETWORK_STEPS: usize = 2500;

#[test]
fn the_network_separates_the_spiral() {
    let (x, y) = spiral(0);
    let mut rng = Rng::new(1);
    let mut network = Network::new(&mut rng);
    let first = network.step(&x, &y, REG, RATE);
    let mut last = first;
    for _ in 1..NETWORK_STEPS {
        last = network.step(&x, &y, REG, RATE);
    }
    let trained = accuracy(&network.scores(&x), &y);
    assert!(last < first / 3.0, "the loss fell: {first} → {last}");
    assert!(trained >= 0.97, "training accuracy {trained}");
}

#[test]
fn the_linear_classifier_reaches_about_half() {
    let (x, y) = spiral(0);
    let mut rng = Rng::new(1);
    let mut linear = Linear::new(&mut rng);
    for _ in 0..200 {
        linear.step(&x, &y, REG, RATE);
    }
    let trained = accuracy(&linear.scores(&x), &y);
    assert!((0.4..0.65).contains(&trained), "training accuracy {trained}");
}
