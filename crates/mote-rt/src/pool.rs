//! A small persistent thread pool ([`ThreadPool`]) implementing [`Parallel`], for
//! [`Runtime::invoke_par`](crate::Runtime::invoke_par).
//!
//! The workers are spawned once (with their scratch, allocated by `new`, which returns once
//! every worker has started), spin briefly and then sleep
//! on a condition variable between runs. A run allocates nothing: the caller publishes a job (a
//! pointer to its task closure, the task count) under a mutex, then every thread, the caller
//! included, claims task indices from one atomic ticket holding `(job epoch, next index)`, so
//! a task index is claimed once and only while its job is current; the caller returns once every
//! task has finished. A worker that wakes late finds the ticket's epoch moved on and never
//! touches a finished job. A panicking task is caught on its thread, recorded (see
//! [`Parallel::take_failure`]) and does not stop the others; the pool stays usable.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use std::vec::Vec;

use mote_kernels::fast::par::DEFAULT_GRAIN;
use mote_kernels::fast::{Parallel, TaskFault};

use crate::exec::Runtime;

/// A task closure borrowed for `'a`.
type Task<'a> = dyn Fn(usize, &mut [f32]) + Sync + 'a;

/// Bits of the ticket holding the next task index (the rest hold the job's epoch).
const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// How long an idle thread spins before sleeping (runs of one inference follow each other
/// within microseconds).
const SPIN: Duration = Duration::from_micros(100);

/// One run: the caller's task (lifetime erased) and its size.
#[derive(Clone, Copy)]
struct Job {
    task: *const Task<'static>,
    n_tasks: usize,
    scratch: usize,
    epoch: u64,
}

// SAFETY: `task` points to a `Sync` closure; it is dereferenced only by a thread that claimed one
// of the job's task indices, and the caller stays in `run` (keeping the closure alive) until
// every claimed task has finished.
unsafe impl Send for Job {}

#[derive(Default)]
struct State {
    job: Option<Job>,
    epoch: u64,
    sleeping: usize,
    caller_waiting: bool,
    shutdown: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Workers sleep here waiting for a job.
    wake: Condvar,
    /// The caller sleeps here waiting for the last task.
    done: Condvar,
    /// `(epoch << INDEX_BITS) | next index` of the current job.
    ticket: AtomicU64,
    /// The epoch of the latest job (lets spinning workers notice it without the mutex).
    latest: AtomicU64,
    /// Tasks of the current job that have finished.
    finished: AtomicUsize,
    failed: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic (none happens while it is held).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims the next task index of `job`, if the job is current and has one left.
    fn claim(&self, job: &Job) -> Option<usize> {
        let mut t = self.ticket.load(Ordering::Acquire);
        loop {
            if t >> INDEX_BITS != job.epoch || (t & INDEX_MASK) as usize >= job.n_tasks {
                return None;
            }
            match self.ticket.compare_exchange_weak(t, t + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some((t & INDEX_MASK) as usize),
                Err(now) => t = now,
            }
        }
    }

    /// Runs every index of `job` this thread can claim, with `scratch`.
    fn work(&self, job: &Job, scratch: &mut [f32]) {
        while let Some(i) = self.claim(job) {
            // SAFETY: index `i` of this job was claimed by this thread and is not finished, so
            // the caller is still inside `run` and the closure alive (see `Job`).
            let task = unsafe { &*job.task };
            if catch_unwind(AssertUnwindSafe(|| task(i, scratch))).is_err() {
                self.failed.store(true, Ordering::Relaxed);
            }
            if self.finished.fetch_add(1, Ordering::AcqRel) + 1 == job.n_tasks {
                let st = self.lock();
                if st.caller_waiting {
                    self.done.notify_one();
                }
            }
        }
    }
}

/// Persistent worker threads running [`Parallel`] tasks; `threads - 1` workers plus the
/// calling thread. Create it once per runtime (or share it between runtimes whose
/// [`Runtime::thread_scratch_bytes`] fit its scratch) and pass it to
/// [`Runtime::invoke_par`](crate::Runtime::invoke_par).
///
/// One run at a time: a run started while another is in progress (from another thread, or
/// from inside a task) runs all its tasks on its own calling thread.
pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    scratch_floats: usize,
    grain: usize,
    busy: Mutex<()>,
}

impl std::fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ThreadPool({} threads, {} scratch floats each)", self.threads(), self.scratch_floats)
    }
}

impl ThreadPool {
    /// A pool running tasks on `threads` threads (the caller and `threads - 1` workers; 0 counts
    /// as 1), each worker with `scratch_floats` floats of scratch.
    pub fn new(threads: usize, scratch_floats: usize) -> std::io::Result<ThreadPool> {
        let shared = Arc::new(Shared::default());
        let mut pool = ThreadPool {
            shared: shared.clone(),
            workers: Vec::new(),
            scratch_floats,
            grain: DEFAULT_GRAIN,
            busy: Mutex::new(()),
        };
        // Every worker has started (its thread set up, its scratch in hand) before `new`
        // returns, so nothing allocates afterwards, even on a worker that first runs late.
        let started = Arc::new((Mutex::new(0usize), Condvar::new()));
        for w in 1..threads.max(1) {
            let (shared, started) = (shared.clone(), started.clone());
            let scratch = std::vec![0.0f32; scratch_floats];
            let handle = std::thread::Builder::new().name(std::format!("mote-worker-{w}")).spawn(move || {
                let _ = std::thread::current();
                *started.0.lock().unwrap_or_else(PoisonError::into_inner) += 1;
                started.1.notify_all();
                worker(&shared, scratch)
            })?;
            pool.workers.push(handle);
        }
        let mut ready = started.0.lock().unwrap_or_else(PoisonError::into_inner);
        while *ready < pool.workers.len() {
            ready = started.1.wait(ready).unwrap_or_else(PoisonError::into_inner);
        }
        drop(ready);
        Ok(pool)
    }

    /// A pool with `threads` threads and the scratch `rt`'s steps need per thread.
    pub fn for_runtime(rt: &Runtime<'_>, threads: usize) -> std::io::Result<ThreadPool> {
        ThreadPool::new(threads, rt.thread_scratch_bytes().div_ceil(4))
    }

    /// The least work per task (see [`Parallel::grain`]); 1 splits every splittable step (tests).
    pub fn with_grain(mut self, grain: usize) -> ThreadPool {
        self.grain = grain.max(1);
        self
    }

    /// Runs the tasks on the calling thread (a panic recorded as a failure, as on workers).
    fn run_here(&self, n_tasks: usize, local: &mut [f32], task: &Task<'_>) {
        for i in 0..n_tasks {
            if catch_unwind(AssertUnwindSafe(|| task(i, local))).is_err() {
                self.shared.failed.store(true, Ordering::Relaxed);
            }
        }
    }
}

fn worker(shared: &Shared, mut scratch: Vec<f32>) {
    let mut seen = 0u64;
    loop {
        let start = Instant::now();
        while shared.latest.load(Ordering::Acquire) == seen && start.elapsed() < SPIN {
            for _ in 0..64 {
                std::hint::spin_loop();
            }
        }
        let mut st = shared.lock();
        if st.epoch == seen && !st.shutdown {
            st.sleeping += 1;
            while st.epoch == seen && !st.shutdown {
                st = shared.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
            }
            st.sleeping -= 1;
        }
        if st.shutdown {
            return;
        }
        seen = st.epoch;
        let job = st.job;
        drop(st);
        if let Some(job) = job
            && job.scratch <= scratch.len()
        {
            shared.work(&job, &mut scratch[..job.scratch]);
        }
    }
}

// SAFETY: every index in `0..n_tasks` is claimed exactly once from the ticket (a
// compare-and-swap on `(epoch, index)`, only while the epoch is this job's); `run` returns only
// after `finished` counts every task (each task counts after it returned or panicked, caught);
// the caller's tasks use `local`, each worker's its own buffer cut to `local.len()` (the caller
// checks it fits, else runs every task itself).
unsafe impl Parallel for ThreadPool {
    fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    fn grain(&self) -> usize {
        self.grain
    }

    fn scratch_floats(&self) -> usize {
        self.scratch_floats
    }

    fn run(&self, n_tasks: usize, local: &mut [f32], task: &Task<'_>) {
        let Ok(_busy) = self.busy.try_lock() else {
            return self.run_here(n_tasks, local, task);
        };
        if self.workers.is_empty() || n_tasks <= 1 || n_tasks as u64 > INDEX_MASK || local.len() > self.scratch_floats {
            return self.run_here(n_tasks, local, task);
        }
        let sh = &*self.shared;
        // SAFETY: only the lifetime is erased; the pointer is dereferenced only while this call
        // waits for the job's tasks (see `Job`).
        let ptr: *const Task<'static> = unsafe { core::mem::transmute::<&Task<'_>, &Task<'static>>(task) };
        let job = {
            let mut st = sh.lock();
            st.epoch = (st.epoch + 1) & (u64::MAX >> INDEX_BITS);
            let job = Job { task: ptr, n_tasks, scratch: local.len(), epoch: st.epoch };
            sh.finished.store(0, Ordering::Relaxed);
            sh.ticket.store(job.epoch << INDEX_BITS, Ordering::Release);
            st.job = Some(job);
            sh.latest.store(job.epoch, Ordering::Release);
            if st.sleeping > 0 {
                sh.wake.notify_all();
            }
            job
        };
        sh.work(&job, local);
        // Wait for the tasks other threads claimed: spin first, then sleep.
        let start = Instant::now();
        while sh.finished.load(Ordering::Acquire) < n_tasks && start.elapsed() < SPIN {
            std::hint::spin_loop();
        }
        let mut st = sh.lock();
        st.caller_waiting = true;
        while sh.finished.load(Ordering::Acquire) < n_tasks {
            st = sh.done.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
        st.caller_waiting = false;
        st.job = None;
    }

    fn take_failure(&self) -> Option<TaskFault> {
        self.shared.failed.swap(false, Ordering::Relaxed).then_some(TaskFault::Panicked)
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        {
            let mut st = self.shared.lock();
            st.shutdown = true;
            self.shared.wake.notify_all();
        }
        for w in self.workers.drain(..) {
            // A worker never panics outside a task (tasks are caught); nothing to report.
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_task_runs_once_on_every_thread_count() {
        for threads in [1, 2, 3, 5] {
            let pool = ThreadPool::new(threads, 8).unwrap();
            assert_eq!(pool.threads(), threads);
            for n in [0, 1, 2, 3, 7, 64] {
                let counts: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
                let mut local = [0.0f32; 8];
                for _ in 0..50 {
                    pool.run(n, &mut local, &|i, s| {
                        assert_eq!(s.len(), 8);
                        s[0] = i as f32;
                        counts[i].fetch_add(1, Ordering::Relaxed);
                    });
                }
                assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 50), "{threads} threads, {n} tasks");
                assert_eq!(pool.take_failure(), None);
            }
        }
    }

    #[test]
    fn tasks_run_on_several_threads() {
        let pool = ThreadPool::new(2, 0).unwrap();
        let ids = Mutex::new(Vec::new());
        // Each task waits a little so that the worker (woken or spinning) claims some.
        pool.run(20, &mut [], &|_, _| {
            std::thread::sleep(Duration::from_millis(3));
            ids.lock().unwrap().push(std::thread::current().id());
        });
        let mut ids = ids.into_inner().unwrap();
        ids.sort_by_key(|id| std::format!("{id:?}"));
        ids.dedup();
        assert_eq!(ids.len(), 2, "the worker ran none of the tasks");
    }

    #[test]
    fn a_panicking_task_is_a_failure_and_the_pool_stays_usable() {
        let pool = ThreadPool::new(3, 0).unwrap();
        let ran = AtomicUsize::new(0);
        pool.run(6, &mut [], &|i, _| {
            ran.fetch_add(1, Ordering::Relaxed);
            assert!(i != 4, "task 4 fails");
        });
        assert_eq!(ran.load(Ordering::Relaxed), 6, "the other tasks still ran");
        assert_eq!(pool.take_failure(), Some(TaskFault::Panicked));
        assert_eq!(pool.take_failure(), None, "taking the failure clears it");
        let ran = AtomicUsize::new(0);
        pool.run(6, &mut [], &|_, _| {
            ran.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(ran.load(Ordering::Relaxed), 6);
        assert_eq!(pool.take_failure(), None);
    }

    #[test]
    fn nested_runs_and_oversized_scratch_run_on_the_caller() {
        let pool = ThreadPool::new(2, 4).unwrap();
        let total = AtomicUsize::new(0);
        pool.run(4, &mut [], &|_, _| {
            // A run from inside a task (the pool is busy) runs here.
            pool.run(3, &mut [0.0; 2], &|_, s| {
                assert_eq!(s.len(), 2);
                total.fetch_add(1, Ordering::Relaxed);
            });
        });
        assert_eq!(total.load(Ordering::Relaxed), 12);
        let here = std::thread::current().id();
        pool.run(5, &mut [0.0; 16], &|_, s| {
            assert_eq!(s.len(), 16);
            assert_eq!(std::thread::current().id(), here, "the workers' scratch is too small");
        });
        assert_eq!(pool.take_failure(), None);
    }
}
