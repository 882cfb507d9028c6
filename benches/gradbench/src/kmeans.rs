//! `kmeans`: evals/kmeans/README.md, the k-means cost f(P, C) = Σᵢ minⱼ ‖Cⱼ − Pᵢ‖², and
//! its "dir", J H⁻¹: the gradient divided componentwise by the Hessian's diagonal (the
//! Hessian is diagonal: 2 |cluster j| for each of centroid j's coordinates), the Newton
//! direction. Points and centroids are flat and row-major (`points[i * d + c]`).

use chainrule::differentiate;

/// The cost, as a user writes it from the README: for each point, the smallest squared
/// distance to a centroid, summed.
#[differentiate(wrt(centroids), hessian)]
pub fn cost(points: &[f64], centroids: &[f64], d: usize) -> f64 {
    points
        .chunks(d)
        .map(|p| {
            centroids
                .chunks(d)
                .map(|c| {
                    p.iter()
                        .zip(c.iter())
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min)
        })
        .sum()
}

/// GradBench's "dir" by chainrule: the gradient and the Hessian's diagonal from one `hvp`
/// along the all-ones direction (H is diagonal, so H·1 is its diagonal: what GradBench's
/// Futhark and JAX tools do; the dense `cost::hessian` would take k · d passes), then J / H.
pub fn dir(points: &[f64], centroids: &[f64], d: usize) -> (f64, Vec<f64>) {
    let ones = cost::Grad {
        centroids: vec![1.0; centroids.len()],
    };
    let (value, gradient, diagonal) = cost::hvp(points, centroids, d, ones);
    let direction = gradient
        .centroids
        .iter()
        .zip(&diagonal.centroids)
        .map(|(g, h)| g / h)
        .collect();
    (value, direction)
}

/// The same cost written for the sparse adjoint of the minimum (the README's third point):
/// the closest centroid found first, as an index, then its squared distance summed. The
/// backward pass of `cost` runs every (point, centroid) pair's distance backwards, zeros
/// included; this one's runs only each point's closest (n · d instead of n · k · d).
#[differentiate(wrt(centroids), hessian)]
pub fn cost_argmin(points: &[f64], centroids: &[f64], d: usize) -> f64 {
    let n = points.len() / d;
    let k = centroids.len() / d;
    let mut cost = 0.0;
    for i in 0..n {
        let mut closest = f64::INFINITY;
        let mut best = 0;
        for j in 0..k {
            let mut distance = 0.0;
            for c in 0..d {
                let difference = points[i * d + c] - centroids[j * d + c];
                distance += difference * difference;
            }
            if distance < closest {
                closest = distance;
                best = j;
            }
        }
        for c in 0..d {
            let difference = points[i * d + c] - centroids[best * d + c];
            cost += difference * difference;
        }
    }
    cost
}

/// "dir" by `cost_argmin`'s `hvp` along the ones, as `dir`.
pub fn dir_argmin(points: &[f64], centroids: &[f64], d: usize) -> (f64, Vec<f64>) {
    let ones = cost_argmin::Grad {
        centroids: vec![1.0; centroids.len()],
    };
    let (value, gradient, diagonal) = cost_argmin::hvp(points, centroids, d, ones);
    let direction = gradient
        .centroids
        .iter()
        .zip(&diagonal.centroids)
        .map(|(g, h)| g / h)
        .collect();
    (value, direction)
}

/// Each point's closest centroid (the first on a tie, as the cost's `min` takes it) and the
/// squared distance to it.
fn closest(point: &[f64], centroids: &[f64], d: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, c) in centroids.chunks(d).enumerate() {
        let distance: f64 = point.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
        if distance < best.1 {
            best = (j, distance);
        }
    }
    best
}

/// The value and the gradient by hand: ∂f/∂Cⱼ = 2 Σ_{i in cluster j} (Cⱼ − Pᵢ)
/// = 2 (|cluster j| Cⱼ − Σ Pᵢ).
pub fn gradient_by_hand(points: &[f64], centroids: &[f64], d: usize) -> (f64, Vec<f64>) {
    let mut gradient = vec![0.0; centroids.len()];
    let mut value = 0.0;
    for p in points.chunks(d) {
        let (j, distance) = closest(p, centroids, d);
        value += distance;
        for c in 0..d {
            gradient[j * d + c] += 2.0 * (centroids[j * d + c] - p[c]);
        }
    }
    (value, gradient)
}

/// "dir" by hand, as tools/manual/kmeans.cpp computes it: the clusters' sizes and sums, then
/// J / H = 2 (|j| Cⱼ − Σ Pᵢ) / (2 |j|) = Cⱼ − mean of cluster j.
pub fn dir_by_hand(points: &[f64], centroids: &[f64], d: usize) -> (f64, Vec<f64>) {
    let k = centroids.len() / d;
    let mut sizes = vec![0usize; k];
    let mut sums = vec![0.0; centroids.len()];
    let mut value = 0.0;
    for p in points.chunks(d) {
        let (j, distance) = closest(p, centroids, d);
        value += distance;
        sizes[j] += 1;
        for c in 0..d {
            sums[j * d + c] += p[c];
        }
    }
    let direction = (0..centroids.len())
        .map(|t| centroids[t] - sums[t] / sizes[t / d] as f64)
        .collect();
    (value, direction)
}

/// GradBench's sizes (evals/kmeans: every `-k` 10, 100, 1,000 with every `-n` 1,000, 10,000
/// and `-d` 8, 16, ordered by k · n · d as the eval sends them), as (k, n, d).
pub const SIZES: &[(usize, usize, usize)] = &[
    (10, 1000, 8),
    (10, 1000, 16),
    (10, 10000, 8),
    (100, 1000, 8),
    (10, 10000, 16),
    (100, 1000, 16),
    (100, 10000, 8),
    (1000, 1000, 8),
    (100, 10000, 16),
    (1000, 1000, 16),
    (1000, 10000, 8),
    (1000, 10000, 16),
];

/// The points and centroids of size (k, n, d) as evals/kmeans/run.py makes them: n · d
/// uniform in [0, 1), and the last k points as the centroids (so that no cluster is empty).
pub fn input(k: usize, n: usize, d: usize) -> (Vec<f64>, Vec<f64>) {
    let points = crate::Uniform::new(31337 + (n * d) as u64).vector(n * d);
    let centroids = points[(n - k) * d..].to_vec();
    (points, centroids)
}
