//! `clock-probe`: estimates the core clock while a thread is busy, for the "% of FMA peak"
//! column of docs/BENCHMARKS.md (the VM exposes no cycle counter and no cpufreq).
//!
//! Method: a chain of dependent f64 additions. LLVM may not reassociate float adds, so the chain
//! runs one `addsd` after another, each waiting for the previous one: cycles = adds x latency.
//! The FP add latency is 3 cycles on AMD Zen 3 / Zen 4 (AMD Software Optimization Guide for
//! Family 19h); pass another latency as the first argument for other cores.
//!
//! Wall-clock time counts the time the thread is descheduled, which on a loaded machine makes a
//! long trial read low. So it runs many short trials (~2 ms each) and reports the fastest: the
//! ones the scheduler left alone. Prints
//! `{"clock_ghz": fastest trial, "median_ghz": median trial, "trials": T, "add_latency_cycles": L}`.

use std::hint::black_box;
use std::time::Instant;

fn main() {
    let latency: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    const N: u64 = 2_000_000;
    const TRIALS: usize = 300;
    let mut trials = Vec::with_capacity(TRIALS);
    for _ in 0..TRIALS {
        let step = black_box(1e-9f64);
        let mut x = black_box(0.0f64);
        let t = Instant::now();
        for _ in 0..N / 8 {
            x += step;
            x += step;
            x += step;
            x += step;
            x += step;
            x += step;
            x += step;
            x += step;
        }
        let s = t.elapsed().as_secs_f64();
        black_box(x);
        trials.push(N as f64 * latency / s / 1e9);
    }
    trials.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{}",
        serde_json::json!({
            "clock_ghz": trials[TRIALS - 1],
            "median_ghz": trials[TRIALS / 2],
            "trials": TRIALS,
            "add_latency_cycles": latency,
        })
    );
}
