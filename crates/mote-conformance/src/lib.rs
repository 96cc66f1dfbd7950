//! The conformance harness: runs the ONNX node tests and the shared real models through the
//! reference interpreter and compares against their reference outputs.
//!
//! Used by the `mote-conformance` binary (prints the pass count, updates the manifest) and by the
//! integration tests (which fail on any regression against `expected.tsv`).

pub mod compare;
pub mod manifest;
pub mod models;
pub mod report;
pub mod run;
pub mod suite;

use std::path::PathBuf;

/// `../shared/data` of the workspace, or `$MOTE_SHARED_DATA`; `None` if absent.
pub fn shared_data() -> Option<PathBuf> {
    let p = match std::env::var_os("MOTE_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")),
    };
    p.is_dir().then(|| p.canonicalize().unwrap_or(p))
}

/// The conformance node tests directory, if the shared data is present.
pub fn node_dir() -> Option<PathBuf> {
    shared_data().map(|d| d.join("conformance/node")).filter(|d| d.is_dir())
}

/// Names listed in `edge_core_tests.txt`.
pub fn edge_core_tests() -> Vec<String> {
    shared_data()
        .and_then(|d| std::fs::read_to_string(d.join("conformance/edge_core_tests.txt")).ok())
        .map(|t| {
            t.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(|l| l.trim().to_string()).collect()
        })
        .unwrap_or_default()
}
