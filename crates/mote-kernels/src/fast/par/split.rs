//! Splitting `0..len` into balanced, aligned task ranges, and the shared output the tasks write.

use core::marker::PhantomData;
use core::ops::Range;

use super::Parallel;

/// Part `i` of `0..len` cut into `parts` contiguous ranges of whole `align`-sized blocks (the
/// last block may be short), as balanced as the blocks allow: every bound except `len` is a
/// multiple of `align`, the parts are in order and cover `0..len` exactly once, and parts past
/// the blocks are empty. `align` and `parts` of 0 count as 1.
pub fn part(len: usize, align: usize, parts: usize, i: usize) -> Range<usize> {
    let (align, parts) = (align.max(1), parts.max(1));
    if i >= parts {
        return len..len;
    }
    let blocks = len.div_ceil(align);
    let (q, r) = (blocks / parts, blocks % parts);
    let start = i * q + i.min(r);
    let end = start + q + usize::from(i < r);
    start.saturating_mul(align).min(len)..end.saturating_mul(align).min(len)
}

/// Tasks per thread when the work allows: threads claim tasks as they finish, so a thread that
/// is slow (descheduled on a busy machine, or given a lighter part) is made up by the others.
pub const TASKS_PER_THREAD: usize = 2;

/// How many tasks to split `blocks` blocks of `work` total work into: at most
/// [`TASKS_PER_THREAD`] per thread and one per block, none smaller than the grain of `par`, and
/// 1 (do not split) with one thread.
pub fn task_count(par: &dyn Parallel, blocks: usize, work: usize) -> usize {
    let threads = par.threads();
    if threads <= 1 {
        return 1;
    }
    (threads * TASKS_PER_THREAD).min(blocks).min(work / par.grain().max(1)).max(1)
}

/// An output slice that concurrent tasks write disjoint parts of (like `split_at_mut` across
/// threads).
pub(crate) struct Shared<'a> {
    ptr: *mut f32,
    len: usize,
    _out: PhantomData<&'a mut [f32]>,
}

// SAFETY: a `Shared` is a `&mut [f32]` whose parts are handed to different threads; f32 is Send
// and the contract of `Shared::part` keeps the parts disjoint.
unsafe impl Sync for Shared<'_> {}

impl<'a> Shared<'a> {
    pub(crate) fn new(out: &'a mut [f32]) -> Shared<'a> {
        Shared { ptr: out.as_mut_ptr(), len: out.len(), _out: PhantomData }
    }

    /// Elements `r` (panics when out of bounds).
    ///
    /// # Safety
    /// No two slices obtained from one `Shared` may overlap while both are in use: each task
    /// takes only its own range (from [`part`], disjoint for distinct tasks, and a
    /// [`Parallel`] runs each task once).
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn part(&self, r: Range<usize>) -> &'a mut [f32] {
        assert!(r.start <= r.end && r.end <= self.len, "Shared::part: range out of bounds");
        // SAFETY: in bounds (checked above) of the slice borrowed for 'a; disjoint from every
        // other live part per this function's contract.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.add(r.start), r.end - r.start) }
    }
}
