//! Every shared real model with test sets, optimized, against the reference interpreter on the
//! original graph and against the stored references, with the model's tolerance. Prints node
//! counts before and after (`cargo test -p mote-opt --release --test real_models -- --nocapture`).

use std::path::{Path, PathBuf};

use mote_conformance::compare::compare_value;
use mote_conformance::models::{RealModel, real_models};
use mote_conformance::suite::{data_sets, load_graph, read_values};
use mote_ir::{Graph, Tensor, Value, ValueType};
use mote_opt::{Options, optimize};

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/models")
}

/// The test sets' inputs, by runtime input name, and the stored reference outputs.
type Set = (String, Vec<(String, Value)>, Vec<Value>);

fn sets(m: &RealModel, g: &Graph) -> Vec<Set> {
    let ins: Vec<_> = g.runtime_inputs();
    let in_types: Vec<ValueType> = ins.iter().map(|&i| g.value(i).ty.clone()).collect();
    let out_types: Vec<ValueType> = g.outputs.iter().map(|&o| g.value(o).ty.clone()).collect();
    data_sets(&m.dir)
        .into_iter()
        .map(|s| {
            let name = s.file_name().unwrap().to_string_lossy().into_owned();
            let inputs = read_values(&s, "input", &in_types).unwrap();
            let named = ins.iter().map(|&i| g.value(i).name.clone()).zip(inputs).collect();
            (name, named, read_values(&s, m.reference, &out_types).unwrap())
        })
        .collect()
}

/// Runs `g` feeding its runtime inputs by name from `inputs`.
fn run(g: &Graph, inputs: &[(String, Value)]) -> Vec<Value> {
    let feed: Vec<Value> = g
        .runtime_inputs()
        .iter()
        .map(|&i| {
            let name = &g.value(i).name;
            inputs.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no input `{name}`")).1.clone()
        })
        .collect();
    mote_interp::run(g, feed).unwrap()
}

/// Optimizes `original` with the options `opts_for` gives each test set (re-optimizing when
/// they change) and compares every set's outputs with the original's and the references.
fn check(m: &RealModel, original: &Graph, opts_for: &dyn Fn(&Set) -> Options, label: &str) -> Graph {
    let mut cur: Option<(Options, Graph)> = None;
    for set in sets(m, original) {
        let opts = opts_for(&set);
        if cur.as_ref().is_none_or(|(o, _)| *o != opts) {
            let mut g = original.clone();
            let start = std::time::Instant::now();
            let report = optimize(&mut g, &opts).unwrap_or_else(|e| panic!("{}: {e}", m.name));
            let ms = start.elapsed().as_secs_f64() * 1e3;
            let (before, after) = (report.before.nodes, report.after.nodes);
            println!("== {} ({label}, {}): {before} -> {after} nodes in {ms:.1} ms\n{report}", m.name, set.0);
            let names = |g: &Graph| g.outputs.iter().map(|&o| g.value(o).name.clone()).collect::<Vec<_>>();
            assert_eq!(names(&g), names(original), "{}: output names", m.name);
            let unknown = g.values.iter().filter(|v| v.ty.as_tensor().and_then(|t| t.known_shape()).is_none()).count();
            println!("values without a known shape: {unknown} of {}", g.values.len());
            cur = Some((opts, g));
        }
        let g = &cur.as_ref().unwrap().1;
        let (name, inputs, want) = set;
        let before = run(original, &inputs);
        let after = run(g, &inputs);
        assert_eq!(before.len(), after.len());
        for (k, (a, b)) in after.iter().zip(&before).enumerate() {
            compare_value(a, b, m.tolerance)
                .unwrap_or_else(|e| panic!("{} {label} {name} output {k} vs original: {e}", m.name));
        }
        for (k, a) in after.iter().enumerate() {
            check_type(&g.value(g.outputs[k]).ty, a)
                .unwrap_or_else(|e| panic!("{} {label} {name} output {k}: {e}", m.name));
        }
        let diff = |x: &[Value], y: &[Value]| {
            x.iter().zip(y).filter_map(|(a, b)| mote_conformance::compare::max_abs_diff(a, b)).fold(0.0, f64::max)
        };
        println!(
            "{} {label} {name}: max |diff| vs original {:.2e}, vs reference {:.2e}",
            m.name,
            diff(&after, &before),
            diff(&after, &want)
        );
        for (k, (a, w)) in after.iter().zip(&want).enumerate() {
            compare_value(a, w, m.tolerance)
                .unwrap_or_else(|e| panic!("{} {label} {name} output {k} vs reference: {e}", m.name));
        }
    }
    cur.expect("the model has test sets").1
}

/// What static inference claims about a value (dtype, known dims) must hold.
fn check_type(ty: &ValueType, v: &Value) -> Result<(), String> {
    if let (ValueType::Tensor(tt), Value::Tensor(t)) = (ty, v) {
        let dtype_ok = tt.dtype.is_none_or(|d| d == t.dtype());
        let shape_ok = tt.shape.as_ref().is_none_or(|s| {
            s.len() == t.rank() && s.iter().zip(t.shape()).all(|(d, &a)| d.known().is_none_or(|k| k == a))
        });
        if !dtype_ok || !shape_ok {
            return Err(format!("static type {tt} but the value is {} {:?}", t.dtype(), t.shape()));
        }
    }
    Ok(())
}

/// Options binding every runtime input's shape to the set's, and silero_vad's `sr` to 16000.
fn specialized(set: &Set) -> Options {
    let mut opts = verified();
    for (name, v) in &set.1 {
        if name == "sr" {
            opts.bindings.constants.insert(name.clone(), Tensor::scalar(16000i64));
        } else if let Some(t) = v.as_tensor() {
            opts.bindings.shapes.insert(name.clone(), t.shape().to_vec());
        }
    }
    opts
}

/// Default options, verifying the graph after every pass (also in release builds).
fn verified() -> Options {
    Options { verify: true, ..Options::default() }
}

#[test]
fn real_models_keep_their_outputs() {
    let models = real_models(&models_dir());
    assert!(!models.is_empty(), "no models under {}", models_dir().display());
    for m in &models {
        let original = load_graph(&m.dir).unwrap();
        check(m, &original, &|_| verified(), "generic");
        let g = check(m, &original, &specialized, "specialized");
        if m.name == "efficientnet_lite0" {
            let bn = g.nodes.iter().filter(|n| n.op.name() == "BatchNormalization").count();
            let before = original.nodes.iter().filter(|n| n.op.name() == "BatchNormalization").count();
            assert_eq!((before, bn), (49, 0));
        }
    }
}

/// silero_vad specialized to 16 kHz chunks (`sr` constant, shapes bound) through its streaming
/// clip, the state carried between calls: every probability and the final state match the
/// references within the model's 1e-4.
#[test]
fn silero_vad_stream_after_specialization() {
    let dir = models_dir().join("silero_vad");
    if !dir.join("stream").is_dir() {
        eprintln!("SKIPPED: {} not found", dir.display());
        return;
    }
    let read = |f: &str| mote_data::read_npy(&dir.join("stream").join(f)).unwrap();
    let audio = read("audio_f32_16k.npy").to_f32_vec().unwrap();
    let want_prob = read("speech_prob.npy").to_f64_vec().unwrap();
    let want_state = read("final_state.npy").to_f64_vec().unwrap();
    let mut g = load_graph(&dir).unwrap();
    let opts = verified()
        .bind_shape("input", [1, 576])
        .bind_shape("state", [2, 1, 128])
        .bind_const("sr", Tensor::scalar(16000i64));
    let report = optimize(&mut g, &opts).unwrap();
    println!("silero_vad stream graph:\n{report}");
    assert_eq!(g.runtime_inputs().len(), 2);
    let (chunk, context) = (512, 64);
    let mut state = Tensor::zeros(mote_ir::DType::F32, vec![2, 1, 128]).unwrap();
    let mut ctx = vec![0f32; context];
    assert_eq!(audio.len() / chunk, want_prob.len());
    for (k, want) in want_prob.iter().enumerate() {
        let mut x = ctx.clone();
        x.extend_from_slice(&audio[k * chunk..(k + 1) * chunk]);
        ctx.copy_from_slice(&x[x.len() - context..]);
        let input = Tensor::from_vec(vec![1, context + chunk], x).unwrap();
        let out = mote_interp::run(&g, vec![input.into(), state.clone().into()]).unwrap();
        let prob = out[0].as_tensor().unwrap().to_f64_vec().unwrap()[0];
        assert!((prob - want).abs() <= 1e-4, "chunk {k}: {prob} vs {want}");
        state = out[1].as_tensor().unwrap().clone();
    }
    let got = state.to_f64_vec().unwrap();
    let diff = got.iter().zip(&want_state).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(diff <= 1e-4, "final state differs by {diff}");
}
