//! Element-wise activations: ReLU, Sigmoid, Tanh, LeakyReLU.
//!
//! Every derivative here is written in terms of the activation's *output* `y`, so the forward
//! pass can run in place over the previous layer's output and the backward pass needs no copy
//! of the pre-activation:
//!
//! | activation | y = f(x) | dy/dx from y |
//! |---|---|---|
//! | ReLU | max(x, 0) | 1 if y > 0 else 0 |
//! | Sigmoid | 1 / (1 + e^-x) | y (1 - y) |
//! | Tanh | tanh x | 1 - y² |
//! | LeakyReLU(s), s ≥ 0 | x if x > 0 else s·x | 1 if y > 0 else s |
//!
//! At x = 0 the gradients are PyTorch's: 0 for ReLU, `s` for LeakyReLU.

use ndarray::{ArrayView, ArrayViewMut, Dimension, Zip};

use crate::element::Float;
use crate::error::{config_error, same_shape, Result};

/// Runs `$body` with `$f` bound to the activation's scalar function and `$d` to its derivative
/// from the output (`f'(x)` as a function of `y = f(x)`), each a concrete closure: the variant
/// is matched once, outside the caller's loop, so the loop compiles (and vectorises) per
/// activation.
macro_rules! per_activation {
    ($act:expr, $T:ty, |$f:ident, $d:ident| $body:expr) => {{
        #[allow(unused_variables)]
        match $act {
            Activation::Identity => {
                let $f = |v: $T| v;
                let $d = |_: $T| <$T as num_traits::One>::one();
                $body
            }
            Activation::ReLU => {
                let $f = relu::<$T>;
                let $d = |y: $T| {
                    if y > <$T as num_traits::Zero>::zero() {
                        <$T as num_traits::One>::one()
                    } else {
                        <$T as num_traits::Zero>::zero()
                    }
                };
                $body
            }
            Activation::Sigmoid => {
                let $f = sigmoid::<$T>;
                let $d = |y: $T| y * (<$T as num_traits::One>::one() - y);
                $body
            }
            Activation::Tanh => {
                let $f = <$T as num_traits::Float>::tanh;
                let $d = |y: $T| <$T as num_traits::One>::one() - y * y;
                $body
            }
            Activation::LeakyReLU(s) => {
                let s = <$T as Float>::of(s);
                let $f = move |v: $T| leaky_relu(v, s);
                let $d = move |y: $T| {
                    if y > <$T as num_traits::Zero>::zero() {
                        <$T as num_traits::One>::one()
                    } else {
                        s
                    }
                };
                $body
            }
        }
    }};
}

/// An element-wise activation, or `Identity` for a layer that has none (so a layer kernel can
/// fuse "bias + activation" into the pass that follows its GEMM).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Activation {
    #[default]
    Identity,
    ReLU,
    Sigmoid,
    Tanh,
    /// Negative slope; must be ≥ 0 so the sign of the output tells the sign of the input.
    LeakyReLU(f64),
}

impl Activation {
    /// The PyTorch name of the activation (`"ReLU"`, ...), used in errors and summaries.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "Identity",
            Activation::ReLU => "ReLU",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::LeakyReLU(_) => "LeakyReLU",
        }
    }

    /// Rejects a LeakyReLU slope that is negative or not finite.
    pub fn validate(self) -> Result<()> {
        match self {
            Activation::LeakyReLU(s) if !(s.is_finite() && s >= 0.0) => Err(config_error(
                "LeakyReLU",
                format!("negative slope must be finite and >= 0, got {s}"),
            )),
            _ => Ok(()),
        }
    }

    /// `f(v)` for one element.
    #[inline(always)]
    pub fn apply<T: Float>(self, v: T) -> T {
        match self {
            Activation::Identity => v,
            Activation::ReLU => relu(v),
            Activation::Sigmoid => sigmoid(v),
            Activation::Tanh => v.tanh(),
            Activation::LeakyReLU(s) => leaky_relu(v, T::of(s)),
        }
    }

    /// `x <- f(x)`, in place, for any shape.
    pub fn forward_inplace<T: Float, D: Dimension>(self, mut x: ArrayViewMut<'_, T, D>) {
        // One loop per activation, so the scalar function is chosen once, not per element.
        match self {
            Activation::Identity => {}
            Activation::ReLU => x.mapv_inplace(relu),
            Activation::Sigmoid => match x.as_slice_memory_order_mut() {
                Some(s) if simd_sigmoid::available::<T>() => simd_sigmoid::apply(s),
                _ => x.mapv_inplace(sigmoid),
            },
            Activation::Tanh => x.mapv_inplace(T::tanh),
            Activation::LeakyReLU(s) => {
                let s = T::of(s);
                x.mapv_inplace(|v| leaky_relu(v, s))
            }
        }
    }

    /// `y <- f(x)` (overwrites `y`); `x` and `y` have the same shape.
    pub fn forward<T: Float, D: Dimension>(
        self,
        x: ArrayView<'_, T, D>,
        mut y: ArrayViewMut<'_, T, D>,
    ) -> Result<()> {
        self.validate()?;
        same_shape(self.name(), "output", y.shape(), x.shape())?;
        match self {
            Activation::Identity => y.assign(&x),
            Activation::Sigmoid if simd_sigmoid::available::<T>() && y.is_standard_layout() => {
                y.assign(&x);
                simd_sigmoid::apply(y.as_slice_mut().expect("standard layout"));
            }
            _ => per_activation!(self, T, |f, _d| Zip::from(&mut y)
                .and(&x)
                .for_each(|y, &x| *y = f(x))),
        }
        Ok(())
    }

    /// Backward through the activation, in place: `dy <- dy * f'(x)`, with `f'` computed from
    /// the forward output `y` (same shape as `dy`). On entry `dy` is the gradient with respect
    /// to the activation's output, on return with respect to its input.
    pub fn backward_inplace<T: Float, D: Dimension>(
        self,
        y: ArrayView<'_, T, D>,
        mut dy: ArrayViewMut<'_, T, D>,
    ) -> Result<()> {
        self.validate()?;
        same_shape(self.name(), "output gradient", dy.shape(), y.shape())?;
        if self == Activation::Identity {
            return Ok(());
        }
        if dy.strides() == y.strides() {
            if let (Some(g), Some(y)) = (dy.as_slice_memory_order_mut(), y.as_slice_memory_order())
            {
                self.backward_slice(y, g);
                return Ok(());
            }
        }
        per_activation!(self, T, |_f, d| Zip::from(&mut dy)
            .and(&y)
            .for_each(|g, &y| *g = *g * d(y)));
        Ok(())
    }

    /// `f'(x)` expressed through `y = f(x)`.
    #[inline(always)]
    pub fn derivative_from_output<T: Float>(self, y: T) -> T {
        match self {
            Activation::Identity => T::one(),
            Activation::ReLU => {
                if y > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::Sigmoid => y * (T::one() - y),
            Activation::Tanh => T::one() - y * y,
            Activation::LeakyReLU(s) => {
                if y > T::zero() {
                    T::one()
                } else {
                    T::of(s)
                }
            }
        }
    }
}

/// Slice kernels for the layers: contiguous, row-major, one loop per activation.
impl Activation {
    /// `g <- g ⊙ f'(y)`, element by element (same lengths).
    #[inline(always)]
    fn backward_slice_impl<T: Float>(self, y: &[T], g: &mut [T]) {
        if self == Activation::Identity {
            return;
        }
        per_activation!(self, T, |_f, d| {
            for (g, &y) in g.iter_mut().zip(y) {
                *g = *g * d(y);
            }
        })
    }

    /// `y[r, c] <- f(y[r, c] + bias[c])` on a row-major `[rows, bias.len()]` matrix (a Linear
    /// layer's output), or `y <- f(y)` without a bias.
    #[inline(always)]
    fn bias_forward_columns_impl<T: Float>(self, y: &mut [T], bias: Option<&[T]>) {
        if self == Activation::Sigmoid && simd_sigmoid::available::<T>() {
            Activation::Identity.bias_forward_columns(y, bias);
            return simd_sigmoid::apply(y);
        }
        per_activation!(self, T, |f, _d| match bias {
            Some(b) if !b.is_empty() => {
                for row in y.chunks_exact_mut(b.len()) {
                    for (y, &b) in row.iter_mut().zip(b) {
                        *y = f(*y + b);
                    }
                }
            }
            _ => {
                for y in y.iter_mut() {
                    *y = f(*y);
                }
            }
        })
    }

    /// `y[c, p] <- f(y[c, p] + bias[c])` on a row-major `[bias.len(), plane]` matrix (a
    /// convolution's output for one sample), or `y <- f(y)` without a bias.
    #[inline(always)]
    fn bias_forward_rows_impl<T: Float>(self, y: &mut [T], plane: usize, bias: Option<&[T]>) {
        if self == Activation::Sigmoid && simd_sigmoid::available::<T>() {
            Activation::Identity.bias_forward_rows(y, plane, bias);
            return simd_sigmoid::apply(y);
        }
        per_activation!(self, T, |f, _d| match bias {
            Some(b) if plane > 0 => {
                for (row, &b) in y.chunks_exact_mut(plane).zip(b) {
                    for y in row.iter_mut() {
                        *y = f(*y + b);
                    }
                }
            }
            _ => {
                for y in y.iter_mut() {
                    *y = f(*y);
                }
            }
        })
    }

    /// On row-major `[rows, cols]` matrices `y` and `g` (a Linear layer's output and its
    /// gradient): `g <- g ⊙ f'(y)`, and `dbias[c] += Σ_r g[r, c]` (`dbias.len() == cols`), in
    /// one pass.
    #[inline(always)]
    fn backward_bias_columns_impl<T: Float>(
        self,
        y: &[T],
        g: &mut [T],
        cols: usize,
        dbias: Option<&mut [T]>,
    ) {
        match dbias {
            Some(db) if cols > 0 => per_activation!(self, T, |_f, d| {
                for (g, y) in g.chunks_exact_mut(cols).zip(y.chunks_exact(cols)) {
                    for ((g, &y), db) in g.iter_mut().zip(y).zip(db.iter_mut()) {
                        *g = *g * d(y);
                        *db = *db + *g;
                    }
                }
            }),
            _ => self.backward_slice(y, g),
        }
    }

    /// On row-major `[channels, plane]` matrices `y` and `g` (one sample of a convolution's
    /// output and its gradient): `g <- g ⊙ f'(y)`, and `dbias[c] += Σ_p g[c, p]`, in one pass.
    #[inline(always)]
    fn backward_bias_rows_impl<T: Float>(
        self,
        y: &[T],
        g: &mut [T],
        plane: usize,
        dbias: Option<&mut [T]>,
    ) {
        match dbias {
            Some(db) if plane > 0 => per_activation!(self, T, |_f, d| {
                for ((g, y), db) in g.chunks_exact_mut(plane).zip(y.chunks_exact(plane)).zip(db) {
                    for (g, &y) in g.iter_mut().zip(y) {
                        *g = *g * d(y);
                    }
                    *db = *db + sum(g);
                }
            }),
            _ => self.backward_slice(y, g),
        }
    }
}

/// The slice kernels' entry points: each compiled twice, for the baseline CPU and for AVX2
/// (the same arithmetic, element by element, in wider vectors), chosen at run time.
impl Activation {
    pub(crate) fn backward_slice<T: Float>(self, y: &[T], g: &mut [T]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                return unsafe { avx2::backward_slice(self, y, g) };
            }
        }
        self.backward_slice_impl(y, g)
    }

    pub(crate) fn bias_forward_columns<T: Float>(self, y: &mut [T], bias: Option<&[T]>) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                return unsafe { avx2::bias_forward_columns(self, y, bias) };
            }
        }
        self.bias_forward_columns_impl(y, bias)
    }

    pub(crate) fn bias_forward_rows<T: Float>(self, y: &mut [T], plane: usize, bias: Option<&[T]>) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                return unsafe { avx2::bias_forward_rows(self, y, plane, bias) };
            }
        }
        self.bias_forward_rows_impl(y, plane, bias)
    }

    pub(crate) fn backward_bias_columns<T: Float>(
        self,
        y: &[T],
        g: &mut [T],
        cols: usize,
        dbias: Option<&mut [T]>,
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                return unsafe { avx2::backward_bias_columns(self, y, g, cols, dbias) };
            }
        }
        self.backward_bias_columns_impl(y, g, cols, dbias)
    }

    pub(crate) fn backward_bias_rows<T: Float>(
        self,
        y: &[T],
        g: &mut [T],
        plane: usize,
        dbias: Option<&mut [T]>,
    ) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                return unsafe { avx2::backward_bias_rows(self, y, g, plane, dbias) };
            }
        }
        self.backward_bias_rows_impl(y, g, plane, dbias)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::Activation;
    use crate::element::Float;

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn backward_slice<T: Float>(act: Activation, y: &[T], g: &mut [T]) {
        act.backward_slice_impl(y, g)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn bias_forward_columns<T: Float>(
        act: Activation,
        y: &mut [T],
        bias: Option<&[T]>,
    ) {
        act.bias_forward_columns_impl(y, bias)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn bias_forward_rows<T: Float>(
        act: Activation,
        y: &mut [T],
        plane: usize,
        bias: Option<&[T]>,
    ) {
        act.bias_forward_rows_impl(y, plane, bias)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn backward_bias_columns<T: Float>(
        act: Activation,
        y: &[T],
        g: &mut [T],
        cols: usize,
        dbias: Option<&mut [T]>,
    ) {
        act.backward_bias_columns_impl(y, g, cols, dbias)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn backward_bias_rows<T: Float>(
        act: Activation,
        y: &[T],
        g: &mut [T],
        plane: usize,
        dbias: Option<&mut [T]>,
    ) {
        act.backward_bias_rows_impl(y, g, plane, dbias)
    }
}

/// The logistic function on `f32` slices, eight lanes at a time with AVX2 and FMA: `exp` by
/// range reduction and Cephes' degree-5 polynomial (within 2 ulp of libm's `expf`), so the
/// result is within a few ulp of [`sigmoid`]'s, with the same handling of either sign.
mod simd_sigmoid {
    use crate::element::Float;

    /// Whether [`apply`] takes the vector path for `T` on this CPU.
    pub(crate) fn available<T: Float>() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            crate::element::is_f32::<T>()
                && std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// `x <- sigmoid(x)`; call only where [`available`] says so.
    pub(crate) fn apply<T: Float>(x: &mut [T]) {
        assert!(
            available::<T>(),
            "the vector sigmoid needs f32, AVX2 and FMA"
        );
        #[cfg(target_arch = "x86_64")]
        // SAFETY: T is f32 and the CPU has AVX2 and FMA (checked above).
        unsafe {
            let x = std::slice::from_raw_parts_mut(x.as_mut_ptr() as *mut f32, x.len());
            apply_avx2(x)
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn apply_avx2(x: &mut [f32]) {
        use std::arch::x86_64::*;
        let mut chunks = x.chunks_exact_mut(8);
        for c in &mut chunks {
            // SAFETY: eight floats, unaligned loads and stores.
            unsafe {
                let v = _mm256_loadu_ps(c.as_ptr());
                _mm256_storeu_ps(c.as_mut_ptr(), sigmoid8(v));
            }
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let mut buf = [0f32; 8];
            buf[..rest.len()].copy_from_slice(rest);
            // SAFETY: as above, on a full local buffer.
            unsafe {
                let v = sigmoid8(_mm256_loadu_ps(buf.as_ptr()));
                _mm256_storeu_ps(buf.as_mut_ptr(), v);
            }
            rest.copy_from_slice(&buf[..rest.len()]);
        }
    }

    /// `e = exp(−|v|)`; `1 / (1 + e)` for `v ≥ 0`, `e / (1 + e)` otherwise (NaN stays NaN).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn sigmoid8(v: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        let sign = _mm256_set1_ps(-0.0);
        let one = _mm256_set1_ps(1.0);
        let neg_abs = _mm256_or_ps(v, sign);
        let e = exp_nonpositive(neg_abs);
        let denom = _mm256_add_ps(one, e);
        let positive = _mm256_cmp_ps::<_CMP_GE_OQ>(v, _mm256_setzero_ps());
        let num = _mm256_blendv_ps(e, one, positive);
        _mm256_div_ps(num, denom)
    }

    /// `exp(x)` for `x ≤ 0` (or NaN): `2ⁿ · p(r)` with `x = n ln 2 + r`, `|r| ≤ ln 2 / 2`;
    /// results below `f32`'s normal range flush to 0.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn exp_nonpositive(x: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        let lowest = _mm256_set1_ps(-87.336_54); // ln of the smallest normal f32
        let underflow = _mm256_cmp_ps::<_CMP_LT_OQ>(x, lowest);
        let x = _mm256_max_ps(lowest, x); // NaN stays NaN
        let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm256_mul_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E)),
        );
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
        let mut p = _mm256_set1_ps(1.987_569_1e-4);
        for c in [
            1.398_199_9e-3,
            8.333_452e-3,
            4.166_579_6e-2,
            1.666_666_5e-1,
            0.5,
        ] {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
        }
        let r2 = _mm256_mul_ps(r, r);
        let p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0)));
        // 2ⁿ by the exponent bits (n ≥ −126 here, so the result is normal).
        let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(n),
            _mm256_set1_epi32(127),
        ));
        let y = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
        _mm256_andnot_ps(underflow, y)
    }
}

/// `Σ x`, with eight running sums (so the loop vectorises; the order of a pairwise-style sum).
#[inline]
pub(crate) fn sum<T: Float>(x: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = *a + v;
        }
    }
    let mut total =
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for &v in rest {
        total = total + v;
    }
    total
}

#[inline(always)]
fn relu<T: Float>(v: T) -> T {
    // `v > 0` rather than `max`: NaN stays NaN, as in PyTorch.
    if v > T::zero() || v.is_nan() {
        v
    } else {
        T::zero()
    }
}

#[inline(always)]
fn leaky_relu<T: Float>(v: T, slope: T) -> T {
    if v > T::zero() || v.is_nan() {
        v
    } else {
        v * slope
    }
}

/// The logistic function, computed without overflow for either sign of `v`.
#[inline(always)]
pub fn sigmoid<T: Float>(v: T) -> T {
    if v >= T::zero() {
        T::one() / (T::one() + (-v).exp())
    } else {
        let e = v.exp();
        e / (T::one() + e)
    }
}

#[cfg(test)]
mod tests {
    use super::{sigmoid, simd_sigmoid};

    #[test]
    fn vector_sigmoid_matches_the_scalar_one() {
        if !simd_sigmoid::available::<f32>() {
            return;
        }
        let mut xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 0.05).collect();
        xs.extend([
            0.0, -0.0, 1e-30, -1e-30, 88.0, -87.0, -87.5, -100.0, 1e30, -1e30,
        ]);
        xs.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN]);
        let mut ys = xs.clone();
        simd_sigmoid::apply(&mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let want = sigmoid(x);
            if want.is_nan() {
                assert!(y.is_nan(), "sigmoid({x}) = {y}");
            } else if want < f32::MIN_POSITIVE {
                assert!(
                    y.abs() <= f32::MIN_POSITIVE,
                    "sigmoid({x}) = {y}, want {want}"
                );
            } else {
                assert!(
                    (y - want).abs() <= 4.0 * f32::EPSILON * want,
                    "sigmoid({x}) = {y}, want {want}"
                );
            }
        }
    }
}
