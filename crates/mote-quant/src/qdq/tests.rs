//! QDQ insertion on a small graph built in code: the contract, and agreement with f32.

use std::collections::BTreeMap;

use mote_core::DType;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::nn::{ConvAttrs, GlobalPool, NnOp, Window};
use mote_ir::ops::quant::QuantOp;
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Dim, Graph, Op, Tensor, TensorType, Value, ValueType};

use super::*;
use crate::observe::{Histogram, Method};
use crate::rng::Rng;

fn f32_type(shape: &[usize]) -> ValueType {
    ValueType::Tensor(TensorType {
        dtype: Some(DType::F32),
        shape: Some(shape.iter().map(|&d| Dim::Known(d)).collect()),
    })
}

fn random(r: &mut Rng, shape: Vec<usize>, scale: f64) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape, (0..n).map(|_| ((r.uniform() - 0.5) * 2.0 * scale) as f32).collect::<Vec<f32>>()).unwrap()
}

/// x[1,3,8,8] -> Conv(8, 3x3, pad 1) -> Relu -> depthwise Conv -> Clip(0, 6) -> Add(x1) ->
/// GlobalAveragePool -> Flatten -> Gemm(transB, 5) -> Sigmoid -> y
fn model() -> Graph {
    let mut r = Rng::new(1);
    let mut g = Graph::new("t");
    let x = g.add_value("x", f32_type(&[1, 3, 8, 8]));
    g.inputs.push(x);
    let conv =
        |group| Op::Nn(NnOp::Conv(ConvAttrs { window: Window { pads: vec![1, 1, 1, 1], ..Window::default() }, group }));
    let w1 = g.add_const("w1", random(&mut r, vec![8, 3, 3, 3], 0.5));
    let b1 = g.add_const("b1", random(&mut r, vec![8], 0.2));
    let c1 = g.add_value("c1", ValueType::Unknown);
    let a1 = g.add_value("a1", ValueType::Unknown);
    g.add_node("conv1", conv(1), vec![Some(x), Some(w1), Some(b1)], vec![Some(c1)]);
    g.add_node("relu1", Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)), vec![Some(c1)], vec![Some(a1)]);
    let w2 = g.add_const("w2", random(&mut r, vec![8, 1, 3, 3], 0.7));
    let b2 = g.add_const("b2", random(&mut r, vec![8], 0.1));
    let (lo, hi) = (g.add_const("lo", Tensor::scalar(0f32)), g.add_const("hi", Tensor::scalar(6f32)));
    let c2 = g.add_value("c2", ValueType::Unknown);
    let a2 = g.add_value("a2", ValueType::Unknown);
    g.add_node("dw", conv(8), vec![Some(a1), Some(w2), Some(b2)], vec![Some(c2)]);
    g.add_node("clip", Op::Elementwise(ElementwiseOp::Clip), vec![Some(c2), Some(lo), Some(hi)], vec![Some(a2)]);
    let s = g.add_value("s", ValueType::Unknown);
    g.add_node("add", Op::Elementwise(ElementwiseOp::Binary(Binary::Add)), vec![Some(a2), Some(a1)], vec![Some(s)]);
    let p = g.add_value("p", ValueType::Unknown);
    g.add_node("gap", Op::Nn(NnOp::GlobalPool(GlobalPool::Average)), vec![Some(s)], vec![Some(p)]);
    let f = g.add_value("f", ValueType::Unknown);
    g.add_node("flat", Op::Shape(ShapeOp::Flatten { axis: 1 }), vec![Some(p)], vec![Some(f)]);
    let w3 = g.add_const("w3", random(&mut r, vec![5, 8], 0.8));
    let b3 = g.add_const("b3", random(&mut r, vec![5], 0.3));
    let l = g.add_value("l", ValueType::Unknown);
    let gemm = Op::Nn(NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true });
    g.add_node("fc", gemm, vec![Some(f), Some(w3), Some(b3)], vec![Some(l)]);
    let y = g.add_value("y", ValueType::Unknown);
    g.add_node("sig", Op::Elementwise(ElementwiseOp::Unary(Unary::Sigmoid)), vec![Some(l)], vec![Some(y)]);
    g.outputs.push(y);
    mote_interp::infer(&mut g).unwrap();
    g
}

fn samples(n: usize) -> Vec<Vec<(String, Value)>> {
    let mut r = Rng::new(5);
    (0..n).map(|_| vec![("x".to_string(), Value::Tensor(random(&mut r, vec![1, 3, 8, 8], 1.0)))]).collect()
}

/// Ranges by min/max of every f32 value over the samples.
fn ranges(g: &Graph, data: &[Vec<(String, Value)>]) -> BTreeMap<String, (f32, f32)> {
    let s = mote_interp::Session::new(g).unwrap();
    let mut h: BTreeMap<String, Histogram> = BTreeMap::new();
    for inputs in data {
        for (n, v) in inputs {
            if let Value::Tensor(t) = v {
                h.entry(n.clone()).or_default().add(t.as_slice::<f32>().unwrap());
            }
        }
        s.run_named_observed(inputs.clone(), &mut |node, outs, _| {
            for (slot, v) in node.outputs.iter().zip(outs) {
                if let (Some(id), Some(Value::Tensor(t))) = (slot, v)
                    && let Some(xs) = t.as_slice::<f32>()
                {
                    h.entry(g.value(*id).name.clone()).or_default().add(xs);
                }
            }
        })
        .unwrap();
    }
    h.iter().map(|(k, v)| (k.clone(), Method::MinMax.range(v))).collect()
}

fn producer<'a>(g: &'a Graph, name: &str) -> &'a mote_ir::Node {
    let id = g.find_value(name).unwrap_or_else(|| panic!("no value {name}"));
    g.nodes.iter().find(|n| n.outputs.contains(&Some(id))).unwrap_or_else(|| panic!("{name} has no producer"))
}

fn init<'a>(g: &'a Graph, n: &mote_ir::Node, i: usize) -> &'a Tensor {
    g.value(n.input(i).unwrap()).init.as_ref().unwrap()
}

#[test]
fn inserted_nodes_follow_the_contract() {
    let g = model();
    let data = samples(8);
    let q = quantize(&g, &ranges(&g, &data), &QdqOptions::default()).unwrap();
    let qg = &q.graph;
    let names: Vec<&str> = q.nodes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["conv1", "dw", "add", "gap", "fc", "sig"]);
    // Activations quantized: input, fused outputs (after Relu / Clip), add, gap, flatten, fc, sig.
    let tensors: Vec<&str> = q.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tensors, ["x", "a1", "a2", "s", "p", "f", "l", "y"]);
    assert!(
        !tensors.contains(&"c1") && !tensors.contains(&"c2"),
        "no quantization between an op and its fused activation"
    );
    // Every activation Q has an i8 scalar zero point and the DQ the same parameters.
    for t in &q.tensors {
        let dq = producer(qg, &t.dq);
        assert!(matches!(dq.op, Op::Quant(QuantOp::Dequantize { .. })), "{}", t.name);
        let qn = producer(qg, &qg.value(dq.input(0).unwrap()).name);
        assert!(matches!(qn.op, Op::Quant(QuantOp::Quantize { .. })));
        assert_eq!(init(qg, qn, 2).dtype(), DType::I8);
        assert_eq!(init(qg, qn, 2).shape(), &[] as &[usize]);
        assert_eq!(init(qg, qn, 1), init(qg, dq, 1));
        let (lo, hi) = t.params.range();
        assert!(lo <= 0.0 && hi >= 0.0, "{}: range [{lo}, {hi}] must contain 0", t.name);
    }
    // The view after the pool reuses its parameters; sigmoid has TFLite's fixed output.
    let by = |n: &str| q.tensors.iter().find(|t| t.name == n).unwrap().params;
    assert_eq!(by("f"), by("p"));
    assert_eq!(by("y"), QParams { scale: 1.0 / 256.0, zero_point: -128 });
    // Weights: int8 symmetric per output channel, bias int32 at s_x * s_w.
    for (node, m, axis) in [("conv1", 8, 0), ("dw", 8, 0), ("fc", 5, 0)] {
        let n = qg.nodes.iter().find(|n| n.name == node).unwrap();
        let wdq = producer(qg, &qg.value(n.input(1).unwrap()).name);
        assert_eq!(wdq.op, Op::Quant(QuantOp::Dequantize { axis, block_size: 0, output_dtype: None }));
        let w = init(qg, wdq, 0);
        assert_eq!(w.dtype(), DType::I8);
        assert!(w.as_slice::<i8>().unwrap().iter().all(|&v| v >= -127));
        let s_w = init(qg, wdq, 1).as_slice::<f32>().unwrap().to_vec();
        assert_eq!(s_w.len(), m);
        assert!(init(qg, wdq, 2).as_slice::<i8>().unwrap().iter().all(|&z| z == 0));
        let bdq = producer(qg, &qg.value(n.input(2).unwrap()).name);
        assert_eq!(init(qg, bdq, 0).dtype(), DType::I32);
        assert!(init(qg, bdq, 2).as_slice::<i32>().unwrap().iter().all(|&z| z == 0));
        let x_dq = qg.value(n.input(0).unwrap()).name.clone();
        let s_x = q.tensors.iter().find(|t| t.dq == x_dq).unwrap().params.scale;
        for (sb, sw) in init(qg, bdq, 1).as_slice::<f32>().unwrap().iter().zip(&s_w) {
            assert_eq!(*sb, s_x * sw);
        }
    }
    // The output keeps its name and is f32.
    let out = qg.value(qg.outputs[0]);
    assert_eq!(out.name, "y");
    assert_eq!(out.ty.as_tensor().unwrap().dtype, Some(DType::F32));
}

#[test]
fn qdq_graph_agrees_with_f32() {
    let g = model();
    let data = samples(16);
    let q = quantize(&g, &ranges(&g, &data), &QdqOptions::default()).unwrap();
    let (fs, qs) = (mote_interp::Session::new(&g).unwrap(), mote_interp::Session::new(&q.graph).unwrap());
    let mut worst = 0f32;
    for s in &data {
        let (Value::Tensor(a), Value::Tensor(b)) =
            (&fs.run_named(s.clone()).unwrap()[0], &qs.run_named(s.clone()).unwrap()[0])
        else {
            panic!()
        };
        for (x, y) in a.as_slice::<f32>().unwrap().iter().zip(b.as_slice::<f32>().unwrap()) {
            worst = worst.max((x - y).abs());
        }
    }
    // The output is a sigmoid quantized in steps of 1/256.
    assert!(worst < 0.02, "QDQ output differs from f32 by {worst}");
    assert!(worst > 0.0, "the QDQ graph must actually quantize");
}

#[test]
fn per_tensor_weights_and_kept_float_nodes() {
    let g = model();
    let data = samples(4);
    let mut opts = QdqOptions { per_channel: false, ..QdqOptions::default() };
    opts.keep_float.insert("dw".into());
    let q = quantize(&g, &ranges(&g, &data), &opts).unwrap();
    assert!(q.float_nodes.iter().any(|(n, _)| n == "dw"));
    assert!(!q.nodes.iter().any(|(n, _)| n == "dw"));
    let n = q.graph.nodes.iter().find(|n| n.name == "conv1").unwrap();
    let wdq = producer(&q.graph, &q.graph.value(n.input(1).unwrap()).name);
    assert_eq!(init(&q.graph, wdq, 1).shape(), &[] as &[usize]);
    // The kept-float depthwise conv reads a dequantized input and its weights stay f32.
    let dw = q.graph.nodes.iter().find(|n| n.name == "dw").unwrap();
    assert_eq!(q.graph.value(dw.input(1).unwrap()).name, "w2");
    assert!(q.graph.value(dw.input(0).unwrap()).name.ends_with("/dq"));
}

#[test]
fn weight_quantization_is_symmetric_per_channel() {
    let w = Tensor::from_vec(vec![2, 3], vec![1.0f32, -0.5, 0.25, 0.0, 4.0, -8.0]).unwrap();
    let (q, s) = quantize_weight(&w, 0, true).unwrap();
    assert_eq!(s, vec![1.0 / 127.0, 8.0 / 127.0]);
    assert_eq!(q.as_slice::<i8>().unwrap(), &[127, -64, 32, 0, 64, -127]);
    let (q, s) = quantize_weight(&w, 1, true).unwrap();
    assert_eq!(s, vec![1.0 / 127.0, 4.0 / 127.0, 8.0 / 127.0]);
    assert_eq!(q.as_slice::<i8>().unwrap()[3], 0);
    let (_, s) = quantize_weight(&w, 0, false).unwrap();
    assert_eq!(s, vec![8.0 / 127.0]);
}

#[test]
fn missing_range_is_a_clear_error() {
    let g = model();
    let e = quantize(&g, &BTreeMap::new(), &QdqOptions::default()).unwrap_err().to_string();
    assert!(e.contains("`x`") && e.contains("calibration range"), "{e}");
}

/// BatchNorm folding leaves channels with near-zero weights and a large bias: their weight
/// scale is raised until the bias fits in int32, instead of saturating it.
#[test]
fn bias_of_a_near_zero_channel_is_kept() {
    let mut g = Graph::new("bn");
    let x = g.add_value("x", f32_type(&[1, 3, 8, 8]));
    g.inputs.push(x);
    let mut r = Rng::new(3);
    let mut w = random(&mut r, vec![2, 3, 1, 1], 0.5);
    let wv: Vec<f32> =
        w.as_slice::<f32>().unwrap().iter().enumerate().map(|(i, &v)| if i < 3 { v * 1e-9 } else { v }).collect();
    w = Tensor::from_vec(vec![2, 3, 1, 1], wv).unwrap();
    let (w, b) = (g.add_const("w", w), g.add_const("b", Tensor::from_vec(vec![2], vec![5.0f32, 0.1]).unwrap()));
    let y = g.add_value("y", ValueType::Unknown);
    g.add_node(
        "conv",
        Op::Nn(NnOp::Conv(ConvAttrs { window: Window::default(), group: 1 })),
        vec![Some(x), Some(w), Some(b)],
        vec![Some(y)],
    );
    g.outputs.push(y);
    mote_interp::infer(&mut g).unwrap();
    let data = samples(4);
    let q = quantize(&g, &ranges(&g, &data), &QdqOptions::default()).unwrap();
    let s = mote_interp::Session::new(&q.graph).unwrap();
    let Value::Tensor(out) = &s.run_named(data[0].clone()).unwrap()[0] else { panic!() };
    let ch0 = &out.as_slice::<f32>().unwrap()[..64];
    assert!(ch0.iter().all(|v| (v - 5.0).abs() < 0.05), "channel 0 should stay near its bias 5.0: {:?}", &ch0[..4]);
}
