//! silero_vad compiled with dynamic int8 quantization (`Options::dynamic_int8`) over the whole
//! streaming clip, against the f32 references. Skipped (with a message) without the shared data.

use mote_compile::dynamic::DynamicInt8;
use mote_conformance::models::{silero_options, silero_stream_on};
use mote_conformance::shared_data;
use mote_conformance::suite::load_graph;

#[test]
fn silero_vad_dynamic_int8_stream() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED silero_vad dynamic int8: ../shared/data not found (set MOTE_SHARED_DATA to run it)");
        return;
    };
    let dir = data.join("models/silero_vad");
    let mut opts = silero_options();
    opts.dynamic_int8 = Some(DynamicInt8::default());
    let c = mote_compile::compile(load_graph(&dir).unwrap(), &opts).unwrap();
    let f32_file = mote_compile::compile(load_graph(&dir).unwrap(), &silero_options()).unwrap();
    let r = silero_stream_on(&dir, Some(&c.bytes)).unwrap();
    eprintln!(
        "silero_vad dynamic int8: {} chunks, max |prob diff| {:.2e}, max |state diff| {:.2e}; file {} bytes (f32 {}); \
         quantized {:?}; kept f32 {:?}",
        r.chunks,
        r.max_prob_diff,
        r.max_state_diff,
        c.bytes.len(),
        f32_file.bytes.len(),
        c.report.dynamic.quantized,
        c.report.dynamic.kept
    );
    assert!(r.chunks > 100);
    // Every Conv and the LSTM run in int8.
    assert_eq!(c.report.dynamic.quantized.len(), 6, "{:?}", c.report.dynamic);
    assert!(r.max_prob_diff <= 0.02, "probability differs by {}", r.max_prob_diff);
    assert!(
        c.bytes.len() * 100 < f32_file.bytes.len() * 40,
        "int8 file {} vs f32 {}",
        c.bytes.len(),
        f32_file.bytes.len()
    );
}
