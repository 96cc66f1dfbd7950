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

/// Writes `bytes` to `path` through a temporary file next to it (flushed to disk), a rename and
/// a flush of the directory, so neither a crash nor a power loss leaves a half-written file
/// under the final name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let ext = path.extension().map_or(String::new(), |e| e.to_string_lossy().into_owned());
    let tmp = path.with_extension(format!("{ext}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    write().with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))?;
    // The rename is durable once the directory is; not every platform can open one.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
