//! Model bytes -> ONNX import -> the checks of `common::check_graph` (verify, stats/dump,
//! inference, a run on default inputs with every node output checked against inference).
//!
//! Any panic is a bug (the invariant is "no bytes make Mote panic").

#![no_main]

mod common;

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.onnx");
    // No base directory: external data must be an error, never a file read.
    let _ = mote_onnx::from_bytes_lenient(data, None, path);
    let Ok(model) = mote_onnx::from_bytes(data, None, path) else { return };
    common::check_graph(model.graph);
});
