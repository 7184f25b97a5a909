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
    // tapeless patch: f32 panels of 8 whose rows are contiguous along `kc` (a transposed
    // operand, e.g. B = Wᵀ) are packed by 8x8 register transposes instead of element by element.
    if core::mem::size_of::<T>() == 4 && MR::VALUE == 8 && csa == 1 && rsa != 1 && mc >= 8 {
        let full = mc / 8;
        let pack = pack.as_mut_ptr();
        pack_rows8_f32_avx2(kc, full, pack as *mut f32, a as *const f32, rsa);
        let rest = mc % 8;
        if rest > 0 {
            let tail = PackSlice::from(pack.add(full * 8 * kc), 8 * kc);
            pack_impl::<MR, T>(kc, rest, tail, a.stride_offset(rsa, full * 8), rsa, csa);
        }
        return;
    }
    pack_impl::<MR, T>(kc, mc, pack, a, rsa, csa)
}

/// Packs `panels` panels of 8 rows (rows `rsa` apart, each contiguous along `kc`) as
/// [`pack_impl`] does: for each panel, for each `j < kc`, the 8 rows' element `j`.
/// (tapeless patch)
#[cfg(any(target_arch="x86", target_arch="x86_64"))]
#[target_feature(enable="avx2")]
unsafe fn pack_rows8_f32_avx2(kc: usize, panels: usize, pack: *mut f32, a: *const f32,
                              rsa: isize)
{
    #[cfg(target_arch="x86")]
    use core::arch::x86::*;
    #[cfg(target_arch="x86_64")]
    use core::arch::x86_64::*;
    let mut p = pack;
    for ir in 0..panels {
        let rows: [*const f32; 8] =
            core::array::from_fn(|i| a.offset((ir * 8 + i) as isize * rsa));
        let mut j = 0;
        while j + 8 <= kc {
            let v: [__m256; 8] = core::array::from_fn(|i| _mm256_loadu_ps(rows[i].add(j)));
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
            _mm256_storeu_ps(p, _mm256_permute2f128_ps::<0x20>(s0, s4));
            _mm256_storeu_ps(p.add(8), _mm256_permute2f128_ps::<0x20>(s1, s5));
            _mm256_storeu_ps(p.add(16), _mm256_permute2f128_ps::<0x20>(s2, s6));
            _mm256_storeu_ps(p.add(24), _mm256_permute2f128_ps::<0x20>(s3, s7));
            _mm256_storeu_ps(p.add(32), _mm256_permute2f128_ps::<0x31>(s0, s4));
            _mm256_storeu_ps(p.add(40), _mm256_permute2f128_ps::<0x31>(s1, s5));
            _mm256_storeu_ps(p.add(48), _mm256_permute2f128_ps::<0x31>(s2, s6));
            _mm256_storeu_ps(p.add(56), _mm256_permute2f128_ps::<0x31>(s3, s7));
            p = p.add(64);
            j += 8;
        }
        while j < kc {
            for row in rows {
                *p = *row.add(j);
                p = p.add(1);
            }
            j += 1;
        }
    }
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

