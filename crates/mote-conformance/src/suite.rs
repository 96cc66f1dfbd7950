//! Running one test directory in the ONNX backend layout:
//! `model.onnx` + `test_data_set_<k>/input_<i>.pb` / `output_<i>.pb`.

use std::fs;
use std::path::{Path, PathBuf};

use mote_interp::Session;
use mote_ir::{Graph, Value, ValueType};

use crate::compare::{Tolerance, compare_value};

/// Which execution path a test runs through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Engine {
    /// The reference interpreter on the imported graph.
    #[default]
    Interp,
    /// `mote-compile` to a `.mote` file (shapes from the test inputs), then the runtime.
    Compiled,
}

impl Engine {
    /// Runs `graph` on `inputs` (runtime inputs, in order).
    pub fn run(self, graph: &Graph, session: Option<&Session<'_>>, inputs: Vec<Value>) -> Result<Vec<Value>, String> {
        match (self, session) {
            (Engine::Interp, Some(s)) => s.run(inputs).map_err(|e| one_line(&e.to_string())),
            (Engine::Interp, None) => {
                Session::new(graph).and_then(|s| s.run(inputs)).map_err(|e| one_line(&e.to_string()))
            }
            (Engine::Compiled, _) => {
                // Inputs whose data decide a shape (Reshape's shape, TopK's k, Range's bounds...)
                // are fixed as constants, as a deployment fixes them with `--const`; every
                // other input stays a runtime input.
                let named: Vec<(String, Value)> = (graph.runtime_inputs().iter())
                    .zip(&inputs)
                    .map(|(&id, v)| (graph.value(id).name.clone(), v.clone()))
                    .collect();
                let opts = mote_compile::bind_shape_inputs(graph, &named, &mote_compile::Options::default())
                    .map_err(|e| format!("compiled: {}", one_line(&e.to_string())))?;
                mote_compile::host::compile_and_run(graph, &inputs, &opts)
                    .map_err(|e| format!("compiled: {}", one_line(&e)))
            }
        }
    }
}

/// The result of one test.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Pass,
    Fail(String),
}

impl Outcome {
    pub fn is_pass(&self) -> bool {
        matches!(self, Outcome::Pass)
    }
}

/// Test data sets of a test or model directory, in order.
pub fn data_sets(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<(usize, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let k = name.strip_prefix("test_data_set_")?.parse().ok()?;
            Some((k, e.path()))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, p)| p).collect()
}

/// Reads `<prefix>_<i>.pb` files for `types`, in order; stops at the first missing file.
pub fn read_values(set: &Path, prefix: &str, types: &[ValueType]) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, ty) in types.iter().enumerate() {
        let path = set.join(format!("{prefix}_{i}.pb"));
        if !path.exists() {
            break;
        }
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push(mote_onnx::decode_value(&bytes, ty).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    Ok(out)
}

/// Imports `model.onnx` from `dir` and runs inference over it.
pub fn load_graph(dir: &Path) -> Result<Graph, String> {
    let model = mote_onnx::load(dir.join("model.onnx")).map_err(|e| format!("import: {}", one_line(&e.to_string())))?;
    let mut graph = model.graph;
    mote_ir::verify::verify(&graph).map_err(|e| format!("verify: {}", one_line(&e.to_string())))?;
    mote_interp::infer(&mut graph).map_err(|e| format!("inference: {e}"))?;
    Ok(graph)
}

/// Runs every data set of the test in `dir` and compares outputs (values and inferred types).
pub fn run_test(dir: &Path, tol: Tolerance, engine: Engine) -> Outcome {
    match try_run(dir, tol, engine) {
        Ok(()) => Outcome::Pass,
        Err(msg) => Outcome::Fail(msg),
    }
}

fn try_run(dir: &Path, tol: Tolerance, engine: Engine) -> Result<(), String> {
    let graph = load_graph(dir)?;
    let input_types: Vec<ValueType> = graph.runtime_inputs().iter().map(|&i| graph.value(i).ty.clone()).collect();
    let output_types: Vec<ValueType> = graph.outputs.iter().map(|&o| graph.value(o).ty.clone()).collect();
    let session = Session::new(&graph).map_err(|e| e.to_string())?;
    let sets = data_sets(dir);
    if sets.is_empty() {
        return Err("no test_data_set_* directories".into());
    }
    for set in sets {
        let set_name = set.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let inputs = read_values(&set, "input", &input_types)?;
        let want = read_values(&set, "output", &output_types)?;
        let got = engine.run(&graph, Some(&session), inputs).map_err(|e| format!("{set_name}: run: {e}"))?;
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            compare_value(g, w, tol).map_err(|e| format!("{set_name}: output {i}: {e}"))?;
            check_inferred(&output_types[i], g).map_err(|e| format!("{set_name}: output {i}: static inference {e}"))?;
        }
    }
    Ok(())
}

/// Static inference may leave things unknown, but what it claims must hold.
fn check_inferred(ty: &ValueType, v: &Value) -> Result<(), String> {
    if let (ValueType::Tensor(tt), Value::Tensor(t)) = (ty, v) {
        if let Some(d) = tt.dtype
            && d != t.dtype()
        {
            return Err(format!("said dtype {d}, the output is {}", t.dtype()));
        }
        if let Some(shape) = &tt.shape {
            let ok =
                shape.len() == t.rank() && shape.iter().zip(t.shape()).all(|(d, &a)| d.known().is_none_or(|k| k == a));
            if !ok {
                return Err(format!("said shape {tt}, the output has {:?}", t.shape()));
            }
        }
    }
    Ok(())
}

/// Collapses a multi-line message into one line.
pub fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" | ")
}
