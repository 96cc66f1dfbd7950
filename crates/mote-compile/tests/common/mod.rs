//! Small models built in code (so these tests run without the shared data): Conv + Relu,
//! MaxPool, Transpose, Reshape, Gemm + bias, Add, Softmax; the indexing and dtype ops
//! (GatherElements, ScatterElements, GatherND, ScatterND with run-time indices, Cast through
//! float8, Trilu, BitwiseXor, CumSum, TopK); and a wider CNN whose steps are large enough to
//! split into several tasks (the multi-threaded runtime).

use mote_ir::ops::elementwise::RoundMode;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::nn::{ConvAttrs, GlobalPool, NnOp, PoolAttrs, PoolKind, SoftmaxAttrs, SoftmaxKind, Window};
use mote_ir::ops::reduce::ReduceOp;
use mote_ir::ops::shape::{Reduction, ShapeOp};
use mote_ir::{DType, Graph, Op, Tensor, TensorType, ValueType};

fn seq(n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|i| ((i * 7919 % 97) as f32 / 97.0 - 0.5) * scale).collect()
}

#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn small_graph() -> Graph {
    let mut g = Graph::new("small");
    let t = |d: &[usize]| ValueType::Tensor(TensorType::concrete(DType::F32, d));
    let x = g.add_value("x", t(&[1, 3, 8, 8]));
    g.inputs.push(x);
    let w = g.add_const("w", Tensor::from_vec(vec![4, 3, 3, 3], seq(108, 0.5)).unwrap());
    let b = g.add_const("b", Tensor::from_vec(vec![4], seq(4, 0.1)).unwrap());
    let c = g.add_value("c", ValueType::Unknown);
    let window = Window { pads: vec![1, 1, 1, 1], ..Window::default() };
    g.add_node(
        "conv",
        Op::Nn(NnOp::Conv(ConvAttrs { window, group: 1 })),
        vec![Some(x), Some(w), Some(b)],
        vec![Some(c)],
    );
    let r = g.add_value("r", ValueType::Unknown);
    g.add_node("relu", Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)), vec![Some(c)], vec![Some(r)]);
    let p = g.add_value("p", ValueType::Unknown);
    let pw = Window { kernel_shape: Some(vec![2, 2]), strides: vec![2, 2], ..Window::default() };
    g.add_node(
        "pool",
        Op::Nn(NnOp::Pool(PoolAttrs { kind: PoolKind::Max { col_major: false }, window: pw })),
        vec![Some(r)],
        vec![Some(p)],
    );
    let tr = g.add_value("tr", ValueType::Unknown);
    g.add_node(
        "transpose",
        Op::Shape(ShapeOp::Transpose { perm: Some(vec![0, 2, 3, 1]) }),
        vec![Some(p)],
        vec![Some(tr)],
    );
    let shape = g.add_const("shape", Tensor::from_vec(vec![2], vec![1i64, 64]).unwrap());
    let f = g.add_value("f", ValueType::Unknown);
    g.add_node("reshape", Op::Shape(ShapeOp::Reshape { allowzero: false }), vec![Some(tr), Some(shape)], vec![Some(f)]);
    let fw = g.add_const("fw", Tensor::from_vec(vec![64, 10], seq(640, 0.3)).unwrap());
    let fb = g.add_const("fb", Tensor::from_vec(vec![10], seq(10, 0.2)).unwrap());
    let y = g.add_value("y", ValueType::Unknown);
    let gemm = NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: false };
    g.add_node("fc", Op::Nn(gemm), vec![Some(f), Some(fw), Some(fb)], vec![Some(y)]);
    let y2 = g.add_value("y2", ValueType::Unknown);
    g.add_node("add", Op::Elementwise(ElementwiseOp::Binary(Binary::Add)), vec![Some(y), Some(fb)], vec![Some(y2)]);
    let out = g.add_value("probs", ValueType::Unknown);
    let sm = SoftmaxAttrs { kind: SoftmaxKind::Softmax, axis: -1, coerce_2d: false };
    g.add_node("softmax", Op::Nn(NnOp::Softmax(sm)), vec![Some(y2)], vec![Some(out)]);
    g.outputs.push(out);
    g
}

/// x f32 [3, 4] and idx i64 [3, 2] (run-time indices along axis 1) -> (trilu, gathered, bits,
/// TopK values and indices of an exclusive reverse CumSum).
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn indexing_graph() -> Graph {
    let mut g = Graph::new("indexing");
    let x = g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::F32, &[3, 4])));
    let idx = g.add_value("idx", ValueType::Tensor(TensorType::concrete(DType::I64, &[3, 2])));
    g.inputs.extend([x, idx]);
    let v = |g: &mut Graph, name: &str| g.add_value(name, ValueType::Unknown);
    let ge = v(&mut g, "ge");
    g.add_node("ge", Op::Shape(ShapeOp::GatherElements { axis: 1 }), vec![Some(x), Some(idx)], vec![Some(ge)]);
    let se = v(&mut g, "se");
    let scatter = ShapeOp::ScatterElements { axis: -1, reduction: Reduction::Add };
    g.add_node("se", Op::Shape(scatter), vec![Some(x), Some(idx), Some(ge)], vec![Some(se)]);
    let (c8, c32) = (v(&mut g, "c8"), v(&mut g, "c32"));
    let cast = |to| Op::Elementwise(ElementwiseOp::Cast { to, saturate: false, round_mode: RoundMode::Up });
    g.add_node("to_f8", cast(DType::F8E4M3Fn), vec![Some(se)], vec![Some(c8)]);
    g.add_node("to_f32", cast(DType::F32), vec![Some(c8)], vec![Some(c32)]);
    let tri = v(&mut g, "tri");
    g.add_node("trilu", Op::Shape(ShapeOp::Trilu { upper: true }), vec![Some(c32)], vec![Some(tri)]);
    let rows = g.add_const("rows", Tensor::from_vec(vec![2, 1], vec![2i64, -3]).unwrap());
    let gnd = v(&mut g, "gnd");
    g.add_node("gnd", Op::Shape(ShapeOp::GatherND { batch_dims: 0 }), vec![Some(x), Some(rows)], vec![Some(gnd)]);
    let upd = g.add_const("upd", Tensor::from_vec(vec![2, 2], vec![7i64, 8, 9, 10]).unwrap());
    let snd = v(&mut g, "snd");
    let nd = ShapeOp::ScatterND { reduction: Reduction::Mul };
    g.add_node("snd", Op::Shape(nd), vec![Some(idx), Some(rows), Some(upd)], vec![Some(snd)]);
    let ones = g.add_const("ones", Tensor::from_vec(vec![2], vec![-1i64, 5]).unwrap());
    let bits = v(&mut g, "bits");
    let xor = Op::Elementwise(ElementwiseOp::Binary(Binary::BitwiseXor));
    g.add_node("xor", xor, vec![Some(snd), Some(ones)], vec![Some(bits)]);
    let axis = g.add_const("axis", Tensor::from_vec(vec![], vec![1i64]).unwrap());
    let cs = v(&mut g, "cs");
    let cum = ReduceOp::Cumulative { prod: false, exclusive: true, reverse: true };
    g.add_node("cumsum", Op::Reduce(cum), vec![Some(x), Some(axis)], vec![Some(cs)]);
    let k = g.add_const("k", Tensor::from_vec(vec![1], vec![2i64]).unwrap());
    let (tv, ti) = (v(&mut g, "top_values"), v(&mut g, "top_indices"));
    let topk = ReduceOp::TopK { axis: -1, largest: false, sorted: true };
    g.add_node("topk", Op::Reduce(topk), vec![Some(cs), Some(k)], vec![Some(tv), Some(ti)]);
    g.outputs.extend([tri, gnd, bits, tv, ti]);
    g
}

/// A CNN over `x [1, 3, 20, 20]` with every op the runtime splits into tasks: a 3x3 Conv +
/// Relu (16 channels), a depthwise 3x3 Conv, a per-channel Mul and a residual Add, a pointwise
/// Conv (24 channels), MaxPool, a 3x3 stride-2 Conv (32 channels, im2col), GlobalAveragePool,
/// Reshape and a Gemm (40 outputs).
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn wide_graph() -> Graph {
    let mut g = Graph::new("wide");
    let t = |d: &[usize]| ValueType::Tensor(TensorType::concrete(DType::F32, d));
    let x = g.add_value("x", t(&[1, 3, 20, 20]));
    g.inputs.push(x);
    let mut n = 0;
    let mut conv = |g: &mut Graph, x, c: usize, m: usize, k: usize, stride: usize, group: usize| {
        n += 1;
        let w = g.add_const(
            format!("w{n}"),
            Tensor::from_vec(vec![m, c / group, k, k], seq(m * c / group * k * k, 0.4)).unwrap(),
        );
        let b = g.add_const(format!("b{n}"), Tensor::from_vec(vec![m], seq(m, 0.1)).unwrap());
        let y = g.add_value(format!("conv{n}"), ValueType::Unknown);
        let p = (k - 1) / 2;
        let window = Window { pads: vec![p, p, p, p], strides: vec![stride, stride], ..Window::default() };
        g.add_node(
            format!("conv{n}"),
            Op::Nn(NnOp::Conv(ConvAttrs { window, group })),
            vec![Some(x), Some(w), Some(b)],
            vec![Some(y)],
        );
        y
    };
    let c1 = conv(&mut g, x, 3, 16, 3, 1, 1);
    let r1 = g.add_value("r1", ValueType::Unknown);
    g.add_node("relu1", Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)), vec![Some(c1)], vec![Some(r1)]);
    let d1 = conv(&mut g, r1, 16, 16, 3, 1, 16);
    let scale = g.add_const("scale", Tensor::from_vec(vec![16, 1, 1], seq(16, 2.0)).unwrap());
    let m1 = g.add_value("m1", ValueType::Unknown);
    g.add_node("mul", Op::Elementwise(ElementwiseOp::Binary(Binary::Mul)), vec![Some(d1), Some(scale)], vec![Some(m1)]);
    let a1 = g.add_value("a1", ValueType::Unknown);
    g.add_node(
        "residual",
        Op::Elementwise(ElementwiseOp::Binary(Binary::Add)),
        vec![Some(m1), Some(r1)],
        vec![Some(a1)],
    );
    let p1 = conv(&mut g, a1, 16, 24, 1, 1, 1);
    let mp = g.add_value("mp", ValueType::Unknown);
    let pw = Window { kernel_shape: Some(vec![2, 2]), strides: vec![2, 2], ..Window::default() };
    g.add_node(
        "pool",
        Op::Nn(NnOp::Pool(PoolAttrs { kind: PoolKind::Max { col_major: false }, window: pw })),
        vec![Some(p1)],
        vec![Some(mp)],
    );
    let c2 = conv(&mut g, mp, 24, 32, 3, 2, 1);
    let gp = g.add_value("gp", ValueType::Unknown);
    g.add_node("gap", Op::Nn(NnOp::GlobalPool(GlobalPool::Average)), vec![Some(c2)], vec![Some(gp)]);
    let shape = g.add_const("shape", Tensor::from_vec(vec![2], vec![1i64, 32]).unwrap());
    let f = g.add_value("f", ValueType::Unknown);
    g.add_node("reshape", Op::Shape(ShapeOp::Reshape { allowzero: false }), vec![Some(gp), Some(shape)], vec![Some(f)]);
    let fw = g.add_const("fw", Tensor::from_vec(vec![32, 40], seq(1280, 0.3)).unwrap());
    let fb = g.add_const("fb", Tensor::from_vec(vec![40], seq(40, 0.2)).unwrap());
    let y = g.add_value("y", ValueType::Unknown);
    let gemm = NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: false };
    g.add_node("fc", Op::Nn(gemm), vec![Some(f), Some(fw), Some(fb)], vec![Some(y)]);
    g.outputs.push(y);
    g.outputs.push(p1);
    g
}

/// Seeded input values in [-1, 1).
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn input(shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), seq(n, 2.0)).unwrap()
}

/// A stem and an inverted-residual block (the channel-blocked layout's case): a dense 3x3
/// stride-2 stem 3 -> 16 + ReLU (`h`), then pointwise 16 -> 24 + HardSwish and a scalar affine,
/// depthwise 3x3 stride 1 + ReLU, pointwise 24 -> 16, added to `h`, then a depthwise 5x5
/// stride 2 whose output is the graph output. Input `x [1, 3, 17, 21]`.
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn blocked_graph() -> Graph {
    let mut g = Graph::new("blocked");
    let t = |d: &[usize]| ValueType::Tensor(TensorType::concrete(DType::F32, d));
    let x = g.add_value("x", t(&[1, 3, 17, 21]));
    g.inputs.push(x);
    let conv = |g: &mut Graph, name: &str, input, w: Vec<usize>, group, k: usize, stride: usize, relu: bool| {
        let n = w.iter().product();
        let wv = g.add_const(format!("{name}.w"), Tensor::from_vec(w.clone(), seq(n, 0.4)).unwrap());
        let bv = g.add_const(format!("{name}.b"), Tensor::from_vec(vec![w[0]], seq(w[0], 0.1)).unwrap());
        let y = g.add_value(name, ValueType::Unknown);
        let p = k / 2;
        let window = Window { pads: vec![p, p, p, p], strides: vec![stride, stride], ..Window::default() };
        let op = Op::Nn(NnOp::Conv(ConvAttrs { window, group }));
        g.add_node(name, op, vec![Some(input), Some(wv), Some(bv)], vec![Some(y)]);
        if !relu {
            return y;
        }
        let r = g.add_value(format!("{name}.relu"), ValueType::Unknown);
        g.add_node(
            format!("{name}.relu"),
            Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)),
            vec![Some(y)],
            vec![Some(r)],
        );
        r
    };
    let h = conv(&mut g, "stem", x, vec![16, 3, 3, 3], 1, 3, 2, true);
    let e = conv(&mut g, "expand", h, vec![24, 16, 1, 1], 1, 1, 1, false);
    // HardSwish then a scalar affine (scale first, as PaddlePaddle exports it): fused into the
    // convolution's epilogue.
    let hs = g.add_value("expand.hs", ValueType::Unknown);
    g.add_node("expand.hs", Op::Elementwise(ElementwiseOp::Unary(Unary::HardSwish)), vec![Some(e)], vec![Some(hs)]);
    let scale = g.add_const("lab.scale", Tensor::from_vec(vec![1], vec![0.75f32]).unwrap());
    let shift = g.add_const("lab.shift", Tensor::from_vec(vec![1], vec![-0.125f32]).unwrap());
    let (m, e) = (g.add_value("lab.mul", ValueType::Unknown), g.add_value("lab.add", ValueType::Unknown));
    g.add_node(
        "lab.mul",
        Op::Elementwise(ElementwiseOp::Binary(Binary::Mul)),
        vec![Some(scale), Some(hs)],
        vec![Some(m)],
    );
    g.add_node(
        "lab.add",
        Op::Elementwise(ElementwiseOp::Binary(Binary::Add)),
        vec![Some(m), Some(shift)],
        vec![Some(e)],
    );
    let d = conv(&mut g, "dw", e, vec![24, 1, 3, 3], 24, 3, 1, true);
    let p = conv(&mut g, "project", d, vec![16, 24, 1, 1], 1, 1, 1, false);
    let s = g.add_value("sum", ValueType::Unknown);
    g.add_node("add", Op::Elementwise(ElementwiseOp::Binary(Binary::Add)), vec![Some(p), Some(h)], vec![Some(s)]);
    let y = conv(&mut g, "down", s, vec![16, 1, 5, 5], 16, 5, 2, false);
    g.outputs.push(y);
    g
}

/// A model of the normalization, attention, recurrent and loss ops: LayerNormalization ->
/// GroupNormalization -> LRN -> RMSNormalization -> SoftmaxCrossEntropyLoss (run-time labels),
/// Attention (grouped heads, causal, bool mask) on RotaryEmbedding'd queries, and a
/// bidirectional GRU with run-time sequence lengths, MaxPool with its Indices output.
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn nn_graph() -> Graph {
    use mote_ir::ops::attention::{AttentionAttrs, AttentionOp};
    use mote_ir::ops::loss::{LossOp, LossReduction};
    use mote_ir::ops::rnn::{Activation, Direction, RnnAttrs, RnnOp};
    let mut g = Graph::new("nn");
    let t = |dt: DType, d: &[usize]| ValueType::Tensor(TensorType::concrete(dt, d));
    let unknown = |g: &mut Graph, name: &str| g.add_value(name, ValueType::Unknown);
    let x = g.add_value("x", t(DType::F32, &[2, 4, 6]));
    let labels = g.add_value("labels", t(DType::I64, &[2, 6]));
    let q = g.add_value("q", t(DType::F32, &[1, 2, 3, 4]));
    let k = g.add_value("k", t(DType::F32, &[1, 1, 5, 4]));
    let v = g.add_value("v", t(DType::F32, &[1, 1, 5, 4]));
    let steps = g.add_value("seq", t(DType::F32, &[3, 2, 4]));
    let lens = g.add_value("lens", t(DType::I64, &[2]));
    g.inputs.extend([x, labels, q, k, v, steps, lens]);
    let c = |g: &mut Graph, name: &str, d: &[usize], scale: f32| {
        let n = d.iter().product();
        g.add_const(name, Tensor::from_vec(d.to_vec(), seq(n, scale)).unwrap())
    };

    let (s6, b6) = (c(&mut g, "ln_scale", &[6], 1.5), c(&mut g, "ln_bias", &[6], 0.5));
    let ln = unknown(&mut g, "ln");
    let ln_op = NnOp::LayerNorm { axis: -1, epsilon: 1e-5 };
    g.add_node("layer_norm", Op::Nn(ln_op), vec![Some(x), Some(s6), Some(b6)], vec![Some(ln)]);
    let (s4, b4) = (c(&mut g, "gn_scale", &[4], 1.0), c(&mut g, "gn_bias", &[4], 0.3));
    let gn = unknown(&mut g, "gn");
    let gn_op = NnOp::GroupNorm { epsilon: 1e-5, num_groups: 2, per_group_affine: false };
    g.add_node("group_norm", Op::Nn(gn_op), vec![Some(ln), Some(s4), Some(b4)], vec![Some(gn)]);
    let lrn = unknown(&mut g, "lrn");
    let lrn_op = NnOp::Lrn { alpha: 1e-3, beta: 0.75, bias: 1.0, size: 3 };
    g.add_node("lrn", Op::Nn(lrn_op), vec![Some(gn)], vec![Some(lrn)]);
    let s46 = c(&mut g, "rms_scale", &[4, 6], 2.0);
    let rms = unknown(&mut g, "rms");
    g.add_node(
        "rms_norm",
        Op::Nn(NnOp::RmsNorm { axis: 1, epsilon: 1e-5 }),
        vec![Some(lrn), Some(s46)],
        vec![Some(rms)],
    );
    let (loss, log_prob) = (unknown(&mut g, "loss"), unknown(&mut g, "log_prob"));
    let sce = LossOp::SoftmaxCrossEntropy { reduction: LossReduction::Mean, ignore_index: Some(1) };
    g.add_node("sce", Op::Loss(sce), vec![Some(rms), Some(labels)], vec![Some(loss), Some(log_prob)]);

    let (cos, sin) = (c(&mut g, "cos", &[1, 3, 2], 1.0), c(&mut g, "sin", &[1, 3, 2], 1.0));
    let qr = unknown(&mut g, "q_rot");
    let rot = AttentionOp::RotaryEmbedding { interleaved: false, rotary_dim: 0, num_heads: None };
    g.add_node("rotary", Op::Attention(rot), vec![Some(q), Some(cos), Some(sin)], vec![Some(qr)]);
    let mask =
        g.add_const("mask", Tensor::from_vec(vec![3, 5], (0..15).map(|i| i % 4 != 3).collect::<Vec<bool>>()).unwrap());
    let attrs = AttentionAttrs {
        is_causal: true,
        q_num_heads: None,
        kv_num_heads: None,
        scale: None,
        softcap: 0.0,
        qk_matmul_output_mode: 0,
        softmax_precision: None,
        left_window: -1,
        right_window: -1,
    };
    let attn = unknown(&mut g, "attn");
    g.add_node(
        "attention",
        Op::Attention(AttentionOp::Attention(attrs)),
        vec![Some(qr), Some(k), Some(v), Some(mask)],
        vec![Some(attn)],
    );

    let (w, r, b) =
        (c(&mut g, "gru_w", &[2, 15, 4], 0.8), c(&mut g, "gru_r", &[2, 15, 5], 0.8), c(&mut g, "gru_b", &[2, 30], 0.2));
    let (y, yh) = (unknown(&mut g, "gru_y"), unknown(&mut g, "gru_yh"));
    let gru = RnnOp::Gru {
        attrs: RnnAttrs {
            hidden_size: 5,
            direction: Direction::Bidirectional,
            batch_first: false,
            activations: vec![Activation::Sigmoid, Activation::Tanh, Activation::Sigmoid, Activation::Tanh],
            clip: None,
        },
        linear_before_reset: true,
    };
    g.add_node("gru", Op::Rnn(gru), vec![Some(steps), Some(w), Some(r), Some(b), Some(lens)], vec![Some(y), Some(yh)]);
    let (pooled, argmax) = (unknown(&mut g, "pooled"), unknown(&mut g, "argmax"));
    let pw = Window { kernel_shape: Some(vec![3]), strides: vec![2], pads: vec![1, 1], ..Window::default() };
    g.add_node(
        "maxpool",
        Op::Nn(NnOp::Pool(PoolAttrs { kind: PoolKind::Max { col_major: false }, window: pw })),
        vec![Some(x)],
        vec![Some(pooled), Some(argmax)],
    );
    g.outputs.extend([loss, log_prob, attn, y, yh, pooled, argmax]);
    g
}

/// Ops the compiler lowers through f32 (Cast -> f32 op -> Cast back): `x f32 [1, 2, 4, 4]` cast
/// to f16 -> Conv (f16 weights) -> Relu -> Mul by an f16 scalar -> ReduceMax over H, W (`peak`,
/// f16); `x` cast to bf16 -> Sigmoid (`gate`, bf16); `q u8 [1, 1, 4, 4]` -> MaxPool 2x2
/// (`pooled`, u8); `b bool [2, 3]` -> ReduceMin over axis 1 (`all`, bool).
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn lowp_graph() -> Graph {
    use mote_ir::ops::reduce::Reduction as Rd;
    let mut g = Graph::new("lowp");
    let x = g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::F32, &[1, 2, 4, 4])));
    let q = g.add_value("q", ValueType::Tensor(TensorType::concrete(DType::U8, &[1, 1, 4, 4])));
    let b = g.add_value("b", ValueType::Tensor(TensorType::concrete(DType::Bool, &[2, 3])));
    g.inputs.extend([x, q, b]);
    let v = |g: &mut Graph, name: &str| g.add_value(name, ValueType::Unknown);
    let cast = |to| Op::Elementwise(ElementwiseOp::Cast { to, saturate: true, round_mode: RoundMode::Up });
    let h = v(&mut g, "h");
    g.add_node("to_f16", cast(DType::F16), vec![Some(x)], vec![Some(h)]);
    let w32 = g.add_const("w32", Tensor::from_vec(vec![3, 2, 3, 3], seq(54, 0.8)).unwrap());
    let w = v(&mut g, "w");
    g.add_node("w_to_f16", cast(DType::F16), vec![Some(w32)], vec![Some(w)]);
    let c = v(&mut g, "c");
    let window = Window { pads: vec![1, 1, 1, 1], ..Window::default() };
    g.add_node("conv", Op::Nn(NnOp::Conv(ConvAttrs { window, group: 1 })), vec![Some(h), Some(w)], vec![Some(c)]);
    let r = v(&mut g, "r");
    g.add_node("relu", Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)), vec![Some(c)], vec![Some(r)]);
    let s32 = g.add_const("s32", Tensor::from_vec(vec![], vec![1.7f32]).unwrap());
    let s = v(&mut g, "s");
    g.add_node("s_to_f16", cast(DType::F16), vec![Some(s32)], vec![Some(s)]);
    let m = v(&mut g, "m");
    g.add_node("mul", Op::Elementwise(ElementwiseOp::Binary(Binary::Mul)), vec![Some(r), Some(s)], vec![Some(m)]);
    let hw = g.add_const("hw", Tensor::from_vec(vec![2], vec![2i64, 3]).unwrap());
    let peak = v(&mut g, "peak");
    let max = ReduceOp::Reduce { kind: Rd::Max, keepdims: false, noop_with_empty_axes: false };
    g.add_node("peak", Op::Reduce(max), vec![Some(m), Some(hw)], vec![Some(peak)]);
    let xb = v(&mut g, "xb");
    g.add_node("to_bf16", cast(DType::BF16), vec![Some(x)], vec![Some(xb)]);
    let gate = v(&mut g, "gate");
    g.add_node("gate", Op::Elementwise(ElementwiseOp::Unary(Unary::Sigmoid)), vec![Some(xb)], vec![Some(gate)]);
    let pooled = v(&mut g, "pooled");
    let pw = Window { kernel_shape: Some(vec![2, 2]), strides: vec![2, 2], ..Window::default() };
    let pool = Op::Nn(NnOp::Pool(PoolAttrs { kind: PoolKind::Max { col_major: false }, window: pw }));
    g.add_node("pool", pool, vec![Some(q)], vec![Some(pooled)]);
    let ax = g.add_const("ax", Tensor::from_vec(vec![1], vec![1i64]).unwrap());
    let all = v(&mut g, "all");
    let min = ReduceOp::Reduce { kind: Rd::Min, keepdims: false, noop_with_empty_axes: false };
    g.add_node("all", Op::Reduce(min), vec![Some(b), Some(ax)], vec![Some(all)]);
    g.outputs.extend([peak, gate, pooled, all]);
    g
}

/// Inputs of [`lowp_graph`].
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn lowp_inputs() -> Vec<mote_ir::Value> {
    let q: Vec<u8> = (0..16u32).map(|i| (i * 97 % 251) as u8).collect();
    let b = vec![true, true, true, true, false, true];
    vec![
        mote_ir::Value::Tensor(input(&[1, 2, 4, 4])),
        mote_ir::Value::Tensor(Tensor::from_vec(vec![1, 1, 4, 4], q).unwrap()),
        mote_ir::Value::Tensor(Tensor::from_vec(vec![2, 3], b).unwrap()),
    ]
}

/// Selection and placement ops built from existing steps: `x f32 [3, 4]`, `idx f32 [2, 2]`
/// (run-time, truncated, negatives wrap), `cache f32 [2, 1, 4, 3]`, `upd f32 [2, 1, 3, 3]` ->
/// OneHot(idx, depth 3, values) on axis 1, Compress(x, constant condition) on axis 1,
/// ReverseSequence(x, constant lengths) time-major, circular TensorScatter(|cache|, upd, constant
/// indices; in place), BitCast(x) to i32.
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn select_graph() -> Graph {
    use mote_ir::ops::attention::AttentionOp;
    let mut g = Graph::new("select");
    let c = |d: &[usize]| ValueType::Tensor(TensorType::concrete(DType::F32, d));
    let x = g.add_value("x", c(&[3, 4]));
    let idx = g.add_value("idx", c(&[2, 2]));
    let cache = g.add_value("cache", c(&[2, 1, 4, 3]));
    let upd = g.add_value("upd", c(&[2, 1, 3, 3]));
    g.inputs.extend([x, idx, cache, upd]);
    let v = |g: &mut Graph, name: &str| g.add_value(name, ValueType::Unknown);
    let depth = g.add_const("depth", Tensor::from_vec(vec![], vec![3i64]).unwrap());
    let values = g.add_const("values", Tensor::from_vec(vec![2], vec![-2.0f32, 5.0]).unwrap());
    let hot = v(&mut g, "hot");
    let op = Op::Shape(ShapeOp::OneHot { axis: 1 });
    g.add_node("onehot", op, vec![Some(idx), Some(depth), Some(values)], vec![Some(hot)]);
    let cond = g.add_const("cond", Tensor::from_vec(vec![3], vec![true, false, true]).unwrap());
    let picked = v(&mut g, "picked");
    let op = Op::Shape(ShapeOp::Compress { axis: Some(-1) });
    g.add_node("compress", op, vec![Some(x), Some(cond)], vec![Some(picked)]);
    let lens = g.add_const("lens", Tensor::from_vec(vec![4], vec![3i64, 0, 2, 1]).unwrap());
    let rev = v(&mut g, "rev");
    let op = Op::Shape(ShapeOp::ReverseSequence { batch_axis: 1, time_axis: 0 });
    g.add_node("reverse", op, vec![Some(x), Some(lens)], vec![Some(rev)]);
    let at = g.add_const("at", Tensor::from_vec(vec![2], vec![2i64, -1]).unwrap());
    // |cache| dies at the scatter, which then writes into it in place.
    let abs = v(&mut g, "abs");
    g.add_node("abs", Op::Elementwise(ElementwiseOp::Unary(Unary::Abs)), vec![Some(cache)], vec![Some(abs)]);
    let scattered = v(&mut g, "scattered");
    let op = Op::Attention(AttentionOp::TensorScatter { circular: true, axis: -2 });
    g.add_node("scatter", op, vec![Some(abs), Some(upd), Some(at)], vec![Some(scattered)]);
    let bits = v(&mut g, "bits");
    g.add_node("bitcast", Op::Shape(ShapeOp::BitCast { to: DType::I32 }), vec![Some(x)], vec![Some(bits)]);
    g.outputs.extend([hot, picked, rev, scattered, bits]);
    g
}

/// Inputs of [`select_graph`].
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn select_inputs() -> Vec<mote_ir::Value> {
    let idx = Tensor::from_vec(vec![2, 2], vec![1.7f32, -1.0, 3.0, 0.0]).unwrap();
    vec![
        mote_ir::Value::Tensor(input(&[3, 4])),
        mote_ir::Value::Tensor(idx),
        mote_ir::Value::Tensor(input(&[2, 1, 4, 3])),
        mote_ir::Value::Tensor(Tensor::from_vec(vec![2, 1, 3, 3], (0..18).map(|i| i as f32 + 10.0).collect()).unwrap()),
    ]
}

/// Streaming sequence-model and signal ops: gated-delta LinearAttention (4 query heads over 2
/// key/value heads, run-time past state, per-key decay, per-head beta), CausalConvWithState (bias,
/// run-time past state, SiLU), FlexAttention (grouped heads, scale, a `score_mod` graph adding
/// `0.25 * scores` and a constant), DFT of a real signal (length 8: the FFT) followed by an
/// irfft of length 6 (the naive DFT), and STFT (frame 8, step 3, Hann window).
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn sequence_graph() -> Graph {
    use mote_ir::ops::attention::{AttentionOp, FlexAttrs, UpdateRule};
    use mote_ir::ops::signal::SignalOp;
    let mut g = Graph::new("sequence");
    let t = |d: &[usize]| ValueType::Tensor(TensorType::concrete(DType::F32, d));
    let v = |g: &mut Graph, name: &str| g.add_value(name, ValueType::Unknown);
    let names: [(&str, &[usize]); 13] = [
        ("q", &[2, 3, 16]),
        ("k", &[2, 3, 8]),
        ("v", &[2, 3, 6]),
        ("state", &[2, 2, 4, 3]),
        ("decay", &[2, 3, 8]),
        ("beta", &[2, 3, 2]),
        ("x", &[2, 3, 5]),
        ("conv_state", &[2, 3, 2]),
        ("fq", &[1, 4, 3, 4]),
        ("fk", &[1, 2, 5, 4]),
        ("fv", &[1, 2, 5, 3]),
        ("sig", &[2, 8, 3, 1]),
        ("audio", &[1, 20, 1]),
    ];
    let ins: Vec<_> = names.iter().map(|(n, d)| g.add_value(*n, t(d))).collect();
    g.inputs.extend(&ins);
    let [q, k, vv, state, decay, beta, x, conv_state, fq, fk, fv, sig, audio] = ins[..] else { unreachable!() };

    let (y, present) = (v(&mut g, "la_y"), v(&mut g, "la_state"));
    let la =
        AttentionOp::LinearAttention { q_num_heads: 4, kv_num_heads: 2, scale: None, rule: UpdateRule::GatedDelta };
    let la_in = vec![Some(q), Some(k), Some(vv), Some(state), Some(decay), Some(beta)];
    g.add_node("linear_attention", Op::Attention(la), la_in, vec![Some(y), Some(present)]);

    let w = g.add_const("conv_w", Tensor::from_vec(vec![3, 1, 3], seq(9, 1.0)).unwrap());
    let b = g.add_const("conv_b", Tensor::from_vec(vec![3], seq(3, 0.5)).unwrap());
    let (cy, cs) = (v(&mut g, "conv_y"), v(&mut g, "conv_state_out"));
    let cc = AttentionOp::CausalConvWithState { silu: true };
    g.add_node(
        "causal_conv",
        Op::Attention(cc),
        vec![Some(x), Some(w), Some(b), Some(conv_state)],
        vec![Some(cy), Some(cs)],
    );

    let mut m = Graph::new("score_mod");
    let s = m.add_value("s", t(&[1, 4, 3, 5]));
    m.inputs.push(s);
    let quarter = m.add_const("quarter", Tensor::scalar(0.25f32));
    let shift = m.add_const("shift", Tensor::scalar(-0.5f32));
    let (sq, out) = (m.add_value("sq", ValueType::Unknown), m.add_value("out", ValueType::Unknown));
    m.add_node(
        "mul",
        Op::Elementwise(ElementwiseOp::Binary(Binary::Mul)),
        vec![Some(s), Some(quarter)],
        vec![Some(sq)],
    );
    m.add_node(
        "add",
        Op::Elementwise(ElementwiseOp::Binary(Binary::Add)),
        vec![Some(sq), Some(shift)],
        vec![Some(out)],
    );
    m.outputs.push(out);
    let flex = FlexAttrs { scale: Some(0.3), softmax_precision: None, score_mod: Some(m), prob_mod: None };
    let fy = v(&mut g, "flex_y");
    g.add_node(
        "flex",
        Op::Attention(AttentionOp::FlexAttention(Box::new(flex))),
        vec![Some(fq), Some(fk), Some(fv)],
        vec![Some(fy)],
    );

    let axis = g.add_const("axis", Tensor::scalar(1i64));
    let spec = v(&mut g, "spectrum");
    let dft = Op::Signal(SignalOp::Dft { inverse: false, onesided: false });
    g.add_node("dft", dft, vec![Some(sig), None, Some(axis)], vec![Some(spec)]);
    let six = g.add_const("six", Tensor::scalar(6i64));
    let back = v(&mut g, "irfft");
    let irfft = Op::Signal(SignalOp::Dft { inverse: true, onesided: true });
    g.add_node("irfft", irfft, vec![Some(spec), Some(six), Some(axis)], vec![Some(back)]);

    let hann: Vec<f32> = (0..8).map(|i| (std::f32::consts::PI * i as f32 / 8.0).sin().powi(2)).collect();
    let window = g.add_const("window", Tensor::from_vec(vec![8], hann).unwrap());
    let step = g.add_const("step", Tensor::scalar(3i64));
    let frames = v(&mut g, "stft");
    let stft = Op::Signal(SignalOp::Stft { onesided: true });
    g.add_node("stft", stft, vec![Some(audio), Some(step), Some(window)], vec![Some(frames)]);
    g.outputs.extend([y, present, cy, cs, fy, spec, back, frames]);
    g
}

/// Inputs of [`sequence_graph`] (decay is a log factor, kept negative).
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn sequence_inputs() -> Vec<mote_ir::Value> {
    let g = sequence_graph();
    g.inputs
        .iter()
        .map(|&id| {
            let info = g.value(id);
            let dims: Vec<usize> =
                info.ty.as_tensor().unwrap().shape.as_ref().unwrap().iter().map(|d| d.known().unwrap()).collect();
            let mut t = input(&dims);
            if info.name == "decay" {
                let neg: Vec<f32> = t.to_f32_vec().unwrap().iter().map(|x| -x.abs() - 0.05).collect();
                t = Tensor::from_vec(dims, neg).unwrap();
            }
            mote_ir::Value::Tensor(t)
        })
        .collect()
}

pub mod ml;
#[allow(dead_code)] // used by some of the test binaries that include this module
pub mod qdq;
#[allow(dead_code)] // used by some of the test binaries that include this module
pub mod quant;
pub mod strmap;

/// A model of the vision-geometry and remaining tensor ops: AffineGrid (run-time theta) ->
/// GridSample (bilinear with border padding; bicubic with reflection and aligned corners),
/// RoiAlign (adaptive sampling, run-time batch indices), DeformConv (groups, bias, mask),
/// Col2Im, MaxUnpool (run-time indices), Det, Einsum (batched matmuls as Gemm, a batched
/// diagonal, a label summed in one operand)
/// and training-mode BatchNormalization with its running statistics.
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn geo_graph() -> Graph {
    use mote_ir::ops::image::{GridMode, GridPadding, ImageOp};
    use mote_ir::ops::nn::{DeformConvAttrs, Equation};
    let mut g = Graph::new("geo");
    let t = |dt: DType, d: &[usize]| ValueType::Tensor(TensorType::concrete(dt, d));
    let unknown = |g: &mut Graph, name: &str| g.add_value(name, ValueType::Unknown);
    let c = |g: &mut Graph, name: &str, d: &[usize], scale: f32| {
        let n = d.iter().product();
        g.add_const(name, Tensor::from_vec(d.to_vec(), seq(n, scale)).unwrap())
    };
    let ints =
        |g: &mut Graph, name: &str, v: &[i64]| g.add_const(name, Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap());
    let x = g.add_value("x", t(DType::F32, &[1, 2, 5, 6]));
    let theta = g.add_value("theta", t(DType::F32, &[1, 2, 3]));
    let rois = g.add_value("rois", t(DType::F32, &[2, 4]));
    let bidx = g.add_value("batch_indices", t(DType::I64, &[2]));
    let offset = g.add_value("offset", t(DType::F32, &[1, 8, 4, 5]));
    let mask = g.add_value("mask", t(DType::F32, &[1, 4, 4, 5]));
    let cols = g.add_value("cols", t(DType::F32, &[1, 8, 12]));
    let pooled = g.add_value("pooled", t(DType::F32, &[1, 2, 2, 3]));
    let where_ = g.add_value("where", t(DType::I64, &[1, 2, 2, 3]));
    let mats = g.add_value("mats", t(DType::F32, &[3, 3, 3]));
    let ea = g.add_value("ea", t(DType::F32, &[2, 3, 4]));
    let eb = g.add_value("eb", t(DType::F32, &[2, 4, 2]));
    g.inputs.extend([x, theta, rois, bidx, offset, mask, cols, pooled, where_, mats, ea, eb]);

    let size = ints(&mut g, "size", &[1, 2, 4, 3]);
    let grid = unknown(&mut g, "grid");
    let ag = ImageOp::AffineGrid { align_corners: false };
    g.add_node("affine_grid", Op::Image(ag), vec![Some(theta), Some(size)], vec![Some(grid)]);
    let (gs, gs2) = (unknown(&mut g, "sampled"), unknown(&mut g, "sampled_cubic"));
    let lin = ImageOp::GridSample { mode: GridMode::Linear, padding: GridPadding::Border, align_corners: false };
    g.add_node("grid_sample", Op::Image(lin), vec![Some(x), Some(grid)], vec![Some(gs)]);
    let cub = ImageOp::GridSample { mode: GridMode::Cubic, padding: GridPadding::Reflection, align_corners: true };
    g.add_node("grid_sample_cubic", Op::Image(cub), vec![Some(x), Some(grid)], vec![Some(gs2)]);
    let ra = unknown(&mut g, "roi_aligned");
    let roi = ImageOp::RoiAlign {
        max: false,
        output_height: 3,
        output_width: 3,
        sampling_ratio: 0,
        spatial_scale: 0.5,
        half_pixel: true,
    };
    g.add_node("roi_align", Op::Image(roi), vec![Some(x), Some(rois), Some(bidx)], vec![Some(ra)]);

    let (w, b) = (c(&mut g, "deform_w", &[4, 1, 2, 2], 1.0), c(&mut g, "deform_b", &[4], 0.5));
    let dc = unknown(&mut g, "deformed");
    let window = Window { kernel_shape: Some(vec![2, 2]), ..Window::default() };
    let deform = NnOp::DeformConv(DeformConvAttrs { window, group: 2, offset_group: 1 });
    g.add_node(
        "deform_conv",
        Op::Nn(deform),
        vec![Some(x), Some(w), Some(offset), Some(b), Some(mask)],
        vec![Some(dc)],
    );
    let (image, block) = (ints(&mut g, "image_shape", &[4, 5]), ints(&mut g, "block_shape", &[2, 2]));
    let ci = unknown(&mut g, "folded");
    g.add_node(
        "col2im",
        Op::Nn(NnOp::Col2Im(Window::default())),
        vec![Some(cols), Some(image), Some(block)],
        vec![Some(ci)],
    );
    let up = unknown(&mut g, "unpooled");
    let uw = Window { kernel_shape: Some(vec![2, 2]), strides: vec![2, 2], ..Window::default() };
    g.add_node("max_unpool", Op::Nn(NnOp::MaxUnpool(uw)), vec![Some(pooled), Some(where_)], vec![Some(up)]);
    let det = unknown(&mut g, "det");
    g.add_node("det", Op::Nn(NnOp::Det), vec![Some(mats)], vec![Some(det)]);
    let (mm, diag) = (unknown(&mut g, "einsum_mm"), unknown(&mut g, "einsum_diag"));
    let bmm = NnOp::Einsum(Equation::parse("bij,bjk->bik").unwrap());
    g.add_node("einsum_mm", Op::Nn(bmm), vec![Some(ea), Some(eb)], vec![Some(mm)]);
    let bd = NnOp::Einsum(Equation::parse("...ii->...i").unwrap());
    g.add_node("einsum_diag", Op::Nn(bd), vec![Some(mats)], vec![Some(diag)]);
    // As a Gemm with both an operand and the output permuted by copies; and (a label summed in
    // one operand only) as a product over all labels and a reduction.
    let (perm, partial) = (unknown(&mut g, "einsum_perm"), unknown(&mut g, "einsum_partial"));
    let pe = NnOp::Einsum(Equation::parse("bji,bjk->kbi").unwrap());
    g.add_node("einsum_perm", Op::Nn(pe), vec![Some(ea), Some(ea)], vec![Some(perm)]);
    let pa = NnOp::Einsum(Equation::parse("bij,bjk->bi").unwrap());
    g.add_node("einsum_partial", Op::Nn(pa), vec![Some(ea), Some(eb)], vec![Some(partial)]);
    let (s, bias) = (c(&mut g, "bn_scale", &[2], 1.5), c(&mut g, "bn_bias", &[2], 0.5));
    let (m, v) =
        (c(&mut g, "bn_mean", &[2], 0.2), g.add_const("bn_var", Tensor::from_vec(vec![2], vec![1.0f32, 0.5]).unwrap()));
    let (bn, bm, bv) = (unknown(&mut g, "bn"), unknown(&mut g, "bn_mean_out"), unknown(&mut g, "bn_var_out"));
    let op = NnOp::BatchNorm { epsilon: 1e-3, momentum: 0.8, training: true };
    g.add_node(
        "bn_train",
        Op::Nn(op),
        vec![Some(x), Some(s), Some(bias), Some(m), Some(v)],
        vec![Some(bn), Some(bm), Some(bv)],
    );
    g.outputs.extend([gs, gs2, ra, dc, ci, up, det, mm, diag, perm, partial, bn, bm, bv]);
    g
}

/// NonMaxSuppression (a data-dependent output length): boxes `[1, 6, 4]` and scores
/// `[1, 2, 6]` from the inputs, at most 3 boxes per class, IoU 0.5, score threshold 0.1.
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn nms_graph() -> Graph {
    use mote_ir::ops::image::ImageOp;
    let mut g = Graph::new("nms");
    let t = |d: &[usize]| ValueType::Tensor(TensorType::concrete(DType::F32, d));
    let boxes = g.add_value("boxes", t(&[1, 6, 4]));
    let scores = g.add_value("scores", t(&[1, 2, 6]));
    g.inputs.extend([boxes, scores]);
    let max_out = g.add_const("max_out", Tensor::from_vec(vec![1], vec![3i64]).unwrap());
    let iou = g.add_const("iou", Tensor::from_vec(vec![1], vec![0.5f32]).unwrap());
    let score_th = g.add_const("score_th", Tensor::from_vec(vec![1], vec![0.1f32]).unwrap());
    let sel = g.add_value("selected", ValueType::Unknown);
    g.add_node(
        "nms",
        Op::Image(ImageOp::NonMaxSuppression { center_point_box: false }),
        vec![Some(boxes), Some(scores), Some(max_out), Some(iou), Some(score_th)],
        vec![Some(sel)],
    );
    g.outputs.push(sel);
    g
}

/// Inputs of [`nms_graph`]: overlapping pairs of boxes, scores with ties and some below the
/// threshold.
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn nms_inputs() -> Vec<mote_ir::Value> {
    let boxes: Vec<f32> = vec![
        0.0, 0.0, 1.0, 1.0, 0.0, 0.1, 1.0, 1.1, 0.0, -0.1, 1.0, 0.9, //
        0.0, 10.0, 1.0, 11.0, 1.0, 10.1, 0.0, 11.1, 0.0, 100.0, 1.0, 101.0,
    ];
    let scores: Vec<f32> = vec![0.9, 0.75, 0.6, 0.95, 0.5, 0.3, 0.05, 0.5, 0.5, 0.5, 0.2, 0.9];
    vec![
        mote_ir::Value::Tensor(Tensor::from_vec(vec![1, 6, 4], boxes).unwrap()),
        mote_ir::Value::Tensor(Tensor::from_vec(vec![1, 2, 6], scores).unwrap()),
    ]
}

/// A run-time `If`: inputs `c` (bool scalar) and `x [4]`; then `relu(x) * 2`, else `1 - x`
/// (both branches read `x` from outside); the `If`'s output `y` feeds `z = y + x`. Outputs `y`
/// and `z`.
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn branch_graph() -> Graph {
    use mote_ir::graph::OuterRef;
    let t4 = || ValueType::Tensor(TensorType::concrete(DType::F32, &[4]));
    let mut g = Graph::new("branch");
    let c = g.add_value("c", ValueType::Tensor(TensorType::concrete(DType::Bool, &[])));
    let x = g.add_value("x", t4());
    g.inputs = vec![c, x];
    let branch = |then: bool| {
        let mut b = Graph::new(if then { "then" } else { "else" });
        let bx = b.add_value("bx", t4());
        b.outer_refs.push(OuterRef { inner: bx, outer: x });
        let k = b.add_const("k", Tensor::from_vec(vec![], vec![if then { 2f32 } else { 1f32 }]).unwrap());
        let out = b.add_value("out", t4());
        if then {
            let r = b.add_value("r", t4());
            b.add_node("relu", Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)), vec![Some(bx)], vec![Some(r)]);
            b.add_node(
                "mul",
                Op::Elementwise(ElementwiseOp::Binary(Binary::Mul)),
                vec![Some(r), Some(k)],
                vec![Some(out)],
            );
        } else {
            b.add_node(
                "sub",
                Op::Elementwise(ElementwiseOp::Binary(Binary::Sub)),
                vec![Some(k), Some(bx)],
                vec![Some(out)],
            );
        }
        b.outputs.push(out);
        Box::new(b)
    };
    let y = g.add_value("y", t4());
    let op = mote_ir::ops::control::ControlOp::If { then_branch: branch(true), else_branch: branch(false) };
    g.add_node("if", Op::Control(op), vec![Some(c)], vec![Some(y)]);
    let z = g.add_value("z", t4());
    g.add_node("add", Op::Elementwise(ElementwiseOp::Binary(Binary::Add)), vec![Some(y), Some(x)], vec![Some(z)]);
    g.outputs = vec![y, z];
    g
}
/// The string ops on run-time inputs: StringConcat (broadcast), StringSplit (a delimiter, and
/// whitespace with maxsplit), StringNormalizer (stopwords ignoring case, lowercase),
/// RegexFullMatch and TfIdfVectorizer over string and int32 tokens. Inputs: `a [3]`, `b [1]`
/// (strings), `words [2, 4]` (strings), `ids [2, 5]` (i32).
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn text_graph() -> Graph {
    use mote_ir::ops::text::{CaseChange, Pool, TextOp, TfIdfAttrs, TfIdfMode};
    let mut g = Graph::new("text");
    let t = |dt: DType, d: &[usize]| ValueType::Tensor(TensorType::concrete(dt, d));
    let a = g.add_value("a", t(DType::String, &[3]));
    let b = g.add_value("b", t(DType::String, &[1]));
    let words = g.add_value("words", t(DType::String, &[2, 4]));
    let ids = g.add_value("ids", t(DType::I32, &[2, 5]));
    g.inputs.extend([a, b, words, ids]);
    let node = |g: &mut Graph, name: &str, op: TextOp, ins: Vec<mote_ir::ValueId>, outs: &[&str]| {
        let outs: Vec<_> = outs.iter().map(|o| g.add_value(*o, ValueType::Unknown)).collect();
        g.add_node(name, Op::Text(op), ins.into_iter().map(Some).collect(), outs.iter().copied().map(Some).collect());
        g.outputs.extend(outs);
    };
    node(&mut g, "concat", TextOp::StringConcat, vec![a, b], &["concat"]);
    let split = TextOp::StringSplit { delimiter: Some("a".into()), maxsplit: None };
    node(&mut g, "split", split, vec![a], &["pieces", "piece_counts"]);
    let split_ws = TextOp::StringSplit { delimiter: None, maxsplit: Some(2) };
    node(&mut g, "split_ws", split_ws, vec![b], &["words_ws", "word_counts"]);
    let stopwords = vec!["The".to_string(), "ΟΔΟΣ".to_string(), "a".to_string()];
    let norm = TextOp::StringNormalizer { case: CaseChange::Lower, case_sensitive: false, stopwords };
    node(&mut g, "normalize", norm, vec![a], &["normalized"]);
    let upper = TextOp::StringNormalizer { case: CaseChange::Upper, case_sensitive: true, stopwords: vec![] };
    node(&mut g, "upper", upper, vec![b], &["upper"]);
    let regex = TextOp::RegexFullMatch { pattern: r"[\w ]*(the|σ)\d?".into() };
    node(&mut g, "regex", regex, vec![a], &["matches"]);
    let tf = |pool: Pool, mode: TfIdfMode| {
        TextOp::TfIdfVectorizer(TfIdfAttrs {
            mode,
            min_gram_length: 1,
            max_gram_length: 2,
            max_skip_count: 1,
            ngram_counts: vec![0, 3],
            ngram_indexes: vec![0, 1, 2, 3, 4, 1],
            pool,
            weights: vec![0.5, 2.0, 1.5],
        })
    };
    let vocab = |v: &[&str]| Pool::Strings(v.iter().map(|s| s.to_string()).collect());
    let pool = vocab(&["the", "cat", "σ", "the", "cat", "cat", "σ", "cat", "cat"]);
    node(&mut g, "tfidf", tf(pool, TfIdfMode::TfIdf), vec![words], &["tfidf"]);
    let ints = Pool::Ints(vec![1, 2, 3, 1, 2, 2, 3, 3, 3]);
    node(&mut g, "tf_ints", tf(ints, TfIdfMode::Idf), vec![ids], &["tf_ints"]);
    g
}

/// Inputs of [`text_graph`]: `a`, `b`, `words` from the given strings, `ids` from `ints`.
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn text_inputs(a: [&str; 3], b: &str, words: [&str; 8], ints: [i32; 10]) -> Vec<mote_ir::Value> {
    let s = |d: Vec<usize>, v: &[&str]| {
        mote_ir::Value::Tensor(Tensor::from_strings(d, v.iter().map(|s| s.to_string()).collect()).unwrap())
    };
    vec![
        s(vec![3], &a),
        s(vec![1], &[b]),
        s(vec![2, 4], &words),
        mote_ir::Value::Tensor(Tensor::from_vec(vec![2, 5], ints.to_vec()).unwrap()),
    ]
}
