//! Where a step's tensors live: the caller's arena or the model's weights. The only place the
//! runtime turns offsets into slices.

use core::marker::PhantomData;

use mote_core::DType;
use mote_format::{Storage, TensorRef};

/// Element types a kernel may view a tensor as. Every bit pattern is a valid value.
///
/// # Safety
/// Implementors are plain-old-data: any bytes of `size_of::<Self>()` form a valid value.
pub unsafe trait Elem: Copy + 'static {}

// SAFETY: integers and floats accept every bit pattern.
unsafe impl Elem for u8 {}
// SAFETY: as above.
unsafe impl Elem for i8 {}
// SAFETY: as above.
unsafe impl Elem for u16 {}
// SAFETY: as above.
unsafe impl Elem for i16 {}
// SAFETY: as above.
unsafe impl Elem for u32 {}
// SAFETY: as above.
unsafe impl Elem for i32 {}
// SAFETY: as above.
unsafe impl Elem for u64 {}
// SAFETY: as above.
unsafe impl Elem for i64 {}
// SAFETY: as above.
unsafe impl Elem for f32 {}
// SAFETY: as above.
unsafe impl Elem for f64 {}

/// The element type a dtype is viewed as by kernels (bool as u8: its bytes are 0 or 1 by
/// construction, but a corrupt file may hold others, which u8 tolerates).
pub fn elem_size(d: DType) -> usize {
    d.size().unwrap_or(1)
}

/// The arena and the weights of one invocation.
#[derive(Debug)]
pub struct Mem<'a> {
    arena: *mut u8,
    arena_len: usize,
    weights: &'a [u8],
    _arena: PhantomData<&'a mut [u8]>,
}

impl<'a> Mem<'a> {
    /// `arena` must be 64-byte aligned (checked by the caller).
    pub fn new(arena: &'a mut [u8], weights: &'a [u8]) -> Mem<'a> {
        Mem { arena: arena.as_mut_ptr(), arena_len: arena.len(), weights, _arena: PhantomData }
    }

    fn region(&self, t: &TensorRef<'_>) -> (*const u8, usize) {
        let (off, len) = (t.offset as usize, t.nbytes as usize);
        match t.storage {
            Storage::Arena => {
                debug_assert!(off + len <= self.arena_len);
                // SAFETY: the loader checked `offset + nbytes <= arena_size <= arena_len`.
                (unsafe { self.arena.add(off) }, len)
            }
            Storage::Weights => (self.weights[off..off + len].as_ptr(), len),
        }
    }

    /// The tensor's elements as `T`.
    ///
    /// # Safety
    /// The loader checked that `t` is in bounds, aligned for `T`, that `size_of::<T>()` divides
    /// its length, and that no output of the running step overlaps it (except an exact in-place
    /// alias, which the kernel then reads only through the output slice).
    pub unsafe fn get<T: Elem>(&self, t: &TensorRef<'_>) -> &'a [T] {
        let (p, len) = self.region(t);
        debug_assert!((p as usize).is_multiple_of(core::mem::align_of::<T>()));
        // SAFETY: per this function's contract: in bounds, aligned, POD, not mutably aliased.
        unsafe { core::slice::from_raw_parts(p as *const T, len / core::mem::size_of::<T>()) }
    }

    /// The output tensor's elements as `T`, writable.
    ///
    /// # Safety
    /// As [`Mem::get`], and `t` lives in the arena and overlaps no other slice in use.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get_mut<T: Elem>(&self, t: &TensorRef<'_>) -> &'a mut [T] {
        debug_assert!(t.storage == Storage::Arena);
        let (p, len) = self.region(t);
        // SAFETY: per this function's contract: an arena region no other live slice overlaps.
        unsafe { core::slice::from_raw_parts_mut(p as *mut T, len / core::mem::size_of::<T>()) }
    }

    /// `len` bytes of the arena at `off` (the plan's scratch), as f32s.
    ///
    /// # Safety
    /// The region is in bounds, 4-byte aligned, and overlaps no tensor of the running step.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn scratch(&self, off: usize, len: usize) -> &'a mut [f32] {
        debug_assert!(off + len <= self.arena_len);
        // SAFETY: per this function's contract.
        unsafe { core::slice::from_raw_parts_mut(self.arena.add(off) as *mut f32, len / 4) }
    }
}

/// Two byte ranges intersect.
pub fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.1 > 0 && b.1 > 0 && a.0 < b.0 + b.1 && b.0 < a.0 + a.1
}
