//! 2-D convolution, PyTorch's `nn.Conv2d` (cross-correlation, NCHW), as im2col + GEMM, with an
//! optional fused activation `f`.
//!
//! Shapes: `x` `[N, CIN, H, W]`, `weight` `[COUT, CIN, KH, KW]`, `bias` `[COUT]`,
//! `y` `[N, COUT, OH, OW]` with `OH`, `OW` from [`Window2d::output_size`]. Per sample `n`:
//!
//! `y[n] = f(W₂ · cols[n] + b)`, where `W₂ = weight` viewed as `[COUT, CIN·KH·KW]` and
//! `cols[n] = im2col(x[n])` is `[CIN·KH·KW, OH·OW]`.
//!
//! Backward, with `g[n] = dL/dy[n] ⊙ f'(y[n])` viewed as `[COUT, OH·OW]`:
//! `dW₂ += Σₙ g[n] cols[n]ᵀ`, `db += Σₙ,ₚ g[n]`, `dx[n] = col2im(W₂ᵀ g[n])`.

use ndarray::{
    ArrayView1, ArrayView2, ArrayView3, ArrayView4, ArrayViewMut1, ArrayViewMut2, ArrayViewMut3,
    ArrayViewMut4, Ix1, Ix4, Zip,
};

use crate::element::Float;
use crate::error::{check_shape, config_error, same_shape, Result};
use crate::init::{pytorch_default, Rng};
use crate::kernels::gemm::gemm_unchecked;
use crate::kernels::im2col::{contiguous, contiguous_mut, Geometry};
use crate::kernels::window::Window2d;
use crate::layers::activation::Activation;
use crate::network::Param;

const LAYER: &str = "Conv2d";

/// The parameters and geometry of a Conv2d layer: `weight` `[COUT, CIN, KH, KW]` and an
/// optional `bias` `[COUT]`, PyTorch's `nn.Conv2d`.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d<T: Float> {
    pub weight: Param<T, Ix4>,
    pub bias: Option<Param<T, Ix1>>,
    pub window: Window2d,
}

impl<T: Float> Conv2d<T> {
    /// A layer initialised as PyTorch does ([`pytorch_default`], `fan_in = CIN·KH·KW`).
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        window: Window2d,
        bias: bool,
        rng: &mut Rng,
    ) -> Self {
        let (kh, kw) = window.kernel;
        let (w, b) = pytorch_default(
            (out_channels, in_channels, kh, kw),
            bias.then_some(out_channels),
            in_channels * kh * kw,
            rng,
        );
        Conv2d {
            weight: Param::new(w),
            bias: b.map(Param::new),
            window,
        }
    }

    /// [`conv2d_forward`] with this layer's parameters.
    pub fn forward(
        &self,
        x: ArrayView4<'_, T>,
        activation: Activation,
        cols: ArrayViewMut3<'_, T>,
        y: ArrayViewMut4<'_, T>,
    ) -> Result<()> {
        conv2d_forward(
            x,
            self.weight.value.view(),
            self.bias.as_ref().map(|b| b.value.view()),
            &self.window,
            activation,
            cols,
            y,
        )
    }

    /// [`conv2d_backward`] into this layer's gradients.
    pub fn backward(
        &mut self,
        cols: ArrayView3<'_, T>,
        activation: Activation,
        y: ArrayView4<'_, T>,
        dy: ArrayViewMut4<'_, T>,
        dx: Option<(ArrayViewMut4<'_, T>, ArrayViewMut2<'_, T>)>,
    ) -> Result<()> {
        conv2d_backward(
            self.weight.value.view(),
            &self.window,
            cols,
            activation,
            y,
            dy,
            self.weight.grad.view_mut(),
            self.bias.as_mut().map(|b| b.grad.view_mut()),
            dx,
        )
    }
}

/// Forward: `y <- f(conv2d(x, weight) + bias)`, overwriting `y` and `cols`.
///
/// `cols` is the im2col workspace, `[N, CIN·KH·KW, OH·OW]`: on return it holds every sample's
/// patches, which [`conv2d_backward`] reads. For a forward-only pass it may be
/// `[1, CIN·KH·KW, OH·OW]` and is then reused for each sample. `x`, `weight`, `cols` and `y`
/// must be in standard layout. `window.kernel` must equal the weight's `(KH, KW)`.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_forward<T: Float>(
    x: ArrayView4<'_, T>,
    weight: ArrayView4<'_, T>,
    bias: Option<ArrayView1<'_, T>>,
    window: &Window2d,
    activation: Activation,
    mut cols: ArrayViewMut3<'_, T>,
    mut y: ArrayViewMut4<'_, T>,
) -> Result<()> {
    let shapes = ConvShapes::new(x.shape(), weight.view(), window)?;
    let ConvShapes { n, cout, k, p, .. } = shapes;
    check_shape(LAYER, "output", y.shape(), &shapes.output())?;
    // One slot a sample keeps the patches for backward; a single slot is reused (inference).
    let slots = if cols.dim().0 == 1 { 1 } else { n };
    check_shape(
        LAYER,
        "im2col workspace",
        cols.shape(),
        &[Some(slots), Some(k), Some(p)],
    )?;
    if let Some(b) = &bias {
        check_shape(LAYER, "bias", b.shape(), &[Some(cout)])?;
    }
    activation.validate()?;
    let x = contiguous(LAYER, "input", x.as_slice())?;
    let w2 = weight_matrix(weight, cout, k)?;
    let cols = contiguous_mut(LAYER, "im2col workspace", cols.as_slice_mut())?;
    let y = contiguous_mut(LAYER, "output", y.as_slice_mut())?;

    let in_sample = x.len() / n.max(1);
    for s in 0..n {
        let slot = if slots == 1 { 0 } else { s };
        let cols_s = &mut cols[slot * k * p..(slot + 1) * k * p];
        shapes
            .geometry
            .im2col(&x[s * in_sample..(s + 1) * in_sample], cols_s);
        let mut y_s = matrix_mut(&mut y[s * cout * p..(s + 1) * cout * p], cout, p);
        gemm_unchecked(T::one(), w2, matrix(cols_s, k, p), T::zero(), &mut y_s);
        match &bias {
            Some(b) => {
                for (mut row, &b) in y_s.rows_mut().into_iter().zip(b) {
                    row.mapv_inplace(|v| activation.apply(v + b));
                }
            }
            None => activation.forward_inplace(y_s),
        }
    }
    Ok(())
}

/// Backward of [`conv2d_forward`].
///
/// - `cols` `[N, CIN·KH·KW, OH·OW]`: the workspace as the forward pass left it.
/// - `y`: the forward output (read only when `activation` is not `Identity`).
/// - `dy`: on entry `dL/dy`; on return the gradient before the activation (scratch).
/// - `dweight` `[COUT, CIN, KH, KW]` and `dbias` `[COUT]`: accumulated into.
/// - `dx`: `None` for a network's first layer; otherwise the input gradient `[N, CIN, H, W]`
///   (overwritten) and a `[CIN·KH·KW, OH·OW]` scratch matrix for `W₂ᵀ g[n]`.
///
/// All arrays must be in standard layout.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward<T: Float>(
    weight: ArrayView4<'_, T>,
    window: &Window2d,
    cols: ArrayView3<'_, T>,
    activation: Activation,
    y: ArrayView4<'_, T>,
    mut dy: ArrayViewMut4<'_, T>,
    mut dweight: ArrayViewMut4<'_, T>,
    dbias: Option<ArrayViewMut1<'_, T>>,
    dx: Option<(ArrayViewMut4<'_, T>, ArrayViewMut2<'_, T>)>,
) -> Result<()> {
    let (cout, cin, kh, kw) = weight.dim();
    let (n, _, oh, ow) = y.dim();
    let (k, p) = (cin * kh * kw, oh * ow);
    check_shape(LAYER, "output", y.shape(), &[None, Some(cout), None, None])?;
    same_shape(LAYER, "output gradient", dy.shape(), y.shape())?;
    same_shape(LAYER, "weight gradient", dweight.shape(), weight.shape())?;
    check_shape(
        LAYER,
        "im2col workspace",
        cols.shape(),
        &[Some(n), Some(k), Some(p)],
    )?;
    if let Some(db) = &dbias {
        check_shape(LAYER, "bias gradient", db.shape(), &[Some(cout)])?;
    }
    activation.validate()?;
    let input = match &dx {
        Some((dx, dcols)) => {
            let shapes = ConvShapes::new(dx.shape(), weight.view(), window)?;
            check_shape(LAYER, "output", y.shape(), &shapes.output())?;
            check_shape(LAYER, "col2im scratch", dcols.shape(), &[Some(k), Some(p)])?;
            Some(shapes.geometry)
        }
        None => None,
    };
    let w2 = weight_matrix(weight, cout, k)?;
    let cols = contiguous(LAYER, "im2col workspace", cols.as_slice())?;
    let y = contiguous(LAYER, "output", y.as_slice())?;
    let dy = contiguous_mut(LAYER, "output gradient", dy.as_slice_mut())?;
    let dw = contiguous_mut(LAYER, "weight gradient", dweight.as_slice_mut())?;
    let mut dw2 = matrix_mut(dw, cout, k);
    let mut dbias = dbias;
    let mut dx = match dx {
        Some((dx, dcols)) => Some((
            contiguous_mut(LAYER, "input gradient", dx.into_slice())?,
            contiguous_mut(LAYER, "col2im scratch", dcols.into_slice())?,
        )),
        None => None,
    };

    for s in 0..n {
        let range = s * cout * p..(s + 1) * cout * p;
        let mut g = matrix_mut(&mut dy[range.clone()], cout, p);
        if activation != Activation::Identity {
            Zip::from(&mut g)
                .and(matrix(&y[range], cout, p))
                .for_each(|g, &y| *g = *g * activation.derivative_from_output(y));
        }
        if let Some(db) = dbias.as_mut() {
            for (d, row) in db.iter_mut().zip(g.rows()) {
                *d = *d + row.sum();
            }
        }
        let cols_s = matrix(&cols[s * k * p..(s + 1) * k * p], k, p);
        gemm_unchecked(T::one(), g.view(), cols_s.t(), T::one(), &mut dw2);
        if let (Some((dx, dcols)), Some(geometry)) = (dx.as_mut(), input.as_ref()) {
            let mut dcols_m = matrix_mut(dcols, k, p);
            gemm_unchecked(T::one(), w2.t(), g.view(), T::zero(), &mut dcols_m);
            let in_sample = dx.len() / n;
            let dx_s = &mut dx[s * in_sample..(s + 1) * in_sample];
            dx_s.fill(T::zero());
            geometry.col2im(dcols, dx_s);
        }
    }
    Ok(())
}

/// Shapes of a convolution, derived from the input shape, the weight and the window.
struct ConvShapes {
    n: usize,
    cout: usize,
    k: usize,
    p: usize,
    out_hw: (usize, usize),
    geometry: Geometry,
}

impl ConvShapes {
    fn new(x: &[usize], weight: ArrayView4<'_, impl Float>, window: &Window2d) -> Result<Self> {
        let (cout, cin, kh, kw) = weight.dim();
        if (kh, kw) != window.kernel {
            return Err(config_error(
                LAYER,
                format!(
                    "weight {:?} has a {kh}x{kw} kernel but the window is {}x{}",
                    weight.shape(),
                    window.kernel.0,
                    window.kernel.1
                ),
            ));
        }
        check_shape(LAYER, "input", x, &[None, Some(cin), None, None])?;
        let (n, h, w) = (x[0], x[2], x[3]);
        let out_hw = window.checked_output_size(LAYER, (h, w))?;
        let k = cin * kh * kw;
        let p = out_hw.0 * out_hw.1;
        let geometry = Geometry::new(LAYER, (cin, h, w), window, (k, p))?;
        Ok(ConvShapes {
            n,
            cout,
            k,
            p,
            out_hw,
            geometry,
        })
    }

    fn output(&self) -> [Option<usize>; 4] {
        [
            Some(self.n),
            Some(self.cout),
            Some(self.out_hw.0),
            Some(self.out_hw.1),
        ]
    }
}

fn weight_matrix<'a, T: Float>(
    weight: ArrayView4<'a, T>,
    cout: usize,
    k: usize,
) -> Result<ArrayView2<'a, T>> {
    let w = contiguous(LAYER, "weight", weight.to_slice())?;
    Ok(matrix(w, cout, k))
}

fn matrix<T>(s: &[T], rows: usize, cols: usize) -> ArrayView2<'_, T> {
    ArrayView2::from_shape((rows, cols), s).expect("caller sliced rows * cols elements")
}

fn matrix_mut<T>(s: &mut [T], rows: usize, cols: usize) -> ArrayViewMut2<'_, T> {
    ArrayViewMut2::from_shape((rows, cols), s).expect("caller sliced rows * cols elements")
}
