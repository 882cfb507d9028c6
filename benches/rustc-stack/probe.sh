#!/usr/bin/env bash
# The largest straight-line function that builds in the default dev profile, with and without
# `#[differentiate]` (issue 13): `bash benches/rustc-stack/probe.sh 2500 2900 3000` builds, for
# each line count, a crate whose one function is `let aₖ = aₖ₋₁ * 0.999 + aₖ₋₂.sin() * 0.001;`
# that many times, once plain and once with the attribute, and says which build.
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/src"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "stack-probe"
version = "0.0.0"
edition = "2021"

[dependencies]
chainrule = { path = "$root", default-features = false }

[workspace]
TOML
for n in "$@"; do
    for attribute in "" "#[differentiate]"; do
        {
            echo "use chainrule::differentiate;"
            echo "$attribute"
            echo "pub fn f(x: f64, y: f64) -> f64 {"
            echo "    let a0 = x * y;"
            echo "    let a1 = x + y;"
            for ((k = 2; k < n; k++)); do
                echo "    let a$k = a$((k - 1)) * 0.999 + a$((k - 2)).sin() * 0.001;"
            done
            echo "    a$((n - 1))"
            echo "}"
        } > "$dir/src/lib.rs"
        start=$(date +%s.%N)
        if cargo build -q --manifest-path "$dir/Cargo.toml" > /dev/null 2>&1; then result=builds; else result=fails; fi
        end=$(date +%s.%N)
        printf '%6d lines %-18s %s (%.1f s)\n' "$n" "${attribute:-plain}" "$result" "$(echo "$end - $start" | bc)"
    done
done
