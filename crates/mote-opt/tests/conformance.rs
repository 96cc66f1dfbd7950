//! The ONNX conformance tests the reference interpreter passes, optimized three ways (generic;
//! input shapes bound to the test set's; every input bound as a constant, which folds most
//! graphs away), must still match their reference outputs with the suite's tolerances.
//! Skipped (with a message) when the shared data is absent.

use std::path::Path;

use mote_conformance::compare::{Tolerance, compare_value};
use mote_conformance::manifest::{Expected, load_expected, tolerance_for};
use mote_conformance::node_dir;
use mote_conformance::suite::{data_sets, load_graph, one_line, read_values};
use mote_ir::{Graph, Value, ValueType};
use mote_opt::{Options, optimize};

/// Runs `g` feeding its runtime inputs by name.
fn run(g: &Graph, inputs: &[(String, Value)]) -> Result<Vec<Value>, String> {
    let feed = g
        .runtime_inputs()
        .iter()
        .map(|&i| {
            let name = &g.value(i).name;
            inputs.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).ok_or(format!("no input `{name}`"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    mote_interp::run(g, feed).map_err(|e| one_line(&e.to_string()))
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

/// Checks one test; returns the node counts of the original and of each variant (summed over sets).
fn check_one(dir: &Path, tol: Tolerance) -> Result<[usize; 4], String> {
    let original = load_graph(dir)?;
    let ins = original.runtime_inputs();
    let in_types: Vec<ValueType> = ins.iter().map(|&i| original.value(i).ty.clone()).collect();
    let out_types: Vec<ValueType> = original.outputs.iter().map(|&o| original.value(o).ty.clone()).collect();
    let mut counts = [0usize; 4];
    let mut generic = original.clone();
    optimize(&mut generic, &Options { verify: true, ..Options::default() }).map_err(|e| format!("generic: {e}"))?;
    for set in data_sets(dir) {
        let set_name = set.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let values = read_values(&set, "input", &in_types)?;
        let inputs: Vec<(String, Value)> = ins.iter().map(|&i| original.value(i).name.clone()).zip(values).collect();
        let want = read_values(&set, "output", &out_types)?;
        let mut shapes = Options { verify: true, ..Options::default() };
        let mut consts = shapes.clone();
        for (name, v) in &inputs {
            if let Some(t) = v.as_tensor() {
                shapes.bindings.shapes.insert(name.clone(), t.shape().to_vec());
                consts.bindings.constants.insert(name.clone(), t.clone());
            }
        }
        let mut variants = vec![("generic", generic.clone())];
        for (label, opts) in [("shapes", shapes), ("constants", consts)] {
            let mut g = original.clone();
            optimize(&mut g, &opts).map_err(|e| format!("{set_name} {label}: {}", one_line(&e.to_string())))?;
            variants.push((label, g));
        }
        counts[0] += original.nodes.len();
        for (k, (_, g)) in variants.iter().enumerate() {
            counts[k + 1] += g.nodes.len();
        }
        for (label, g) in &variants {
            let got = run(g, &inputs).map_err(|e| format!("{set_name} {label}: run: {e}"))?;
            for (k, (a, w)) in got.iter().zip(&want).enumerate() {
                compare_value(a, w, tol).map_err(|e| format!("{set_name} {label}: output {k}: {e}"))?;
                check_type(&g.value(g.outputs[k]).ty, a).map_err(|e| format!("{set_name} {label}: output {k}: {e}"))?;
            }
        }
    }
    Ok(counts)
}

#[test]
fn passing_conformance_tests_survive_optimization() {
    let Some(dir) = node_dir() else {
        eprintln!("SKIPPED: ../shared/data/conformance/node not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let expected = load_expected().expect("expected.tsv parses");
    let names: Vec<&String> = expected.iter().filter(|(_, e)| **e == Expected::Pass).map(|(n, _)| n).collect();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chunk = names.len().div_ceil(threads).max(1);
    let results: Vec<Result<[usize; 4], String>> = std::thread::scope(|s| {
        let handles: Vec<_> = names
            .chunks(chunk)
            .map(|part| {
                let dir = &dir;
                s.spawn(move || {
                    part.iter()
                        .map(|n| check_one(&dir.join(n), tolerance_for(n)).map_err(|e| format!("{n}: {e}")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut nodes = [0usize; 4];
    for c in results.iter().flatten() {
        (0..4).for_each(|k| nodes[k] += c[k]);
    }
    let problems: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    eprintln!(
        "optimized conformance: {} tests, {} problem(s); nodes over all sets: original {}, generic {}, shapes bound {}, inputs constant {}",
        names.len(),
        problems.len(),
        nodes[0],
        nodes[1],
        nodes[2],
        nodes[3]
    );
    // Binding every input as a constant folds most tests down to nothing.
    assert!(nodes[3] * 4 < nodes[0], "constant inputs folded too little: {nodes:?}");
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

/// The tests the interpreter fails (or runs with random results) still optimize without a panic:
/// `optimize` succeeds or returns an error.
#[test]
fn other_conformance_tests_optimize_without_panic() {
    let Some(dir) = node_dir() else {
        eprintln!("SKIPPED: ../shared/data/conformance/node not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let expected = load_expected().expect("expected.tsv parses");
    let mut ok = 0;
    for (name, _) in expected.iter().filter(|(_, e)| **e != Expected::Pass) {
        let Ok(mut g) = load_graph(&dir.join(name)) else { continue };
        let opts = Options { verify: true, ..Options::default() };
        ok += usize::from(optimize(&mut g, &opts).is_ok());
    }
    eprintln!("non-passing conformance tests: {ok} optimized without error");
}
