//! Randomized cases for the quant family, plus regressions for window attributes that once
//! overflowed the convolution geometry (now shared with the nn family).

use mote_ir::ops::nn::{AutoPad, ConvAttrs, Window};
use mote_ir::ops::quant::QuantOp;
use mote_ir::{DType, Op, Tensor};

use super::{Rng, check, run_cases_opts, vals};

fn qdtype(rng: &Rng) -> DType {
    rng.pick(&[DType::U8, DType::U8, DType::I8, DType::I16, DType::U16, DType::I32, DType::F32, DType::I64])
}

fn scale(rng: &Rng, shape: &[usize]) -> Tensor {
    let d = rng.pick(&[DType::F32, DType::F32, DType::F16, DType::BF16, DType::F64]);
    rng.tensor(d, shape)
}

fn conv_attrs(rng: &Rng, nd: usize) -> ConvAttrs {
    let per = |rng: &Rng, lo: usize, hi: usize, n: usize| -> Vec<usize> {
        if rng.one_in(3) { vec![] } else { (0..n).map(|_| lo + rng.below(hi - lo + 1)).collect() }
    };
    let window = Window {
        strides: per(rng, 1, 3, nd),
        dilations: per(rng, 1, 2, nd),
        pads: per(rng, 0, 2, 2 * nd),
        auto_pad: rng.pick(&[AutoPad::NotSet, AutoPad::SameUpper, AutoPad::SameLower, AutoPad::Valid]),
        ..Window::default()
    };
    ConvAttrs { window, group: 1 + rng.below(2) }
}

#[test]
fn quant_random_cases() {
    let names = [
        "QuantizeLinear",
        "DequantizeLinear",
        "DynamicQuantizeLinear",
        "MatMulInteger",
        "QLinearMatMul",
        "ConvInteger",
        "QLinearConv",
    ];
    run_cases_opts(0x9a47_000d, 20000, 5, &names, true, |rng: &Rng| {
        let s = rng.shape(4);
        let axis = rng.int(-4, 4);
        let block = if rng.coin() { 0 } else { rng.below(4) };
        let per_axis = |rng: &Rng| -> Vec<usize> {
            match rng.below(4) {
                0 => vec![],
                1 => vec![1],
                _ => vec![s.get(axis.rem_euclid(s.len().max(1) as i64) as usize).copied().unwrap_or(1)],
            }
        };
        let (op, inputs, n): (QuantOp, Vec<Option<Tensor>>, usize) = match rng.below(7) {
            0 => {
                let ss = per_axis(rng);
                let zd = qdtype(rng);
                let op = QuantOp::Quantize {
                    axis,
                    block_size: block,
                    output_dtype: rng.coin().then(|| qdtype(rng)),
                    precision: rng.coin().then(|| rng.float_dtype()),
                    saturate: rng.coin(),
                };
                let zp = rng.coin().then(|| rng.tensor(zd, &ss));
                (op, vec![Some(rng.floats(&s)), Some(scale(rng, &ss)), zp], 1)
            }
            1 => {
                let ss = per_axis(rng);
                let xd = qdtype(rng);
                let op = QuantOp::Dequantize {
                    axis,
                    block_size: block,
                    output_dtype: rng.coin().then(|| rng.float_dtype()),
                };
                let zp = rng.coin().then(|| rng.tensor(if rng.one_in(5) { qdtype(rng) } else { xd }, &ss));
                (op, vec![Some(rng.tensor(xd, &s)), Some(scale(rng, &ss)), zp], 1)
            }
            2 => (QuantOp::DynamicQuantize, vec![Some(rng.floats(&s))], 3),
            3 | 4 => {
                let (m, k, nn) = (rng.dim(), rng.dim(), rng.dim());
                let mut a = rng.shape(2);
                a.extend([m, k]);
                let mut b = vec![if rng.one_in(5) { k + 1 } else { k }, nn];
                if rng.one_in(4) {
                    b.remove(0);
                }
                let (ad, bd) = (qdtype(rng), qdtype(rng));
                let (x, w) = (rng.tensor(ad, &a), rng.tensor(bd, &b));
                if rng.coin() {
                    let az = rng.coin().then(|| rng.tensor(ad, &[]));
                    let bz = rng.coin().then(|| rng.tensor(bd, if rng.coin() { &[] } else { &b[b.len() - 1..] }));
                    (QuantOp::MatMulInteger, vec![Some(x), Some(w), az, bz], 1)
                } else {
                    let yd = qdtype(rng);
                    let ins = vec![
                        Some(x),
                        Some(scale(rng, &[])),
                        Some(rng.tensor(ad, &[])),
                        Some(w),
                        Some(scale(rng, &[])),
                        Some(rng.tensor(bd, &[])),
                        Some(scale(rng, &[])),
                        Some(rng.tensor(yd, &[])),
                    ];
                    (QuantOp::QLinearMatMul, ins, 1)
                }
            }
            _ => {
                let nd = 1 + rng.below(2);
                let a = conv_attrs(rng, nd);
                let (c, m) = (a.group * (1 + rng.below(2)), a.group * (1 + rng.below(2)));
                let mut xs = vec![rng.dim(), c];
                xs.extend((0..nd).map(|_| rng.dim() + 1));
                let mut ws = vec![m, c / a.group];
                ws.extend((0..nd).map(|_| 1 + rng.below(3)));
                let (xd, wd) = (qdtype(rng), qdtype(rng));
                let (x, w) = (rng.tensor(xd, &xs), rng.tensor(wd, &ws));
                if rng.coin() {
                    let xz = rng.coin().then(|| rng.tensor(xd, &[]));
                    let wz = rng.coin().then(|| rng.tensor(wd, if rng.coin() { &[] } else { &ws[..1] }));
                    (QuantOp::ConvInteger(a), vec![Some(x), Some(w), xz, wz], 1)
                } else {
                    let yd = qdtype(rng);
                    let ins = vec![
                        Some(x),
                        Some(scale(rng, &[])),
                        Some(rng.tensor(xd, &[])),
                        Some(w),
                        Some(scale(rng, if rng.coin() { &[] } else { &ws[..1] })),
                        Some(rng.tensor(wd, &[])),
                        Some(scale(rng, &[])),
                        Some(rng.tensor(yd, &[])),
                        rng.coin().then(|| rng.tensor(DType::I32, &[m])),
                    ];
                    (QuantOp::QLinearConv(a), ins, 1)
                }
            }
        };
        (Op::Quant(op), vals(inputs), n)
    });
}

/// A conv whose attributes would overflow the output-size arithmetic.
fn huge_window_case(strides: Vec<usize>, dilations: Vec<usize>, pads: Vec<usize>) -> Result<bool, String> {
    let a = ConvAttrs { window: Window { strides, dilations, pads, ..Window::default() }, group: 1 };
    let x = Tensor::zeros(DType::U8, vec![1, 1, 4]).unwrap();
    let w = Tensor::zeros(DType::U8, vec![1, 1, 3]).unwrap();
    check(&Op::Quant(QuantOp::ConvInteger(a)), &vals(vec![Some(x), Some(w)]), 1)
}

/// Regression: `(k - 1) * dilation + 1` overflowed.
#[test]
fn quant_conv_huge_dilation_is_an_error() {
    assert_eq!(huge_window_case(vec![], vec![usize::MAX / 2 + 1], vec![]), Ok(false));
}

/// Regression: `input + pad_begin + pad_end` overflowed.
#[test]
fn quant_conv_huge_pads_are_an_error() {
    assert_eq!(huge_window_case(vec![], vec![], vec![usize::MAX, 1]), Ok(false));
}

/// Regression: `w.shape[1] * group` overflowed when X has no channels (so `c_in % group == 0`
/// for any group).
#[test]
fn quant_conv_with_a_huge_group_is_an_error() {
    let a = ConvAttrs { window: Window::default(), group: 1 << 62 };
    let x = Tensor::zeros(DType::U8, vec![1, 0, 4]).unwrap();
    let w = Tensor::zeros(DType::U8, vec![0, 4, 1]).unwrap();
    assert_eq!(check(&Op::Quant(QuantOp::ConvInteger(a)), &vals(vec![Some(x), Some(w)]), 1), Ok(false));
}
