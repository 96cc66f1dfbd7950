//! `mote-quant` on shared real models: the QDQ graph agrees with f32 (interpreter and compiled),
//! and efficientnet_lite0 keeps its top-1 on the shared photos and on random crops. Skipped (with
//! a message) when the shared data is absent.
//!
//! The full measurement (200 evaluation crops) is `scripts/quantize_effnet.sh`.

use std::path::{Path, PathBuf};

use mote_conformance::shared_data;
use mote_ir::Value;
use mote_quant::calib::{CalibConfig, CalibSet};
use mote_quant::pipeline::{Settings, compile_mote, prepare, run};
use mote_quant::report::{Task, argmax_of};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mote-quant-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn tensor(v: &Value) -> &mote_ir::Tensor {
    match v {
        Value::Tensor(t) => t,
        _ => panic!("not a tensor"),
    }
}

#[test]
fn hello_world_qdq_agrees_with_f32_in_the_interpreter_and_compiled() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED hello_world quantization: ../shared/data not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let model = mote_onnx::load(data.join("models/tflm_hello_world_float/model.onnx")).unwrap();
    let float = prepare(model.graph).unwrap();
    let dir = tmp("hello");
    for i in 0..64 {
        let x = i as f32 / 63.0 * std::f32::consts::TAU;
        let t = mote_ir::Tensor::from_vec(vec![1, 1], vec![x]).unwrap();
        mote_data::write_npy(&dir.join(format!("x{i:02}.npy")), &t).unwrap();
    }
    let calib = CalibSet::build(&float, &CalibConfig { files: vec![dir.clone()], ..Default::default() }).unwrap();
    assert_eq!(calib.len(), 64);
    let s = Settings { task: Some(Task::Regress), ..Settings::default() };
    let out = run("hello_world", &float, &calib, None, &s, &mut |_, _, _| {}).unwrap();
    let r = &out.report;
    assert_eq!(r.quantized_nodes.len(), 3, "{:?}", r.quantized_nodes);
    assert!(r.float_nodes.is_empty(), "{:?}", r.float_nodes);
    // sin(x) in [-1, 1]: int8 keeps it within a few hundredths.
    assert!(r.calibration.max_abs_error < 0.06, "max abs error {}", r.calibration.max_abs_error);
    assert!(r.calibration.max_abs_error > 0.0);
    assert!(r.tensors.iter().all(|t| t.sqnr_db.is_none_or(|d| d > 20.0)), "{:?}", r.tensors);
    // The compiled QDQ file runs in the runtime and matches the QDQ graph in the interpreter.
    let c = compile_mote(&out.quantized.graph, &calib.load(0).unwrap(), Default::default()).unwrap();
    let buf = mote_rt::host::AlignedBuf::from_bytes(&c.bytes);
    let rt = mote_rt::Runtime::load(buf.as_ref()).unwrap();
    let mut arena = mote_rt::host::AlignedBuf::zeroed(rt.arena_size());
    let qs = mote_interp::Session::new(&out.quantized.graph).unwrap();
    for i in [0, 17, 40, 63] {
        let inputs = calib.load(i).unwrap();
        let a = qs.run_named(inputs.clone()).unwrap();
        let b = mote_compile::host::run_named(&rt, &mut arena, &inputs).unwrap();
        let (a, b) = (tensor(&a[0]).to_f32_vec().unwrap(), tensor(&b[0]).to_f32_vec().unwrap());
        assert!((a[0] - b[0]).abs() < 1e-5, "sample {i}: interpreter {} vs compiled {}", a[0], b[0]);
    }
    std::fs::remove_dir_all(&dir).ok();
}

const SPEC: &str = "crop=0.875,size=224x224,channels=rgb,mean=127,std=128,layout=nchw";
/// The shared photos (not the scanned text pages).
const PHOTOS: [&str; 6] = ["camera", "chelsea", "coffee", "horse", "motorcycle_left", "rocket"];

fn photos(data: &Path) -> Vec<PathBuf> {
    PHOTOS.iter().map(|p| data.join(format!("datasets/images/{p}.npy"))).collect()
}

#[test]
fn efficientnet_lite0_keeps_its_top1() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED efficientnet_lite0 quantization: ../shared/data not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let dir = data.join("models/efficientnet_lite0");
    let float = prepare(mote_onnx::load(dir.join("model.onnx")).unwrap().graph).unwrap();
    let cfg = CalibConfig {
        files: photos(&data),
        image_spec: Some(SPEC.into()),
        crops: Some(12),
        seed: Some(1),
        ..Default::default()
    };
    let calib = CalibSet::build(&float, &cfg).unwrap();
    let eval = CalibSet::build(&float, &CalibConfig { crops: Some(24), seed: Some(2), ..cfg.clone() }).unwrap();
    let out = run("efficientnet_lite0", &float, &calib, Some(&eval), &Settings::default(), &mut |_, _, _| {}).unwrap();
    let r = &out.report;
    assert_eq!(r.task, Task::Classify);
    assert!(r.float_nodes.is_empty(), "every node quantizes: {:?}", r.float_nodes);
    let e = r.evaluation.as_ref().unwrap();
    let top1 = e.top1_agreement_pct.unwrap();
    eprintln!("efficientnet_lite0 int8: top-1 agreement {top1:.1}% on {} evaluation crops", e.samples);
    assert!(top1 >= 90.0, "top-1 agreement {top1}% on {} crops", e.samples);
    // Every shared test photo keeps its f32 top-1 (test_data_set_4 is a batch of two).
    let (fs, qs) =
        (mote_interp::Session::new(&float).unwrap(), mote_interp::Session::new(&out.quantized.graph).unwrap());
    for k in 0..5 {
        let input = mote_data::read_value(
            &dir.join(format!("test_data_set_{k}/input_0.pb")),
            &float.value(float.inputs[0]).ty,
            None,
        )
        .unwrap();
        let f = fs.run(vec![input.clone()]).unwrap();
        let q = qs.run(vec![input]).unwrap();
        assert_eq!(argmax_of(tensor(&f[0])), argmax_of(tensor(&q[0])), "test_data_set_{k}");
    }
}

#[test]
fn accuracy_budget_keeps_layers_in_f32_until_it_holds() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED accuracy budget: ../shared/data not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let model = mote_onnx::load(data.join("models/tflm_hello_world_float/model.onnx")).unwrap();
    let float = prepare(model.graph).unwrap();
    let dir = tmp("budget");
    for i in 0..32 {
        let t = mote_ir::Tensor::from_vec(vec![1, 1], vec![i as f32 * 0.2]).unwrap();
        mote_data::write_npy(&dir.join(format!("x{i:02}.npy")), &t).unwrap();
    }
    let calib = CalibSet::build(&float, &CalibConfig { files: vec![dir.clone()], ..Default::default() }).unwrap();
    let plain = run(
        "hw",
        &float,
        &calib,
        None,
        &Settings { task: Some(Task::Regress), ..Settings::default() },
        &mut |_, _, _| {},
    )
    .unwrap();
    let loss = plain.report.calibration.loss_pct;
    assert!(loss > 0.0);
    // A budget below the int8 loss keeps layers in f32, most harmful first, until it holds.
    let s = Settings { task: Some(Task::Regress), budget_pct: Some(loss / 4.0), ..Settings::default() };
    let out = run("hw", &float, &calib, None, &s, &mut |_, _, _| {}).unwrap();
    let r = &out.report;
    assert!(!r.kept_float.is_empty());
    assert!(r.budget_met, "{r:?}");
    assert!(r.calibration.loss_pct <= loss / 4.0);
    assert_eq!(r.kept_float.last().unwrap().loss_after_pct, r.calibration.loss_pct);
    for k in &r.kept_float {
        assert!(r.float_nodes.iter().any(|(n, _)| n == &k.node), "{} must be listed as f32", k.node);
        assert!(!r.quantized_nodes.iter().any(|(n, _)| n == &k.node));
    }
    // A budget of 0 keeps every layer: the graph is the float one.
    let s = Settings { task: Some(Task::Regress), budget_pct: Some(0.0), ..Settings::default() };
    let out = run("hw", &float, &calib, None, &s, &mut |_, _, _| {}).unwrap();
    assert!(out.report.budget_met);
    assert_eq!(out.report.calibration.loss_pct, 0.0);
    assert_eq!(out.report.kept_float.len(), 3);
    std::fs::remove_dir_all(&dir).ok();
}
