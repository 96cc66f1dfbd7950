//! Small models built in code (so these tests run without the shared data): Conv + Relu,
//! MaxPool, Transpose, Reshape, Gemm + bias, Add, Softmax; and a wider CNN whose steps are large
//! enough to split into several tasks (the multi-threaded runtime).

use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::nn::{ConvAttrs, GlobalPool, NnOp, PoolAttrs, PoolKind, SoftmaxAttrs, SoftmaxKind, Window};
use mote_ir::ops::shape::ShapeOp;
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
