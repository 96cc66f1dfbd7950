//! BatchNormalization and Dropout: their training-mode forward (batch statistics, a seeded
//! mask) and their backward in either mode.

use mote_ir::ops::nn::NnOp;
use mote_ir::{Op, Tensor};

use super::{Aux, Ctx};

fn f32s<'a>(t: Option<&'a Tensor>, what: &str) -> Result<&'a [f32], String> {
    t.and_then(|t| t.as_slice::<f32>()).ok_or_else(|| format!("{what} must be an f32 tensor"))
}

/// `[N, C, ...]` -> (N, C, elements per channel and image).
fn dims(shape: &[usize]) -> Result<(usize, usize, usize), String> {
    if shape.len() < 2 {
        return Err(format!("BatchNormalization needs [N, C, ...], got {shape:?}"));
    }
    Ok((shape[0], shape[1], shape[2..].iter().product()))
}

/// The forward of a training-mode BatchNormalization or Dropout node (inputs as the op takes
/// them), with what its backward needs. `seed` draws Dropout's mask.
pub fn train_forward(op: &NnOp, ins: &[Option<&Tensor>], seed: u64) -> Result<(Tensor, Aux), String> {
    let x = ins.first().copied().flatten().ok_or("input 0 is missing")?;
    let xd = f32s(Some(x), "input")?;
    match op {
        NnOp::BatchNorm { epsilon, .. } => {
            let (n, c, area) = dims(x.shape())?;
            let scale = f32s(ins.get(1).copied().flatten(), "scale")?;
            let bias = f32s(ins.get(2).copied().flatten(), "bias")?;
            if scale.len() != c || bias.len() != c {
                return Err(format!("scale and bias must have {c} values"));
            }
            let m = (n * area) as f32;
            let (mut mean, mut var, mut inv_std) = (vec![0.0; c], vec![0.0; c], vec![0.0; c]);
            let mut y = vec![0.0f32; xd.len()];
            for ch in 0..c {
                let rows = (0..n).map(|i| &xd[(i * c + ch) * area..(i * c + ch + 1) * area]);
                let mu = rows.clone().flatten().map(|&v| f64::from(v)).sum::<f64>() / f64::from(m);
                let v = rows.flatten().map(|&v| (f64::from(v) - mu).powi(2)).sum::<f64>() / f64::from(m);
                let inv = 1.0 / (v + f64::from(*epsilon)).sqrt();
                (mean[ch], var[ch], inv_std[ch]) = (mu as f32, v as f32, inv as f32);
                for i in 0..n {
                    let o = (i * c + ch) * area;
                    for k in o..o + area {
                        y[k] = (xd[k] - mean[ch]) * inv_std[ch] * scale[ch] + bias[ch];
                    }
                }
            }
            let t = Tensor::from_vec(x.shape().to_vec(), y).map_err(|e| e.to_string())?;
            Ok((t, Aux::BatchNorm { mean, var, inv_std }))
        }
        NnOp::Dropout { .. } => {
            let ratio = match ins.get(1).copied().flatten() {
                Some(r) => r.to_f32_vec().map_err(|e| e.to_string())?.first().copied().unwrap_or(0.5),
                None => 0.5,
            };
            if !(0.0..1.0).contains(&ratio) {
                return Err(format!("dropout ratio {ratio} is not in [0, 1)"));
            }
            let keep = 1.0 / (1.0 - ratio);
            let mut rng = crate::data::Rng::new(seed);
            let mask: Vec<f32> = (0..xd.len()).map(|_| if rng.uniform() < ratio { 0.0 } else { keep }).collect();
            let y: Vec<f32> = xd.iter().zip(&mask).map(|(x, m)| x * m).collect();
            let t = Tensor::from_vec(x.shape().to_vec(), y).map_err(|e| e.to_string())?;
            Ok((t, Aux::Dropout { mask }))
        }
        _ => Err("not a BatchNormalization or Dropout".into()),
    }
}

pub fn backward(op: &Op, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    match op {
        Op::Nn(NnOp::BatchNorm { epsilon, .. }) => batch_norm(*epsilon, cx, gy),
        Op::Nn(NnOp::Dropout { .. }) => Ok(vec![Some(match cx.aux {
            Some(Aux::Dropout { mask }) => gy.iter().zip(mask).map(|(g, m)| g * m).collect(),
            _ => gy.to_vec(),
        })]),
        _ => Err("no backward rule for this op".into()),
    }
}

fn batch_norm(epsilon: f32, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    let (x, xs) = cx.input(0)?;
    let (scale, _) = cx.input(1)?;
    let (n, c, area) = dims(xs)?;
    let (mean, inv_std, train): (Vec<f32>, Vec<f32>, bool) = match cx.aux {
        Some(Aux::BatchNorm { mean, inv_std, .. }) => (mean.clone(), inv_std.clone(), true),
        _ => {
            let (mean, _) = cx.input(3)?;
            let (var, _) = cx.input(4)?;
            (mean.to_vec(), var.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect(), false)
        }
    };
    let m = (n * area) as f32;
    let (mut gx, mut gs, mut gb) = (vec![0.0f32; x.len()], vec![0.0f32; c], vec![0.0f32; c]);
    let at = |i: usize, ch: usize| (i * c + ch) * area..(i * c + ch + 1) * area;
    for ch in 0..c {
        let (mut sum_g, mut sum_gx) = (0.0f32, 0.0f32);
        for i in 0..n {
            for k in at(i, ch) {
                let xhat = (x[k] - mean[ch]) * inv_std[ch];
                sum_g += gy[k];
                sum_gx += gy[k] * xhat;
            }
        }
        (gb[ch], gs[ch]) = (sum_g, sum_gx);
        for i in 0..n {
            for k in at(i, ch) {
                gx[k] = if train {
                    let xhat = (x[k] - mean[ch]) * inv_std[ch];
                    scale[ch] * inv_std[ch] / m * (m * gy[k] - sum_g - xhat * sum_gx)
                } else {
                    gy[k] * scale[ch] * inv_std[ch]
                };
            }
        }
    }
    Ok(vec![Some(gx), Some(gs), Some(gb), None, None])
}
