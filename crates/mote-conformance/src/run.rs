//! Running many tests: on all cores, with panics caught and reported as failures.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::manifest::tolerance_for;
use crate::suite::{Engine, Outcome, run_test};

static PANIC_MSG: Mutex<Option<String>> = Mutex::new(None);

/// Runs the named tests under `node_dir`, `threads` at a time. Results come back in input order.
pub fn run_all(
    node_dir: &Path,
    names: &[String],
    threads: usize,
    engine: Engine,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<Outcome> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let loc = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        *PANIC_MSG.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("PANIC{loc}: {msg}"));
    }));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; names.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= names.len() {
                        break;
                    }
                    let dir = node_dir.join(&names[i]);
                    let tol = tolerance_for(&names[i]);
                    let out = std::panic::catch_unwind(|| run_test(&dir, tol, engine)).unwrap_or_else(|_| {
                        let msg = PANIC_MSG
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .take()
                            .unwrap_or_else(|| "PANIC".into());
                        Outcome::Fail(msg)
                    });
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(out);
                    progress(done.fetch_add(1, Ordering::SeqCst) + 1, names.len());
                }
            });
        }
    });
    std::panic::set_hook(prev);
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Fail("not run".into())))
        .collect()
}
