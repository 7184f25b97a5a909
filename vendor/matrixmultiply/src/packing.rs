// Copyright 2016 - 2023 Ulrik Sverdrup "bluss"
//
// Licensed under the Apache License, Version 2.0 <LICENSE-APACHE or
// http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your
// option. This file may not be copied, modified, or distributed
// except according to those terms.

use rawpointer::PointerExt;

use core::mem::MaybeUninit;
use core::ptr::copy_nonoverlapping;

use crate::kernel::ConstNum;
use crate::kernel::Element;

#[cfg(target_arch="x86")]
use core::arch::x86::*;
#[cfg(target_arch="x86_64")]
use core::arch::x86_64::*;

/// An internal wrapper around a valid mutable pointer to uninitialized memory
#[repr(transparent)]
pub(crate) struct PackSlice<'a, T>(&'a mut [MaybeUninit<T>]);

impl<'a, T> PackSlice<'a, T> {
    #[inline(always)]
    pub(crate) fn as_mut_ptr(self) -> *mut T {
        self.0.as_mut_ptr().cast::<T>()
    }

    /// Create a slice that points to uninitialized memory
    ///
    /// # Safety
    ///
    /// The caller must ensure the pointer is non-null and valid for &mut access to the whole
    /// slice. And the slice is not used past the memory's lifetime (should be used as temporary only).
    #[inline]
    pub(crate) unsafe fn from<'b>(ptr: *mut T, size: usize) -> PackSlice<'b, T> {
        PackSlice(core::slice::from_raw_parts_mut(ptr.cast::<MaybeUninit<T>>(), size))
    }

    #[cfg(all(test, feature = "cgemm"))]
    #[inline]
    pub(crate) fn from_slice(slice: &'_ mut [T]) -> PackSlice<'_, T> {
        // SAFETY: follows from mutable slice invariants
        unsafe {
            PackSlice::from(slice.as_mut_ptr(), slice.len())
        }
    }
}

/// Pack matrix into `pack`
///
/// + kc: length of the micropanel
/// + mc: number of rows/columns in the matrix to be packed
/// + pack: packing buffer
/// + a: matrix,
/// + rsa: row stride
/// + csa: column stride
///
/// + MR: kernel rows/columns that we round up to
// If one of pack and a is of a reference type, it gets a noalias annotation which
// gives benefits to optimization. The packing buffer is contiguous so it can be passed as a slice
// here.
pub(crate) unsafe fn pack<MR, T>(kc: usize, mc: usize, pack: PackSlice<T>,
                                 a: *const T, rsa: isize, csa: isize)
    where T: Element,
          MR: ConstNum,
{
    pack_impl::<MR, T>(kc, mc, pack, a, rsa, csa)
}

/// Specialized for AVX2
/// Safety: Requires AVX2
#[cfg(any(target_arch="x86", target_arch="x86_64"))]
#[target_feature(enable="avx2")]
pub(crate) unsafe fn pack_avx2<MR, T>(kc: usize, mc: usize, pack: PackSlice<T>,
                                     a: *const T, rsa: isize, csa: isize)
    where T: Element,
          MR: ConstNum,
{
    // tapeless patch: f32 panels of 6, 8 or 16 whose rows are contiguous along `kc` (a
    // row major A, a transposed B = Wᵀ) are packed by register transposes (6x8 or 8x8)
    // instead of element by element.
    if core::mem::size_of::<T>() == 4 && matches!(MR::VALUE, 6 | 8 | 16) && csa == 1 && rsa != 1
    {
        pack_rows_f32_avx2::<MR>(kc, mc, pack.as_mut_ptr() as *mut f32, a as *const f32, rsa);
        return;
    }
    pack_impl::<MR, T>(kc, mc, pack, a, rsa, csa)
}

/// Packs `mc` rows (`rsa` apart, each contiguous along `kc`) in panels of MR (6, 8 or 16) as
/// [`pack_impl`] does: for each panel, for each `j < kc`, the MR rows' element `j`, where rows
/// past `mc` are zero. (tapeless patch)
#[cfg(any(target_arch="x86", target_arch="x86_64"))]
#[target_feature(enable="avx2")]
unsafe fn pack_rows_f32_avx2<MR: ConstNum>(kc: usize, mc: usize, pack: *mut f32,
                                           a: *const f32, rsa: isize)
{
    let mr = MR::VALUE;
    let mut p = pack;
    for ir in 0..(mc + mr - 1) / mr {
        let panel = a.offset((ir * mr) as isize * rsa);
        // rows of this panel that exist
        let valid = Ord::min(mr, mc - ir * mr);
        let mut j = 0;
        while j + 8 <= kc && mr == 6 {
            let v: [__m256; 6] = core::array::from_fn(|i| {
                if i < valid {
                    _mm256_loadu_ps(panel.offset(i as isize * rsa).add(j))
                } else {
                    _mm256_setzero_ps()
                }
            });
            transpose6x8_f32(v, p);
            p = p.add(8 * mr);
            j += 8;
        }
        while j + 8 <= kc {
            // groups of 8 rows
            for g in 0..mr / 8 {
                let v: [__m256; 8] = core::array::from_fn(|i| {
                    let row = g * 8 + i;
                    if row < valid {
                        _mm256_loadu_ps(panel.offset(row as isize * rsa).add(j))
                    } else {
                        _mm256_setzero_ps()
                    }
                });
                let t = transpose8x8_f32(v);
                let q = p.add(g * 8);
                for jj in 0..8 {
                    _mm256_storeu_ps(q.add(jj * mr), t[jj]);
                }
            }
            p = p.add(8 * mr);
            j += 8;
        }
        while j < kc {
            for i in 0..mr {
                *p = if i < valid { *panel.offset(i as isize * rsa).add(j) } else { 0. };
                p = p.add(1);
            }
            j += 1;
        }
    }
}

/// Stores 6 vectors of 8 (rows) transposed, as 8 groups of 6 (columns), at `q`.
/// (tapeless patch)
#[cfg(any(target_arch="x86", target_arch="x86_64"))]
#[target_feature(enable="avx")]
#[inline]
unsafe fn transpose6x8_f32(v: [__m256; 6], q: *mut f32) {
    // Pairs of rows interleaved: (r0[j], r1[j]) as one f64 lane a_j; lo: j = 0, 1 | 4, 5,
    // hi: j = 2, 3 | 6, 7. Likewise b_j from rows 2, 3 and c_j from rows 4, 5.
    let lo = |x, y| _mm256_castps_pd(_mm256_unpacklo_ps(x, y));
    let hi = |x, y| _mm256_castps_pd(_mm256_unpackhi_ps(x, y));
    let (a, b, c) = (lo(v[0], v[1]), lo(v[2], v[3]), lo(v[4], v[5]));
    let (a2, b2, c2) = (hi(v[0], v[1]), hi(v[2], v[3]), hi(v[4], v[5]));
    // a0 b0 | a4 b4,  c0 a1 | c4 a5,  b1 c1 | b5 c5 (and j + 2 from the hi pairs)
    let x = _mm256_unpacklo_pd(a, b);
    let y = _mm256_blend_pd::<0b1010>(c, a);
    let z = _mm256_unpackhi_pd(b, c);
    let x2 = _mm256_unpacklo_pd(a2, b2);
    let y2 = _mm256_blend_pd::<0b1010>(c2, a2);
    let z2 = _mm256_unpackhi_pd(b2, c2);
    // in memory: a0 b0 c0 a1 b1 c1 a2 b2 c2 a3 b3 c3, then the same for j + 4
    let out = [
        _mm256_permute2f128_pd::<0x20>(x, y),
        _mm256_permute2f128_pd::<0x20>(z, x2),
        _mm256_permute2f128_pd::<0x20>(y2, z2),
        _mm256_permute2f128_pd::<0x31>(x, y),
        _mm256_permute2f128_pd::<0x31>(z, x2),
        _mm256_permute2f128_pd::<0x31>(y2, z2),
    ];
    for i in 0..6 {
        _mm256_storeu_ps(q.add(8 * i), _mm256_castpd_ps(out[i]));
    }
}

/// Transposes 8 vectors of 8 (rows) to 8 vectors of 8 (columns). (tapeless patch)
#[cfg(any(target_arch="x86", target_arch="x86_64"))]
#[target_feature(enable="avx")]
#[inline]
unsafe fn transpose8x8_f32(v: [__m256; 8]) -> [__m256; 8] {
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
    [
        _mm256_permute2f128_ps::<0x20>(s0, s4),
        _mm256_permute2f128_ps::<0x20>(s1, s5),
        _mm256_permute2f128_ps::<0x20>(s2, s6),
        _mm256_permute2f128_ps::<0x20>(s3, s7),
        _mm256_permute2f128_ps::<0x31>(s0, s4),
        _mm256_permute2f128_ps::<0x31>(s1, s5),
        _mm256_permute2f128_ps::<0x31>(s2, s6),
        _mm256_permute2f128_ps::<0x31>(s3, s7),
    ]
}

/// Specialized for AVX-512
/// Safety: Requires AVX-512F
#[cfg(has_avx512)]
#[target_feature(enable="avx512f")]
pub(crate) unsafe fn pack_avx512<MR, T>(kc: usize, mc: usize, pack: PackSlice<T>,
                                        a: *const T, rsa: isize, csa: isize)
    where T: Element,
          MR: ConstNum,
{
    pack_impl::<MR, T>(kc, mc, pack, a, rsa, csa)
}

/// Pack implementation, see pack above for docs.
///
/// Uses inline(always) so that it can be instantiated for different target features.
#[inline(always)]
unsafe fn pack_impl<MR, T>(kc: usize, mc: usize, pack: PackSlice<T>,
                           a: *const T, rsa: isize, csa: isize)
    where T: Element,
          MR: ConstNum,
{
    let pack = pack.as_mut_ptr();
    let mr = MR::VALUE;
    let mut p = 0; // offset into pack

    if rsa == 1 {
        // if the matrix is contiguous in the same direction we are packing,
        // copy a kernel row at a time.
        for ir in 0..mc/mr {
            let row_offset = ir * mr;
            for j in 0..kc {
                let a_row = a.stride_offset(rsa, row_offset)
                             .stride_offset(csa, j);
                copy_nonoverlapping(a_row, pack.add(p), mr);
                p += mr;
            }
        }
    } else {
        // general layout case
        for ir in 0..mc/mr {
            let row_offset = ir * mr;
            for j in 0..kc {
                for i in 0..mr {
                    let a_elt = a.stride_offset(rsa, i + row_offset)
                                 .stride_offset(csa, j);
                    copy_nonoverlapping(a_elt, pack.add(p), 1);
                    p += 1;
                }
            }
        }
    }

    let zero = <_>::zero();

    // Pad with zeros to multiple of kernel size (uneven mc)
    let rest = mc % mr;
    if rest > 0 {
        let row_offset = (mc/mr) * mr;
        for j in 0..kc {
            for i in 0..mr {
                if i < rest {
                    let a_elt = a.stride_offset(rsa, i + row_offset)
                                 .stride_offset(csa, j);
                    copy_nonoverlapping(a_elt, pack.add(p), 1);
                } else {
                    *pack.add(p) = zero;
                }
                p += 1;
            }
        }
    }
}

