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

    /// Calls `f(plane, out_index, taps)` for each output position, where `taps` visits the
    /// flat `H·W`-plane indices of the window's in-bounds inputs in row-major order.
    #[inline(always)]
    fn for_each_window(&self, window: &Window2d, mut f: impl FnMut(usize, usize, Taps)) {
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
                let (i0, i1) = tap_range(r * sh, ph, dh, kh, h);
                for c in 0..ow {
                    let (j0, j1) = tap_range(c * sw, pw, dw, kw, w);
                    let taps = Taps {
                        // In bounds for i ≥ i0, j ≥ j0, so these do not underflow.
                        first: (r * sh + i0 * dh - ph) * w + (c * sw + j0 * dw - pw),
                        rows: i1 - i0,
                        cols: j1 - j0,
                        row_step: dh * w,
                        col_step: dw,
                    };
                    f(plane, r * ow + c, taps);
                }
            }
        }
    }
}

/// The taps `i` of a window along one axis (`0 ≤ i < kernel`) whose input index
/// `start + i·dilation − padding` is in `[0, input)`, as a range `[lo, hi)`.
#[inline(always)]
fn tap_range(
    start: usize,
    padding: usize,
    dilation: usize,
    kernel: usize,
    input: usize,
) -> (usize, usize) {
    // start + i·d ≥ p  ⇔  i ≥ ceil((p − start) / d)
    let lo = if start >= padding {
        0
    } else {
        (padding - start).div_ceil(dilation)
    };
    // start + i·d − p < input  ⇔  i·d < input + p − start
    let limit = input + padding;
    let hi = if start >= limit {
        0
    } else {
        (limit - start).div_ceil(dilation)
    };
    let hi = hi.min(kernel);
    (lo.min(hi), hi)
}

/// The in-bounds inputs of one pooling window: `rows × cols` flat plane indices from `first`.
#[derive(Clone, Copy)]
struct Taps {
    first: usize,
    rows: usize,
    cols: usize,
    row_step: usize,
    col_step: usize,
}

impl Taps {
    /// Calls `f(index)` for every tap, in row-major window order.
    #[inline(always)]
    fn for_each(self, mut f: impl FnMut(usize)) {
        for i in 0..self.rows {
            let row = self.first + i * self.row_step;
            for j in 0..self.cols {
                f(row + j * self.col_step);
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
    if is_plain_2x2(window) {
        max_pool_2x2(x, y, argmax, shapes.in_hw);
        return Ok(());
    }
    shapes.for_each_window(window, |plane, o, taps| {
        let input = &x[plane * in_plane..(plane + 1) * in_plane];
        let mut best = T::neg_infinity();
        let mut best_at = None;
        taps.for_each(|t| {
            let v = input[t];
            if best_at.is_none() || v > best || v.is_nan() {
                best = v;
                best_at = Some(t);
            }
        });
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
    for plane in 0..n * c {
        // Cleared plane by plane, just before its scatter, while it is in cache.
        let dx = &mut dx[plane * h * w..(plane + 1) * h * w];
        dx.fill(T::zero());
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
        let mut sum = T::zero();
        taps.for_each(|t| sum = sum + input[t]);
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
        taps.for_each(|t| dx[t] = dx[t] + g);
    });
    Ok(())
}

/// A 2x2 window with stride 2, no padding and no dilation: the usual `MaxPool2d<2>`.
fn is_plain_2x2(window: &Window2d) -> bool {
    *window == Window2d::new((2, 2)).stride((2, 2))
}

/// [`max_pool2d_forward`] for [`is_plain_2x2`] windows (an odd last row or column is left
/// out, as the general path does): the same comparisons in the same order (row-major, the
/// first maximum wins, a NaN wins). Rows without NaN take a branch-free path; a row with a NaN
/// is redone with the general rule. Compiled for AVX2 too, chosen at run time.
fn max_pool_2x2<T: Float>(x: &[T], y: &mut [T], argmax: &mut [usize], hw: (usize, usize)) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { max_pool_2x2_avx2(x, y, argmax, hw) };
        }
    }
    max_pool_2x2_impl(x, y, argmax, hw)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn max_pool_2x2_avx2<T: Float>(
    x: &[T],
    y: &mut [T],
    argmax: &mut [usize],
    hw: (usize, usize),
) {
    max_pool_2x2_impl(x, y, argmax, hw)
}

#[inline(always)]
fn max_pool_2x2_impl<T: Float>(x: &[T], y: &mut [T], argmax: &mut [usize], (h, w): (usize, usize)) {
    let (oh, ow) = (h / 2, w / 2);
    let planes = x.chunks_exact(h * w);
    let outs = y
        .chunks_exact_mut(oh * ow)
        .zip(argmax.chunks_exact_mut(oh * ow));
    for (input, (y, argmax)) in planes.zip(outs) {
        for r in 0..oh {
            let top = &input[2 * r * w..2 * r * w + 2 * ow];
            let bottom = &input[(2 * r + 1) * w..(2 * r + 1) * w + 2 * ow];
            let y = &mut y[r * ow..(r + 1) * ow];
            let argmax = &mut argmax[r * ow..(r + 1) * ow];
            let first = 2 * r * w;
            let mut nan = false;
            for (c, ((y, argmax), (t, b))) in y
                .iter_mut()
                .zip(argmax.iter_mut())
                .zip(top.chunks_exact(2).zip(bottom.chunks_exact(2)))
                .enumerate()
            {
                // Without NaN, `v > best` is the whole rule; `at` is the offset in the window.
                let (mut best, mut at) = (t[0], 0);
                if t[1] > best {
                    best = t[1];
                    at = 1;
                }
                if b[0] > best {
                    best = b[0];
                    at = w;
                }
                if b[1] > best {
                    best = b[1];
                    at = w + 1;
                }
                nan |= t[0].is_nan() | t[1].is_nan() | b[0].is_nan() | b[1].is_nan();
                *y = best;
                *argmax = first + 2 * c + at;
            }
            if nan {
                for c in 0..ow {
                    let at = first + 2 * c;
                    let (mut best, mut best_at) = (input[at], at);
                    for t in [at + 1, at + w, at + w + 1] {
                        if input[t] > best || input[t].is_nan() {
                            best = input[t];
                            best_at = t;
                        }
                    }
                    y[c] = best;
                    argmax[c] = best_at;
                }
            }
        }
    }
}

fn no_dilation(layer: &str, window: &Window2d) -> Result<()> {
    if window.dilation != (1, 1) {
        return Err(config_error(layer, "average pooling has no dilation"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ndarray::Array4;

    use super::*;
    use crate::init::Rng;

    /// Forward against a naive maximum over each window (the 2x2 windows take the specialised
    /// path, with odd edges left out; 3x3 with stride 2 and padding 1 the general one), and
    /// backward against a plain scatter of every output's gradient to its saved maximum.
    #[test]
    fn forward_is_the_window_maximum_and_backward_its_scatter() {
        let mut rng = Rng::new(5);
        let cases = [
            ((6, 8), Window2d::new((2, 2)).stride((2, 2))),
            ((5, 7), Window2d::new((2, 2)).stride((2, 2))),
            ((6, 8), Window2d::new((3, 3)).stride((2, 2)).padding((1, 1))),
        ];
        for ((h, w), window) in cases {
            let x = Array4::from_shape_fn((2, 3, h, w), |_| rng.normal());
            let (oh, ow) = (h / 2, w / 2);
            let mut y = Array4::zeros((2, 3, oh, ow));
            let mut argmax = Array4::zeros((2, 3, oh, ow));
            max_pool2d_forward(x.view(), &window, y.view_mut(), argmax.view_mut()).unwrap();
            let ((kh, kw), (sh, sw), (ph, pw)) = (window.kernel, window.stride, window.padding);
            for ((s, ch, r, c), &v) in y.indexed_iter() {
                let mut best = f64::NEG_INFINITY;
                for i in (r * sh).saturating_sub(ph)..(r * sh + kh - ph).min(h) {
                    for j in (c * sw).saturating_sub(pw)..(c * sw + kw - pw).min(w) {
                        best = best.max(x[[s, ch, i, j]]);
                    }
                }
                assert_eq!(v, best, "{h}x{w} {window:?}: y[{s}, {ch}, {r}, {c}]");
                let at = argmax[[s, ch, r, c]];
                assert_eq!(x[[s, ch, at / w, at % w]], v, "{h}x{w} {window:?}: argmax");
            }
            let dy = Array4::from_shape_fn((2, 3, oh, ow), |_| rng.normal());
            let mut dx = Array4::from_elem((2, 3, h, w), f64::NAN);
            max_pool2d_backward(dy.view(), argmax.view(), dx.view_mut()).unwrap();
            let mut expected = Array4::<f64>::zeros((2, 3, h, w));
            for ((s, ch, r, c), &i) in argmax.indexed_iter() {
                expected[[s, ch, i / w, i % w]] += dy[[s, ch, r, c]];
            }
            assert_eq!(dx, expected, "{h}x{w} {window:?}");
        }
    }
}
