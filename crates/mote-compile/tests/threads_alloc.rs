//! `invoke` allocates nothing, single-threaded or on a thread pool (workers included): a
//! counting global allocator watches the whole process while the model runs. One test in this
//! binary, so no other test allocates concurrently.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mote_compile::{Options, compile, host};
use mote_ir::Value;
use mote_rt::host::AlignedBuf;
use mote_rt::pool::ThreadPool;
use mote_rt::{Runtime, Sequential};

struct Counting;

static ARMED: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn invoke_allocates_nothing_on_one_or_several_threads() {
    let file = AlignedBuf::from_bytes(&compile(common::wide_graph(), &Options::default()).unwrap().bytes);
    let rt = Runtime::load(file.as_ref()).unwrap();
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let x = Value::Tensor(common::input(&[1, 3, 20, 20]));
    host::set_input(&rt, arena.as_mut(), 0, "x", &x).unwrap();
    let pools: Vec<ThreadPool> =
        [2, 3].iter().map(|&t| ThreadPool::for_runtime(&rt, t).unwrap().with_grain(1)).collect();
    // Warm up (the workers allocate their scratch when they start).
    rt.invoke(arena.as_mut()).unwrap();
    for p in &pools {
        rt.invoke_par(arena.as_mut(), p).unwrap();
    }
    ARMED.store(true, Ordering::SeqCst);
    for _ in 0..5 {
        rt.invoke_par(arena.as_mut(), &Sequential).unwrap();
        for p in &pools {
            rt.invoke_par(arena.as_mut(), p).unwrap();
        }
    }
    ARMED.store(false, Ordering::SeqCst);
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 0, "allocations during invoke");
    // The counter works: an allocation while armed is counted.
    ARMED.store(true, Ordering::SeqCst);
    let v = std::hint::black_box(vec![1u8; 64]);
    ARMED.store(false, Ordering::SeqCst);
    drop(v);
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 1);
}
