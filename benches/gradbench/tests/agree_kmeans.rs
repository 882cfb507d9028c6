//! kmeans: chainrule's gradient and "dir" (J / diag H, the diagonal from one `hvp` along
//! the ones), of `cost` and of `cost_argmin`, against the manual cluster sums
//! (tools/manual/kmeans.cpp), at GradBench's sizes up to k · n · d = 1.6 · 10⁷ (10 of the
//! 12: k = 1,000 with n = 10,000 takes 10 to 15 s in a debug build, and is the benchmark's).
//! Values to 1e-12 relative, gradients and directions componentwise to 1e-9; the dense
//! Hessian on a small problem.

use chainrule_gradbench::{agree, kmeans};

#[test]
fn kmeans_agrees_with_the_cluster_sums() {
    for &(k, n, d) in kmeans::SIZES.iter().filter(|(k, n, d)| k * n * d <= 16_000_000) {
        let (points, centroids) = kmeans::input(k, n, d);
        let (value, grad) = kmeans::cost::grad(&points, &centroids, d);
        let (expected, by_hand) = kmeans::gradient_by_hand(&points, &centroids, d);
        let (dir_value, dir) = kmeans::dir(&points, &centroids, d);
        let (by_hand_value, dir_by_hand) = kmeans::dir_by_hand(&points, &centroids, d);
        let at = format!("k = {k}, n = {n}, d = {d}");
        assert_eq!(
            value,
            kmeans::cost(&points, &centroids, d),
            "{at}: grad's value is the function's"
        );
        assert_eq!(
            (dir_value, by_hand_value),
            (value, expected),
            "{at}: the values of dir"
        );
        assert!(
            (value - expected).abs() <= 1e-12 * expected.abs(),
            "{at}: {value} vs {expected}"
        );
        agree(&grad.centroids, &by_hand, 1e-9, 1e-14).unwrap_or_else(|e| panic!("kmeans gradient {at}: {e}"));
        agree(&dir, &dir_by_hand, 1e-9, 1e-14).unwrap_or_else(|e| panic!("kmeans dir {at}: {e}"));
        // The argmin form: the hand gradient's arithmetic (the points summed backwards).
        let (argmin_value, argmin) = kmeans::cost_argmin::grad(&points, &centroids, d);
        assert_eq!(argmin_value, kmeans::cost_argmin(&points, &centroids, d), "{at}");
        assert!(
            (argmin_value - expected).abs() <= 1e-12 * expected.abs(),
            "{at}: {argmin_value} vs {expected}"
        );
        agree(&argmin.centroids, &by_hand, 1e-9, 1e-14)
            .unwrap_or_else(|e| panic!("kmeans argmin gradient {at}: {e}"));
        agree(
            &kmeans::dir_argmin(&points, &centroids, d).1,
            &dir_by_hand,
            1e-9,
            1e-14,
        )
        .unwrap_or_else(|e| panic!("kmeans dir_argmin {at}: {e}"));
    }
}

/// The dense Hessian of a small problem is diagonal, 2 |cluster j| on centroid j's
/// coordinates, and `hvp` along the ones is that diagonal; the gradient is a central
/// difference's.
#[test]
fn kmeans_hessian_is_diagonal() {
    let (k, n, d) = (4, 30, 3);
    let (points, centroids) = kmeans::input(k, n, d);
    let (value, grad, h) = kmeans::cost::hessian(&points, &centroids, d);
    assert_eq!(value, kmeans::cost(&points, &centroids, d));
    assert_eq!(grad, kmeans::cost::grad(&points, &centroids, d).1);
    let mut sizes = vec![0.0; k];
    for p in points.chunks(d) {
        let distances: Vec<f64> = centroids
            .chunks(d)
            .map(|c| p.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum())
            .collect();
        let j = (0..k).fold(0, |best, j| if distances[j] < distances[best] { j } else { best });
        sizes[j] += 1.0;
    }
    assert!(sizes.iter().all(|&s| s > 0.0), "{sizes:?}");
    assert_eq!(h.size(), k * d);
    for a in 0..k * d {
        for b in 0..k * d {
            let expected = if a == b { 2.0 * sizes[a / d] } else { 0.0 };
            assert_eq!(h[(a, b)], expected, "H[{a}, {b}]");
        }
    }
    let (_, _, h_argmin) = kmeans::cost_argmin::hessian(&points, &centroids, d);
    assert_eq!(h_argmin.to_rows(), h.to_rows(), "cost_argmin's Hessian");
    let ones = kmeans::cost::Grad {
        centroids: vec![1.0; k * d],
    };
    let (_, _, diagonal) = kmeans::cost::hvp(&points, &centroids, d, ones);
    assert_eq!(
        diagonal.centroids,
        (0..k * d).map(|a| h[(a, a)]).collect::<Vec<_>>()
    );
    let step = 1e-6;
    for a in 0..k * d {
        let moved = |s: f64| {
            let mut c = centroids.clone();
            c[a] += s;
            kmeans::cost(&points, &c, d)
        };
        let numeric = (moved(step) - moved(-step)) / (2.0 * step);
        assert!(
            (numeric - grad.centroids[a]).abs() < 1e-6,
            "{a}: {numeric} vs {}",
            grad.centroids[a]
        );
    }
}
