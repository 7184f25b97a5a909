//! Work splitting for the kernels: matrixmultiply's thread pool (its `MATMUL_NUM_THREADS`
//! threads, see the vendored crate's TAPELESS-PATCH.md), a grow-only per-thread workspace, and
//! the per-call choice of threads for a GEMM.
//!
//! Nothing here allocates once the pool runs and the workspace has grown to a step's needs.

use std::any::TypeId;
use std::cell::RefCell;
use std::ops::Range;

use crate::element::Float;

/// The number of threads kernels split work into (`MATMUL_NUM_THREADS`, or the number of
/// physical cores; at most 4).
pub fn threads() -> usize {
    matrixmultiply::num_threads()
}

/// Calls `f(part, parts)` for each of `parts` parts on its own thread (part 0 on the calling
/// thread), GEMMs inside single-threaded; `parts` is 1 when called from inside a part.
pub(crate) fn for_each_part(f: impl Fn(usize, usize) + Sync) {
    matrixmultiply::for_each_part(f)
}

/// The `part`-th of `parts` contiguous, near-equal ranges of `0..len`.
pub(crate) fn part_range(len: usize, part: usize, parts: usize) -> Range<usize> {
    let (q, r) = (len / parts, len % parts);
    let start = part * q + part.min(r);
    start..start + q + usize::from(part < r)
}

/// A pointer that parts of a split loop share, each slicing a range no other part touches.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T>(*mut T, usize);

// SAFETY: parts only create disjoint slices from it (see `slice`), and `T: Send` values may be
// written from another thread.
unsafe impl<T: Send> Sync for SharedMut<T> {}
unsafe impl<T: Send> Send for SharedMut<T> {}

impl<T> SharedMut<T> {
    pub(crate) fn new(s: &mut [T]) -> Self {
        SharedMut(s.as_mut_ptr(), s.len())
    }

    /// `s[range]` of the slice this was made from.
    ///
    /// # Safety
    /// No two live slices obtained from the same `SharedMut` may overlap, and the original
    /// slice must outlive them and not be used meanwhile.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slice(&self, range: Range<usize>) -> &mut [T] {
        assert!(
            range.start <= range.end && range.end <= self.1,
            "range within the slice"
        );
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(range.start), range.len()) }
    }
}

thread_local! {
    static WORKSPACE_F32: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static WORKSPACE_F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a scratch slice of `len` elements with arbitrary contents, kept per thread and
/// element type and grown only when a larger one is asked for (so repeated calls of one size
/// allocate only the first time). A nested call gets a fresh slice of its own.
pub(crate) fn with_workspace<T: Float, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    fn run<U: Copy + Default, T: 'static, R>(
        cell: &RefCell<Vec<U>>,
        len: usize,
        f: impl FnOnce(&mut [T]) -> R,
    ) -> R {
        let mut v = cell.take();
        if v.len() < len {
            v.resize(len, U::default());
        }
        // SAFETY: the caller checked that `T` is `U` (same TypeId), so this is an identity cast.
        let s = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut T, len) };
        let r = f(s);
        cell.replace(v);
        r
    }
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        WORKSPACE_F32.with(|c| run::<f32, T, R>(c, len, f))
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        WORKSPACE_F64.with(|c| run::<f64, T, R>(c, len, f))
    } else {
        f(&mut vec![T::zero(); len])
    }
}
