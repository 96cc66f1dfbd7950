//! Every backward rule against central finite differences: a one-node graph (or a small
//! network), the loss `sum(y * R)` for a fixed random `R`, the analytic gradient of every float
//! input against `(L(x + h) - L(x - h)) / 2h`, element by element.

use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary, Variadic};
use mote_ir::ops::nn::{AutoPad, ConvAttrs, GlobalPool, NnOp, PoolAttrs, PoolKind, SoftmaxAttrs, SoftmaxKind, Window};
use mote_ir::ops::reduce::{ReduceOp, Reduction};
use mote_ir::ops::rnn::{Activation, Direction, RnnAttrs, RnnOp};
use mote_ir::ops::shape::{PadMode, ShapeOp};
use mote_ir::{DType, Dim, Graph, Op, Tensor, TensorType, Value, ValueId, ValueType};
use mote_train::{Mode, backward, forward, loss};

/// An input of the node under test.
#[derive(Clone)]
enum In {
    /// A random f32 graph input of this shape (its gradient is checked).
    F(Vec<usize>),
    /// A random f32 input with values of at least `min` (for Log, Sqrt...).
    Pos(Vec<usize>, f32),
    /// A constant.
    C(Tensor),
    /// An omitted optional input.
    No,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32) / (1u64 << 24) as f32
    }
    /// Uniform magnitude in [0.1, 1) with a random sign: away from the kinks at 0.
    fn away(&mut self) -> f32 {
        let m = 0.1 + 0.9 * self.next();
        if self.next() < 0.5 { -m } else { m }
    }
}

fn ints(v: &[i64]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec()).expect("1-D")
}

fn window(k: &[usize], s: &[usize], pads: &[usize], d: &[usize]) -> Window {
    Window {
        kernel_shape: Some(k.to_vec()),
        strides: s.to_vec(),
        dilations: d.to_vec(),
        pads: pads.to_vec(),
        auto_pad: AutoPad::NotSet,
        ..Window::default()
    }
}

/// Builds the one-node graph; returns it, the ids of its checked inputs and their values.
fn build(op: Op, ins: Vec<In>, seed: u64) -> (Graph, Vec<ValueId>, Vec<Tensor>) {
    let mut g = Graph::new("case");
    let mut rng = Rng(seed);
    let (mut ids, mut vals, mut slots) = (Vec::new(), Vec::new(), Vec::new());
    for (i, inp) in ins.into_iter().enumerate() {
        let (shape, min) = match inp {
            In::F(s) => (s, None),
            In::Pos(s, m) => (s, Some(m)),
            In::C(t) => {
                slots.push(Some(g.add_const(format!("c{i}"), t)));
                continue;
            }
            In::No => {
                slots.push(None);
                continue;
            }
        };
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| match min {
                Some(m) => m + rng.next(),
                None => rng.away(),
            })
            .collect();
        let dims = shape.iter().map(|&d| Dim::Known(d)).collect();
        let id = g.add_value(format!("x{i}"), ValueType::Tensor(TensorType::new(DType::F32, dims)));
        g.inputs.push(id);
        ids.push(id);
        vals.push(Tensor::from_vec(shape, v).expect("input"));
        slots.push(Some(id));
    }
    let y = g.add_value("y", ValueType::Unknown);
    g.add_node("node", op, slots, vec![Some(y)]);
    g.outputs.push(y);
    (g, ids, vals)
}

/// `sum(y * r)` in f64.
fn objective(g: &Graph, vals: &[Tensor], r: &mut Vec<f32>, mode: Mode) -> f64 {
    let tape = forward(g, vals.iter().cloned().map(Value::Tensor).collect(), mode).expect("forward");
    let y = tape.tensor(g.outputs[0]).expect("output").to_f32_vec().expect("f32");
    if r.is_empty() {
        let mut rng = Rng(99);
        *r = (0..y.len()).map(|_| rng.next() * 2.0 - 1.0).collect();
    }
    y.iter().zip(r.iter()).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum()
}

/// Checks the gradient of every random input of a graph whose only output is `g.outputs[0]`.
fn check_graph(name: &str, g: &Graph, ids: &[ValueId], vals: &[Tensor], mode: Mode) {
    let mut r = Vec::new();
    objective(g, vals, &mut r, mode);
    let tape = forward(g, vals.iter().cloned().map(Value::Tensor).collect(), mode).expect("forward");
    let grads = backward(g, &tape, vec![(g.outputs[0], r.clone())]).unwrap_or_else(|e| panic!("{name}: {e}"));
    let h = 1e-3f32;
    for (k, id) in ids.iter().enumerate() {
        let analytic = grads[id.index()].clone().unwrap_or_else(|| vec![0.0; vals[k].len()]);
        for e in 0..vals[k].len() {
            let mut plus = vals.to_vec();
            let mut minus = vals.to_vec();
            plus[k].typed_mut::<f32>().expect("f32")[e] += h;
            minus[k].typed_mut::<f32>().expect("f32")[e] -= h;
            let num = (objective(g, &plus, &mut r, mode) - objective(g, &minus, &mut r, mode)) / (2.0 * f64::from(h));
            let a = f64::from(analytic[e]);
            assert!(
                (a - num).abs() <= 1e-3 + 1e-3 * num.abs(),
                "{name}: d/d input {k}[{e}]: analytic {a}, numeric {num}"
            );
        }
    }
}

fn check_mode(name: &str, op: impl Into<Op>, ins: Vec<In>, mode: Mode) {
    let (g, ids, vals) = build(op.into(), ins, name.len() as u64 * 7919);
    check_graph(name, &g, &ids, &vals, mode);
}

fn check(name: &str, op: impl Into<Op>, ins: Vec<In>) {
    check_mode(name, op, ins, Mode::Eval);
}

use In::{C, F, No, Pos};

#[test]
fn convolutions() {
    let conv = |k: &[usize], s: &[usize], p: &[usize], d: &[usize], group| {
        NnOp::Conv(ConvAttrs { window: window(k, s, p, d), group })
    };
    check(
        "conv 3x3 s2 pad",
        conv(&[3, 3], &[2, 2], &[1, 0, 1, 1], &[1, 1], 1),
        vec![F(vec![2, 3, 6, 5]), F(vec![4, 3, 3, 3]), F(vec![4])],
    );
    check(
        "conv grouped",
        conv(&[3, 2], &[1, 1], &[0, 1, 0, 0], &[1, 1], 2),
        vec![F(vec![1, 4, 5, 5]), F(vec![6, 2, 3, 2]), No],
    );
    check(
        "conv depthwise dilated",
        conv(&[3, 3], &[1, 2], &[2, 2, 2, 2], &[2, 1], 3),
        vec![F(vec![1, 3, 6, 6]), F(vec![3, 1, 3, 3]), F(vec![3])],
    );
    check("conv 1-D", conv(&[3], &[2], &[1, 1], &[1], 1), vec![F(vec![2, 2, 7]), F(vec![3, 2, 3]), F(vec![3])]);
}

#[test]
fn dense() {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a = if ta { vec![4, 3] } else { vec![3, 4] };
        let b = if tb { vec![5, 4] } else { vec![4, 5] };
        let op = NnOp::Gemm { alpha: 0.7, beta: 1.3, trans_a: ta, trans_b: tb };
        check(&format!("gemm {ta} {tb}"), op, vec![F(a), F(b), F(vec![5])]);
    }
    check("matmul", NnOp::MatMul, vec![F(vec![3, 4]), F(vec![4, 2])]);
    check("matmul batched", NnOp::MatMul, vec![F(vec![2, 3, 4]), F(vec![4, 2])]);
    check("matmul batch x batch", NnOp::MatMul, vec![F(vec![2, 3, 4]), F(vec![2, 4, 2])]);
}

#[test]
fn element_wise() {
    for u in [
        Unary::Relu,
        Unary::Sigmoid,
        Unary::Tanh,
        Unary::HardSwish,
        Unary::LeakyRelu { alpha: 0.1 },
        Unary::Elu { alpha: 0.8 },
        Unary::HardSigmoid { alpha: 0.3, beta: 0.5 },
        Unary::Softplus,
        Unary::Neg,
        Unary::Abs,
        Unary::Exp,
        Unary::Erf,
        Unary::Softsign,
    ] {
        check(&format!("{u:?}"), ElementwiseOp::Unary(u), vec![F(vec![2, 3, 4])]);
    }
    for u in [Unary::Log, Unary::Sqrt, Unary::Reciprocal] {
        check(&format!("{u:?}"), ElementwiseOp::Unary(u), vec![Pos(vec![3, 4], 0.5)]);
    }
    for b in [Binary::Add, Binary::Sub, Binary::Mul, Binary::PRelu] {
        check(&format!("{b:?}"), ElementwiseOp::Binary(b), vec![F(vec![2, 3, 4]), F(vec![3, 1])]);
    }
    check("Div", ElementwiseOp::Binary(Binary::Div), vec![F(vec![2, 3]), Pos(vec![2, 1], 0.5)]);
    check("Pow", ElementwiseOp::Binary(Binary::Pow), vec![Pos(vec![2, 3], 0.5), F(vec![3])]);
    let bound = |v: f32| C(Tensor::scalar(v));
    check("Clip", ElementwiseOp::Clip, vec![F(vec![4, 5]), bound(-0.55), bound(0.45)]);
    for v in [Variadic::Sum, Variadic::Mean, Variadic::Max, Variadic::Min] {
        check(&format!("{v:?}"), ElementwiseOp::Variadic(v), vec![F(vec![2, 3]), F(vec![3]), F(vec![2, 1])]);
    }
    let cond = Tensor::from_vec(vec![3], vec![true, false, true]).expect("cond");
    check("Where", ElementwiseOp::Where, vec![C(cond), F(vec![2, 3]), F(vec![2, 1])]);
}

#[test]
fn pooling() {
    let pool =
        |kind, k: &[usize], s: &[usize], p: &[usize]| NnOp::Pool(PoolAttrs { kind, window: window(k, s, p, &[]) });
    let max = PoolKind::Max { col_major: false };
    check("maxpool 2x2 s2", pool(max, &[2, 2], &[2, 2], &[]), vec![F(vec![2, 3, 6, 6])]);
    check("maxpool 3x3 s1 pad", pool(max, &[3, 3], &[1, 1], &[1, 1, 1, 1]), vec![F(vec![1, 2, 5, 4])]);
    for include in [false, true] {
        let kind = PoolKind::Average { count_include_pad: include };
        check(
            &format!("avgpool pad {include}"),
            pool(kind, &[3, 3], &[2, 2], &[1, 1, 1, 1]),
            vec![F(vec![2, 2, 5, 6])],
        );
    }
    check("global avg", NnOp::GlobalPool(GlobalPool::Average), vec![F(vec![2, 3, 4, 5])]);
    check("global max", NnOp::GlobalPool(GlobalPool::Max), vec![F(vec![2, 3, 4, 5])]);
}

#[test]
fn normalization_and_dropout() {
    let bn = NnOp::BatchNorm { epsilon: 1e-5, momentum: 0.9, training: false };
    let stats = || {
        vec![
            C(Tensor::from_vec(vec![3], vec![0.1f32, -0.2, 0.3]).expect("mean")),
            C(Tensor::from_vec(vec![3], vec![0.5f32, 1.5, 0.8]).expect("var")),
        ]
    };
    let ins = |s: Vec<In>| {
        let mut v = vec![F(vec![4, 3, 2, 2]), F(vec![3]), F(vec![3])];
        v.extend(s);
        v
    };
    check("batchnorm eval", bn.clone(), ins(stats()));
    check_mode("batchnorm train", bn, ins(stats()), Mode::Train { seed: 5 });
    let ratio = C(Tensor::scalar(0.3f32));
    check_mode("dropout train", NnOp::Dropout { seed: None }, vec![F(vec![4, 6]), ratio], Mode::Train { seed: 11 });
    check("dropout eval", NnOp::Dropout { seed: None }, vec![F(vec![4, 6])]);
}

#[test]
fn softmax_and_reductions() {
    for kind in [SoftmaxKind::Softmax, SoftmaxKind::LogSoftmax] {
        for axis in [-1, 1] {
            let op = NnOp::Softmax(SoftmaxAttrs { kind, axis, coerce_2d: false });
            check(&format!("{kind:?} {axis}"), op, vec![F(vec![2, 4, 3])]);
        }
    }
    for kind in [Reduction::Sum, Reduction::Mean, Reduction::Max, Reduction::Min] {
        for keepdims in [false, true] {
            let op = ReduceOp::Reduce { kind, keepdims, noop_with_empty_axes: false };
            check(&format!("{kind:?} {keepdims}"), op, vec![F(vec![2, 3, 4]), C(ints(&[0, -1]))]);
        }
    }
}

#[test]
fn views() {
    check("reshape", ShapeOp::Reshape { allowzero: false }, vec![F(vec![2, 3, 4]), C(ints(&[4, -1]))]);
    check("flatten", ShapeOp::Flatten { axis: 2 }, vec![F(vec![2, 3, 4])]);
    check("transpose", ShapeOp::Transpose { perm: Some(vec![2, 0, 1]) }, vec![F(vec![2, 3, 4])]);
    check("transpose default", ShapeOp::Transpose { perm: None }, vec![F(vec![2, 3, 4])]);
    check("concat", ShapeOp::Concat { axis: 1 }, vec![F(vec![2, 3, 2]), F(vec![2, 1, 2]), F(vec![2, 2, 2])]);
    check(
        "pad",
        ShapeOp::Pad { mode: PadMode::Constant },
        vec![F(vec![2, 3, 3]), C(ints(&[0, 1, 2, 1, 0, 1])), C(Tensor::scalar(0.5f32))],
    );
    check("squeeze", ShapeOp::Squeeze, vec![F(vec![2, 1, 3]), C(ints(&[1]))]);
    check("unsqueeze", ShapeOp::Unsqueeze, vec![F(vec![2, 3]), C(ints(&[0]))]);
}

/// A small CNN, gradients with respect to its parameters (found by `params`) and its input.
/// Each output of a recurrent node in turn (`Y`, `Y_h`, `Y_c`) as the checked output.
fn check_rnn(name: &str, op: RnnOp, ins: Vec<In>) {
    let n = op.max_outputs();
    for k in 0..n {
        let (mut g, ids, vals) = build(Op::Rnn(op.clone()), ins.clone(), name.len() as u64 * 7919);
        let mut outs = vec![g.nodes[0].outputs[0]];
        outs.extend((1..n).map(|i| Some(g.add_value(format!("y{i}"), ValueType::Unknown))));
        g.nodes[0].outputs = outs.clone();
        g.outputs = vec![outs[k].expect("output")];
        check_graph(&format!("{name}, output {k}"), &g, &ids, &vals, Mode::Eval);
    }
}

#[test]
fn recurrent() {
    use Activation::{HardSigmoid, Relu, ScaledTanh, Sigmoid, Softplus, Tanh};
    let attrs = |dir: Direction, batch_first: bool, acts: &[Activation], clip: Option<f32>| {
        let dirs = dir.num_directions();
        RnnAttrs { hidden_size: 2, direction: dir, batch_first, activations: acts.repeat(dirs), clip }
    };
    let (seq, batch, input, h) = (3, 2, 3, 2);
    let x = |bf: bool| F(if bf { vec![batch, seq, input] } else { vec![seq, batch, input] });
    let state = |d: usize, bf: bool| F(if bf { vec![batch, d, h] } else { vec![d, batch, h] });
    let lstm = [Sigmoid, Tanh, Tanh];
    for (name, dir, bf, coupled) in [
        ("forward", Direction::Forward, false, false),
        ("coupled", Direction::Forward, false, true),
        ("batch-first", Direction::Forward, true, false),
        ("bidirectional", Direction::Bidirectional, false, false),
        ("bidirectional batch-first", Direction::Bidirectional, true, false),
        ("bidirectional batch-first coupled", Direction::Bidirectional, true, true),
    ] {
        let d = dir.num_directions();
        let op = RnnOp::Lstm { attrs: attrs(dir, bf, &lstm, None), input_forget: coupled };
        let ins = vec![
            x(bf),
            F(vec![d, 4 * h, input]),
            F(vec![d, 4 * h, h]),
            F(vec![d, 8 * h]),
            No,
            state(d, bf),
            state(d, bf),
            F(vec![d, 3 * h]),
        ];
        check_rnn(&format!("lstm {name}"), op, ins);
    }
    let odd = [HardSigmoid { alpha: 0.2, beta: 0.5 }, ScaledTanh { alpha: 1.5, beta: 0.7 }, Softplus];
    let op = RnnOp::Lstm { attrs: attrs(Direction::Reverse, false, &odd, None), input_forget: false };
    check_rnn("lstm reverse, other activations", op, vec![x(false), F(vec![1, 4 * h, input]), F(vec![1, 4 * h, h])]);
    for lbr in [false, true] {
        let op =
            RnnOp::Gru { attrs: attrs(Direction::Forward, false, &[Sigmoid, Tanh], None), linear_before_reset: lbr };
        let ins =
            vec![x(false), F(vec![1, 3 * h, input]), F(vec![1, 3 * h, h]), F(vec![1, 6 * h]), No, state(1, false)];
        check_rnn(&format!("gru linear_before_reset={lbr}"), op, ins);
    }
    // Sequence lengths: batch entry 1 stops after 2 steps (in both directions).
    let op =
        RnnOp::Gru { attrs: attrs(Direction::Bidirectional, true, &[Sigmoid, Tanh], None), linear_before_reset: true };
    let ins = vec![
        x(true),
        F(vec![2, 3 * h, input]),
        F(vec![2, 3 * h, h]),
        F(vec![2, 6 * h]),
        C(ints(&[3, 2])),
        state(2, true),
    ];
    check_rnn("gru bidirectional, batch-first, sequence lengths", op, ins);
    let op = RnnOp::Rnn { attrs: attrs(Direction::Forward, false, &[Tanh], None) };
    check_rnn(
        "rnn tanh",
        op,
        vec![x(false), F(vec![1, h, input]), F(vec![1, h, h]), F(vec![1, 2 * h]), No, state(1, false)],
    );
    let op = RnnOp::Rnn { attrs: attrs(Direction::Reverse, false, &[Relu], Some(0.6)) };
    check_rnn(
        "rnn relu reverse clipped",
        op,
        vec![x(false), F(vec![1, h, input]), F(vec![1, h, h]), F(vec![1, 2 * h])],
    );
}

#[test]
fn small_cnn_end_to_end() {
    let mut g = Graph::new("cnn");
    let mut rng = Rng(3);
    let mut rand = |shape: Vec<usize>| {
        let n: usize = shape.iter().product();
        Tensor::from_vec(shape, (0..n).map(|_| rng.away() * 0.5).collect::<Vec<f32>>()).expect("tensor")
    };
    let x = g.add_value(
        "x",
        ValueType::Tensor(TensorType::new(
            DType::F32,
            vec![Dim::Known(2), Dim::Known(1), Dim::Known(6), Dim::Known(6)],
        )),
    );
    g.inputs.push(x);
    let w = g.add_const("w", rand(vec![4, 1, 3, 3]));
    let b = g.add_const("b", rand(vec![4]));
    let scale = g.add_const("bn_scale", rand(vec![4]));
    let shift = g.add_const("bn_bias", rand(vec![4]));
    let mean = g.add_const("bn_mean", Tensor::from_vec(vec![4], vec![0.0f32; 4]).expect("mean"));
    let var = g.add_const("bn_var", Tensor::from_vec(vec![4], vec![1.0f32; 4]).expect("var"));
    let fc = g.add_const("fc_w", rand(vec![3, 36]));
    let fcb = g.add_const("fc_b", rand(vec![3]));
    let node = |g: &mut Graph, name: &str, op: Op, ins: Vec<ValueId>| {
        let y = g.add_value(name, ValueType::Unknown);
        g.add_node(name, op, ins.into_iter().map(Some).collect(), vec![Some(y)]);
        y
    };
    let c = node(
        &mut g,
        "conv",
        NnOp::Conv(ConvAttrs { window: window(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), group: 1 }).into(),
        vec![x, w, b],
    );
    let n = node(
        &mut g,
        "bn",
        NnOp::BatchNorm { epsilon: 1e-5, momentum: 0.9, training: false }.into(),
        vec![c, scale, shift, mean, var],
    );
    let r = node(&mut g, "relu", ElementwiseOp::Unary(Unary::Relu).into(), vec![n]);
    let p = node(
        &mut g,
        "pool",
        NnOp::Pool(PoolAttrs { kind: PoolKind::Max { col_major: false }, window: window(&[2, 2], &[2, 2], &[], &[]) })
            .into(),
        vec![r],
    );
    let f = node(&mut g, "flatten", ShapeOp::Flatten { axis: 1 }.into(), vec![p]);
    let y = node(
        &mut g,
        "fc",
        NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true }.into(),
        vec![f, fc, fcb],
    );
    g.outputs.push(y);
    let params = mote_train::params(&g);
    let names: Vec<&str> = params.iter().map(|&p| g.value(p).name.as_str()).collect();
    assert_eq!(names, ["w", "b", "bn_scale", "bn_bias", "fc_w", "fc_b"]);
    // Check the parameters as if they were inputs: move them into the graph's inputs.
    let mut gi = g.clone();
    let mut vals = vec![rand(vec![2, 1, 6, 6])];
    for &p in &params {
        vals.push(gi.values[p.index()].init.take().expect("constant"));
        gi.inputs.push(p);
    }
    let ids: Vec<ValueId> = gi.inputs.clone();
    check_graph("cnn train", &gi, &ids, &vals, Mode::Train { seed: 1 });
    check_graph("cnn eval", &gi, &ids, &vals, Mode::Eval);
}

#[test]
fn losses_match_finite_differences() {
    let mut rng = Rng(17);
    let logits: Vec<f32> = (0..12).map(|_| rng.away() * 3.0).collect();
    let teacher: Vec<f32> = (0..12).map(|_| rng.away() * 3.0).collect();
    let labels = [2usize, 0, 3];
    type Loss<'a> = Box<dyn Fn(&[f32]) -> (f32, Vec<f32>) + 'a>;
    let cases: Vec<(&str, Loss<'_>)> = vec![
        ("cross-entropy", Box::new(|z: &[f32]| loss::cross_entropy(z, 4, &labels, 0.0).expect("ce"))),
        ("cross-entropy smoothed", Box::new(|z: &[f32]| loss::cross_entropy(z, 4, &labels, 0.1).expect("ce"))),
        ("mse", Box::new(|z: &[f32]| loss::mse(z, &teacher).expect("mse"))),
        ("distillation T=4", Box::new(|z: &[f32]| loss::distillation(z, &teacher, 4, 4.0).expect("kd"))),
    ];
    for (name, f) in cases {
        let (_, grad) = f(&logits);
        for e in 0..logits.len() {
            let h = 1e-2f32;
            let (mut p, mut m) = (logits.clone(), logits.clone());
            p[e] += h;
            m[e] -= h;
            let num = (f64::from(f(&p).0) - f64::from(f(&m).0)) / (2.0 * f64::from(h));
            assert!((f64::from(grad[e]) - num).abs() < 2e-3, "{name}[{e}]: analytic {}, numeric {num}", grad[e]);
        }
    }
    // The distillation loss is zero when the student is the teacher, and accuracy counts rows.
    assert!(loss::distillation(&teacher, &teacher, 4, 2.0).expect("kd").0.abs() < 1e-6);
    assert_eq!(loss::accuracy(&[0.0, 1.0, 5.0, 0.0], 2, &[1, 1]), 0.5);
}

#[test]
fn errors_name_the_node() {
    let (g, _, vals) = build(ElementwiseOp::Unary(Unary::Round).into(), vec![F(vec![3])], 1);
    let tape = forward(&g, vals.into_iter().map(Value::Tensor).collect(), Mode::Eval).expect("forward");
    let e = backward(&g, &tape, vec![(g.outputs[0], vec![1.0; 3])]).expect_err("Round has no gradient");
    assert!(e.to_string().contains("node `node` (Round)"), "{e}");
    let e = forward(&g, vec![], Mode::Eval).expect_err("missing input");
    assert!(e.to_string().contains("takes 1 input"), "{e}");
    let tape = forward(&g, vec![Value::Tensor(Tensor::from_vec(vec![3], vec![0.5f32; 3]).expect("x"))], Mode::Eval)
        .expect("forward");
    let e = backward(&g, &tape, vec![(g.outputs[0], vec![1.0; 2])]).expect_err("wrong gradient length");
    assert!(e.to_string().contains("has 2 values"), "{e}");
}
