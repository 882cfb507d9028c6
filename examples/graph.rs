//! The lecture's two computational graphs, drawn with their numbers:
//! `cargo run --example graph [folder]`.
//!
//! For each function, `f::trace(…)` draws the graph `#[differentiate]` computes as
//! Graphviz DOT, annotated as in the lecture: above each edge the value flowing forward
//! (green), below it the gradient flowing back (red). This writes the pictures as `.dot`
//! files into the folder (default `target/graphs`) and, where Graphviz's `dot` is
//! installed (Debian: `apt-get install graphviz`), renders each to PNG.

use std::path::{Path, PathBuf};
use std::process::Command;

use chainrule::{differentiate, sigmoid};

/// The lecture's first example: f(x, y, z) = (x + y) · z.
#[differentiate(trace)]
fn f(x: f64, y: f64, z: f64) -> f64 {
    let q = x + y;
    q * z
}

/// The lecture's 2-D neuron, written out. The macro recognizes the sigmoid and computes
/// it as one σ gate (local gradient σ(1 − σ)), so that is what the picture shows.
#[differentiate(trace)]
fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let dot = w0 * x0 + w1 * x1 + w2;
    1.0 / (1.0 + (-dot).exp())
}

/// The same neuron with arrays and a loop: the loop is a cluster holding its body once.
#[differentiate(trace)]
fn neuron_loop(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = w[2];
    for i in 0..2 {
        dot += w[i] * x[i];
    }
    sigmoid(dot)
}

fn main() -> std::io::Result<()> {
    let folder = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/graphs"));
    std::fs::create_dir_all(&folder)?;
    let pictures = [
        ("lecture-f", f::trace(-2.0, 5.0, -4.0)),
        ("neuron", neuron::trace(2.0, -1.0, -3.0, -2.0, -3.0)),
        ("neuron-loop", neuron_loop::trace([2.0, -3.0, -3.0], [-1.0, -2.0])),
    ];
    let graphviz = Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    for (name, dot) in &pictures {
        let path = folder.join(format!("{name}.dot"));
        std::fs::write(&path, dot)?;
        println!("wrote {}", path.display());
        if graphviz {
            render(&path, &folder.join(format!("{name}.png")))?;
        }
    }
    if !graphviz {
        println!("Graphviz's `dot` is not installed: render the files with `dot -Tpng file.dot -o file.png`");
        println!("(Debian and Ubuntu: `apt-get install graphviz`).");
    }
    println!();
    println!("f(x, y, z) = (x + y) · z without numbers, as `f::graph()` draws it:");
    println!();
    print!("{}", f::graph());
    Ok(())
}

fn render(dot: &Path, png: &Path) -> std::io::Result<()> {
    let status = Command::new("dot")
        .arg("-Tpng")
        .arg("-Gdpi=110")
        .arg(dot)
        .arg("-o")
        .arg(png)
        .status()?;
    if status.success() {
        println!("rendered {}", png.display());
    } else {
        println!("`dot` failed on {}", dot.display());
    }
    Ok(())
}
