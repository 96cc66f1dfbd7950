//! `mote quantize`: files written, JSON report, HTML report, the budget's exit code, clear errors.
//! Uses the shared hello_world model (skipped with a message when the shared data is absent).

use std::path::PathBuf;
use std::process::{Command, Output};

fn mote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mote")).args(args).output().expect("run mote")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mote-cli-quantize-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn quantize_writes_the_mote_and_the_reports() {
    let Some(data) = mote_conformance::shared_data() else {
        eprintln!("SKIPPED mote quantize CLI: ../shared/data not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let model = data.join("models/tflm_hello_world_float/model.onnx");
    let model = model.to_str().unwrap();
    let d = tmp("hw");
    let samples = d.join("calib");
    std::fs::create_dir_all(&samples).unwrap();
    for i in 0..16 {
        let t = mote_ir::Tensor::from_vec(vec![1, 1], vec![i as f32 * 0.4]).unwrap();
        mote_data::write_npy(&samples.join(format!("x{i:02}.npy")), &t).unwrap();
    }
    let (out, html, s) = (d.join("hw.int8.mote"), d.join("r.html"), samples.to_str().unwrap());
    let o = mote(&[
        "quantize",
        model,
        "--calib",
        s,
        "--method",
        "mse",
        "--report",
        html.to_str().unwrap(),
        "--json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["method"], "mse");
    assert_eq!(v["calibration_samples"], 16);
    assert_eq!(v["task"], "regress");
    assert_eq!(v["quantized_nodes"].as_array().unwrap().len(), 3);
    assert!(v["tensors"].as_array().unwrap().iter().all(|t| t["cosine"].as_f64().unwrap() > 0.99));
    assert!(v["calibration"]["max_abs_error"].as_f64().unwrap() < 0.1);
    assert_eq!(v["file_bytes"].as_u64().unwrap(), std::fs::metadata(&out).unwrap().len());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<svg") && page.contains("<rect") && !page.contains("<script"),
        "self-contained HTML with a plot"
    );
    // The .mote runs.
    let input = samples.join("x05.npy");
    let o =
        mote(&["run", out.to_str().unwrap(), "--input", &format!("serving_default_dense_input:0={}", input.display())]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // The QDQ graph as ONNX: it imports, and its int8 nodes are found again.
    let qdq = d.join("hw.int8.onnx");
    let o = mote(&["quantize", model, "--calib", s, "-o", qdq.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = mote(&["inspect", qdq.to_str().unwrap()]);
    assert!(o.status.success() && text(&o.stdout).contains("3 node(s) run as integer steps"), "{}", text(&o.stdout));
    // A budget of 0 keeps every layer in f32 and says which.
    let o = mote(&["quantize", model, "--calib", s, "--accuracy-budget", "0", "--json", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["budget_met"], true);
    assert_eq!(v["kept_float"].as_array().unwrap().len(), 3);
    assert_eq!(v["calibration"]["loss_pct"], 0.0);
    let o = mote(&["quantize", model, "--calib", s, "--keep-float", "nope", "-o", out.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o.stderr).contains("--keep-float nope"), "{}", text(&o.stderr));
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn quantize_refuses_bad_arguments_clearly() {
    let Some(data) = mote_conformance::shared_data() else {
        eprintln!("SKIPPED mote quantize CLI errors: ../shared/data not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let model = data.join("models/tflm_hello_world_float/model.onnx");
    let model = model.to_str().unwrap();
    let d = tmp("bad");
    let o = mote(&["quantize", model, "--calib", d.to_str().unwrap(), "-o", "x.tflite"]);
    assert!(text(&o.stderr).contains("should end in .mote or .onnx"), "{}", text(&o.stderr));
    let o = mote(&["quantize", model, "--calib", d.to_str().unwrap(), "--method", "kl", "-o", "x.mote"]);
    assert!(text(&o.stderr).contains("unknown calibration method `kl`"), "{}", text(&o.stderr));
    let o = mote(&["quantize", model, "--calib", d.to_str().unwrap(), "-o", "x.mote"]);
    assert!(!o.status.success() && text(&o.stderr).contains("no calibration samples"), "{}", text(&o.stderr));
    let o = mote(&["quantize", model, "-o", "x.mote"]);
    assert!(!o.status.success() && text(&o.stderr).contains("--calib"), "{}", text(&o.stderr));
    std::fs::remove_dir_all(&d).ok();
}
