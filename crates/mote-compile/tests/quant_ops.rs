//! The integer quantized ops through compile -> `.mote` -> runtime are bit-identical to the
//! reference interpreter, a constant B of an integer MatMul is packed for the integer GEMM, and
//! QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear each become one step.

mod common;

use mote_compile::{Options, compile, host};
use mote_format::{Layout, Model, OpCode};
use mote_kernels::fast::qgemm::QPACK_FORMAT_VERSION;

#[test]
fn compiled_quant_model_is_bit_identical_to_the_interpreter() {
    let g = common::quant::quant_graph();
    let x = common::quant::quant_inputs();
    let want = mote_interp::run(&g, x.clone()).unwrap();
    let got = host::compile_and_run(&g, &x, &Options::default()).unwrap();
    assert_eq!(want.len(), got.len());
    for (i, (w, o)) in want.iter().zip(&got).enumerate() {
        let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
        assert_eq!((w.dtype(), w.shape()), (o.dtype(), o.shape()), "output {i}");
        let (a, b) = (w.to_f64_vec().unwrap(), o.to_f64_vec().unwrap());
        for (j, (p, q)) in a.iter().zip(&b).enumerate() {
            assert!(p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()), "output {i}[{j}]: {p} vs {q}");
        }
    }
    // Not vacuous: the float8 output has NaNs (no saturation), the requantized ones saturate.
    let f8 = want[3].as_tensor().unwrap().to_f64_vec().unwrap();
    assert!(f8.iter().any(|v| v.is_nan()));
    let y = want[0].as_tensor().unwrap().to_f64_vec().unwrap();
    assert!(y.iter().any(|&v| v != y[0]));
}

#[test]
fn integer_ops_compile_to_their_steps_with_a_packed_constant_b() {
    let c = compile(common::quant::quant_graph(), &Options::default()).unwrap();
    let m = Model::parse(&c.bytes).unwrap();
    let ops: Vec<OpCode> = (0..m.step_count()).map(|i| m.step(i).unwrap().op).collect();
    let count = |op| ops.iter().filter(|&&o| o == op).count();
    assert_eq!(count(OpCode::QGemm), 3, "{ops:?}");
    assert_eq!(count(OpCode::QConv), 2, "{ops:?}");
    assert_eq!(count(OpCode::DynamicQuantize), 1, "{ops:?}");
    assert_eq!(count(OpCode::Quantize), 3, "{ops:?}");
    assert_eq!(count(OpCode::Dequantize), 2, "{ops:?}");
    let packed = (0..m.tensor_count() as u32)
        .filter_map(|i| m.tensor(i))
        .filter(|t| t.layout == Layout::Packed && t.layout_param == QPACK_FORMAT_VERSION)
        .count();
    assert_eq!(packed, 2, "the two constant B operands");
}
