//! Sparse (70% zeros, compressed rows) against dense products of the same shapes: 1x1
//! convolutions in NCHW (`[m x k]` weights times `[k x H·W]` pixels) and fully connected
//! layers on a batch (`[n x k]` weights times the `[k x batch]` transposed activations). Dense
//! is the packed GEMM a compiled model runs (weights packed ahead of time as A). Reports the
//! time per product; `scripts` do not parse it: read the ratio off criterion's output.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mote_kernels::fast::{
    Activation, Bias, Conv2d, Cpu, Csr, Operand, SPARSE_CHUNK, blocked_conv2d, blocked_conv2d_scratch_len,
    blocked_pack_weights, blocked_pack_weights_len, csr_nnz, csr_pack, csr_panels, gemm, gemm_scratch_len, pack_a,
    pack_a_len, spmm,
};
use std::hint::black_box;

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
        .collect()
}

/// `w` with the `zeros` fraction of smallest magnitudes set to 0, as magnitude pruning does.
fn prune(mut w: Vec<f32>, zeros: f32) -> Vec<f32> {
    let mut mags: Vec<f32> = w.iter().map(|v| v.abs()).collect();
    mags.sort_by(f32::total_cmp);
    let t = mags[((zeros * w.len() as f32) as usize).min(w.len() - 1)];
    w.iter_mut().filter(|v| v.abs() < t).for_each(|v| *v = 0.0);
    w
}

fn bench(c: &mut Criterion) {
    let cpu = Cpu::detect();
    // (name, m outputs, k inputs, p pixels or batch)
    let shapes = [
        ("conv1x1_64x64_56x56", 64, 64, 56 * 56),
        ("conv1x1_128x128_28x28", 128, 128, 28 * 28),
        ("conv1x1_256x256_14x14", 256, 256, 14 * 14),
        ("fc_512x512_batch64", 512, 512, 64),
    ];
    // 70% zeros (the target), 50% (what 2:4 pruning leaves).
    for zeros in [0.7f32, 0.6, 0.5] {
        let mut group = c.benchmark_group(format!("sparse{}_vs_dense", (zeros * 100.0) as u32));
        for (name, m, k, p) in shapes {
            let w = prune(values(m * k, 1), zeros);
            let x = values(k * p, 2);
            let nnz = csr_nnz(&w, m, k);
            let mut y = vec![0.0f32; m * p];
            // Panels of SPARSE_CHUNK columns (what the compiler packs), and one panel.
            for (variant, chunk) in [("sparse", SPARSE_CHUNK), ("sparse_one_panel", k)] {
                if zeros != 0.7 && chunk == k {
                    continue;
                }
                let (mut rp, mut cols, mut vals) =
                    (vec![0u32; csr_panels(k, chunk) * m + 1], vec![0u32; nnz], vec![0.0f32; nnz]);
                csr_pack(&w, m, k, chunk, &mut rp, &mut cols, &mut vals);
                let csr = Csr { rows: m, cols_n: k, chunk, row_ptr: &rp, cols: &cols, vals: &vals };
                group.bench_function(BenchmarkId::new(variant, name), |b| {
                    b.iter(|| spmm(cpu, csr, black_box(&x), p, None, Activation::None, &mut y))
                });
            }
            if zeros != 0.7 {
                continue;
            }
            let mut pa = vec![0.0; pack_a_len(m, k)];
            pack_a(m, k, &w, k, 1, &mut pa);
            let mut scratch = vec![0.0; gemm_scratch_len(m, p, k, true, false)];
            if name.starts_with("conv") {
                // The channel-blocked pointwise kernel a compiled model runs when the
                // convolution is in a blocked chain (channels in multiples of 8).
                let side = (p as f64).sqrt() as usize;
                let g = Conv2d {
                    batch: 1,
                    in_channels: k,
                    out_channels: m,
                    group: 1,
                    input: [side, side],
                    output: [side, side],
                    kernel: [1, 1],
                    strides: [1, 1],
                    dilations: [1, 1],
                    pads: [0, 0],
                };
                let mut pw = vec![0.0; blocked_pack_weights_len(&g)];
                blocked_pack_weights(&g, &w, &mut pw);
                let mut scratch = vec![0.0; blocked_conv2d_scratch_len(&g)];
                group.bench_function(BenchmarkId::new("dense_blocked", name), |b| {
                    b.iter(|| blocked_conv2d(cpu, &g, black_box(&x), &pw, None, Activation::None, &mut y, &mut scratch))
                });
            }
            group.bench_function(BenchmarkId::new("dense", name), |b| {
                b.iter(|| {
                    gemm(
                        cpu,
                        (m, p, k),
                        Operand::Packed(&pa),
                        Operand::row_major(black_box(&x), p),
                        &mut y,
                        p,
                        Bias::None,
                        Activation::None,
                        &mut scratch,
                    )
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
