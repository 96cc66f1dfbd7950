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

/// Splits `out`, `units` blocks of `out.len() / units` elements, into tasks on `par` (whole
/// multiples of `align` units each, none below the grain for `work`) and calls
/// `f(units_range, part, scratch)` once per task with that task's part of `out`. Without a
/// split (one task), `f(0..units, out, local)` runs on the caller.
pub fn for_each_part(
    par: &dyn Parallel,
    out: &mut [f32],
    units: usize,
    align: usize,
    work: usize,
    local: &mut [f32],
    f: &(dyn Fn(Range<usize>, &mut [f32], &mut [f32]) + Sync),
) {
    let unit = out.len().checked_div(units).unwrap_or(0);
    let tasks = task_count(par, units.div_ceil(align.max(1)), work);
    if tasks <= 1 {
        return f(0..units, out, local);
    }
    let shared = Shared::new(&mut out[..units * unit]);
    par.run(tasks, local, &|t, s| {
        let r = part(units, align, tasks, t);
        // SAFETY: units `r`; the unit ranges of distinct tasks are disjoint.
        let p = unsafe { shared.part(r.start * unit..r.end * unit) };
        f(r, p, s);
    });
}
