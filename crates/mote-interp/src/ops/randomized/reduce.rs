use mote_ir::ops::reduce::{ReduceOp, Reduction};
use mote_ir::{DType, Op, Tensor};

use super::{Rng, run_cases, vals};

#[test]
fn reduce_random_cases() {
    let names = ["ReduceSum", "ReduceLogSumExp", "ReduceMean", "ArgMax", "CumSum", "CumProd", "TopK"];
    run_cases(0x5ed0_0002, 24000, 5, &names, |rng: &Rng| {
        let dt = rng.dtype();
        let s = rng.shape(4);
        let x = rng.tensor(dt, &s);
        let ax = rng.int(-4, 4);
        let (op, inputs): (ReduceOp, Vec<Option<Tensor>>) = match rng.below(4) {
            0 => {
                use Reduction::*;
                let kind = rng.pick(&[Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare]);
                let axes = match rng.below(4) {
                    0 => None,
                    1 => Some(Tensor::from_vec(vec![0], Vec::<i64>::new()).unwrap()),
                    _ => {
                        let n = rng.below(4);
                        Some(rng.ints(n, -4, 4))
                    }
                };
                let op = ReduceOp::Reduce { kind, keepdims: rng.coin(), noop_with_empty_axes: rng.coin() };
                (op, vec![Some(x), axes])
            }
            1 => {
                let op =
                    ReduceOp::Arg { max: rng.coin(), axis: ax, keepdims: rng.coin(), select_last_index: rng.coin() };
                (op, vec![Some(x)])
            }
            2 => {
                let op = ReduceOp::Cumulative { prod: rng.coin(), exclusive: rng.coin(), reverse: rng.coin() };
                let a = if rng.one_in(5) { rng.ints(2, -4, 4) } else { Tensor::scalar(ax) };
                let a = if rng.one_in(8) { rng.tensor(DType::F32, &[]) } else { a };
                (op, vec![Some(x), Some(a)])
            }
            _ => {
                let op = ReduceOp::TopK { axis: ax, largest: rng.coin(), sorted: rng.coin() };
                let k = if rng.coin() { rng.ints(1, -1, 4) } else { Tensor::scalar(rng.int(-1, 4)) };
                (op, vec![Some(x), Some(k)])
            }
        };
        let n = if matches!(op, ReduceOp::TopK { .. }) { 2 } else { 1 };
        (Op::Reduce(op), vals(inputs), n)
    });
}
