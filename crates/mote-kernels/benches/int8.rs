//! int8 convolution throughput (GMAC/s: criterion's "elements" are multiply-accumulates) on
//! MobileNetV2 shapes, NHWC, batch 1, per int8 path of this machine: 1x1 pointwise
//! 112x112x32->16, 56x56x24->144, 7x7x320->1280, depthwise 3x3 stride 1 at 56x56x144 and
//! stride 2 at 112x112x96, and the 3x3 stride-2 stem 224x224x3->32.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mote_kernels::fast::int8::{Conv2d, Requant, conv_pack, conv_pack_len, conv_scratch_len, conv2d};
use mote_kernels::fast::{Cpu, Q8Path};

/// `(name, h, c, m, k, stride, depthwise)`, square images, padding `k / 2`.
const SHAPES: [(&str, usize, usize, usize, usize, usize, bool); 6] = [
    ("pw_112x112x32to16", 112, 32, 16, 1, 1, false),
    ("pw_56x56x24to144", 56, 24, 144, 1, 1, false),
    ("pw_7x7x320to1280", 7, 320, 1280, 1, 1, false),
    ("dw3x3s1_56x56x144", 56, 144, 144, 3, 1, true),
    ("dw3x3s2_112x112x96", 112, 96, 96, 3, 2, true),
    ("stem3x3s2_224x224x3to32", 224, 3, 32, 3, 2, false),
];

fn bench(c: &mut Criterion) {
    let cpus: Vec<Cpu> = Q8Path::ALL.iter().filter_map(|&p| Cpu::with_q8(p)).collect();
    for &(name, h, ch, m, k, s, dw) in &SHAPES {
        let p = k / 2;
        let o = (h + 2 * p - k) / s + 1;
        let g = Conv2d {
            n: 1,
            h,
            w: h,
            c: ch,
            m,
            groups: if dw { ch } else { 1 },
            kh: k,
            kw: k,
            sh: s,
            sw: s,
            dh: 1,
            dw: 1,
            pad_top: p,
            pad_left: p,
            oh: o,
            ow: o,
        };
        let (xl, wl, yl) = g.lens();
        let x: Vec<i8> = (0..xl).map(|i| (i * 7 % 251) as i8).collect();
        let w: Vec<i8> = (0..wl).map(|i| (i * 13 % 255) as i8).collect();
        let mut packed = vec![0u8; conv_pack_len(&g).unwrap()];
        conv_pack(&g, &w, &mut packed);
        let bias: Vec<i32> = (0..m as i32).map(|i| i * 100 - 3000).collect();
        let mult = vec![1_300_000_000; m];
        let shift: Vec<i32> = (0..m as i32).map(|i| -7 - i % 3).collect();
        let rq = Requant { bias: &bias, mult: &mult, shift: &shift, zp: -5, lo: -128, hi: 127 };
        let mut scratch = vec![0i32; conv_scratch_len(&g).unwrap()];
        let mut y = vec![0i8; yl];
        let macs = (yl * wl / m) as u64;
        let mut group = c.benchmark_group(format!("int8_{name}"));
        group.throughput(Throughput::Elements(macs));
        for &cpu in &cpus {
            if cpu.q8() == Q8Path::Scalar && macs > 50_000_000 {
                continue;
            }
            group.bench_function(BenchmarkId::from_parameter(cpu.q8().name()), |b| {
                b.iter(|| conv2d(cpu, &g, &x, 3, &packed, &rq, &mut y, &mut scratch))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
