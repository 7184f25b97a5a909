//! Finite-difference gradient checks, the reference every backward pass is tested against.

use ndarray::{Array, Dimension, Zip};

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
