use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::nn::{ConvAttrs, ConvTransposeAttrs, NnOp, Window};
use mote_ir::{DType, Dim, Graph, Op, Tensor, ValueId, ValueType};

/// Deterministic pseudo-random values in [-1, 1).
fn vals(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn t(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(shape.to_vec(), vals(shape.iter().product(), seed)).unwrap()
}

fn f32ty(shape: &[usize]) -> ValueType {
    ValueType::tensor(DType::F32, shape.iter().map(|&d| Dim::Known(d)).collect())
}

/// Appends an inference BatchNormalization over `c` channels of `x`.
fn bn(g: &mut Graph, x: ValueId, c: usize, seed: u64) -> ValueId {
    let scale = g.add_const("scale", t(&[c], seed));
    let bias = g.add_const("bias", t(&[c], seed + 1));
    let mean = g.add_const("mean", t(&[c], seed + 2));
    let var: Vec<f32> = vals(c, seed + 3).iter().map(|v| v.abs() + 0.5).collect();
    let var = g.add_const("var", Tensor::from_vec(vec![c], var).unwrap());
    let y = g.add_value("bn_out", ValueType::Unknown);
    let op = Op::Nn(NnOp::BatchNorm { epsilon: 1e-5, momentum: 0.9, training: false });
    g.add_node("bn", op, vec![Some(x), Some(scale), Some(bias), Some(mean), Some(var)], vec![Some(y)]);
    y
}

/// Optimizes `g` and checks its output on `input` is unchanged; returns the optimized op names.
fn check(mut g: Graph, input: Tensor) -> Vec<&'static str> {
    mote_interp::infer(&mut g).unwrap();
    let want = mote_interp::run(&g, vec![input.clone().into()]).unwrap();
    crate::optimize(&mut g, &crate::Options::default()).unwrap();
    let got = mote_interp::run(&g, vec![input.into()]).unwrap();
    let (a, b) =
        (got[0].as_tensor().unwrap().to_f64_vec().unwrap(), want[0].as_tensor().unwrap().to_f64_vec().unwrap());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{x} vs {y}");
    }
    g.nodes.iter().map(|n| n.op.name()).collect()
}

fn conv_window() -> Window {
    Window { strides: vec![1, 1], dilations: vec![1, 1], pads: vec![1, 1, 1, 1], ..Window::default() }
}

#[test]
fn conv_bn_mul_add_fold_into_the_conv() {
    for (group, with_bias) in [(1, true), (1, false), (2, true), (4, false)] {
        let mut g = Graph::new("g");
        let x = g.add_value("x", f32ty(&[1, 4, 5, 5]));
        let w = g.add_const("w", t(&[6 * group / group * 2, 4 / group, 3, 3], 1));
        let b = g.add_const("b", t(&[12], 2));
        let y = g.add_value("conv_out", ValueType::Unknown);
        let inputs = if with_bias { vec![Some(x), Some(w), Some(b)] } else { vec![Some(x), Some(w)] };
        g.add_node("conv", Op::Nn(NnOp::Conv(ConvAttrs { window: conv_window(), group })), inputs, vec![Some(y)]);
        let z = bn(&mut g, y, 12, 10);
        let k = g.add_const("k", t(&[12, 1, 1], 20));
        let m = g.add_value("m", ValueType::Unknown);
        g.add_node("mul", Op::Elementwise(ElementwiseOp::Binary(Binary::Mul)), vec![Some(k), Some(z)], vec![Some(m)]);
        let s = g.add_const("s", Tensor::scalar(0.25f32));
        let out = g.add_value("out", ValueType::Unknown);
        g.add_node("sub", Op::Elementwise(ElementwiseOp::Binary(Binary::Sub)), vec![Some(m), Some(s)], vec![Some(out)]);
        g.inputs = vec![x];
        g.outputs = vec![out];
        assert_eq!(check(g, t(&[1, 4, 5, 5], 3)), ["Conv"], "group {group}");
    }
}

#[test]
fn conv_transpose_bn_folds() {
    let mut g = Graph::new("g");
    let x = g.add_value("x", f32ty(&[1, 4, 3, 3]));
    let w = g.add_const("w", t(&[4, 3, 2, 2], 1));
    let y = g.add_value("ct_out", ValueType::Unknown);
    let attrs = ConvTransposeAttrs { window: Window::default(), group: 2, output_padding: vec![], output_shape: None };
    g.add_node("ct", Op::Nn(NnOp::ConvTranspose(attrs)), vec![Some(x), Some(w)], vec![Some(y)]);
    let z = bn(&mut g, y, 6, 5);
    g.inputs = vec![x];
    g.outputs = vec![z];
    assert_eq!(check(g, t(&[1, 4, 3, 3], 2)), ["ConvTranspose"]);
}

#[test]
fn gemm_and_matmul_take_bn_and_bias() {
    for trans_b in [false, true] {
        let mut g = Graph::new("g");
        let x = g.add_value("x", f32ty(&[3, 4]));
        let w = g.add_const("w", t(if trans_b { &[5, 4] } else { &[4, 5] }, 1));
        let c = g.add_const("c", t(&[3, 5], 2));
        let y = g.add_value("gemm_out", ValueType::Unknown);
        let op = Op::Nn(NnOp::Gemm { alpha: 0.5, beta: 2.0, trans_a: false, trans_b });
        g.add_node("gemm", op, vec![Some(x), Some(w), Some(c)], vec![Some(y)]);
        let z = bn(&mut g, y, 5, 7);
        g.inputs = vec![x];
        g.outputs = vec![z];
        assert_eq!(check(g, t(&[3, 4], 3)), ["Gemm"]);
    }
    // MatMul + Add(bias) -> Gemm; MatMul / scalar keeps MatMul (3-D input).
    let mut g = Graph::new("g");
    let x = g.add_value("x", f32ty(&[3, 4]));
    let w = g.add_const("w", t(&[4, 5], 1));
    let bias = g.add_const("bias", t(&[5], 2));
    let y = g.add_value("mm", ValueType::Unknown);
    let z = g.add_value("z", ValueType::Unknown);
    g.add_node("mm", Op::Nn(NnOp::MatMul), vec![Some(x), Some(w)], vec![Some(y)]);
    g.add_node("add", Op::Elementwise(ElementwiseOp::Binary(Binary::Add)), vec![Some(y), Some(bias)], vec![Some(z)]);
    g.inputs = vec![x];
    g.outputs = vec![z];
    assert_eq!(check(g, t(&[3, 4], 3)), ["Gemm"]);

    let mut g = Graph::new("g");
    let x = g.add_value("x", f32ty(&[2, 3, 4]));
    let w = g.add_const("w", t(&[4, 5], 1));
    let d = g.add_const("d", Tensor::scalar(4f32));
    let y = g.add_value("mm", ValueType::Unknown);
    let z = g.add_value("z", ValueType::Unknown);
    g.add_node("mm", Op::Nn(NnOp::MatMul), vec![Some(x), Some(w)], vec![Some(y)]);
    g.add_node("div", Op::Elementwise(ElementwiseOp::Binary(Binary::Div)), vec![Some(y), Some(d)], vec![Some(z)]);
    g.inputs = vec![x];
    g.outputs = vec![z];
    assert_eq!(check(g, t(&[2, 3, 4], 3)), ["MatMul"]);
}

#[test]
fn lone_bn_becomes_mul_add_and_shared_outputs_block_folding() {
    let mut g = Graph::new("g");
    let x = g.add_value("x", f32ty(&[2, 3, 4]));
    let y = g.add_value("relu", ValueType::Unknown);
    g.add_node("relu", Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)), vec![Some(x)], vec![Some(y)]);
    let z = bn(&mut g, y, 3, 1);
    g.inputs = vec![x];
    g.outputs = vec![z];
    assert_eq!(check(g, t(&[2, 3, 4], 2)), ["Relu", "Mul", "Add"]);

    // The conv output is also a graph output: the BN cannot fold into it.
    let mut g = Graph::new("g");
    let x = g.add_value("x", f32ty(&[1, 2, 3, 3]));
    let w = g.add_const("w", t(&[3, 2, 1, 1], 1));
    let y = g.add_value("conv_out", ValueType::Unknown);
    g.add_node(
        "conv",
        Op::Nn(NnOp::Conv(ConvAttrs { window: Window::default(), group: 1 })),
        vec![Some(x), Some(w)],
        vec![Some(y)],
    );
    let z = bn(&mut g, y, 3, 1);
    g.inputs = vec![x];
    g.outputs = vec![z, y];
    assert_eq!(check(g, t(&[1, 2, 3, 3], 2)), ["Conv", "Mul", "Add"]);
}

#[test]
fn scalar_scale_before_a_conv_moves_into_its_weights() {
    for div in [false, true] {
        let mut g = Graph::new("g");
        let x = g.add_value("x", f32ty(&[1, 2, 4, 4]));
        let c = g.add_const("c", Tensor::scalar(0.5f32));
        let v = g.add_value("v", ValueType::Unknown);
        let op = if div { Binary::Div } else { Binary::Mul };
        g.add_node("scale", Op::Elementwise(ElementwiseOp::Binary(op)), vec![Some(x), Some(c)], vec![Some(v)]);
        let w = g.add_const("w", t(&[3, 2, 3, 3], 1));
        let y = g.add_value("y", ValueType::Unknown);
        g.add_node(
            "conv",
            Op::Nn(NnOp::Conv(ConvAttrs { window: conv_window(), group: 1 })),
            vec![Some(v), Some(w)],
            vec![Some(y)],
        );
        g.inputs = vec![x];
        g.outputs = vec![y];
        assert_eq!(check(g, t(&[1, 2, 4, 4], 2)), ["Conv"]);
    }
}

/// One affine op after the linear op, for the randomized test.
#[derive(Clone, Copy, Debug)]
enum Step {
    Bn,
    MulChannel,
    MulScalar,
    DivScalar,
    AddChannel,
    SubChannel,
    SubFromChannel,
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        Just(Step::Bn),
        Just(Step::MulChannel),
        Just(Step::MulScalar),
        Just(Step::DivScalar),
        Just(Step::AddChannel),
        Just(Step::SubChannel),
        Just(Step::SubFromChannel),
    ]
}

/// Appends `step` on `y` (channels `m` along axis 1 of a rank-`rank` output, or along the last
/// axis when `last`).
fn append(g: &mut Graph, y: ValueId, s: Step, m: usize, rank: usize, last: bool, seed: u64) -> ValueId {
    if let Step::Bn = s {
        return bn(g, y, m, seed);
    }
    let mut shape = vec![m];
    if !last {
        shape.resize(rank - 1, 1);
    }
    let channel = t(&shape, seed);
    let scalar = Tensor::scalar(0.75f32);
    let (op, k, k_first) = match s {
        Step::MulChannel => (Binary::Mul, channel, seed.is_multiple_of(2)),
        Step::MulScalar => (Binary::Mul, scalar, false),
        Step::DivScalar => (Binary::Div, scalar, false),
        Step::AddChannel => (Binary::Add, channel, seed % 2 == 1),
        Step::SubChannel => (Binary::Sub, channel, false),
        Step::SubFromChannel | Step::Bn => (Binary::Sub, channel, true),
    };
    let k = g.add_const("k", k);
    let out = g.add_value("out", ValueType::Unknown);
    let inputs = if k_first { vec![Some(k), Some(y)] } else { vec![Some(y), Some(k)] };
    g.add_node("affine", Op::Elementwise(ElementwiseOp::Binary(op)), inputs, vec![Some(out)]);
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Conv / ConvTranspose of random geometry and groups, then random affine steps: all fold
    /// into the one op and the output is unchanged.
    #[test]
    fn random_conv_affine_chains_fold(
        transpose: bool,
        group in 1usize..4,
        cg in 1usize..4,
        mg in 1usize..4,
        k in 1usize..4,
        hw in 1usize..6,
        bias: bool,
        steps in proptest::collection::vec(step(), 1..4),
        seed in 0u64..1000,
    ) {
        let (cin, m) = (cg * group, mg * group);
        let mut g = Graph::new("g");
        let x = g.add_value("x", f32ty(&[2, cin, hw, hw]));
        let (op, w) = if transpose {
            let attrs = ConvTransposeAttrs { window: Window::default(), group, output_padding: vec![], output_shape: None };
            (Op::Nn(NnOp::ConvTranspose(attrs)), t(&[cin, mg, k, k], seed))
        } else {
            let window = Window { pads: vec![k / 2; 4], ..Window::default() };
            (Op::Nn(NnOp::Conv(ConvAttrs { window, group })), t(&[m, cg, k, k], seed))
        };
        let w = g.add_const("w", w);
        let b = g.add_const("b", t(&[m], seed + 1));
        let mut y = g.add_value("y", ValueType::Unknown);
        let inputs = if bias { vec![Some(x), Some(w), Some(b)] } else { vec![Some(x), Some(w)] };
        g.add_node("lin", op, inputs, vec![Some(y)]);
        for (i, s) in steps.iter().enumerate() {
            y = append(&mut g, y, *s, m, 4, false, seed + 10 + i as u64);
        }
        g.inputs = vec![x];
        g.outputs = vec![y];
        let ops = check(g, t(&[2, cin, hw, hw], seed + 2));
        proptest::prop_assert_eq!(ops, [if transpose { "ConvTranspose" } else { "Conv" }]);
    }

    /// Gemm (any transposition, alpha, beta, C shape) and 2-D MatMul, then random affine steps
    /// along the output columns.
    #[test]
    fn random_gemm_affine_chains_fold(
        matmul: bool,
        trans_a: bool,
        trans_b: bool,
        rows in 1usize..5,
        kk in 1usize..5,
        n in 1usize..5,
        c_shape in 0usize..5,
        steps in proptest::collection::vec(step(), 1..4),
        seed in 0u64..1000,
    ) {
        let mut g = Graph::new("g");
        let a_shape = if trans_a && !matmul { [kk, rows] } else { [rows, kk] };
        let x = g.add_value("x", f32ty(&a_shape));
        let w_shape = if trans_b && !matmul { [n, kk] } else { [kk, n] };
        let w = g.add_const("w", t(&w_shape, seed));
        let mut y = g.add_value("y", ValueType::Unknown);
        if matmul {
            g.add_node("lin", Op::Nn(NnOp::MatMul), vec![Some(x), Some(w)], vec![Some(y)]);
        } else {
            let c = match c_shape {
                0 => None,
                1 => Some(t(&[n], seed + 1)),
                2 => Some(t(&[1, n], seed + 1)),
                3 => Some(t(&[rows, n], seed + 1)),
                _ => Some(Tensor::scalar(0.5f32)),
            };
            let mut inputs = vec![Some(x), Some(w)];
            if let Some(c) = c {
                inputs.push(Some(g.add_const("c", c)));
            }
            let op = Op::Nn(NnOp::Gemm { alpha: 0.5, beta: 1.5, trans_a, trans_b });
            g.add_node("lin", op, inputs, vec![Some(y)]);
        }
        for (i, s) in steps.iter().enumerate() {
            y = append(&mut g, y, *s, n, 2, false, seed + 10 + i as u64);
        }
        g.inputs = vec![x];
        g.outputs = vec![y];
        let ops = check(g, t(&a_shape, seed + 2));
        proptest::prop_assert_eq!(ops.len(), 1, "{:?}", ops);
    }
}
