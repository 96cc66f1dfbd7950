extern crate std;
use std::vec::Vec;

use super::*;

/// Every code of a format, decoded.
fn table<F: MiniFloat>(n: u16, from_bits: fn(u8) -> F) -> impl Iterator<Item = (u8, f64)> {
    (0..n).map(move |c| (c as u8, from_bits(c as u8).to_f64()))
}

/// Checks the structure of a minifloat format against its definition: exact round trip of every
/// non-NaN code, strictly increasing positive codes, symmetric negatives, the NaN count, the
/// largest value and round-to-nearest-even at every midpoint.
fn check_format<F: MiniFloat>(
    n: u16,
    from_bits: fn(u8) -> F,
    to_bits: fn(F) -> u8,
    max: f64,
    min_sub: f64,
    nan_codes: usize,
) {
    let sign = (n / 2) as u8;
    let mut nans = 0;
    for (c, v) in table(n, from_bits) {
        if v.is_nan() {
            nans += 1;
            continue;
        }
        assert_eq!(to_bits(F::from_f64_with(v, false)), c, "code {c:#x} = {v} does not round-trip");
        if v.is_finite() {
            assert_eq!(to_bits(F::from_f32_with(v as f32, true)), c, "code {c:#x} through f32");
        }
        assert_eq!(v as f32 as f64, v, "code {c:#x} is not an exact f32");
    }
    assert_eq!(nans, nan_codes);
    let pos: Vec<(u8, f64)> = table(n, from_bits).take(sign as usize).filter(|(_, v)| v.is_finite()).collect();
    assert_eq!(pos[1].1, min_sub);
    assert_eq!(pos.last().unwrap().1, max);
    for w in pos.windows(2) {
        let ((c0, a), (c1, b)) = (w[0], w[1]);
        assert!(a < b, "codes {c0:#x}, {c1:#x} not increasing");
        let neg = from_bits(c0 | sign).to_f64();
        assert!(neg == -a || (neg.is_nan() && c0 == 0), "code {:#x}", c0 | sign);
        // Ties go to the even code; anything off the midpoint goes to the nearer one.
        let mid = (a + b) / 2.0;
        let even = if c0 % 2 == 0 { c0 } else { c1 };
        assert_eq!(to_bits(F::from_f64_with(mid, true)), even, "midpoint of {a} and {b}");
        let eps = (b - a) / 1024.0;
        assert_eq!(to_bits(F::from_f64_with(mid - eps, true)), c0);
        assert_eq!(to_bits(F::from_f64_with(mid + eps, true)), c1);
        assert_eq!(to_bits(F::from_f64_with(-(mid + eps), true)), c1 | sign);
    }
    // Below half the smallest subnormal: zero.
    assert_eq!(F::from_f64_with(min_sub * 0.5, true).to_f64(), 0.0);
    assert_eq!(F::from_f64_with(min_sub * 0.51, true).to_f64(), min_sub);
    // Saturation.
    for big in [max * 1.5, 1e30, f64::INFINITY] {
        assert_eq!(F::from_f64_with(big, true).to_f64(), max);
        assert_eq!(F::from_f64_with(-big, true).to_f64(), -max);
    }
}

#[test]
fn e4m3fn_codes() {
    check_format(256, F8E4M3Fn::from_bits, F8E4M3Fn::to_bits, 448.0, 2f64.powi(-9), 2);
    let v = |c| F8E4M3Fn(c).to_f32();
    assert_eq!(v(0x08), 2f32.powi(-6)); // smallest normal
    assert_eq!(v(0x38), 1.0);
    assert_eq!(v(0x7e), 448.0);
    assert!(v(0x7f).is_nan() && v(0xff).is_nan());
    assert!(v(0x80) == 0.0 && v(0x80).is_sign_negative());
    // Overflow without saturation is NaN (keeping the sign); 464 is the tie that stays at 448.
    assert_eq!(F8E4M3Fn::from_f64_with(464.0, false).0, 0x7e);
    assert_eq!(F8E4M3Fn::from_f64_with(465.0, false).0, 0x7f);
    assert_eq!(F8E4M3Fn::from_f64_with(f64::NEG_INFINITY, false).0, 0xff);
    assert_eq!(F8E4M3Fn::from_f64_with(-f64::NAN, true).0, 0xff);
    assert_eq!(F8E4M3Fn::from_f64_with(-1e-7, true).0, 0x80);
}

#[test]
fn e4m3fnuz_codes() {
    check_format(256, F8E4M3Fnuz::from_bits, F8E4M3Fnuz::to_bits, 240.0, 2f64.powi(-10), 1);
    assert_eq!(F8E4M3Fnuz(0x40).to_f32(), 1.0);
    assert!(F8E4M3Fnuz(0x80).is_nan());
    // No negative zero; every overflow and NaN without saturation is 0x80.
    assert_eq!(F8E4M3Fnuz::from_f64_with(-1e-7, true).0, 0);
    assert_eq!(F8E4M3Fnuz::from_f64_with(-0.0, true).0, 0);
    assert_eq!(F8E4M3Fnuz::from_f64_with(1e6, false).0, 0x80);
    assert_eq!(F8E4M3Fnuz::from_f64_with(f64::NEG_INFINITY, false).0, 0x80);
    assert_eq!(F8E4M3Fnuz::from_f64_with(f64::NAN, true).0, 0x80);
}

#[test]
fn e5m2_codes() {
    check_format(256, F8E5M2::from_bits, F8E5M2::to_bits, 57344.0, 2f64.powi(-16), 6);
    assert_eq!(F8E5M2(0x3c).to_f32(), 1.0);
    assert_eq!(F8E5M2(0x7c).to_f32(), f32::INFINITY);
    assert_eq!(F8E5M2(0xfc).to_f32(), f32::NEG_INFINITY);
    // IEEE behaviour without saturation: 61440 is the tie that rounds (to even) up to infinity.
    assert_eq!(F8E5M2::from_f64_with(61439.0, false).0, 0x7b);
    assert_eq!(F8E5M2::from_f64_with(61440.0, false).0, 0x7c);
    assert_eq!(F8E5M2::from_f64_with(-f64::INFINITY, false).0, 0xfc);
    assert_eq!(F8E5M2::from_f64_with(f64::INFINITY, true).0, 0x7b);
    assert!(F8E5M2::from_f64_with(f64::NAN, false).is_nan());
}

#[test]
fn e5m2fnuz_codes() {
    check_format(256, F8E5M2Fnuz::from_bits, F8E5M2Fnuz::to_bits, 57344.0, 2f64.powi(-17), 1);
    assert_eq!(F8E5M2Fnuz(0x40).to_f32(), 1.0);
    assert_eq!(F8E5M2Fnuz::from_f64_with(f64::INFINITY, false).0, 0x80);
}

#[test]
fn e2m1_codes() {
    check_format(16, F4E2M1::from_bits, F4E2M1::to_bits, 6.0, 0.5, 0);
    let all: Vec<f32> = (0..8).map(|c| F4E2M1(c).to_f32()).collect();
    assert_eq!(all, [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]);
    assert_eq!(F4E2M1(0xf).to_f32(), -6.0);
    // No infinities or NaN: saturation always; NaN becomes zero.
    assert_eq!(F4E2M1::from_f64_with(f64::INFINITY, false).0, 0x7);
    assert_eq!(F4E2M1::from_f64_with(-7.0, false).0, 0xf);
    assert_eq!(F4E2M1::from_f64_with(f64::NAN, true).to_f32(), 0.0);
    // Spot values of the ONNX Cast test: 0.48 -> 0.5, 0.25 -> 0, 1.05 -> 1, -3.5 -> -4, 5 -> 4.
    for (x, y) in [(0.48, 0.5), (0.25, 0.0), (1.05, 1.0), (-3.5, -4.0), (5.0, 4.0), (0.75, 1.0), (1e-7, 0.0)] {
        assert_eq!(F4E2M1::from_f32(x).to_f32(), y, "{x}");
    }
    assert_eq!(F4E2M1::from_bits(0xf7).0, 0x7);
}

#[test]
fn float8_spot_values() {
    // From the ONNX Cast tests (float32 -> each format, saturating).
    let xs = [0.478_925_47f32, 0.480_336_67, 0.499_684_87, 0.819_105_45, 1e6, 1e-7];
    let e4m3fn: Vec<f32> = xs.iter().map(|&x| F8E4M3Fn::from_f32(x).to_f32()).collect();
    assert_eq!(e4m3fn, [0.46875, 0.46875, 0.5, 0.8125, 448.0, 0.0]);
    let e5m2fnuz: Vec<f32> = xs.iter().map(|&x| F8E5M2Fnuz::from_f32(x).to_f32()).collect();
    assert_eq!(e5m2fnuz, [0.5, 0.5, 0.5, 0.875, 57344.0, 0.0]);
    // 200 / 2 = 100 quantizes to 96 in E4M3FN (quantum 8 at 64..128) and E5M2 (quantum 16).
    assert_eq!(F8E4M3Fn::from_f32(100.0).0, 108);
    assert_eq!(F8E5M2::from_f32(100.0).to_f32(), 96.0);
    assert_eq!(F8E5M2::from_f32(50000.0).to_f32(), 49152.0);
}

#[test]
fn e8m0_conversions() {
    assert_eq!(F8E8M0(127).to_f32(), 1.0);
    assert_eq!(F8E8M0(0).to_f64(), 2f64.powi(-127));
    assert_eq!(F8E8M0(0).to_f32() as f64, 2f64.powi(-127));
    assert_eq!(F8E8M0(254).to_f64(), 2f64.powi(127));
    assert!(F8E8M0(255).to_f32().is_nan());
    for c in 0..255u8 {
        let v = F8E8M0(c).to_f64();
        for mode in [RoundMode::Up, RoundMode::Down, RoundMode::Nearest] {
            assert_eq!(F8E8M0::from_f64_with(v, false, mode).0, c, "code {c} mode {mode:?}");
        }
    }
    let up = |x: f32| F8E8M0::from_f32_with(x, true, RoundMode::Up).0;
    // The ONNX test: [0, 0.124, 0.25, 0.5, 1.1, 2, 4, 8] -> codes [0, 124, 125, 126, 128, 128, 129, 130].
    let got: Vec<u8> = [0.0, 0.124, 0.25, 0.5, 1.1, 2.0, 4.0, 8.0].iter().map(|&x| up(x)).collect();
    assert_eq!(got, [0, 124, 125, 126, 128, 128, 129, 130]);
    let with = |x: f64, sat: bool, mode| F8E8M0::from_f64_with(x, sat, mode).0;
    assert_eq!(with(1.1, true, RoundMode::Down), 127);
    assert_eq!(with(1.49, true, RoundMode::Nearest), 127);
    assert_eq!(with(1.5, true, RoundMode::Nearest), 128); // ties round up
    assert_eq!(with(-3.0, true, RoundMode::Down), 128); // the sign is ignored
    // Saturation at both ends; without it, NaN.
    assert_eq!(with(f64::INFINITY, true, RoundMode::Up), 254);
    assert_eq!(with(f64::INFINITY, false, RoundMode::Up), 255);
    assert_eq!(with(1.5 * 2f64.powi(127), true, RoundMode::Up), 254);
    assert_eq!(with(1.5 * 2f64.powi(127), false, RoundMode::Up), 255);
    assert_eq!(with(1.5 * 2f64.powi(127), false, RoundMode::Down), 254);
    assert_eq!(with(2f64.powi(-130), true, RoundMode::Nearest), 0);
    assert_eq!(with(2f64.powi(-130), false, RoundMode::Nearest), 255);
    assert_eq!(with(0.0, false, RoundMode::Nearest), 255);
    assert_eq!(with(f64::NAN, true, RoundMode::Up), 255);
    assert!(F8E8M0(255) != F8E8M0(255));
    assert!(F8E8M0(3) < F8E8M0(4));
}

#[test]
fn small_ints_wrap_and_sign_extend() {
    assert_eq!(I4::wrapping_from(9).get(), -7);
    assert_eq!(I4::wrapping_from(-9).get(), 7);
    assert_eq!(I4::wrapping_from(8).get(), -8);
    assert_eq!(U4::wrapping_from(-1).get(), 15);
    assert_eq!(U4::wrapping_from(17).get(), 1);
    assert_eq!(I2::wrapping_from(2).get(), -2);
    assert_eq!(I2::wrapping_from(-3).get(), 1);
    assert_eq!(U2::wrapping_from(-3).get(), 1);
    assert_eq!(I4::from_bits(0xf8).get(), -8);
    assert_eq!(I4::from_bits(0x07).get(), 7);
    assert_eq!(I4::wrapping_from(-1).to_bits(), 0xf);
    assert_eq!(I2::wrapping_from(-1).to_bits(), 0x3);
    assert_eq!((I4::MIN.get(), I4::MAX.get()), (-8, 7));
    assert_eq!((U4::MIN.get(), U4::MAX.get()), (0, 15));
    assert_eq!((I2::MIN.get(), I2::MAX.get()), (-2, 1));
    assert_eq!((U2::MIN.get(), U2::MAX.get()), (0, 3));
    assert_eq!(I4::new(7), Some(I4::MAX));
    assert_eq!(I4::new(8), None);
    for b in 0..16u8 {
        assert_eq!(I4::from_bits(b).to_bits(), b);
        assert_eq!(U4::from_bits(b).to_bits(), b);
    }
}

#[test]
fn packing_low_bits_first_with_padding() {
    // The ONNX int4 test: [0, 1, 7, -4, -8] packs to [0x10, 0xc7, 0x08].
    let codes: Vec<u8> = [0i64, 1, 7, -4, -8].iter().map(|&v| I4::wrapping_from(v).to_bits()).collect();
    let mut packed = [0u8; 3];
    pack_codes(&codes, 4, &mut packed).unwrap();
    assert_eq!(packed, [16, 199, 8]);
    let mut back = [0u8; 5];
    unpack_codes(&packed, 4, &mut back).unwrap();
    assert_eq!(back.as_slice(), codes.as_slice());
    // uint2 [0, 1, 2, 3, 0, 0, 0, 1, 1, 1, 2, 2] -> [228, 64, 165]; 5 values need 2 bytes.
    let u2 = [0u8, 1, 2, 3, 0, 0, 0, 1, 1, 1, 2, 2];
    let mut p = [0u8; 3];
    pack_codes(&u2, 2, &mut p).unwrap();
    assert_eq!(p, [228, 64, 165]);
    let mut five = [0u8; 5];
    unpack_codes(&p[..2], 2, &mut five).unwrap();
    assert_eq!(five, [0, 1, 2, 3, 0]);
    // Wrong sizes and widths are errors.
    assert_eq!(unpack_codes(&p, 2, &mut five), Err(PackError { expected: 2, got: 3 }));
    assert!(pack_codes(&u2, 3, &mut p).is_err());
    let mut none: [u8; 0] = [];
    assert!(pack_codes(&[], 4, &mut none).is_ok());
}
