use mote_ir::ops::nn::{
    AutoPad, ConvAttrs, ConvTransposeAttrs, DeformConvAttrs, Equation, GlobalPool, NnOp, PoolAttrs, PoolKind,
    SoftmaxAttrs, SoftmaxKind, Window,
};
use mote_ir::{DType, Op, Tensor};

use super::{Rng, run_cases, vals};

/// Per-axis window attribute values: mostly small, sometimes huge or of the wrong length.
fn per_axis(rng: &Rng, nd: usize, lo: usize, hi: usize) -> Vec<usize> {
    if rng.one_in(3) {
        return vec![];
    }
    let n = if rng.one_in(10) { rng.below(5) } else { nd };
    (0..n).map(|_| if rng.one_in(15) { rng.size(hi) } else { lo + rng.below(hi - lo + 1) }).collect()
}

fn window(rng: &Rng, nd: usize, kernel: Option<Vec<usize>>) -> Window {
    Window {
        kernel_shape: kernel,
        strides: per_axis(rng, nd, 1, 3),
        dilations: per_axis(rng, nd, 1, 2),
        pads: per_axis(rng, 2 * nd, 0, 2),
        auto_pad: rng.pick(&[AutoPad::NotSet, AutoPad::NotSet, AutoPad::SameUpper, AutoPad::SameLower, AutoPad::Valid]),
        ceil_mode: rng.coin(),
        same_undilated: rng.coin(),
    }
}

/// `[N, C, spatial...]` with `nd` spatial dims.
fn image(rng: &Rng, c: usize, nd: usize) -> Vec<usize> {
    let mut s = vec![rng.dim(), c];
    s.extend((0..nd).map(|_| if rng.one_in(12) { 0 } else { 1 + rng.below(5) }));
    s
}

fn equation(rng: &Rng, ranks: &[usize]) -> String {
    let letters = b"abcd";
    let mut terms = Vec::new();
    for &r in ranks {
        let mut t = String::new();
        if rng.one_in(4) {
            t.push_str("...");
        }
        for _ in 0..r {
            t.push(rng.pick(letters) as char);
        }
        terms.push(t);
    }
    let mut eq = terms.join(",");
    if rng.coin() {
        eq.push_str("->");
        if rng.one_in(3) {
            eq.push_str("...");
        }
        for _ in 0..rng.below(3) {
            eq.push(rng.pick(letters) as char);
        }
    }
    eq
}

#[test]
fn nn_random_cases() {
    let names = [
        "Conv",
        "ConvTranspose",
        "MaxPool",
        "AveragePool",
        "GlobalAveragePool",
        "BatchNormalization",
        "LayerNormalization",
        "GroupNormalization",
        "LRN",
        "Gemm",
        "MatMul",
        "Einsum",
        "Softmax",
        "Dropout",
        "Det",
        "Col2Im",
        "MaxUnpool",
        "InstanceNormalization",
        "RMSNormalization",
        "LpNormalization",
        "MeanVarianceNormalization",
    ];
    run_cases(0x2202_0003, 32000, 3, &names, |rng: &Rng| {
        let dt = if rng.one_in(8) { rng.dtype() } else { rng.float_dtype() };
        let nd = if rng.one_in(10) { rng.below(5) } else { 1 + rng.below(2) };
        let c = 1 + rng.below(4);
        let g = if rng.one_in(10) { rng.size(4) } else { 1 + rng.below(2) };
        let xs = image(rng, c, nd);
        let x = rng.tensor(dt, &xs);
        let k: Vec<usize> = (0..nd).map(|_| if rng.one_in(15) { 0 } else { 1 + rng.below(3) }).collect();
        let ks = (!rng.one_in(3)).then(|| k.clone());
        let m = c * (1 + rng.below(2));
        let t = |rng: &Rng, s: &[usize]| rng.tensor(dt, s);
        let (op, inputs, n): (NnOp, Vec<Option<Tensor>>, usize) = match rng.below(22) {
            0 | 1 => {
                let mut ws = vec![m, c / g.max(1)];
                ws.extend(&k);
                let b = rng.coin().then(|| t(rng, &[m]));
                (
                    NnOp::Conv(ConvAttrs { window: window(rng, nd, ks), group: g }),
                    vec![Some(x), Some(t(rng, &ws)), b],
                    1,
                )
            }
            2 => {
                let mut ws = vec![c, m / g.max(1)];
                ws.extend(&k);
                let a = ConvTransposeAttrs {
                    window: window(rng, nd, ks),
                    group: g,
                    output_padding: per_axis(rng, nd, 0, 2),
                    output_shape: rng.coin().then(|| per_axis(rng, nd, 0, 9)),
                };
                (NnOp::ConvTranspose(a), vec![Some(x), Some(t(rng, &ws)), None], 1)
            }
            3 => {
                let mut ws = vec![m, c / g.max(1)];
                ws.extend(&k);
                let og = if rng.one_in(5) { rng.size(3) } else { 1 };
                let kp: usize = k.iter().product();
                let mut os = vec![xs[0], og.min(4) * 2 * kp];
                os.extend(xs[2..].iter().map(|_| 1 + rng.below(4)));
                let mut ms = os.clone();
                ms[1] = og.min(4) * kp;
                let a = DeformConvAttrs { window: window(rng, nd, ks), group: g, offset_group: og };
                let mask = rng.coin().then(|| t(rng, &ms));
                (NnOp::DeformConv(a), vec![Some(x), Some(t(rng, &ws)), Some(t(rng, &os)), None, mask], 1)
            }
            4 => {
                let img = rng.ints(nd, -1, 6);
                let blk = rng.ints(nd, -1, 3);
                let cs = [rng.dim(), c * (1 + rng.below(4)), rng.below(10)];
                let cols = t(rng, &cs);
                (NnOp::Col2Im(window(rng, nd, None)), vec![Some(cols), Some(img), Some(blk)], 1)
            }
            5 | 6 => {
                let (flag, p) = (rng.coin(), rng.float());
                let kind = rng.pick(&[
                    PoolKind::Max { col_major: flag },
                    PoolKind::Average { count_include_pad: flag },
                    PoolKind::Lp { p },
                ]);
                let kernel = if rng.one_in(10) { None } else { Some(k.clone()) };
                (NnOp::Pool(PoolAttrs { kind, window: window(rng, nd, kernel) }), vec![Some(x)], 1 + rng.below(2))
            }
            7 => {
                let p = rng.float();
                let gp = rng.pick(&[GlobalPool::Average, GlobalPool::Max, GlobalPool::Lp { p }]);
                (NnOp::GlobalPool(gp), vec![Some(x)], 1)
            }
            8 => {
                let idx = rng.indices(&xs, 40);
                let os = rng.coin().then(|| rng.ints(xs.len(), -1, 9));
                (NnOp::MaxUnpool(window(rng, nd, Some(k.clone()))), vec![Some(x), Some(idx), os], 1)
            }
            9 => {
                let cc = if rng.one_in(6) { c + 1 } else { c };
                let p: Vec<Option<Tensor>> = (0..4).map(|_| Some(t(rng, &[cc]))).collect();
                let training = rng.one_in(3);
                let op = NnOp::BatchNorm { epsilon: rng.float(), momentum: rng.float(), training };
                let mut ins = vec![Some(x)];
                ins.extend(p);
                (op, ins, if training { 3 } else { 1 })
            }
            10 => {
                let p = vec![Some(t(rng, &[c])), Some(t(rng, &[c]))];
                (NnOp::InstanceNorm { epsilon: rng.float() }, [vec![Some(x)], p].concat(), 1)
            }
            11 => {
                let axis = rng.int(-4, 4);
                let tail: Vec<usize> = xs[(axis.rem_euclid(xs.len() as i64 + 1) as usize).min(xs.len())..].to_vec();
                let scale = t(rng, &tail);
                let b = rng.coin().then(|| t(rng, &tail));
                (NnOp::LayerNorm { axis, epsilon: rng.float() }, vec![Some(x), Some(scale), b], 1 + rng.below(3))
            }
            12 => {
                let ng = if rng.one_in(6) { rng.size(4) } else { 1 + rng.below(c) };
                let per_group = rng.coin();
                let len = if per_group { ng.min(8) } else { c };
                let p = vec![Some(t(rng, &[len])), Some(t(rng, &[len]))];
                let op = NnOp::GroupNorm { epsilon: rng.float(), num_groups: ng, per_group_affine: per_group };
                (op, [vec![Some(x)], p].concat(), 1)
            }
            13 => {
                let axis = rng.int(-4, 4);
                let tail: Vec<usize> = xs[(axis.rem_euclid(xs.len() as i64 + 1) as usize).min(xs.len())..].to_vec();
                (NnOp::RmsNorm { axis, epsilon: rng.float() }, vec![Some(x), Some(t(rng, &tail))], 1)
            }
            14 => {
                let op = match rng.below(3) {
                    0 => NnOp::Lrn { alpha: rng.float(), beta: rng.float(), bias: rng.float(), size: rng.size(4) },
                    1 => NnOp::LpNorm { axis: rng.int(-4, 4), p: rng.below(4) as u8 },
                    _ => NnOp::MeanVarianceNorm { axes: (0..rng.below(4)).map(|_| rng.int(-4, 4)).collect() },
                };
                (op, vec![Some(x)], 1)
            }
            15 => {
                let (mm, kk, nn) = (rng.dim(), rng.dim(), rng.dim());
                let (ta, tb) = (rng.coin(), rng.coin());
                let a = t(rng, &if ta { [kk, mm] } else { [mm, kk] });
                let b = t(rng, &if tb { [nn, kk] } else { [kk, nn] });
                let cs = rng.pick(&[vec![], vec![nn], vec![mm, nn], vec![mm, 1], vec![2]]);
                let cc = rng.coin().then(|| t(rng, &cs));
                let op = NnOp::Gemm { alpha: rng.float(), beta: rng.float(), trans_a: ta, trans_b: tb };
                (op, vec![Some(a), Some(b), cc], 1)
            }
            16 => {
                let a = rng.shape(4);
                let mut b = rng.shape(4);
                if let (Some(&ka), true) = (a.last(), b.len() >= 2 && rng.coin()) {
                    let l = b.len();
                    b[l - 2] = ka;
                }
                (NnOp::MatMul, vec![Some(t(rng, &a)), Some(t(rng, &b))], 1)
            }
            17 => {
                let k = 1 + rng.below(3);
                let shapes: Vec<Vec<usize>> = (0..k).map(|_| rng.shape(3)).collect();
                let ranks: Vec<usize> = shapes.iter().map(|s| s.len()).collect();
                let eq = equation(rng, &ranks);
                let Ok(eq) = Equation::parse(&eq) else {
                    return (Op::Nn(NnOp::MatMul), vec![], 1);
                };
                let ins = shapes.iter().map(|s| Some(t(rng, s))).collect();
                (NnOp::Einsum(eq), ins, 1)
            }
            18 => {
                let ratio = rng.coin().then(|| rng.floats(&[]));
                let training = rng.coin().then(|| rng.tensor(DType::Bool, &[]));
                let seed = rng.coin().then(|| rng.int(-3, 3));
                (NnOp::Dropout { seed }, vec![Some(x), ratio, training], 1 + rng.below(2))
            }
            19 | 20 => {
                let kind = rng.pick(&[SoftmaxKind::Softmax, SoftmaxKind::LogSoftmax, SoftmaxKind::Hardmax]);
                let s = rng.shape(4);
                let op = NnOp::Softmax(SoftmaxAttrs { kind, axis: rng.int(-4, 4), coerce_2d: rng.coin() });
                (op, vec![Some(t(rng, &s))], 1)
            }
            _ => {
                let mut s = rng.shape(2);
                let d = rng.dim();
                if rng.one_in(4) {
                    s.push(rng.dim());
                } else {
                    s.push(d);
                }
                s.push(d);
                (NnOp::Det, vec![Some(t(rng, &s))], 1)
            }
        };
        (Op::Nn(op), vals(inputs), n)
    });
}
