//! Randomized checks over the whole family: no input makes an op panic, and whenever evaluation
//! succeeds, static inference (with constant inputs, and with types only) agrees with the result;
//! when inference calls the inputs invalid, evaluation must fail too.

use mote_ir::ops::OpFamily;
use mote_ir::ops::shape::{BlockMode, PadMode, Reduction, ShapeOp};
use mote_ir::{DType, Fact, InferCx, Tensor, Value, ValueType};

use super::eval;
use crate::ops::{EvalCx, Inputs};

/// xorshift64*: deterministic, so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        match self.below(20) {
            0 => i64::MIN,
            1 => i64::MAX,
            _ => lo + self.below((hi - lo + 1) as usize) as i64,
        }
    }
}

fn data(rng: &mut Rng) -> Tensor {
    let rank = rng.below(5);
    let dims: Vec<usize> = (0..rank).map(|_| if rng.below(8) == 0 { 0 } else { 1 + rng.below(3) }).collect();
    let n: usize = dims.iter().product();
    match rng.below(4) {
        0 => Tensor::from_vec(dims, (0..n).map(|i| i as f32 - 2.0).collect()).unwrap(),
        1 => Tensor::from_vec(dims, (0..n).map(|i| (i % 3) as i64).collect()).unwrap(),
        2 => Tensor::from_vec(dims, (0..n).map(|i| i % 2 == 0).collect()).unwrap(),
        _ => Tensor::from_strings(dims, (0..n).map(|i| format!("s{i}")).collect()).unwrap(),
    }
}

fn ints(rng: &mut Rng, lo: i64, hi: i64) -> Tensor {
    let n = rng.below(5);
    let v: Vec<i64> = (0..n).map(|_| rng.int(lo, hi)).collect();
    if n == 1 && rng.below(2) == 0 { Tensor::scalar(v[0]) } else { Tensor::from_vec(vec![n], v).unwrap() }
}

/// Small int64 indices (some out of range) of `shape`.
fn index_like(rng: &mut Rng, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), (0..n).map(|_| rng.below(5) as i64 - 2).collect()).unwrap()
}

fn scalar(rng: &mut Rng, lo: i64, hi: i64) -> Tensor {
    Tensor::scalar(rng.int(lo, hi))
}

/// A random op with plausible (sometimes invalid) inputs.
fn case(rng: &mut Rng) -> (ShapeOp, Vec<Option<Tensor>>, usize) {
    let x = data(rng);
    let ax = rng.int(-4, 4);
    let reduction = [Reduction::None, Reduction::Add, Reduction::Mul, Reduction::Max, Reduction::Min][rng.below(5)];
    let op_inputs: (ShapeOp, Vec<Option<Tensor>>) = match rng.below(30) {
        0 => (ShapeOp::Reshape { allowzero: rng.below(2) == 0 }, vec![Some(x), Some(ints(rng, -2, 6))]),
        1 => (ShapeOp::Flatten { axis: ax }, vec![Some(x)]),
        2 => (ShapeOp::Squeeze, vec![Some(x), (rng.below(2) == 0).then(|| ints(rng, -4, 4))]),
        3 => (ShapeOp::Unsqueeze, vec![Some(x), Some(ints(rng, -5, 5))]),
        4 => {
            let perm = (rng.below(2) == 0).then(|| (0..rng.below(5)).map(|_| rng.below(5)).collect());
            (ShapeOp::Transpose { perm }, vec![Some(x)])
        }
        5 => {
            let other = if rng.below(3) == 0 { data(rng) } else { x.clone() };
            (ShapeOp::Concat { axis: ax }, vec![Some(x.clone()), Some(other), Some(x)])
        }
        6 => (ShapeOp::Split { axis: ax }, vec![Some(x), (rng.below(2) == 0).then(|| ints(rng, -1, 4))]),
        7 => {
            let v = vec![Some(x), Some(ints(rng, -5, 5)), Some(ints(rng, -5, 5))];
            let mut v = v;
            v.push((rng.below(2) == 0).then(|| ints(rng, -4, 4)));
            v.push((rng.below(2) == 0).then(|| ints(rng, -3, 3)));
            (ShapeOp::Slice, v)
        }
        8 => (ShapeOp::Gather { axis: ax }, vec![Some(x), Some(ints(rng, -3, 3))]),
        9 => {
            let i = index_like(rng, x.shape());
            (ShapeOp::GatherElements { axis: ax }, vec![Some(x), Some(i)])
        }
        10 => (ShapeOp::GatherND { batch_dims: rng.below(3) }, vec![Some(x), Some(data(rng))]),
        11 => {
            let i = index_like(rng, x.shape());
            (ShapeOp::ScatterElements { axis: ax, reduction }, vec![Some(x.clone()), Some(i), Some(x)])
        }
        12 => {
            let k = rng.below(x.rank() + 1);
            let m = rng.below(3);
            let i = index_like(rng, &[m, k]);
            let shape: Vec<usize> = [m].iter().chain(&x.shape()[k.min(x.rank())..]).copied().collect();
            let u = Tensor::zeros(x.dtype(), shape).unwrap();
            (ShapeOp::ScatterND { reduction }, vec![Some(x), Some(i), Some(u)])
        }
        13 => (ShapeOp::Expand, vec![Some(x), Some(ints(rng, 0, 3))]),
        14 => (ShapeOp::Tile, vec![Some(x), Some(ints(rng, 0, 3))]),
        15 => {
            let mode = [PadMode::Constant, PadMode::Reflect, PadMode::Edge, PadMode::Wrap][rng.below(4)];
            let axes = (rng.below(2) == 0).then(|| ints(rng, -4, 4));
            (ShapeOp::Pad { mode }, vec![Some(x), Some(ints(rng, -3, 4)), None, axes])
        }
        16 => {
            let end = (rng.below(2) == 0).then(|| rng.int(-5, 5));
            (ShapeOp::Shape { start: rng.int(-5, 5), end }, vec![Some(x)])
        }
        17 => (ShapeOp::ConstantOfShape { value: Tensor::scalar(1.5f32) }, vec![Some(ints(rng, -1, 3))]),
        18 => (
            ShapeOp::Range { stash: DType::F32 },
            vec![Some(scalar(rng, -5, 5)), Some(scalar(rng, -5, 5)), Some(scalar(rng, -2, 2))],
        ),
        19 => (ShapeOp::EyeLike { k: rng.int(-3, 3), dtype: None }, vec![Some(x)]),
        20 => {
            let values = Tensor::from_vec(vec![2], vec![0.0f32, 1.0]).unwrap();
            (ShapeOp::OneHot { axis: ax }, vec![Some(ints(rng, -4, 4)), Some(scalar(rng, -1, 4)), Some(values)])
        }
        21 => (ShapeOp::Trilu { upper: rng.below(2) == 0 }, vec![Some(x), Some(scalar(rng, -3, 3))]),
        22 => {
            let c: Vec<bool> = (0..rng.below(5)).map(|_| rng.below(2) == 0).collect();
            let c = Tensor::from_vec(vec![c.len()], c).unwrap();
            (ShapeOp::Compress { axis: (rng.below(2) == 0).then_some(ax) }, vec![Some(x), Some(c)])
        }
        23 => (ShapeOp::NonZero, vec![Some(x)]),
        24 => (ShapeOp::Unique { sorted: rng.below(2) == 0, axis: (rng.below(2) == 0).then_some(ax) }, vec![Some(x)]),
        25 => {
            let mode = if rng.below(2) == 0 { BlockMode::Dcr } else { BlockMode::Crd };
            (ShapeOp::DepthToSpace { blocksize: 1 + rng.below(2), mode }, vec![Some(x)])
        }
        26 => {
            let mode = if rng.below(2) == 0 { BlockMode::Dcr } else { BlockMode::Crd };
            (ShapeOp::SpaceToDepth { blocksize: 1 + rng.below(2), mode }, vec![Some(x)])
        }
        27 => (
            ShapeOp::ReverseSequence { batch_axis: rng.int(0, 1), time_axis: rng.int(0, 1) },
            vec![Some(x), Some(ints(rng, 0, 3))],
        ),
        28 => (ShapeOp::CenterCropPad { axes: None }, vec![Some(x), Some(ints(rng, 0, 4))]),
        _ => (ShapeOp::BitCast { to: [DType::I32, DType::F32, DType::U8, DType::I64][rng.below(4)] }, vec![Some(x)]),
    };
    let n = match op_inputs.0 {
        ShapeOp::Split { .. } => 1 + rng.below(3),
        ShapeOp::Unique { .. } => 4,
        _ => 1,
    };
    (op_inputs.0, op_inputs.1, n)
}

/// Checks that what inference claims about each output holds for `got`.
fn agrees(inferred: &[ValueType], got: &[Value]) -> Result<(), String> {
    for (ty, v) in inferred.iter().zip(got) {
        let (Some(tt), Some(t)) = (ty.as_tensor(), v.as_tensor()) else { continue };
        if tt.dtype.is_some_and(|d| d != t.dtype()) {
            return Err(format!("inferred {ty}, got {:?}", t));
        }
        if let Some(s) = &tt.shape {
            let ok = s.len() == t.rank() && s.iter().zip(t.shape()).all(|(d, &a)| d.known().is_none_or(|k| k == a));
            if !ok {
                return Err(format!("inferred {ty}, got shape {:?}", t.shape()));
            }
        }
    }
    Ok(())
}

#[test]
fn random_cases_never_panic_and_inference_agrees() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ran = std::collections::BTreeMap::new();
    for case_no in 0..20_000 {
        let (op, inputs, n) = case(&mut rng);
        let values: Vec<Option<Value>> = inputs.iter().map(|t| t.clone().map(Value::Tensor)).collect();
        let refs: Vec<Option<&Value>> = values.iter().map(Option::as_ref).collect();
        let empty = mote_ir::Graph::default();
        let cx = EvalCx { graph: &empty, env: &[] };
        let result = eval(&op, &Inputs::new(refs), &cx, n);
        let consts: Vec<Option<Fact>> = inputs.iter().map(|t| t.clone().map(Fact::of_value)).collect();
        let types: Vec<Option<Fact>> =
            inputs.iter().map(|t| t.as_ref().map(|t| Fact::of_type(Fact::of_value(t.clone()).ty))).collect();
        for facts in [&consts, &types] {
            let inferred = OpFamily::infer(&op, &InferCx::new(facts, n));
            match (&result, inferred) {
                (Ok(got), Ok(tys)) => {
                    if let Err(e) = agrees(&tys, got) {
                        panic!("case {case_no}: {op:?} on {inputs:?}: {e}");
                    }
                }
                (Ok(got), Err(e)) => {
                    panic!("case {case_no}: {op:?} on {inputs:?} ran ({got:?}) but inference failed: {e}")
                }
                (Err(_), _) => {}
            }
        }
        if result.is_ok() {
            *ran.entry(op.name()).or_insert(0) += 1;
        }
    }
    // The generator must exercise the success path of every op.
    let ok: Vec<(&str, usize)> = ran.into_iter().collect();
    assert_eq!(ok.len(), 30, "ops that never ran: {ok:?}");
    assert!(ok.iter().all(|&(_, n)| n >= 10), "too few successful runs: {ok:?}");
}
