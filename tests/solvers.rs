//! Features `argmin` and `nalgebra`: `f::Problem` implements argmin's traits with the
//! generated derivatives, and the derivatives convert to nalgebra matrices. Checked against
//! the generated functions themselves, against central differences, and by the solves
//! converging where the math says they must.

use approx::assert_relative_eq;
use argmin::core::{CostFunction, Executor, Gradient, Hessian, Jacobian, Operator, State};
use argmin::solver::gaussnewton::GaussNewton;
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::newton::Newton;
use argmin::solver::quasinewton::LBFGS;
use chainrule::differentiate;
use chainrule::nalgebra::{dmatrix, dvector, DMatrix, DVector};

#[differentiate(hessian)]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

#[test]
fn a_problem_is_the_function_and_its_derivatives() {
    let x = dvector![-1.2, 1.0, 0.5];
    let problem = rosenbrock::Problem;
    let (value, grad, hessian) = rosenbrock::hessian(x.as_slice());
    assert_eq!(problem.cost(&x).unwrap(), value);
    assert_eq!(problem.cost(&x).unwrap(), rosenbrock(x.as_slice()));
    assert_eq!(problem.gradient(&x).unwrap().as_slice(), &grad.x[..]);
    let h = problem.hessian(&x).unwrap();
    assert_eq!(h.shape(), (3, 3));
    assert_eq!(h, DMatrix::from_row_slice(3, 3, hessian.as_slice()));
    // ∂²f/∂x₀² = 1200 x₀² − 400 x₁ + 2, ∂²f/∂x₀∂x₁ = −400 x₀.
    assert_relative_eq!(h[(0, 0)], 1200.0 * 1.44 - 400.0 + 2.0, max_relative = 1e-14);
    assert_eq!(h[(0, 1)], 480.0);
    assert_eq!(h[(0, 2)], 0.0);
}

#[test]
fn newton_reaches_the_minimum() {
    let result = Executor::new(rosenbrock::Problem, Newton::<f64>::new())
        .configure(|state| state.param(dvector![-1.2, 1.0]).max_iters(10))
        .run()
        .unwrap();
    let x = result.state().get_best_param().unwrap();
    assert_relative_eq!(x[0], 1.0, max_relative = 1e-14);
    assert_relative_eq!(x[1], 1.0, max_relative = 1e-14);
}

/// A problem with data: the parameters it does not differentiate are the struct's fields.
#[differentiate(wrt(w))]
fn loss(w: [f64; 2], xs: &[f64], ys: &[f64], ridge: f64) -> f64 {
    let mut s = ridge * (w[0] * w[0] + w[1] * w[1]);
    for i in 0..xs.len() {
        let r = w[0] * xs[i] + w[1] - ys[i];
        s += r * r;
    }
    s
}

#[test]
fn a_problem_with_data_solved_by_lbfgs() {
    let xs = [0.0, 1.0, 2.0, 3.0];
    let ys = [1.0, 3.1, 4.9, 7.2];
    let ridge = 0.1;
    let problem = loss::Problem {
        xs: &xs,
        ys: &ys,
        ridge,
    };
    let w = dvector![0.5, -0.5];
    let (_, grad) = loss::grad([0.5, -0.5], &xs, &ys, ridge);
    assert_eq!(problem.gradient(&w).unwrap().as_slice(), &grad.w);
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 5);
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(w).max_iters(100))
        .run()
        .unwrap();
    let w = result.state().get_best_param().unwrap();
    // The normal equations of ridge regression: (XᵀX + λI) w = Xᵀy.
    let x = dmatrix![0.0, 1.0; 1.0, 1.0; 2.0, 1.0; 3.0, 1.0];
    let y = DVector::from_column_slice(&ys);
    let exact = (x.transpose() * &x + DMatrix::identity(2, 2) * ridge)
        .lu()
        .solve(&(x.transpose() * y))
        .unwrap();
    assert_relative_eq!(w[0], exact[0], max_relative = 1e-8);
    assert_relative_eq!(w[1], exact[1], max_relative = 1e-8);
}

/// A vector-valued function is an operator with a Jacobian: Gauss–Newton.
#[differentiate(wrt(p))]
fn residuals(p: &[f64], xs: &[f64], ys: &[f64]) -> Vec<f64> {
    xs.iter()
        .zip(ys)
        .map(|(x, y)| p[0] * (p[1] * x).exp() - y)
        .collect()
}

#[test]
fn residuals_solved_by_gauss_newton() {
    let xs: Vec<f64> = (0..8).map(|i| f64::from(i) * 0.25).collect();
    let ys: Vec<f64> = xs.iter().map(|x| 1.5 * (0.8 * x).exp()).collect();
    let problem = residuals::Problem { xs: &xs, ys: &ys };
    let p = dvector![1.0, 0.5];
    let r = problem.apply(&p).unwrap();
    assert_eq!(r.as_slice(), &residuals(p.as_slice(), &xs, &ys)[..]);
    let j = problem.jacobian(&p).unwrap();
    assert_eq!(j.shape(), (8, 2));
    for i in 0..8 {
        let e = (0.5 * xs[i]).exp();
        assert_relative_eq!(j[(i, 0)], e, max_relative = 1e-15);
        assert_relative_eq!(j[(i, 1)], xs[i] * e, max_relative = 1e-15);
    }
    let result = Executor::new(problem, GaussNewton::<f64>::new())
        .configure(|state| state.param(p).max_iters(30))
        .run()
        .unwrap();
    let p = result.state().get_best_param().unwrap();
    assert_relative_eq!(p[0], 1.5, max_relative = 1e-10);
    assert_relative_eq!(p[1], 0.8, max_relative = 1e-10);
}

#[differentiate]
fn pair(x: [f64; 2]) -> f64 {
    x[0] * x[1]
}

/// A vector of the wrong length for an array parameter is argmin's error, not a panic.
#[test]
fn the_wrong_length_is_an_error() {
    let error = pair::Problem.cost(&dvector![1.0, 2.0, 3.0]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the function takes 2 parameter floats, and argmin's parameter vector has 3"
    );
    assert_eq!(
        pair::Problem.gradient(&dvector![2.0, 3.0]).unwrap(),
        dvector![3.0, 2.0]
    );
}

#[differentiate]
fn polar(r: f64, theta: f64) -> (f64, f64) {
    (r * theta.cos(), r * theta.sin())
}

/// nalgebra conversions of what the macro generates: a Jacobian of several parameters (no
/// `Problem`: argmin's model is one vector), a Grad, a Hessian.
#[test]
fn derivatives_as_nalgebra_matrices() {
    let (_, jacobian) = polar::jacobian(2.0, 0.5);
    let j = chainrule::matrix::jacobian(&jacobian);
    let (s, c) = 0.5f64.sin_cos();
    assert_eq!(j, dmatrix![c, -(2.0 * s); s, 2.0 * c]);
    let (_, grad, hessian) = rosenbrock::hessian(&[0.0, 0.0]);
    assert_eq!(chainrule::matrix::vector(&grad), dvector![-2.0, 0.0]);
    let h: DMatrix<f64> = hessian.into();
    assert_eq!(h, dmatrix![-400.0 * 0.0 + 2.0, 0.0; 0.0, 200.0]);
}
