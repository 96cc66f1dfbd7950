//! The ONNX writer (`mote_onnx::export`): every conformance test whose graph it can write is
//! written, read back and run, and must still give onnxruntime's outputs; the shared real models
//! written and read back give the same outputs bit for bit.

use std::path::Path;

use mote_conformance::compare::compare_value;
use mote_conformance::manifest::tolerance_for;
use mote_conformance::suite::{Engine, data_sets, load_graph, read_values, run_test};
use mote_ir::{Graph, ValueType};

/// `g` written as ONNX bytes and read back (with inference).
fn round_trip(g: &Graph) -> Result<Graph, String> {
    let bytes = mote_onnx::export::to_bytes(g).map_err(|e| e.to_string())?;
    let model = mote_onnx::from_bytes(&bytes, None, Path::new("exported.onnx"))
        .unwrap_or_else(|e| panic!("the written model does not import: {e}"));
    let mut back = model.graph;
    mote_ir::verify::verify(&back).unwrap_or_else(|e| panic!("the written model does not verify: {e}"));
    mote_interp::infer(&mut back).unwrap_or_else(|e| panic!("inference on the written model: {e}"));
    Ok(back)
}

fn types(g: &Graph, ids: &[mote_ir::ValueId]) -> Vec<ValueType> {
    ids.iter().map(|&i| g.value(i).ty.clone()).collect()
}

#[test]
fn written_conformance_models_still_match_onnxruntime() {
    let Some(nodes) = mote_conformance::node_dir() else {
        eprintln!("SKIPPED the ONNX writer on the conformance suite: ../shared/data not found");
        return;
    };
    let mut dirs: Vec<_> = std::fs::read_dir(&nodes).expect("node dir").flatten().map(|e| e.path()).collect();
    dirs.sort();
    let (mut written, mut skipped, mut failures) = (0, 0, Vec::new());
    for dir in dirs {
        let name = dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let tol = tolerance_for(&name);
        // Only tests the interpreter passes on the original file say anything about the writer.
        if !run_test(&dir, tol, Engine::Interp).is_pass() {
            continue;
        }
        let graph = load_graph(&dir).expect("passed above");
        let back = match round_trip(&graph) {
            Ok(b) => b,
            Err(_) => {
                skipped += 1;
                continue;
            }
        };
        written += 1;
        let (ins, outs) = (types(&back, &back.runtime_inputs()), types(&back, &back.outputs));
        for set in data_sets(&dir) {
            let inputs = read_values(&set, "input", &ins).expect("inputs");
            let want = read_values(&set, "output", &outs).expect("outputs");
            match Engine::Interp.run(&back, None, inputs) {
                Ok(got) => {
                    for (g, w) in got.iter().zip(&want) {
                        if let Err(e) = compare_value(g, w, tol) {
                            failures.push(format!("{name}: {e}"));
                        }
                    }
                }
                Err(e) => failures.push(format!("{name}: run: {e}")),
            }
        }
    }
    eprintln!("ONNX writer: {written} conformance tests written and re-run, {skipped} use ops it does not write");
    assert!(failures.is_empty(), "written models that no longer match onnxruntime:\n{}", failures.join("\n"));
    assert!(written >= 500, "only {written} conformance tests could be written");
}

#[test]
fn written_real_models_give_identical_outputs() {
    let Some(data) = mote_conformance::shared_data() else {
        eprintln!("SKIPPED the ONNX writer on real models: ../shared/data not found");
        return;
    };
    for m in ["efficientnet_lite0", "tflm_mobilenet_v2_int8", "tflm_person_detect_int8", "tflm_hello_world_float"] {
        let dir = data.join("models").join(m);
        let graph = load_graph(&dir).unwrap_or_else(|e| panic!("{m}: {e}"));
        let back = round_trip(&graph).unwrap_or_else(|e| panic!("{m}: cannot be written: {e}"));
        let set = &data_sets(&dir)[0];
        let inputs = read_values(set, "input", &types(&graph, &graph.runtime_inputs())).expect("inputs");
        let a = Engine::Interp.run(&graph, None, inputs.clone()).expect("original runs");
        let b = Engine::Interp.run(&back, None, inputs).expect("written model runs");
        assert_eq!(a, b, "{m}: the written model's outputs differ");
        eprintln!("{m}: written ({} nodes), outputs identical", back.nodes.len());
    }
}
