//! The multi-threaded runtime on a model built in code: outputs bit-identical for 1, 2 and 3
//! threads (every splittable step split), a panicking task is an error naming the step, and a
//! pool whose workers have too little scratch is refused.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use mote_compile::{Options, compile, host};
use mote_ir::Value;
use mote_rt::host::AlignedBuf;
use mote_rt::pool::ThreadPool;
use mote_rt::{Parallel, RtError, Runtime, Sequential, TaskFault};

fn wide_file() -> AlignedBuf {
    AlignedBuf::from_bytes(&compile(common::wide_graph(), &Options::default()).unwrap().bytes)
}

/// Runs `rt` on the seeded input with `par`; returns every output's bytes.
fn outputs(rt: &Runtime<'_>, par: &dyn Parallel) -> Result<Vec<Vec<u8>>, RtError> {
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let x = Value::Tensor(common::input(&[1, 3, 20, 20]));
    host::set_input(rt, arena.as_mut(), 0, "x", &x).unwrap();
    rt.invoke_par(arena.as_mut(), par)?;
    Ok((0..rt.outputs().count()).map(|i| rt.output(arena.as_ref(), i).unwrap().to_vec()).collect())
}

/// Delegates to a pool, counting the runs split into several tasks and optionally making one
/// task of the first such run panic.
struct Probe {
    pool: ThreadPool,
    split_runs: AtomicUsize,
    panic_once: bool,
}

// SAFETY: every call goes to the pool with a task that calls the original task (or panics
// instead of calling it, which the pool tolerates); the pool keeps the guarantees.
unsafe impl Parallel for Probe {
    fn threads(&self) -> usize {
        self.pool.threads()
    }
    fn grain(&self) -> usize {
        self.pool.grain()
    }
    fn scratch_floats(&self) -> usize {
        self.pool.scratch_floats()
    }
    fn run(&self, n_tasks: usize, local: &mut [f32], task: &(dyn Fn(usize, &mut [f32]) + Sync)) {
        let first = n_tasks > 1 && self.split_runs.fetch_add(1, Ordering::Relaxed) == 0;
        let fail = first && self.panic_once;
        self.pool.run(n_tasks, local, &|i, s| {
            assert!(!(fail && i == 1), "injected task failure");
            task(i, s)
        });
    }
    fn take_failure(&self) -> Option<TaskFault> {
        self.pool.take_failure()
    }
}

#[test]
fn outputs_are_bit_identical_for_one_two_and_three_threads() {
    let file = wide_file();
    let rt = Runtime::load(file.as_ref()).unwrap();
    let want = outputs(&rt, &Sequential).unwrap();
    // The model computes what the interpreter does (so the comparison is not of garbage).
    let x = Value::Tensor(common::input(&[1, 3, 20, 20]));
    let interp = mote_interp::run(&common::wide_graph(), vec![x]).unwrap();
    let y: Vec<f32> = want[0].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    let w = interp[0].as_tensor().unwrap().to_f32_vec().unwrap();
    assert!(y.iter().zip(&w).all(|(a, b)| (a - b).abs() <= 1e-4 * (1.0 + b.abs())), "{y:?} vs {w:?}");
    for threads in 1..=3 {
        for grain in [1, mote_kernels::fast::par::DEFAULT_GRAIN] {
            let pool = ThreadPool::for_runtime(&rt, threads).unwrap().with_grain(grain);
            let probe = Probe { pool, split_runs: AtomicUsize::new(0), panic_once: false };
            for round in 0..3 {
                let got = outputs(&rt, &probe).unwrap();
                assert!(got == want, "{threads} threads, grain {grain}, round {round}: outputs differ");
            }
            let split = probe.split_runs.load(Ordering::Relaxed);
            if threads > 1 && grain == 1 {
                // At least nine steps (convolutions, element-wise ops, pooling, Gemm) split,
                // each round.
                assert!(split >= 3 * 9, "{threads} threads: only {split} runs were split");
            } else if threads == 1 {
                assert_eq!(split, 0, "one thread never splits");
            }
        }
    }
}

#[test]
fn a_panicking_task_is_an_error_and_the_pool_recovers() {
    let file = wide_file();
    let rt = Runtime::load(file.as_ref()).unwrap();
    let want = outputs(&rt, &Sequential).unwrap();
    let pool = ThreadPool::for_runtime(&rt, 2).unwrap().with_grain(1);
    let probe = Probe { pool, split_runs: AtomicUsize::new(0), panic_once: true };
    let e = outputs(&rt, &probe).unwrap_err();
    assert!(matches!(e, RtError::Task { fault: TaskFault::Panicked, .. }), "{e:?}");
    assert!(e.to_string().contains("panicked"), "{e}");
    // The next run (no injected failure) succeeds with the right outputs.
    assert!(outputs(&rt, &probe).unwrap() == want);
}

#[test]
fn workers_without_enough_scratch_are_refused() {
    let file = wide_file();
    let rt = Runtime::load(file.as_ref()).unwrap();
    assert!(rt.thread_scratch_bytes() > 0);
    let pool = ThreadPool::new(2, rt.thread_scratch_bytes() / 4 - 1).unwrap();
    let e = outputs(&rt, &pool).unwrap_err();
    assert!(matches!(e, RtError::ThreadScratch { .. }), "{e:?}");
    // One thread needs no worker scratch.
    let pool = ThreadPool::new(1, 0).unwrap();
    outputs(&rt, &pool).unwrap();
}
