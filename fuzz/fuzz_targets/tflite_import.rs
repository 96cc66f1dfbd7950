//! `.tflite` bytes -> TFLite import -> the checks of `common::check_graph` (verify, stats/dump,
//! inference, a run on default inputs with every node output checked against inference).
//!
//! Any panic is a bug (the invariant is "no bytes make Mote panic").

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(graph) = mote_tflite::from_bytes(data) else { return };
    common::check_graph(graph);
});
