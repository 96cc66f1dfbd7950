//! The block-sparse int8 product against the dense int8 convolution a compiled model runs
//! (`fast::int8::conv2d` on packed weights, this machine's best path), same shapes and
//! requantization: 1x1 convolutions (rows are pixels, NHWC) and a fully connected layer on a
//! batch. Weights pruned in blocks of four input channels (`mote prune --pattern 1x4`) and
//! unstructured (where a block is empty only when four zeros fall together).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mote_kernels::fast::int8::{
    Conv2d, Q8Blocks, Requant, conv_pack, conv_pack_len, conv_scratch_len, conv2d, q8_blocks_nnz, q8_blocks_pack,
    sparse_conv, sparse_scratch_len,
};
use mote_kernels::fast::{Cpu, Q8Path};
use std::hint::black_box;

fn bytes(n: usize, seed: u64) -> Vec<i8> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 56) as i8
        })
        .collect()
}

/// `w [m x c]` with `zeros` percent of its values (unstructured) or of its four-channel blocks
/// set to 0.
fn prune(mut w: Vec<i8>, m: usize, c: usize, zeros: u64, block: bool) -> Vec<i8> {
    let mut s = 99u64;
    let step = if block { 4 } else { 1 };
    for o in 0..m {
        for j in (0..c).step_by(step) {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if (s >> 33) % 100 < zeros {
                w[o * c + j..o * c + (j + step).min(c)].fill(0);
            }
        }
    }
    w
}

fn bench(cr: &mut Criterion) {
    let cpu = Cpu::detect();
    let shapes = [
        ("conv1x1_64x64_56x56", 64, 64, 56 * 56),
        ("conv1x1_128x128_28x28", 128, 128, 28 * 28),
        ("conv1x1_256x256_14x14", 256, 256, 14 * 14),
        ("fc_512x512_batch64", 512, 512, 64),
    ];
    for (label, zeros, block) in
        [("blocks70", 70, true), ("blocks50", 50, true), ("unstructured70", 70, false), ("unstructured90", 90, false)]
    {
        let mut group = cr.benchmark_group(format!("q8_sparse_{label}_vs_dense"));
        for (name, m, c, rows) in shapes {
            let w = prune(bytes(m * c, 1), m, c, zeros, block);
            let x = bytes(rows * c, 2);
            let (bias, mult, shift) = (vec![100i32; m], vec![1_300_000_000i32; m], vec![-9i32; m]);
            let rq = Requant { bias: &bias, mult: &mult, shift: &shift, zp: 3, lo: -128, hi: 127 };
            let mut y = vec![0i8; rows * m];
            let nb = q8_blocks_nnz(&w, m, c);
            let (mut rp, mut cols, mut vals, mut ws) =
                (vec![0u32; m + 1], vec![0u32; nb], vec![0i32; nb], vec![0i32; m]);
            q8_blocks_pack(&w, m, c, &mut rp, &mut cols, &mut vals, &mut ws);
            let b = Q8Blocks { m, c, row_ptr: &rp, cols: &cols, w: &vals, wsum: &ws };
            let mut scratch = vec![0i32; sparse_scratch_len(m, c).unwrap()];
            eprintln!("{label} {name}: {:.0}% of the blocks empty", 100.0 * (1.0 - nb as f64 / (m * c / 4) as f64));
            group.bench_function(BenchmarkId::new("sparse", name), |bn| {
                bn.iter(|| sparse_conv(cpu, rows, &b, black_box(&x), -5, &rq, &mut y, &mut scratch))
            });
            if label != "blocks70" {
                continue;
            }
            let g = Conv2d::fully_connected(rows, c, m);
            let mut packed = vec![0u8; conv_pack_len(&g).unwrap()];
            conv_pack(&g, &w, &mut packed);
            let mut ds = vec![0i32; conv_scratch_len(&g).unwrap()];
            group.bench_function(BenchmarkId::new("dense", name), |bn| {
                bn.iter(|| conv2d(cpu, &g, black_box(&x), -5, &packed, &rq, &mut y, &mut ds))
            });
            // The AVX2 path on a machine with a better one.
            if let Some(avx2) = Cpu::with_q8(Q8Path::Avx2).filter(|c| c.q8() != cpu.q8()) {
                group.bench_function(BenchmarkId::new("sparse_avx2", name), |bn| {
                    bn.iter(|| sparse_conv(avx2, rows, &b, black_box(&x), -5, &rq, &mut y, &mut scratch))
                });
                group.bench_function(BenchmarkId::new("dense_avx2", name), |bn| {
                    bn.iter(|| conv2d(avx2, &g, black_box(&x), -5, &packed, &rq, &mut y, &mut ds))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
