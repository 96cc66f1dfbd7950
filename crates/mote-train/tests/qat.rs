//! QAT on a QDQ graph: `prepare` keeps the forward pass exactly, makes the weights trainable,
//! and the quantizers pass gradients straight through inside their range only.

mod common;
use common::digits;

use mote_ir::ops::quant::QuantOp;
use mote_ir::{DType, Dim, Graph, Tensor, TensorType, Value, ValueType};
use mote_train::{Mode, backward, forward, params};

/// x -> Q -> DQ -> Gemm(DQ(int8 W), DQ(int32 b)) -> y: the QDQ form `mote quantize` writes.
fn qdq() -> Graph {
    let mut g = Graph::new("qdq");
    let x = g.add_value("x", ValueType::Tensor(TensorType::new(DType::F32, vec![Dim::Known(2), Dim::Known(4)])));
    g.inputs.push(x);
    let xs = g.add_const("xs", Tensor::scalar(0.02f32));
    let xz = g.add_const("xz", Tensor::scalar(0i8));
    let w = g.add_const(
        "w",
        Tensor::from_vec(vec![3, 4], (0..12).map(|i| (i * 23 % 255 - 127) as i8).collect::<Vec<_>>()).unwrap(),
    );
    let ws = g.add_const("ws", Tensor::from_vec(vec![3], vec![0.01f32, 0.02, 0.005]).unwrap());
    let wz = g.add_const("wz", Tensor::from_vec(vec![3], vec![0i8; 3]).unwrap());
    let b = g.add_const("b", Tensor::from_vec(vec![3], vec![100i32, -50, 7]).unwrap());
    let bs = g.add_const("bs", Tensor::from_vec(vec![3], vec![0.0002f32, 0.0004, 0.0001]).unwrap());
    let node = |g: &mut Graph, name: &str, op: mote_ir::Op, ins: Vec<mote_ir::ValueId>| {
        let y = g.add_value(name, ValueType::Unknown);
        g.add_node(name, op, ins.into_iter().map(Some).collect(), vec![Some(y)]);
        y
    };
    let q = QuantOp::Quantize { axis: 1, block_size: 0, output_dtype: None, precision: None, saturate: true };
    let dq = |axis| QuantOp::Dequantize { axis, block_size: 0, output_dtype: None };
    let xq = node(&mut g, "xq", q.into(), vec![x, xs, xz]);
    let xd = node(&mut g, "xd", dq(1).into(), vec![xq, xs, xz]);
    let wd = node(&mut g, "wd", dq(0).into(), vec![w, ws, wz]);
    let bd = node(&mut g, "bd", dq(0).into(), vec![b, bs]);
    let gemm = mote_ir::ops::nn::NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true };
    let y = node(&mut g, "y", gemm.into(), vec![xd, wd, bd]);
    g.outputs.push(y);
    g
}

fn run(g: &Graph, x: &[f32]) -> (Vec<f32>, mote_train::Tape) {
    let x = Tensor::from_vec(vec![2, 4], x.to_vec()).unwrap();
    let tape = forward(g, vec![Value::Tensor(x)], Mode::Eval).expect("forward");
    (tape.tensor(g.outputs[0]).unwrap().to_f32_vec().unwrap(), tape)
}

#[test]
fn prepare_keeps_the_forward_and_exposes_float_weights() {
    let g = qdq();
    let (qg, made) = mote_train::qat::prepare(&g).expect("prepare");
    assert_eq!(made, 2, "the weight and the bias");
    let x = [0.3, -1.0, 0.55, 2.9, -0.2, 0.0, 0.41, -0.07];
    assert_eq!(run(&g, &x).0, run(&qg, &x).0, "the fake-quantized graph computes the same");
    let names: Vec<String> = params(&qg).iter().map(|p| qg.value(*p).name.clone()).collect();
    assert_eq!(names, ["w/float", "b/float"]);
}

#[test]
fn quantizers_pass_gradients_straight_through_inside_their_range() {
    let (qg, _) = mote_train::qat::prepare(&qdq()).expect("prepare");
    // 2.9 / 0.02 = 145 > 127: clamped, so no gradient reaches that input.
    let x = [0.3, -1.0, 0.55, 2.9, -0.2, 0.0, 0.41, -0.07];
    let (_, tape) = run(&qg, &x);
    let grads = backward(&qg, &tape, vec![(qg.outputs[0], vec![1.0; 6])]).expect("backward");
    let gx = grads[qg.inputs[0].index()].clone().expect("input gradient");
    let w: Vec<f32> =
        qg.values.iter().find(|v| v.name == "w/float").unwrap().init.as_ref().unwrap().to_f32_vec().unwrap();
    for (i, g) in gx.iter().enumerate() {
        let col: f32 = (0..3).map(|o| w[o * 4 + i % 4]).sum();
        let want = if i == 3 { 0.0 } else { col };
        assert!((g - want).abs() < 1e-5, "dx[{i}] = {g}, want {want}");
    }
    // The float weight's gradient is the float product's: x (dequantized) summed over rows.
    let wid = params(&qg)[0];
    let gw = grads[wid.index()].clone().expect("weight gradient");
    let xd: Vec<f32> = x.iter().map(|v| (v / 0.02f32).round_ties_even().clamp(-128.0, 127.0) * 0.02).collect();
    for o in 0..3 {
        for k in 0..4 {
            let want = xd[k] + xd[4 + k];
            assert!((gw[o * 4 + k] - want).abs() < 1e-5, "dW[{o},{k}]");
        }
    }
}

// ---- the training forward against the compiled int8 model, on digits ----

use mote_train::arch::{Arch, build};
use mote_train::data::Dataset;

/// `mote quantize`'s QDQ graph of `float`, calibrated on `calib`, QAT-prepared.
fn quantized(float: &Graph, calib: &Dataset, tag: &str) -> Graph {
    let float = mote_quant::pipeline::prepare(float.clone()).expect("prepare for quantization");
    let dir = std::env::temp_dir().join(format!("mote-train-qat-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("calib.npy");
    let (batch, _) = calib.batch(&(0..calib.len()).collect::<Vec<_>>());
    mote_data::write_npy(&file, &batch).expect("write calibration data");
    let cfg = mote_quant::calib::CalibConfig { files: vec![file], ..Default::default() };
    let set = mote_quant::calib::CalibSet::build(&float, &cfg).expect("calibration set");
    let s = mote_quant::pipeline::Settings::default();
    let out = mote_quant::pipeline::run(tag, &float, &set, None, &s, &mut |_, _, _| {}).expect("quantize");
    std::fs::remove_dir_all(&dir).ok();
    mote_train::qat::prepare(&out.quantized.graph).expect("qat prepare").0
}

/// The logits of every row of `data`, by the training forward and by the compiled int8 model.
fn both(g: &Graph, data: &Dataset) -> (Vec<f32>, Vec<f32>) {
    let (x, _) = data.batch(&(0..data.len()).collect::<Vec<_>>());
    let tape = forward(g, vec![Value::Tensor(x.clone())], Mode::Eval).expect("forward");
    let trained = tape.tensor(g.outputs[0]).expect("output").to_f32_vec().expect("f32");
    let input = g.value(g.runtime_inputs()[0]).name.clone();
    let mut opts = mote_compile::Options::default();
    opts.shapes.insert(input.clone(), x.shape().to_vec());
    let c = mote_compile::compile(g.clone(), &opts).expect("compile");
    let buf = mote_rt::host::AlignedBuf::from_bytes(&c.bytes);
    let rt = mote_rt::Runtime::load(buf.as_ref()).expect("load");
    let mut arena = mote_rt::host::AlignedBuf::zeroed(rt.arena_size());
    let out = mote_compile::host::run_named(&rt, &mut arena, &[(input, Value::Tensor(x))]).expect("run");
    (trained, out[0].as_tensor().expect("tensor").to_f32_vec().expect("f32"))
}

fn assert_bit_exact(g: &Graph, data: &Dataset, what: &str) {
    let (t, r) = both(g, data);
    assert_eq!(t.len(), r.len());
    let diff = t.iter().zip(&r).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    let max = t.iter().zip(&r).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert_eq!(diff, 0, "{what}: {diff} of {} logits differ from the int8 .mote (max {max})", t.len());
}

fn check_model(spec: &str) {
    let Some(data) = digits() else {
        eprintln!("SKIPPED qat bit-exactness: ../shared/data/datasets/sklearn_digits not found");
        return;
    };
    let (train, test) = data.split(0.2, 0);
    let train = train.subset(&(0..192).collect::<Vec<_>>());
    let test = test.subset(&(0..96).collect::<Vec<_>>());
    let float = build(&Arch::parse(spec).expect("spec"), &data.shape, 10, 1.0 / 16.0, 0).expect("build");
    let mut g = quantized(&float, &train.subset(&(0..64).collect::<Vec<_>>()), spec);
    let s = mote_train::qat::units(&g).expect("units");
    assert!(s.integer >= 3, "{spec}: {s:?}");
    eprintln!("{spec}: {} int8 units", s.integer);
    assert_bit_exact(&g, &test, &format!("{spec} after quantization"));
    // A few training steps move the float master weights (and so the int8 weights).
    let before: Vec<f32> =
        params(&g).iter().flat_map(|p| g.value(*p).init.as_ref().unwrap().to_f32_vec().unwrap()).collect();
    let cfg = mote_train::fit::Config {
        epochs: 1,
        batch: 32,
        rule: mote_train::optim::Rule::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupled: false },
        weight_decay: 0.0,
        schedule: mote_train::optim::Schedule {
            base: 3e-3,
            decay: mote_train::optim::Decay::Cosine { min: 0.0 },
            warmup: 0,
            total: 0,
        },
        label_smoothing: 0.0,
        augment: Default::default(),
        seed: 0,
        masks: Vec::new(),
        train_only: None,
    };
    mote_train::fit::fit(
        &mut g,
        &train,
        None,
        &cfg,
        mote_train::fit::Objective::Labels,
        None,
        mote_train::fit::Hooks::default(),
    )
    .expect("fit");
    let after: Vec<f32> =
        params(&g).iter().flat_map(|p| g.value(*p).init.as_ref().unwrap().to_f32_vec().unwrap()).collect();
    assert_ne!(before, after, "training did not change the weights");
    assert_bit_exact(&g, &test, &format!("{spec} after 6 QAT steps"));
}

#[test]
fn the_training_forward_of_a_quantized_cnn_is_the_int8_mote_bit_for_bit() {
    check_model("cnn:8,16");
}

#[test]
fn the_training_forward_of_a_quantized_mlp_is_the_int8_mote_bit_for_bit() {
    check_model("mlp:32,16");
}

#[test]
fn the_training_forward_of_a_quantized_resnet_is_the_int8_mote_bit_for_bit() {
    // Residual Adds and the global average pool (int8 Add and Mean units).
    check_model("resnet8:8");
}

#[test]
fn the_training_forward_of_a_quantized_dscnn_is_the_int8_mote_bit_for_bit() {
    // Depthwise convolutions.
    check_model("dscnn:16x2");
}

/// x -> Q -> DQ feeding int8 units of every other kind: a table (Sigmoid), Concat (inputs of two
/// scales), Softmax, AveragePool and Mul; one output each.
fn other_units() -> Graph {
    use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
    use mote_ir::ops::nn::{NnOp, PoolAttrs, PoolKind, SoftmaxAttrs, SoftmaxKind, Window};
    use mote_ir::ops::shape::ShapeOp;
    let mut g = Graph::new("units");
    let dims = vec![Dim::Known(4), Dim::Known(3), Dim::Known(8), Dim::Known(8)];
    let x = g.add_value("x", ValueType::Tensor(TensorType::new(DType::F32, dims)));
    g.inputs.push(x);
    let node = |g: &mut Graph, name: &str, op: mote_ir::Op, ins: Vec<mote_ir::ValueId>| {
        let y = g.add_value(name, ValueType::Unknown);
        g.add_node(name, op, ins.into_iter().map(Some).collect(), vec![Some(y)]);
        y
    };
    let q = QuantOp::Quantize { axis: 1, block_size: 0, output_dtype: None, precision: None, saturate: true };
    let dq = QuantOp::Dequantize { axis: 1, block_size: 0, output_dtype: None };
    // QuantizeLinear then DequantizeLinear with scale `s` and zero point `z`.
    let qdq = |g: &mut Graph, name: &str, v: mote_ir::ValueId, s: f32, z: i8| {
        let (sc, zc) =
            (g.add_const(format!("{name}.s"), Tensor::scalar(s)), g.add_const(format!("{name}.z"), Tensor::scalar(z)));
        let qv = node(g, &format!("{name}.q"), q.clone().into(), vec![v, sc, zc]);
        node(g, &format!("{name}.dq"), dq.clone().into(), vec![qv, sc, zc])
    };
    let xd = qdq(&mut g, "x", x, 0.05, 3);
    let sig = node(&mut g, "sigmoid", ElementwiseOp::Unary(Unary::Sigmoid).into(), vec![xd]);
    let sd = qdq(&mut g, "sig", sig, 1.0 / 200.0, -100);
    let cat = node(&mut g, "concat", ShapeOp::Concat { axis: 1 }.into(), vec![sd, xd]);
    let cd = qdq(&mut g, "cat", cat, 0.03, 5);
    let sm = SoftmaxAttrs { kind: SoftmaxKind::Softmax, axis: -1, coerce_2d: false };
    let soft = node(&mut g, "softmax", NnOp::Softmax(sm).into(), vec![cd]);
    let softd = qdq(&mut g, "soft", soft, 1.0 / 256.0, -128);
    let window = Window { kernel_shape: Some(vec![2, 2]), strides: vec![2, 2], ..Default::default() };
    let pool = PoolAttrs { kind: PoolKind::Average { count_include_pad: false }, window };
    let avg = node(&mut g, "avgpool", NnOp::Pool(pool).into(), vec![xd]);
    let avgd = qdq(&mut g, "avg", avg, 0.05, 3);
    let mul = node(&mut g, "mul", ElementwiseOp::Binary(Binary::Mul).into(), vec![xd, xd]);
    let muld = qdq(&mut g, "mul", mul, 0.07, -2);
    g.outputs.extend([cd, softd, avgd, muld]);
    g
}

#[test]
fn tables_concat_softmax_pooling_and_mul_units_are_the_int8_mote_bit_for_bit() {
    let mut g = other_units();
    mote_ir::infer::infer_graph(&mut g, None).expect("infer");
    let s = mote_train::qat::units(&g).expect("units");
    assert_eq!((s.integer, s.float.len()), (5, 0), "{s:?}");
    // Inputs over the whole int8 range and beyond, with ties of the input quantizer.
    let x: Vec<f32> = (0..768).map(|i| ((i * 37 % 251) as f32 - 125.0) * 0.0625).collect();
    let x = Tensor::from_vec(vec![4, 3, 8, 8], x).unwrap();
    let tape = forward(&g, vec![Value::Tensor(x.clone())], Mode::Eval).expect("forward");
    let mut opts = mote_compile::Options::default();
    opts.shapes.insert("x".into(), vec![4, 3, 8, 8]);
    let c = mote_compile::compile(g.clone(), &opts).expect("compile");
    let buf = mote_rt::host::AlignedBuf::from_bytes(&c.bytes);
    let rt = mote_rt::Runtime::load(buf.as_ref()).expect("load");
    let mut arena = mote_rt::host::AlignedBuf::zeroed(rt.arena_size());
    let out = mote_compile::host::run_named(&rt, &mut arena, &[("x".into(), Value::Tensor(x))]).expect("run");
    for (k, (id, r)) in g.outputs.iter().zip(&out).enumerate() {
        let t = tape.tensor(*id).expect("output").to_f32_vec().unwrap();
        let r = r.as_tensor().expect("tensor").to_f32_vec().unwrap();
        let diff = t.iter().zip(&r).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert_eq!(diff, 0, "output {k} ({}): {diff} of {} values differ", g.value(*id).name, t.len());
    }
}
