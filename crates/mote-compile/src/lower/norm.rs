//! Normalizations: LayerNormalization, RMSNormalization, InstanceNormalization,
//! GroupNormalization, LpNormalization and LRN as one runtime step each (broadcast scales are
//! expanded by a strided copy); MeanVarianceNormalization as reductions and element-wise steps.

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::infer::normalize_axis;
use mote_ir::ops::elementwise::Unary;
use mote_ir::ops::nn::NnOp;
use mote_kernels::reference::reduce::Reduction;
use mote_rt::ops::{Act, BinaryCode, UnaryCode, encode};

use super::elementwise::{broadcast_strides, contiguous, emit_binary};
use super::shape::copy;
use super::{Lowerer, R, bail};

/// Input `i` of `n` as a tensor of exactly `target`'s elements (numpy broadcast by a strided copy
/// when it is smaller).
fn expanded(l: &mut Lowerer<'_>, n: &Node, i: usize, target: &[usize], what: &str) -> R<usize> {
    let t = l.input(n, i)?;
    if l.p.tensors[t].dtype != DType::F32 {
        bail!("{what} must be f32 to compile");
    }
    let td = l.p.tensors[t].dims.clone();
    let src = broadcast_strides(&td, target).map_err(|e| format!("{what}: {e}"))?;
    if l.p.tensors[t].numel() == target.iter().product::<usize>() {
        return Ok(t);
    }
    let o = l.p.arena(DType::F32, target.to_vec(), format!("{}.{what}", n.name));
    copy(l, t, o, target, (0, &src), (0, &contiguous(target)), &n.name);
    Ok(o)
}

/// Output `i` of `n`, or a scratch tensor of `dims` when the graph does not use it.
fn output_or_temp(l: &mut Lowerer<'_>, n: &Node, i: usize, dims: Vec<usize>) -> R<usize> {
    match n.outputs.get(i).copied().flatten() {
        Some(_) => l.output(n, i),
        None => Ok(l.p.arena(DType::F32, dims, format!("{}.unused{i}", n.name))),
    }
}

/// `x`, required f32, and its dims.
fn f32_input(l: &mut Lowerer<'_>, n: &Node) -> R<(usize, Vec<usize>)> {
    let x = l.input(n, 0)?;
    if l.p.tensors[x].dtype != DType::F32 {
        bail!("{} on {} is not supported by the compiled path (f32 only)", n.op.name(), l.p.tensors[x].dtype);
    }
    Ok((x, l.p.tensors[x].dims.clone()))
}

/// `[batch, channels, plane]` of an `[N, C, ...]` input.
fn nc(xd: &[usize]) -> R<(usize, usize, usize)> {
    if xd.len() < 2 {
        bail!("input must have rank >= 2 ([N, C, ...])");
    }
    Ok((xd[0], xd[1], xd[2..].iter().product()))
}

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &NnOp) -> R<()> {
    let (x, xd) = f32_input(l, n)?;
    match op {
        NnOp::LayerNorm { axis, epsilon } | NnOp::RmsNorm { axis, epsilon } => {
            let a = normalize_axis(*axis, xd.len()).map_err(|e| e.0)?;
            let (rows, cols) = (xd[..a].iter().product::<usize>(), xd[a..].iter().product::<usize>());
            let rms = matches!(op, NnOp::RmsNorm { .. });
            let scale = expanded(l, n, 1, &xd[a..], "scale")?;
            let mut ins = vec![Some(x), Some(scale)];
            if !rms && n.input(2).is_some() {
                ins.push(Some(expanded(l, n, 2, &xd[a..], "bias")?));
            }
            let y = l.output(n, 0)?;
            if l.p.tensors[y].dtype != DType::F32 {
                bail!("{} to {} is not supported by the compiled path", n.op.name(), l.p.tensors[y].dtype);
            }
            let mut outs = vec![y];
            if !rms {
                outs.push(output_or_temp(l, n, 1, vec![rows])?);
                outs.push(output_or_temp(l, n, 2, vec![rows])?);
            }
            let code = if rms { OpCode::RmsNorm } else { OpCode::LayerNorm };
            l.p.step(code, ins, outs, encode::row_norm(rows, cols, *epsilon), &n.name);
        }
        NnOp::InstanceNorm { epsilon } | NnOp::GroupNorm { epsilon, .. } => {
            let (batch, c, plane) = nc(&xd)?;
            let groups = match op {
                NnOp::GroupNorm { num_groups, .. } => {
                    if *num_groups == 0 || c % num_groups != 0 {
                        bail!("{c} channels are not divisible into {num_groups} groups");
                    }
                    Some(*num_groups)
                }
                _ => None,
            };
            let mut params = Vec::new();
            for (i, what) in [(1, "scale"), (2, "bias")] {
                let t = match op {
                    NnOp::GroupNorm { num_groups: g, per_group_affine: true, .. } => {
                        // One value per group, repeated over the group's channels.
                        let t = expanded(l, n, i, &[*g], what)?;
                        let o = l.p.arena(DType::F32, vec![c], format!("{}.{what}", n.name));
                        let dims = [*g, c / g];
                        copy(l, t, o, &dims, (0, &[1, 0]), (0, &contiguous(&dims)), &n.name);
                        o
                    }
                    _ => expanded(l, n, i, &[c], what)?,
                };
                params.push(Some(t));
            }
            let y = l.output(n, 0)?;
            let (code, attrs) = match groups {
                Some(g) => (OpCode::GroupNorm, encode::channel_norm(batch, c, Some(g), plane, *epsilon)),
                None => (OpCode::InstanceNorm, encode::channel_norm(batch, c, None, plane, *epsilon)),
            };
            l.p.step(code, vec![Some(x), params[0], params[1]], vec![y], attrs, &n.name);
        }
        NnOp::LpNorm { axis, p } => {
            if !matches!(p, 1 | 2) {
                bail!("LpNormalization p = {p} (1 or 2 only)");
            }
            let a = normalize_axis(*axis, xd.len()).map_err(|e| e.0)?;
            let y = l.output(n, 0)?;
            let attrs = encode::lp_norm(*p, xd[..a].iter().product(), xd[a], xd[a + 1..].iter().product());
            l.p.step(OpCode::LpNorm, vec![Some(x)], vec![y], attrs, &n.name);
        }
        NnOp::Lrn { alpha, beta, bias, size } => {
            let (batch, c, plane) = nc(&xd)?;
            if *size == 0 {
                bail!("LRN size must be positive");
            }
            let y = l.output(n, 0)?;
            let attrs = encode::lrn(batch, c, plane, *size, *alpha, *beta, *bias);
            l.p.step(OpCode::Lrn, vec![Some(x)], vec![y], attrs, &n.name);
        }
        NnOp::MeanVarianceNorm { axes } => mvn(l, n, x, &xd, axes)?,
        other => bail!("{other:?} is not a normalization"),
    }
    Ok(())
}

/// `(x - mean) / (sqrt(mean((x - mean)^2)) + 1e-9)` with statistics over `axes`.
fn mvn(l: &mut Lowerer<'_>, n: &Node, x: usize, xd: &[usize], axes: &[i64]) -> R<()> {
    if xd.len() > mote_format::MAX_RANK {
        bail!("rank {} is above the maximum {}", xd.len(), mote_format::MAX_RANK);
    }
    let mut reduced = vec![false; xd.len()];
    for &a in axes {
        reduced[normalize_axis(a, xd.len()).map_err(|e| e.0)?] = true;
    }
    let kept: Vec<usize> = xd.iter().zip(&reduced).map(|(&d, &r)| if r { 1 } else { d }).collect();
    let name = &n.name;
    let tmp = |l: &mut Lowerer<'_>, dims: &[usize], what: &str| {
        l.p.arena(DType::F32, dims.to_vec(), format!("{name}.{what}"))
    };
    let mean = tmp(l, &kept, "mean");
    l.p.step(OpCode::Reduce, vec![Some(x)], vec![mean], encode::reduce(Reduction::Mean, xd, &reduced), name);
    let dev = tmp(l, xd, "dev");
    emit_binary(l, BinaryCode::Sub, x, mean, dev, Act::NONE, name)?;
    let sq = tmp(l, xd, "sq");
    emit_binary(l, BinaryCode::Mul, dev, dev, sq, Act::NONE, name)?;
    let var = tmp(l, &kept, "var");
    l.p.step(OpCode::Reduce, vec![Some(sq)], vec![var], encode::reduce(Reduction::Mean, xd, &reduced), name);
    let (code, p0, p1) = UnaryCode::of(Unary::Sqrt).ok_or("Sqrt has no runtime kernel")?;
    let std = tmp(l, &kept, "std");
    l.p.step(OpCode::Unary, vec![Some(var)], vec![std], encode::unary(code, p0, p1), name);
    let eps = l.weight_f32(vec![], &[1e-9], &format!("{name}.eps"));
    let den = tmp(l, &kept, "den");
    emit_binary(l, BinaryCode::Add, std, eps, den, Act::NONE, name)?;
    let y = l.output(n, 0)?;
    emit_binary(l, BinaryCode::Div, dev, den, y, Act::NONE, name)
}
