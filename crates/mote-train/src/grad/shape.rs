//! Views and layout ops (Identity, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Pad),
//! and ReduceSum / ReduceMean / ReduceMax / ReduceMin.

use mote_ir::ops::reduce::{ReduceOp, Reduction};
use mote_ir::ops::shape::{PadMode, ShapeOp};

use super::{Ctx, broadcast, strides};

pub fn backward(op: &ShapeOp, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    match op {
        // Same elements in the same order: the gradient only changes shape.
        ShapeOp::Identity
        | ShapeOp::Reshape { .. }
        | ShapeOp::Flatten { .. }
        | ShapeOp::Squeeze
        | ShapeOp::Unsqueeze => Ok(vec![Some(gy.to_vec())]),
        ShapeOp::Transpose { perm } => {
            let (_, ys) = cx.output(0)?;
            let r = ys.len();
            let perm: Vec<usize> = perm.clone().unwrap_or_else(|| (0..r).rev().collect());
            // y[i] = x[perm-mapped i]: scatter gy back through the same mapping.
            let (_, xs) = cx.input(0)?;
            let xst = strides(xs);
            let src: Vec<usize> = perm.iter().map(|&p| xst[p]).collect();
            let mut gx = vec![0.0f32; gy.len()];
            let mut idx = vec![0usize; r];
            let mut off = 0usize;
            for &g in gy {
                gx[off] = g;
                for a in (0..r).rev() {
                    idx[a] += 1;
                    off += src[a];
                    if idx[a] < ys[a] {
                        break;
                    }
                    off -= src[a] * idx[a];
                    idx[a] = 0;
                }
            }
            Ok(vec![Some(gx)])
        }
        ShapeOp::Concat { axis } => {
            let (_, ys) = cx.output(0)?;
            let a = norm_axis(*axis, ys.len())?;
            let outer: usize = ys[..a].iter().product();
            let inner: usize = ys[a + 1..].iter().product();
            let mut start = 0;
            let mut out = Vec::new();
            for i in 0..cx.ins.len() {
                let (_, xs) = cx.input(i)?;
                let len = xs[a];
                let mut g = Vec::with_capacity(outer * len * inner);
                for o in 0..outer {
                    let base = (o * ys[a] + start) * inner;
                    g.extend_from_slice(&gy[base..base + len * inner]);
                }
                start += len;
                out.push(Some(g));
            }
            Ok(out)
        }
        ShapeOp::Pad { mode: PadMode::Constant } => {
            let (_, xs) = cx.input(0)?;
            let (_, ys) = cx.output(0)?;
            let pads = cx.ins.get(1).copied().flatten().ok_or("pads are missing")?;
            let pads = pads.to_i64_vec().map_err(|e| e.to_string())?;
            let r = xs.len();
            let axes: Vec<usize> = match cx.ins.get(3).copied().flatten() {
                Some(t) => t
                    .to_i64_vec()
                    .map_err(|e| e.to_string())?
                    .iter()
                    .map(|&a| norm_axis(a, r))
                    .collect::<Result<_, _>>()?,
                None => (0..r).collect(),
            };
            let mut begin = vec![0i64; r];
            for (k, &a) in axes.iter().enumerate() {
                begin[a] = pads[k];
            }
            if begin.iter().any(|&b| b < 0) {
                return Err("Pad gradients need non-negative pads".into());
            }
            let yst = strides(ys);
            let n: usize = xs.iter().product();
            let mut gx = Vec::with_capacity(n);
            let mut idx = vec![0usize; r];
            for _ in 0..n {
                let off: usize = (0..r).map(|a| (idx[a] + begin[a] as usize) * yst[a]).sum();
                gx.push(gy[off]);
                for a in (0..r).rev() {
                    idx[a] += 1;
                    if idx[a] < xs[a] {
                        break;
                    }
                    idx[a] = 0;
                }
            }
            Ok(vec![Some(gx)])
        }
        _ => Err("no backward rule for this op".into()),
    }
}

fn norm_axis(a: i64, r: usize) -> Result<usize, String> {
    let v = if a < 0 { a + r as i64 } else { a };
    usize::try_from(v).ok().filter(|&v| v < r).ok_or_else(|| format!("axis {a} is out of range for rank {r}"))
}

pub fn reduce_backward(op: &ReduceOp, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    let ReduceOp::Reduce { kind, noop_with_empty_axes, .. } = op else {
        return Err("no backward rule for this op".into());
    };
    let (x, xs) = cx.input(0)?;
    let r = xs.len();
    let axes: Vec<usize> = match cx.ins.get(1).copied().flatten() {
        Some(t) => {
            t.to_i64_vec().map_err(|e| e.to_string())?.iter().map(|&a| norm_axis(a, r)).collect::<Result<_, _>>()?
        }
        None => Vec::new(),
    };
    if axes.is_empty() && *noop_with_empty_axes {
        return Ok(vec![Some(gy.to_vec())]);
    }
    let reduced: Vec<bool> = (0..r).map(|a| axes.is_empty() || axes.contains(&a)).collect();
    // The output with every reduced dim kept as 1, broadcast back over the input.
    let kept: Vec<usize> = (0..r).map(|a| if reduced[a] { 1 } else { xs[a] }).collect();
    let g = broadcast(gy, &kept, xs);
    let count: usize = (0..r).filter(|&a| reduced[a]).map(|a| xs[a]).product();
    let gx = match kind {
        Reduction::Sum => g,
        Reduction::Mean => g.iter().map(|v| v / count as f32).collect(),
        Reduction::Max | Reduction::Min => {
            let (y, _) = cx.output(0)?;
            let yb = broadcast(y, &kept, xs);
            // Ties share the gradient equally, as the subgradient of a max over them.
            let hits: Vec<f32> = x.iter().zip(&yb).map(|(a, b)| f32::from(u8::from(a == b))).collect();
            let ones = broadcast(&reduce_sum(&hits, xs, &reduced), &kept, xs);
            hits.iter().zip(&g).zip(&ones).map(|((h, g), n)| h * g / n.max(1.0)).collect()
        }
        other => return Err(format!("no gradient for {}", other.name())),
    };
    Ok(vec![Some(gx), None])
}

/// Sum of `x` over the `reduced` dims (kept as size 1).
fn reduce_sum(x: &[f32], xs: &[usize], reduced: &[bool]) -> Vec<f32> {
    let r = xs.len();
    let kept: Vec<usize> = (0..r).map(|a| if reduced[a] { 1 } else { xs[a] }).collect();
    let kst = strides(&kept);
    let mut out = vec![0.0f32; kept.iter().product()];
    let mut idx = vec![0usize; r];
    for &v in x {
        let off: usize = (0..r).map(|a| if reduced[a] { 0 } else { idx[a] * kst[a] }).sum();
        out[off] += v;
        for a in (0..r).rev() {
            idx[a] += 1;
            if idx[a] < xs[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}
