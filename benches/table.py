#!/usr/bin/env python3
"""The run-time table of BENCHMARKS.md: `python3 benches/table.py [runs]` (default 5).

Runs `cargo bench --bench gradients` several times in a row and prints, per function, the
median over the runs of each run's criterion median (target/criterion/<group>/<routine>/
new/estimates.json), and the ratios grad / hand-written and grad / forward: the median of
the per-run ratios (the three routines of a function are measured back to back within a
run), with their range over the runs. A loaded machine swings single runs by tens of
percent; ratios within a run swing less.
"""

import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRITERION = os.path.join(ROOT, "target", "criterion")

# (label, criterion group, parameter or None)
FUNCTIONS = [
    ("neuron, 5 scalars", "neuron_scalar", None),
    ("neuron, arrays", "neuron_array", None),
    ("Rosenbrock, n = 10", "rosenbrock", "10"),
    ("Rosenbrock, n = 100", "rosenbrock", "100"),
    ("Rosenbrock, n = 1,000", "rosenbrock", "1000"),
    ("2-layer net 4 → 8 → 1", "two_layer", None),
    ("chain of 20 calls", "chain", None),
]
ROUTINES = ["grad", "hand", "forward"]


def median_ns(group, routine, parameter):
    parts = [CRITERION, group, routine] + ([parameter] if parameter else []) + ["new", "estimates.json"]
    with open(os.path.join(*parts)) as f:
        return json.load(f)["median"]["point_estimate"]


def show_time(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.1f} ns"


def show_ratio(ratios, goal):
    middle = statistics.median(ratios)
    text = f"{middle:.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"
    return f"**{text}**" if middle > goal else text


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    samples = {f: {r: [] for r in ROUTINES} for f, _, _ in FUNCTIONS}
    for run in range(runs):
        print(f"run {run + 1} of {runs} …", file=sys.stderr)
        subprocess.run(
            ["cargo", "bench", "--bench", "gradients"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for label, group, parameter in FUNCTIONS:
            for routine in ROUTINES:
                samples[label][routine].append(median_ns(group, routine, parameter))
    print("| function | grad | hand-written | forward | grad / hand-written (goal ≤ 1.10×) | grad / forward (goal ≤ 3×) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, _, _ in FUNCTIONS:
        s = samples[label]
        by_hand = [g / h for g, h in zip(s["grad"], s["hand"])]
        by_forward = [g / f for g, f in zip(s["grad"], s["forward"])]
        times = " | ".join(show_time(statistics.median(s[r])) for r in ROUTINES)
        print(f"| {label} | {times} | {show_ratio(by_hand, 1.10)} | {show_ratio(by_forward, 3.0)} |")


if __name__ == "__main__":
    main()
