//! Measures the cost of one `ThreadPool::run` of trivial tasks: back to back, and after the
//! workers went to sleep.
use std::time::{Duration, Instant};

use mote_rt::Parallel;
use mote_rt::pool::ThreadPool;

fn main() {
    let pool = ThreadPool::new(2, 16).unwrap();
    for gap_us in [0u64, 50, 90, 150, 300, 2000] {
        let mut times = Vec::new();
        for _ in 0..200 {
            if gap_us > 0 {
                std::thread::sleep(Duration::from_micros(gap_us));
            }
            let t = Instant::now();
            pool.run(4, &mut [0.0; 16], &|_, s| {
                let t = Instant::now();
                while t.elapsed() < Duration::from_micros(25) {
                    s[0] += 1.0;
                }
            });
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        times.sort_by(f64::total_cmp);
        println!("gap {gap_us:>5} us: median {:.1} us, p90 {:.1} us", times[100], times[180]);
    }
}
