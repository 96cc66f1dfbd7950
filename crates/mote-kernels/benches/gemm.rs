//! GEMM throughput: square sizes 64..1024, B packed ahead of time (weights), A strided
//! (packed into scratch at run time), no bias, no activation. Reports GFLOP/s (2 m n k flops).
//!
//! `fma_peak` measures this machine's one-core FMA throughput under the same conditions (12
//! independent AVX2 FMA chains, no memory traffic), the denominator for "% of peak" when the
//! clock is unknown or the machine is shared.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mote_kernels::fast::{Activation, Bias, Cpu, Operand, gemm, gemm_scratch_len, pack_b, pack_b_len};
use std::hint::black_box;

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
        .collect()
}

fn bench_gemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    for cpu in Cpu::available() {
        for size in [64usize, 128, 256, 384, 512, 768, 1024] {
            if cpu.isa() == mote_kernels::fast::Isa::Scalar && size > 256 {
                continue;
            }
            let (m, n, k) = (size, size, size);
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            let mut pb = vec![0.0; pack_b_len(k, n)];
            pack_b(k, n, &b, n, 1, &mut pb);
            let mut scratch = vec![0.0; gemm_scratch_len(m, n, k, false, true)];
            let mut out = vec![0.0; m * n];
            group.throughput(Throughput::Elements((2 * m * n * k) as u64));
            group.bench_function(BenchmarkId::new(cpu.isa().name(), size), |bch| {
                bch.iter(|| {
                    gemm(
                        cpu,
                        (m, n, k),
                        Operand::row_major(black_box(&a), k),
                        Operand::Packed(black_box(&pb)),
                        &mut out,
                        n,
                        Bias::None,
                        Activation::None,
                        &mut scratch,
                    )
                })
            });
        }
    }
    group.finish();
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

fn bench_peak(c: &mut Criterion) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        let iters = 100_000u64;
        let mut group = c.benchmark_group("fma_peak");
        group.throughput(Throughput::Elements(iters * 12 * 16));
        // SAFETY: AVX2 and FMA were detected just above.
        group.bench_function("avx2-fma", |b| b.iter(|| unsafe { fma_chains(iters, black_box(1.0)) }));
        group.finish();
    }
    let _ = c;
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench_peak, bench_gemm
}
criterion_main!(benches);
