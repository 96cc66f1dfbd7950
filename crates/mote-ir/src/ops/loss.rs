//! Loss ops: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss.

use crate::infer::{InferCx, InferError};
use crate::ops::OpFamily;
use crate::types::{Dim, ValueType};

/// Loss ops. Inputs are `[N, C, d1, ..., dk]` scores, `[N, d1, ..., dk]` integer class targets
/// and optional `[C]` class weights. A target equal to `ignore_index` contributes nothing
/// (weight 0).
#[derive(Clone, Debug, PartialEq)]
pub enum LossOp {
    /// `NegativeLogLikelihoodLoss(input, target, weight?)`: `loss = -input[n, target, d] *
    /// weight[target]`, then reduced.
    Nll { reduction: LossReduction, ignore_index: Option<i64> },
    /// `SoftmaxCrossEntropyLoss(scores, labels, weights?) -> (loss, log_prob?)`: the NLL loss of
    /// `log_softmax(scores, axis = 1)`, which is the optional second output.
    SoftmaxCrossEntropy { reduction: LossReduction, ignore_index: Option<i64> },
}

/// How per-element losses are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossReduction {
    /// Per-element losses, shaped like the target.
    None,
    Sum,
    /// Weighted mean: `sum(w * loss) / sum(w)`.
    Mean,
}

impl OpFamily for LossOp {
    fn name(&self) -> &'static str {
        match self {
            LossOp::Nll { .. } => "NegativeLogLikelihoodLoss",
            LossOp::SoftmaxCrossEntropy { .. } => "SoftmaxCrossEntropyLoss",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let (LossOp::Nll { reduction, .. } | LossOp::SoftmaxCrossEntropy { reduction, .. }) = self;
        let loss_shape: Option<Vec<Dim>> = match reduction {
            LossReduction::None => match (cx.shape(0), cx.shape(1)) {
                // The target's shape, with known dims taken from the scores where possible.
                (Some(x), Some(t)) if x.len() == t.len() + 1 && x.len() >= 2 => {
                    let mut s = vec![pick(&x[0], &t[0])];
                    s.extend(x[2..].iter().zip(&t[1..]).map(|(a, b)| pick(a, b)));
                    Some(s)
                }
                (Some(x), _) if x.len() >= 2 => {
                    let mut s = vec![x[0].clone()];
                    s.extend(x[2..].iter().cloned());
                    Some(s)
                }
                (_, Some(t)) => Some(t.to_vec()),
                _ => None,
            },
            _ => Some(Vec::new()),
        };
        if let Some(r) = cx.rank(0)
            && r < 2
        {
            return Err(InferError::new(format!("scores must have rank >= 2, got {r}")));
        }
        let mut out = vec![cx.like(0, loss_shape)];
        if matches!(self, LossOp::SoftmaxCrossEntropy { .. }) && cx.num_outputs > 1 {
            out.push(cx.same_as(0));
        }
        Ok(out)
    }
}

fn pick(a: &Dim, b: &Dim) -> Dim {
    match (a, b) {
        (Dim::Known(_), _) | (Dim::Sym(_), Dim::Unknown) => a.clone(),
        _ => b.clone(),
    }
}
