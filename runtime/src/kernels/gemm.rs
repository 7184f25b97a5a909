//! General matrix multiply over ndarray views, on top of matrixmultiply.

use ndarray::{ArrayView2, ArrayViewMut2};

use crate::element::Float;
use crate::error::{check_shape, Result};

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
    let [rsa, csa] = strides(a.strides());
    let [rsb, csb] = strides(b.strides());
    let [rsc, csc] = strides(c.strides());
    // SAFETY: the views guarantee in-bounds storage for the given dims and strides; `c` is a
    // unique borrow so it cannot alias `a` or `b`.
    unsafe {
        T::gemm_raw(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            rsc,
            csc,
        );
    }
}

fn strides(s: &[isize]) -> [isize; 2] {
    [s[0], s[1]]
}
