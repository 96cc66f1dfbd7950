//! Best-of-N wall times of the int8 kernels on MobileNetV2 / EfficientNet-Lite0 shapes, per
//! int8 path of this machine (for a shared machine: the minimum of many runs is close to the
//! unloaded time, where criterion's means move with the load). GMAC/s for convolutions,
//! elements per ns for Add and Mul.
//!
//! `cargo bench -p mote-kernels --bench int8_min [-- FILTER]`

use mote_kernels::fast::int8::{
    AddParams, Conv2d, MulParams, Requant, add, conv_pack, conv_pack_len, conv_scratch_len, conv2d, mul,
};
use mote_kernels::fast::{Cpu, Q8Path};
use mote_kernels::reference::fixed::quantize_multiplier;
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

/// `(name, h, w, c, m, kh, kw, stride, depthwise)`, TFLite's SAME padding.
type Shape = (&'static str, usize, usize, usize, usize, usize, usize, usize, bool);

/// MobileNetV2 / EfficientNet-Lite0 shapes, then the MLPerf Tiny ones (VWW, KWS, IC).
const SHAPES: [Shape; 17] = [
    ("pw_112x112x32to16", 112, 112, 32, 16, 1, 1, 1, false),
    ("pw_56x56x24to144", 56, 56, 24, 144, 1, 1, 1, false),
    ("pw_7x7x320to1280", 7, 7, 320, 1280, 1, 1, 1, false),
    ("dw3x3s1_56x56x144", 56, 56, 144, 144, 3, 3, 1, true),
    ("dw3x3s2_112x112x96", 112, 112, 96, 96, 3, 3, 2, true),
    ("dw3x3s1_14x14x576", 14, 14, 576, 576, 3, 3, 1, true),
    ("dw5x5s1_14x14x480", 14, 14, 480, 480, 5, 5, 1, true),
    ("dw5x5s2_28x28x240", 28, 28, 240, 240, 5, 5, 2, true),
    ("stem3x3s2_224x224x3to32", 224, 224, 3, 32, 3, 3, 2, false),
    ("vww_stem3x3s2_96x96x3to8", 96, 96, 3, 8, 3, 3, 2, false),
    ("vww_dw3x3s1_48x48x8", 48, 48, 8, 8, 3, 3, 1, true),
    ("vww_dw3x3s2_48x48x16", 48, 48, 16, 16, 3, 3, 2, true),
    ("kws_stem10x4s2_49x10x1to64", 49, 10, 1, 64, 10, 4, 2, false),
    ("kws_dw3x3s1_25x5x64", 25, 5, 64, 64, 3, 3, 1, true),
    ("ic_stem3x3s1_32x32x3to16", 32, 32, 3, 16, 3, 3, 1, false),
    ("ic_3x3s1_32x32x16to16", 32, 32, 16, 16, 3, 3, 1, false),
    ("ic_3x3s2_32x32x16to32", 32, 32, 16, 32, 3, 3, 2, false),
];

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--")).unwrap_or_default();
    let cpus: Vec<Cpu> =
        Q8Path::ALL.iter().filter_map(|&p| Cpu::with_q8(p)).filter(|c| c.q8() != Q8Path::Scalar).collect();
    let budget = Duration::from_millis(700);
    for &(name, h, wd, ch, m, kh, kw, s, dw) in &SHAPES {
        if !name.contains(&filter) {
            continue;
        }
        let (oh, ow) = (h.div_ceil(s), wd.div_ceil(s));
        let same = |o: usize, k: usize, i: usize| ((o - 1) * s + k).saturating_sub(i) / 2;
        let g = Conv2d {
            n: 1,
            h,
            w: wd,
            c: ch,
            m,
            groups: if dw { ch } else { 1 },
            kh,
            kw,
            sh: s,
            sw: s,
            dh: 1,
            dw: 1,
            pad_top: same(oh, kh, h),
            pad_left: same(ow, kw, wd),
            oh,
            ow,
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
        let macs = (yl * wl / m) as f64;
        for &cpu in &cpus {
            let t = min_time(|| conv2d(cpu, &g, black_box(&x), 3, &packed, &rq, &mut y, &mut scratch), 20, budget);
            println!("{name:28} {:12} {:9.1} us {:7.2} GMAC/s", cpu.q8().name(), t * 1e6, macs / t * 1e-9);
        }
    }
    // The element-wise ops at MobileNetV2's largest residual Add (56x56x24).
    let n = 56 * 56 * 24;
    let a: Vec<i8> = (0..n).map(|i| (i * 7 % 251) as i8).collect();
    let b: Vec<i8> = (0..n).map(|i| (i * 11 % 253) as i8).collect();
    let ap = AddParams {
        a_zp: -3,
        b_zp: 5,
        y_zp: -1,
        left_shift: 20,
        a_mult: quantize_multiplier(0.4).unwrap(),
        b_mult: quantize_multiplier(0.5).unwrap(),
        y_mult: quantize_multiplier(0.8 / (1 << 20) as f64).unwrap(),
        lo: -128,
        hi: 127,
    };
    let mp = MulParams { a_zp: -3, b_zp: 5, y_zp: -1, mult: quantize_multiplier(0.01).unwrap(), lo: -128, hi: 127 };
    let mut y = vec![0i8; n];
    for &cpu in &cpus {
        for (op, bl) in [("add", n), ("add_bcast", 1), ("mul", n), ("mul_bcast", 1)] {
            let name = format!("{op}_56x56x24");
            if !name.contains(&filter) {
                continue;
            }
            let b = &b[..bl];
            let t = min_time(
                || {
                    if op.starts_with("add") {
                        add(cpu, &ap, black_box(&a), b, &mut y)
                    } else {
                        mul(cpu, &mp, black_box(&a), b, &mut y)
                    }
                },
                20,
                budget,
            );
            println!("{name:28} {:12} {:9.1} us {:7.2} elem/ns", cpu.q8().name(), t * 1e6, n as f64 / t * 1e-9);
        }
    }
}
