//! Owned, aligned byte buffers: the model's bytes and its arena.

extern crate alloc;

use alloc::alloc::{Layout, alloc_zeroed, dealloc};

/// `len` bytes at `align`, zeroed at allocation, freed on drop.
#[derive(Debug)]
pub struct Buf {
    ptr: *mut u8,
    layout: Layout,
}

impl Buf {
    /// `None` when `len` is 0, the layout is invalid or the allocator is out of memory.
    pub fn zeroed(len: usize, align: usize) -> Option<Buf> {
        let layout = Layout::from_size_align(len, align).ok().filter(|l| l.size() > 0)?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        (!ptr.is_null()).then_some(Buf { ptr, layout })
    }

    /// Takes ownership of `len` bytes at `ptr` allocated with alignment `align`.
    ///
    /// # Safety
    /// `ptr` came from the global allocator with exactly this size and alignment (e.g.
    /// [`Buf::into_raw`]) and is not used elsewhere afterwards.
    pub unsafe fn from_raw(ptr: *mut u8, len: usize, align: usize) -> Option<Buf> {
        let layout = Layout::from_size_align(len, align).ok().filter(|l| l.size() > 0)?;
        (!ptr.is_null()).then_some(Buf { ptr, layout })
    }

    /// Gives up ownership: the bytes stay allocated until [`Buf::from_raw`] takes them back.
    pub fn into_raw(self) -> *mut u8 {
        let ptr = self.ptr;
        core::mem::forget(self);
        ptr
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` holds `layout.size()` bytes owned by `self` (initialized: zeroed or
        // written by the caller before `from_raw`).
        unsafe { core::slice::from_raw_parts(self.ptr, self.layout.size()) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the borrow unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.layout.size()) }
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        // SAFETY: `ptr` was allocated with `layout` and is owned by `self`.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}
