//! The small int8 kernels of the MLPerf Tiny models, per int8 path of this machine: fully
//! connected layers at batch 1 (AD 640->128 and 128->128, KWS 64->12; criterion's "elements"
//! are multiply-accumulates), the global average pools (KWS 25x5x64, IC 8x8x64) and the
//! residual Add (IC 32x32x16; elements are outputs).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mote_kernels::fast::int8::{AddParams, Conv2d, Pool2d, Requant, add, avg_pool, conv_pack, conv_pack_len};
use mote_kernels::fast::int8::{conv_scratch_len, conv2d};
use mote_kernels::fast::{Cpu, Q8Path};
use mote_kernels::reference::fixed::quantize_multiplier;

fn cpus() -> Vec<Cpu> {
    Q8Path::ALL.iter().filter_map(|&p| Cpu::with_q8(p)).collect()
}

fn fc(c: &mut Criterion) {
    for (k, m) in [(640, 128), (128, 128), (64, 12)] {
        let g = Conv2d::fully_connected(1, k, m);
        let x: Vec<i8> = (0..k).map(|i| (i * 7 % 251) as i8).collect();
        let w: Vec<i8> = (0..k * m).map(|i| (i * 13 % 255) as i8).collect();
        let mut packed = vec![0u8; conv_pack_len(&g).unwrap()];
        conv_pack(&g, &w, &mut packed);
        let bias: Vec<i32> = (0..m as i32).map(|i| i * 100 - 3000).collect();
        let (mult, shift) = (vec![1_300_000_000; m], vec![-9; m]);
        let rq = Requant { bias: &bias, mult: &mult, shift: &shift, zp: -5, lo: -128, hi: 127 };
        let mut scratch = vec![0i32; conv_scratch_len(&g).unwrap()];
        let mut y = vec![0i8; m];
        let mut group = c.benchmark_group(format!("int8_fc_{k}to{m}"));
        group.throughput(Throughput::Elements((k * m) as u64));
        for cpu in cpus() {
            group.bench_function(BenchmarkId::from_parameter(cpu.q8().name()), |b| {
                b.iter(|| conv2d(cpu, &g, &x, 3, &packed, &rq, &mut y, &mut scratch))
            });
        }
        group.finish();
    }
}

fn pool(c: &mut Criterion) {
    for (h, w, ch) in [(25, 5, 64), (8, 8, 64)] {
        let g = Pool2d {
            n: 1,
            h,
            w,
            c: ch,
            m: ch,
            groups: ch,
            kh: h,
            kw: w,
            sh: 1,
            sw: 1,
            dh: 1,
            dw: 1,
            pad_top: 0,
            pad_left: 0,
            oh: 1,
            ow: 1,
        };
        let x: Vec<i8> = (0..h * w * ch).map(|i| (i * 7 % 251) as i8).collect();
        let mut y = vec![0i8; ch];
        let mut group = c.benchmark_group(format!("int8_avgpool_{h}x{w}x{ch}"));
        group.throughput(Throughput::Elements((h * w * ch) as u64));
        for cpu in cpus() {
            group.bench_function(BenchmarkId::from_parameter(cpu.q8().name()), |b| {
                b.iter(|| avg_pool(cpu, &g, &x, -128, 127, &mut y))
            });
        }
        group.finish();
    }
}

fn elementwise(c: &mut Criterion) {
    let n = 32 * 32 * 16;
    let (a, b): (Vec<i8>, Vec<i8>) =
        ((0..n).map(|i| (i * 7 % 251) as i8).collect(), (0..n).map(|i| (i * 5 % 253) as i8).collect());
    let p = AddParams {
        a_zp: -3,
        b_zp: 5,
        y_zp: -1,
        left_shift: 20,
        a_mult: quantize_multiplier(0.4).unwrap(),
        b_mult: quantize_multiplier(0.5).unwrap(),
        y_mult: quantize_multiplier(1.0 / (0.8 * (1 << 20) as f64)).unwrap(),
        lo: -128,
        hi: 127,
    };
    let mut y = vec![0i8; n];
    let mut group = c.benchmark_group("int8_add_32x32x16");
    group.throughput(Throughput::Elements(n as u64));
    for cpu in cpus() {
        group.bench_function(BenchmarkId::from_parameter(cpu.q8().name()), |bn| {
            bn.iter(|| add(cpu, &p, &a, &b, &mut y))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = fc, pool, elementwise
}
criterion_main!(benches);
