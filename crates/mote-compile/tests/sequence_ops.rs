//! The streaming sequence-model and signal ops through compile -> `.mote` -> runtime against the
//! reference interpreter: LinearAttention, CausalConvWithState, FlexAttention (expanded, with its
//! score_mod inlined), DFT (FFT and naive lengths, irfft) and STFT.

mod common;

use mote_compile::{Options, compile, host};
use mote_format::{Model, OpCode};

fn ops(bytes: &[u8]) -> Vec<OpCode> {
    let buf = mote_rt::host::AlignedBuf::from_bytes(bytes);
    let m = Model::parse(buf.as_ref()).unwrap();
    (0..m.step_count()).map(|i| m.step(i).unwrap().op).collect()
}

#[test]
fn sequence_and_signal_ops_match_the_interpreter() {
    let g = common::sequence_graph();
    let inputs = common::sequence_inputs();
    let want = mote_interp::run(&g, inputs.clone()).unwrap();
    let c = compile(common::sequence_graph(), &Options::default()).unwrap();
    let steps = ops(&c.bytes);
    for op in [OpCode::LinearAttention, OpCode::CausalConvWithState, OpCode::Dft, OpCode::Stft, OpCode::Softmax] {
        assert!(steps.contains(&op), "{op:?} missing from {steps:?}");
    }
    let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
    assert_eq!(want.len(), 8);
    for (i, (w, o)) in want.iter().zip(&got).enumerate() {
        let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
        assert_eq!((w.dtype(), w.shape()), (o.dtype(), o.shape()), "output {i}");
        let (w, o) = (w.to_f64_vec().unwrap(), o.to_f64_vec().unwrap());
        let scale = w.iter().fold(1f64, |m, x| m.max(x.abs()));
        for (a, b) in w.iter().zip(&o) {
            assert!((a - b).abs() <= 1e-5 * scale, "output {i}: {a} vs {b}");
        }
    }
    // The irfft of the DFT of a real length-8 signal, cut to 6 samples, is not the signal; the
    // DFT's DC bin is the sum of the samples.
    let sig = inputs[11].as_tensor().unwrap().to_f64_vec().unwrap();
    let spec = got[5].as_tensor().unwrap().to_f64_vec().unwrap();
    let dc: f64 = (0..8).map(|t| sig[t * 3]).sum();
    assert!((spec[0] - dc).abs() < 1e-5, "{} vs {dc}", spec[0]);
}

/// `Scan` over `x [2, 3]` (axis 0, reversed) carrying a running sum `s [3]` and emitting
/// `s * x_t` per step (stacked on axis 1), and `Loop` (trip count 3, condition passed through)
/// doubling a carried value and emitting the iteration number: unrolled, compiled and run.
#[test]
fn scan_and_loop_with_static_trip_counts_unroll() {
    use mote_ir::ops::control::{ControlOp, ScanAttrs};
    use mote_ir::ops::elementwise::{Binary, ElementwiseOp};
    use mote_ir::ops::shape::ShapeOp;
    use mote_ir::{DType, Graph, Op, Tensor, TensorType, Value, ValueType};
    let t = |dt: DType, d: &[usize]| ValueType::Tensor(TensorType::concrete(dt, d));
    let bin = |b| Op::Elementwise(ElementwiseOp::Binary(b));

    let mut body = Graph::new("scan_body");
    let (s, xt) = (body.add_value("s", t(DType::F32, &[3])), body.add_value("xt", t(DType::F32, &[3])));
    body.inputs.extend([s, xt]);
    let (s2, y) = (body.add_value("s2", ValueType::Unknown), body.add_value("y", ValueType::Unknown));
    body.add_node("acc", bin(Binary::Add), vec![Some(s), Some(xt)], vec![Some(s2)]);
    body.add_node("mul", bin(Binary::Mul), vec![Some(s2), Some(xt)], vec![Some(y)]);
    body.outputs.extend([s2, y]);
    let scan = ScanAttrs {
        body: Box::new(body),
        num_scan_inputs: 1,
        input_axes: vec![0],
        input_reverse: vec![true],
        output_axes: vec![1],
        output_reverse: vec![false],
        batch_axis_v8: false,
    };

    let mut lb = Graph::new("loop_body");
    let (i, c, v) = (
        lb.add_value("i", t(DType::I64, &[])),
        lb.add_value("c", t(DType::Bool, &[])),
        lb.add_value("v", t(DType::F32, &[2])),
    );
    lb.inputs.extend([i, c, v]);
    let (c2, v2) = (lb.add_value("c2", ValueType::Unknown), lb.add_value("v2", ValueType::Unknown));
    lb.add_node("keep", Op::Shape(ShapeOp::Identity), vec![Some(c)], vec![Some(c2)]);
    lb.add_node("double", bin(Binary::Add), vec![Some(v), Some(v)], vec![Some(v2)]);
    lb.outputs.extend([c2, v2, i]);

    let mut g = Graph::new("control");
    let (s0, x, v0) = (
        g.add_value("s0", t(DType::F32, &[3])),
        g.add_value("x", t(DType::F32, &[2, 3])),
        g.add_value("v0", t(DType::F32, &[2])),
    );
    g.inputs.extend([s0, x, v0]);
    let (fs, ys) = (g.add_value("final", ValueType::Unknown), g.add_value("ys", ValueType::Unknown));
    g.add_node("scan", Op::Control(ControlOp::Scan(scan)), vec![Some(s0), Some(x)], vec![Some(fs), Some(ys)]);
    let m = g.add_const("m", Tensor::scalar(3i64));
    let (vf, iters) = (g.add_value("vf", ValueType::Unknown), g.add_value("iters", ValueType::Unknown));
    g.add_node(
        "loop",
        Op::Control(ControlOp::Loop { body: Box::new(lb) }),
        vec![Some(m), None, Some(v0)],
        vec![Some(vf), Some(iters)],
    );
    g.outputs.extend([fs, ys, vf, iters]);

    let inputs = vec![
        Value::Tensor(common::input(&[3])),
        Value::Tensor(common::input(&[2, 3])),
        Value::Tensor(Tensor::from_vec(vec![2], vec![1.5f32, -0.25]).unwrap()),
    ];
    let want = mote_interp::run(&g, inputs.clone()).unwrap();
    let c = compile(g.clone(), &Options::default()).unwrap();
    assert!(!ops(&c.bytes).is_empty());
    let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
    for (w, o) in want.iter().zip(&got) {
        let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
        assert_eq!((w.dtype(), w.shape()), (o.dtype(), o.shape()));
        assert_eq!(w.to_f64_vec().unwrap(), o.to_f64_vec().unwrap());
    }
    assert_eq!(got[2].as_tensor().unwrap().to_f64_vec().unwrap(), vec![12.0, -2.0]);
    assert_eq!(got[3].as_tensor().unwrap().to_f64_vec().unwrap(), vec![0.0, 1.0, 2.0]);
}

/// f16 Attention compiles through f32 with its softmax rounded to f16 as the interpreter
/// computes it: the outputs are the interpreter's bit for bit (without the rounding word they
/// differ in the last f16 bits).
#[test]
fn f16_attention_matches_the_interpreter_exactly() {
    use mote_ir::ops::attention::{AttentionAttrs, AttentionOp};
    use mote_ir::ops::elementwise::{ElementwiseOp, RoundMode};
    use mote_ir::{DType, Graph, Op, TensorType, Value, ValueType};
    let mut g = Graph::new("attention_f16");
    let dims = [[1, 2, 5, 8], [1, 1, 7, 8], [1, 1, 7, 8]];
    let mut halves = Vec::new();
    for (i, d) in dims.iter().enumerate() {
        let x = g.add_value(format!("x{i}"), ValueType::Tensor(TensorType::concrete(DType::F32, d)));
        g.inputs.push(x);
        let h = g.add_value(format!("h{i}"), ValueType::Unknown);
        let cast = ElementwiseOp::Cast { to: DType::F16, saturate: true, round_mode: RoundMode::Up };
        g.add_node(format!("cast{i}"), Op::Elementwise(cast), vec![Some(x)], vec![Some(h)]);
        halves.push(Some(h));
    }
    let attrs = AttentionAttrs {
        is_causal: false,
        q_num_heads: None,
        kv_num_heads: None,
        scale: Some(2.0),
        softcap: 0.0,
        qk_matmul_output_mode: 3,
        softmax_precision: None,
        left_window: -1,
        right_window: -1,
    };
    let (y, qk) = (g.add_value("y", ValueType::Unknown), g.add_value("qk", ValueType::Unknown));
    g.add_node("attention", Op::Attention(AttentionOp::Attention(attrs)), halves, vec![Some(y), None, None, Some(qk)]);
    g.outputs.extend([y, qk]);
    let inputs: Vec<Value> = dims.iter().map(|d| Value::Tensor(common::input(d))).collect();
    let want = mote_interp::run(&g, inputs.clone()).unwrap();
    let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
    for (w, o) in want.iter().zip(&got) {
        let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
        assert_eq!((w.dtype(), w.shape()), (DType::F16, o.shape()));
        assert_eq!(w.to_f64_vec().unwrap(), o.to_f64_vec().unwrap());
    }
}
