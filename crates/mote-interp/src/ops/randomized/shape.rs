//! The shape family has its own randomized test (`ops/shape/tests.rs`); this one adds what it
//! leaves out: every dtype, extreme attribute values, rank above `MAX_RANK`.

use mote_ir::ops::shape::{BlockMode, PadMode, Reduction, ShapeOp};
use mote_ir::{DType, Op, Tensor};

use super::{Rng, run_cases, vals};

#[test]
fn shape_random_cases_with_extreme_attributes() {
    let names = ["Reshape", "Transpose", "Concat", "Slice", "Gather", "Pad", "Tile", "OneHot", "DepthToSpace"];
    run_cases(0x54a9_000e, 20000, 5, &names, |rng: &Rng| {
        let d = rng.dtype();
        let s = rng.shape(4);
        let x = rng.tensor(d, &s);
        let ax = rng.int(-4, 4);
        let ints = |rng: &Rng, lo: i64, hi: i64| {
            let n = rng.below(5);
            rng.ints(n, lo, hi)
        };
        let reduction = rng.pick(&[Reduction::None, Reduction::Add, Reduction::Mul, Reduction::Max, Reduction::Min]);
        let mode = rng.pick(&[BlockMode::Dcr, BlockMode::Crd]);
        let (op, inputs, n): (ShapeOp, Vec<Option<Tensor>>, usize) = match rng.below(24) {
            0 => (ShapeOp::Reshape { allowzero: rng.coin() }, vec![Some(x), Some(ints(rng, -2, 6))], 1),
            1 => (ShapeOp::Flatten { axis: ax }, vec![Some(x)], 1),
            2 => (ShapeOp::Unsqueeze, vec![Some(x), Some(ints(rng, -5, 5))], 1),
            3 => {
                let perm = rng.coin().then(|| (0..rng.below(6)).map(|_| rng.size(5)).collect());
                (ShapeOp::Transpose { perm }, vec![Some(x)], 1)
            }
            4 => {
                let other = if rng.coin() { x.clone() } else { rng.tensor(d, &rng.shape(4)) };
                (ShapeOp::Concat { axis: ax }, vec![Some(x), Some(other)], 1)
            }
            5 => (ShapeOp::Split { axis: ax }, vec![Some(x), rng.coin().then(|| ints(rng, -1, 4))], 1 + rng.below(3)),
            6 => {
                let ins = vec![
                    Some(x),
                    Some(ints(rng, -5, 5)),
                    Some(ints(rng, -5, 5)),
                    rng.coin().then(|| ints(rng, -4, 4)),
                    rng.coin().then(|| ints(rng, -3, 3)),
                ];
                (ShapeOp::Slice, ins, 1)
            }
            7 => (ShapeOp::Gather { axis: ax }, vec![Some(x), Some(ints(rng, -3, 3))], 1),
            8 => (ShapeOp::GatherElements { axis: ax }, vec![Some(x), Some(rng.indices(&s, 3))], 1),
            9 => (ShapeOp::GatherND { batch_dims: rng.size(2) }, vec![Some(x), Some(rng.indices(&rng.shape(3), 3))], 1),
            10 => {
                let i = rng.indices(&s, 3);
                (ShapeOp::ScatterElements { axis: ax, reduction }, vec![Some(x.clone()), Some(i), Some(x)], 1)
            }
            11 => (ShapeOp::Expand, vec![Some(x), Some(ints(rng, 0, 3))], 1),
            12 => (ShapeOp::Tile, vec![Some(x), Some(ints(rng, 0, 3))], 1),
            13 => {
                let mode = rng.pick(&[PadMode::Constant, PadMode::Reflect, PadMode::Edge, PadMode::Wrap]);
                let value = rng.coin().then(|| rng.tensor(d, &[]));
                let axes = rng.coin().then(|| ints(rng, -4, 4));
                (ShapeOp::Pad { mode }, vec![Some(x), Some(ints(rng, -3, 4)), value, axes], 1)
            }
            14 => {
                let end = rng.coin().then(|| rng.int(-5, 5));
                (ShapeOp::Shape { start: rng.int(-5, 5), end }, vec![Some(x)], 1)
            }
            15 => (ShapeOp::ConstantOfShape { value: rng.tensor(d, &[1]) }, vec![Some(ints(rng, -1, 3))], 1),
            16 => {
                let t = rng.pick(&[DType::F32, DType::I64, DType::I32, DType::F64, DType::I16]);
                let sc = |rng: &Rng| rng.tensor(t, &[]);
                (ShapeOp::Range { stash: t }, vec![Some(sc(rng)), Some(sc(rng)), Some(sc(rng))], 1)
            }
            17 => {
                let dtype = rng.coin().then(|| rng.dtype());
                (ShapeOp::EyeLike { k: rng.int(-3, 3), dtype }, vec![Some(x)], 1)
            }
            18 => {
                let depth = rng.tensor(rng.pick(&[DType::I64, DType::F32, DType::I32]), &[]);
                let values = rng.tensor(d, &[2]);
                (ShapeOp::OneHot { axis: ax }, vec![Some(ints(rng, -4, 4)), Some(depth), Some(values)], 1)
            }
            19 => (
                ShapeOp::Trilu { upper: rng.coin() },
                vec![Some(x), rng.coin().then(|| rng.tensor(DType::I64, &[]))],
                1,
            ),
            20 => {
                let bs = if rng.coin() { rng.size(3) } else { 1 + rng.below(2) };
                let op = if rng.coin() {
                    ShapeOp::DepthToSpace { blocksize: bs, mode }
                } else {
                    ShapeOp::SpaceToDepth { blocksize: bs, mode }
                };
                (op, vec![Some(x)], 1)
            }
            21 => (
                ShapeOp::ReverseSequence { batch_axis: rng.int(-1, 2), time_axis: rng.int(-1, 2) },
                vec![Some(x), Some(ints(rng, -1, 3))],
                1,
            ),
            22 => {
                let axes = rng.coin().then(|| (0..rng.below(3)).map(|_| rng.int(-4, 4)).collect());
                (ShapeOp::CenterCropPad { axes }, vec![Some(x), Some(ints(rng, -1, 4))], 1)
            }
            _ => {
                let op = ShapeOp::Unique { sorted: rng.coin(), axis: rng.coin().then_some(ax) };
                (op, vec![Some(x)], 4)
            }
        };
        (Op::Shape(op), vals(inputs), n)
    });
}
