//! Static inference and MAC counts of the nn ops.

use mote_core::DType;

use super::{ConvTransposeAttrs, Label, NnOp, PoolKind, axis_of, layer_norm_stat_dtype, matmul_shape, tensor};
use crate::infer::{InferCx, InferError};
use crate::infer_err;
use crate::types::{Dim, ValueType};

/// The spatial kernel: the attribute if given, else the weight's known trailing dims.
fn kernel_of(attr: &Option<Vec<usize>>, w: Option<&[Dim]>) -> Option<Vec<usize>> {
    match attr {
        Some(k) => Some(k.clone()),
        None => w.filter(|w| w.len() >= 2).and_then(|w| w[2..].iter().map(Dim::known).collect()),
    }
}

/// `[N, C, spatial...]` input check; returns the rank.
fn spatial_rank(cx: &InferCx<'_>, what: &str) -> Result<Option<usize>, InferError> {
    match cx.rank(0) {
        Some(r) if r < 2 => Err(infer_err!("{what}: input must have rank >= 2, got {r}")),
        r => Ok(r),
    }
}

pub(super) fn infer(op: &NnOp, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
    let dt = cx.dtype(0);
    let x = cx.shape(0);
    let same = || cx.same_as(0);
    Ok(match op {
        NnOp::Conv(a) => vec![conv_like(cx, &a.window)?],
        NnOp::DeformConv(a) => vec![conv_like(cx, &a.window)?],
        NnOp::ConvTranspose(a) => vec![conv_transpose(cx, a)?],
        NnOp::Col2Im(_) => {
            let (Some(x), Some(img), Some(block)) = (x, cx.const_i64s(1), cx.const_i64s(2)) else {
                return Ok(vec![tensor(dt, None)]);
            };
            if x.len() != 3 {
                return Err(infer_err!("Col2Im: input must be [N, C*prod(block), L], got rank {}", x.len()));
            }
            let block_prod = block.iter().try_fold(1i64, |a, &b| a.checked_mul(b)).unwrap_or(0);
            let c = match &x[1] {
                Dim::Known(cb) if block_prod > 0 => Dim::Known(*cb / block_prod as usize),
                _ => Dim::Unknown,
            };
            let mut out = vec![x[0].clone(), c];
            out.extend(img.iter().map(|&d| Dim::Known(d.max(0) as usize)));
            vec![tensor(dt, Some(out))]
        }
        NnOp::Pool(p) => {
            let shape = match (spatial_rank(cx, "pool")?, x, &p.window.kernel_shape) {
                (Some(_), Some(x), Some(k)) => {
                    let mut out = vec![x[0].clone(), x[1].clone()];
                    out.extend(p.window.infer_out(&x[2..], k)?);
                    Some(out)
                }
                _ => None,
            };
            let mut v = vec![tensor(dt, shape.clone())];
            if matches!(p.kind, PoolKind::Max { .. }) && cx.num_outputs > 1 {
                v.push(tensor(Some(DType::I64), shape));
            }
            v
        }
        NnOp::GlobalPool(_) => {
            spatial_rank(cx, "global pool")?;
            let shape = x.map(|x| {
                let mut out = x[..2].to_vec();
                out.extend(std::iter::repeat_n(Dim::Known(1), x.len() - 2));
                out
            });
            vec![tensor(dt, shape)]
        }
        NnOp::MaxUnpool(w) => {
            let shape = match (x, cx.const_i64s(2), &w.kernel_shape) {
                (Some(_), Some(s), _) => Some(s.iter().map(|&d| Dim::Known(d.max(0) as usize)).collect()),
                (Some(x), None, Some(k)) if cx.opt(2).is_none() && x.len() >= 2 => {
                    let r = x.len() - 2;
                    w.check(r, k)?;
                    let mut out = x[..2].to_vec();
                    for (i, d) in x[2..].iter().enumerate() {
                        out.push(match d {
                            Dim::Known(n) => {
                                let full = (n.max(&1) - 1).checked_mul(w.stride(i)).and_then(|f| f.checked_add(k[i]));
                                let pads = w
                                    .pads
                                    .get(i)
                                    .copied()
                                    .unwrap_or(0)
                                    .checked_add(w.pads.get(i + r).copied().unwrap_or(0));
                                let o = full.zip(pads).and_then(|(f, p)| f.checked_sub(p));
                                Dim::Known(o.ok_or_else(|| infer_err!("MaxUnpool: pads too large, or overflow"))?)
                            }
                            _ => Dim::Unknown,
                        });
                    }
                    Some(out)
                }
                _ => None,
            };
            vec![tensor(dt, shape)]
        }
        NnOp::BatchNorm { training, .. } => {
            let mut v = vec![same()];
            if *training {
                for i in [3, 4] {
                    v.push(tensor(cx.dtype(i), cx.shape(i).map(|s| s.to_vec())));
                }
            }
            v
        }
        NnOp::InstanceNorm { .. }
        | NnOp::GroupNorm { .. }
        | NnOp::Lrn { .. }
        | NnOp::LpNorm { .. }
        | NnOp::MeanVarianceNorm { .. }
        | NnOp::Softmax(_) => {
            vec![same()]
        }
        NnOp::RmsNorm { .. } => vec![tensor(cx.dtype(1), x.map(|s| s.to_vec()))],
        NnOp::LayerNorm { axis, .. } => {
            let stat = x
                .map(|x| -> Result<Vec<Dim>, InferError> {
                    let a = axis_of(*axis, x.len())?;
                    let mut s = x[..a].to_vec();
                    s.extend(std::iter::repeat_n(Dim::Known(1), x.len() - a));
                    Ok(s)
                })
                .transpose()?;
            let sd = dt.map(layer_norm_stat_dtype);
            vec![same(), tensor(sd, stat.clone()), tensor(sd, stat)]
        }
        NnOp::Gemm { trans_a, trans_b, .. } => {
            let pick = |i: usize, t: bool| -> Result<Option<(Dim, Dim)>, InferError> {
                match cx.shape(i) {
                    Some([r, c]) => Ok(Some(if t { (c.clone(), r.clone()) } else { (r.clone(), c.clone()) })),
                    Some(s) => Err(infer_err!("Gemm: input {i} must be 2-D, got rank {}", s.len())),
                    None => Ok(None),
                }
            };
            let (a, b) = (pick(0, *trans_a)?, pick(1, *trans_b)?);
            if let (Some((_, Dim::Known(k1))), Some((Dim::Known(k2), _))) = (&a, &b)
                && k1 != k2
            {
                return Err(infer_err!("Gemm: inner dimensions differ ({k1} vs {k2})"));
            }
            let m = a.map(|a| a.0).unwrap_or(Dim::Unknown);
            let n = b.map(|b| b.1).unwrap_or(Dim::Unknown);
            vec![tensor(dt, Some(vec![m, n]))]
        }
        NnOp::MatMul => {
            let shape = match (x, cx.shape(1)) {
                (Some(a), Some(b)) => Some(matmul_shape(a, b)?),
                _ => None,
            };
            vec![tensor(dt, shape)]
        }
        NnOp::Einsum(eq) => {
            if eq.inputs.len() != cx.len() {
                return Err(infer_err!("Einsum: equation has {} inputs, got {}", eq.inputs.len(), cx.len()));
            }
            vec![tensor(dt, einsum_shape(eq, cx)?)]
        }
        NnOp::Dropout { .. } => {
            let mut v = vec![same()];
            if cx.num_outputs > 1 {
                v.push(tensor(Some(DType::Bool), x.map(|s| s.to_vec())));
            }
            v
        }
        NnOp::Det => {
            let shape = match x {
                Some(s) if s.len() < 2 => return Err(infer_err!("Det: input must have rank >= 2")),
                Some(s) => Some(s[..s.len() - 2].to_vec()),
                None => None,
            };
            vec![tensor(dt, shape)]
        }
    })
}

/// Output type of Conv / DeformConv: `[N, M, out...]`.
fn conv_like(cx: &InferCx<'_>, w: &super::Window) -> Result<ValueType, InferError> {
    let dt = cx.dtype(0);
    let (Some(x), Some(wt)) = (cx.shape(0), cx.shape(1)) else {
        return Ok(tensor(dt, cx.rank(0).map(|r| vec![Dim::Unknown; r])));
    };
    if x.len() < 3 || wt.len() != x.len() {
        return Err(infer_err!("X (rank {}) and W (rank {}) must have the same rank >= 3", x.len(), wt.len()));
    }
    let mut out = vec![x[0].clone(), wt[0].clone()];
    match kernel_of(&w.kernel_shape, Some(wt)) {
        Some(k) => out.extend(w.infer_out(&x[2..], &k)?),
        None => out.extend(vec![Dim::Unknown; x.len() - 2]),
    }
    Ok(tensor(dt, Some(out)))
}

fn conv_transpose(cx: &InferCx<'_>, a: &ConvTransposeAttrs) -> Result<ValueType, InferError> {
    let dt = cx.dtype(0);
    let (Some(x), Some(wt)) = (cx.shape(0), cx.shape(1)) else {
        return Ok(tensor(dt, cx.rank(0).map(|r| vec![Dim::Unknown; r])));
    };
    if x.len() < 3 || wt.len() != x.len() {
        return Err(infer_err!("X (rank {}) and W (rank {}) must have the same rank >= 3", x.len(), wt.len()));
    }
    let r = x.len() - 2;
    let m = wt[1].mul(&Dim::Known(a.group));
    let mut out = vec![x[0].clone(), m];
    let Some(k) = kernel_of(&a.window.kernel_shape, Some(wt)) else {
        out.extend(vec![Dim::Unknown; r]);
        return Ok(tensor(dt, Some(out)));
    };
    a.window.check(r, &k)?;
    // `output_shape` lists the spatial dims, possibly after N and C (as evaluation reads it).
    let spatial_out = a.output_shape.as_deref().map(|s| &s[s.len().saturating_sub(r)..]);
    if let Some(s) = spatial_out
        && s.len() != r
    {
        return Err(infer_err!("ConvTranspose: output_shape has {} values for {r} spatial dims", s.len()));
    }
    for i in 0..r {
        let os = spatial_out.map(|s| s[i]);
        out.push(match &x[i + 2] {
            Dim::Known(n) => {
                let op = a.output_padding.get(i).copied().unwrap_or(0);
                Dim::Known(a.window.transpose_axis(i, r, *n, k[i], op, os)?.2)
            }
            _ if os.is_some() => Dim::Known(os.unwrap_or(0)),
            _ => Dim::Unknown,
        });
    }
    Ok(tensor(dt, Some(out)))
}

fn einsum_shape(eq: &super::Equation, cx: &InferCx<'_>) -> Result<Option<Vec<Dim>>, InferError> {
    let mut sizes: Vec<(u8, Dim)> = Vec::new();
    let mut ell: Option<Vec<Dim>> = Some(Vec::new());
    for (i, term) in eq.inputs.iter().enumerate() {
        let Some(s) = cx.shape(i) else { return Ok(None) };
        let er = eq.ellipsis_rank(i, s.len())?;
        let mut k = 0;
        for l in term {
            match l {
                Label::Ellipsis => {
                    ell = match ell {
                        Some(e) => Some(crate::infer::broadcast(&e, &s[k..k + er])?),
                        None => None,
                    };
                    k += er;
                }
                Label::Letter(c) => {
                    match sizes.iter_mut().find(|(d, _)| d == c) {
                        Some((_, d)) => {
                            if let (Dim::Known(p), Dim::Known(q)) = (&*d, &s[k]) {
                                if p != q && *p != 1 && *q != 1 {
                                    return Err(infer_err!("Einsum: subscript {} is {p} and {q}", *c as char));
                                }
                                if *p == 1 {
                                    *d = s[k].clone();
                                }
                            } else if !matches!(d, Dim::Known(_)) {
                                *d = s[k].clone();
                            }
                        }
                        None => sizes.push((*c, s[k].clone())),
                    }
                    k += 1;
                }
            }
        }
    }
    let mut out = Vec::new();
    for l in &eq.output {
        match l {
            Label::Ellipsis => out.extend(ell.clone().unwrap_or_default()),
            Label::Letter(c) => {
                out.push(sizes.iter().find(|(d, _)| d == c).map(|(_, s)| s.clone()).unwrap_or(Dim::Unknown))
            }
        }
    }
    Ok(Some(out))
}

fn known(cx: &InferCx<'_>, i: usize) -> Option<Vec<usize>> {
    cx.tensor(i).known_shape()
}

fn out_known(outputs: &[ValueType]) -> Option<Vec<usize>> {
    outputs.first()?.as_tensor()?.known_shape()
}

fn prod(v: &[usize]) -> Option<u64> {
    v.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64))
}

pub(super) fn macs(op: &NnOp, cx: &InferCx<'_>, outputs: &[ValueType]) -> Option<u64> {
    match op {
        NnOp::Conv(_) | NnOp::DeformConv(_) => {
            // Every output element takes C/group * prod(k) MACs: W's numel / M.
            let (w, y) = (known(cx, 1)?, out_known(outputs)?);
            prod(&y)?.checked_mul(prod(w.get(1..)?)?)
        }
        NnOp::ConvTranspose(_) => {
            // Every input element is scattered into M/group * prod(k) outputs.
            let (x, w) = (known(cx, 0)?, known(cx, 1)?);
            prod(&x)?.checked_mul(prod(w.get(1..)?)?)
        }
        NnOp::Gemm { trans_a, .. } => {
            let (a, y) = (known(cx, 0)?, out_known(outputs)?);
            let k = if *trans_a { a.first()? } else { a.get(1)? };
            prod(&y)?.checked_mul(*k as u64)
        }
        NnOp::MatMul => {
            let (a, y) = (known(cx, 0)?, out_known(outputs)?);
            prod(&y)?.checked_mul(*a.last()? as u64)
        }
        NnOp::Einsum(eq) => {
            // One multiply-add per combination of subscript values. Keys: letters, and
            // ellipsis axes by their position from the right.
            let mut sizes: Vec<((u8, usize), usize)> = Vec::new();
            for i in 0..eq.inputs.len() {
                let shape = known(cx, i)?;
                let er = eq.ellipsis_rank(i, shape.len()).ok()?;
                let mut k = 0;
                for l in &eq.inputs[i] {
                    let keys: Vec<(u8, usize)> = match l {
                        Label::Letter(c) => vec![(*c, 0)],
                        Label::Ellipsis => (0..er).map(|j| (b'.', er - j)).collect(),
                    };
                    for key in keys {
                        let dim = *shape.get(k)?;
                        match sizes.iter_mut().find(|(q, _)| *q == key) {
                            Some((_, d)) => *d = (*d).max(dim),
                            None => sizes.push((key, dim)),
                        }
                        k += 1;
                    }
                }
            }
            sizes.iter().try_fold(1u64, |a, &(_, d)| a.checked_mul(d as u64))
        }
        _ => None,
    }
}
