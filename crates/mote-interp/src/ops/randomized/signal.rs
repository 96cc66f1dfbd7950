use mote_ir::ops::signal::{SignalOp, WindowKind};
use mote_ir::{DType, Op, Tensor};

use super::{Rng, run_cases, vals};

fn scalar_int(rng: &Rng, lo: i64, hi: i64) -> Tensor {
    let v = rng.int(lo, hi);
    match rng.below(6) {
        0 => Tensor::from_vec(vec![1], vec![v]).unwrap(),
        1 => Tensor::scalar(v as i32),
        2 => Tensor::scalar(v as f32),
        _ => Tensor::scalar(v),
    }
}

#[test]
fn signal_random_cases() {
    let names = ["DFT", "STFT", "HannWindow", "MelWeightMatrix"];
    run_cases(0x519a_0006, 16000, 10, &names, |rng: &Rng| {
        let dt = if rng.one_in(8) { rng.dtype() } else { rng.float_dtype() };
        let out_dt = rng.pick(&[DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32, DType::U8]);
        let (op, inputs, n): (SignalOp, Vec<Option<Tensor>>, usize) = match rng.below(4) {
            0 => {
                let mut s = rng.shape(3);
                if !rng.one_in(6) {
                    s.push(1 + rng.below(2));
                }
                let len = rng.coin().then(|| scalar_int(rng, -1, 8));
                let axis = rng.coin().then(|| scalar_int(rng, -4, 3));
                let op = SignalOp::Dft { inverse: rng.coin(), onesided: rng.coin() };
                (op, vec![Some(rng.tensor(dt, &s)), len, axis], 1)
            }
            1 => {
                let s = [rng.dim(), rng.below(12), if rng.one_in(6) { 3 } else { 1 + rng.below(2) }];
                let s = if rng.one_in(10) { rng.shape(3) } else { s.to_vec() };
                let step = scalar_int(rng, -1, 4);
                let wl = rng.below(6);
                let window = rng.coin().then(|| rng.tensor(dt, &[wl]));
                let fl = rng.coin().then(|| scalar_int(rng, -1, 6));
                (SignalOp::Stft { onesided: rng.coin() }, vec![Some(rng.tensor(dt, &s)), Some(step), window, fl], 1)
            }
            2 => {
                let kind = rng.pick(&[WindowKind::Hann, WindowKind::Hamming, WindowKind::Blackman]);
                let op = SignalOp::Window { kind, periodic: rng.coin(), dtype: out_dt };
                (op, vec![Some(scalar_int(rng, -2, 10))], 1)
            }
            _ => {
                let f = |rng: &Rng| {
                    let v = rng.int(-100, 20000) as f32 * if rng.coin() { 1.0 } else { 0.5 };
                    if rng.coin() { Tensor::scalar(v) } else { Tensor::scalar(v as i64) }
                };
                let ins = vec![
                    Some(scalar_int(rng, -1, 8)),
                    Some(scalar_int(rng, -1, 16)),
                    Some(scalar_int(rng, -1, 16000)),
                    Some(f(rng)),
                    Some(f(rng)),
                ];
                (SignalOp::MelWeightMatrix { dtype: out_dt }, ins, 1)
            }
        };
        (Op::Signal(op), vals(inputs), n)
    });
}
