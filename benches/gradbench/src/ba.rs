//! `ba`: bundle adjustment, evals/ba/README.md (ADBench's BA, GradBench's
//! `cpp/gradbench/evals/ba.hpp`). `n` cameras of 11 parameters (Rodrigues rotation, centre,
//! focal length, principal point, two radial distortion coefficients), `m` points, `p`
//! observations (observation i sees point i mod m from camera i mod n) with a weight each.
//! The objective is the reprojection error of each observation, w (proj(cam, X) − feat), and
//! each weight's error 1 − w²; the Jacobian is sparse: each observation's two rows depend on
//! its camera (11), its point (3) and its weight (1), each weight error's row on its weight.
//!
//! With chainrule: the reprojection error of one observation is a vector-valued
//! `#[differentiate]` function of its camera, point and weight, and its 2 × 15 block is
//! `reprojection_error::jacobian(…)` (two reverse passes); the blocks go into a compressed
//! sparse row matrix, as GradBench's C++ `SparseMat` does.

use chainrule::differentiate;

pub const N_CAM_PARAMS: usize = 11;
/// The floats one observation's rows depend on: camera, point, weight.
pub const BLOCK: usize = N_CAM_PARAMS + 3 + 1;

/// One observation's two rows of the Jacobian, each ∂errᵣ / ∂(camera, point, weight).
pub type Block = [[f64; BLOCK]; 2];

// The reprojection error of one observation, and its helpers, as ba.hpp computes them: each
// a vector-valued `#[differentiate]` function, called with its result's type written.
// (Written first as one `#[differentiate] mod` of helpers, as the guide suggests for helpers
// returning arrays: there a function returning an array is always an inlined helper, even
// with its own `#[differentiate(wrt(…))]`, so `reprojection_error::jacobian` did not exist.)

/// The point rotated by the angle-axis vector `rot` (Rodrigues' formula; the first-order form
/// at a zero rotation).
#[differentiate]
pub fn rodrigues_rotate_point(rot: [f64; 3], pt: [f64; 3]) -> [f64; 3] {
    let sqtheta = rot[0] * rot[0] + rot[1] * rot[1] + rot[2] * rot[2];
    if sqtheta != 0.0 {
        let theta = sqtheta.sqrt();
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let theta_inverse = 1.0 / theta;
        let w = [
            rot[0] * theta_inverse,
            rot[1] * theta_inverse,
            rot[2] * theta_inverse,
        ];
        let w_cross_pt = [
            w[1] * pt[2] - w[2] * pt[1],
            w[2] * pt[0] - w[0] * pt[2],
            w[0] * pt[1] - w[1] * pt[0],
        ];
        let tmp = (w[0] * pt[0] + w[1] * pt[1] + w[2] * pt[2]) * (1.0 - costheta);
        [
            pt[0] * costheta + w_cross_pt[0] * sintheta + w[0] * tmp,
            pt[1] * costheta + w_cross_pt[1] * sintheta + w[1] * tmp,
            pt[2] * costheta + w_cross_pt[2] * sintheta + w[2] * tmp,
        ]
    } else {
        [
            pt[0] + rot[1] * pt[2] - rot[2] * pt[1],
            pt[1] + rot[2] * pt[0] - rot[0] * pt[2],
            pt[2] + rot[0] * pt[1] - rot[1] * pt[0],
        ]
    }
}

/// The radial distortion 1 + k₁ r² + k₂ r⁴ of a projected point.
#[differentiate]
pub fn radial_distort(rad: [f64; 2], proj: [f64; 2]) -> [f64; 2] {
    let rsq = proj[0] * proj[0] + proj[1] * proj[1];
    let l = 1.0 + rad[0] * rsq + rad[1] * rsq * rsq;
    [proj[0] * l, proj[1] * l]
}

/// The projection of point `x` by camera `cam` = [r₁ r₂ r₃ C₁ C₂ C₃ f u₀ v₀ k₁ k₂].
#[differentiate]
pub fn project(cam: [f64; 11], x: [f64; 3]) -> [f64; 2] {
    let xo = [x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]];
    let xcam: [f64; 3] = rodrigues_rotate_point([cam[0], cam[1], cam[2]], xo);
    let distorted: [f64; 2] = radial_distort([cam[9], cam[10]], [xcam[0] / xcam[2], xcam[1] / xcam[2]]);
    [distorted[0] * cam[6] + cam[7], distorted[1] * cam[6] + cam[8]]
}

/// One observation's reprojection error, w (proj − feat).
#[differentiate(wrt(cam, x, w))]
pub fn reprojection_error(cam: [f64; 11], x: [f64; 3], w: f64, feat: [f64; 2]) -> [f64; 2] {
    let proj: [f64; 2] = project(cam, x);
    [w * (proj[0] - feat[0]), w * (proj[1] - feat[1])]
}

/// One weight's error, 1 − w².
#[differentiate]
pub fn weight_error(w: f64) -> f64 {
    1.0 - w * w
}

/// GradBench's input, duplicated out as ba.hpp's `from_json` does: `cams` (11n), `x` (3m),
/// `w` (p), `feats` (2p), `obs` (2p: camera, point).
pub struct Input {
    pub n: usize,
    pub m: usize,
    pub p: usize,
    pub cams: Vec<f64>,
    pub x: Vec<f64>,
    pub w: Vec<f64>,
    pub feats: Vec<f64>,
    pub obs: Vec<usize>,
}

impl Input {
    fn camera(&self, i: usize) -> [f64; 11] {
        self.cams[N_CAM_PARAMS * i..N_CAM_PARAMS * (i + 1)]
            .try_into()
            .unwrap()
    }

    fn point(&self, i: usize) -> [f64; 3] {
        self.x[3 * i..3 * i + 3].try_into().unwrap()
    }

    fn feat(&self, i: usize) -> [f64; 2] {
        [self.feats[2 * i], self.feats[2 * i + 1]]
    }
}

/// The objective: the reprojection errors (2p) and the weight errors (p), by the functions
/// chainrule differentiates, compiled as written.
pub fn objective(input: &Input) -> (Vec<f64>, Vec<f64>) {
    let mut reproj_err = Vec::with_capacity(2 * input.p);
    for i in 0..input.p {
        let (c, q) = (input.obs[2 * i], input.obs[2 * i + 1]);
        let e = reprojection_error(input.camera(c), input.point(q), input.w[i], input.feat(i));
        reproj_err.extend_from_slice(&e);
    }
    let w_err = input.w.iter().map(|&w| weight_error(w)).collect();
    (reproj_err, w_err)
}

/// The Jacobian in compressed sparse row form, as GradBench's `SparseMat`: 3p rows (two per
/// observation, then one per weight) over 11n + 3m + p columns; `rows` has 3p + 1 offsets into
/// `cols` and `vals`.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseMat {
    pub nrows: usize,
    pub ncols: usize,
    pub rows: Vec<usize>,
    pub cols: Vec<usize>,
    pub vals: Vec<f64>,
}

impl SparseMat {
    fn new(n: usize, m: usize, p: usize) -> SparseMat {
        let nonzero = BLOCK * 2 * p + p;
        let mut rows = Vec::with_capacity(3 * p + 1);
        rows.push(0);
        SparseMat {
            nrows: 3 * p,
            ncols: N_CAM_PARAMS * n + 3 * m + p,
            rows,
            cols: Vec::with_capacity(nonzero),
            vals: Vec::with_capacity(nonzero),
        }
    }

    /// Observation `i`'s two rows: `block[r]` is ∂err_r / ∂(camera, point, weight).
    fn insert_reproj_err_block(
        &mut self,
        n: usize,
        m: usize,
        i: usize,
        cam: usize,
        pt: usize,
        block: &Block,
    ) {
        for row in block {
            let last = *self.rows.last().unwrap();
            self.rows.push(last + BLOCK);
            for k in 0..N_CAM_PARAMS {
                self.cols.push(N_CAM_PARAMS * cam + k);
            }
            for k in 0..3 {
                self.cols.push(N_CAM_PARAMS * n + 3 * pt + k);
            }
            self.cols.push(N_CAM_PARAMS * n + 3 * m + i);
            self.vals.extend_from_slice(row);
        }
    }

    fn insert_w_err_block(&mut self, n: usize, m: usize, i: usize, d: f64) {
        let last = *self.rows.last().unwrap();
        self.rows.push(last + 1);
        self.cols.push(N_CAM_PARAMS * n + 3 * m + i);
        self.vals.push(d);
    }
}

/// Observation `i`'s block by chainrule: `reprojection_error::jacobian`, one `Grad` per row.
pub fn block(input: &Input, i: usize) -> ([f64; 2], Block) {
    let (c, q) = (input.obs[2 * i], input.obs[2 * i + 1]);
    let (err, jac) = reprojection_error::jacobian(input.camera(c), input.point(q), input.w[i], input.feat(i));
    let mut rows: Block = [[0.0; BLOCK]; 2];
    for (row, g) in rows.iter_mut().zip(&jac) {
        row[..N_CAM_PARAMS].copy_from_slice(&g.cam);
        row[N_CAM_PARAMS..N_CAM_PARAMS + 3].copy_from_slice(&g.x);
        row[BLOCK - 1] = g.w;
    }
    (err, rows)
}

/// The sparse Jacobian by chainrule (and the objective's values on the way, which GradBench's
/// C++ also computes).
pub fn jacobian(input: &Input) -> SparseMat {
    let (n, m, p) = (input.n, input.m, input.p);
    let mut j = SparseMat::new(n, m, p);
    for i in 0..p {
        let (_, rows) = block(input, i);
        j.insert_reproj_err_block(n, m, i, input.obs[2 * i], input.obs[2 * i + 1], &rows);
    }
    for i in 0..p {
        let (_, g) = weight_error::grad(input.w[i]);
        j.insert_w_err_block(n, m, i, g.w);
    }
    j
}

type M3 = [[f64; 3]; 3];

fn cross_matrix(v: [f64; 3]) -> M3 {
    [[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]]
}

fn mat_mul_2x3_3x3(a: &[[f64; 3]; 2], b: &M3) -> [[f64; 3]; 2] {
    let mut out = [[0.0; 3]; 2];
    for r in 0..2 {
        for c in 0..3 {
            out[r][c] = a[r][0] * b[0][c] + a[r][1] * b[1][c] + a[r][2] * b[2][c];
        }
    }
    out
}

/// Observation `i`'s error and block by hand, the chain of the stages' Jacobians:
/// ∂Xcam/∂(rot, Xo) of Rodrigues' formula, ∂p/∂Xcam of the division by depth, ∂d/∂p and
/// ∂d/∂k of the distortion, then f, u₀v₀ and w (the derivation of GradBench's
/// `tools/manual/ba_d.cpp`, written out).
pub fn block_by_hand(input: &Input, i: usize) -> ([f64; 2], Block) {
    let (cam, x, w, feat) = {
        let (c, q) = (input.obs[2 * i], input.obs[2 * i + 1]);
        (input.camera(c), input.point(q), input.w[i], input.feat(i))
    };
    let rot = [cam[0], cam[1], cam[2]];
    let xo = [x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]];
    // Rodrigues: Xcam and its Jacobians with respect to rot and Xo.
    let sqtheta = rot[0] * rot[0] + rot[1] * rot[1] + rot[2] * rot[2];
    let (xcam, d_rot, d_xo): ([f64; 3], M3, M3) = if sqtheta != 0.0 {
        let theta = sqtheta.sqrt();
        let (s, c) = theta.sin_cos();
        let inv = 1.0 / theta;
        let u = [rot[0] * inv, rot[1] * inv, rot[2] * inv];
        let u_cross = [
            u[1] * xo[2] - u[2] * xo[1],
            u[2] * xo[0] - u[0] * xo[2],
            u[0] * xo[1] - u[1] * xo[0],
        ];
        let dot = u[0] * xo[0] + u[1] * xo[1] + u[2] * xo[2];
        let tmp = dot * (1.0 - c);
        let mut xcam = [0.0; 3];
        for k in 0..3 {
            xcam[k] = xo[k] * c + u_cross[k] * s + u[k] * tmp;
        }
        // ∂Xcam/∂Xo = c I + s [u]× + (1 − c) u uᵀ.
        let ux = cross_matrix(u);
        let mut d_xo = [[0.0; 3]; 3];
        // ∂Xcam/∂θ and ∂Xcam/∂u = −s [Xo]× + (1 − c) ((u·Xo) I + u Xoᵀ).
        let mut d_theta = [0.0; 3];
        let xx = cross_matrix(xo);
        let mut d_u = [[0.0; 3]; 3];
        for r in 0..3 {
            d_theta[r] = -xo[r] * s + u_cross[r] * c + u[r] * dot * s;
            for k in 0..3 {
                let identity = if r == k { 1.0 } else { 0.0 };
                d_xo[r][k] = c * identity + s * ux[r][k] + (1.0 - c) * u[r] * u[k];
                d_u[r][k] = -s * xx[r][k] + (1.0 - c) * (dot * identity + u[r] * xo[k]);
            }
        }
        // θ = |rot|, u = rot / θ: ∂θ/∂rot = uᵀ, ∂u/∂rot = (I − u uᵀ) / θ.
        let mut d_rot = [[0.0; 3]; 3];
        for r in 0..3 {
            for k in 0..3 {
                let mut sum = d_theta[r] * u[k];
                for a in 0..3 {
                    let identity = if a == k { 1.0 } else { 0.0 };
                    sum += d_u[r][a] * (identity - u[a] * u[k]) * inv;
                }
                d_rot[r][k] = sum;
            }
        }
        (xcam, d_rot, d_xo)
    } else {
        // Xcam = Xo + rot × Xo: ∂/∂rot = −[Xo]×, ∂/∂Xo = I + [rot]×.
        let xx = cross_matrix(xo);
        let rx = cross_matrix(rot);
        let mut d_rot = [[0.0; 3]; 3];
        let mut d_xo = [[0.0; 3]; 3];
        let xcam = [
            xo[0] + rot[1] * xo[2] - rot[2] * xo[1],
            xo[1] + rot[2] * xo[0] - rot[0] * xo[2],
            xo[2] + rot[0] * xo[1] - rot[1] * xo[0],
        ];
        for r in 0..3 {
            for k in 0..3 {
                d_rot[r][k] = -xx[r][k];
                d_xo[r][k] = rx[r][k] + if r == k { 1.0 } else { 0.0 };
            }
        }
        (xcam, d_rot, d_xo)
    };
    // p = (x / z, y / z).
    let z_inv = 1.0 / xcam[2];
    let pr = [xcam[0] / xcam[2], xcam[1] / xcam[2]];
    let d_p = [[z_inv, 0.0, -pr[0] * z_inv], [0.0, z_inv, -pr[1] * z_inv]];
    // d = p L, L = 1 + k₁ r² + k₂ r⁴: ∂d/∂p = L I + p (∂L/∂p)ᵀ, ∂L/∂p = (2k₁ + 4k₂ r²) p.
    let (k1, k2) = (cam[9], cam[10]);
    let rsq = pr[0] * pr[0] + pr[1] * pr[1];
    let l = 1.0 + k1 * rsq + k2 * rsq * rsq;
    let dl = 2.0 * k1 + 4.0 * k2 * rsq;
    let d_d = [
        [l + dl * pr[0] * pr[0], dl * pr[0] * pr[1]],
        [dl * pr[1] * pr[0], l + dl * pr[1] * pr[1]],
    ];
    let distorted = [pr[0] * l, pr[1] * l];
    let f = cam[6];
    let proj = [distorted[0] * f + cam[7], distorted[1] * f + cam[8]];
    let residual = [proj[0] - feat[0], proj[1] - feat[1]];
    // err = w (f d + u₀v₀ − feat): ∂err/∂Xcam = w f ∂d/∂p ∂p/∂Xcam.
    let mut d_xcam = [[0.0; 3]; 2];
    for r in 0..2 {
        for k in 0..3 {
            d_xcam[r][k] = w * f * (d_d[r][0] * d_p[0][k] + d_d[r][1] * d_p[1][k]);
        }
    }
    let j_rot = mat_mul_2x3_3x3(&d_xcam, &d_rot);
    let j_x = mat_mul_2x3_3x3(&d_xcam, &d_xo);
    let mut rows: Block = [[0.0; BLOCK]; 2];
    for r in 0..2 {
        let row = &mut rows[r];
        for k in 0..3 {
            row[k] = j_rot[r][k];
            row[3 + k] = -j_x[r][k];
            row[N_CAM_PARAMS + k] = j_x[r][k];
        }
        row[6] = w * distorted[r];
        row[7] = if r == 0 { w } else { 0.0 };
        row[8] = if r == 1 { w } else { 0.0 };
        row[9] = w * f * pr[r] * rsq;
        row[10] = w * f * pr[r] * rsq * rsq;
        row[BLOCK - 1] = residual[r];
    }
    ([w * residual[0], w * residual[1]], rows)
}

/// The sparse Jacobian by hand.
pub fn jacobian_by_hand(input: &Input) -> SparseMat {
    let (n, m, p) = (input.n, input.m, input.p);
    let mut j = SparseMat::new(n, m, p);
    for i in 0..p {
        let (_, rows) = block_by_hand(input, i);
        j.insert_reproj_err_block(n, m, i, input.obs[2 * i], input.obs[2 * i + 1], &rows);
    }
    for i in 0..p {
        j.insert_w_err_block(n, m, i, -2.0 * input.w[i]);
    }
    j
}

/// GradBench's sizes (evals/ba: `--min 1 --max 14`, the data files ba1 … ba14): (n, m, p).
pub const SIZES: &[(usize, usize, usize)] = &[
    (49, 7776, 31843),
    (21, 11315, 36455),
    (161, 48126, 182072),
    (372, 47423, 204472),
    (257, 65132, 225911),
    (539, 65220, 277273),
    (93, 61203, 287451),
    (88, 64298, 383937),
    (810, 88814, 393775),
    (1197, 126327, 563734),
    (1723, 156502, 678718),
    (253, 163691, 899155),
    (245, 198739, 1091386),
    (356, 226730, 1255268),
];

/// GradBench's one camera, point, weight and feature (the same in every data file), which
/// its input duplicates n, m and p times.
const CAM: [f64; 11] = [
    -0.758453, -1.109613, -0.845551, 34.556073, 39.676747, 53.881673, 419.194514, 5.864426, -8.518870,
    0.087812, 0.002739,
];
const X: [f64; 3] = [7.203245, 0.001144, 3.023326];
const W: f64 = 0.417022;
const FEAT: [f64; 2] = [271.760969, 834.209256];

/// The input of size (n, m, p): GradBench's duplicated values, each copy moved by a uniform
/// draw (±5% of the value, or ±0.5 for the point and the feature), so that no two blocks are
/// the same; the observations as GradBench's (camera i mod n, point i mod m).
pub fn input(n: usize, m: usize, p: usize) -> Input {
    let mut u = crate::Uniform::new(31337 + p as u64);
    let mut near = |v: f64| v * (1.0 + 0.1 * (u.draw() - 0.5));
    let cams = (0..n).flat_map(|_| CAM.map(&mut near)).collect();
    let w = (0..p).map(|_| near(W)).collect();
    let mut u = crate::Uniform::new(31338 + p as u64);
    let x = (0..m).flat_map(|_| X.map(|v| v + u.draw() - 0.5)).collect();
    let feats = (0..p).flat_map(|_| FEAT.map(|v| v + u.draw() - 0.5)).collect();
    let obs = (0..p).flat_map(|i| [i % n, i % m]).collect();
    Input {
        n,
        m,
        p,
        cams,
        x,
        w,
        feats,
        obs,
    }
}
