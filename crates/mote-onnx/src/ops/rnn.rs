//! Recurrent ops: ONNX attributes -> [`RnnOp`].

use mote_ir::Op;
use mote_ir::ops::rnn::{Activation, Direction, RnnAttrs, RnnOp};

use super::{NodeCtx, NodeError, invalid, unsupported};

pub const OPS: &[(&str, &str)] = &[("", "LSTM"), ("", "GRU"), ("", "RNN")];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    let (per_dir, max_inputs) = match cx.op_type {
        "LSTM" => (3, 8),
        "GRU" => (2, 6),
        "RNN" => (1, 6),
        _ => return Ok(None),
    };
    cx.expect_inputs(3, max_inputs)?;
    // Opsets 1-6: `output_sequence` only says whether `Y` is wanted; outputs are optional anyway.
    cx.ignore(&["output_sequence"]);
    let attrs = common(cx, per_dir)?;
    let op = match cx.op_type {
        "LSTM" => RnnOp::Lstm { attrs, input_forget: flag(cx, "input_forget")? },
        "GRU" => RnnOp::Gru { attrs, linear_before_reset: flag(cx, "linear_before_reset")? },
        _ => RnnOp::Rnn { attrs },
    };
    Ok(Some(Op::Rnn(op)))
}

fn flag(cx: &NodeCtx<'_>, name: &str) -> Result<bool, NodeError> {
    match cx.int(name, 0)? {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(invalid!("attribute `{name}` must be 0 or 1, got {v}")),
    }
}

fn common(cx: &NodeCtx<'_>, per_dir: usize) -> Result<RnnAttrs, NodeError> {
    let hidden_size = cx.req_int("hidden_size")?;
    let hidden_size = usize::try_from(hidden_size)
        .ok()
        .filter(|&h| h > 0)
        .ok_or_else(|| invalid!("attribute `hidden_size` must be positive, got {hidden_size}"))?;
    let direction = match cx.string("direction", "forward")?.as_str() {
        "forward" => Direction::Forward,
        "reverse" => Direction::Reverse,
        "bidirectional" => Direction::Bidirectional,
        other => {
            return Err(invalid!("attribute `direction` must be forward, reverse or bidirectional, got {other:?}"));
        }
    };
    let batch_first = match cx.int("layout", 0)? {
        0 => false,
        1 => true,
        v => return Err(invalid!("attribute `layout` must be 0 or 1, got {v}")),
    };
    let clip = match cx.float_opt("clip")? {
        None => None,
        Some(c) if c > 0.0 => Some(c),
        Some(c) => return Err(invalid!("attribute `clip` must be positive, got {c}")),
    };
    let nd = direction.num_directions();
    let names = match cx.strings("activations")? {
        Some(v) if v.len() == per_dir * nd => v,
        // One direction's worth for a bidirectional op: the same for both (as onnxruntime does).
        Some(v) if v.len() == per_dir && nd == 2 => [v.clone(), v].concat(),
        Some(v) => {
            return Err(invalid!("attribute `activations` has {} entries, expected {}", v.len(), per_dir * nd));
        }
        None => {
            let d: &[&str] = match per_dir {
                3 => &["Sigmoid", "Tanh", "Tanh"],
                2 => &["Sigmoid", "Tanh"],
                _ => &["Tanh"],
            };
            (0..nd).flat_map(|_| d.iter().map(|s| s.to_string())).collect()
        }
    };
    let alphas = cx.floats("activation_alpha")?.unwrap_or_default();
    let betas = cx.floats("activation_beta")?.unwrap_or_default();
    let (mut ai, mut bi) = (alphas.into_iter(), betas.into_iter());
    let mut activations = Vec::with_capacity(names.len());
    for name in &names {
        // Parameters are consumed in order, only by the functions that take them.
        let mut alpha = |d: f32| ai.next().unwrap_or(d);
        let act = match name.to_ascii_lowercase().as_str() {
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "softsign" => Activation::Softsign,
            "softplus" => Activation::Softplus,
            "leakyrelu" => Activation::LeakyRelu { alpha: alpha(0.01) },
            "thresholdedrelu" => Activation::ThresholdedRelu { alpha: alpha(1.0) },
            "elu" => Activation::Elu { alpha: alpha(1.0) },
            "affine" => Activation::Affine { alpha: alpha(1.0), beta: bi.next().unwrap_or(0.0) },
            "scaledtanh" => Activation::ScaledTanh { alpha: alpha(1.0), beta: bi.next().unwrap_or(1.0) },
            "hardsigmoid" => Activation::HardSigmoid { alpha: alpha(0.2), beta: bi.next().unwrap_or(0.5) },
            other => return Err(unsupported!("activation {other:?} is not supported")),
        };
        activations.push(act);
    }
    Ok(RnnAttrs { hidden_size, direction, batch_first, activations, clip })
}
