use mote_ir::ops::loss::{LossOp, LossReduction};
use mote_ir::{DType, Op, Tensor};

use super::{Rng, run_cases, vals};

#[test]
fn loss_random_cases() {
    let names = ["NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"];
    run_cases(0x1055_0007, 16000, 20, &names, |rng: &Rng| {
        let dt = if rng.one_in(8) { rng.dtype() } else { rng.float_dtype() };
        let (n, c) = (rng.dim(), rng.dim());
        let extra: Vec<usize> = (0..rng.below(3)).map(|_| rng.dim()).collect();
        let mut xs = vec![n, c];
        xs.extend(&extra);
        let mut ts = vec![n];
        ts.extend(&extra);
        if rng.one_in(10) {
            xs = rng.shape(4);
        }
        if rng.one_in(10) {
            ts = rng.shape(4);
        }
        let tdt = rng.pick(&[DType::I64, DType::I64, DType::I32, DType::F32]);
        let target = match tdt {
            DType::F32 => rng.tensor(DType::F32, &ts),
            _ => {
                let t = rng.indices(&ts, c as i64 + 1);
                crate::ops::elementwise::cast(&t, tdt).unwrap()
            }
        };
        let ws = if rng.one_in(6) { vec![c + 1] } else { vec![c] };
        let weight = rng.coin().then(|| rng.tensor(dt, &ws));
        let reduction = rng.pick(&[LossReduction::None, LossReduction::Sum, LossReduction::Mean]);
        let ignore_index = rng.coin().then(|| rng.int(-2, 3));
        let (op, outs) = if rng.coin() {
            (LossOp::Nll { reduction, ignore_index }, 1)
        } else {
            (LossOp::SoftmaxCrossEntropy { reduction, ignore_index }, 1 + rng.below(2))
        };
        let x: Tensor = rng.tensor(dt, &xs);
        (Op::Loss(op), vals(vec![Some(x), Some(target), weight]), outs)
    });
}
