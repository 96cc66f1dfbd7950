//! Recurrent ops: LSTM, GRU, RNN (ONNX opset 22 semantics).
//!
//! Inputs are `X, W, R, B?, sequence_lens?, initial_h?` (plus `initial_c?, P?` for LSTM).
//! Gate order in `W`/`R`/`B` is ONNX's: LSTM `[i, o, f, c]`, GRU `[z, r, h]`, RNN `[i]`.
//! Outputs: `Y` (every hidden state), `Y_h` (last hidden state), and for LSTM `Y_c` (last cell).

use crate::infer::{InferCx, InferError};
use crate::infer_err;
use crate::ops::OpFamily;
use crate::types::{Dim, TensorType, ValueType};

/// Which way(s) the sequence is processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Reverse,
    Bidirectional,
}

impl Activation {
    /// The kernels' form of this activation.
    pub fn kernel_act(self) -> mote_kernels::reference::rnn::Act {
        use mote_kernels::reference::rnn::Act;
        match self {
            Activation::Relu => Act::Relu,
            Activation::Tanh => Act::Tanh,
            Activation::Sigmoid => Act::Sigmoid,
            Activation::Affine { alpha, beta } => Act::Affine(alpha, beta),
            Activation::LeakyRelu { alpha } => Act::LeakyRelu(alpha),
            Activation::ThresholdedRelu { alpha } => Act::ThresholdedRelu(alpha),
            Activation::ScaledTanh { alpha, beta } => Act::ScaledTanh(alpha, beta),
            Activation::HardSigmoid { alpha, beta } => Act::HardSigmoid(alpha, beta),
            Activation::Elu { alpha } => Act::Elu(alpha),
            Activation::Softsign => Act::Softsign,
            Activation::Softplus => Act::Softplus,
        }
    }
}

impl Direction {
    pub fn num_directions(self) -> usize {
        if self == Direction::Bidirectional { 2 } else { 1 }
    }
}

/// An activation function of a recurrent cell, with its parameters (defaults applied).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    /// `alpha * x + beta`
    Affine {
        alpha: f32,
        beta: f32,
    },
    LeakyRelu {
        alpha: f32,
    },
    ThresholdedRelu {
        alpha: f32,
    },
    /// `alpha * tanh(beta * x)`
    ScaledTanh {
        alpha: f32,
        beta: f32,
    },
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    Elu {
        alpha: f32,
    },
    Softsign,
    Softplus,
}

/// Attributes shared by the three recurrent ops.
#[derive(Clone, Debug, PartialEq)]
pub struct RnnAttrs {
    pub hidden_size: usize,
    pub direction: Direction,
    /// `layout = 1`: X, Y, Y_h, Y_c are batch-major.
    pub batch_first: bool,
    /// Per direction, in ONNX order (LSTM: f, g, h; GRU: f, g; RNN: f); forward first.
    pub activations: Vec<Activation>,
    /// Gate pre-activations are clamped to `[-clip, clip]`.
    pub clip: Option<f32>,
}

/// Recurrent ops.
#[derive(Clone, Debug, PartialEq)]
pub enum RnnOp {
    /// `input_forget` couples the gates: `f = 1 - i`.
    Lstm {
        attrs: RnnAttrs,
        input_forget: bool,
    },
    /// `linear_before_reset` applies the reset gate after the recurrent matmul of the hidden gate.
    Gru {
        attrs: RnnAttrs,
        linear_before_reset: bool,
    },
    Rnn {
        attrs: RnnAttrs,
    },
}

impl RnnOp {
    pub fn attrs(&self) -> &RnnAttrs {
        match self {
            RnnOp::Lstm { attrs, .. } | RnnOp::Gru { attrs, .. } | RnnOp::Rnn { attrs } => attrs,
        }
    }

    /// Gates per cell: 4 (LSTM), 3 (GRU), 1 (RNN).
    pub fn gates(&self) -> usize {
        match self {
            RnnOp::Lstm { .. } => 4,
            RnnOp::Gru { .. } => 3,
            RnnOp::Rnn { .. } => 1,
        }
    }

    /// Activations per direction: 3 (LSTM), 2 (GRU), 1 (RNN).
    pub fn activations_per_direction(&self) -> usize {
        match self {
            RnnOp::Lstm { .. } => 3,
            RnnOp::Gru { .. } => 2,
            RnnOp::Rnn { .. } => 1,
        }
    }

    /// Number of outputs the op defines.
    pub fn max_outputs(&self) -> usize {
        if matches!(self, RnnOp::Lstm { .. }) { 3 } else { 2 }
    }
}

impl OpFamily for RnnOp {
    fn name(&self) -> &'static str {
        match self {
            RnnOp::Lstm { .. } => "LSTM",
            RnnOp::Gru { .. } => "GRU",
            RnnOp::Rnn { .. } => "RNN",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let a = self.attrs();
        let dtype = cx.dtype(0);
        let nd = Dim::Known(a.direction.num_directions());
        let h = Dim::Known(a.hidden_size);
        if let Some(r) = cx.rank(0)
            && r != 3
        {
            return Err(infer_err!("X must have rank 3, got rank {r}"));
        }
        if let Some(w) = cx.shape(1) {
            if w.len() != 3 {
                return Err(infer_err!("W must have rank 3, got rank {}", w.len()));
            }
            let want = a.hidden_size.checked_mul(self.gates());
            if let (Some(d0), Some(d1)) = (w[0].known(), w[1].known())
                && (d0 != a.direction.num_directions() || Some(d1) != want)
            {
                return Err(infer_err!(
                    "W has shape [{d0}, {d1}, ..] but {} direction(s) and {} x {} gate rows are expected",
                    a.direction.num_directions(),
                    self.gates(),
                    a.hidden_size
                ));
            }
        }
        let (seq, batch) = match cx.shape(0) {
            Some(s) if s.len() == 3 => {
                if a.batch_first {
                    (s[1].clone(), s[0].clone())
                } else {
                    (s[0].clone(), s[1].clone())
                }
            }
            _ => (Dim::Unknown, Dim::Unknown),
        };
        let y = if a.batch_first {
            vec![batch.clone(), seq, nd.clone(), h.clone()]
        } else {
            vec![seq, nd.clone(), batch.clone(), h.clone()]
        };
        let state = if a.batch_first { vec![batch, nd, h] } else { vec![nd, batch, h] };
        let t = |shape: Vec<Dim>| ValueType::Tensor(TensorType { dtype, shape: Some(shape) });
        let mut out = vec![t(y), t(state.clone())];
        if matches!(self, RnnOp::Lstm { .. }) {
            out.push(t(state));
        }
        out.truncate(cx.num_outputs.max(1));
        Ok(out)
    }

    fn macs(&self, cx: &InferCx<'_>, _outputs: &[ValueType]) -> Option<u64> {
        let x = cx.tensor(0).known_shape()?;
        if x.len() != 3 {
            return None;
        }
        let a = self.attrs();
        let (seq, batch, input) = if a.batch_first { (x[1], x[0], x[2]) } else { (x[0], x[1], x[2]) };
        let rows = (self.gates() as u64).checked_mul(a.hidden_size as u64)?;
        let per_step = rows.checked_mul((input as u64).checked_add(a.hidden_size as u64)?)?;
        [seq, batch, a.direction.num_directions()].iter().try_fold(per_step, |acc, &d| acc.checked_mul(d as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::Fact;
    use mote_core::DType;

    fn attrs(dir: Direction, batch_first: bool) -> RnnAttrs {
        RnnAttrs { hidden_size: 5, direction: dir, batch_first, activations: vec![], clip: None }
    }

    #[test]
    fn lstm_shapes_follow_layout() {
        let x = Fact::of_type(ValueType::Tensor(TensorType::concrete(DType::F32, &[7, 2, 3])));
        let inputs = vec![Some(x)];
        let cx = InferCx::new(&inputs, 3);
        let op = RnnOp::Lstm { attrs: attrs(Direction::Bidirectional, false), input_forget: false };
        let out = op.infer(&cx).unwrap();
        assert_eq!(out[0], ValueType::Tensor(TensorType::concrete(DType::F32, &[7, 2, 2, 5])));
        assert_eq!(out[2], ValueType::Tensor(TensorType::concrete(DType::F32, &[2, 2, 5])));
        assert_eq!(op.macs(&cx, &out), Some(4 * 5 * (3 + 5) * 7 * 2 * 2));
        let op = RnnOp::Gru { attrs: attrs(Direction::Forward, true), linear_before_reset: false };
        let out = op.infer(&cx).unwrap();
        // batch-first: X is [batch=7, seq=2, input=3]
        assert_eq!(out[0], ValueType::Tensor(TensorType::concrete(DType::F32, &[7, 2, 1, 5])));
        assert_eq!(out[1], ValueType::Tensor(TensorType::concrete(DType::F32, &[7, 1, 5])));
    }
}
