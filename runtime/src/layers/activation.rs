//! Element-wise activations: ReLU, Sigmoid, Tanh, LeakyReLU.
//!
//! Every derivative here is written in terms of the activation's *output* `y`, so the forward
//! pass can run in place over the previous layer's output and the backward pass needs no copy
//! of the pre-activation:
//!
//! | activation | y = f(x) | dy/dx from y |
//! |---|---|---|
//! | ReLU | max(x, 0) | 1 if y > 0 else 0 |
//! | Sigmoid | 1 / (1 + e^-x) | y (1 - y) |
//! | Tanh | tanh x | 1 - y² |
//! | LeakyReLU(s), s ≥ 0 | x if x > 0 else s·x | 1 if y > 0 else s |
//!
//! At x = 0 the gradients are PyTorch's: 0 for ReLU, `s` for LeakyReLU.

use ndarray::{ArrayView, ArrayViewMut, Dimension, Zip};

use crate::element::Float;
use crate::error::{config_error, same_shape, Result};

/// An element-wise activation, or `Identity` for a layer that has none (so a layer kernel can
/// fuse "bias + activation" into the pass that follows its GEMM).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Activation {
    #[default]
    Identity,
    ReLU,
    Sigmoid,
    Tanh,
    /// Negative slope; must be ≥ 0 so the sign of the output tells the sign of the input.
    LeakyReLU(f64),
}

impl Activation {
    /// The PyTorch name of the activation (`"ReLU"`, ...), used in errors and summaries.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "Identity",
            Activation::ReLU => "ReLU",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::LeakyReLU(_) => "LeakyReLU",
        }
    }

    /// Rejects a LeakyReLU slope that is negative or not finite.
    pub fn validate(self) -> Result<()> {
        match self {
            Activation::LeakyReLU(s) if !(s.is_finite() && s >= 0.0) => Err(config_error(
                "LeakyReLU",
                format!("negative slope must be finite and >= 0, got {s}"),
            )),
            _ => Ok(()),
        }
    }

    /// `f(v)` for one element.
    #[inline(always)]
    pub fn apply<T: Float>(self, v: T) -> T {
        match self {
            Activation::Identity => v,
            Activation::ReLU => relu(v),
            Activation::Sigmoid => sigmoid(v),
            Activation::Tanh => v.tanh(),
            Activation::LeakyReLU(s) => leaky_relu(v, T::of(s)),
        }
    }

    /// `x <- f(x)`, in place, for any shape.
    pub fn forward_inplace<T: Float, D: Dimension>(self, mut x: ArrayViewMut<'_, T, D>) {
        // One loop per activation, so the scalar function is chosen once, not per element.
        match self {
            Activation::Identity => {}
            Activation::ReLU => x.mapv_inplace(relu),
            Activation::Sigmoid => x.mapv_inplace(sigmoid),
            Activation::Tanh => x.mapv_inplace(T::tanh),
            Activation::LeakyReLU(s) => {
                let s = T::of(s);
                x.mapv_inplace(|v| leaky_relu(v, s))
            }
        }
    }

    /// `y <- f(x)` (overwrites `y`); `x` and `y` have the same shape.
    pub fn forward<T: Float, D: Dimension>(
        self,
        x: ArrayView<'_, T, D>,
        mut y: ArrayViewMut<'_, T, D>,
    ) -> Result<()> {
        self.validate()?;
        same_shape(self.name(), "output", y.shape(), x.shape())?;
        match self {
            Activation::Identity => y.assign(&x),
            _ => Zip::from(&mut y)
                .and(&x)
                .for_each(|y, &x| *y = self.apply(x)),
        }
        Ok(())
    }

    /// Backward through the activation, in place: `dy <- dy * f'(x)`, with `f'` computed from
    /// the forward output `y` (same shape as `dy`). On entry `dy` is the gradient with respect
    /// to the activation's output, on return with respect to its input.
    pub fn backward_inplace<T: Float, D: Dimension>(
        self,
        y: ArrayView<'_, T, D>,
        mut dy: ArrayViewMut<'_, T, D>,
    ) -> Result<()> {
        self.validate()?;
        same_shape(self.name(), "output gradient", dy.shape(), y.shape())?;
        if self != Activation::Identity {
            Zip::from(&mut dy)
                .and(&y)
                .for_each(|g, &y| *g = *g * self.derivative_from_output(y));
        }
        Ok(())
    }

    /// `f'(x)` expressed through `y = f(x)`.
    #[inline(always)]
    pub fn derivative_from_output<T: Float>(self, y: T) -> T {
        match self {
            Activation::Identity => T::one(),
            Activation::ReLU => {
                if y > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::Sigmoid => y * (T::one() - y),
            Activation::Tanh => T::one() - y * y,
            Activation::LeakyReLU(s) => {
                if y > T::zero() {
                    T::one()
                } else {
                    T::of(s)
                }
            }
        }
    }
}

#[inline(always)]
fn relu<T: Float>(v: T) -> T {
    // `v > 0` rather than `max`: NaN stays NaN, as in PyTorch.
    if v > T::zero() || v.is_nan() {
        v
    } else {
        T::zero()
    }
}

#[inline(always)]
fn leaky_relu<T: Float>(v: T, slope: T) -> T {
    if v > T::zero() || v.is_nan() {
        v
    } else {
        v * slope
    }
}

/// The logistic function, computed without overflow for either sign of `v`.
#[inline(always)]
pub fn sigmoid<T: Float>(v: T) -> T {
    if v >= T::zero() {
        T::one() / (T::one() + (-v).exp())
    } else {
        let e = v.exp();
        e / (T::one() + e)
    }
}
