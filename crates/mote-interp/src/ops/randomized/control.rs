use mote_ir::ops::control::{ControlOp, ScanAttrs};
use mote_ir::{DType, Graph, Op, Tensor, TensorType, Value, ValueType};

use super::{Rng, run_cases};

/// A graph with `n_in` untyped inputs whose outputs are the inputs picked by `outs` (a
/// reference past the inputs is a constant taken from `consts`).
fn passthrough(n_in: usize, outs: &[usize], consts: &[Tensor]) -> Graph {
    let mut g = Graph::new("body");
    let ins: Vec<_> = (0..n_in).map(|i| g.add_value(format!("in{i}"), ValueType::Unknown)).collect();
    g.inputs = ins.clone();
    for &o in outs {
        let id = match ins.get(o) {
            Some(&id) => id,
            None => g.add_const(format!("c{o}"), consts[(o - n_in) % consts.len().max(1)].clone()),
        };
        g.outputs.push(id);
    }
    g
}

fn any_value(rng: &Rng) -> Value {
    match rng.below(8) {
        0 => Value::Sequence((0..rng.below(3)).map(|_| Value::Tensor(small(rng))).collect()),
        1 => Value::Optional(rng.coin().then(|| Box::new(Value::Tensor(small(rng))))),
        _ => Value::Tensor(small(rng)),
    }
}

fn small(rng: &Rng) -> Tensor {
    let s = rng.shape(3);
    let d = if rng.coin() { DType::F32 } else { rng.dtype() };
    rng.tensor(d, &s)
}

fn seq_of(rng: &Rng, like: bool) -> Value {
    let s = rng.shape(3);
    let d = rng.pick(&[DType::F32, DType::I64, DType::String]);
    let n = rng.below(4);
    Value::Sequence(
        (0..n)
            .map(|_| {
                let s2 = if like && !rng.one_in(5) { s.clone() } else { rng.shape(3) };
                Value::Tensor(rng.tensor(d, &s2))
            })
            .collect(),
    )
}

fn position(rng: &Rng) -> Option<Value> {
    rng.coin().then(|| Value::Tensor(if rng.one_in(6) { rng.ints(2, -3, 3) } else { Tensor::scalar(rng.int(-3, 3)) }))
}

#[test]
fn control_random_cases() {
    let names = [
        "If",
        "Loop",
        "Scan",
        "SequenceMap",
        "SequenceEmpty",
        "SequenceConstruct",
        "SequenceInsert",
        "SequenceAt",
        "SequenceErase",
        "SequenceLength",
        "SplitToSequence",
        "ConcatFromSequence",
        "Optional",
        "OptionalHasElement",
        "OptionalGetElement",
    ];
    run_cases(0xc047_000c, 20000, 5, &names, |rng: &Rng| {
        let consts = [small(rng), small(rng)];
        let (op, inputs, n): (ControlOp, Vec<Option<Value>>, usize) = match rng.below(16) {
            0 => {
                let k = rng.below(3);
                let then_branch = Box::new(passthrough(0, &(0..k).collect::<Vec<_>>(), &consts));
                let outs: Vec<usize> = (0..if rng.one_in(5) { k + 1 } else { k }).map(|i| i + 1).collect();
                let else_branch = Box::new(passthrough(0, &outs, &consts));
                let c = rng.tensor(
                    if rng.one_in(6) { rng.dtype() } else { DType::Bool },
                    &if rng.one_in(6) { vec![2] } else { vec![] },
                );
                (ControlOp::If { then_branch, else_branch }, vec![Some(Value::Tensor(c))], k)
            }
            1 => {
                let nv = rng.below(3);
                let ns = rng.below(2);
                // Body (iter, cond, v...) -> (cond, v..., scan...): the scan outputs repeat v or the iteration.
                let mut outs = vec![1];
                outs.extend(2..2 + nv);
                outs.extend((0..ns).map(|_| if nv > 0 && rng.coin() { 2 } else { 0 }));
                if rng.one_in(6) {
                    outs.pop();
                }
                let body = Box::new(passthrough(2 + nv, &outs, &consts));
                // A trip count or a false condition: the body passes the condition through, so
                // neither would loop up to the iteration cap.
                let m = Value::Tensor(Tensor::scalar(rng.below(5) as i64 - 1));
                let cond = Value::Tensor(Tensor::scalar(false));
                let (m, cond) = if rng.coin() { (Some(m), None) } else { (None, Some(cond)) };
                let mut ins = vec![m, cond];
                ins.extend((0..nv).map(|_| Some(any_value(rng))));
                (ControlOp::Loop { body }, ins, nv + ns)
            }
            2 => {
                let (n_state, n_scan) = (rng.below(3), rng.below(3));
                let mut outs: Vec<usize> = (0..n_state).collect();
                outs.extend((0..rng.below(3)).map(|_| rng.below(n_state + n_scan + 1)));
                let body = Box::new(passthrough(n_state + n_scan, &outs, &consts));
                let len = rng.below(3);
                let scan = ScanAttrs {
                    body,
                    num_scan_inputs: if rng.one_in(6) { rng.size(3) } else { n_scan },
                    input_axes: (0..rng.below(3)).map(|_| rng.int(-2, 2)).collect(),
                    input_reverse: (0..rng.below(3)).map(|_| rng.coin()).collect(),
                    output_axes: (0..rng.below(3)).map(|_| rng.int(-3, 3)).collect(),
                    output_reverse: (0..rng.below(3)).map(|_| rng.coin()).collect(),
                    batch_axis_v8: rng.one_in(4),
                };
                let mut ins: Vec<Option<Value>> = Vec::new();
                if scan.batch_axis_v8 {
                    ins.push(None);
                }
                ins.extend((0..n_state).map(|_| Some(Value::Tensor(small(rng)))));
                ins.extend((0..n_scan).map(|_| {
                    let mut s = rng.shape(2);
                    s.insert(0, len);
                    Some(Value::Tensor(rng.tensor(DType::F32, &s)))
                }));
                let n = outs.len();
                (ControlOp::Scan(scan), ins, n)
            }
            3 => {
                let k = 1 + rng.below(2);
                let outs: Vec<usize> = (0..rng.below(3)).map(|_| rng.below(k + 1)).collect();
                let body = Box::new(passthrough(k, &outs, &consts));
                let ins = (0..k).map(|i| Some(if i == 0 || rng.coin() { seq_of(rng, false) } else { any_value(rng) }));
                let n = outs.len();
                (ControlOp::SequenceMap { body }, ins.collect(), n)
            }
            4 => (ControlOp::SequenceEmpty { dtype: rng.dtype() }, vec![], 1),
            5 => {
                let ins = (0..rng.below(4))
                    .map(|_| Some(if rng.one_in(8) { any_value(rng) } else { Value::Tensor(small(rng)) }));
                (ControlOp::SequenceConstruct, ins.collect(), 1)
            }
            6 => {
                let ins = vec![Some(seq_of(rng, true)), Some(Value::Tensor(small(rng))), position(rng)];
                (ControlOp::SequenceInsert, ins, 1)
            }
            7 => (ControlOp::SequenceAt, vec![Some(seq_of(rng, false)), position(rng)], 1),
            8 => (ControlOp::SequenceErase, vec![Some(seq_of(rng, false)), position(rng)], 1),
            9 => (
                ControlOp::SequenceLength,
                vec![Some(if rng.one_in(6) { any_value(rng) } else { seq_of(rng, false) })],
                1,
            ),
            10 | 11 => {
                let x = small(rng);
                let split = match rng.below(3) {
                    0 => None,
                    1 => Some(Tensor::scalar(rng.int(-1, 3))),
                    _ => Some(rng.ints(rng.below(4), -1, 3)),
                };
                let op = ControlOp::SplitToSequence { axis: rng.int(-3, 3), keepdims: rng.coin() };
                (op, vec![Some(Value::Tensor(x)), split.map(Value::Tensor)], 1)
            }
            12 => {
                let op = ControlOp::ConcatFromSequence { axis: rng.int(-4, 4), new_axis: rng.coin() };
                (op, vec![Some(seq_of(rng, true))], 1)
            }
            13 => {
                let elem = rng.coin().then(|| ValueType::Tensor(TensorType::concrete(DType::F32, &[2])));
                let x = rng.coin().then(|| any_value(rng));
                (ControlOp::Optional { elem }, vec![x], 1)
            }
            14 => (ControlOp::OptionalHasElement, vec![rng.coin().then(|| any_value(rng))], 1),
            _ => (ControlOp::OptionalGetElement, vec![Some(any_value(rng))], 1),
        };
        (Op::Control(op), inputs, n)
    });
}
