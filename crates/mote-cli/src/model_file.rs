//! Opens a model file by extension: `.tflite` through the TFLite importer, anything else as ONNX.

use std::path::Path;

use anyhow::{Context, Result};
use mote_onnx::{Model, NodeProblem};

/// Whether `path` names a TFLite flatbuffer.
pub fn is_tflite(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tflite"))
}

/// Imports `path` (.onnx or .tflite). A `.tflite` model is reported as producer `tflite`,
/// opset `tflite` 3 (its schema version).
pub fn load(path: &Path) -> Result<Model> {
    if is_tflite(path) {
        let graph = mote_tflite::load(path)?;
        return Ok(Model {
            graph,
            ir_version: 0,
            opsets: vec![("tflite".into(), mote_tflite::import::SCHEMA_VERSION as i64)],
            producer: "tflite".into(),
        });
    }
    Ok(mote_onnx::load(path)?)
}

/// [`load`] for reports: ONNX node problems are returned instead of failing. A `.tflite` model
/// with unsupported operators fails with the whole list.
pub fn load_lenient(path: &Path) -> Result<(Model, Vec<NodeProblem>)> {
    if is_tflite(path) {
        return Ok((load(path)?, Vec::new()));
    }
    Ok(mote_onnx::load_lenient(path)?)
}

/// Writes `bytes` to `path` through a temporary file next to it and a rename, so a crash never
/// leaves a half-written file under the final name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let ext = path.extension().map_or(String::new(), |e| e.to_string_lossy().into_owned());
    let tmp = path.with_extension(format!("{ext}.tmp"));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))
}
