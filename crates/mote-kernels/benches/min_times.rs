//! Best-of-N wall times, for a machine shared with other work (criterion's means move with the
//! load; the minimum of many runs is close to the unloaded time). Prints the one-core FMA peak
//! measured the same way, GEMM (B packed, A strided) for square sizes, and every conv layer of
//! efficientnet_lite0 with the sum over the model's 49 conv layers.
//!
//! `cargo bench -p mote-kernels --bench min_times [-- gemm|conv|blocked]` (`blocked`: the conv
//! layers in the channel-blocked layout where the kernels support it).

#[path = "common/effnet.rs"]
mod effnet;

use effnet::{HEAD, LAYERS, Layer, geometry, values};
use mote_kernels::fast::{Activation, Bias, Cpu, Operand, gemm, gemm_scratch_len, pack_b, pack_b_len};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Minimum time of `f` over at least `reps` runs and at least `budget` of total time.
fn min_time(mut f: impl FnMut(), reps: usize, budget: Duration) -> f64 {
    let (start, mut best, mut n) = (Instant::now(), f64::MAX, 0);
    while n < reps || start.elapsed() < budget {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
        n += 1;
    }
    best
}

/// 12 independent chains of `iters` 8-lane FMAs: `iters * 12 * 16` flops.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_chains(iters: u64, seed: f32) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(seed); 12];
    let (b, c) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = _mm256_fmadd_ps(*x, b, c);
        }
    }
    let mut out = [0.0f32; 8];
    let sum = acc.iter().fold(_mm256_setzero_ps(), |s, &x| _mm256_add_ps(s, x));
    // SAFETY: `out` has room for the 8 floats stored.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
    out[0]
}

fn peak() {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        let iters = 100_000u64;
        let run = || {
            // SAFETY: AVX2 and FMA were detected just above.
            black_box(unsafe { fma_chains(iters, black_box(1.0)) });
        };
        let t = min_time(run, 50, Duration::from_millis(300));
        println!("fma peak (avx2-fma, one core): {:.1} GFLOP/s", (iters * 12 * 16) as f64 / t / 1e9);
    }
}

fn gemms(cpu: Cpu) {
    for size in [64usize, 128, 256, 384, 512, 768, 1024] {
        let (m, n, k) = (size, size, size);
        let a = values(m * k, 1);
        let b = values(k * n, 2);
        let mut pb = vec![0.0; pack_b_len(k, n)];
        pack_b(k, n, &b, n, 1, &mut pb);
        let mut scratch = vec![0.0; gemm_scratch_len(m, n, k, false, true)];
        let mut out = vec![0.0; m * n];
        let run = || {
            let a = Operand::row_major(black_box(&a), k);
            gemm(cpu, (m, n, k), a, Operand::Packed(&pb), &mut out, n, Bias::None, Activation::None, &mut scratch)
        };
        let t = min_time(run, 10, Duration::from_millis(500));
        let gflops = 2.0 * (m * n * k) as f64 / t / 1e9;
        println!("gemm {} {size}^3: {:9.1} us {gflops:6.1} GFLOP/s", cpu.isa().name(), t * 1e6);
    }
}

fn convs(cpu: Cpu, blocked: bool) {
    let (mut total, mut dw) = (0.0, 0.0);
    for l in LAYERS.iter().chain([&HEAD]) {
        let mut layer = Layer::with_layout(geometry(*l), blocked);
        let t = min_time(|| layer.run(cpu), 20, Duration::from_millis(200));
        let g = &layer.g;
        let kind = match (g.is_depthwise(), layer.blocked) {
            (true, false) => "dw  ",
            (true, true) => "dw8 ",
            (false, false) => "conv",
            (false, true) if mote_kernels::fast::blocked_reads_nchw(g) => "stm8",
            (false, true) => "pw8 ",
        };
        total += t * l.8 as f64;
        if g.is_depthwise() {
            dw += t * l.8 as f64;
        }
        println!(
            "{kind} {}x{} s{} {:3}x{:3} {:4}->{:4} (x{}): {:8.1} us {:6.1} GFLOP/s",
            g.kernel[0],
            g.kernel[1],
            g.strides[0],
            g.input[0],
            g.input[1],
            g.in_channels,
            g.out_channels,
            l.8,
            t * 1e6,
            layer.flops() as f64 / t / 1e9
        );
    }
    println!(
        "effnet_lite0, 49 conv layers ({}, {}): {:.2} ms (depthwise {:.2} ms, other {:.2} ms)",
        cpu.isa().name(),
        if blocked { "NCHWc8 where supported" } else { "NCHW" },
        total * 1e3,
        dw * 1e3,
        (total - dw) * 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let want = |w: &str| args.is_empty() || args.iter().any(|a| a == w);
    let cpu = Cpu::detect();
    if want("gemm") {
        peak();
        gemms(cpu);
    }
    if want("conv") {
        convs(cpu, false);
    }
    if want("blocked") {
        convs(cpu, true);
    }
}
