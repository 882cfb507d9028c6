//! ba: chainrule's per-observation Jacobian blocks (`reprojection_error::jacobian`) against
//! the chain of the stages' Jacobians by hand, assembled into GradBench's sparse matrix, at
//! GradBench's sizes ba1 … ba5 (p ≤ 225,911; the rest, to p = 1.26 M, are the benchmark's:
//! in a debug build each takes several seconds). Values to 1e-12 relative, Jacobian entries
//! componentwise to 1e-9 (or 1e-11, cancellation's rounding); the same sparsity pattern, entry for entry.

use chainrule_gradbench::{agree, ba};

#[test]
fn ba_agrees_with_the_jacobian_by_hand() {
    for &(n, m, p) in &ba::SIZES[..5] {
        let input = ba::input(n, m, p);
        let by_chainrule = ba::jacobian(&input);
        let by_hand = ba::jacobian_by_hand(&input);
        assert_eq!(
            (by_chainrule.nrows, by_chainrule.ncols),
            (3 * p, 11 * n + 3 * m + p)
        );
        assert_eq!(by_chainrule.rows, by_hand.rows, "ba{n}: rows");
        assert_eq!(by_chainrule.cols, by_hand.cols, "ba{n}: cols");
        assert_eq!(by_chainrule.vals.len(), 31 * p);
        // (Within 1e-11 besides: the rotation's columns sum terms of order 1 – 10 that cancel to
        // entries as small as 1e-5, whose last digits differ by the order of the sums.)
        agree(&by_chainrule.vals, &by_hand.vals, 1e-9, 1e-11)
            .unwrap_or_else(|e| panic!("ba n = {n}, m = {m}, p = {p}: {e}"));
        // The values: jacobian's, the function's and the hand-written block's.
        let (reproj_err, w_err) = ba::objective(&input);
        assert_eq!((reproj_err.len(), w_err.len()), (2 * p, p));
        for i in (0..p).step_by(97) {
            let (err, _) = ba::block(&input, i);
            let (expected, _) = ba::block_by_hand(&input, i);
            assert_eq!(err, [reproj_err[2 * i], reproj_err[2 * i + 1]], "ba{n} obs {i}");
            for k in 0..2 {
                assert!(
                    (err[k] - expected[k]).abs() <= 1e-12 * expected[k].abs(),
                    "ba{n} obs {i}: {err:?} vs {expected:?}"
                );
            }
            assert_eq!(w_err[i], 1.0 - input.w[i] * input.w[i]);
        }
    }
}

/// The zero-rotation branch (first-order Rodrigues), and central differences of one block.
#[test]
fn ba_block_by_differences() {
    let mut input = ba::input(3, 4, 12);
    // Camera 1 without rotation.
    input.cams[11..14].copy_from_slice(&[0.0, 0.0, 0.0]);
    for i in 0..12 {
        let (_, block) = ba::block(&input, i);
        let (_, by_hand) = ba::block_by_hand(&input, i);
        for r in 0..2 {
            agree(&block[r], &by_hand[r], 1e-9, 1e-12).unwrap_or_else(|e| panic!("obs {i}: {e}"));
        }
        let (c, q) = (input.obs[2 * i], input.obs[2 * i + 1]);
        // The 15 floats the block is with respect to, moved one at a time.
        let at = |k: usize, h: f64| -> [f64; 2] {
            let mut cam: [f64; 11] = input.cams[11 * c..11 * c + 11].try_into().unwrap();
            let mut x: [f64; 3] = input.x[3 * q..3 * q + 3].try_into().unwrap();
            let mut w = input.w[i];
            match k {
                0..=10 => cam[k] += h,
                11..=13 => x[k - 11] += h,
                _ => w += h,
            }
            ba::reprojection_error(cam, x, w, [input.feats[2 * i], input.feats[2 * i + 1]])
        };
        // (At camera 1's zero rotation the function is not smooth in the rotation: skip the
        // rotation's columns there.)
        for k in (0..15).filter(|&k| c != 1 || k >= 3) {
            let h = 1e-6 * (1.0 + at(k, 0.0)[0].abs().min(1.0));
            let (plus, minus) = (at(k, h), at(k, -h));
            for r in 0..2 {
                let numeric = (plus[r] - minus[r]) / (2.0 * h);
                assert!(
                    (numeric - block[r][k]).abs() < 1e-5 * numeric.abs().max(1.0),
                    "obs {i}, row {r}, column {k}: {numeric} vs {}",
                    block[r][k]
                );
            }
        }
    }
}
