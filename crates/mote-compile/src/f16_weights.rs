//! f16 weight storage (`Options::weights_f16`, `mote compile --weights f16`): each f32 weight of
//! at least [`MIN_VALUES`] values read only by steps that take their operands from the arena is
//! stored as f16 (half the bytes) and widened back to f32 by a `Cast` step into an arena buffer
//! just before its first reader (packed weights stay packed: the cast is element-wise over the
//! packed values).
//!
//! Cost: the arena holds each widened weight from its cast to its last reader (the memory plan
//! reuses the bytes afterwards, so the arena grows by about the largest weight, not their sum),
//! and every run widens every weight once (a pass over the f32 bytes). The values are the f16
//! roundings of the weights (relative error at most 2^-11; values below 2^-14 lose precision,
//! beyond 65504 become infinite: such weights stay f32).

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::f16;
use mote_rt::ops::encode;

use crate::lir::{Buf, LStep, LTensor, Place, Program};

/// Weights with fewer values stay f32 (biases and scales: small, and one step each to widen).
pub const MIN_VALUES: usize = 1024;

/// Steps that read f32 weights like any arena operand (the rest may require weights storage:
/// tables checked at load, string pools).
const READERS: &[OpCode] = &[
    OpCode::Conv,
    OpCode::ConvBlocked,
    OpCode::ConvTranspose,
    OpCode::Gemm,
    OpCode::Lstm,
    OpCode::Gru,
    OpCode::Rnn,
    OpCode::Binary,
    OpCode::Gather,
];

/// Stores the eligible f32 weights of `p` as f16 behind `Cast` steps; returns how many.
pub fn to_f16(p: &mut Program) -> usize {
    let nw = p.weights.len();
    // Per weight: its tensors and the first step reading any of them (None: not eligible).
    let mut ok = vec![true; nw];
    let mut first: Vec<Option<usize>> = vec![None; nw];
    let weight_of = |p: &Program, t: usize| match p.tensors[t].place {
        Place::Weight(w) => Some(w),
        Place::Arena { .. } => None,
    };
    for lt in &p.tensors {
        if let Place::Weight(w) = lt.place
            && (lt.dtype != DType::F32 || p.weights[w].len() < 4 * MIN_VALUES || !p.weights[w].len().is_multiple_of(4))
        {
            ok[w] = false;
        }
    }
    for &(t, _) in p.inputs.iter().chain(&p.outputs) {
        if let Some(w) = weight_of(p, t) {
            ok[w] = false;
        }
    }
    for (s, st) in p.steps.iter().enumerate() {
        for &t in st.inputs.iter().flatten().chain(&st.outputs) {
            if let Some(w) = weight_of(p, t) {
                if !READERS.contains(&st.op) || st.outputs.contains(&t) {
                    ok[w] = false;
                }
                first[w].get_or_insert(s);
            }
        }
    }
    let fits = |v: f32| v.is_finite() && v.abs() <= f16::MAX.to_f32();
    // A run-time `If` skips a counted number of steps: casts go first there, outside any branch.
    let at_start = p.steps.iter().any(|s| matches!(s.op, OpCode::Branch | OpCode::Jump));
    let mut before: Vec<Vec<LStep>> = vec![Vec::new(); p.steps.len()];
    let mut count = 0;
    for w in 0..nw {
        let Some(s) = first[w].filter(|_| ok[w]) else { continue };
        let vals: Vec<f32> =
            p.weights[w].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        if !vals.iter().all(|&v| fits(v)) {
            continue;
        }
        let name = p.tensors.iter().find(|t| matches!(t.place, Place::Weight(x) if x == w)).map(|t| t.name.clone());
        let name = name.unwrap_or_default();
        let half: Vec<u8> = vals.iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect();
        let n = vals.len();
        let src = p.weight(DType::F16, vec![n], half, format!("{name}.f16"));
        p.bufs.push(Buf { bytes: 4 * n, pinned: false });
        let buf = p.bufs.len() - 1;
        for t in &mut p.tensors {
            if matches!(t.place, Place::Weight(x) if x == w) {
                t.place = Place::Arena { buf, offset: 0 };
            }
        }
        let dst = p.tensor(LTensor {
            dtype: DType::F32,
            dims: vec![n],
            place: Place::Arena { buf, offset: 0 },
            name: format!("{name}.widened"),
            packed: None,
            pool: 0,
        });
        p.weights[w] = Vec::new();
        let cast = LStep {
            op: OpCode::Cast,
            inputs: vec![Some(src)],
            outputs: vec![dst],
            attrs: encode::cast(true, Default::default()),
            name: format!("{name}.widen"),
            scratch: 0,
        };
        before[if at_start { 0 } else { s }].push(cast);
        count += 1;
    }
    if count > 0 {
        let steps = std::mem::take(&mut p.steps);
        for (s, st) in steps.into_iter().enumerate() {
            p.steps.append(&mut before[s]);
            p.steps.push(st);
        }
    }
    count
}
