use proptest::prelude::*;
use std::format;
use std::vec;
use std::vec::Vec;

use super::util::{act_ref, activation, assert_close, dim, values};
use crate::fast::{Activation, BinaryOp, Cpu, Rhs, activation_in_place, binary, binary_in_place, softmax};
use crate::reference::nn::softmax::{SoftmaxKind, softmax as ref_softmax};

fn op_ref(op: BinaryOp, a: f32, b: f32) -> f32 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::RevSub => b - a,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::RevDiv => b / a,
        BinaryOp::Max => a.max(b),
        BinaryOp::Min => a.min(b),
    }
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    use BinaryOp::*;
    prop::sample::select(vec![Add, Sub, RevSub, Mul, Div, RevDiv, Max, Min])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Same,
    Scalar,
    PerChannel,
    PerChannelBlocked,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn binary_matches_reference(
        op in binary_op(),
        kind in prop::sample::select(vec![Kind::Same, Kind::Scalar, Kind::PerChannel, Kind::PerChannelBlocked]),
        (n, c, plane) in (0usize..=2, 1usize..=5, dim(40)),
        in_place in any::<bool>(),
        act in activation(),
        seed in any::<u64>(),
    ) {
        // Blocked: `c` channel blocks of 8.
        let c = if kind == Kind::PerChannelBlocked { c * 8 } else { c };
        let len = n * c * plane;
        let a = values(seed, len);
        let b = values(seed ^ 1, len.max(c));
        let s = b[0];
        let (rhs, bv): (Rhs<'_>, Vec<f32>) = match kind {
            Kind::Same => (Rhs::Same(&b[..len]), b[..len].to_vec()),
            Kind::Scalar => (Rhs::Scalar(s), vec![s; len]),
            Kind::PerChannel => {
                (Rhs::PerChannel { values: &b[..c], plane }, (0..len).map(|i| b[(i / plane.max(1)) % c]).collect())
            }
            Kind::PerChannelBlocked => (
                Rhs::PerChannelBlocked { values: &b[..c], plane },
                (0..len).map(|i| b[((i / (8 * plane).max(1)) % (c / 8)) * 8 + i % 8]).collect(),
            ),
        };
        let want: Vec<f32> = a.iter().zip(&bv).map(|(&x, &y)| act_ref(act, op_ref(op, x, y))).collect();
        let scale: Vec<f32> = a.iter().zip(&bv).map(|(&x, &y)| op_ref(op, x, y).abs()).collect();
        for cpu in Cpu::available() {
            let mut y = if in_place { a.clone() } else { vec![f32::NAN; len] };
            if in_place {
                binary_in_place(cpu, op, &mut y, rhs, act);
            } else {
                binary(cpu, op, &a, rhs, act, &mut y);
            }
            assert_close(&format!("binary {:?} {op:?} {kind:?} {act:?}", cpu.isa()), &y, &want, &scale, 4e-7);
        }
    }

    #[test]
    fn activation_in_place_matches_reference(len in dim(100), act in activation(), seed in any::<u64>()) {
        // Values over a wide range so Sigmoid/Tanh saturate and HardSwish hits every piece.
        let x: Vec<f32> = values(seed, len).iter().map(|v| v * 12.0).collect();
        let want: Vec<f32> = x.iter().map(|&v| act_ref(act, v)).collect();
        for cpu in Cpu::available() {
            let mut y = x.clone();
            activation_in_place(cpu, act, &mut y);
            assert_close(&format!("activation {:?} {act:?}", cpu.isa()), &y, &want, &want, 4e-7);
            let mut z = vec![f32::NAN; len];
            crate::fast::activation(cpu, act, &x, &mut z);
            prop_assert_eq!(&z, &y);
        }
    }

    #[test]
    fn softmax_matches_reference(rows in dim(5), cols in dim(70), big in any::<bool>(), seed in any::<u64>()) {
        let k = if big { 40.0 } else { 1.0 };
        let x: Vec<f32> = values(seed, rows * cols).iter().map(|v| v * k).collect();
        let mut want = vec![0.0f32; rows * cols];
        ref_softmax(SoftmaxKind::Softmax, rows, cols, 1, &x, &mut want);
        for cpu in Cpu::available() {
            let mut y = vec![f32::NAN; rows * cols];
            softmax(cpu, rows, cols, &x, &mut y);
            assert_close(&format!("softmax {:?}", cpu.isa()), &y, &want, &want, 2e-6);
        }
    }
}

#[test]
fn softmax_special_values() {
    for cpu in Cpu::available() {
        let x = [1.0, f32::NAN, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let mut y = [0.0f32; 10];
        softmax(cpu, 1, 10, &x, &mut y);
        assert!(y.iter().all(|v| v.is_nan()), "{:?}: NaN row", cpu.isa());
        let x = [f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY];
        softmax(cpu, 1, 3, &x, &mut y[..3]);
        assert_eq!(&y[..3], &[0.0, 1.0, 0.0]);
    }
}

#[test]
fn relu6_clip_is_exact() {
    let x = [-1.0, 0.0, 3.5, 6.0, 7.0, -0.0, 1e30, -1e30, 2.0];
    for cpu in Cpu::available() {
        let mut y = x;
        activation_in_place(cpu, Activation::Clip { lo: 0.0, hi: 6.0 }, &mut y);
        assert_eq!(y, [0.0, 0.0, 3.5, 6.0, 6.0, 0.0, 6.0, 0.0, 2.0]);
    }
}
