//! Losses, each computing the loss and (optionally) its gradient in the same pass.
//!
//! With `Reduction::Mean` the loss is averaged (over elements for MSE and BCE, over samples for
//! cross-entropy, as PyTorch does); with `Sum` it is summed. The gradient written is
//! `dL/dinput` for an upstream gradient of 1 (what `loss.backward()` propagates), and it
//! overwrites `grad`. Nothing is written when an error is returned.

use ndarray::{ArrayView, ArrayView1, ArrayView2, ArrayViewMut, ArrayViewMut2, Dimension, Zip};

use crate::element::Float;
use crate::error::{check_shape, same_shape, Error, Result};
use crate::layers::activation::sigmoid;

/// How per-element losses combine into the scalar, PyTorch's `reduction=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    #[default]
    Mean,
    Sum,
}

impl Reduction {
    /// The factor each term is multiplied by: `1/count` for `Mean`, 1 for `Sum`.
    fn scale<T: Float>(self, count: usize) -> T {
        match self {
            Reduction::Mean => T::one() / T::of(count.max(1) as f64),
            Reduction::Sum => T::one(),
        }
    }
}

/// Mean squared error, PyTorch's `F.mse_loss`: `L = reduce((x − t)²)`, `dL/dx = 2(x − t)·scale`.
/// `input` and `target` have the same (any) shape.
pub fn mse_loss<T: Float, D: Dimension>(
    input: ArrayView<'_, T, D>,
    target: ArrayView<'_, T, D>,
    reduction: Reduction,
    grad: Option<ArrayViewMut<'_, T, D>>,
) -> Result<T> {
    const LAYER: &str = "MSE";
    same_shape(LAYER, "target", target.shape(), input.shape())?;
    let scale: T = reduction.scale(input.len());
    let two = T::of(2.0);
    let mut sum = T::zero();
    match grad {
        Some(mut g) => {
            same_shape(LAYER, "gradient", g.shape(), input.shape())?;
            Zip::from(&mut g)
                .and(&input)
                .and(&target)
                .for_each(|g, &x, &t| {
                    let d = x - t;
                    sum = sum + d * d;
                    *g = two * d * scale;
                });
        }
        None => Zip::from(&input).and(&target).for_each(|&x, &t| {
            let d = x - t;
            sum = sum + d * d;
        }),
    }
    Ok(sum * scale)
}

/// Softmax cross-entropy on logits with class ids, PyTorch's `F.cross_entropy`:
/// `Lₙ = log Σⱼ exp(xₙⱼ) − xₙ,tₙ`, computed as `m + log Σⱼ exp(xₙⱼ − m)` with `m = maxⱼ xₙⱼ`
/// so logits of 1e4 do not overflow; `dL/dxₙ = (softmax(xₙ) − onehot(tₙ))·scale`, where
/// `scale` is `1/N` for `Mean`.
///
/// `logits`: `[N, C]`; `target`: `[N]` class ids below `C`.
pub fn cross_entropy<T: Float>(
    logits: ArrayView2<'_, T>,
    target: ArrayView1<'_, usize>,
    reduction: Reduction,
    grad: Option<ArrayViewMut2<'_, T>>,
) -> Result<T> {
    const LAYER: &str = "CrossEntropy";
    let (n, classes) = logits.dim();
    check_shape(LAYER, "target", target.shape(), &[Some(n)])?;
    if let Some(g) = &grad {
        same_shape(LAYER, "gradient", g.shape(), logits.shape())?;
    }
    if let Some((sample, &class)) = target.iter().enumerate().find(|(_, &c)| c >= classes) {
        return Err(Error::ClassOutOfRange {
            layer: LAYER.to_owned(),
            sample,
            class,
            classes,
        });
    }
    let scale: T = reduction.scale(n);
    let mut total = T::zero();
    let mut grad = grad;
    for (i, row) in logits.rows().into_iter().enumerate() {
        let max = row.fold(T::neg_infinity(), |m, &v| if v > m { v } else { m });
        // `v − max` is exact where `v − log_sum_exp` would round at the logits' magnitude
        // (an ulp of 1e4 in f32 is 1e-3), so softmax is formed from it.
        let sum_exp = match grad.as_mut() {
            Some(g) => {
                let mut g_row = g.row_mut(i);
                let mut sum = T::zero();
                Zip::from(&mut g_row).and(&row).for_each(|g, &v| {
                    *g = (v - max).exp();
                    sum = sum + *g;
                });
                let factor = scale / sum;
                g_row.mapv_inplace(|e| e * factor);
                g_row[target[i]] = g_row[target[i]] - scale;
                sum
            }
            None => row.fold(T::zero(), |s, &v| s + (v - max).exp()),
        };
        total = total + (max - row[target[i]]) + sum_exp.ln();
    }
    Ok(total * scale)
}

/// Binary cross-entropy on logits, PyTorch's `F.binary_cross_entropy_with_logits`:
/// `L = reduce(max(x, 0) − x·t + log(1 + e^−|x|))`, stable for any `|x|`;
/// `dL/dx = (σ(x) − t)·scale`. `target` holds probabilities in [0, 1], same shape as `input`.
pub fn bce_with_logits<T: Float, D: Dimension>(
    input: ArrayView<'_, T, D>,
    target: ArrayView<'_, T, D>,
    reduction: Reduction,
    grad: Option<ArrayViewMut<'_, T, D>>,
) -> Result<T> {
    const LAYER: &str = "BCEWithLogits";
    same_shape(LAYER, "target", target.shape(), input.shape())?;
    let scale: T = reduction.scale(input.len());
    let term = |x: T, t: T| x.max(T::zero()) - x * t + (-x.abs()).exp().ln_1p();
    let mut sum = T::zero();
    match grad {
        Some(mut g) => {
            same_shape(LAYER, "gradient", g.shape(), input.shape())?;
            Zip::from(&mut g)
                .and(&input)
                .and(&target)
                .for_each(|g, &x, &t| {
                    sum = sum + term(x, t);
                    *g = (sigmoid(x) - t) * scale;
                });
        }
        None => Zip::from(&input)
            .and(&target)
            .for_each(|&x, &t| sum = sum + term(x, t)),
    }
    Ok(sum * scale)
}
