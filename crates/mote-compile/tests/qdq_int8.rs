//! QDQ graphs compile to integer steps (never silently to float): every Conv, Gemm, Add, Mul,
//! pooling and Softmax between DequantizeLinear and QuantizeLinear becomes a `Q8*` step, and
//! the result agrees with the reference interpreter's float-simulated quantization within the
//! rounding differences of the integer requantization.

mod common;

use mote_compile::{Options, compile, host};
use mote_format::{Model, OpCode};
use mote_ir::Value;

#[test]
fn qdq_model_runs_in_int8_steps() {
    check_steps(common::qdq::qdq_graph(), 0);
}

/// uint8 activations (ONNX Runtime's default) run on the same int8 steps, as `q - 128`; the
/// only extra steps are two flips of the top bit where uint8 tensors meet the float boundary
/// (after the input's QuantizeLinear, before the output's DequantizeLinear).
#[test]
fn uint8_qdq_model_runs_in_int8_steps() {
    check_steps(common::qdq::qdq_graph_u8(), 2);
}

fn check_steps(g: mote_ir::Graph, flips: usize) {
    let c = compile(g, &Options::default()).unwrap();
    let m = Model::parse(&c.bytes).unwrap();
    let ops: Vec<OpCode> = (0..m.step_count()).map(|i| m.step(i).unwrap().op).collect();
    let count = |op| ops.iter().filter(|&&o| o == op).count();
    assert_eq!(count(OpCode::Q8Conv), 4, "three convolutions and the Gemm: {ops:?}");
    assert_eq!(count(OpCode::Q8Binary), 2, "{ops:?}");
    assert_eq!(count(OpCode::Q8Pool), 3, "{ops:?}");
    assert_eq!(count(OpCode::Q8Softmax), 1, "{ops:?}");
    assert_eq!(
        count(OpCode::Q8Lut),
        2 + flips,
        "HardSwish and a Concat requantization as tables (and the uint8 flips): {ops:?}"
    );
    assert_eq!(count(OpCode::Copy), 3, "the input to channels-last and the Concat's two slices: {ops:?}");
    // The input is quantized once and the output dequantized once; nothing else is float.
    assert_eq!(count(OpCode::Quantize), 1, "{ops:?}");
    assert_eq!(count(OpCode::Dequantize), 1, "{ops:?}");
    for op in [OpCode::Conv, OpCode::Gemm, OpCode::Binary, OpCode::Pool, OpCode::Softmax, OpCode::Unary] {
        assert_eq!(count(op), 0, "{op:?} ran in float: {ops:?}");
    }
}

#[test]
fn int8_result_agrees_with_float_simulated_quantization() {
    agrees(common::qdq::qdq_graph());
}

#[test]
fn uint8_result_agrees_with_float_simulated_quantization() {
    agrees(common::qdq::qdq_graph_u8());
}

fn agrees(g: mote_ir::Graph) {
    let x = vec![Value::Tensor(common::qdq::qdq_input())];
    let want = mote_interp::run(&g, x.clone()).unwrap()[0].as_tensor().unwrap().to_f64_vec().unwrap();
    let got = host::compile_and_run(&g, &x, &Options::default()).unwrap()[0].as_tensor().unwrap().to_f64_vec().unwrap();
    assert_eq!(want.len(), 5);
    // Not vacuous: the probabilities differ from each other.
    assert!(want.iter().any(|&p| (p - want[0]).abs() > 0.02), "{want:?}");
    for (i, (w, o)) in want.iter().zip(&got).enumerate() {
        // A few LSB of 1/256 after nine requantizations.
        assert!((w - o).abs() <= 4.0 / 256.0, "class {i}: int8 {o} vs float-simulated {w}");
    }
}
