//! Running the heavy kernels as independent tasks on several threads, without allocating.
//!
//! The kernels stay `no_std`: they do not start threads. A caller hands them a [`Parallel`]
//! (the runtime's single-threaded [`Sequential`], or a thread pool from a `std` layer), and the
//! `*_par` entry points split their work into tasks:
//!
//! | kernel | split (each task owns a contiguous part of the output) |
//! | --- | --- |
//! | [`gemm_par`] | row panels of C (multiples of `MR` rows), or column panels (multiples of `NR`) when `m == 1` |
//! | [`conv2d_par`] | images x groups when there are enough, else output-channel panels (multiples of `MR`); the stride-phase copy of the input is made once and shared |
//! | [`conv_transpose2d_par`] | output-channel blocks per image and group (their GEMM rows start at `MR` panels), each task with its own product band |
//! | [`depthwise2d_par`], [`pool2d_par`], [`global_avg_pool_par`] | channel planes |
//! | [`binary_par`] | element ranges (multiples of 64), or whole channel planes for a per-channel operand |
//! | [`for_each_part`] | any output made of independent units (the runtime's Resize: outer blocks) |
//!
//! **Results are bit-identical for every thread count**: every output element is computed by one
//! task, by the same code, with the same accumulation order as the single-threaded kernel (the
//! splits follow the kernels' own tiles: GEMM row panels start at multiples of `MR`, column
//! panels at multiples of `NR`, vector loops at multiples of 64 elements). The task a thread
//! runs never changes what it computes.
//!
//! Scratch: a task gets a scratch slice as long as the single-threaded kernel's (`*_scratch_len`);
//! the calling thread passes its own, every other thread needs one of the same size.

mod conv;
mod elementwise;
mod gemm;
mod pool;
mod split;

pub use conv::{blocked_conv2d_par, conv_transpose2d_par, conv2d_par, depthwise2d_par};
pub use elementwise::binary_par;
pub use gemm::gemm_par;
pub use pool::{global_avg_pool_par, pool2d_par};
pub use split::{TASKS_PER_THREAD, for_each_part, part, task_count};

/// Work (in multiply-accumulates; see [`ELEMENT_WORK`]) below which a kernel does not split:
/// about 25 us of convolution, well above what handing a task to another thread costs (a few
/// microseconds when it is spinning, far more when the scheduler has to wake or resume it).
pub const DEFAULT_GRAIN: usize = 1 << 20;

/// Work of one element of a memory-bound element-wise pass (a binary op, a copy, a resize), in
/// multiply-accumulates of a convolution taking the same time.
pub const ELEMENT_WORK: usize = 16;

/// Why a parallel run failed (recorded by the [`Parallel`] implementation, see
/// [`Parallel::take_failure`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskFault {
    /// A task panicked (a kernel bug; the outputs of the step are not valid).
    Panicked,
}

impl core::fmt::Display for TaskFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TaskFault::Panicked => "a task panicked on a worker thread",
        })
    }
}

/// A way to run independent tasks, possibly on several threads.
///
/// # Safety
/// Kernels hand each task its own part of an output through a shared pointer; they rely on
/// these guarantees of [`Parallel::run`], which an implementation must keep:
/// - `task(i, scratch)` is called exactly once for every `i` in `0..n_tasks` (never for other
///   indices);
/// - `run` returns only after every call has returned (also when a task panics);
/// - the `scratch` slices of calls running at the same time do not overlap, and each holds
///   `local.len()` floats.
pub unsafe trait Parallel: Sync {
    /// Threads that run tasks (the calling thread included); 1 for [`Sequential`].
    fn threads(&self) -> usize;

    /// Least work (multiply-accumulates or elements) worth a task of its own.
    fn grain(&self) -> usize {
        DEFAULT_GRAIN
    }

    /// Scratch floats each thread other than the caller has (the caller's is `local`).
    fn scratch_floats(&self) -> usize {
        usize::MAX
    }

    /// Runs `task(i, scratch)` for every `i` in `0..n_tasks` and returns when all are done. The
    /// calling thread's tasks get `local`, the others a scratch of the same length.
    fn run(&self, n_tasks: usize, local: &mut [f32], task: &(dyn Fn(usize, &mut [f32]) + Sync));

    /// The first failure since the last call, if any (and forgets it).
    fn take_failure(&self) -> Option<TaskFault> {
        None
    }
}

/// Runs every task in order on the calling thread (the no_std default).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sequential;

// SAFETY: each index runs once, in order, on the calling thread, before `run` returns; there is
// one scratch (`local`), used by one call at a time.
unsafe impl Parallel for Sequential {
    fn threads(&self) -> usize {
        1
    }

    fn run(&self, n_tasks: usize, local: &mut [f32], task: &(dyn Fn(usize, &mut [f32]) + Sync)) {
        for i in 0..n_tasks {
            task(i, local);
        }
    }
}
