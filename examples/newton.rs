//! Rosenbrock's function minimized by argmin's Newton method, trust region and L-BFGS, with
//! chainrule's gradient and Hessian (`rosenbrock::Problem`, feature `argmin`), and the same
//! solves with both by central differences of the function's values. Run it with
//!
//! ```text
//! cargo run --example newton --features argmin
//! ```

use argmin::core::{CostFunction, Error, Executor, Gradient, Hessian, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::newton::Newton;
use argmin::solver::quasinewton::LBFGS;
use argmin::solver::trustregion::{Steihaug, TrustRegion};
use chainrule::differentiate;
use chainrule::nalgebra::{DMatrix, DVector};

/// Rosenbrock's valley in n dimensions: its minimum is 0 at (1, …, 1).
#[differentiate(hessian)]
pub fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

/// The same problem with the gradient and the Hessian by central differences of the values.
#[derive(Clone, Copy)]
struct Differences;

impl CostFunction for Differences {
    type Param = DVector<f64>;
    type Output = f64;
    fn cost(&self, x: &DVector<f64>) -> Result<f64, Error> {
        Ok(rosenbrock(x.as_slice()))
    }
}

impl Gradient for Differences {
    type Param = DVector<f64>;
    type Gradient = DVector<f64>;
    fn gradient(&self, x: &DVector<f64>) -> Result<DVector<f64>, Error> {
        let g = chainrule::numerical_gradient(rosenbrock, x.as_slice());
        Ok(DVector::from_vec(g))
    }
}

impl Hessian for Differences {
    type Param = DVector<f64>;
    type Hessian = DMatrix<f64>;
    fn hessian(&self, x: &DVector<f64>) -> Result<DMatrix<f64>, Error> {
        let n = x.len();
        let h = 1e-4;
        let f = |di: usize, si: f64, dj: usize, sj: f64| {
            let mut y = x.clone();
            y[di] += si * h;
            y[dj] += sj * h;
            rosenbrock(y.as_slice())
        };
        Ok(DMatrix::from_fn(n, n, |i, j| {
            (f(i, 1.0, j, 1.0) - f(i, 1.0, j, -1.0) - f(i, -1.0, j, 1.0) + f(i, -1.0, j, -1.0))
                / (4.0 * h * h)
        }))
    }
}

/// One solve's outcome: where it stopped, the value there, and the iterations it took.
struct Solve {
    x: DVector<f64>,
    cost: f64,
    iterations: u64,
}

fn newton<P>(problem: P, start: &DVector<f64>) -> Result<Solve, Error>
where
    P: Gradient<Param = DVector<f64>, Gradient = DVector<f64>>
        + Hessian<Param = DVector<f64>, Hessian = DMatrix<f64>>,
    P: CostFunction<Param = DVector<f64>, Output = f64>,
{
    let result = Executor::new(problem, Newton::new())
        .configure(|state| state.param(start.clone()).max_iters(40))
        .run()?;
    outcome(result.state())
}

fn trust_region<P>(problem: P, start: &DVector<f64>) -> Result<Solve, Error>
where
    P: Gradient<Param = DVector<f64>, Gradient = DVector<f64>>
        + Hessian<Param = DVector<f64>, Hessian = DMatrix<f64>>,
    P: CostFunction<Param = DVector<f64>, Output = f64>,
{
    let solver = TrustRegion::new(Steihaug::new().with_max_iters(50));
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(start.clone()).max_iters(200).target_cost(1e-24))
        .run()?;
    outcome(result.state())
}

fn lbfgs<P>(problem: P, start: &DVector<f64>) -> Result<Solve, Error>
where
    P: Gradient<Param = DVector<f64>, Gradient = DVector<f64>>
        + CostFunction<Param = DVector<f64>, Output = f64>,
{
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7).with_tolerance_grad(1e-12)?;
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(start.clone()).max_iters(500))
        .run()?;
    outcome(result.state())
}

fn outcome<S: State<Param = DVector<f64>, Float = f64>>(state: &S) -> Result<Solve, Error> {
    let x = state
        .get_best_param()
        .cloned()
        .ok_or_else(|| Error::msg("no parameter"))?;
    Ok(Solve {
        // (Newton's method never evaluates the cost: it is evaluated here.)
        cost: rosenbrock(x.as_slice()),
        iterations: state.get_iter(),
        x,
    })
}

fn report(solver: &str, exact: &Solve, differences: &Solve) {
    let error = |s: &Solve| s.x.iter().map(|x| (x - 1.0).abs()).fold(0.0, f64::max);
    println!(
        "{solver:<13} {:>5} {:>11.2e} {:>11.2e}   {:>5} {:>11.2e} {:>11.2e}",
        exact.iterations,
        exact.cost,
        error(exact),
        differences.iterations,
        differences.cost,
        error(differences)
    );
}

fn main() -> Result<(), Error> {
    for n in [2, 10] {
        // The classic start (−1.2, 1) in two dimensions; the origin in ten (from (−1.2, 1, …)
        // the valley leads to its local minimum near (−1, 1, …, 1) instead).
        let start = match n {
            2 => DVector::from_vec(vec![-1.2, 1.0]),
            _ => DVector::zeros(n),
        };
        let (_, grad, hessian) = rosenbrock::hessian(start.as_slice());
        let fd_hessian = Differences.hessian(&start)?;
        let fd_grad = Differences.gradient(&start)?;
        println!("Rosenbrock, n = {n}, from {:?}:", start.as_slice());
        println!(
            "  at the start: chainrule's gradient vs central differences {:.1e}, Hessian {:.1e} (max abs difference)",
            (DVector::from_vec(grad.x) - fd_grad).amax(),
            (chainrule::matrix::from_hessian(&hessian) - fd_hessian).amax()
        );
        println!(
            "{:<13} {:>5} {:>11} {:>11}   {:>5} {:>11} {:>11}",
            "", "iters", "f", "|x − 1|∞", "iters", "f", "|x − 1|∞"
        );
        println!("{:<13} {:^29}   {:^29}", "", "chainrule", "finite differences");
        let exact = rosenbrock::Problem;
        report("Newton", &newton(exact, &start)?, &newton(Differences, &start)?);
        report(
            "trust region",
            &trust_region(exact, &start)?,
            &trust_region(Differences, &start)?,
        );
        report("L-BFGS", &lbfgs(exact, &start)?, &lbfgs(Differences, &start)?);
        println!();
    }
    println!(
        "Newton's method takes its full 40 steps (argmin's Newton has no stopping rule of its own); the"
    );
    println!("trust region stops at f < 1e-24, which differences' errors of about 1e-8 in x keep it from.");
    Ok(())
}
