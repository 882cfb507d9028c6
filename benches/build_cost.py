#!/usr/bin/env python3
"""`cargo build` time of a crate of 50 functions, with and without `#[differentiate]`.

Run from the repository root: `python3 benches/build_cost.py`. It writes a small crate to a
temporary folder (depending on this checkout by path), builds it once to warm the cache,
then times three debug builds each way after touching its source, and prints a table.
`python3 benches/build_cost.py "differentiate(trace, source)"` puts that attribute on the
functions instead of `differentiate`.
"""
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERMS = ["(x * y).sin()", "(x - y).exp()", "x * x + y", "(y * 0.5).tanh()", "relu(x - y)"]


ATTRIBUTE = sys.argv[1] if len(sys.argv) > 1 else "differentiate"


def write_crate(folder):
    os.makedirs(os.path.join(folder, "src"), exist_ok=True)
    with open(os.path.join(folder, "Cargo.toml"), "w") as f:
        f.write(
            '[package]\nname = "buildcost"\nversion = "0.1.0"\nedition = "2021"\n\n'
            f'[dependencies]\nchainrule = {{ path = "{ROOT}" }}\n\n[features]\ndifferentiate = []\n'
        )
    rng = random.Random(7)
    functions = []
    for k in range(50):
        body = ["let mut s = 0.0;"]
        body += [f"s += {rng.choice(TERMS)} * {i % 5 + 1}.0;" for i in range(25)]
        body.append("s")
        functions.append(
            f'#[cfg_attr(feature = "differentiate", {ATTRIBUTE})]\n'
            f"pub fn f{k}(x: f64, y: f64) -> f64 {{\n    " + "\n    ".join(body) + "\n}\n"
        )
    with open(os.path.join(folder, "src", "lib.rs"), "w") as f:
        f.write("#![allow(unused_imports)]\nuse chainrule::{differentiate, relu};\n\n" + "\n".join(functions))


def build(folder, features):
    os.utime(os.path.join(folder, "src", "lib.rs"))
    started = time.monotonic()
    subprocess.run(["cargo", "build", "-q", *features], cwd=folder, check=True)
    return time.monotonic() - started


def main():
    with tempfile.TemporaryDirectory() as folder:
        write_crate(folder)
        for features in ([], ["--features", "differentiate"]):
            build(folder, features)  # warm: dependencies built once
        print("| | run 1 | run 2 | run 3 |\n|---|---:|---:|---:|")
        for label, features in (("without the attribute", []), ("with the attribute", ["--features", "differentiate"])):
            times = [build(folder, features) for _ in range(3)]
            print(f"| {label} | " + " | ".join(f"{t:.2f} s" for t in times) + " |")


if __name__ == "__main__":
    main()
