//! GEMM throughput: square sizes 64..1024, B packed ahead of time (weights), A strided
//! (packed into scratch at run time), no bias, no activation. Reports GFLOP/s (2 m n k flops).

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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench_gemm
}
criterion_main!(benches);
