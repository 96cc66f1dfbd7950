//! Dynamic int8 quantization (`mote_compile::dynamic`): the rewrite's structure, its numerics
//! against the f32 graph in the reference interpreter (within the quantization error), the
//! compiled form against the rewritten graph in the interpreter (the same computation), and f16
//! weight storage against f32 (within f16 rounding).

use mote_compile::dynamic::{DynamicInt8, quantize_rows, rewrite};
use mote_compile::{Options, compile, host};
use mote_ir::ops::elementwise::{ElementwiseOp, Unary};
use mote_ir::ops::nn::{ConvAttrs, NnOp, Window};
use mote_ir::ops::quant::QuantOp;
use mote_ir::ops::rnn::{Activation, Direction, RnnAttrs, RnnOp};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{DType, Graph, Op, Tensor, TensorType, Value, ValueType};
use mote_rt::Runtime;
use mote_rt::host::AlignedBuf;

/// Deterministic values in `[-scale/2, scale/2)`.
fn vals(n: usize, seed: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|i| (((i + seed) * 7919 % 263) as f32 / 263.0 - 0.5) * scale).collect()
}

fn t(d: &[usize]) -> ValueType {
    ValueType::Tensor(TensorType::concrete(DType::F32, d))
}

/// x [1, 4, 12] -> Conv (8 channels, bias) -> Relu -> Transpose -> MatMul [8, 6] -> Reshape
/// [12, 6] -> Gemm (transB, alpha 0.5, beta 2, C [5]) -> y [12, 5].
fn layers() -> Graph {
    let mut g = Graph::new("layers");
    let x = g.add_value("x", t(&[1, 4, 12]));
    g.inputs.push(x);
    let w = g.add_const("w", Tensor::from_vec(vec![8, 4, 3], vals(96, 1, 1.0)).unwrap());
    let b = g.add_const("b", Tensor::from_vec(vec![8], vals(8, 2, 0.4)).unwrap());
    let c = g.add_value("c", ValueType::Unknown);
    let window = Window { pads: vec![1, 1], ..Window::default() };
    g.add_node(
        "conv",
        Op::Nn(NnOp::Conv(ConvAttrs { window, group: 1 })),
        vec![Some(x), Some(w), Some(b)],
        vec![Some(c)],
    );
    let r = g.add_value("r", ValueType::Unknown);
    g.add_node("relu", Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)), vec![Some(c)], vec![Some(r)]);
    let tr = g.add_value("tr", ValueType::Unknown);
    g.add_node("transpose", Op::Shape(ShapeOp::Transpose { perm: Some(vec![0, 2, 1]) }), vec![Some(r)], vec![Some(tr)]);
    let w2 = g.add_const("w2", Tensor::from_vec(vec![8, 6], vals(48, 3, 1.2)).unwrap());
    let m = g.add_value("m", ValueType::Unknown);
    g.add_node("matmul", Op::Nn(NnOp::MatMul), vec![Some(tr), Some(w2)], vec![Some(m)]);
    let shape = g.add_const("shape", Tensor::from_vec(vec![2], vec![12i64, 6]).unwrap());
    let f = g.add_value("f", ValueType::Unknown);
    g.add_node("reshape", Op::Shape(ShapeOp::Reshape { allowzero: false }), vec![Some(m), Some(shape)], vec![Some(f)]);
    let w3 = g.add_const("w3", Tensor::from_vec(vec![5, 6], vals(30, 4, 0.8)).unwrap());
    let c3 = g.add_const("c3", Tensor::from_vec(vec![5], vals(5, 5, 0.5)).unwrap());
    let y = g.add_value("y", ValueType::Unknown);
    let gemm = NnOp::Gemm { alpha: 0.5, beta: 2.0, trans_a: false, trans_b: true };
    g.add_node("gemm", Op::Nn(gemm), vec![Some(f), Some(w3), Some(c3)], vec![Some(y)]);
    g.outputs.push(y);
    g
}

/// One LSTM step (batch 2, input 6, hidden 4) with bias and run-time initial states; all three
/// outputs.
fn lstm() -> Graph {
    let mut g = Graph::new("lstm");
    let x = g.add_value("x", t(&[1, 2, 6]));
    let h0 = g.add_value("h0", t(&[1, 2, 4]));
    let c0 = g.add_value("c0", t(&[1, 2, 4]));
    g.inputs.extend([x, h0, c0]);
    let w = g.add_const("W", Tensor::from_vec(vec![1, 16, 6], vals(96, 6, 1.5)).unwrap());
    let r = g.add_const("R", Tensor::from_vec(vec![1, 16, 4], vals(64, 7, 1.5)).unwrap());
    let b = g.add_const("B", Tensor::from_vec(vec![1, 32], vals(32, 8, 0.6)).unwrap());
    let outs: Vec<_> = ["y", "y_h", "y_c"].iter().map(|n| g.add_value(*n, ValueType::Unknown)).collect();
    let attrs = RnnAttrs {
        hidden_size: 4,
        direction: Direction::Forward,
        batch_first: false,
        activations: vec![Activation::Sigmoid, Activation::Tanh, Activation::Tanh],
        clip: None,
    };
    g.add_node(
        "lstm",
        Op::Rnn(RnnOp::Lstm { attrs, input_forget: false }),
        vec![Some(x), Some(w), Some(r), Some(b), None, Some(h0), Some(c0)],
        outs.iter().map(|&o| Some(o)).collect(),
    );
    g.outputs.extend(outs);
    g
}

fn every_weight() -> DynamicInt8 {
    DynamicInt8 { min_weights: 0, keep: Vec::new() }
}

fn interp(g: &Graph, inputs: &[Value]) -> Vec<Vec<f32>> {
    let s = mote_interp::Session::new(g).unwrap();
    s.run(inputs.to_vec()).unwrap().iter().map(|v| v.as_tensor().unwrap().to_f32_vec().unwrap()).collect()
}

fn compiled(g: &Graph, opts: &Options, inputs: &[Value]) -> (Vec<Vec<f32>>, usize) {
    let c = compile(g.clone(), opts).unwrap();
    let buf = AlignedBuf::from_bytes(&c.bytes);
    let rt = Runtime::load(buf.as_ref()).unwrap();
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let named: Vec<(String, Value)> =
        g.runtime_inputs().iter().map(|&i| g.value(i).name.clone()).zip(inputs.iter().cloned()).collect();
    let out = host::run_named(&rt, &mut arena, &named).unwrap();
    (out.iter().map(|v| v.as_tensor().unwrap().to_f32_vec().unwrap()).collect(), c.bytes.len())
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn max_abs(a: &[Vec<f32>]) -> f32 {
    a.iter().flatten().map(|x| x.abs()).fold(0.0, f32::max)
}

fn ops(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|n| n.op.name()).collect()
}

fn input(shape: &[usize], seed: usize, scale: f32) -> Value {
    Value::Tensor(Tensor::from_vec(shape.to_vec(), vals(shape.iter().product(), seed, scale)).unwrap())
}

#[test]
fn weights_quantize_per_row_symmetric() {
    let w = [0.5, -1.0, 0.25, 0.0, 0.0, 0.0, 2.0, 1.0, -0.01];
    let (q, s) = quantize_rows(&w, 3);
    assert_eq!(s, vec![1.0 / 127.0, 1.0, 2.0 / 127.0]);
    assert_eq!(q, vec![64, -127, 32, 0, 0, 0, 127, 64, -1]);
}

#[test]
fn layers_become_the_dynamic_form() {
    let mut g = layers();
    mote_interp::infer(&mut g).unwrap();
    let inputs = [input(&[1, 4, 12], 9, 3.0)];
    let want = interp(&g, &inputs);
    let mut q = g.clone();
    let r = rewrite(&mut q, &every_weight());
    assert_eq!(r.quantized, ["conv", "matmul", "gemm"]);
    let names = ops(&q);
    for op in ["Conv", "MatMul", "Gemm"] {
        assert!(!names.contains(&op), "{op} left in {names:?}");
    }
    for (op, n) in [("DynamicQuantizeLinear", 3), ("ConvInteger", 1), ("MatMulInteger", 2)] {
        assert_eq!(names.iter().filter(|&&x| x == op).count(), n, "{names:?}");
    }
    // The integer weights are i8 within [-127, 127].
    for n in &q.nodes {
        if matches!(n.op, Op::Quant(QuantOp::ConvInteger(_) | QuantOp::MatMulInteger)) {
            let w = q.value(n.input(1).unwrap()).init.as_ref().unwrap();
            assert_eq!(w.dtype(), DType::I8);
            assert!(w.as_slice::<i8>().unwrap().iter().all(|&v| v >= -127));
        }
    }
    let got = interp(&q, &inputs);
    let (d, scale) = (max_diff(&want, &got), max_abs(&want));
    assert!(d > 0.0 && d <= 0.02 * scale, "int8 differs by {d} (outputs up to {scale})");
    // Compiled with the option: the same computation as the rewritten graph.
    let opts = Options { dynamic_int8: Some(every_weight()), ..Options::default() };
    let (c, _) = compiled(&layers(), &opts, &inputs);
    assert!(max_diff(&got, &c) <= 1e-5 * scale, "compiled differs by {}", max_diff(&got, &c));
}

#[test]
fn one_step_lstm_is_unrolled_in_int8() {
    let mut g = lstm();
    mote_interp::infer(&mut g).unwrap();
    let inputs = [input(&[1, 2, 6], 10, 2.0), input(&[1, 2, 4], 11, 1.6), input(&[1, 2, 4], 12, 2.0)];
    let want = interp(&g, &inputs);
    let mut q = g.clone();
    let r = rewrite(&mut q, &every_weight());
    assert_eq!(r.quantized, ["lstm"]);
    let names = ops(&q);
    assert!(!names.contains(&"LSTM"), "{names:?}");
    assert_eq!(names.iter().filter(|&&x| x == "MatMulInteger").count(), 2, "{names:?}");
    let got = interp(&q, &inputs);
    let d = max_diff(&want, &got);
    assert!(d > 0.0 && d <= 0.02 * max_abs(&want), "int8 LSTM differs by {d}");
    let opts = Options { dynamic_int8: Some(every_weight()), ..Options::default() };
    let (c, _) = compiled(&lstm(), &opts, &inputs);
    assert!(max_diff(&got, &c) <= 1e-5, "compiled differs by {}", max_diff(&got, &c));
}

#[test]
fn unsuitable_nodes_stay_f32_with_a_reason() {
    // Default threshold: these weights are too small. A longer LSTM is not unrolled.
    let mut g = layers();
    mote_interp::infer(&mut g).unwrap();
    let r = rewrite(&mut g, &DynamicInt8::default());
    assert!(r.quantized.is_empty());
    assert_eq!(r.kept.len(), 3);
    assert!(r.kept[0].1.contains("96 values"), "{:?}", r.kept);
    let mut g = layers();
    mote_interp::infer(&mut g).unwrap();
    let r = rewrite(&mut g, &DynamicInt8 { min_weights: 0, keep: vec!["gemm".into()] });
    assert_eq!((r.quantized.len(), r.kept[0].0.as_str()), (2, "gemm"));
    assert!(ops(&g).contains(&"Gemm"));

    let mut g = lstm();
    let x = g.inputs[0];
    g.value_mut(x).ty = t(&[3, 2, 6]);
    mote_interp::infer(&mut g).unwrap();
    let r = rewrite(&mut g, &every_weight());
    assert!(r.kept[0].1.contains("sequence length 3"), "{:?}", r.kept);
    assert!(ops(&g).contains(&"LSTM"));
}

#[test]
fn f16_weights_halve_the_file_within_f16_rounding() {
    // A Gemm and a MatMul with weights above the f16 threshold (1024 values).
    let mut g = Graph::new("f16");
    let x = g.add_value("x", t(&[3, 64]));
    g.inputs.push(x);
    let w1 = g.add_const("w1", Tensor::from_vec(vec![64, 48], vals(64 * 48, 13, 0.5)).unwrap());
    let h = g.add_value("h", ValueType::Unknown);
    g.add_node("mm", Op::Nn(NnOp::MatMul), vec![Some(x), Some(w1)], vec![Some(h)]);
    let w2 = g.add_const("w2", Tensor::from_vec(vec![40, 48], vals(40 * 48, 14, 0.5)).unwrap());
    let y = g.add_value("y", ValueType::Unknown);
    let gemm = NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true };
    g.add_node("gemm", Op::Nn(gemm), vec![Some(h), Some(w2)], vec![Some(y)]);
    g.outputs.push(y);
    let inputs = [input(&[3, 64], 15, 2.0)];
    let (want, f32_bytes) = compiled(&g, &Options::default(), &inputs);
    let (got, f16_bytes) = compiled(&g, &Options { weights_f16: true, ..Options::default() }, &inputs);
    let d = max_diff(&want, &got);
    // Each weight rounds by at most 2^-11 relative; a dot product of |w||x| terms at most that.
    assert!(d > 0.0 && d <= 1e-3 * max_abs(&want), "f16 weights differ by {d}");
    assert!(f16_bytes * 100 < f32_bytes * 60, "{f16_bytes} vs {f32_bytes} bytes");
}
