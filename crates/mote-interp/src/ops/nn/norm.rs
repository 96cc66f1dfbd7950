//! Normalizations: BatchNormalization, InstanceNormalization, LayerNormalization,
//! GroupNormalization, RMSNormalization, LRN, LpNormalization, MeanVarianceNormalization.

use mote_ir::ops::nn::{NnOp, layer_norm_stat_dtype};
use mote_ir::{Tensor, Value};
use mote_kernels::reference::nn::norm as k;
use num_traits::Float;

use super::{broadcast_index, buffer, float_kernel, split_nc};
use crate::error::OpError;
use crate::ops::elementwise::cast;
use crate::ops::{Inputs, axis, downcast, upcast};
use crate::{bail, op_err};

/// A per-channel parameter of shape `[c]` converted to the compute type.
fn per_channel<T: Float>(t: &Tensor, c: usize, what: &str) -> Result<Vec<T>, OpError> {
    if t.shape() != [c] {
        bail!("{what} must have shape [{c}], got {:?}", t.shape());
    }
    to_float(t)
}

fn to_float<T: Float>(t: &Tensor) -> Result<Vec<T>, OpError> {
    Ok(t.to_f64_vec()?.into_iter().map(|v| T::from(v).unwrap_or(T::nan())).collect())
}

/// `t` broadcast to `target` (numpy rules, `t` may not grow the target), in the compute type.
fn expand<T: Float>(t: &Tensor, target: &[usize], what: &str) -> Result<Vec<T>, OpError> {
    let map = broadcast_index(t.shape(), target).map_err(|e| op_err!("{what}: {}", e.0))?;
    let v = to_float::<T>(t)?;
    Ok(map.into_iter().map(|i| v[i]).collect())
}

fn finish<T: mote_ir::Elem>(shape: Vec<usize>, y: Vec<T>, dtype: mote_ir::DType) -> Result<Tensor, OpError> {
    downcast(Tensor::from_vec(shape, y)?, dtype)
}

/// Evaluates the normalization ops (`op` must be one of them).
pub fn eval(op: &NnOp, inputs: &Inputs<'_>, num_outputs: usize) -> Result<Vec<Value>, OpError> {
    let x0 = inputs.tensor(0)?;
    let dtype = x0.dtype();
    let x = upcast(x0)?;
    let shape = x.shape().to_vec();
    let name = mote_ir::ops::OpFamily::name(op);
    float_kernel!(dtype, name, |T| {
        let xv = x.typed::<T>()?;
        let mut y = buffer::<T>(&shape)?;
        let eps = |e: f32| e as T;
        match op {
            NnOp::BatchNorm { epsilon, momentum, training } => {
                let (n, c, sp) = split_nc(&x, name)?;
                let plane: usize = sp.iter().product();
                let p = |i: usize, what: &str| -> Result<Vec<T>, OpError> {
                    per_channel::<T>(inputs.tensor(i)?, c, &format!("{name}: {what}"))
                };
                let (scale, bias, mean, var) = (p(1, "scale")?, p(2, "B")?, p(3, "input_mean")?, p(4, "input_var")?);
                if !*training {
                    k::batch_norm(c, plane, eps(*epsilon), xv, &scale, &bias, &mean, &var, &mut y);
                    return Ok(vec![Value::Tensor(finish(shape, y, dtype)?)]);
                }
                let (mut bm, mut bv) = (vec![0.0 as T; c], vec![0.0 as T; c]);
                k::channel_stats(n, c, plane, xv, &mut bm, &mut bv);
                k::batch_norm(c, plane, eps(*epsilon), xv, &scale, &bias, &bm, &bv, &mut y);
                let mo = *momentum as T;
                let run = |input: &[T], cur: &[T], like: &Tensor| -> Result<Tensor, OpError> {
                    let v: Vec<T> = input.iter().zip(cur).map(|(&r, &b)| r * mo + b * (1.0 - mo)).collect();
                    cast(&Tensor::from_vec(vec![c], v)?, like.dtype())
                };
                let mut out = vec![Value::Tensor(finish(shape, y, dtype)?)];
                if num_outputs > 1 {
                    out.push(Value::Tensor(run(&mean, &bm, inputs.tensor(3)?)?));
                }
                if num_outputs > 2 {
                    out.push(Value::Tensor(run(&var, &bv, inputs.tensor(4)?)?));
                }
                Ok(out)
            }
            NnOp::InstanceNorm { epsilon } => {
                let (_, c, sp) = split_nc(&x, name)?;
                let plane: usize = sp.iter().product();
                let scale = per_channel::<T>(inputs.tensor(1)?, c, "InstanceNormalization: scale")?;
                let bias = per_channel::<T>(inputs.tensor(2)?, c, "InstanceNormalization: B")?;
                k::standardize_rows(plane, eps(*epsilon), xv, &mut y, None, None);
                k::affine_channels(c, plane, &scale, &bias, &mut y);
                Ok(vec![Value::Tensor(finish(shape, y, dtype)?)])
            }
            NnOp::LayerNorm { axis: a, epsilon } => {
                let a = axis(*a, shape.len())?;
                let rows: usize = shape[..a].iter().product();
                let cols: usize = shape[a..].iter().product();
                let scale = expand::<T>(inputs.tensor(1)?, &shape[a..], "LayerNormalization: Scale")?;
                let bias =
                    inputs.opt_tensor(2)?.map(|b| expand::<T>(b, &shape[a..], "LayerNormalization: B")).transpose()?;
                let (mut mean, mut inv) = (vec![0.0 as T; rows], vec![0.0 as T; rows]);
                k::standardize_rows(cols, eps(*epsilon), xv, &mut y, Some(&mut mean), Some(&mut inv));
                k::affine_rows(cols, &scale, bias.as_deref(), &mut y);
                let mut stat_shape = shape[..a].to_vec();
                stat_shape.resize(shape.len(), 1);
                let sd = layer_norm_stat_dtype(dtype);
                let stat = |v: Vec<T>| -> Result<Value, OpError> {
                    Ok(Value::Tensor(cast(&Tensor::from_vec(stat_shape.clone(), v)?, sd)?))
                };
                Ok(vec![Value::Tensor(finish(shape, y, dtype)?), stat(mean)?, stat(inv)?])
            }
            NnOp::GroupNorm { epsilon, num_groups, per_group_affine } => {
                let (_, c, sp) = split_nc(&x, name)?;
                let g = *num_groups;
                if g == 0 || c % g != 0 {
                    bail!("GroupNormalization: {c} channels are not divisible into {g} groups");
                }
                let plane: usize = sp.iter().product();
                let pc = if *per_group_affine { g } else { c };
                let scale = per_channel::<T>(inputs.tensor(1)?, pc, "GroupNormalization: scale")?;
                let bias = per_channel::<T>(inputs.tensor(2)?, pc, "GroupNormalization: bias")?;
                let (scale, bias) = if *per_group_affine {
                    let rep = |v: &[T]| (0..c).map(|i| v[i / (c / g)]).collect::<Vec<T>>();
                    (rep(&scale), rep(&bias))
                } else {
                    (scale, bias)
                };
                k::standardize_rows(c / g * plane, eps(*epsilon), xv, &mut y, None, None);
                k::affine_channels(c, plane, &scale, &bias, &mut y);
                Ok(vec![Value::Tensor(finish(shape, y, dtype)?)])
            }
            NnOp::RmsNorm { axis: a, epsilon } => {
                let a = axis(*a, shape.len())?;
                let cols: usize = shape[a..].iter().product();
                let st = inputs.tensor(1)?;
                let scale = expand::<T>(st, &shape[a..], "RMSNormalization: scale")?;
                k::rms_rows(cols, eps(*epsilon), xv, &mut y);
                k::affine_rows(cols, &scale, None, &mut y);
                let out = Tensor::from_vec(shape, y)?;
                Ok(vec![Value::Tensor(cast(&out, st.dtype())?)])
            }
            NnOp::Lrn { alpha, beta, bias, size } => {
                let (_, c, sp) = split_nc(&x, name)?;
                if *size == 0 {
                    bail!("LRN: size must be positive");
                }
                let plane: usize = sp.iter().product();
                k::lrn(c, plane, *size, *alpha as T, *beta as T, *bias as T, xv, &mut y);
                Ok(vec![Value::Tensor(finish(shape, y, dtype)?)])
            }
            NnOp::LpNorm { axis: a, p } => {
                let a = axis(*a, shape.len())?;
                let outer: usize = shape[..a].iter().product();
                let inner: usize = shape[a + 1..].iter().product();
                k::lp_normalize(*p, outer, shape[a], inner, xv, &mut y);
                Ok(vec![Value::Tensor(finish(shape, y, dtype)?)])
            }
            NnOp::MeanVarianceNorm { axes } => {
                mvn(axes, &shape, xv, &mut y)?;
                Ok(vec![Value::Tensor(finish(shape, y, dtype)?)])
            }
            _ => unreachable!("not a normalization"),
        }
    })
}

/// `(x - mean) / (std + 1e-9)` with statistics over `axes` (the ONNX function body).
fn mvn<T: Float>(axes: &[i64], shape: &[usize], x: &[T], y: &mut [T]) -> Result<(), OpError> {
    let r = shape.len();
    let mut reduced = vec![false; r];
    for &a in axes {
        let a = axis(a, r).map_err(|e| op_err!("MeanVarianceNormalization: {}", e.0))?;
        reduced[a] = true;
    }
    // Group id of every element: its index over the kept axes.
    let mut groups = 1;
    let mut stride = vec![0usize; r];
    for i in (0..r).rev() {
        if !reduced[i] {
            stride[i] = groups;
            groups *= shape[i];
        }
    }
    let mut gid = vec![0usize; x.len()];
    let mut idx = vec![0usize; r];
    for g in gid.iter_mut() {
        *g = idx.iter().zip(&stride).map(|(i, s)| i * s).sum();
        mote_core::shape::next_index(&mut idx, shape);
    }
    let count = T::from(if groups == 0 { 1 } else { x.len() / groups.max(1) }).unwrap_or(T::one());
    let (mut mean, mut var) = (vec![T::zero(); groups], vec![T::zero(); groups]);
    for (&v, &g) in x.iter().zip(&gid) {
        mean[g] = mean[g] + v;
    }
    mean.iter_mut().for_each(|m| *m = *m / count);
    for (&v, &g) in x.iter().zip(&gid) {
        var[g] = var[g] + (v - mean[g]) * (v - mean[g]);
    }
    let eps = T::from(1e-9).unwrap_or(T::zero());
    for ((o, &v), &g) in y.iter_mut().zip(x).zip(&gid) {
        *o = (v - mean[g]) / ((var[g] / count).sqrt() + eps);
    }
    Ok(())
}
