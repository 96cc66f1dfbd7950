//! `.tflite` bytes -> [`Graph`]: verify the flatbuffer, check every index, convert subgraph 0.

use std::path::Path;

use flatbuffers::VerifierOptions;
use mote_ir::Graph;

use crate::builder::{Builder, Layout};
use crate::error::{ImportError, OpProblem, ProblemKind};
use crate::ops::{self, OpIo};
use crate::schema::{self, BuiltinOperator};
use crate::tensors::read_tensors;

/// The schema version this importer reads.
pub const SCHEMA_VERSION: u32 = 3;

/// Verifier limits: generous for real models, bounded for hostile ones.
fn verifier_options() -> VerifierOptions {
    VerifierOptions {
        max_depth: 64,
        max_tables: 4_000_000,
        max_apparent_size: 1 << 31,
        ignore_missing_null_terminator: false,
    }
}

/// Reads and imports a `.tflite` file.
pub fn load(path: impl AsRef<Path>) -> Result<Graph, ImportError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
    from_bytes_named(&bytes, path)
}

/// Imports a model from bytes (`<memory>` in messages).
pub fn from_bytes(bytes: &[u8]) -> Result<Graph, ImportError> {
    from_bytes_named(bytes, Path::new("<memory>"))
}

/// Imports a model from bytes; `path` is used in messages.
pub fn from_bytes_named(bytes: &[u8], path: &Path) -> Result<Graph, ImportError> {
    let decode = |msg: String| ImportError::Decode { path: path.to_path_buf(), msg };
    let invalid = |msg: String| ImportError::Invalid { path: path.to_path_buf(), msg };
    if bytes.len() < 8 || !schema::model_buffer_has_identifier(bytes) {
        return Err(decode("no `TFL3` file identifier (not a TFLite flatbuffer, or truncated)".into()));
    }
    let model = schema::root_as_model_with_opts(&verifier_options(), bytes).map_err(|e| decode(e.to_string()))?;
    if model.version() != SCHEMA_VERSION {
        return Err(invalid(format!(
            "schema version {}, this importer reads version {SCHEMA_VERSION}",
            model.version()
        )));
    }
    let tensors = read_tensors(&model).map_err(invalid)?;
    let sg = model.subgraphs().map(|s| s.get(0)).ok_or_else(|| invalid("the model has no subgraph".into()))?;
    let n = tensors.len();
    let index = |what: &str, i: i32| -> Result<usize, ImportError> {
        usize::try_from(i)
            .ok()
            .filter(|&i| i < n)
            .ok_or_else(|| invalid(format!("{what} refers to tensor {i}, but subgraph 0 has {n} tensors")))
    };
    let inputs: Vec<usize> =
        sg.inputs().into_iter().flatten().map(|i| index("a graph input", i)).collect::<Result<_, _>>()?;
    let outputs: Vec<usize> =
        sg.outputs().into_iter().flatten().map(|i| index("a graph output", i)).collect::<Result<_, _>>()?;
    let name = sg.name().filter(|s| !s.is_empty()).unwrap_or("main").to_string();

    // Resolve every operator first, so unsupported ones are all listed at once.
    let codes = model.operator_codes();
    let n_codes = codes.map_or(0, |c| c.len());
    let mut resolved = Vec::new();
    let mut problems = Vec::new();
    for (k, op) in sg.operators().into_iter().flatten().enumerate() {
        let ci = op.opcode_index() as usize;
        let Some(oc) = codes.filter(|_| ci < n_codes).map(|c| c.get(ci)) else {
            return Err(invalid(format!("operator {k} has opcode index {ci}, but there are {n_codes} operator codes")));
        };
        // TFLite keeps small codes in the deprecated i8 field too: the larger one is the code.
        let code = BuiltinOperator(oc.builtin_code().0.max(oc.deprecated_builtin_code() as i32));
        let op_name = if code == BuiltinOperator::CUSTOM {
            format!("CUSTOM:{}", oc.custom_code().unwrap_or("?"))
        } else {
            code.variant_name().map_or_else(|| format!("BUILTIN_{}", code.0), str::to_string)
        };
        let mut io = OpIo { ins: Vec::new(), outs: Vec::new() };
        for i in op.inputs().into_iter().flatten() {
            io.ins.push(if i == -1 { None } else { Some(index(&format!("operator {k} ({op_name})"), i)?) });
        }
        for i in op.outputs().into_iter().flatten() {
            io.outs.push(index(&format!("operator {k} ({op_name})"), i)?);
        }
        if !ops::SUPPORTED.contains(&code) {
            problems.push(OpProblem {
                kind: ProblemKind::Unsupported,
                op: op_name.clone(),
                index: k,
                detail: String::new(),
            });
        }
        resolved.push((k, code, op_name, op, io));
    }
    if !problems.is_empty() {
        return Err(ImportError::Ops { path: path.to_path_buf(), problems });
    }

    let mut b = Builder::new(&name, tensors);
    for &t in &inputs {
        b.add_input(t);
    }
    // An operator whose input failed is skipped: only the first fault is reported.
    let mut failed = vec![false; n];
    for (k, code, op_name, op, io) in resolved {
        if io.ins.iter().flatten().any(|&t| failed[t]) {
            io.outs.iter().for_each(|&t| failed[t] = true);
            continue;
        }
        b.op_index = k;
        if let Err((kind, detail)) = ops::convert(&mut b, code, &op, &io) {
            problems.push(OpProblem { kind, op: op_name, index: k, detail });
            io.outs.iter().for_each(|&t| failed[t] = true);
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Ops { path: path.to_path_buf(), problems });
    }
    for &t in &outputs {
        let v = b.stored(t, Layout::Native).map_err(invalid)?;
        b.g.outputs.push(v);
    }
    let mut g = b.g;
    g.metadata.push(("producer".into(), "tflite".into()));
    if let Some(d) = model.description() {
        g.metadata.push(("description".into(), d.to_string()));
    }
    Ok(g)
}
