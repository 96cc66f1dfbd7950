//! Random number ops. With a `seed` every evaluation draws the same values (from our own
//! generator, not numpy's); without one, each evaluation draws new values.

use mote_core::DType;

use crate::infer::{InferCx, InferError};
use crate::ops::OpFamily;
use crate::types::{Dim, TensorType, ValueType};

/// Random number ops.
#[derive(Clone, Debug, PartialEq)]
pub enum RandomOp {
    /// `RandomUniform`/`RandomNormal` (no input, `shape` given) and `RandomUniformLike`/
    /// `RandomNormalLike` (`shape` is `None`: the shape of the input, and its dtype when `dtype`
    /// is `None`). The output dtype is a float type.
    Sample { dist: Distribution, shape: Option<Vec<usize>>, dtype: Option<DType>, seed: Option<f32> },
    /// `Bernoulli(p)`: 1 with probability `p` per element, as `dtype` (default: p's dtype).
    Bernoulli { dtype: Option<DType>, seed: Option<f32> },
    /// `Multinomial(logits [batch, classes]) -> [batch, sample_size]`: class indices drawn from
    /// `softmax(logits)`, as int32 or int64.
    Multinomial { dtype: DType, sample_size: usize, seed: Option<f32> },
}

/// The distribution a `Random*` op samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    /// Uniform on `[low, high)`.
    Uniform { low: f32, high: f32 },
    /// Normal with mean `mean` and standard deviation `scale`.
    Normal { mean: f32, scale: f32 },
}

impl OpFamily for RandomOp {
    fn name(&self) -> &'static str {
        match self {
            RandomOp::Sample { dist: Distribution::Uniform { .. }, shape: Some(_), .. } => "RandomUniform",
            RandomOp::Sample { dist: Distribution::Normal { .. }, shape: Some(_), .. } => "RandomNormal",
            RandomOp::Sample { dist: Distribution::Uniform { .. }, shape: None, .. } => "RandomUniformLike",
            RandomOp::Sample { dist: Distribution::Normal { .. }, shape: None, .. } => "RandomNormalLike",
            RandomOp::Bernoulli { .. } => "Bernoulli",
            RandomOp::Multinomial { .. } => "Multinomial",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let t = match self {
            RandomOp::Sample { shape: Some(shape), dtype, .. } => {
                ValueType::Tensor(TensorType::concrete(dtype.unwrap_or(DType::F32), shape))
            }
            RandomOp::Sample { shape: None, dtype, .. } | RandomOp::Bernoulli { dtype, .. } => {
                let dtype = dtype.or(cx.dtype(0));
                if let Some(d) = dtype
                    && matches!(self, RandomOp::Sample { .. })
                    && !d.is_float()
                {
                    return Err(InferError::new(format!("{} needs a float output dtype, got {d}", self.name())));
                }
                ValueType::Tensor(TensorType { dtype, shape: cx.tensor(0).shape.clone() })
            }
            RandomOp::Multinomial { dtype, sample_size, .. } => {
                let batch = match cx.shape(0) {
                    Some([b, _]) => b.clone(),
                    Some(s) => {
                        return Err(InferError::new(format!("Multinomial input must be 2-D, got rank {}", s.len())));
                    }
                    None => Dim::Unknown,
                };
                ValueType::tensor(*dtype, vec![batch, Dim::Known(*sample_size)])
            }
        };
        Ok(vec![t])
    }
}
