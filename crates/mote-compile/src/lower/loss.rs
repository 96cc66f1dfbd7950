//! Loss ops: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss, one runtime step each.

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::loss::{LossOp, LossReduction};
use mote_rt::ops::{LossReduction as Rt, encode};

use super::{Lowerer, R, bail};

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &LossOp) -> R<()> {
    let (softmax, reduction, ignore) = match op {
        LossOp::Nll { reduction, ignore_index } => (false, *reduction, *ignore_index),
        LossOp::SoftmaxCrossEntropy { reduction, ignore_index } => (true, *reduction, *ignore_index),
    };
    let (x, t) = (l.input(n, 0)?, l.input(n, 1)?);
    if l.p.tensors[x].dtype != DType::F32 {
        bail!("{} on {} is not supported by the compiled path (f32 only)", n.op.name(), l.p.tensors[x].dtype);
    }
    if !matches!(l.p.tensors[t].dtype, DType::I32 | DType::I64) {
        bail!("loss targets must be int32 or int64");
    }
    let w = n.input(2).map(|_| l.input(n, 2)).transpose()?;
    if w.is_some_and(|w| l.p.tensors[w].dtype != DType::F32) {
        bail!("loss weights must be f32 to compile");
    }
    let xd = l.p.tensors[x].dims.clone();
    if xd.len() < 2 {
        bail!("loss scores must have rank >= 2");
    }
    let (nn, c, d) = (xd[0], xd[1], xd[2..].iter().product());
    let reduction = match reduction {
        LossReduction::None => Rt::None,
        LossReduction::Sum => Rt::Sum,
        LossReduction::Mean => Rt::Mean,
    };
    let mut outs = vec![l.output(n, 0)?];
    if softmax && n.outputs.get(1).copied().flatten().is_some() {
        outs.push(l.output(n, 1)?);
    }
    let attrs = encode::nll_loss(nn, c, d, reduction, softmax, ignore);
    l.p.step(OpCode::NllLoss, vec![Some(x), Some(t), w], outs, attrs, &n.name);
    Ok(())
}
