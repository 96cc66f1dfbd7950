//! Outputs whose length depends on the data (NonMaxSuppression): the compiled model presents
//! the same rows as the interpreter; such an output feeding another node is refused.

mod common;

use mote_compile::{Options, compile, host};
use mote_ir::ops::elementwise::{ElementwiseOp, Unary};
use mote_ir::{Op, ValueType};

#[test]
fn non_max_suppression_presents_the_selected_rows() {
    let (g, inputs) = (common::nms_graph(), common::nms_inputs());
    let want = mote_interp::run(&g, inputs.clone()).unwrap();
    let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
    let (w, o) = (want[0].as_tensor().unwrap(), got[0].as_tensor().unwrap());
    // Two classes, up to 3 boxes each, some suppressed or below the threshold: fewer rows
    // than the buffer's 12.
    assert!(w.shape()[0] > 0 && w.shape()[0] < 12, "{:?}", w.shape());
    assert_eq!(w.shape(), o.shape());
    assert_eq!(w.to_i64_vec().unwrap(), o.to_i64_vec().unwrap());
}

#[test]
fn a_bounded_output_feeding_another_node_is_refused() {
    let mut g = common::nms_graph();
    let sel = g.outputs[0];
    let y = g.add_value("abs", ValueType::Unknown);
    g.add_node("abs", Op::Elementwise(ElementwiseOp::Unary(Unary::Abs)), vec![Some(sel)], vec![Some(y)]);
    g.outputs = vec![y];
    let err = compile(g, &Options::default()).unwrap_err().to_string();
    assert!(err.contains("NonMaxSuppression is compiled only as a graph output"), "{err}");
}
