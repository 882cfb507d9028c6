//! CS231n's spiral case study: a linear softmax classifier and a 2-layer network with 100
//! ReLU units, trained by full-batch gradient descent on the 2-D spiral data set, with the
//! gradients `#[differentiate]` writes (see `model.rs`: ordinary ndarray code).
//!
//! `cargo run --release --example spiral` checks the network's gradient against central
//! differences, trains both classifiers, prints their training accuracy, and writes PNG
//! pictures of the loss curve and of the decision regions.

mod model;

use std::error::Error;
use std::path::PathBuf;

use chainrule::ndarray::Array2;
use chainrule::Differentiable;
use indicatif::{ProgressBar, ProgressStyle};
use model::{accuracy, network_loss, spiral, Linear, Network, Rng, CLASSES, RATE, REG};
use plotters::prelude::*;

const LINEAR_STEPS: usize = 200;
const NETWORK_STEPS: usize = 10_000;

fn main() -> Result<(), Box<dyn Error>> {
    let (x, y) = spiral(0);
    let mut rng = Rng::new(1);
    println!("spiral: {} points, {CLASSES} classes", x.nrows());

    gradient_check(&x, &y, &mut rng);

    let mut linear = Linear::new(&mut rng);
    let mut linear_losses = Vec::new();
    for _ in 0..LINEAR_STEPS {
        linear_losses.push(linear.step(&x, &y, REG, RATE));
    }
    let linear_accuracy = accuracy(&linear.scores(&x), &y);
    println!(
        "linear softmax classifier: loss {:.4} → {:.4}, training accuracy {:.1}%",
        linear_losses[0],
        linear_losses[LINEAR_STEPS - 1],
        100.0 * linear_accuracy
    );

    let mut network = Network::new(&mut rng);
    let mut losses = Vec::with_capacity(NETWORK_STEPS);
    let bar = ProgressBar::new(NETWORK_STEPS as u64);
    bar.set_style(ProgressStyle::with_template(
        "training {bar:40} {pos}/{len} steps, loss {msg}",
    )?);
    for step in 0..NETWORK_STEPS {
        let loss = network.step(&x, &y, REG, RATE);
        losses.push(loss);
        if step % 100 == 0 {
            bar.set_message(format!("{loss:.4}"));
        }
        bar.inc(1);
    }
    bar.finish_with_message(format!("{:.4}", losses[NETWORK_STEPS - 1]));
    let network_accuracy = accuracy(&network.scores(&x), &y);
    println!(
        "2-layer network, 100 ReLU units: loss {:.4} → {:.4}, training accuracy {:.1}%",
        losses[0],
        losses[NETWORK_STEPS - 1],
        100.0 * network_accuracy
    );

    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("spiral");
    std::fs::create_dir_all(&directory)?;
    let curve = directory.join("spiral_loss.png");
    plot_losses(&curve, &linear_losses, &losses)?;
    let linear_regions = directory.join("spiral_linear.png");
    plot_regions(&linear_regions, &x, &y, |points| linear.scores(points))?;
    let network_regions = directory.join("spiral_network.png");
    plot_regions(&network_regions, &x, &y, |points| network.scores(points))?;
    println!("loss curve (linear red, network blue): {}", curve.display());
    println!(
        "decision regions of the linear classifier: {}",
        linear_regions.display()
    );
    println!("decision regions of the network: {}", network_regions.display());
    Ok(())
}

/// The lecture's advice: before training, compare the analytic gradient with a numerical
/// one, in every parameter, on a few points and with weights large enough that no ReLU sits
/// within a finite-difference step of its kink.
fn gradient_check(x: &Array2<f64>, y: &[usize], rng: &mut Rng) {
    let rows: Vec<usize> = (0..x.nrows()).step_by(10).collect();
    let x = &x.select(chainrule::ndarray::Axis(0), &rows);
    let y = &rows.iter().map(|&r| y[r]).collect::<Vec<_>>();
    let mut network = Network::new(rng);
    for w in [&mut network.w1, &mut network.w2] {
        w.mapv_inplace(|v| v * 50.0);
    }
    network.b1.mapv_inplace(|_| 0.1 * rng.normal());
    // The parameters and their gradient (a `Network` too) seen as flat vectors, in
    // declaration order: what a gradient check compares.
    let (_, grad) = network_loss::grad(&network, x, y, REG);
    let check = chainrule::check_gradient(
        |p: &[f64]| network_loss(&network.with_flat(p), x, y, REG),
        &network.to_flat(),
        &grad.net.to_flat(),
    );
    println!(
        "gradient check of the network ({} parameters): max relative error {:.2e}, {}",
        network.to_flat().len(),
        check.max_relative_error,
        if check.passes(1e-6) { "passed" } else { "FAILED" }
    );
    assert!(check.passes(1e-6), "the gradient check failed");
}

/// The loss per step, both classifiers, on a log scale of steps.
fn plot_losses(path: &PathBuf, linear: &[f64], network: &[f64]) -> Result<(), Box<dyn Error>> {
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = linear.iter().chain(network).copied().fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(0.0..(network.len() as f64).log10(), 0.0..top * 1.05)?;
    let curve = |losses: &[f64]| {
        losses
            .iter()
            .enumerate()
            .map(|(step, &loss)| (((step + 1) as f64).log10(), loss))
            .collect::<Vec<_>>()
    };
    chart.draw_series(LineSeries::new(curve(linear), RED.stroke_width(2)))?;
    chart.draw_series(LineSeries::new(curve(network), BLUE.stroke_width(2)))?;
    root.present()?;
    Ok(())
}

/// The class each point of the plane is given, as colored cells, and the data on top.
fn plot_regions(
    path: &PathBuf,
    x: &Array2<f64>,
    y: &[usize],
    scores: impl Fn(&Array2<f64>) -> Array2<f64>,
) -> Result<(), Box<dyn Error>> {
    const CELLS: usize = 150;
    let (low, high) = (-1.2, 1.2);
    let step = (high - low) / CELLS as f64;
    let grid = Array2::from_shape_fn((CELLS * CELLS, 2), |(k, axis)| {
        let (i, j) = (k / CELLS, k % CELLS);
        low + step * (if axis == 0 { j } else { i } as f64 + 0.5)
    });
    let predicted = scores(&grid);
    let colors = [RGBColor(230, 97, 1), RGBColor(94, 60, 153), RGBColor(26, 150, 65)];
    let pale = |c: RGBColor| RGBColor(c.0 / 3 + 170, c.1 / 3 + 170, c.2 / 3 + 170);
    let root = BitMapBackend::new(path, (600, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .build_cartesian_2d(low..high, low..high)?;
    chart.draw_series(predicted.outer_iter().enumerate().map(|(k, row)| {
        let class = (0..CLASSES).fold(0, |best, c| if row[c] > row[best] { c } else { best });
        let (px, py) = (grid[[k, 0]], grid[[k, 1]]);
        let corner = (px - step / 2.0, py - step / 2.0);
        Rectangle::new(
            [corner, (corner.0 + step, corner.1 + step)],
            pale(colors[class]).filled(),
        )
    }))?;
    chart.draw_series(
        x.outer_iter()
            .zip(y)
            .map(|(point, &class)| Circle::new((point[0], point[1]), 3, colors[class].filled())),
    )?;
    root.present()?;
    Ok(())
}
