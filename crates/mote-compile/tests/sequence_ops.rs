//! The streaming sequence-model and signal ops through compile -> `.mote` -> runtime against the
//! reference interpreter: LinearAttention, CausalConvWithState, FlexAttention (expanded, with its
//! score_mod inlined), DFT (FFT and naive lengths, irfft) and STFT.

mod common;

use mote_compile::{Options, compile, host};
use mote_format::{Model, OpCode};

fn ops(bytes: &[u8]) -> Vec<OpCode> {
    let buf = mote_rt::host::AlignedBuf::from_bytes(bytes);
    let m = Model::parse(buf.as_ref()).unwrap();
    (0..m.step_count()).map(|i| m.step(i).unwrap().op).collect()
}

#[test]
fn sequence_and_signal_ops_match_the_interpreter() {
    let g = common::sequence_graph();
    let inputs = common::sequence_inputs();
    let want = mote_interp::run(&g, inputs.clone()).unwrap();
    let c = compile(common::sequence_graph(), &Options::default()).unwrap();
    let steps = ops(&c.bytes);
    for op in [OpCode::LinearAttention, OpCode::CausalConvWithState, OpCode::Dft, OpCode::Stft, OpCode::Softmax] {
        assert!(steps.contains(&op), "{op:?} missing from {steps:?}");
    }
    let got = host::compile_and_run(&g, &inputs, &Options::default()).unwrap();
    assert_eq!(want.len(), 8);
    for (i, (w, o)) in want.iter().zip(&got).enumerate() {
        let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
        assert_eq!((w.dtype(), w.shape()), (o.dtype(), o.shape()), "output {i}");
        let (w, o) = (w.to_f64_vec().unwrap(), o.to_f64_vec().unwrap());
        let scale = w.iter().fold(1f64, |m, x| m.max(x.abs()));
        for (a, b) in w.iter().zip(&o) {
            assert!((a - b).abs() <= 1e-5 * scale, "output {i}: {a} vs {b}");
        }
    }
    // The irfft of the DFT of a real length-8 signal, cut to 6 samples, is not the signal; the
    // DFT's DC bin is the sum of the samples.
    let sig = inputs[11].as_tensor().unwrap().to_f64_vec().unwrap();
    let spec = got[5].as_tensor().unwrap().to_f64_vec().unwrap();
    let dc: f64 = (0..8).map(|t| sig[t * 3]).sum();
    assert!((spec[0] - dc).abs() < 1e-5, "{} vs {dc}", spec[0]);
}
