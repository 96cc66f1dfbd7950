//! The fast int8 kernels against the reference, on every int8 path this machine has (the
//! portable one, AVX2 forced even on a VNNI machine, VNNI; NEON with and without `sdot` under
//! qemu; Arm's DSP path under qemu-arm; simd128 runs the same cases in the wasm test crate):
//! results must be bit-identical.

#[path = "common/int8_cases.rs"]
mod int8_cases;

use int8_cases::{ConvCase, Rng, digest};
use mote_kernels::fast::{Cpu, Q8Path};

fn paths() -> Vec<Cpu> {
    let all: Vec<Cpu> = Q8Path::ALL.iter().filter_map(|&p| Cpu::with_q8(p)).collect();
    eprintln!("int8 paths on this machine: {:?}", all.iter().map(|c| c.q8().name()).collect::<Vec<_>>());
    all
}

#[test]
fn every_path_matches_the_reference_on_random_convolutions() {
    let cpus = paths();
    let mut r = Rng(0x1234_5678_9abc_def1);
    for i in 0..600 {
        let case = ConvCase::random(&mut r, i % 5);
        let want = case.reference();
        for &cpu in &cpus {
            let got = case.fast(cpu);
            if got != want {
                let at = got.iter().zip(&want).position(|(a, b)| a != b).unwrap();
                panic!(
                    "{} case {i} {:?} x_zp {} differs at {at}: {} vs {}",
                    cpu.q8().name(),
                    case.g,
                    case.x_zp,
                    got[at],
                    want[at]
                );
            }
        }
    }
}

/// A microcontroller's plan gives a convolution the smallest scratch (blocks of `MIN_ROWS`
/// rows), a desktop's the largest: every size between gives the reference's bytes.
#[test]
fn every_path_matches_the_reference_in_any_scratch_size() {
    use mote_kernels::fast::int8::{conv_scratch_len, conv_scratch_min};
    let cpus = paths();
    let mut r = Rng(0x5eed_0f5c_7a7c_1100);
    for i in 0..200 {
        let case = ConvCase::random(&mut r, i % 5);
        let want = case.reference();
        let (lo, hi) = (conv_scratch_min(&case.g).unwrap(), conv_scratch_len(&case.g).unwrap());
        assert!(lo <= hi, "case {i}: min scratch {lo} > {hi}");
        let between = lo + (r.next() as usize) % (hi - lo + 1);
        for &cpu in &cpus {
            for len in [lo, between, lo + 1] {
                assert_eq!(case.fast_in(cpu, len), want, "{} case {i} {:?} scratch {len}", cpu.q8().name(), case.g);
            }
        }
    }
}

/// The bit-identity check: the hash of every output of every path equals the reference's.
#[test]
fn every_path_hashes_like_the_reference() {
    for cpu in paths() {
        let (fast, reference) = digest(cpu, 42, 300);
        println!("int8 identity {}: {fast:016x} (reference {reference:016x})", cpu.q8().name());
        assert_eq!(fast, reference, "{}", cpu.q8().name());
    }
}

#[test]
fn this_machine_runs_its_best_path() {
    let cpu = Cpu::detect();
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512vnni") && std::arch::is_x86_feature_detected!("avx512vl") {
        assert_eq!(cpu.q8(), Q8Path::Avx512Vnni);
    }
    #[cfg(target_arch = "aarch64")]
    assert_eq!(cpu.q8() == Q8Path::NeonDot, std::arch::is_aarch64_feature_detected!("dotprod"));
    assert!(Cpu::with_q8(cpu.q8()).is_some());
    // Cross-compiled runs name the path they must test (scripts/arm-tests.sh), so a build that
    // silently fell back to the portable kernels fails here.
    if let Ok(want) = std::env::var("MOTE_EXPECT_Q8") {
        assert_eq!(cpu.q8().name(), want, "MOTE_EXPECT_Q8");
        assert!(paths().contains(&Cpu::scalar()), "the portable path is tested too");
    }
}

/// Add and Mul on every path against the reference: lengths around the vector widths, either
/// operand broadcast, extreme zero points and clamps.
#[test]
fn every_path_matches_the_reference_on_add_and_mul() {
    use int8_cases::{add_params, mul_params};
    use mote_kernels::fast::int8 as fast;
    use mote_kernels::reference::int8 as reference;
    let cpus = paths();
    let mut r = Rng(0x0dd_ba11_5eed);
    for i in 0..400 {
        let len = if i < 70 { i + 1 } else { r.range(1, 3000) as usize };
        let (alen, blen) = match i % 4 {
            0 => (len, 1),
            1 => (1, len),
            _ => (len, len),
        };
        let (a, b) = (r.bytes(alen), r.bytes(blen));
        let mut p = add_params(&mut r);
        let mut m = mul_params(&mut r);
        if i % 7 == 0 {
            (p.a_zp, p.b_zp, m.a_zp, m.b_zp) = (-128, 127, 127, -128);
        }
        let (mut want_add, mut want_mul) = (vec![0i8; len], vec![0i8; len]);
        reference::add(&p, &a, &b, &mut want_add);
        reference::mul(&m, &a, &b, &mut want_mul);
        for &cpu in &cpus {
            let mut y = vec![0x33i8; len];
            fast::add(cpu, &p, &a, &b, &mut y);
            assert_eq!(y, want_add, "{} add case {i} {p:?} lens {alen} {blen}", cpu.q8().name());
            fast::mul(cpu, &m, &a, &b, &mut y);
            assert_eq!(y, want_mul, "{} mul case {i} {m:?} lens {alen} {blen}", cpu.q8().name());
        }
    }
}

/// Fully connected layers at batch 1 and 2 (the matrix-vector kernels): reduction lengths
/// around the 4-byte groups and the even/odd split, output channels around the 16-channel panels
/// and the 8-, 4-, 2- and 1-panel blocks, the MLPerf Tiny AD and KWS shapes.
#[test]
fn every_path_matches_the_reference_on_fully_connected() {
    let cpus = paths();
    let mut r = Rng(0xfcfc_1234);
    let mut shapes = vec![(1, 640, 128), (1, 128, 8), (1, 8, 128), (1, 128, 640), (1, 64, 12), (2, 640, 128)];
    for k in [1, 2, 3, 4, 5, 7, 8, 9, 12, 63, 250] {
        for m in [1, 15, 16, 17, 40, 64, 100, 128, 130, 200, 256] {
            shapes.push((1 + (k + m) % 3, k, m));
        }
    }
    for (i, &(rows, k, m)) in shapes.iter().enumerate() {
        let case = ConvCase::fc(&mut r, rows, k, m);
        let want = case.reference();
        for &cpu in &cpus {
            assert_eq!(
                case.fast(cpu),
                want,
                "{} fc case {i} rows {rows} k {k} m {m} x_zp {}",
                cpu.q8().name(),
                case.x_zp
            );
        }
    }
}

/// Average, max and mean pools on every path against the reference: the global pools of the
/// MLPerf Tiny models (25x5x64, 8x8x64, 3x3x256), sliding windows with padding (taps outside the
/// image, empty windows), channel counts around the 64-channel blocks, random small cases.
#[test]
fn every_path_matches_the_reference_on_pools() {
    use int8_cases::PoolCase;
    let cpus = paths();
    let mut r = Rng(0x9001_face);
    let mut cases = Vec::new();
    for kind in 0..3 {
        for (n, h, w, c) in [(1, 25, 5, 64), (1, 8, 8, 64), (2, 3, 3, 256), (1, 6, 7, 100), (1, 1, 1, 3)] {
            cases.push(PoolCase::new(&mut r, kind, n, h, w, c, (h, w), 1, 0));
        }
        for (h, w, c, k, s, p) in
            [(9, 9, 64, 3, 1, 1), (10, 11, 130, 3, 2, 1), (7, 5, 17, 2, 2, 0), (6, 6, 65, 5, 3, 4)]
        {
            cases.push(PoolCase::new(&mut r, kind, 1, h, w, c, (k, k), s, p));
        }
    }
    // Padding wider than the window: outputs whose taps all fall outside the image.
    for kind in 0..2 {
        cases.push(PoolCase::new(&mut r, kind, 1, 1, 1, 16, (1, 1), 1, 1));
    }
    cases.extend((0..200).map(|_| PoolCase::random(&mut r)));
    for (i, case) in cases.iter().enumerate() {
        let want = case.reference();
        for &cpu in &cpus {
            assert_eq!(case.fast(cpu), want, "{} pool case {i} kind {} {:?}", cpu.q8().name(), case.kind, case.g);
        }
    }
}

/// Add with the parameters a corrupt or unusual file may hold: every left shift from 0 to 30
/// (the AVX-512 kernel splits the multiplier for 15..=23), negative, zero and extreme
/// multipliers, exponents of both signs, on every path against the reference.
#[test]
fn every_path_matches_the_reference_on_add_edge_parameters() {
    use int8_cases::add_params;
    use mote_kernels::fast::int8 as fast;
    use mote_kernels::reference::int8 as reference;
    let cpus = paths();
    let mut r = Rng(0xadd_e06e);
    let m0s = [0, 1, -1, 1 << 30, i32::MAX, i32::MIN, -(1 << 30), 1_518_500_250, 0x7fff_0000, 0x0000_ffff];
    let shifts = [0, -1, -5, -12, -20, -31, -40, 3, 31];
    for i in 0..600 {
        let mut p = add_params(&mut r);
        p.left_shift = (i % 31) as u32;
        if i % 3 > 0 {
            p.a_mult = (r.pick(&m0s), r.pick(&shifts));
            p.b_mult = (r.pick(&m0s), r.pick(&shifts));
            p.y_mult = (r.pick(&m0s), r.pick(&shifts));
        }
        let len = r.range(1, 100) as usize;
        let blen = if i % 5 == 0 { 1 } else { len };
        let (a, b) = (r.bytes(len), r.bytes(blen));
        let mut want = vec![0i8; len];
        reference::add(&p, &a, &b, &mut want);
        for &cpu in &cpus {
            let mut y = vec![0x33i8; len];
            fast::add(cpu, &p, &a, &b, &mut y);
            assert_eq!(y, want, "{} add case {i} {p:?}", cpu.q8().name());
        }
    }
}

/// Depthwise shapes of MobileNet and EfficientNet (3x3 and 5x5, stride 1 and 2, channel counts
/// with and without a multiple of 16, padding on every side) on every path against the
/// reference: long runs of interior pixels, the border runs, the overlapping last block.
#[test]
fn every_path_matches_the_reference_on_depthwise_shapes() {
    use mote_kernels::reference::int8::Conv2d;
    let cpus = paths();
    let mut r = Rng(0xd3b7_11e5);
    for (i, &c) in [16usize, 24, 40, 17, 144, 33, 8, 96].iter().cycle().take(48).enumerate() {
        let mut case = ConvCase::random(&mut r, 3);
        let k = if i % 3 == 0 { 5 } else { 3 };
        let s = 1 + i % 2;
        let (h, w) = (r.range(k as i64, 20) as usize, r.range(k as i64, 20) as usize);
        let p = k / 2;
        let g = Conv2d {
            n: 1,
            h,
            w,
            c,
            m: c,
            groups: c,
            kh: k,
            kw: k,
            sh: s,
            sw: s,
            dh: 1,
            dw: 1,
            pad_top: p,
            pad_left: p,
            oh: (h + 2 * p - k) / s + 1,
            ow: (w + 2 * p - k) / s + 1,
        };
        let (xl, wl, _) = g.lens();
        case.g = g;
        case.x = r.bytes(xl);
        case.w = r.bytes(wl);
        case.x_zp = [-128, 127, 0, -3][i % 4];
        let per_channel = |r: &mut Rng, v: &[i32]| (0..c).map(|_| r.pick(v)).collect::<Vec<i32>>();
        case.bias = per_channel(&mut r, &[-70_000, -1000, 0, 5, 4000, i32::MAX]);
        case.mult = per_channel(&mut r, &[1 << 30, 1_300_000_000, i32::MAX, i32::MIN]);
        case.shift = per_channel(&mut r, &[-12, -8, -5, 0, 1]);
        let want = case.reference();
        for &cpu in &cpus {
            assert_eq!(case.fast(cpu), want, "{} case {i} {:?} x_zp {}", cpu.q8().name(), case.g, case.x_zp);
        }
    }
}

/// The shapes the x86 depthwise row kernels specialise (kernel widths 1..5 at strides 1 and 2,
/// kernel heights 1..8 with odd ones, widths 1..40, channel counts around 16 and 32 that they
/// do not divide, 8..15 channels (half blocks), asymmetric padding, row stride and dilation) on every path against the
/// reference.
#[test]
fn every_path_matches_the_reference_on_depthwise_row_kernels() {
    use mote_kernels::reference::int8::Conv2d;
    let cpus = paths();
    let mut r = Rng(0x5eed_d3b7_0042);
    let channels = [16usize, 17, 31, 32, 33, 47, 48, 63, 96, 1, 15, 8, 9, 12];
    for i in 0..160 {
        let mut case = ConvCase::random(&mut r, 3);
        let c = channels[i % channels.len()];
        let (kh, kw) = (1 + i % 8, 1 + (i / 8) % 5);
        let (sh, sw) = (1 + (i / 3) % 2, 1 + (i / 2) % 2);
        let dh = if i % 7 == 0 { 2 } else { 1 };
        let w = if i < 40 { i + 1 } else { r.range(1, 40) as usize };
        let h = r.range(1, 9) as usize;
        let (pad_top, pad_left) = (r.range(0, kh as i64 - 1) as usize, r.range(0, kw as i64 - 1) as usize);
        let out = |size: usize, k: usize, s: usize, d: usize, p: usize| {
            (size + 2 * p).saturating_sub(d * (k - 1) + 1) / s + 1
        };
        let g = Conv2d {
            n: 1 + i % 2,
            h,
            w,
            c,
            m: c,
            groups: c,
            kh,
            kw,
            sh,
            sw,
            dh,
            dw: 1,
            pad_top,
            pad_left,
            oh: out(h, kh, sh, dh, pad_top),
            ow: out(w, kw, sw, 1, pad_left),
        };
        let (xl, wl, _) = g.lens();
        case.g = g;
        case.x = r.bytes(xl);
        case.w = r.bytes(wl);
        case.x_zp = [-128, 127, 0, -3, 77][i % 5];
        let per_channel = |r: &mut Rng, v: &[i32]| (0..c).map(|_| r.pick(v)).collect::<Vec<i32>>();
        case.bias = per_channel(&mut r, &[-70_000, -1000, 0, 5, 4000, i32::MAX, i32::MIN]);
        case.mult = per_channel(&mut r, &[1 << 30, 1_300_000_000, i32::MAX, i32::MIN, 0, -5]);
        case.shift = per_channel(&mut r, &[-31, -12, -8, -5, 0, 1, 3]);
        (case.lo, case.hi) = [(-128, 127), (-20, 90), (-300, 300)][i % 3];
        let want = case.reference();
        for &cpu in &cpus {
            assert_eq!(case.fast(cpu), want, "{} case {i} {:?} x_zp {}", cpu.q8().name(), case.g, case.x_zp);
        }
    }
}

/// Stems with 1..4 input channels (3x3 and 5x5, strides 1 and 2, padding, images whose last
/// pixels end the input buffer, output channel counts around 16) on every path against the
/// reference: the short im2col rows.
#[test]
fn every_path_matches_the_reference_on_small_input_channel_stems() {
    use mote_kernels::reference::int8::Conv2d;
    let cpus = paths();
    let mut r = Rng(0x57e3_0001);
    for i in 0..80 {
        let mut case = ConvCase::random(&mut r, 1);
        let c = 1 + i % 4;
        let m = [16usize, 32, 8, 17, 40][i % 5];
        let k = if i % 3 == 0 { 5 } else { 3 };
        let s = 1 + i % 2;
        let (h, w) = (r.range(1, 20) as usize, r.range(1, 20) as usize);
        let p = [k / 2, 0, 1][i % 3];
        let out = |size: usize| (size + 2 * p).saturating_sub(k) / s + 1;
        let g = Conv2d {
            n: 1 + i % 2,
            h,
            w,
            c,
            m,
            groups: 1,
            kh: k,
            kw: k,
            sh: s,
            sw: s,
            dh: 1,
            dw: 1,
            pad_top: p,
            pad_left: p,
            oh: out(h),
            ow: out(w),
        };
        let (xl, wl, _) = g.lens();
        case.g = g;
        case.x = r.bytes(xl);
        case.w = r.bytes(wl);
        case.x_zp = [-128, 127, 0, -3][i % 4];
        let per_channel = |r: &mut Rng, v: &[i32]| (0..m).map(|_| r.pick(v)).collect::<Vec<i32>>();
        case.bias = per_channel(&mut r, &[-70_000, -1000, 0, 5, 4000, i32::MAX]);
        case.mult = per_channel(&mut r, &[1 << 30, 1_300_000_000, i32::MAX, i32::MIN]);
        case.shift = per_channel(&mut r, &[-12, -8, -5, 0, 1]);
        let want = case.reference();
        for &cpu in &cpus {
            assert_eq!(case.fast(cpu), want, "{} case {i} {:?} x_zp {}", cpu.q8().name(), case.g, case.x_zp);
        }
    }
}

/// Convolutions whose im2col rows are copied in runs of interior pixels (kernel rows of 1 to
/// more than 64 bytes: 1..24 input channels, kernels up to 10x5 like KWS's stem, strides and
/// row dilation, padding on every side, images whose last pixels end the input buffer) on
/// every path against the reference.
#[test]
fn every_path_matches_the_reference_on_im2col_runs() {
    use mote_kernels::reference::int8::Conv2d;
    let cpus = paths();
    let mut r = Rng(0x1a2c_0112);
    for i in 0..120 {
        let mut case = ConvCase::random(&mut r, 1);
        let c = [1usize, 3, 8, 16, 24, 2, 5, 32][i % 8];
        let m = [64usize, 8, 16, 17, 32][i % 5];
        let (kh, kw) = if i % 4 == 0 { (10, 4) } else { (r.range(1, 5) as usize, r.range(1, 5) as usize) };
        let (sh, sw) = (r.range(1, 2) as usize, r.range(1, 2) as usize);
        let dh = if i % 5 == 0 { 2 } else { 1 };
        let (h, w) = (r.range(1, 24) as usize, r.range(1, 24) as usize);
        let (pad_top, pad_left) = (r.range(0, kh as i64 - 1) as usize, r.range(0, kw as i64 - 1) as usize);
        let out = |size: usize, k: usize, s: usize, d: usize, p: usize| {
            (size + 2 * p).saturating_sub(d * (k - 1) + 1) / s + 1
        };
        let g = Conv2d {
            n: 1 + i % 2,
            h,
            w,
            c,
            m,
            groups: 1,
            kh,
            kw,
            sh,
            sw,
            dh,
            dw: 1,
            pad_top,
            pad_left,
            oh: out(h, kh, sh, dh, pad_top),
            ow: out(w, kw, sw, 1, pad_left),
        };
        let (xl, wl, _) = g.lens();
        case.g = g;
        case.x = r.bytes(xl);
        case.w = r.bytes(wl);
        case.x_zp = [-128, 127, 0, -3, 77][i % 5];
        let per_channel = |r: &mut Rng, v: &[i32]| (0..m).map(|_| r.pick(v)).collect::<Vec<i32>>();
        case.bias = per_channel(&mut r, &[-70_000, -1000, 0, 5, 4000, i32::MAX]);
        case.mult = per_channel(&mut r, &[1 << 30, 1_300_000_000, i32::MAX, i32::MIN]);
        case.shift = per_channel(&mut r, &[-12, -8, -5, 0, 1]);
        let want = case.reference();
        for &cpu in &cpus {
            assert_eq!(case.fast(cpu), want, "{} case {i} {:?} x_zp {}", cpu.q8().name(), case.g, case.x_zp);
        }
    }
}
