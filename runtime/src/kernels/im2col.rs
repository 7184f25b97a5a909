//! im2col / col2im: lay every receptive field of one sample out as a column, so a convolution
//! becomes one GEMM (`weight[COUT, CIN·KH·KW] × cols[CIN·KH·KW, OH·OW]`).
//!
//! Row `r = (c·KH + i)·KW + j` of `cols` holds tap `(i, j)` of channel `c`, matching PyTorch's
//! weight layout `[COUT, CIN, KH, KW]` flattened; column `p = oh·OW + ow` is output position
//! `(oh, ow)`, matching the NCHW output plane.

use ndarray::{ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3};

use crate::element::Float;
use crate::error::{check_shape, config_error, Result};
use crate::kernels::window::Window2d;

/// `cols <- im2col(x)` (overwritten). `x`: `[C, H, W]`; `cols`: `[C·KH·KW, OH·OW]`; both in
/// standard (C-contiguous) layout. Taps that fall in the padding are written as 0.
pub fn im2col<T: Float>(
    x: ArrayView3<'_, T>,
    window: &Window2d,
    mut cols: ArrayViewMut2<'_, T>,
) -> Result<()> {
    let geometry = Geometry::new("im2col", x.dim(), window, cols.dim())?;
    let x = contiguous("im2col", "input", x.as_slice())?;
    let cols = contiguous_mut("im2col", "columns", cols.as_slice_mut())?;
    geometry.im2col(x, cols);
    Ok(())
}

/// `dx += col2im(cols)`: the adjoint of [`im2col`], adding every column entry back onto the
/// input element it was copied from (padding taps are dropped). `cols`: `[C·KH·KW, OH·OW]`;
/// `dx`: `[C, H, W]`; both standard layout. `dx` is accumulated into, not overwritten.
pub fn col2im<T: Float>(
    cols: ArrayView2<'_, T>,
    window: &Window2d,
    mut dx: ArrayViewMut3<'_, T>,
) -> Result<()> {
    let geometry = Geometry::new("col2im", dx.dim(), window, cols.dim())?;
    let cols = contiguous("col2im", "columns", cols.as_slice())?;
    let dx = contiguous_mut("col2im", "input gradient", dx.as_slice_mut())?;
    geometry.col2im(cols, dx);
    Ok(())
}

/// Sizes of one im2col problem, checked once, so the loops below index without re-checking.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    channels: usize,
    height: usize,
    width: usize,
    out_h: usize,
    out_w: usize,
    window: Window2d,
}

impl Geometry {
    pub(crate) fn new(
        layer: &str,
        (channels, height, width): (usize, usize, usize),
        window: &Window2d,
        cols_dim: (usize, usize),
    ) -> Result<Self> {
        let (out_h, out_w) = window.checked_output_size(layer, (height, width))?;
        let rows = channels * window.kernel.0 * window.kernel.1;
        check_shape(
            layer,
            "columns",
            &[cols_dim.0, cols_dim.1],
            &[Some(rows), Some(out_h * out_w)],
        )?;
        Ok(Geometry {
            channels,
            height,
            width,
            out_h,
            out_w,
            window: *window,
        })
    }

    /// Visits every output row of every tap: `f(segment_start, Some(input_row_start), tap_j)`
    /// where the tap's input row exists, `f(segment_start, None, tap_j)` where it is padding.
    #[inline(always)]
    fn for_each_segment(&self, mut f: impl FnMut(usize, Option<usize>, usize)) {
        let Window2d {
            kernel: (kh, kw),
            stride: (sh, _),
            padding: (ph, _),
            dilation: (dh, _),
        } = self.window;
        let plane = self.height * self.width;
        for c in 0..self.channels {
            for i in 0..kh {
                for j in 0..kw {
                    let row = (c * kh + i) * kw + j;
                    for oh in 0..self.out_h {
                        let segment = row * self.out_h * self.out_w + oh * self.out_w;
                        let ih = (oh * sh + i * dh) as isize - ph as isize;
                        let input_row = (ih >= 0 && (ih as usize) < self.height)
                            .then(|| c * plane + ih as usize * self.width);
                        f(segment, input_row, j);
                    }
                }
            }
        }
    }

    pub(crate) fn im2col<T: Float>(&self, x: &[T], cols: &mut [T]) {
        let (ow, w) = (self.out_w, self.width);
        let Window2d {
            stride: (_, sw),
            padding: (_, pw),
            dilation: (_, dw),
            ..
        } = self.window;
        self.for_each_segment(|segment, input_row, j| {
            let dst = &mut cols[segment..segment + ow];
            let Some(input_row) = input_row else {
                dst.fill(T::zero());
                return;
            };
            let (lo, hi) = Window2d::valid_range(ow, w, sw, pw, j * dw);
            dst[..lo].fill(T::zero());
            dst[hi..].fill(T::zero());
            if lo == hi {
                return;
            }
            // Input column of output position o: o·sw + j·dw − pw (≥ 0 for o ≥ lo).
            let first = input_row + lo * sw + j * dw - pw;
            if sw == 1 {
                dst[lo..hi].copy_from_slice(&x[first..first + (hi - lo)]);
            } else {
                for (k, d) in dst[lo..hi].iter_mut().enumerate() {
                    *d = x[first + k * sw];
                }
            }
        });
    }

    pub(crate) fn col2im<T: Float>(&self, cols: &[T], dx: &mut [T]) {
        let (ow, w) = (self.out_w, self.width);
        let Window2d {
            stride: (_, sw),
            padding: (_, pw),
            dilation: (_, dw),
            ..
        } = self.window;
        self.for_each_segment(|segment, input_row, j| {
            let Some(input_row) = input_row else { return };
            let (lo, hi) = Window2d::valid_range(ow, w, sw, pw, j * dw);
            if lo == hi {
                return;
            }
            let first = input_row + lo * sw + j * dw - pw;
            for (k, &s) in cols[segment + lo..segment + hi].iter().enumerate() {
                dx[first + k * sw] = dx[first + k * sw] + s;
            }
        });
    }
}

pub(crate) fn contiguous<'a, T>(layer: &str, what: &str, s: Option<&'a [T]>) -> Result<&'a [T]> {
    s.ok_or_else(|| {
        config_error(
            layer,
            format!("{what} must be in standard (C-contiguous) layout"),
        )
    })
}

pub(crate) fn contiguous_mut<'a, T>(
    layer: &str,
    what: &str,
    s: Option<&'a mut [T]>,
) -> Result<&'a mut [T]> {
    s.ok_or_else(|| {
        config_error(
            layer,
            format!("{what} must be in standard (C-contiguous) layout"),
        )
    })
}
