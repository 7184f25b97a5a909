//! Finite-difference gradient checks, the reference every backward pass is tested against,
//! and [`gradcheck`], the same check over a whole network for users who add layers.

use ndarray::{Array, ArrayViewD, Dimension, Zip};

use crate::error::Result;
use crate::init::Rng;
use crate::network::{Network, Target};

/// Central-difference gradient of the scalar function `f` at `x`:
/// `∂f/∂xᵢ ≈ (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h`, one pair of evaluations per element.
///
/// `x` is perturbed in place and restored exactly before returning. In f64 with `h ≈ 1e-6` the
/// truncation error is ~h² and the rounding error ~ε·|f|/h, about 1e-10 of the loss's
/// magnitude: an *absolute* error per entry, so compare small entries against a floor (see
/// [`max_relative_error`]).
pub fn numeric_gradient<D: Dimension>(
    x: &mut Array<f64, D>,
    h: f64,
    mut f: impl FnMut(&Array<f64, D>) -> f64,
) -> Array<f64, D> {
    let mut grad = Array::zeros(x.raw_dim());
    let grads = grad
        .as_slice_memory_order_mut()
        .expect("owned arrays are contiguous");
    for (i, g) in grads.iter_mut().enumerate() {
        let original = nth(x, i);
        *nth_mut(x, i) = original + h;
        let plus = f(x);
        *nth_mut(x, i) = original - h;
        let minus = f(x);
        *nth_mut(x, i) = original;
        *g = (plus - minus) / (2.0 * h);
    }
    grad
}

/// The largest `|a − b| / max(|a|, |b|, floor)` over two arrays of the same shape: a relative
/// error that does not blow up where both values are near 0. Panics if the shapes differ.
pub fn max_relative_error<D: Dimension>(a: &Array<f64, D>, b: &Array<f64, D>, floor: f64) -> f64 {
    assert_eq!(a.shape(), b.shape(), "compared arrays differ in shape");
    let mut worst = 0.0f64;
    Zip::from(a).and(b).for_each(|&a, &b| {
        let err = (a - b).abs() / a.abs().max(b.abs()).max(floor);
        worst = worst.max(if err.is_nan() { f64::INFINITY } else { err });
    });
    worst
}

// Element `i` in memory order; an owned array is always contiguous, and `grad` (made with the
// same `raw_dim`) has the same memory order as `x`.
fn nth<D: Dimension>(x: &Array<f64, D>, i: usize) -> f64 {
    x.as_slice_memory_order()
        .expect("owned arrays are contiguous")[i]
}

fn nth_mut<D: Dimension>(x: &mut Array<f64, D>, i: usize) -> &mut f64 {
    &mut x
        .as_slice_memory_order_mut()
        .expect("owned arrays are contiguous")[i]
}

/// How [`gradcheck_with`] probes a network.
#[derive(Clone, Copy, Debug)]
pub struct GradcheckOptions {
    /// The finite-difference step.
    pub h: f64,
    /// Check at most this many entries of each parameter (a seeded random sample); `None`
    /// checks every entry (one forward pass pair per entry: slow for large layers).
    pub max_entries: Option<usize>,
    /// Entries whose gradients are below this are compared on this scale (finite differences
    /// carry an absolute error of ~1e-10 of the loss).
    pub floor: f64,
    /// Seed of the entry sample.
    pub seed: u64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            h: 1e-6,
            max_entries: Some(32),
            floor: 1e-3,
            seed: 0,
        }
    }
}

/// The worst disagreement found in one parameter.
#[derive(Clone, Debug)]
pub struct ParamCheck {
    pub name: &'static str,
    /// Entries compared.
    pub checked: usize,
    /// `max |a − n| / max(|a|, |n|, floor)` over the compared entries.
    pub max_error: f64,
    /// Memory-order index of the worst entry, with its analytic and numeric gradients.
    pub worst: (usize, f64, f64),
}

/// What [`gradcheck`] found, parameter by parameter.
#[derive(Clone, Debug)]
pub struct GradcheckReport {
    pub parameters: Vec<ParamCheck>,
}

impl GradcheckReport {
    /// The largest error over all parameters.
    pub fn max_error(&self) -> f64 {
        self.parameters
            .iter()
            .map(|p| p.max_error)
            .fold(0.0, f64::max)
    }
}

impl std::fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.parameters {
            let (i, a, n) = p.worst;
            writeln!(
                f,
                "{:<16} {:>6} entries  max error {:.2e}  (entry {i}: backward {a:.6e}, finite differences {n:.6e})",
                p.name, p.checked, p.max_error
            )?;
        }
        Ok(())
    }
}

/// Checks the generated backward pass of an f64 network against central finite differences of
/// its own loss on `(x, target)`, with default options: for people who add layers. The network
/// is left as it was (parameters and gradients).
///
/// ```text
/// let report = gradcheck(&mut net, x.view().into_dyn(), Target::Classes(y.view()))?;
/// assert!(report.max_error() < 1e-6, "{report}");
/// ```
pub fn gradcheck<N: Network<Elem = f64>>(
    net: &mut N,
    x: ArrayViewD<'_, f64>,
    target: Target<'_, f64>,
) -> Result<GradcheckReport> {
    gradcheck_with(net, x, target, GradcheckOptions::default())
}

/// [`gradcheck`] with explicit options.
pub fn gradcheck_with<N: Network<Elem = f64>>(
    net: &mut N,
    x: ArrayViewD<'_, f64>,
    target: Target<'_, f64>,
    options: GradcheckOptions,
) -> Result<GradcheckReport> {
    // Keep the gradients the caller had, compute ours from zero, and put theirs back.
    let mut saved = Vec::new();
    net.visit_parameters(&mut |_, _, grad| saved.push(grad.to_owned()));
    net.zero_grad();
    let result = check_all(net, x, target, options);
    let mut saved = saved.into_iter();
    net.visit_parameters_mut(&mut |mut p| {
        if let Some(g) = saved.next() {
            p.grad.assign(&g);
        }
    });
    result
}

fn check_all<N: Network<Elem = f64>>(
    net: &mut N,
    x: ArrayViewD<'_, f64>,
    target: Target<'_, f64>,
    options: GradcheckOptions,
) -> Result<GradcheckReport> {
    net.loss_dyn(x.view(), target.clone())?;
    net.backward()?;
    let mut analytic: Vec<(&'static str, Vec<f64>)> = Vec::new();
    net.visit_parameters(&mut |name, _, grad| {
        analytic.push((name, grad.iter().copied().collect()))
    });

    let mut rng = Rng::new(options.seed);
    let mut parameters = Vec::with_capacity(analytic.len());
    for (index, (name, grad)) in analytic.iter().enumerate() {
        let entries: Vec<usize> = match options.max_entries {
            Some(m) if m < grad.len() => (0..m).map(|_| rng.below(grad.len())).collect(),
            _ => (0..grad.len()).collect(),
        };
        let mut check = ParamCheck {
            name,
            checked: entries.len(),
            max_error: 0.0,
            worst: (0, 0.0, 0.0),
        };
        for i in entries {
            let plus = loss_nudged(net, index, i, options.h, &x, &target)?;
            let minus = loss_nudged(net, index, i, -options.h, &x, &target)?;
            let numeric = (plus - minus) / (2.0 * options.h);
            let a = grad[i];
            let err = (a - numeric).abs() / a.abs().max(numeric.abs()).max(options.floor);
            let err = if err.is_nan() { f64::INFINITY } else { err };
            if err > check.max_error {
                check.max_error = err;
                check.worst = (i, a, numeric);
            }
        }
        parameters.push(check);
    }
    Ok(GradcheckReport { parameters })
}

/// The loss with entry `i` (row-major) of parameter number `index` moved by `delta`, restored
/// afterwards.
fn loss_nudged<N: Network<Elem = f64>>(
    net: &mut N,
    index: usize,
    i: usize,
    delta: f64,
    x: &ArrayViewD<'_, f64>,
    target: &Target<'_, f64>,
) -> Result<f64> {
    let nudge = |net: &mut N, delta: f64| {
        let mut k = 0;
        net.visit_parameters_mut(&mut |mut p| {
            if k == index {
                if let Some(v) = p.value.iter_mut().nth(i) {
                    *v += delta;
                }
            }
            k += 1;
        });
    };
    nudge(net, delta);
    let loss = net.loss_dyn(x.view(), target.clone());
    nudge(net, -delta);
    loss
}
