//! A small model built in code (so these tests run without the shared data): Conv + Relu,
//! MaxPool, Transpose, Reshape, Gemm + bias, Add, Softmax.

use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::nn::{ConvAttrs, NnOp, PoolAttrs, PoolKind, SoftmaxAttrs, SoftmaxKind, Window};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{DType, Graph, Op, Tensor, TensorType, ValueType};

fn seq(n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|i| ((i * 7919 % 97) as f32 / 97.0 - 0.5) * scale).collect()
}

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

/// Seeded input values in [-1, 1).
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn input(shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), seq(n, 2.0)).unwrap()
}

/// An inverted-residual block (the channel-blocked layout's case): pointwise 16 -> 16 + ReLU
/// (`h`), then pointwise 16 -> 24 + ReLU, depthwise 3x3 stride 1 + ReLU, pointwise 24 -> 16,
/// added to `h`, then a depthwise 5x5 stride 2 whose output is the graph output. Input
/// `x [1, 16, 9, 11]`.
#[allow(dead_code)] // used by some of the test binaries that include this module
pub fn blocked_graph() -> Graph {
    let mut g = Graph::new("blocked");
    let t = |d: &[usize]| ValueType::Tensor(TensorType::concrete(DType::F32, d));
    let x = g.add_value("x", t(&[1, 16, 9, 11]));
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
    let h = conv(&mut g, "stem", x, vec![16, 16, 1, 1], 1, 1, 1, true);
    let e = conv(&mut g, "expand", h, vec![24, 16, 1, 1], 1, 1, 1, true);
    let d = conv(&mut g, "dw", e, vec![24, 1, 3, 3], 24, 3, 1, true);
    let p = conv(&mut g, "project", d, vec![16, 24, 1, 1], 1, 1, 1, false);
    let s = g.add_value("sum", ValueType::Unknown);
    g.add_node("add", Op::Elementwise(ElementwiseOp::Binary(Binary::Add)), vec![Some(p), Some(h)], vec![Some(s)]);
    let y = conv(&mut g, "down", s, vec![16, 1, 5, 5], 16, 5, 2, false);
    g.outputs.push(y);
    g
}
