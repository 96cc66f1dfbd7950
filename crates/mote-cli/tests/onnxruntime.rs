//! The ONNX files Mote writes, checked in onnxruntime: every architecture `mote train` builds,
//! trained for an epoch and written, and its int8 QDQ form from `mote quantize -o x.onnx`, give
//! in onnxruntime the outputs Mote's interpreter gives.
//!
//! onnxruntime comes from `scripts/ort-env.sh` (a Python venv in `out/ort-venv`; the test
//! command makes it). Without it the test says it skipped, unless `MOTE_REQUIRE_ORT=1` (CI),
//! where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mote_ir::Tensor;

fn mote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mote")).args(args).output().expect("mote runs")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python with onnxruntime: `MOTE_ORT_PYTHON`, else `out/ort-venv`.
fn python() -> Option<PathBuf> {
    let py = std::env::var_os("MOTE_ORT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("out/ort-venv/bin/python"));
    let ok = Command::new(&py).args(["-c", "import onnxruntime"]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    let why = format!("no Python with onnxruntime at `{}` (run scripts/ort-env.sh)", py.display());
    assert!(std::env::var("MOTE_REQUIRE_ORT").as_deref() != Ok("1"), "MOTE_REQUIRE_ORT=1 but {why}");
    eprintln!("SKIPPED the onnxruntime check of written ONNX files: {why}");
    None
}

fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn npy(path: &Path, shape: &[usize], v: Vec<f32>) {
    mote_data::write_npy(path, &Tensor::from_vec(shape.to_vec(), v).expect("tensor")).expect("write npy");
}

/// Outputs of `model` on `x` from onnxruntime and from Mote's interpreter (`mote run`).
fn both(py: &Path, model: &Path, x: &Path, dir: &Path) -> (Vec<f32>, Vec<f32>, Vec<usize>) {
    let ort = dir.join("ort.npy");
    let script = root().join("scripts/ort-run.py");
    let o = Command::new(py).arg(&script).args([model, x, &ort]).output().expect("python runs");
    ok(&o);
    let out = dir.join("mote-out");
    ok(&mote(&["run", model.to_str().unwrap(), "-i", &format!("input={}", x.display()), "-o", out.to_str().unwrap()]));
    let a = mote_data::read_npy(&ort).expect("ort output");
    let b = mote_data::read_npy(&out.join("output_0.npy")).expect("mote output");
    assert_eq!(a.shape(), b.shape(), "{}: output shapes differ", model.display());
    (a.to_f32_vec().unwrap(), b.to_f32_vec().unwrap(), a.shape().to_vec())
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |m, i| if v[i] > v[m] { i } else { m })
}

#[test]
fn written_models_match_onnxruntime() {
    let Some(py) = python() else { return };
    let dir = std::env::temp_dir().join(format!("mote-ort-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("calib")).unwrap();
    // 96 images 1x16x16 of three classes (a bright row, column or diagonal) with noise.
    let mut rng = mote_core::rng::SplitMix64::new(3);
    let mut unit = || (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..96 {
        let k = i % 16;
        for r in 0..16 {
            for c in 0..16 {
                let on = [r == k, c == k, r == c][i % 3];
                x.push(f32::from(u8::from(on)) + 0.3 * unit());
            }
        }
        y.push((i % 3) as f32);
    }
    let (xs, ys, eval) = (dir.join("x.npy"), dir.join("y.npy"), dir.join("eval.npy"));
    npy(&xs, &[96, 1, 16, 16], x.clone());
    mote_data::write_npy(&ys, &Tensor::from_vec(vec![96], y.iter().map(|&v| v as i64).collect()).unwrap()).unwrap();
    npy(&eval, &[8, 1, 16, 16], x[..8 * 256].to_vec());
    for i in 0..16 {
        npy(&dir.join(format!("calib/{i:02}.npy")), &[1, 1, 16, 16], x[i * 256..(i + 1) * 256].to_vec());
    }
    let mut report = Vec::new();
    for arch in ["mlp:32,16", "cnn:8,16", "dscnn:16x2", "resnet8:8", "mobilenetv2:0.25", "lstm:12", "gru:12"] {
        let model = dir.join(format!("{}.onnx", arch.replace([':', ','], "_")));
        let (x, y, m) = (xs.to_str().unwrap(), ys.to_str().unwrap(), model.to_str().unwrap());
        ok(&mote(&[
            "train", "--arch", arch, "--data", x, "--labels", y, "--epochs", "1", "--batch", "16", "--json", "-o", m,
        ]));
        let (a, b, _) = both(&py, &model, &eval, &dir);
        let diff = a.iter().zip(&b).map(|(p, q)| (p - q).abs() / (1.0 + q.abs())).fold(0.0f32, f32::max);
        report.push(format!("{arch}: max relative difference {diff:.2e}"));
        assert!(diff <= 1e-4, "{arch}: onnxruntime and Mote differ by {diff} ({a:?} vs {b:?})");

        // Its int8 QDQ form: the same arithmetic (measured equal; 1% of the range allows an
        // output step of rounding).
        let q = dir.join(format!("{}.int8.onnx", arch.replace([':', ','], "_")));
        let calib = dir.join("calib");
        ok(&mote(&["quantize", m, "--calib", calib.to_str().unwrap(), "-o", q.to_str().unwrap()]));
        let bytes = std::fs::read(&q).unwrap();
        assert!(bytes.windows(14).any(|w| w == b"QuantizeLinear"), "{arch}: the written model is not QDQ");
        let (a, b, shape) = both(&py, &q, &eval, &dir);
        let classes = shape[1];
        let agree =
            (0..8).filter(|i| argmax(&a[i * classes..][..classes]) == argmax(&b[i * classes..][..classes])).count();
        let range = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
        let diff = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max) / range;
        report
            .push(format!("{arch} int8 QDQ: max difference {diff:.2e} of the output range, top-1 agreement {agree}/8"));
        assert!(agree == 8 && diff <= 0.01, "{arch} int8: onnxruntime and Mote differ: {a:?} vs {b:?}");
    }
    eprintln!("{}", report.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}
