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

    /// `cols <- im2col(x)` for one sample `x` (`[C, H, W]`): row `r` of the patch matrix is
    /// `cols[r·row_stride..][..OH·OW]` (`row_stride ≥ OH·OW`; the gaps are left alone).
    pub(crate) fn im2col<T: Float>(&self, x: &[T], cols: &mut [T]) {
        self.im2col_strided(x, cols, self.out_h * self.out_w);
    }

    /// [`im2col`](Self::im2col) with rows `row_stride` apart in `cols`.
    pub(crate) fn im2col_strided<T: Float>(&self, x: &[T], cols: &mut [T], row_stride: usize) {
        let Geometry {
            channels,
            height: h,
            width: w,
            out_h: oh,
            out_w: ow,
            window,
        } = *self;
        let Window2d {
            kernel: (kh, kw),
            stride: (sh, sw),
            padding: (ph, pw),
            dilation: (dh, dw),
        } = window;
        let plane = oh * ow;
        // Stride 1 and as wide as the input ("same" convolutions): a tap's whole output plane
        // is one contiguous run of the input plane, shifted; only the padding is fixed up.
        let shifted_plane = sh == 1 && sw == 1 && ow == w;
        for c in 0..channels {
            let xc = &x[c * h * w..(c + 1) * h * w];
            for i in 0..kh {
                // Output rows whose input row `oh·sh + i·dh − ph` exists.
                let (r_lo, r_hi) = Window2d::valid_range(oh, h, sh, ph, i * dh);
                for j in 0..kw {
                    let (lo, hi) = Window2d::valid_range(ow, w, sw, pw, j * dw);
                    let row = (c * kh + i) * kw + j;
                    let dst = &mut cols[row * row_stride..row * row_stride + plane];
                    if r_lo == r_hi || lo == hi {
                        dst.fill(T::zero());
                        continue;
                    }
                    zero(&mut dst[..r_lo * ow]);
                    zero(&mut dst[r_hi * ow..]);
                    if shifted_plane {
                        // dst[o] = xc[o + shift] for every valid o, and the valid o of rows
                        // r_lo..r_hi lie between the first and last, so one copy covers them.
                        let (first, last) = (r_lo * ow + lo, (r_hi - 1) * ow + hi);
                        let src = (r_lo * sh + i * dh - ph) * w + lo * sw + j * dw - pw;
                        dst[first..last].copy_from_slice(&xc[src..src + (last - first)]);
                        if lo > 0 || hi < ow {
                            for r in r_lo..r_hi {
                                zero(&mut dst[r * ow..r * ow + lo]);
                                zero(&mut dst[r * ow + hi..(r + 1) * ow]);
                            }
                        }
                        continue;
                    }
                    for r in r_lo..r_hi {
                        let d = &mut dst[r * ow..(r + 1) * ow];
                        zero(&mut d[..lo]);
                        zero(&mut d[hi..]);
                        // Input column of output position o: o·sw + j·dw − pw (≥ 0 for o ≥ lo).
                        let first = (r * sh + i * dh - ph) * w + lo * sw + j * dw - pw;
                        if sw == 1 {
                            d[lo..hi].copy_from_slice(&xc[first..first + (hi - lo)]);
                        } else {
                            for (k, d) in d[lo..hi].iter_mut().enumerate() {
                                *d = xc[first + k * sw];
                            }
                        }
                    }
                }
            }
        }
    }

    /// `dx += col2im(cols)` for one sample (`dx`: `[C, H, W]`), rows of `cols` `OH·OW` apart.
    pub(crate) fn col2im<T: Float>(&self, cols: &[T], dx: &mut [T]) {
        self.col2im_strided(cols, dx, self.out_h * self.out_w);
    }

    /// [`col2im`](Self::col2im) with rows `row_stride` apart in `cols`. Compiled for AVX2
    /// too (the same additions, in wider vectors), chosen at run time.
    pub(crate) fn col2im_strided<T: Float>(&self, cols: &[T], dx: &mut [T], row_stride: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                return unsafe { self.col2im_avx2(cols, dx, row_stride) };
            }
        }
        self.col2im_impl(cols, dx, row_stride)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn col2im_avx2<T: Float>(&self, cols: &[T], dx: &mut [T], row_stride: usize) {
        self.col2im_impl(cols, dx, row_stride)
    }

    #[inline(always)]
    fn col2im_impl<T: Float>(&self, cols: &[T], dx: &mut [T], row_stride: usize) {
        let Geometry {
            channels,
            height: h,
            width: w,
            out_h: oh,
            out_w: ow,
            window,
        } = *self;
        let Window2d {
            kernel: (kh, kw),
            stride: (sh, sw),
            padding: (ph, pw),
            dilation: (dh, dw),
        } = window;
        for c in 0..channels {
            let dxc = &mut dx[c * h * w..(c + 1) * h * w];
            for i in 0..kh {
                let (r_lo, r_hi) = Window2d::valid_range(oh, h, sh, ph, i * dh);
                for j in 0..kw {
                    let (lo, hi) = Window2d::valid_range(ow, w, sw, pw, j * dw);
                    if lo == hi {
                        continue;
                    }
                    let row = (c * kh + i) * kw + j;
                    let src = &cols[row * row_stride..row * row_stride + oh * ow];
                    for r in r_lo..r_hi {
                        let s = &src[r * ow + lo..r * ow + hi];
                        let first = (r * sh + i * dh - ph) * w + lo * sw + j * dw - pw;
                        if sw == 1 {
                            for (d, &s) in dxc[first..first + (hi - lo)].iter_mut().zip(s) {
                                *d = *d + s;
                            }
                        } else {
                            for (k, &s) in s.iter().enumerate() {
                                dxc[first + k * sw] = dxc[first + k * sw] + s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `s <- 0`; the padding runs are mostly one or two elements, too short for a `memset` call.
#[inline(always)]
fn zero<T: Float>(s: &mut [T]) {
    if s.len() <= 4 {
        for v in s.iter_mut() {
            *v = T::zero();
        }
    } else {
        s.fill(T::zero());
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
