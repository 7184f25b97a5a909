//! 2-D pooling, PyTorch's `nn.MaxPool2d` and `nn.AvgPool2d` (NCHW, `ceil_mode = False`).
//!
//! Shapes: `x` `[N, C, H, W]`, `y` `[N, C, OH, OW]` with `OH`, `OW` from
//! [`Window2d::output_size`]. Padding is at most half the kernel, as PyTorch requires.
//!
//! - Max: `y = max over the window`, padding counts as −∞. The position of the maximum is saved
//!   as a flat index into the `H·W` plane (as `return_indices=True` gives in PyTorch); ties go
//!   to the first position in row-major window order and a NaN wins, as in PyTorch's CPU kernel.
//!   Backward: `dx[argmax] += dy`.
//! - Average: `y = Σ window / (KH·KW)`, padding counts as zeros in both sum and divisor
//!   (PyTorch's default `count_include_pad = True`). Backward: each input in a window gets
//!   `dy / (KH·KW)`. Dilation must be 1.

use ndarray::{ArrayView4, ArrayViewMut4};

use crate::element::Float;
use crate::error::{check_shape, config_error, same_shape, Result};
use crate::kernels::im2col::{contiguous, contiguous_mut};
use crate::kernels::window::Window2d;

/// Checked sizes of one pooling problem; `planes = N·C`.
struct PoolShapes {
    planes: usize,
    in_hw: (usize, usize),
    out_hw: (usize, usize),
}

impl PoolShapes {
    fn new(layer: &str, x: &[usize], y: &[usize], window: &Window2d) -> Result<Self> {
        window.validate_pool(layer)?;
        check_shape(layer, "input", x, &[None, None, None, None])?;
        let out_hw = window.checked_output_size(layer, (x[2], x[3]))?;
        check_shape(
            layer,
            "output",
            y,
            &[Some(x[0]), Some(x[1]), Some(out_hw.0), Some(out_hw.1)],
        )?;
        Ok(PoolShapes {
            planes: x[0] * x[1],
            in_hw: (x[2], x[3]),
            out_hw,
        })
    }

    /// Calls `f(plane, out_index, taps)` for each output position, where `taps` yields the flat
    /// `H·W`-plane indices of the window's in-bounds inputs in row-major order.
    #[inline(always)]
    fn for_each_window(
        &self,
        window: &Window2d,
        mut f: impl FnMut(usize, usize, &mut dyn Iterator<Item = usize>),
    ) {
        let (h, w) = self.in_hw;
        let (oh, ow) = self.out_hw;
        let Window2d {
            kernel: (kh, kw),
            stride: (sh, sw),
            padding: (ph, pw),
            dilation: (dh, dw),
        } = *window;
        for plane in 0..self.planes {
            for r in 0..oh {
                for c in 0..ow {
                    let rows = (0..kh)
                        .map(|i| (r * sh + i * dh) as isize - ph as isize)
                        .filter(|&ih| ih >= 0 && (ih as usize) < h);
                    let mut taps = rows.flat_map(|ih| {
                        (0..kw)
                            .map(move |j| (c * sw + j * dw) as isize - pw as isize)
                            .filter(|&iw| iw >= 0 && (iw as usize) < w)
                            .map(move |iw| ih as usize * w + iw as usize)
                    });
                    f(plane, r * ow + c, &mut taps);
                }
            }
        }
    }
}

/// Forward max pooling: `y` and `argmax` (same shape as `y`) are overwritten.
pub fn max_pool2d_forward<T: Float>(
    x: ArrayView4<'_, T>,
    window: &Window2d,
    mut y: ArrayViewMut4<'_, T>,
    mut argmax: ArrayViewMut4<'_, usize>,
) -> Result<()> {
    const LAYER: &str = "MaxPool2d";
    let shapes = PoolShapes::new(LAYER, x.shape(), y.shape(), window)?;
    same_shape(LAYER, "argmax", argmax.shape(), y.shape())?;
    let x = contiguous(LAYER, "input", x.as_slice())?;
    let y = contiguous_mut(LAYER, "output", y.as_slice_mut())?;
    let argmax = contiguous_mut(LAYER, "argmax", argmax.as_slice_mut())?;
    let (in_plane, out_plane) = (
        shapes.in_hw.0 * shapes.in_hw.1,
        shapes.out_hw.0 * shapes.out_hw.1,
    );
    shapes.for_each_window(window, |plane, o, taps| {
        let input = &x[plane * in_plane..(plane + 1) * in_plane];
        let mut best = T::neg_infinity();
        let mut best_at = None;
        for t in taps {
            let v = input[t];
            if best_at.is_none() || v > best || v.is_nan() {
                best = v;
                best_at = Some(t);
            }
        }
        // A window always holds an input, since padding is at most half the kernel.
        y[plane * out_plane + o] = best;
        argmax[plane * out_plane + o] = best_at.unwrap_or(0);
    });
    Ok(())
}

/// Backward max pooling: `dx` (`[N, C, H, W]`) is overwritten with `dy` routed to each window's
/// saved maximum (several windows that share a maximum add up).
pub fn max_pool2d_backward<T: Float>(
    dy: ArrayView4<'_, T>,
    argmax: ArrayView4<'_, usize>,
    mut dx: ArrayViewMut4<'_, T>,
) -> Result<()> {
    const LAYER: &str = "MaxPool2d";
    same_shape(LAYER, "argmax", argmax.shape(), dy.shape())?;
    let (n, c, h, w) = dx.dim();
    check_shape(
        LAYER,
        "output gradient",
        dy.shape(),
        &[Some(n), Some(c), None, None],
    )?;
    let out_plane = dy.shape()[2] * dy.shape()[3];
    let dy = contiguous(LAYER, "output gradient", dy.as_slice())?;
    let argmax = contiguous(LAYER, "argmax", argmax.as_slice())?;
    let dx = contiguous_mut(LAYER, "input gradient", dx.as_slice_mut())?;
    if let Some(&bad) = argmax.iter().find(|&&i| i >= h * w) {
        return Err(config_error(
            LAYER,
            format!("argmax index {bad} is outside the {h}x{w} input plane"),
        ));
    }
    dx.fill(T::zero());
    for plane in 0..n * c {
        let dx = &mut dx[plane * h * w..(plane + 1) * h * w];
        let range = plane * out_plane..(plane + 1) * out_plane;
        for (&g, &i) in dy[range.clone()].iter().zip(&argmax[range]) {
            dx[i] = dx[i] + g;
        }
    }
    Ok(())
}

/// Forward average pooling: `y` is overwritten.
pub fn avg_pool2d_forward<T: Float>(
    x: ArrayView4<'_, T>,
    window: &Window2d,
    mut y: ArrayViewMut4<'_, T>,
) -> Result<()> {
    const LAYER: &str = "AvgPool2d";
    let shapes = PoolShapes::new(LAYER, x.shape(), y.shape(), window)?;
    no_dilation(LAYER, window)?;
    let x = contiguous(LAYER, "input", x.as_slice())?;
    let y = contiguous_mut(LAYER, "output", y.as_slice_mut())?;
    let scale = T::one() / T::of((window.kernel.0 * window.kernel.1) as f64);
    let (in_plane, out_plane) = (
        shapes.in_hw.0 * shapes.in_hw.1,
        shapes.out_hw.0 * shapes.out_hw.1,
    );
    shapes.for_each_window(window, |plane, o, taps| {
        let input = &x[plane * in_plane..(plane + 1) * in_plane];
        let sum = taps.fold(T::zero(), |acc, t| acc + input[t]);
        y[plane * out_plane + o] = sum * scale;
    });
    Ok(())
}

/// Backward average pooling: `dx` (`[N, C, H, W]`) is overwritten.
pub fn avg_pool2d_backward<T: Float>(
    dy: ArrayView4<'_, T>,
    window: &Window2d,
    mut dx: ArrayViewMut4<'_, T>,
) -> Result<()> {
    const LAYER: &str = "AvgPool2d";
    let shapes = PoolShapes::new(LAYER, dx.shape(), dy.shape(), window)?;
    no_dilation(LAYER, window)?;
    let dy = contiguous(LAYER, "output gradient", dy.as_slice())?;
    let dx = contiguous_mut(LAYER, "input gradient", dx.as_slice_mut())?;
    let scale = T::one() / T::of((window.kernel.0 * window.kernel.1) as f64);
    let (in_plane, out_plane) = (
        shapes.in_hw.0 * shapes.in_hw.1,
        shapes.out_hw.0 * shapes.out_hw.1,
    );
    dx.fill(T::zero());
    shapes.for_each_window(window, |plane, o, taps| {
        let g = dy[plane * out_plane + o] * scale;
        let dx = &mut dx[plane * in_plane..(plane + 1) * in_plane];
        for t in taps {
            dx[t] = dx[t] + g;
        }
    });
    Ok(())
}

fn no_dilation(layer: &str, window: &Window2d) -> Result<()> {
    if window.dilation != (1, 1) {
        return Err(config_error(layer, "average pooling has no dilation"));
    }
    Ok(())
}
