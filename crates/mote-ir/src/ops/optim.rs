//! Optimizer update ops of the `ai.onnx.preview.training` domain: one step of Adagrad,
//! Momentum or Adam over `n` tensors at once.
//!
//! Inputs are `R` (learning rate, scalar), `T` (update count, scalar int64), then `n` tensors
//! of each kind in blocks: Adagrad `X.., G.., H..`; Momentum `X.., G.., V..`; Adam
//! `X.., G.., V.., H..`. Outputs are the updated blocks, without `G`.

use crate::infer::{InferCx, InferError};
use crate::ops::OpFamily;
use crate::types::ValueType;

/// Optimizer steps; attributes as in ONNX, defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub enum OptimOp {
    Adagrad { decay_factor: f32, epsilon: f32, norm_coefficient: f32 },
    Momentum { alpha: f32, beta: f32, nesterov: bool, norm_coefficient: f32 },
    Adam { alpha: f32, beta: f32, epsilon: f32, norm_coefficient: f32, norm_coefficient_post: f32 },
}

impl OptimOp {
    /// Tensor blocks among the inputs after `R` and `T` (X, G and the optimizer's states).
    pub fn input_blocks(&self) -> usize {
        match self {
            OptimOp::Adagrad { .. } | OptimOp::Momentum { .. } => 3,
            OptimOp::Adam { .. } => 4,
        }
    }
}

impl OpFamily for OptimOp {
    fn name(&self) -> &'static str {
        match self {
            OptimOp::Adagrad { .. } => "Adagrad",
            OptimOp::Momentum { .. } => "Momentum",
            OptimOp::Adam { .. } => "Adam",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let blocks = self.input_blocks();
        let n = cx.len().saturating_sub(2) / blocks;
        // Output block k (0 = X, then the states) has the types of input block 0, 2, 3, ...
        Ok((0..cx.num_outputs)
            .map(|o| {
                let (block, i) = (o / n.max(1), o % n.max(1));
                let input_block = if block == 0 { 0 } else { block + 1 };
                cx.same_as(2 + input_block * n + i)
            })
            .collect())
    }
}
