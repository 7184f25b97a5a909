#[cfg(not(feature = "std"))]
use ::alloc::alloc::{self, handle_alloc_error, Layout};
use core::{cmp, mem};
#[cfg(feature = "std")]
use std::alloc::{self, handle_alloc_error, Layout};

#[cfg(test)]
use core::ops::{Deref, DerefMut};
#[cfg(test)]
use core::slice;

pub(crate) struct Alloc<T> {
    ptr: *mut T,
    #[allow(dead_code)] // read by the test-only Deref
    len: usize,
    #[allow(dead_code)] // the real layout below is what Drop uses
    align: usize,
    /// The block's real layout (tapeless patch: a reused block may be larger than asked for).
    layout: Layout,
}

impl<T> Alloc<T> {
    #[inline]
    pub unsafe fn new(nelem: usize, align: usize) -> Self {
        let align = cmp::max(align, mem::align_of::<T>());
        #[cfg(debug_assertions)]
        let layout = Layout::from_size_align(mem::size_of::<T>() * nelem, align).unwrap();
        #[cfg(not(debug_assertions))]
        let layout = Layout::from_size_align_unchecked(mem::size_of::<T>() * nelem, align);
        dprint!("Allocating nelem={}, layout={:?}", nelem, layout);
        #[cfg(feature = "std")]
        {
            if let Some((ptr, block)) = reuse::take(layout) {
                return Alloc { ptr: ptr as *mut T, len: nelem, align, layout: block };
            }
        }
        let ptr = alloc::alloc(layout);
        if ptr.is_null() {
            handle_alloc_error(layout);
        }
        Alloc {
            ptr: ptr as *mut T,
            len: nelem,
            align,
            layout,
        }
    }

    #[cfg(test)]
    pub fn init_with(mut self, elt: T) -> Alloc<T>
    where
        T: Copy,
    {
        for elt1 in &mut self[..] {
            *elt1 = elt;
        }
        self
    }

    #[inline]
    pub fn ptr_mut(&mut self) -> *mut T {
        self.ptr
    }
}

impl<T> Drop for Alloc<T> {
    fn drop(&mut self) {
        #[cfg(feature = "std")]
        reuse::give_back(self.ptr as *mut u8, self.layout);
        #[cfg(not(feature = "std"))]
        unsafe {
            alloc::dealloc(self.ptr as _, self.layout);
        }
    }
}

#[cfg(test)]
impl<T> Deref for Alloc<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        unsafe { slice::from_raw_parts(self.ptr, self.len) }
    }
}

#[cfg(test)]
impl<T> DerefMut for Alloc<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        unsafe { slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

/// tapeless patch: the packing buffer of the last GEMM on a thread is kept and handed to the
/// next GEMM on that thread if it is large and aligned enough, so repeated GEMMs of the same or
/// smaller sizes allocate nothing. Only where the memory comes from changes: packing writes
/// the buffer before it is read, exactly as with a fresh allocation.
#[cfg(feature = "std")]
mod reuse {
    use std::alloc::{self, Layout};
    use std::cell::Cell;

    /// One cached block, freed when replaced or when the thread exits.
    struct Block {
        ptr: *mut u8,
        layout: Layout,
    }

    impl Drop for Block {
        fn drop(&mut self) {
            unsafe { alloc::dealloc(self.ptr, self.layout) }
        }
    }

    thread_local! {
        static CACHED: Cell<Option<Block>> = const { Cell::new(None) };
    }

    /// The cached block (pointer and real layout) if it fits `wanted`; a cached block that
    /// does not fit is freed, so the cache keeps the largest recent size.
    pub(super) fn take(wanted: Layout) -> Option<(*mut u8, Layout)> {
        let block = CACHED.try_with(|c| c.take()).ok().flatten()?;
        if block.layout.size() >= wanted.size() && block.layout.align() >= wanted.align() {
            let taken = (block.ptr, block.layout);
            std::mem::forget(block);
            Some(taken)
        } else {
            None
        }
    }

    /// Keeps the block for the next GEMM on this thread; frees whatever it displaces (or the
    /// block itself if the thread is exiting).
    pub(super) fn give_back(ptr: *mut u8, layout: Layout) {
        let block = Block { ptr, layout };
        // If the thread is exiting, `try_with` fails and drops the closure, freeing the block.
        let _ = CACHED.try_with(move |c| drop(c.replace(Some(block))));
    }
}
