//! Linear (fully connected) layer: `y = f(x Wᵀ + b)`, PyTorch's `nn.Linear` followed by an
//! optional fused activation `f`.
//!
//! Shapes: `x` `[N, IN]`, `weight` `[OUT, IN]` (PyTorch's layout), `bias` `[OUT]`, `y` `[N, OUT]`.
//!
//! Backward, with `g = dL/dy ⊙ f'(y)` (the gradient before the activation):
//! - `dW += gᵀ x`, `db += Σₙ g` (accumulated, like PyTorch's `.grad`);
//! - `dx = g W` (overwritten).

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Ix1, Ix2, Zip};

use crate::element::Float;
use crate::error::{check_shape, same_shape, Result};
use crate::init::{pytorch_default, Rng};
use crate::kernels::gemm::gemm_unchecked;
use crate::layers::activation::Activation;
use crate::network::Param;

const LAYER: &str = "Linear";

/// The parameters of a Linear layer: `weight` `[OUT, IN]` and an optional `bias` `[OUT]`,
/// PyTorch's `nn.Linear`.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear<T: Float> {
    pub weight: Param<T, Ix2>,
    pub bias: Option<Param<T, Ix1>>,
}

impl<T: Float> Linear<T> {
    /// A layer initialised as PyTorch does ([`pytorch_default`]).
    pub fn new(in_features: usize, out_features: usize, bias: bool, rng: &mut Rng) -> Self {
        let (w, b) = pytorch_default(
            (out_features, in_features),
            bias.then_some(out_features),
            in_features,
            rng,
        );
        Linear {
            weight: Param::new(w),
            bias: b.map(Param::new),
        }
    }

    /// [`linear_forward`] with this layer's parameters.
    pub fn forward(
        &self,
        x: ArrayView2<'_, T>,
        activation: Activation,
        y: ArrayViewMut2<'_, T>,
    ) -> Result<()> {
        linear_forward(
            x,
            self.weight.value.view(),
            self.bias.as_ref().map(|b| b.value.view()),
            activation,
            y,
        )
    }

    /// [`linear_backward`] into this layer's gradients.
    pub fn backward(
        &mut self,
        x: ArrayView2<'_, T>,
        activation: Activation,
        y: ArrayView2<'_, T>,
        dy: ArrayViewMut2<'_, T>,
        dx: Option<ArrayViewMut2<'_, T>>,
    ) -> Result<()> {
        linear_backward(
            x,
            self.weight.value.view(),
            activation,
            y,
            dy,
            self.weight.grad.view_mut(),
            self.bias.as_mut().map(|b| b.grad.view_mut()),
            dx,
        )
    }
}

/// Forward: `y <- f(x Wᵀ + b)`. `y` is overwritten; bias and activation are applied in one pass
/// after the GEMM.
pub fn linear_forward<T: Float>(
    x: ArrayView2<'_, T>,
    weight: ArrayView2<'_, T>,
    bias: Option<ArrayView1<'_, T>>,
    activation: Activation,
    mut y: ArrayViewMut2<'_, T>,
) -> Result<()> {
    let (out, inp) = weight.dim();
    check_shape(LAYER, "input", x.shape(), &[None, Some(inp)])?;
    check_shape(LAYER, "output", y.shape(), &[Some(x.nrows()), Some(out)])?;
    if let Some(b) = &bias {
        check_shape(LAYER, "bias", b.shape(), &[Some(out)])?;
    }
    activation.validate()?;
    gemm_unchecked(T::one(), x, weight.t(), T::zero(), &mut y);
    let b = bias.as_ref().map(|b| b.as_slice());
    if let (Some(y), None | Some(Some(_))) = (y.as_slice_mut(), b) {
        activation.bias_forward_columns(y, b.flatten());
        return Ok(());
    }
    match bias {
        Some(b) => {
            for mut row in y.rows_mut() {
                Zip::from(&mut row)
                    .and(&b)
                    .for_each(|y, &b| *y = activation.apply(*y + b));
            }
        }
        None => activation.forward_inplace(y),
    }
    Ok(())
}

/// Backward of [`linear_forward`].
///
/// - `y`: the forward output (read only when `activation` is not `Identity`).
/// - `dy`: on entry `dL/dy`; on return the gradient before the activation (used as scratch, so
///   the activation's derivative costs no extra buffer).
/// - `dweight` `[OUT, IN]` and `dbias` `[OUT]`: accumulated into.
/// - `dx` `[N, IN]`: overwritten; pass `None` for a network's first layer, whose input needs no
///   gradient.
#[allow(clippy::too_many_arguments)]
pub fn linear_backward<T: Float>(
    x: ArrayView2<'_, T>,
    weight: ArrayView2<'_, T>,
    activation: Activation,
    y: ArrayView2<'_, T>,
    mut dy: ArrayViewMut2<'_, T>,
    mut dweight: ArrayViewMut2<'_, T>,
    dbias: Option<ArrayViewMut1<'_, T>>,
    dx: Option<ArrayViewMut2<'_, T>>,
) -> Result<()> {
    let (out, inp) = weight.dim();
    let n = x.nrows();
    check_shape(LAYER, "input", x.shape(), &[None, Some(inp)])?;
    check_shape(LAYER, "output", y.shape(), &[Some(n), Some(out)])?;
    same_shape(LAYER, "output gradient", dy.shape(), y.shape())?;
    same_shape(LAYER, "weight gradient", dweight.shape(), weight.shape())?;
    if let Some(db) = &dbias {
        check_shape(LAYER, "bias gradient", db.shape(), &[Some(out)])?;
    }
    if let Some(dx) = &dx {
        same_shape(LAYER, "input gradient", dx.shape(), x.shape())?;
    }
    activation.validate()?;

    activation_and_bias_backward(activation, y, dy.view_mut(), dbias);
    gemm_unchecked(T::one(), dy.t(), x, T::one(), &mut dweight);
    if let Some(mut dx) = dx {
        gemm_unchecked(T::one(), dy.view(), weight, T::zero(), &mut dx);
    }
    Ok(())
}

/// One pass over `g` (`[N, OUT]`): `g <- g ⊙ f'(y)` and `db += Σₙ g`. Shapes are the caller's
/// to check.
fn activation_and_bias_backward<T: Float>(
    activation: Activation,
    y: ArrayView2<'_, T>,
    mut g: ArrayViewMut2<'_, T>,
    mut dbias: Option<ArrayViewMut1<'_, T>>,
) {
    let cols = g.ncols();
    if let (Some(ys), Some(gs)) = (y.as_slice(), g.as_slice_mut()) {
        match dbias.as_mut().map(|d| d.as_slice_mut()) {
            None => return activation.backward_slice(ys, gs),
            Some(Some(db)) => return activation.backward_bias_columns(ys, gs, cols, Some(db)),
            Some(None) => {}
        }
    }
    if activation != Activation::Identity {
        Zip::from(&mut g)
            .and(&y)
            .for_each(|g, &y| *g = *g * activation.derivative_from_output(y));
    }
    if let Some(mut db) = dbias {
        for row in g.axis_iter(Axis(0)) {
            Zip::from(&mut db).and(&row).for_each(|d, &g| *d = *d + g);
        }
    }
}
