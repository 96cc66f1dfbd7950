//! A QDQ model built in code, in the form TFLite-converted and post-training-quantized models
//! take: every activation QuantizeLinear -> DequantizeLinear (int8, per tensor), weights int8
//! per output channel behind DequantizeLinear, int32 biases, Relu/Clip before the Quantize.
//! Conv 3x3 (+ReLU6) -> depthwise 3x3 stride 2 (+Relu) -> 1x1 Conv, Add with the depthwise
//! output, Mul by itself -> MaxPool -> AveragePool -> HardSwish, Concat with the AveragePool's
//! output (other scale) -> GlobalAveragePool -> Flatten -> Gemm -> Softmax (output scale 1/256,
//! zero point -128).

use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::nn::{ConvAttrs, GlobalPool, NnOp, PoolAttrs, PoolKind, SoftmaxAttrs, SoftmaxKind, Window};
use mote_ir::ops::quant::QuantOp;
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{DType, Graph, Op, Tensor, TensorType, ValueId, ValueType};

struct B {
    g: Graph,
    n: usize,
    /// uint8 activations (ONNX Runtime's default) instead of int8.
    u8: bool,
}

impl B {
    fn v(&mut self) -> ValueId {
        self.n += 1;
        self.g.add_value(format!("v{}", self.n), ValueType::Unknown)
    }

    fn c(&mut self, t: Tensor) -> ValueId {
        self.n += 1;
        self.g.add_const(format!("c{}", self.n), t)
    }

    fn node(&mut self, op: Op, ins: &[ValueId]) -> ValueId {
        let y = self.v();
        let name = format!("n{}", self.n);
        self.g.add_node(name, op, ins.iter().map(|&v| Some(v)).collect(), vec![Some(y)]);
        y
    }

    /// QuantizeLinear then DequantizeLinear with (scale, zero point): the int8 value and the
    /// float one.
    fn qdq(&mut self, x: ValueId, scale: f32, zp: i8) -> ValueId {
        let z = if self.u8 { Tensor::scalar((zp as i32 + 128) as u8) } else { Tensor::scalar(zp) };
        let (s, z) = (self.c(Tensor::scalar(scale)), self.c(z));
        let q = self.node(
            Op::Quant(QuantOp::Quantize {
                axis: 1,
                block_size: 0,
                output_dtype: None,
                precision: None,
                saturate: true,
            }),
            &[x, s, z],
        );
        self.node(Op::Quant(QuantOp::Dequantize { axis: 1, block_size: 0, output_dtype: None }), &[q, s, z])
    }

    /// Weights `dims` (values from `seed`) per channel along `axis`, dequantized.
    fn weight(&mut self, dims: &[usize], axis: i64, seed: usize) -> (ValueId, Vec<f32>) {
        let n: usize = dims.iter().product();
        let w: Vec<i8> = (0..n).map(|i| ((i * seed + 7) % 255) as i32 - 127).map(|v| v as i8).collect();
        let ch = dims[axis as usize];
        let scales: Vec<f32> = (0..ch).map(|o| 0.002 + 0.0007 * ((o * 5 + seed) % 11) as f32).collect();
        let wt = self.c(Tensor::from_vec(dims.to_vec(), w).unwrap());
        let s = self.c(Tensor::from_vec(vec![ch], scales.clone()).unwrap());
        let z = self.c(Tensor::from_vec(vec![ch], vec![0i8; ch]).unwrap());
        (self.node(Op::Quant(QuantOp::Dequantize { axis, block_size: 0, output_dtype: None }), &[wt, s, z]), scales)
    }

    fn bias(&mut self, x_scale: f32, w_scales: &[f32], seed: i32) -> ValueId {
        let m = w_scales.len();
        let b: Vec<i32> = (0..m as i32).map(|o| (o * seed * 97) % 3000 - 1500).collect();
        let s: Vec<f32> = w_scales.iter().map(|w| x_scale * w).collect();
        let bt = self.c(Tensor::from_vec(vec![m], b).unwrap());
        let st = self.c(Tensor::from_vec(vec![m], s).unwrap());
        let z = self.c(Tensor::from_vec(vec![m], vec![0i32; m]).unwrap());
        self.node(Op::Quant(QuantOp::Dequantize { axis: 0, block_size: 0, output_dtype: None }), &[bt, st, z])
    }

    fn conv(
        &mut self,
        x: ValueId,
        x_scale: f32,
        dims: [usize; 4],
        group: usize,
        stride: usize,
        pad: usize,
        seed: usize,
    ) -> ValueId {
        let (w, ws) = self.weight(&dims, 0, seed);
        let b = self.bias(x_scale, &ws, seed as i32);
        let window = Window { pads: vec![pad; 4], strides: vec![stride; 2], ..Window::default() };
        self.node(Op::Nn(NnOp::Conv(ConvAttrs { window, group })), &[x, w, b])
    }
}

/// The graph: input `x f32 [1, 8, 10, 10]`, output the f32 class probabilities `[1, 5]`.
pub fn qdq_graph() -> Graph {
    build(false)
}

/// The same with uint8 activations (zero points shifted by 128: the same reals).
pub fn qdq_graph_u8() -> Graph {
    build(true)
}

fn build(u8: bool) -> Graph {
    let mut b = B { g: Graph::new("qdq"), n: 0, u8 };
    let x = b.g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::F32, &[1, 8, 10, 10])));
    b.g.inputs.push(x);
    let xs = 0.04;
    let x = b.qdq(x, xs, -3);
    // 3x3 conv, 8 -> 12, ReLU6.
    let c1 = b.conv(x, xs, [12, 8, 3, 3], 1, 1, 1, 31);
    let (lo, hi) = (b.c(Tensor::scalar(0f32)), b.c(Tensor::scalar(6f32)));
    let r1 = b.node(Op::Elementwise(ElementwiseOp::Clip), &[c1, lo, hi]);
    let s1 = 0.03;
    let r1 = b.qdq(r1, s1, -128);
    // Depthwise 3x3 stride 2, Relu.
    let c2 = b.conv(r1, s1, [12, 1, 3, 3], 12, 2, 1, 17);
    let r2 = b.node(Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)), &[c2]);
    let s2 = 0.02;
    let r2 = b.qdq(r2, s2, -128);
    // 1x1 conv, no activation; Add with the depthwise output; Mul by itself.
    let c3 = b.conv(r2, s2, [12, 12, 1, 1], 1, 1, 0, 53);
    let s3 = 0.05;
    let c3 = b.qdq(c3, s3, 4);
    let a = b.node(Op::Elementwise(ElementwiseOp::Binary(Binary::Add)), &[c3, r2]);
    let a = b.qdq(a, 0.06, -2);
    let m = b.node(Op::Elementwise(ElementwiseOp::Binary(Binary::Mul)), &[a, a]);
    let m = b.qdq(m, 0.09, -100);
    // Pools: max 2x2 stride 1, average 2x2 stride 2 with padding, then global average.
    let pw = Window { kernel_shape: Some(vec![2, 2]), ..Window::default() };
    let mp = b.node(Op::Nn(NnOp::Pool(PoolAttrs { kind: PoolKind::Max { col_major: false }, window: pw })), &[m]);
    let mp = b.qdq(mp, 0.09, -100);
    let aw =
        Window { kernel_shape: Some(vec![2, 2]), strides: vec![2, 2], pads: vec![0, 0, 1, 1], ..Window::default() };
    let ap = b.node(
        Op::Nn(NnOp::Pool(PoolAttrs { kind: PoolKind::Average { count_include_pad: false }, window: aw })),
        &[mp],
    );
    let ap = b.qdq(ap, 0.09, -100);
    let hs = b.node(Op::Elementwise(ElementwiseOp::Unary(Unary::HardSwish)), &[ap]);
    let hs = b.qdq(hs, 0.08, -20);
    // Concat along channels: hs has the output's parameters (a copy), ap other ones (a table).
    let cat = b.node(Op::Shape(ShapeOp::Concat { axis: 1 }), &[hs, ap]);
    let cat = b.qdq(cat, 0.08, -20);
    let gp = b.node(Op::Nn(NnOp::GlobalPool(GlobalPool::Average)), &[cat]);
    let gs = 0.07;
    let gp = b.qdq(gp, gs, -90);
    let f = b.node(Op::Shape(ShapeOp::Flatten { axis: 1 }), &[gp]);
    // Gemm 24 -> 5 (weights [5, 24], transB).
    let (w, ws) = b.weight(&[5, 24], 0, 41);
    let bias = b.bias(gs, &ws, 3);
    let fc = b.node(Op::Nn(NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true }), &[f, w, bias]);
    let fc = b.qdq(fc, 0.1, 5);
    let sm =
        b.node(Op::Nn(NnOp::Softmax(SoftmaxAttrs { kind: SoftmaxKind::Softmax, axis: -1, coerce_2d: false })), &[fc]);
    let y = b.qdq(sm, 1.0 / 256.0, -128);
    b.g.outputs.push(y);
    b.g
}

/// Pruned pointwise convolutions for the block-sparse int8 kernel: `x f32 [1, 64, 12, 12]` ->
/// 1x1 conv 64 -> 64 with 70% of its blocks of four input channels zero (+Relu) -> 1x1 conv
/// 64 -> 40 with 50% of its values zero, unstructured (too few empty blocks: dense).
pub fn pruned_pointwise_graph() -> Graph {
    let mut b = B { g: Graph::new("pruned_q8"), n: 0, u8: false };
    let x = b.g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::F32, &[1, 64, 12, 12])));
    b.g.inputs.push(x);
    let xs = 0.04;
    let x = b.qdq(x, xs, -3);
    let pw = |b: &mut B, x, xs, m: usize, c: usize, keep: &dyn Fn(usize, usize) -> bool, seed| {
        let w: Vec<i8> = (0..m * c)
            .map(|i| if keep(i / c, i % c) { (((i * seed + 7) % 255) as i32 - 127) as i8 } else { 0 })
            .collect();
        let scales: Vec<f32> = (0..m).map(|o| 0.002 + 0.0007 * ((o * 5 + seed) % 11) as f32).collect();
        let wt = b.c(Tensor::from_vec(vec![m, c, 1, 1], w).unwrap());
        let s = b.c(Tensor::from_vec(vec![m], scales.clone()).unwrap());
        let z = b.c(Tensor::from_vec(vec![m], vec![0i8; m]).unwrap());
        let w = b.node(Op::Quant(QuantOp::Dequantize { axis: 0, block_size: 0, output_dtype: None }), &[wt, s, z]);
        let bias = b.bias(xs, &scales, seed as i32);
        b.node(Op::Nn(NnOp::Conv(ConvAttrs { window: Window::default(), group: 1 })), &[x, w, bias])
    };
    let c1 = pw(&mut b, x, xs, 64, 64, &|o, c| (o * 7 + (c / 4) * 13) % 10 >= 7, 31);
    let r1 = b.node(Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)), &[c1]);
    let s1 = 0.03;
    let r1 = b.qdq(r1, s1, -128);
    let c2 = pw(&mut b, r1, s1, 40, 64, &|o, c| (o * 3 + c) % 2 == 0, 17);
    let y = b.qdq(c2, 0.05, 4);
    b.g.outputs.push(y);
    b.g
}

/// An input in about [-2, 4].
pub fn qdq_input() -> Tensor {
    let v: Vec<f32> = (0..800).map(|i| ((i * 73) % 101) as f32 / 101.0 * 6.0 - 2.0).collect();
    Tensor::from_vec(vec![1, 8, 10, 10], v).unwrap()
}
