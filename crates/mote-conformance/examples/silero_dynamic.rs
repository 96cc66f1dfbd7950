//! silero_vad's streaming clip compiled with dynamic int8, the nodes whose names contain an
//! argument kept f32: prints the largest probability and state differences to the f32
//! references and the file size (how docs/QUANTIZATION.md's per-layer numbers were measured).
use mote_compile::dynamic::DynamicInt8;
use mote_conformance::models::{silero_options, silero_stream_on};
use mote_conformance::suite::load_graph;

fn main() {
    let dir = mote_conformance::shared_data().expect("shared data").join("models/silero_vad");
    let keep: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = silero_options();
    opts.dynamic_int8 = Some(DynamicInt8 { keep, ..DynamicInt8::default() });
    let c = mote_compile::compile(load_graph(&dir).unwrap(), &opts).unwrap();
    let r = silero_stream_on(&dir, Some(&c.bytes)).unwrap();
    println!(
        "prob {:.4} state {:.4} bytes {} kept {:?}",
        r.max_prob_diff,
        r.max_state_diff,
        c.bytes.len(),
        c.report.dynamic.kept.iter().map(|k| &k.0).collect::<Vec<_>>()
    );
}
