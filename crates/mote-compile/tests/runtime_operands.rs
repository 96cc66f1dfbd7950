//! Inputs that decide shapes are found and bound; every other input stays a runtime input,
//! including operands the lowering would like constant (Clip bounds, Trilu's k, ...), which
//! `lower/expand.rs` rewrites into element-wise steps. Checked against the interpreter.

use mote_compile::{Options, bind_shape_inputs, host, shape_inputs};
use mote_core::DType;
use mote_interp::Session;
use mote_ir::ops::elementwise::ElementwiseOp;
use mote_ir::ops::shape::{PadMode, ShapeOp};
use mote_ir::{Graph, Op, Tensor, TensorType, Value, ValueType};

fn input(g: &mut Graph, name: &str, dt: DType, dims: &[usize]) -> mote_ir::ValueId {
    let v = g.add_value(name, ValueType::Tensor(TensorType::concrete(dt, dims)));
    g.inputs.push(v);
    v
}

fn same_as_interpreter(g: &Graph, inputs: Vec<Value>, opts: &Options) {
    let want = Session::new(g).unwrap().run(inputs.clone()).unwrap();
    let got = host::compile_and_run(g, &inputs, opts).unwrap();
    assert_eq!(got, want);
}

#[test]
fn reshape_target_is_a_shape_input_and_data_is_not() {
    let mut g = Graph::new("reshape");
    let x = input(&mut g, "x", DType::F32, &[2, 3]);
    let s = input(&mut g, "shape", DType::I64, &[2]);
    let y = g.add_value("y", ValueType::Unknown);
    g.add_node("r", Op::Shape(ShapeOp::Reshape { allowzero: false }), vec![Some(x), Some(s)], vec![Some(y)]);
    g.outputs.push(y);
    let mut opts = Options::default();
    opts.shapes.insert("x".into(), vec![2, 3]);
    assert_eq!(shape_inputs(&g, &opts).unwrap(), vec!["shape".to_string()]);

    let xs = Tensor::from_vec(vec![2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let shape = Tensor::from_vec(vec![2], vec![3i64, 2]).unwrap();
    let named = vec![("x".to_string(), Value::Tensor(xs.clone())), ("shape".to_string(), Value::Tensor(shape))];
    let bound = bind_shape_inputs(&g, &named, &Options::default()).unwrap();
    assert_eq!(bound.constants.keys().collect::<Vec<_>>(), vec!["shape"]);
    assert_eq!(bound.shapes.get("x"), Some(&vec![2, 3]));
}

#[test]
fn clip_with_runtime_bounds_runs_in_the_runtime() {
    let mut g = Graph::new("clip");
    let x = input(&mut g, "x", DType::F32, &[5]);
    let lo = input(&mut g, "lo", DType::F32, &[]);
    let hi = input(&mut g, "hi", DType::F32, &[]);
    let y = g.add_value("y", ValueType::Unknown);
    g.add_node("c", Op::Elementwise(ElementwiseOp::Clip), vec![Some(x), Some(lo), Some(hi)], vec![Some(y)]);
    g.outputs.push(y);
    let opts = Options::default();
    assert!(shape_inputs(&g, &opts).unwrap().is_empty(), "bounds do not decide a shape");
    let v = Tensor::from_vec(vec![5], vec![-3.0f32, -0.5, 0.0, 0.5, 3.0]).unwrap();
    for (l, h) in [(-1.0f32, 1.0f32), (0.25, 0.75), (2.0, -2.0)] {
        let ins = vec![Value::Tensor(v.clone()), Value::Tensor(Tensor::scalar(l)), Value::Tensor(Tensor::scalar(h))];
        same_as_interpreter(&g, ins, &opts);
    }
}

#[test]
fn trilu_with_runtime_k_and_pad_with_runtime_value() {
    let mut g = Graph::new("trilu_pad");
    let x = input(&mut g, "x", DType::F32, &[3, 4]);
    let k = input(&mut g, "k", DType::I64, &[]);
    let c = input(&mut g, "c", DType::F32, &[]);
    let pads = g.add_const("pads", Tensor::from_vec(vec![4], vec![1i64, 0, 0, 2]).unwrap());
    let (t, y) = (g.add_value("t", ValueType::Unknown), g.add_value("y", ValueType::Unknown));
    g.add_node("tri", Op::Shape(ShapeOp::Trilu { upper: true }), vec![Some(x), Some(k)], vec![Some(t)]);
    let pad = Op::Shape(ShapeOp::Pad { mode: PadMode::Constant });
    g.add_node("pad", pad, vec![Some(t), Some(pads), Some(c)], vec![Some(y)]);
    g.outputs.push(y);
    let xs = Tensor::from_vec(vec![3, 4], (1..=12).map(|v| v as f32).collect::<Vec<_>>()).unwrap();
    for (kv, cv) in [(0i64, 7.5f32), (-1, -1.0), (2, f32::INFINITY)] {
        let ins = vec![Value::Tensor(xs.clone()), Value::Tensor(Tensor::scalar(kv)), Value::Tensor(Tensor::scalar(cv))];
        same_as_interpreter(&g, ins, &Options::default());
    }
}

#[test]
fn lstm_with_runtime_sequence_lengths_matches_the_interpreter() {
    use mote_ir::ops::rnn::{Activation, Direction, RnnAttrs, RnnOp};
    let (seq, batch, inp, hid) = (4, 3, 3, 2);
    for direction in [Direction::Forward, Direction::Bidirectional] {
        let dirs = if direction == Direction::Bidirectional { 2 } else { 1 };
        let mut g = Graph::new("lstm");
        let x = input(&mut g, "x", DType::F32, &[seq, batch, inp]);
        let lens = input(&mut g, "lens", DType::I32, &[batch]);
        let vals = |n: usize, k: f32| (0..n).map(|i| ((i as f32 * k).sin()) * 0.5).collect::<Vec<f32>>();
        let w = g.add_const("w", Tensor::from_vec(vec![dirs, 4 * hid, inp], vals(dirs * 4 * hid * inp, 0.7)).unwrap());
        let r = g.add_const("r", Tensor::from_vec(vec![dirs, 4 * hid, hid], vals(dirs * 4 * hid * hid, 1.3)).unwrap());
        let b = g.add_const("b", Tensor::from_vec(vec![dirs, 8 * hid], vals(dirs * 8 * hid, 0.4)).unwrap());
        let outs: Vec<_> = ["y", "y_h", "y_c"].iter().map(|n| g.add_value(*n, ValueType::Unknown)).collect();
        let acts = [Activation::Sigmoid, Activation::Tanh, Activation::Tanh].repeat(dirs);
        let attrs = RnnAttrs { hidden_size: hid, direction, batch_first: false, activations: acts, clip: None };
        let op = Op::Rnn(RnnOp::Lstm { attrs, input_forget: false });
        g.add_node(
            "lstm",
            op,
            vec![Some(x), Some(w), Some(r), Some(b), Some(lens)],
            outs.iter().map(|&o| Some(o)).collect(),
        );
        g.outputs.extend(&outs);
        let xs = Tensor::from_vec(vec![seq, batch, inp], vals(seq * batch * inp, 0.9)).unwrap();
        let ls = Tensor::from_vec(vec![batch], vec![4i32, 2, 0]).unwrap();
        let ins = vec![Value::Tensor(xs), Value::Tensor(ls)];
        let want = Session::new(&g).unwrap().run(ins.clone()).unwrap();
        let got = host::compile_and_run(&g, &ins, &Options::default()).unwrap();
        for (w, o) in want.iter().zip(&got) {
            let (w, o) = (w.as_tensor().unwrap().to_f32_vec().unwrap(), o.as_tensor().unwrap().to_f32_vec().unwrap());
            assert_eq!(w.len(), o.len());
            for (a, b) in w.iter().zip(&o) {
                assert!((a - b).abs() <= 1e-6, "{direction:?}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn random_draws_advance_per_run_and_repeat_from_a_fresh_arena() {
    use mote_ir::ops::nn::NnOp;
    use mote_ir::ops::random::RandomOp;
    use mote_rt::host::AlignedBuf;
    let mut g = Graph::new("random");
    let p = input(&mut g, "p", DType::F32, &[64]);
    let x = input(&mut g, "x", DType::F32, &[64]);
    let ratio = input(&mut g, "ratio", DType::F32, &[]);
    let on = g.add_const("training", Tensor::scalar(true));
    let outs: Vec<_> = ["coin", "y", "mask"].iter().map(|n| g.add_value(*n, ValueType::Unknown)).collect();
    let bern = Op::Random(RandomOp::Bernoulli { dtype: Some(DType::F32), seed: Some(3.0) });
    g.add_node("coin", bern, vec![Some(p)], vec![Some(outs[0])]);
    let drop = Op::Nn(NnOp::Dropout { seed: Some(5) });
    g.add_node("drop", drop, vec![Some(x), Some(ratio), Some(on)], vec![Some(outs[1]), Some(outs[2])]);
    g.outputs.extend(&outs);

    let ps: Vec<f32> = (0..64).map(|i| [0.0, 1.0, 0.5, 0.25][i % 4]).collect();
    let xs: Vec<f32> = (0..64).map(|i| i as f32 - 20.0).collect();
    let named = vec![
        ("p".to_string(), Value::Tensor(Tensor::from_vec(vec![64], ps.clone()).unwrap())),
        ("x".to_string(), Value::Tensor(Tensor::from_vec(vec![64], xs.clone()).unwrap())),
        ("ratio".to_string(), Value::Tensor(Tensor::scalar(0.75f32))),
    ];
    let mut opts = Options::default();
    for (n, v) in &named {
        opts.shapes.insert(n.clone(), v.as_tensor().unwrap().shape().to_vec());
    }
    let bytes = mote_compile::compile(g, &opts).unwrap().bytes;
    let buf = AlignedBuf::from_bytes(&bytes);
    let rt = mote_rt::Runtime::load(buf.as_ref()).unwrap();
    let runs = |k: usize| {
        let mut arena = AlignedBuf::zeroed(rt.arena_size());
        (0..k).map(|_| host::run_named(&rt, &mut arena, &named).unwrap()).collect::<Vec<_>>()
    };
    let first = runs(2);
    for out in &first {
        let coin = out[0].as_tensor().unwrap().to_f32_vec().unwrap();
        let y = out[1].as_tensor().unwrap().to_f32_vec().unwrap();
        let mask = out[2].as_tensor().unwrap().typed::<bool>().unwrap().to_vec();
        for i in 0..64 {
            assert!(coin[i] == 0.0 || coin[i] == 1.0);
            if ps[i] == 0.0 || ps[i] == 1.0 {
                assert_eq!(coin[i], ps[i], "p = {} must be certain", ps[i]);
            }
            assert_eq!(y[i], if mask[i] { xs[i] * 4.0 } else { 0.0 });
        }
        let kept = mask.iter().filter(|&&m| m).count();
        assert!((4..=32).contains(&kept), "{kept} of 64 kept at ratio 0.75");
    }
    assert_ne!(first[0], first[1], "the second run draws new values");
    assert_eq!(runs(1)[0], first[0], "a zeroed arena repeats the first run");
}

#[test]
fn f64_matmul_and_softmax_match_the_interpreter() {
    use mote_ir::ops::nn::{NnOp, SoftmaxAttrs, SoftmaxKind};
    let mut g = Graph::new("f64");
    let a = input(&mut g, "a", DType::F64, &[2, 1, 3, 4]);
    let b = input(&mut g, "b", DType::F64, &[3, 4, 5]);
    let (p, s, ls) = (
        g.add_value("p", ValueType::Unknown),
        g.add_value("s", ValueType::Unknown),
        g.add_value("ls", ValueType::Unknown),
    );
    g.add_node("mm", Op::Nn(NnOp::MatMul), vec![Some(a), Some(b)], vec![Some(p)]);
    for (name, kind, out, axis) in [("sm", SoftmaxKind::Softmax, s, -1), ("lsm", SoftmaxKind::LogSoftmax, ls, 1)] {
        let op = Op::Nn(NnOp::Softmax(SoftmaxAttrs { kind, axis, coerce_2d: false }));
        g.add_node(name, op, vec![Some(p)], vec![Some(out)]);
    }
    g.outputs.extend([p, s, ls]);
    let vals = |n: usize, k: f64| (0..n).map(|i| (i as f64 * k).sin() * 3.0).collect::<Vec<f64>>();
    let ins = vec![
        Value::Tensor(Tensor::from_vec(vec![2, 1, 3, 4], vals(24, 0.37)).unwrap()),
        Value::Tensor(Tensor::from_vec(vec![3, 4, 5], vals(60, 0.91)).unwrap()),
    ];
    let want = Session::new(&g).unwrap().run(ins.clone()).unwrap();
    let got = host::compile_and_run(&g, &ins, &Options::default()).unwrap();
    for (w, o) in want.iter().zip(&got) {
        let (w, o) = (w.as_tensor().unwrap().to_f64_vec().unwrap(), o.as_tensor().unwrap().to_f64_vec().unwrap());
        assert_eq!(w.len(), o.len());
        for (x, y) in w.iter().zip(&o) {
            assert!((x - y).abs() <= 1e-12 * (1.0 + x.abs()), "{x} vs {y}");
        }
    }
}

#[test]
fn qlinear_matmul_with_runtime_scales_is_bit_exact() {
    use mote_ir::ops::quant::QuantOp;
    let mut g = Graph::new("qlinear");
    let a = input(&mut g, "a", DType::U8, &[3, 4]);
    let sa = input(&mut g, "a_scale", DType::F32, &[]);
    let az = g.add_const("a_zero", Tensor::scalar(128u8));
    let b = input(&mut g, "b", DType::U8, &[4, 5]);
    let sb = input(&mut g, "b_scale", DType::F32, &[5]);
    let bz = g.add_const("b_zero", Tensor::scalar(120u8));
    let sy = input(&mut g, "y_scale", DType::F32, &[]);
    let yz = g.add_const("y_zero", Tensor::scalar(100u8));
    let y = g.add_value("y", ValueType::Unknown);
    let ins = [a, sa, az, b, sb, bz, sy, yz].map(Some).to_vec();
    g.add_node("qmm", Op::Quant(QuantOp::QLinearMatMul), ins, vec![Some(y)]);
    g.outputs.push(y);
    let bytes = |n: usize, k: usize| (0..n).map(|i| ((i * k + 7) % 256) as u8).collect::<Vec<u8>>();
    for (s_a, s_y) in [(0.02f32, 0.05f32), (0.0117, 0.3)] {
        let ins = vec![
            Value::Tensor(Tensor::from_vec(vec![3, 4], bytes(12, 37)).unwrap()),
            Value::Tensor(Tensor::scalar(s_a)),
            Value::Tensor(Tensor::from_vec(vec![4, 5], bytes(20, 91)).unwrap()),
            Value::Tensor(Tensor::from_vec(vec![5], vec![0.01f32, 0.02, 0.013, 0.05, 0.0071]).unwrap()),
            Value::Tensor(Tensor::scalar(s_y)),
        ];
        same_as_interpreter(&g, ins, &Options::default());
    }
}

#[test]
fn mel_weight_matrix_with_a_runtime_sample_rate_and_edges() {
    use mote_ir::ops::signal::SignalOp;
    let mut g = Graph::new("mel");
    let mels = g.add_const("mels", Tensor::scalar(8i32));
    let dft = g.add_const("dft", Tensor::scalar(64i32));
    let sr = input(&mut g, "sr", DType::I32, &[]);
    let lo = input(&mut g, "lo", DType::F32, &[]);
    let hi = input(&mut g, "hi", DType::F32, &[]);
    let y = g.add_value("y", ValueType::Unknown);
    let op = Op::Signal(SignalOp::MelWeightMatrix { dtype: DType::F32 });
    g.add_node("mel", op, [mels, dft, sr, lo, hi].map(Some).to_vec(), vec![Some(y)]);
    g.outputs.push(y);
    let ins = |s: i32, l: f32, h: f32| {
        vec![Value::Tensor(Tensor::scalar(s)), Value::Tensor(Tensor::scalar(l)), Value::Tensor(Tensor::scalar(h))]
    };
    for (s, l, h) in [(16000, 0.0, 8000.0), (8000, 100.0, 3000.0), (22050, 20.0, 11025.0)] {
        same_as_interpreter(&g, ins(s, l, h), &Options::default());
    }
    // An upper edge above the Nyquist frequency puts a filter outside the spectrogram.
    let e = host::compile_and_run(&g, &ins(8000, 0.0, 20000.0), &Options::default()).unwrap_err();
    assert!(e.contains("MelWeightMatrix"), "{e}");
}
