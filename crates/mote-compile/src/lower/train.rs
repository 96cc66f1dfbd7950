//! Training-mode BatchNormalization (f32), from existing steps: the batch statistics by
//! `Reduce` (mean over N and the spatial axes; biased variance as the mean of squared
//! deviations), the per-channel factor `k = scale / sqrt(var + eps)` and shift
//! `bias - mean * k` by small `Binary`/`Unary` steps, then the inference `BatchNorm` step
//! `y = x * k + shift` (as the interpreter computes it), and the running statistics
//! `input * momentum + batch * (1 - momentum)`.

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::elementwise::Unary;
use mote_kernels::reference::reduce::Reduction;
use mote_rt::ops::{Act, BinaryCode, UnaryCode, encode};

use super::elementwise::{broadcast_strides, contiguous, emit_binary};
use super::{Lowerer, R, bail};

/// Lowers `BatchNormalization(x, scale, B, input_mean, input_var)` with `training_mode = 1`.
pub fn batch_norm(l: &mut Lowerer<'_>, n: &Node, epsilon: f32, momentum: f32) -> R<()> {
    let x = l.input(n, 0)?;
    let ps = (1..5).map(|i| l.input(n, i)).collect::<R<Vec<usize>>>()?;
    for &t in std::iter::once(&x).chain(&ps) {
        if l.p.tensors[t].dtype != DType::F32 {
            bail!("BatchNormalization on {} is not supported by the compiled path (f32 only)", l.p.tensors[t].dtype);
        }
    }
    let xd = l.p.tensors[x].dims.clone();
    if xd.len() < 2 {
        bail!("BatchNormalization needs X [N, C, ...], got {xd:?}");
    }
    let (batch, c, plane) = (xd[0], xd[1], xd[2..].iter().product::<usize>());
    if ps.iter().any(|&t| l.p.tensors[t].numel() != c) {
        bail!("BatchNormalization parameters must have {c} values");
    }
    if batch * plane == 0 {
        bail!("BatchNormalization statistics of an empty batch");
    }
    let name = n.name.as_str();
    let ps: Vec<usize> = ps.iter().map(|&t| l.p.alias(t, vec![c], format!("{name}.param"))).collect();
    let (scale, bias, in_mean, in_var) = (ps[0], ps[1], ps[2], ps[3]);
    let ncp = vec![batch, c, plane];
    let x3 = l.p.alias(x, ncp.clone(), format!("{name}.x"));
    let tmp = |l: &mut Lowerer<'_>, dims: &[usize], what: &str| {
        l.p.arena(DType::F32, dims.to_vec(), format!("{name}.{what}"))
    };
    let stats = [true, false, true];
    // Batch mean and biased variance per channel.
    let mean = tmp(l, &[c], "batch_mean");
    l.p.step(OpCode::Reduce, vec![Some(x3)], vec![mean], encode::reduce(Reduction::Mean, &ncp, &stats), name);
    let dev = tmp(l, &ncp, "dev");
    let per_c = broadcast_strides(&[c, 1], &ncp)?;
    let dense = contiguous(&ncp);
    let mean_c = l.p.alias(mean, vec![c, 1], format!("{name}.batch_mean_c"));
    let attrs = encode::binary(BinaryCode::Sub, &ncp, &dense, &per_c, &dense, Act::NONE);
    l.p.step(OpCode::Binary, vec![Some(x3), Some(mean_c)], vec![dev], attrs, name);
    let sq = tmp(l, &ncp, "sq");
    emit_binary(l, BinaryCode::Mul, dev, dev, sq, Act::NONE, name)?;
    let var = tmp(l, &[c], "batch_var");
    l.p.step(OpCode::Reduce, vec![Some(sq)], vec![var], encode::reduce(Reduction::Mean, &ncp, &stats), name);
    // k = scale / sqrt(var + eps), shift = bias - mean * k.
    let eps = l.weight_f32(vec![], &[epsilon], &format!("{name}.epsilon"));
    let ve = tmp(l, &[c], "var_eps");
    emit_binary(l, BinaryCode::Add, var, eps, ve, Act::NONE, name)?;
    let sd = tmp(l, &[c], "std");
    let (code, p0, p1) = UnaryCode::of(Unary::Sqrt).ok_or("Sqrt has no runtime kernel")?;
    l.p.step(OpCode::Unary, vec![Some(ve)], vec![sd], encode::unary(code, p0, p1), name);
    let k = tmp(l, &[c], "factor");
    emit_binary(l, BinaryCode::Div, scale, sd, k, Act::NONE, name)?;
    let mk = tmp(l, &[c], "mean_factor");
    emit_binary(l, BinaryCode::Mul, mean, k, mk, Act::NONE, name)?;
    let shift = tmp(l, &[c], "shift");
    emit_binary(l, BinaryCode::Sub, bias, mk, shift, Act::NONE, name)?;
    let y = l.output(n, 0)?;
    let y3 = l.p.alias(y, ncp.clone(), format!("{name}.y"));
    let attrs = encode::affine(batch, c, plane, Act::NONE);
    l.p.step(OpCode::BatchNorm, vec![Some(x3), Some(k), Some(shift)], vec![y3], attrs, name);
    // Running statistics.
    let keep = l.weight_f32(vec![], &[momentum], &format!("{name}.momentum"));
    let take = l.weight_f32(vec![], &[1.0 - momentum], &format!("{name}.one_minus_momentum"));
    for (i, input, cur) in [(1, in_mean, mean), (2, in_var, var)] {
        if n.outputs.get(i).copied().flatten().is_none() {
            continue;
        }
        let a = tmp(l, &[c], "run_old");
        emit_binary(l, BinaryCode::Mul, input, keep, a, Act::NONE, name)?;
        let b = tmp(l, &[c], "run_new");
        emit_binary(l, BinaryCode::Mul, cur, take, b, Act::NONE, name)?;
        let o = l.output(n, i)?;
        let o1 = l.p.alias(o, vec![c], format!("{name}.running"));
        emit_binary(l, BinaryCode::Add, a, b, o1, Act::NONE, name)?;
    }
    Ok(())
}
