//! General matrix multiply over ndarray views, on top of matrixmultiply.

use std::ops::Range;

use ndarray::{ArrayView2, ArrayViewMut2};

use crate::element::Float;
use crate::error::{check_shape, Result};
use crate::kernels::parallel::{for_each_part, part_range, threads};
use crate::kernels::small_gemm;

/// `C <- alpha * A B + beta * C`.
///
/// - `a`: `[m, k]`, `b`: `[k, n]`, `c`: `[m, n]`, each with any strides (pass `x.t()` for a
///   transposed operand: no copy is made).
/// - `beta = 0` overwrites `c` without reading it (NaN in `c` does not leak); `beta = 1`
///   accumulates into it, which is how gradients add up across backward passes.
/// - `c` must not overlap `a` or `b` (the borrow checker guarantees this for views of distinct
///   arrays).
///
/// Errors with the three shapes if the inner or outer dimensions disagree.
pub fn gemm<T: Float>(
    alpha: T,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    c: &mut ArrayViewMut2<'_, T>,
) -> Result<()> {
    let (m, k) = a.dim();
    check_shape("gemm", "right operand", b.shape(), &[Some(k), None])?;
    let n = b.ncols();
    check_shape("gemm", "output", c.shape(), &[Some(m), Some(n)])?;
    gemm_unchecked(alpha, a, b, beta, c);
    Ok(())
}

/// [`gemm`] for callers that have already checked the shapes (debug builds still assert them).
#[inline]
pub(crate) fn gemm_unchecked<T: Float>(
    alpha: T,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    c: &mut ArrayViewMut2<'_, T>,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    debug_assert_eq!(b.nrows(), k);
    debug_assert_eq!(c.dim(), (m, n));
    if m == 0 || n == 0 {
        return;
    }
    if direct(m, k, n) || short_rows(&b, c, k) {
        return small_gemm::small_gemm(alpha, a, b, beta, c);
    }
    let [rsa, csa] = strides(a.strides());
    let [rsb, csb] = strides(b.strides());
    let [rsc, csc] = strides(c.strides());
    let (pa, pb, pc) = (
        a.as_ptr() as usize,
        b.as_ptr() as usize,
        c.as_mut_ptr() as usize,
    );
    // Rows `rows` and columns `cols` of C, one single-threaded GEMM.
    let block = |rows: Range<usize>, cols: Range<usize>| {
        if rows.is_empty() || cols.is_empty() {
            return; // a part with no tile (more threads than tiles): no pointer past C
        }
        let (pa, pb, pc) = (pa as *const T, pb as *const T, pc as *mut T);
        // SAFETY: the views guarantee in-bounds storage for the given dims and strides, and
        // the block lies within them; `c` is a unique borrow so it cannot alias `a` or `b`,
        // and blocks run at the same time are disjoint.
        matrixmultiply::with_max_threads(1, || unsafe {
            T::gemm_raw(
                rows.len(),
                k,
                cols.len(),
                alpha,
                pa.offset(rows.start as isize * rsa),
                rsa,
                csa,
                pb.offset(cols.start as isize * csb),
                rsb,
                csb,
                beta,
                pc.offset(rows.start as isize * rsc + cols.start as isize * csc),
                rsc,
                csc,
            )
        })
    };
    if !split(m, k, n) {
        return block(0..m, 0..n);
    }
    // Split the longer side of C; each part packs its own copy of the other operand, which
    // costs less than matrixmultiply's own threading (serial packing, a wake-up per block).
    for_each_part(|part, parts| {
        if m >= n {
            block(aligned_part(m, TILE_ROWS, part, parts), 0..n)
        } else {
            block(0..m, aligned_part(n, TILE_COLUMNS, part, parts))
        }
    });
}

/// Whether `[m, k] x [k, n]` is worth splitting over the pool's threads.
fn split(m: usize, k: usize, n: usize) -> bool {
    threads() > 1 && m.max(n) >= 32 && m * k * n >= 1 << 20
}

/// The micro-tile of matrixmultiply's f32 kernel on AVX2/FMA CPUs (the vendored patch 4):
/// parts of C that start at these multiples end no tile early but the last.
const TILE_ROWS: usize = 6;
const TILE_COLUMNS: usize = 16;

/// [`part_range`] with boundaries at multiples of `tile`, or of 1 if there are fewer tiles
/// than parts (so every part gets work).
fn aligned_part(len: usize, tile: usize, part: usize, parts: usize) -> Range<usize> {
    let tile = if len.div_ceil(tile) >= parts { tile } else { 1 };
    let r = part_range(len.div_ceil(tile), part, parts);
    (r.start * tile).min(len)..(r.end * tile).min(len)
}

/// A short inner dimension with rows of B and C contiguous (a convolution over one input
/// channel, `W[COUT, KH·KW] × cols`): each row of C is a few scaled rows of B, faster as
/// vector loops than through packing.
fn short_rows<T>(b: &ArrayView2<'_, T>, c: &ArrayViewMut2<'_, T>, k: usize) -> bool {
    k <= 16 && b.strides()[1] == 1 && c.strides()[1] == 1
}

fn strides(s: &[isize]) -> [isize; 2] {
    [s[0], s[1]]
}

/// Whether `[m, k] x [k, n]` runs faster as plain loops than through matrixmultiply, whose
/// packing costs more than it saves on matrix-vector products and tiny matrices.
fn direct(m: usize, k: usize, n: usize) -> bool {
    m == 1 || n == 1 || m * k * n <= 1 << 13
}
