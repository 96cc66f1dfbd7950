//! The compiler on a model built in code: the compiled file runs in the runtime and matches the
//! reference interpreter; the plan is tight; bad requests get clear errors.

mod common;

use mote_compile::{CompileError, Options, compile, host};
use mote_ir::Value;

#[test]
fn compiled_small_model_matches_the_interpreter() {
    let g = common::small_graph();
    let x = Value::Tensor(common::input(&[1, 3, 8, 8]));
    let want = mote_interp::run(&g, vec![x.clone()]).unwrap();
    let got = host::compile_and_run(&g, &[x], &Options::default()).unwrap();
    let (w, o) =
        (want[0].as_tensor().unwrap().to_f32_vec().unwrap(), got[0].as_tensor().unwrap().to_f32_vec().unwrap());
    assert_eq!(w.len(), o.len());
    for (a, b) in w.iter().zip(&o) {
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
}

#[test]
fn compiled_indexing_model_matches_the_interpreter_and_checks_indices() {
    let g = common::indexing_graph();
    let x = Value::Tensor(common::input(&[3, 4]));
    let idx = |v: Vec<i64>| Value::Tensor(mote_ir::Tensor::from_vec(vec![3, 2], v).unwrap());
    let good = idx(vec![0, 3, -1, 1, 2, 2]);
    let want = mote_interp::run(&g, vec![x.clone(), good.clone()]).unwrap();
    let got = host::compile_and_run(&g, &[x.clone(), good], &Options::default()).unwrap();
    assert_eq!(want.len(), 5);
    for (w, o) in want.iter().zip(&got) {
        let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
        assert_eq!((w.dtype(), w.shape()), (o.dtype(), o.shape()));
        assert_eq!(w.to_f64_vec().unwrap(), o.to_f64_vec().unwrap());
    }
    // An index out of range is a run-time data error, not a crash.
    for bad in [vec![0, 4, 0, 0, 0, 0], vec![0, 0, 0, 0, 0, -5]] {
        let e = host::compile_and_run(&g, &[x.clone(), idx(bad)], &Options::default()).unwrap_err();
        assert!(e.contains("index out of range"), "{e}");
    }
}

#[test]
fn report_counts_fusion_and_the_plan_is_within_bounds() {
    let c = compile(common::small_graph(), &Options::default()).unwrap();
    let r = &c.report;
    assert_eq!(r.fused_activations, 1, "Relu fuses into the Conv");
    assert!(r.arena_bytes >= r.peak_live_bytes, "{r}");
    assert!(r.arena_bytes as f64 <= 1.2 * r.peak_live_bytes as f64 + 256.0, "{r}");
    assert_eq!(r.file_bytes, c.bytes.len());
}

#[test]
fn symbolic_shapes_and_unknown_inputs_are_clear_errors() {
    let mut g = common::small_graph();
    let x = g.inputs[0];
    if let mote_ir::ValueType::Tensor(t) = &mut g.value_mut(x).ty {
        t.shape = Some(vec![mote_ir::Dim::Sym("N".into()), 3.into(), 8.into(), 8.into()]);
    }
    let e = compile(g.clone(), &Options::default()).unwrap_err().to_string();
    assert!(e.contains("'x'") && e.contains("--shape"), "{e}");
    let mut opts = Options::default();
    opts.shapes.insert("nope".into(), vec![1]);
    assert!(matches!(compile(g.clone(), &opts), Err(CompileError::Interface(m)) if m.contains("nope")));
    opts.shapes.clear();
    opts.shapes.insert("x".into(), vec![1, 3, 8, 8]);
    compile(g, &opts).unwrap();
}

/// Step op codes of a compiled file.
fn ops(bytes: &[u8]) -> Vec<mote_format::OpCode> {
    let buf = mote_rt::host::AlignedBuf::from_bytes(bytes);
    let m = mote_format::Model::parse(buf.as_ref()).unwrap();
    (0..m.step_count()).map(|i| m.step(i).unwrap().op).collect()
}

#[test]
fn blocked_layout_runs_conv_chains_and_matches_nchw_and_the_interpreter() {
    use mote_format::OpCode;
    let g = common::blocked_graph();
    let x = Value::Tensor(common::input(&[1, 3, 17, 21]));
    let want = mote_interp::run(&g, vec![x.clone()]).unwrap()[0].as_tensor().unwrap().to_f32_vec().unwrap();
    let nchw = Options { nchw_only: true, ..Options::default() };
    let blocked = compile(g.clone(), &Options::default()).unwrap();
    let plain = compile(g.clone(), &nchw).unwrap();
    // Blocked: the five convolutions (the stem reading the NCHW graph input) and one reorder
    // out (the graph output); the residual Add runs on blocked tensors. NCHW: none of them.
    let count = |b: &[u8], op| ops(b).into_iter().filter(|&o| o == op).count();
    assert_eq!(count(&blocked.bytes, OpCode::ConvBlocked), 5, "{:?}", ops(&blocked.bytes));
    assert_eq!(count(&blocked.bytes, OpCode::Reorder), 1, "{:?}", ops(&blocked.bytes));
    assert_eq!(count(&plain.bytes, OpCode::ConvBlocked) + count(&plain.bytes, OpCode::Reorder), 0);
    // HardSwish, its scalar Mul and Add are the expand convolution's epilogue: the residual
    // Add is the only binary step.
    for b in [&blocked.bytes, &plain.bytes] {
        assert_eq!(count(b, OpCode::Binary), 1, "{:?}", ops(b));
    }
    for opts in [Options::default(), nchw] {
        let got = host::compile_and_run(&g, std::slice::from_ref(&x), &opts).unwrap();
        let got = got[0].as_tensor().unwrap().to_f32_vec().unwrap();
        assert_eq!(got.len(), want.len());
        for (a, b) in want.iter().zip(&got) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "nchw_only={}: {a} vs {b}", opts.nchw_only);
        }
    }
}

#[test]
fn f16_bf16_and_small_int_selections_through_f32_match_the_interpreter_exactly() {
    let g = common::lowp_graph();
    let inputs = common::lowp_inputs();
    let want = mote_interp::run(&g, inputs.clone()).unwrap();
    let c = compile(g, &Options::default()).unwrap();
    // Lowered as casts around the f32 ops.
    assert!(ops(&c.bytes).contains(&mote_format::OpCode::Cast));
    let got = host::compile_and_run(&common::lowp_graph(), &inputs, &Options::default()).unwrap();
    assert_eq!(want.len(), 4);
    for (w, o) in want.iter().zip(&got) {
        let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
        assert_eq!((w.dtype(), w.shape()), (o.dtype(), o.shape()));
        assert_eq!(w.to_f64_vec().unwrap(), o.to_f64_vec().unwrap());
    }
    assert_eq!(got[3].as_tensor().unwrap().to_f64_vec().unwrap(), vec![1.0, 0.0]);
}

#[test]
fn selection_ops_from_existing_steps_match_the_interpreter_exactly() {
    let g = common::select_graph();
    let inputs = common::select_inputs();
    let want = mote_interp::run(&g, inputs.clone()).unwrap();
    let c = compile(common::select_graph(), &Options::default()).unwrap();
    assert_eq!(c.report.in_place, 1, "the scatter writes into |cache| (Abs reads a graph input)");
    let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
    assert_eq!(want.len(), 5);
    for (w, o) in want.iter().zip(&got) {
        let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
        assert_eq!((w.dtype(), w.shape()), (o.dtype(), o.shape()));
        assert_eq!(w.to_f64_vec().unwrap(), o.to_f64_vec().unwrap());
    }
    // OneHot [2, depth 3, 2]: 1.7 -> 1, -1 -> 2, 3 is out of range (all off), 0 -> 0.
    let hot = got[0].as_tensor().unwrap().to_f64_vec().unwrap();
    assert_eq!(hot, vec![-2.0, -2.0, 5.0, -2.0, -2.0, 5.0, -2.0, 5.0, -2.0, -2.0, -2.0, -2.0]);
}

#[test]
fn run_time_compress_condition_is_refused_clearly() {
    use mote_ir::ops::shape::ShapeOp;
    use mote_ir::{DType, Graph, Op, TensorType, ValueType};
    let mut g = Graph::new("compress");
    let x = g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::F32, &[3])));
    let c = g.add_value("c", ValueType::Tensor(TensorType::concrete(DType::Bool, &[3])));
    g.inputs.extend([x, c]);
    let y = g.add_value("y", ValueType::Tensor(TensorType::concrete(DType::F32, &[2])));
    g.add_node("compress", Op::Shape(ShapeOp::Compress { axis: Some(0) }), vec![Some(x), Some(c)], vec![Some(y)]);
    g.outputs.push(y);
    let e = compile(g, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("Compress's condition must be constant to compile"), "{e}");
}

#[test]
fn integer_abs_neg_sign_relu_wrap_like_the_interpreter() {
    use mote_ir::ops::elementwise::{ElementwiseOp, Unary};
    use mote_ir::{DType, Graph, Op, Tensor, TensorType, ValueType};
    for (dt, x) in [
        (DType::I8, Tensor::from_vec(vec![6], vec![-128i8, -7, -1, 0, 5, 127]).unwrap()),
        (DType::U16, Tensor::from_vec(vec![4], vec![0u16, 1, 9, 65535]).unwrap()),
        (DType::I64, Tensor::from_vec(vec![4], vec![i64::MIN, -3, 0, 8]).unwrap()),
    ] {
        let mut g = Graph::new("int_unary");
        let xv = g.add_value("x", ValueType::Tensor(TensorType::concrete(dt, x.shape())));
        g.inputs.push(xv);
        for u in [Unary::Abs, Unary::Neg, Unary::Sign, Unary::Relu] {
            let y = g.add_value(u.name(), ValueType::Unknown);
            g.add_node(u.name(), Op::Elementwise(ElementwiseOp::Unary(u)), vec![Some(xv)], vec![Some(y)]);
            g.outputs.push(y);
        }
        let inputs = [Value::Tensor(x)];
        let want = mote_interp::run(&g, inputs.to_vec()).unwrap();
        let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
        for (w, o) in want.iter().zip(&got) {
            let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
            assert_eq!((w.dtype(), w.shape()), (o.dtype(), o.shape()));
            assert_eq!(w.to_i64_vec().unwrap(), o.to_i64_vec().unwrap(), "{dt}");
        }
        if dt == DType::I8 {
            let sign = got[2].as_tensor().unwrap().to_i64_vec().unwrap();
            assert_eq!(sign, vec![-1, -1, -1, 0, 1, 1]);
        }
    }
}

#[test]
fn wrap_pad_matches_the_interpreter_with_crops_and_pads_past_the_size() {
    use mote_ir::ops::shape::{PadMode, ShapeOp};
    use mote_ir::{DType, Graph, Op, Tensor, TensorType, ValueType};
    for pads in [vec![1i64, 2, 0, 1], vec![0, -1, 4, 5], vec![-1, 7, 2, -2]] {
        let mut g = Graph::new("wrap");
        let x = g.add_value("x", ValueType::Tensor(TensorType::concrete(DType::F32, &[2, 3])));
        g.inputs.push(x);
        let p = g.add_const("pads", Tensor::from_vec(vec![4], pads.clone()).unwrap());
        let y = g.add_value("y", ValueType::Unknown);
        g.add_node("pad", Op::Shape(ShapeOp::Pad { mode: PadMode::Wrap }), vec![Some(x), Some(p)], vec![Some(y)]);
        g.outputs.push(y);
        let inputs = [Value::Tensor(common::input(&[2, 3]))];
        let want = mote_interp::run(&g, inputs.to_vec()).unwrap();
        let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
        let (w, o) = (want[0].as_tensor().unwrap(), got[0].as_tensor().unwrap());
        assert_eq!(w.shape(), o.shape(), "{pads:?}");
        assert_eq!(w.to_f64_vec().unwrap(), o.to_f64_vec().unwrap(), "{pads:?}");
    }
}
