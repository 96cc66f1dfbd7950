//! A quantized model built in code: QuantizeLinear (u8 per tensor; int4 blocked; float8
//! without saturation), QLinearConv (grouped, strided, padded, per-channel i8 weights with zero
//! points at the range ends, bias), ConvInteger (1x1), DequantizeLinear (per tensor, blocked
//! int4), MatMulInteger and QLinearMatMul with constant B (packed for the integer GEMM; batched
//! A, per-column zero points and scales), MatMulInteger with a run-time B, DynamicQuantizeLinear.

use mote_ir::ops::nn::{ConvAttrs, Window};
use mote_ir::ops::quant::QuantOp;
use mote_ir::{DType, F8E4M3Fn, Graph, I4, Op, Tensor, TensorType, ValueType};

fn bytes(n: usize, mul: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * mul + 11) % 256) as u8).collect()
}

/// The graph: inputs `x f32 [1, 4, 6, 6]`, `a u8 [2, 3, 5]`, `bt i8 [5, 2]`.
pub fn quant_graph() -> Graph {
    let mut g = Graph::new("quant");
    let x = g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::F32, &[1, 4, 6, 6])));
    let a = g.add_value("a", ValueType::Tensor(TensorType::concrete(DType::U8, &[2, 3, 5])));
    let bt = g.add_value("bt", ValueType::Tensor(TensorType::concrete(DType::I8, &[5, 2])));
    g.inputs.extend([x, a, bt]);
    let v = |g: &mut Graph, name: &str| g.add_value(name, ValueType::Unknown);
    let q = |axis, block_size, output_dtype, saturate| {
        Op::Quant(QuantOp::Quantize { axis, block_size, output_dtype, precision: None, saturate })
    };
    let dq = |axis, block_size| Op::Quant(QuantOp::Dequantize { axis, block_size, output_dtype: None });
    let scalar = |g: &mut Graph, name: &str, t: Tensor| g.add_const(name, t);

    // x -> u8 (scale 0.05, zero point 128).
    let xs = scalar(&mut g, "xs", Tensor::scalar(0.05f32));
    let xz = scalar(&mut g, "xz", Tensor::scalar(128u8));
    let xq = v(&mut g, "xq");
    g.add_node("quantize", q(1, 0, None, true), vec![Some(x), Some(xs), Some(xz)], vec![Some(xq)]);

    // QLinearConv: 4 -> 6 channels in 2 groups, 3x3, stride 2, pads 1, per-channel weights.
    let w: Vec<i8> = bytes(6 * 2 * 9, 37).into_iter().map(|b| b as i8).collect();
    let w = g.add_const("w", Tensor::from_vec(vec![6, 2, 3, 3], w).unwrap());
    let ws = g.add_const("ws", Tensor::from_vec(vec![6], vec![0.01f32, 0.02, 0.005, 0.03, 0.015, 0.008]).unwrap());
    let wz = g.add_const("wz", Tensor::from_vec(vec![6], vec![0i8, -128, 127, 3, -5, 0]).unwrap());
    let ys = scalar(&mut g, "ys", Tensor::scalar(0.07f32));
    let yz = scalar(&mut g, "yz", Tensor::scalar(100u8));
    let bias = g.add_const("bias", Tensor::from_vec(vec![6], vec![100i32, -2000, 0, 77, 5000, -1]).unwrap());
    let window = Window { pads: vec![1, 1, 1, 1], strides: vec![2, 2], ..Window::default() };
    let yq = v(&mut g, "yq");
    g.add_node(
        "qconv",
        Op::Quant(QuantOp::QLinearConv(ConvAttrs { window, group: 2 })),
        vec![Some(xq), Some(xs), Some(xz), Some(w), Some(ws), Some(wz), Some(ys), Some(yz), Some(bias)],
        vec![Some(yq)],
    );
    let y = v(&mut g, "y");
    g.add_node("dequantize", dq(1, 0), vec![Some(yq), Some(ys), Some(yz)], vec![Some(y)]);

    // ConvInteger 1x1: 4 -> 3 channels, u8 weights, one zero point each side.
    let w1 = g.add_const("w1", Tensor::from_vec(vec![3, 4, 1, 1], bytes(12, 91)).unwrap());
    let w1z = scalar(&mut g, "w1z", Tensor::scalar(255u8));
    let ci = v(&mut g, "ci");
    g.add_node(
        "conv_integer",
        Op::Quant(QuantOp::ConvInteger(ConvAttrs { window: Window::default(), group: 1 })),
        vec![Some(xq), Some(w1), Some(xz), Some(w1z)],
        vec![Some(ci)],
    );

    // Blocked int4 (blocks of 4 along the width) and back.
    let bs: Vec<f32> = (0..4 * 6 * 2).map(|i| 0.1 + (i % 7) as f32 * 0.05).collect();
    let bs = g.add_const("bs", Tensor::from_vec(vec![1, 4, 6, 2], bs).unwrap());
    let bz: Vec<I4> = (0..48).map(|i| I4::wrapping_from(i % 5 - 2)).collect();
    let bz = g.add_const("bz", Tensor::from_vec(vec![1, 4, 6, 2], bz).unwrap());
    let x4 = v(&mut g, "x4");
    g.add_node("quantize_int4", q(3, 4, None, true), vec![Some(x), Some(bs), Some(bz)], vec![Some(x4)]);
    let d4 = v(&mut g, "d4");
    g.add_node("dequantize_int4", dq(3, 4), vec![Some(x4), Some(bs), Some(bz)], vec![Some(d4)]);

    // float8 without saturation (large values become NaN).
    let f8z = scalar(&mut g, "f8z", Tensor::from_vec(vec![], vec![F8E4M3Fn::default()]).unwrap());
    let f8s = scalar(&mut g, "f8s", Tensor::scalar(0.001f32));
    let x8 = v(&mut g, "x8");
    g.add_node("quantize_f8", q(1, 0, None, false), vec![Some(x), Some(f8s), Some(f8z)], vec![Some(x8)]);

    // MatMulInteger with a constant i8 B [5, 4] (packed), per-column zero points, batched A.
    let b: Vec<i8> = bytes(20, 53).into_iter().map(|b| b as i8).collect();
    let b = g.add_const("b", Tensor::from_vec(vec![5, 4], b).unwrap());
    let az = scalar(&mut g, "az", Tensor::scalar(7u8));
    let bzc = g.add_const("bzc", Tensor::from_vec(vec![4], vec![-128i8, 127, 0, 9]).unwrap());
    let mi = v(&mut g, "mi");
    g.add_node(
        "matmul_integer",
        Op::Quant(QuantOp::MatMulInteger),
        vec![Some(a), Some(b), Some(az), Some(bzc)],
        vec![Some(mi)],
    );
    // ... and with a run-time B, per-row zero points of A.
    let azr = g.add_const("azr", Tensor::from_vec(vec![3], vec![0u8, 255, 128]).unwrap());
    let mr = v(&mut g, "mr");
    g.add_node(
        "matmul_integer_rt",
        Op::Quant(QuantOp::MatMulInteger),
        vec![Some(a), Some(bt), Some(azr), None],
        vec![Some(mr)],
    );

    // QLinearMatMul with a constant u8 B and per-column scales, i8 output.
    let bu = g.add_const("bu", Tensor::from_vec(vec![5, 4], bytes(20, 29)).unwrap());
    let a_s = scalar(&mut g, "a_s", Tensor::scalar(0.02f32));
    let b_s = g.add_const("b_s", Tensor::from_vec(vec![4], vec![0.01f32, 0.03, 0.002, 0.05]).unwrap());
    let bu_z = scalar(&mut g, "bu_z", Tensor::scalar(120u8));
    let o_s = scalar(&mut g, "o_s", Tensor::scalar(0.04f32));
    let o_z = scalar(&mut g, "o_z", Tensor::scalar(-3i8));
    let qm = v(&mut g, "qm");
    g.add_node(
        "qlinear_matmul",
        Op::Quant(QuantOp::QLinearMatMul),
        vec![Some(a), Some(a_s), Some(az), Some(bu), Some(b_s), Some(bu_z), Some(o_s), Some(o_z)],
        vec![Some(qm)],
    );

    let (dy, ds, dz) = (v(&mut g, "dy"), v(&mut g, "ds"), v(&mut g, "dz"));
    g.add_node("dynamic", Op::Quant(QuantOp::DynamicQuantize), vec![Some(x)], vec![Some(dy), Some(ds), Some(dz)]);
    g.outputs.extend([y, ci, d4, x8, mi, mr, qm, dy, ds, dz]);
    g
}

/// Inputs of [`quant_graph`].
pub fn quant_inputs() -> Vec<mote_ir::Value> {
    let x: Vec<f32> = (0..144).map(|i| ((i * 7919 % 97) as f32 / 97.0 - 0.45) * 9.0).collect();
    let bt: Vec<i8> = bytes(10, 71).into_iter().map(|b| b as i8).collect();
    vec![
        mote_ir::Value::Tensor(Tensor::from_vec(vec![1, 4, 6, 6], x).unwrap()),
        mote_ir::Value::Tensor(Tensor::from_vec(vec![2, 3, 5], bytes(30, 61)).unwrap()),
        mote_ir::Value::Tensor(Tensor::from_vec(vec![5, 2], bt).unwrap()),
    ]
}
