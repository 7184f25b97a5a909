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

use crate::element::Float;

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
    // Dot products of contiguous rows of A and columns of B, when that is the layout.
    let dots = a.ncols() <= 1 || a.strides()[1] == 1;
    let dots = dots && (b.nrows() <= 1 || b.strides()[0] == 1) && k >= 16;
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
    // A small B read by columns: copied to the stack by rows, then as above.
    if k * n <= PACK && rows_contiguous(&c.view()) && !(m_is_one(&a) && dots) {
        let mut packed = [T::zero(); PACK];
        for (l, row) in b.rows().into_iter().enumerate() {
            for (d, &v) in packed[l * n..(l + 1) * n].iter_mut().zip(row.iter()) {
                *d = v;
            }
        }
        let bp = ArrayView2::from_shape((k, n), &packed[..k * n]).expect("k x n elements");
        return axpy_rows::<T, FMA>(alpha, a, bp, beta, c);
    }
    let m = a.nrows();
    if m == 1 && dots {
        return gemv_dots::<T, FMA>(alpha, a, b, beta, c);
    }
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

/// `alpha·acc + beta·c`, without reading `c` when `beta = 0` (a NaN there does not leak).
#[inline(always)]
fn combine<T: Float>(alpha: T, acc: T, beta: T, c: T) -> T {
    if beta == T::zero() {
        alpha * acc
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
    if FMA && std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() {
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
                *out = combine(alpha, d, beta, *out);
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
            *out = combine(alpha, d, beta, *out);
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
    for (block, start) in (0..k.max(1)).step_by(KC).enumerate() {
        let mut acc = T::zero();
        for l in start..(start + KC).min(k) {
            let (x, y) = xy(l);
            acc = fma::<T, FMA>(x, y, acc);
        }
        c = combine(alpha, acc, if block == 0 { beta } else { T::one() }, c);
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
        use std::any::TypeId;
        let k = b.nrows();
        let contiguous = k <= 1 || b.strides()[0] == 1;
        let a_ok = a_row.len() <= 1 || a_row.strides()[0] == 1;
        if FMA && TypeId::of::<T>() == TypeId::of::<f32>() && contiguous && a_ok {
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
        for (block, start) in (0..k.max(1)).step_by(KC).enumerate() {
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
                out[r] = combine(alpha, *lane, beta, out[r]);
            }
        }
    }
}

/// Rows of B and C contiguous: `C[i] <- alpha Σₗ A[i, l] B[l] + beta C[i]`, accumulated on the
/// stack [`NB`] columns at a time.
#[inline(always)]
fn axpy_rows<T: Float, const FMA: bool>(
    alpha: T,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    c: &mut ArrayViewMut2<'_, T>,
) {
    let (k, n) = b.dim();
    let b_rows = b.strides()[0];
    let b_ptr = b.as_ptr();
    for (i, mut c_row) in c.rows_mut().into_iter().enumerate() {
        let a_row = a.row(i);
        let c_row = c_row.as_slice_mut().expect("rows of C are contiguous");
        for j0 in (0..n).step_by(NB) {
            let width = NB.min(n - j0);
            let c_part = &mut c_row[j0..j0 + width];
            for (block, k0) in (0..k.max(1)).step_by(KC).enumerate() {
                // matrixmultiply's update of C after each block: the user's beta first, 1 after.
                let beta = if block == 0 { beta } else { T::one() };
                let ls = k0..(k0 + KC).min(k);
                // SAFETY: row `l < k` of B, columns `j0..j0 + width ≤ n`, contiguous.
                let b_part = |l: usize| unsafe {
                    std::slice::from_raw_parts(b_ptr.offset(l as isize * b_rows).add(j0), width)
                };
                if width == NB {
                    // A full block: a fixed-size accumulator the compiler keeps in registers.
                    let mut acc = [T::zero(); NB];
                    for l in ls {
                        let s = a_row[l];
                        let b: &[T; NB] = b_part(l).try_into().expect("NB elements");
                        for q in 0..NB {
                            acc[q] = fma::<T, FMA>(s, b[q], acc[q]);
                        }
                    }
                    for (c, &acc) in c_part.iter_mut().zip(acc.iter()) {
                        *c = combine(alpha, acc, beta, *c);
                    }
                } else {
                    let mut acc = [T::zero(); NB];
                    let acc = &mut acc[..width];
                    for l in ls {
                        let s = a_row[l];
                        for (acc, &b) in acc.iter_mut().zip(b_part(l)) {
                            *acc = fma::<T, FMA>(s, b, *acc);
                        }
                    }
                    for (c, &acc) in c_part.iter_mut().zip(acc.iter()) {
                        *c = combine(alpha, acc, beta, *c);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ShapeBuilder};

    use super::small_gemm;
    use crate::element::Float;
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
        ];
        for (m, k, n) in shapes {
            for layout in 0..8 {
                let a = random::<T>(m, k, layout & 1 != 0, &mut rng);
                let b = random::<T>(k, n, layout & 2 != 0, &mut rng);
                let c0 = random::<T>(m, n, layout & 4 != 0, &mut rng);
                for (alpha, beta) in [(1.0, 0.0), (1.0, 1.0), (0.5, -2.0)] {
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
