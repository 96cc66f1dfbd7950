//! The shared `.tflite` models: each imports or names its unsupported operators, and the ones
//! with reference outputs (the converted `tflm_*` / `mlperf_tiny_*` ONNX model dirs, which hold
//! the inputs and TFLite Micro's outputs) run and match.
//!
//! Skips with a message when `shared/data` is absent.

use std::path::{Path, PathBuf};

use mote_conformance::compare::{Tolerance, compare_value, max_abs_diff};
use mote_conformance::suite::{Engine, data_sets, read_values};
use mote_ir::{Graph, ValueType};
use mote_tflite::ImportError;

fn tflite_dir() -> Option<PathBuf> {
    let d = mote_conformance::shared_data()?.join("models/tflite");
    d.is_dir().then_some(d)
}

fn all_tflite(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for sub in [dir.to_path_buf(), dir.join("mlperf_tiny")] {
        for e in std::fs::read_dir(&sub).into_iter().flatten().flatten() {
            if e.path().extension().is_some_and(|x| x == "tflite") {
                v.push(e.path());
            }
        }
    }
    v.sort();
    v
}

fn import(path: &Path) -> Graph {
    let mut g = mote_tflite::load(path).unwrap_or_else(|e| panic!("{e}"));
    mote_ir::verify::verify(&g).unwrap_or_else(|e| panic!("{}: verify: {e}", path.display()));
    mote_interp::infer(&mut g).unwrap_or_else(|e| panic!("{}: inference: {e}", path.display()));
    g
}

#[test]
fn every_model_imports_or_lists_its_unsupported_ops() {
    let Some(dir) = tflite_dir() else {
        eprintln!("skipped: shared/data/models/tflite is absent");
        return;
    };
    let models = all_tflite(&dir);
    assert!(models.len() >= 16, "expected the 16 shared .tflite files, found {}", models.len());
    for path in &models {
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        match mote_tflite::load(path) {
            Ok(g) => {
                mote_ir::verify::verify(&g).unwrap_or_else(|e| panic!("{file}: verify: {e}"));
                eprintln!("{file}: imports ({} nodes)", g.nodes.len());
                assert_ne!(file, "audio_preprocessor_int8.tflite", "the audio front end uses custom Signal ops");
            }
            Err(e @ ImportError::Ops { .. }) if !e.unsupported().is_empty() => {
                eprintln!("{file}: unsupported:\n{e}");
                let ops: Vec<&str> = e.unsupported().iter().map(|p| p.op.as_str()).collect();
                match &*file {
                    // The audio front end: its 9 custom Signal ops (out of scope) all listed at
                    // once, each with its operator index; its builtins (CAST, DIV, MINIMUM,
                    // MAXIMUM...) are supported.
                    "audio_preprocessor_int8.tflite" => {
                        assert!(ops.iter().all(|op| op.starts_with("CUSTOM:Signal")), "{e}");
                        assert_eq!(e.unsupported().len(), 9, "{e}");
                        assert!(e.to_string().contains("CUSTOM:SignalWindow at operator 0"), "{e}");
                    }
                    _ => panic!("{e}"),
                }
            }
            Err(e) => panic!("{file}: {e}"),
        }
    }
}

/// `.tflite` file -> the converted model dir holding its inputs and TFLM outputs, and whether
/// TFLM's outputs are matched bit for bit by the compiled int8 path.
const PAIRS: &[(&str, &str, bool)] = &[
    ("hello_world_float.tflite", "tflm_hello_world_float", false),
    ("hello_world_int8.tflite", "tflm_hello_world_int8", false),
    ("micro_speech_quantized.tflite", "tflm_micro_speech_int8", true),
    ("person_detect.tflite", "tflm_person_detect_int8", false),
    ("pretrainedResnet_quant.tflite", "mlperf_tiny_resnet8_int8", false),
    ("vww_96_int8.tflite", "mlperf_tiny_vww96_int8", false),
    ("mobilenet_v2_quantized_1x3x224x224.tflite", "tflm_mobilenet_v2_int8", false),
];

fn types(g: &Graph, ids: &[mote_ir::ValueId]) -> Vec<ValueType> {
    ids.iter().map(|&i| g.value(i).ty.clone()).collect()
}

/// Runs `pairs` through `engine` and compares with TFLM's outputs (and, for the interpreter,
/// with the interpreter on the converted ONNX model, which must agree exactly: the same QDQ
/// graph up to layout).
fn run_pairs(pairs: &[(&str, &str, bool)], engine: Engine) {
    let Some(dir) = tflite_dir() else {
        eprintln!("skipped: shared/data/models/tflite is absent");
        return;
    };
    let models = dir.join("..");
    for &(file, model_dir, exact) in pairs {
        let graph = import(&dir.join(file));
        let onnx = match engine {
            Engine::Interp => {
                Some(mote_conformance::suite::load_graph(&models.join(model_dir)).expect("converted model"))
            }
            Engine::Compiled => None,
        };
        let in_types = types(&graph, &graph.runtime_inputs());
        let out_types = types(&graph, &graph.outputs);
        let float = file.contains("float");
        let tol = match (float, engine, exact) {
            (true, _, _) => Tolerance { atol: 1e-5, rtol: 0.0, int_steps: 0 },
            (false, Engine::Compiled, true) => Tolerance { atol: 0.0, rtol: 0.0, int_steps: 0 },
            (false, Engine::Compiled, false) => Tolerance { atol: 0.0, rtol: 0.0, int_steps: 1 },
            // The interpreter computes QDQ in float (as ONNX Runtime without graph
            // optimisations), not TFLite's fixed-point requantization: its exactness is
            // checked against the converted ONNX model below; against TFLM only report.
            (false, Engine::Interp, _) => Tolerance { atol: 0.0, rtol: 0.0, int_steps: 255 },
        };
        let mut worst = 0.0f64;
        for set in data_sets(&models.join(model_dir)) {
            let inputs = read_values(&set, "input", &in_types).expect("inputs");
            let want = read_values(&set, "tflm_output", &out_types).expect("tflm outputs");
            assert!(!want.is_empty(), "{}: no tflm_output_0.pb", set.display());
            let got = engine.run(&graph, None, inputs.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
            for (g, w) in got.iter().zip(&want) {
                worst = worst.max(max_abs_diff(g, w).unwrap_or(f64::INFINITY));
                compare_value(g, w, tol).unwrap_or_else(|e| panic!("{file} {}: vs TFLM: {e}", set.display()));
            }
            if let Some(onnx) = &onnx {
                let same = engine.run(onnx, None, inputs).expect("converted model runs");
                for (g, w) in got.iter().zip(&same) {
                    let exact = Tolerance { atol: 0.0, rtol: 0.0, int_steps: 0 };
                    compare_value(g, w, exact)
                        .unwrap_or_else(|e| panic!("{file} {}: vs converted ONNX: {e}", set.display()));
                }
            }
        }
        eprintln!("{file} ({engine:?}): max |diff| vs TFLM = {worst}");
    }
}

#[test]
fn small_models_match_tflm_in_the_interpreter() {
    run_pairs(&PAIRS[..3], Engine::Interp);
}

#[test]
fn small_models_match_tflm_compiled() {
    run_pairs(&PAIRS[..3], Engine::Compiled);
}

#[test]
fn vision_models_match_tflm_compiled() {
    run_pairs(&PAIRS[3..], Engine::Compiled);
}

#[test]
fn vision_models_match_the_converted_onnx_in_the_interpreter() {
    run_pairs(&PAIRS[3..], Engine::Interp);
}

/// The non-comment lines of a LiteRT reference file: the `.tflite` name, then its output values.
fn reference_lines(refs: &str) -> impl Iterator<Item = (&str, std::str::SplitWhitespace<'_>)> {
    refs.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(|line| {
        let mut words = line.split_whitespace();
        (words.next().expect("file name"), words)
    })
}

/// The shape of the graph's one runtime input (symbolic dims as 1).
fn input_shape(graph: &mote_ir::Graph, file: &str) -> Vec<usize> {
    match &graph.value(graph.runtime_inputs()[0]).ty {
        ValueType::Tensor(t) => t.shape.iter().flatten().map(|d| d.known().unwrap_or(1)).collect(),
        other => panic!("{file}: input type {other}"),
    }
}

/// The float models, interpreted and compiled, against LiteRT (XNNPACK, 1 thread) within 1e-4
/// on a deterministic input:
/// `tests/data/litert_float.txt`, made by `scripts/litert-refs.py`.
#[test]
fn float_models_match_litert() {
    check_float_refs(include_str!("data/litert_float.txt"), 4);
}

/// The hybrid model (float activations, int8 weights: kws_ref_model_float32), interpreted and
/// compiled, against LiteRT's reference kernels within 1e-4: `tests/data/litert_hybrid.txt`.
/// (LiteRT's optimized kernels quantize the input differently, see `src/hybrid.rs`.)
#[test]
fn hybrid_model_matches_litert_reference_kernels() {
    check_float_refs(include_str!("data/litert_hybrid.txt"), 1);
}

/// Runs every model of a float LiteRT reference file on its deterministic input.
fn check_float_refs(refs: &str, count: usize) {
    let Some(dir) = tflite_dir() else {
        eprintln!("skipped: shared/data/models/tflite is absent");
        return;
    };
    let mut checked = 0;
    for (file, words) in reference_lines(refs) {
        let want: Vec<f32> = words.map(|w| w.parse().expect("a float")).collect();
        let graph = import(&dir.join(file));
        let shape = input_shape(&graph, file);
        let n: usize = shape.iter().product();
        let x: Vec<f32> = (0..n as i64).map(|i| ((i * 7919 + 13) % 2001) as f32 / 1000.0 - 1.0).collect();
        let x = mote_ir::Value::Tensor(mote_ir::Tensor::from_vec(shape, x).expect("input"));
        for engine in [Engine::Interp, Engine::Compiled] {
            let got = engine.run(&graph, None, vec![x.clone()]).unwrap_or_else(|e| panic!("{file}: {e}"));
            let got = match &got[0] {
                mote_ir::Value::Tensor(t) => t.to_f32_vec().expect("f32 output"),
                other => panic!("{file}: output {other:?}"),
            };
            assert_eq!(got.len(), want.len(), "{file}: output length");
            let abs = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0f32, f32::max);
            eprintln!("{file} ({engine:?}): max |diff| vs LiteRT = {abs:e}");
            assert!(abs <= 1e-4, "{file} ({engine:?}): differs from LiteRT by {abs}");
        }
        checked += 1;
    }
    assert_eq!(checked, count, "expected {count} models in the reference file");
}

/// The int8 MLPerf Tiny models without TFLM references against LiteRT's reference kernels on a
/// deterministic input: `tests/data/litert_int8.txt`, made by `scripts/litert-refs.py`. LiteRT
/// rounds each requantization once, TFLite Micro (which the compiled path matches bit for bit)
/// twice; on ad01's ten layers the compiled path is within 2 LSB of LiteRT (the interpreter's
/// float QDQ happens to agree with LiteRT exactly here).
#[test]
fn int8_mlperf_models_match_litert() {
    let Some(dir) = tflite_dir() else {
        eprintln!("skipped: shared/data/models/tflite is absent");
        return;
    };
    let refs = include_str!("data/litert_int8.txt");
    let mut checked = 0;
    for (file, words) in reference_lines(refs) {
        let want: Vec<i8> = words.map(|w| w.parse().expect("an int8")).collect();
        let graph = import(&dir.join(file));
        let shape = input_shape(&graph, file);
        let n: usize = shape.iter().product();
        let x: Vec<i8> = (0..n as i64).map(|i| (((i * 7919 + 13) % 256) - 128) as i8).collect();
        let x = mote_ir::Value::Tensor(mote_ir::Tensor::from_vec(shape, x).expect("input"));
        for engine in [Engine::Compiled, Engine::Interp] {
            let got = engine.run(&graph, None, vec![x.clone()]).unwrap_or_else(|e| panic!("{file}: {e}"));
            let got = match &got[0] {
                mote_ir::Value::Tensor(t) => t.to_i64_vec().expect("int output"),
                other => panic!("{file}: output {other:?}"),
            };
            assert_eq!(got.len(), want.len(), "{file}: output length");
            let lsb = got.iter().zip(&want).map(|(&g, &w)| (g - w as i64).abs()).max().unwrap_or(0);
            eprintln!("{file} ({engine:?}): max |diff| vs LiteRT = {lsb} LSB");
            let allowed = if engine == Engine::Compiled && file.contains("ad01") { 2 } else { 1 };
            assert!(lsb <= allowed, "{file} ({engine:?}): differs from LiteRT by {lsb} LSB");
        }
        checked += 1;
    }
    assert_eq!(checked, 2, "expected 2 int8 models in litert_int8.txt");
}
