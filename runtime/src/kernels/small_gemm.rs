//! GEMM as plain loops, for the products where matrixmultiply's packing costs more than it
//! saves: matrix-vector products (a batch of one) and tiny matrices.
//!
//! The arithmetic is matrixmultiply's: every entry of `A B` is accumulated along `k` in order,
//! in blocks of 256, with fused multiply-adds when the CPU has them (chosen at run time, as
//! matrixmultiply chooses its kernel), and `C` is updated after each block as
//! `alpha·acc + beta·C` (`beta = 1` after the first). So results are the same bits as the
//! packed GEMM's, which checkpoints' round trips and comparisons with PyTorch rely on.
//!
//! Loops: where rows of `B` and `C` are contiguous (or, transposed, columns of `A` and `C`),
//! rows of `C` are built as sums of rows of `B`, vectorised across columns. Otherwise every
//! entry is a dot product of a row of `A` and a column of `B`, eight columns at a time; in
//! `f32` with AVX2 the eight columns are transposed in registers so the eight dot products run
//! as one vector (a Linear layer's forward pass at batch 1, `x Wᵀ`).

use ndarray::{ArrayView2, ArrayViewMut2};

use crate::element::{is_f32, Float};

/// matrixmultiply's `KC`: the length of `k` accumulated before `C` is updated.
const KC: usize = 256;
/// Columns of `C` accumulated at a time (four AVX registers of `f32`).
const NB: usize = 32;
/// The largest B (elements) copied to the stack when read by columns.
const PACK: usize = 512;

fn m_is_one<T>(a: &ArrayView2<'_, T>) -> bool {
    a.nrows() == 1
}

/// `C <- alpha A B + beta C`; `beta = 0` does not read `C`. Shapes are the caller's to check.
pub(crate) fn small_gemm<T: Float>(
    alpha: T,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    c: &mut ArrayViewMut2<'_, T>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { small_gemm_avx2_fma(alpha, a, b, beta, c) };
        }
    }
    small_gemm_impl::<T, false>(alpha, a, b, beta, c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn small_gemm_avx2_fma<T: Float>(
    alpha: T,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    c: &mut ArrayViewMut2<'_, T>,
) {
    small_gemm_impl::<T, true>(alpha, a, b, beta, c)
}

#[inline(always)]
fn small_gemm_impl<T: Float, const FMA: bool>(
    alpha: T,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    c: &mut ArrayViewMut2<'_, T>,
) {
    let (k, n) = b.dim();
    if k == 0 {
        // C <- beta C, as matrixmultiply does (alpha unused), and no pointer into an empty A.
        c.map_inplace(|c| {
            *c = if beta == T::zero() {
                T::zero()
            } else {
                beta * *c
            }
        });
        return;
    }
    // Dot products of contiguous rows of A and columns of B, when that is the layout.
    let dots = a.ncols() <= 1 || a.strides()[1] == 1;
    let dots = dots && (b.nrows() <= 1 || b.strides()[0] == 1) && k >= 16;
    // A few columns of C from columns of A (`dZᵀ X`, the weight gradient of a layer with few
    // inputs): the transposed problem on the stack, rows of C as sums of rows of Aᵀ, so the
    // sums run across a vector rather than as one long chain per entry. With one block of
    // `k`, `alpha·acc + beta·C` after the fact rounds as inside.
    let m = a.nrows();
    if n < 8 && m >= 8 && k <= KC && m * n <= PACK && a.strides()[0] == 1 {
        let mut sums = [T::zero(); PACK];
        let mut sums_t = ArrayViewMut2::from_shape((n, m), &mut sums[..m * n]).expect("n x m");
        axpy_rows::<T, FMA>(T::one(), b.t(), a.t(), T::zero(), &mut sums_t);
        for j in 0..n {
            for i in 0..m {
                let out = &mut c[[i, j]];
                *out = combine::<T, FMA>(alpha, sums[j * m + i], beta, *out);
            }
        }
        return;
    }
    // Each row of C a sum of rows of B: B and C rows contiguous.
    if !dots && rows_contiguous(&b) && rows_contiguous(&c.view()) {
        return axpy_rows::<T, FMA>(alpha, a, b, beta, c);
    }
    // The transposed problem, Cᵀ = Bᵀ Aᵀ, in the same form: A and C columns contiguous.
    let (at, bt) = (a.t(), b.t());
    let mut ct = c.view_mut().reversed_axes();
    if !dots && rows_contiguous(&at) && rows_contiguous(&ct.view()) {
        return axpy_rows::<T, FMA>(alpha, bt, at, beta, &mut ct);
    }
    // One column of C from rows of A (`H w`, a Linear layer of width 1): the transposed
    // problem, a row vector times columns, eight dot products at once below.
    if n == 1 && m >= 8 && dots {
        return dot_rows::<T, FMA>(alpha, bt, at, beta, &mut ct);
    }
    // A small B read by columns: copied to the stack by rows, then as above.
    if k * n <= PACK && rows_contiguous(&c.view()) && !(m_is_one(&a) && dots) {
        let mut packed = [T::zero(); PACK];
        let (rows, cols) = (b.strides()[0], b.strides()[1]);
        for l in 0..k {
            for j in 0..n {
                // SAFETY: `l < k`, `j < n`: within the view.
                packed[l * n + j] =
                    unsafe { *b.as_ptr().offset(l as isize * rows + j as isize * cols) };
            }
        }
        let bp = ArrayView2::from_shape((k, n), &packed[..k * n]).expect("k x n elements");
        return axpy_rows::<T, FMA>(alpha, a, bp, beta, c);
    }
    if m == 1 && dots {
        return gemv_dots::<T, FMA>(alpha, a, b, beta, c);
    }
    dot_rows::<T, FMA>(alpha, a, b, beta, c)
}

/// Every entry of C as a dot product of a row of A and a column of B, eight columns at a time
/// where [`dot8_f32`] can.
#[inline(always)]
fn dot_rows<T: Float, const FMA: bool>(
    alpha: T,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    c: &mut ArrayViewMut2<'_, T>,
) {
    let (m, (k, n)) = (a.nrows(), b.dim());
    for i in 0..m {
        let a_row = a.row(i);
        let mut j0 = 0;
        while j0 < n {
            let width = 8.min(n - j0);
            let mut out = [T::zero(); 8];
            for (r, o) in out[..width].iter_mut().enumerate() {
                *o = c[[i, j0 + r]];
            }
            let done = width == 8 && dot8_f32::<T, FMA>(alpha, &a_row, &b, j0, beta, &mut out);
            if !done {
                let (pa, sa) = (a_row.as_ptr(), a.strides()[1]);
                let sb = b.strides()[0];
                for (r, o) in out[..width].iter_mut().enumerate() {
                    let pb = b.column(j0 + r).as_ptr();
                    // SAFETY: `l < k` stays within row `i` of A and column `j0 + r` of B.
                    let xy = |l: usize| unsafe {
                        (*pa.offset(l as isize * sa), *pb.offset(l as isize * sb))
                    };
                    *o = blocked_dot::<T, FMA>(k, xy, alpha, beta, *o);
                }
            }
            for (r, &o) in out[..width].iter().enumerate() {
                c[[i, j0 + r]] = o;
            }
            j0 += width;
        }
    }
}

fn rows_contiguous<T>(x: &ArrayView2<'_, T>) -> bool {
    x.ncols() <= 1 || x.strides()[1] == 1
}

/// `alpha·acc + beta·c` as matrixmultiply's kernels update C, without reading `c` when
/// `beta = 0` (a NaN there does not leak): in `f32` with FMA (its 6x16 kernel, full and partial
/// tiles) as one fused multiply-add over the rounded `beta·c`, otherwise with two roundings.
/// (Its `f64` kernel fuses on full tiles only, so in `f64` the bits agree for an `alpha` that
/// is a power of two, which is every `alpha` tapeless passes.)
#[inline(always)]
fn combine<T: Float, const FMA: bool>(alpha: T, acc: T, beta: T, c: T) -> T {
    if beta == T::zero() {
        alpha * acc
    } else if FMA && is_f32::<T>() {
        alpha.mul_add(acc, beta * c)
    } else {
        alpha * acc + beta * c
    }
}

#[inline(always)]
fn fma<T: Float, const FMA: bool>(x: T, y: T, acc: T) -> T {
    if FMA {
        x.mul_add(y, acc)
    } else {
        acc + x * y
    }
}

/// A row vector times a matrix read by columns (`x Wᵀ`, a Linear layer at batch 1): each entry
/// a dot product of two contiguous vectors, four at a time so `x` is loaded once for four
/// columns, each summed with eight running sums (one vector) so the loop vectorises. This
/// is the one path whose sums are not in matrixmultiply's order (it differs in the last bits).
#[inline(always)]
fn gemv_dots<T: Float, const FMA: bool>(
    alpha: T,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    c: &mut ArrayViewMut2<'_, T>,
) {
    let (k, n) = b.dim();
    let x = a.row(0);
    let x = x.as_slice().expect("a contiguous row");
    let col = b.strides()[1];
    let column = |j: usize| {
        // SAFETY: column `j < n` of B, `k` contiguous elements.
        unsafe { std::slice::from_raw_parts(b.as_ptr().offset(j as isize * col), k) }
    };
    let mut j = 0;
    #[cfg(target_arch = "x86_64")]
    if FMA && is_f32::<T>() {
        while j + 4 <= n {
            let cols: [&[T]; 4] = std::array::from_fn(|r| column(j + r));
            // SAFETY: T is f32 (checked); AVX2 and FMA are there (FMA is set only by the
            // dispatcher); every slice holds k elements.
            let d = unsafe {
                dot4_avx2(
                    x.as_ptr() as *const f32,
                    std::array::from_fn(|r| cols[r].as_ptr() as *const f32),
                    k,
                )
            };
            for (r, &d) in d.iter().enumerate() {
                // SAFETY: as above, T is f32.
                let d: T = unsafe { *(&d as *const f32 as *const T) };
                let out = &mut c[[0, j + r]];
                *out = combine::<T, FMA>(alpha, d, beta, *out);
            }
            j += 4;
        }
    }
    while j < n {
        let width = 4.min(n - j);
        let cols: [&[T]; 4] = std::array::from_fn(|r| column(j + r.min(width - 1)));
        let mut acc = [[T::zero(); 8]; 4];
        let chunks = k / 8 * 8;
        for l in (0..chunks).step_by(8) {
            let xs = &x[l..l + 8];
            for (acc, col) in acc.iter_mut().zip(&cols) {
                let ys = &col[l..l + 8];
                for q in 0..8 {
                    acc[q] = fma::<T, FMA>(xs[q], ys[q], acc[q]);
                }
            }
        }
        for r in 0..width {
            let a = &acc[r];
            let mut d = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
            for l in chunks..k {
                d = fma::<T, FMA>(x[l], cols[r][l], d);
            }
            let out = &mut c[[0, j + r]];
            *out = combine::<T, FMA>(alpha, d, beta, *out);
        }
        j += width;
    }
}

/// Four dot products `x · ys[r]` of `k` contiguous floats, as [`gemv_dots`] sums them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot4_avx2(x: *const f32, ys: [*const f32; 4], k: usize) -> [f32; 4] {
    use std::arch::x86_64::*;
    // SAFETY (whole body): the caller guarantees x[..k] and ys[r][..k] are readable.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); 4];
        let chunks = k / 8 * 8;
        let mut l = 0;
        while l < chunks {
            let xv = _mm256_loadu_ps(x.add(l));
            for r in 0..4 {
                acc[r] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(ys[r].add(l)), acc[r]);
            }
            l += 8;
        }
        std::array::from_fn(|r| {
            let mut a = [0f32; 8];
            _mm256_storeu_ps(a.as_mut_ptr(), acc[r]);
            let mut d = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
            for l in chunks..k {
                d = (*x.add(l)).mul_add(*ys[r].add(l), d);
            }
            d
        })
    }
}

/// One entry: `Σₗ x(l)·y(l)` for `l < k`, accumulated in order in blocks of [`KC`] terms, `c`
/// updated after each block as matrixmultiply does.
#[inline(always)]
fn blocked_dot<T: Float, const FMA: bool>(
    k: usize,
    xy: impl Fn(usize) -> (T, T),
    alpha: T,
    beta: T,
    mut c: T,
) -> T {
    debug_assert!(k > 0, "k = 0 is handled up front");
    for (block, start) in (0..k).step_by(KC).enumerate() {
        let mut acc = T::zero();
        for l in start..(start + KC).min(k) {
            let (x, y) = xy(l);
            acc = fma::<T, FMA>(x, y, acc);
        }
        c = combine::<T, FMA>(alpha, acc, if block == 0 { beta } else { T::one() }, c);
    }
    c
}

/// Eight entries `out[r] = C[i, j0 + r]` of one row at once, in `f32` with AVX2 and FMA:
/// `false` (nothing done) in any other case, or when a column of B is not contiguous.
#[inline(always)]
fn dot8_f32<T: Float, const FMA: bool>(
    alpha: T,
    a_row: &ndarray::ArrayView1<'_, T>,
    b: &ArrayView2<'_, T>,
    j0: usize,
    beta: T,
    out: &mut [T; 8],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let k = b.nrows();
        let contiguous = k <= 1 || b.strides()[0] == 1;
        let a_ok = a_row.len() <= 1 || a_row.strides()[0] == 1;
        if FMA && is_f32::<T>() && contiguous && a_ok {
            let col = b.strides()[1];
            // SAFETY: T is f32 (checked), the pointers and strides come from the views, and
            // this runs only on CPUs with AVX2 and FMA (FMA is set only by the dispatcher).
            unsafe {
                let out = &mut *(out as *mut [T; 8] as *mut [f32; 8]);
                dot8_avx2(
                    *(&alpha as *const T as *const f32),
                    a_row.as_ptr() as *const f32,
                    b.as_ptr().offset(j0 as isize * col) as *const f32,
                    col,
                    k,
                    *(&beta as *const T as *const f32),
                    out,
                );
            }
            return true;
        }
    }
    let _ = (alpha, a_row, b, j0, beta, out);
    false
}

/// `out[r] ← alpha Σₗ a[l] b_r[l] + beta out[r]` for the eight columns `b_r = b + r·col`
/// (each `k` contiguous floats), in blocks of [`KC`] as [`blocked_dot`]: each lane of the
/// accumulator is one column's sequence of fused multiply-adds, fed by 8x8 transposes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot8_avx2(
    alpha: f32,
    a: *const f32,
    b: *const f32,
    col: isize,
    k: usize,
    beta: f32,
    out: &mut [f32; 8],
) {
    use std::arch::x86_64::*;
    // SAFETY (whole body): the caller guarantees a[..k] and b_r[..k] for r < 8 are readable.
    unsafe {
        let rows: [*const f32; 8] = std::array::from_fn(|r| b.offset(r as isize * col));
        debug_assert!(k > 0, "k = 0 is handled up front");
        for (block, start) in (0..k).step_by(KC).enumerate() {
            let end = (start + KC).min(k);
            let mut acc = _mm256_setzero_ps();
            let mut l = start;
            while l + 8 <= end {
                let v: [__m256; 8] = std::array::from_fn(|r| _mm256_loadu_ps(rows[r].add(l)));
                // Transpose: t[q] holds element l + q of each of the eight columns.
                let u0 = _mm256_unpacklo_ps(v[0], v[1]);
                let u1 = _mm256_unpackhi_ps(v[0], v[1]);
                let u2 = _mm256_unpacklo_ps(v[2], v[3]);
                let u3 = _mm256_unpackhi_ps(v[2], v[3]);
                let u4 = _mm256_unpacklo_ps(v[4], v[5]);
                let u5 = _mm256_unpackhi_ps(v[4], v[5]);
                let u6 = _mm256_unpacklo_ps(v[6], v[7]);
                let u7 = _mm256_unpackhi_ps(v[6], v[7]);
                let s0 = _mm256_shuffle_ps::<0x44>(u0, u2);
                let s1 = _mm256_shuffle_ps::<0xEE>(u0, u2);
                let s2 = _mm256_shuffle_ps::<0x44>(u1, u3);
                let s3 = _mm256_shuffle_ps::<0xEE>(u1, u3);
                let s4 = _mm256_shuffle_ps::<0x44>(u4, u6);
                let s5 = _mm256_shuffle_ps::<0xEE>(u4, u6);
                let s6 = _mm256_shuffle_ps::<0x44>(u5, u7);
                let s7 = _mm256_shuffle_ps::<0xEE>(u5, u7);
                let t = [
                    _mm256_permute2f128_ps::<0x20>(s0, s4),
                    _mm256_permute2f128_ps::<0x20>(s1, s5),
                    _mm256_permute2f128_ps::<0x20>(s2, s6),
                    _mm256_permute2f128_ps::<0x20>(s3, s7),
                    _mm256_permute2f128_ps::<0x31>(s0, s4),
                    _mm256_permute2f128_ps::<0x31>(s1, s5),
                    _mm256_permute2f128_ps::<0x31>(s2, s6),
                    _mm256_permute2f128_ps::<0x31>(s3, s7),
                ];
                for (q, t) in t.iter().enumerate() {
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(*a.add(l + q)), *t, acc);
                }
                l += 8;
            }
            let mut lanes = [0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
            for (r, lane) in lanes.iter_mut().enumerate() {
                for l in l..end {
                    *lane = (*a.add(l)).mul_add(*rows[r].add(l), *lane);
                }
                let beta = if block == 0 { beta } else { 1.0 };
                out[r] = combine::<f32, true>(alpha, *lane, beta, out[r]);
            }
        }
    }
}

/// Rows of B and C contiguous: `C[i] <- alpha Σₗ A[i, l] B[l] + beta C[i]`, accumulated on the
/// stack [`NB`] columns at a time, then 8, then 1 (fixed widths the compiler keeps in vector
/// registers). Raw pointers: at these sizes, per-row view bookkeeping costs more than the
/// arithmetic.
#[inline(always)]
fn axpy_rows<T: Float, const FMA: bool>(
    alpha: T,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    c: &mut ArrayViewMut2<'_, T>,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    // (Empty views may carry zero strides; nothing is read from them.)
    debug_assert!(n <= 1 || k == 0 || b.strides()[1] == 1);
    debug_assert!(n <= 1 || m == 0 || c.strides()[1] == 1);
    let (a_rows, a_cols) = (a.strides()[0], a.strides()[1]);
    let (b_rows, c_rows) = (b.strides()[0], c.strides()[0]);
    let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    // f32 with AVX2 and FMA: explicit vectors (the compiler splits `[f32; 8]` loops unevenly).
    let avx = cfg!(target_arch = "x86_64") && FMA && is_f32::<T>();
    let mut j = 0;
    while j < n {
        // SAFETY: rows `< m` of A and C, columns `j..j + W ≤ n` of B and C, `l < k`: all
        // within the views, whose rows of B and C are contiguous.
        unsafe {
            let block = Block {
                rows: m,
                a: pa,
                a_next: a_rows,
                a_step: a_cols,
                b: pb.add(j),
                b_step: b_rows,
                c: pc.add(j),
                c_next: c_rows,
            };
            j += match n - j {
                w if w >= NB && avx => axpy_columns_f32::<T, { NB / 8 }>(k, alpha, beta, block),
                w if w >= NB => axpy_columns::<T, FMA, NB>(k, alpha, beta, block),
                w if w >= 16 && avx => axpy_columns_f32::<T, 2>(k, alpha, beta, block),
                w if w >= 8 && avx => axpy_columns_f32::<T, 1>(k, alpha, beta, block),
                w if w >= 8 => axpy_columns::<T, FMA, 8>(k, alpha, beta, block),
                _ => axpy_columns::<T, FMA, 1>(k, alpha, beta, block),
            };
        }
    }
}

/// [`axpy_columns`] for `W = 8·V` columns of `f32` in AVX registers, the same sums in the same
/// order (each lane one entry's chain of fused multiply-adds).
///
/// # Safety
/// As [`axpy_columns`]; `T` is `f32` and the CPU has AVX2 and FMA.
#[inline(always)]
unsafe fn axpy_columns_f32<T: Float, const V: usize>(
    k: usize,
    alpha: T,
    beta: T,
    block: Block<T>,
) -> usize {
    debug_assert!(is_f32::<T>());
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `T` is `f32`, so these are identity casts; the rest is the caller's contract.
        unsafe {
            let f = |x: T| *(&x as *const T as *const f32);
            avx::axpy_columns::<V>(k, f(alpha), f(beta), block.cast())
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!(
        "{k} {alpha} {beta} {:?}: dispatched on x86_64 only",
        block.a
    )
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    use super::{Block, KC};

    /// See [`super::axpy_columns_f32`].
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) unsafe fn axpy_columns<const V: usize>(
        k: usize,
        alpha: f32,
        beta: f32,
        Block {
            rows,
            a,
            a_next,
            a_step,
            b,
            b_step,
            c,
            c_next,
        }: Block<f32>,
    ) -> usize {
        // SAFETY (whole body): the caller's contract, `i < rows`, `l < k`, `v < V`.
        unsafe {
            for i in 0..rows {
                let (a, c) = (a.offset(i as isize * a_next), c.offset(i as isize * c_next));
                let (mut start, mut beta) = (0, beta);
                loop {
                    let end = (start + KC).min(k);
                    let mut acc = [_mm256_setzero_ps(); V];
                    for l in start..end {
                        let s = _mm256_set1_ps(*a.offset(l as isize * a_step));
                        let row = b.offset(l as isize * b_step);
                        for (v, acc) in acc.iter_mut().enumerate() {
                            *acc = _mm256_fmadd_ps(s, _mm256_loadu_ps(row.add(8 * v)), *acc);
                        }
                    }
                    // `alpha·acc + beta·c` rounded as `combine` rounds it; `c` unread if beta = 0.
                    let alpha_v = _mm256_set1_ps(alpha);
                    for (v, &acc) in acc.iter().enumerate() {
                        let out = c.add(8 * v);
                        let r = if beta != 0.0 {
                            let old = _mm256_mul_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(out));
                            _mm256_fmadd_ps(alpha_v, acc, old)
                        } else {
                            _mm256_mul_ps(alpha_v, acc)
                        };
                        _mm256_storeu_ps(out, r);
                    }
                    beta = 1.0;
                    start = end;
                    if start >= k {
                        break;
                    }
                }
            }
        }
        8 * V
    }
}

/// Where [`axpy_columns`] reads rows of A and a block of columns of B, and writes C: row `i` of
/// A at `a + i·a_next` (its elements `a_step` apart), of C at `c + i·c_next`.
struct Block<T> {
    rows: usize,
    a: *const T,
    a_next: isize,
    a_step: isize,
    b: *const T,
    b_step: isize,
    c: *mut T,
    c_next: isize,
}

impl<T> Block<T> {
    /// The same block over another element type of the same size (`f32` seen as `T`).
    #[cfg(target_arch = "x86_64")]
    fn cast<U>(self) -> Block<U> {
        debug_assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<U>());
        Block {
            rows: self.rows,
            a: self.a.cast(),
            a_next: self.a_next,
            a_step: self.a_step,
            b: self.b.cast(),
            b_step: self.b_step,
            c: self.c.cast(),
            c_next: self.c_next,
        }
    }
}

/// `W` columns of every row `i` of C, `c_i[q] <- alpha Σₗ a_i[l·a_step] b[l·b_step + q] +
/// beta c_i[q]`, in blocks of [`KC`] as matrixmultiply; returns `W`. (Rows inside, so a
/// product with a short `k` pays the setup once per block of columns, not once per row.)
///
/// # Safety
/// For `i < rows`, `l < k`, `q < W`: `a_i` readable at `l·a_step`, `b` at `l·b_step + q`,
/// `c_i[q]` writable.
#[inline(always)]
unsafe fn axpy_columns<T: Float, const FMA: bool, const W: usize>(
    k: usize,
    alpha: T,
    beta: T,
    Block {
        rows,
        a,
        a_next,
        a_step,
        b,
        b_step,
        c,
        c_next,
    }: Block<T>,
) -> usize {
    for i in 0..rows {
        // SAFETY: the caller's contract, `i < rows`.
        let (a, c) = unsafe { (a.offset(i as isize * a_next), c.offset(i as isize * c_next)) };
        let (mut start, mut beta) = (0, beta);
        loop {
            let end = (start + KC).min(k);
            let mut acc = [T::zero(); W];
            for l in start..end {
                // SAFETY: the caller's contract, `l < k`.
                let (s, row) = unsafe {
                    (
                        *a.offset(l as isize * a_step),
                        &*(b.offset(l as isize * b_step) as *const [T; W]),
                    )
                };
                for q in 0..W {
                    acc[q] = fma::<T, FMA>(s, row[q], acc[q]);
                }
            }
            for (q, &acc) in acc.iter().enumerate() {
                // SAFETY: `q < W`.
                let out = unsafe { &mut *c.add(q) };
                *out = combine::<T, FMA>(alpha, acc, beta, *out);
            }
            // matrixmultiply's update of C after each block: the user's beta first, 1 after.
            beta = T::one();
            start = end;
            if start >= k {
                break;
            }
        }
    }
    W
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ShapeBuilder};

    use super::small_gemm;
    use crate::element::{is_f32, Float};
    use crate::init::Rng;

    fn random<T: Float>(rows: usize, cols: usize, column_major: bool, rng: &mut Rng) -> Array2<T> {
        let shape = if column_major {
            (rows, cols).f()
        } else {
            (rows, cols).into_shape_with_order()
        };
        let mut a = Array2::zeros(shape);
        a.mapv_inplace(|_: T| T::of(rng.normal()));
        a
    }

    /// The same bits as matrixmultiply's packed GEMM, for every layout and both element types
    /// (close, for a row vector times a matrix read by columns).
    fn same_as_packed<T: Float>() {
        let mut rng = Rng::new(3);
        let shapes = [
            (1, 784, 128),
            (1, 5, 7),
            (7, 1, 5),
            (3, 300, 1),
            (32, 2, 16),
            (16, 32, 2),
            (1, 32, 16),
            (32, 16, 1),
            (5, 600, 9),
            (9, 17, 1),
            (4, 0, 3),
            (19, 300, 21),
            (40, 37, 33),
            (24, 40, 1),
            (12, 300, 3),
            (9, 5, 7),
        ];
        for (m, k, n) in shapes {
            for layout in 0..8 {
                let a = random::<T>(m, k, layout & 1 != 0, &mut rng);
                let b = random::<T>(k, n, layout & 2 != 0, &mut rng);
                let c0 = random::<T>(m, n, layout & 4 != 0, &mut rng);
                // f64: alpha a power of two (see `combine`); f32: any alpha.
                let scalars: &[(f64, f64)] = if is_f32::<T>() {
                    &[(1.0, 0.0), (1.0, 1.0), (0.5, -2.0), (0.3, 0.7), (0.3, 0.0)]
                } else {
                    &[(1.0, 0.0), (1.0, 1.0), (0.5, -2.0)]
                };
                for &(alpha, beta) in scalars {
                    let (alpha, beta) = (T::of(alpha), T::of(beta));
                    let mut ours = c0.clone();
                    small_gemm(alpha, a.view(), b.view(), beta, &mut ours.view_mut());
                    let mut packed = c0.clone();
                    let (sa, sb, sc) = (
                        a.strides().to_vec(),
                        b.strides().to_vec(),
                        packed.strides().to_vec(),
                    );
                    // SAFETY: the arrays' own dims and strides.
                    unsafe {
                        T::gemm_raw(
                            m,
                            k,
                            n,
                            alpha,
                            a.as_ptr(),
                            sa[0],
                            sa[1],
                            b.as_ptr(),
                            sb[0],
                            sb[1],
                            beta,
                            packed.as_mut_ptr(),
                            sc[0],
                            sc[1],
                        );
                    }
                    let what = format!("{m}x{k}x{n} layout {layout} alpha {alpha} beta {beta}");
                    // A row vector times a matrix read by columns: eight running sums.
                    let gemv = m == 1 && k >= 16 && (layout & 2 != 0 || n == 1);
                    if gemv {
                        for (o, p) in ours.iter().zip(&packed) {
                            let tol = T::of(1e-5) * (T::one() + p.abs()) * T::of(k as f64).sqrt();
                            assert!((*o - *p).abs() <= tol, "{what}: {o} vs {p}");
                        }
                    } else {
                        assert_eq!(ours, packed, "{what}");
                    }
                }
            }
        }
    }

    #[test]
    fn same_bits_as_packed_gemm_f32() {
        same_as_packed::<f32>();
    }

    #[test]
    fn same_bits_as_packed_gemm_f64() {
        same_as_packed::<f64>();
    }

    #[test]
    fn beta_zero_ignores_nan_in_c() {
        let a = Array2::<f32>::ones((2, 3));
        let b = Array2::<f32>::ones((3, 4));
        let mut c = Array2::<f32>::from_elem((2, 4), f32::NAN);
        small_gemm(1.0, a.view(), b.view(), 0.0, &mut c.view_mut());
        assert!(c.iter().all(|&v| v == 3.0));
    }
}
