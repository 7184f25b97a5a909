//! The element types a network computes in: `f32` (the default) and `f64` (gradient checks).

use std::fmt::{Debug, Display};

use ndarray::{LinalgScalar, ScalarOperand};
use num_traits::{Float as NumFloat, FromPrimitive};

/// A floating-point element type that tapeless kernels run on.
///
/// Implemented for `f32` and `f64` only: each maps to its own matrixmultiply routine.
pub trait Float:
    NumFloat
    + FromPrimitive
    + LinalgScalar
    + ScalarOperand
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + 'static
{
    /// The name PyTorch and safetensors use for this type (`"F32"` / `"F64"`).
    const DTYPE: &'static str;

    /// Appends the little-endian bytes of `self` (safetensors' byte order).
    fn write_le(self, out: &mut Vec<u8>);

    /// Reads one value from `size_of::<Self>()` little-endian bytes.
    fn read_le(bytes: &[u8]) -> Self;

    /// `C <- alpha * A B + beta * C` on raw strided storage, as `matrixmultiply::sgemm`/`dgemm`.
    ///
    /// # Safety
    /// The pointers and strides must describe valid `m x k`, `k x n` and `m x n` matrices, `c`
    /// must not alias `a` or `b`, and when `beta == 0` the contents of `c` are not read.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );

    /// Converts an `f64` constant (a learning rate, an init bound) to this type.
    fn of(value: f64) -> Self {
        <Self as FromPrimitive>::from_f64(value).expect("every f64 converts to f32/f64")
    }
}

macro_rules! impl_float {
    ($t:ty, $name:literal, $gemm:path) => {
        impl Float for $t {
            const DTYPE: &'static str = $name;

            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }

            fn read_le(bytes: &[u8]) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$t>()];
                raw.copy_from_slice(bytes);
                <$t>::from_le_bytes(raw)
            }

            unsafe fn gemm_raw(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: *const Self,
                rsa: isize,
                csa: isize,
                b: *const Self,
                rsb: isize,
                csb: isize,
                beta: Self,
                c: *mut Self,
                rsc: isize,
                csc: isize,
            ) {
                // SAFETY: forwarded verbatim; the caller upholds matrixmultiply's contract.
                unsafe { $gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
            }
        }
    };
}

impl_float!(f32, "F32", matrixmultiply::sgemm);
impl_float!(f64, "F64", matrixmultiply::dgemm);

/// Whether `T` is `f32`: the kernels' hand-vectorised paths are written for it.
#[inline(always)]
pub(crate) fn is_f32<T: 'static>() -> bool {
    std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>()
}
