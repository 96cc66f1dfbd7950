//! RandomUniform, RandomNormal and their `Like` forms: one `Random` step with a pinned run
//! counter (`mote-rt/src/ops/random.rs`). Bernoulli and training-mode Dropout are rewritten
//! onto RandomUniformLike before lowering (`expand.rs`).

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::random::{Distribution, RandomOp};
use mote_rt::ops::encode;

use super::{Lowerer, R, bail};

/// The seed word of a `seed` attribute (its f32 bits; absent: a fixed documented default, so
/// compiled models draw reproducibly from a zeroed arena).
pub fn seed_word(seed: Option<f32>) -> u64 {
    seed.map_or(0x6D6F_7465, |s| s.to_bits() as u64)
}

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &RandomOp) -> R<()> {
    let RandomOp::Sample { dist, seed, .. } = op else {
        bail!("{} is not supported by the compiled path yet", n.op.name());
    };
    let y = l.output(n, 0)?;
    let dt = l.p.tensors[y].dtype;
    if !matches!(dt, DType::F32 | DType::F64) {
        bail!("{} to {dt} is not supported by the compiled path (f32 and f64)", n.op.name());
    }
    let (normal, p0, p1) = match *dist {
        Distribution::Uniform { low, high } => (false, low, high),
        Distribution::Normal { mean, scale } => (true, mean, scale),
    };
    let state = l.p.arena(DType::I64, vec![1], format!("{}.run_counter", n.name));
    // Alive for the whole run, so the counter survives from one run to the next.
    l.pin(state);
    l.p.step(OpCode::Random, vec![], vec![y, state], encode::random(normal, seed_word(*seed), p0, p1), &n.name);
    Ok(())
}
