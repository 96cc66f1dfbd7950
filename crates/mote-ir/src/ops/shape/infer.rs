//! Static inference for the shape family.
//!
//! Output shapes are computed when the shape-like inputs (Reshape's shape, Slice bounds, Pad's
//! pads...) are constant; dims that pass through unchanged keep their symbols; everything else is
//! `Dim::Unknown`. Errors are returned only for inputs that are certainly invalid.

use mote_core::DType;

use super::{ShapeOp, reshape_dims, shape_range, slice_axis, split_sizes};
use crate::infer::{InferCx, InferError, broadcast, normalize_axis};
use crate::infer_err;
use crate::types::{Dim, TensorType, ValueType};

type R = Result<Vec<ValueType>, InferError>;

fn tensor(dtype: Option<DType>, shape: Option<Vec<Dim>>) -> ValueType {
    ValueType::Tensor(TensorType { dtype, shape })
}

fn i64_tensor(shape: Vec<Dim>) -> ValueType {
    tensor(Some(DType::I64), Some(shape))
}

/// `Some(k)` when input `i` is known to be a 1-D tensor of length `k` (a shape-like input).
/// The length of 1-D input `i` (a shape or axes vector), when known and plausible as a rank:
/// a declared length of 2^40 must not make inference build a 2^40-dim shape.
fn vector_len(cx: &InferCx<'_>, i: usize) -> Option<usize> {
    match cx.shape(i) {
        Some([d]) => d.known().filter(|&n| n <= MAX_INFERRED_RANK),
        _ => None,
    }
}

/// Longest shape inference builds from a vector's length alone.
const MAX_INFERRED_RANK: usize = 1 << 12;

fn unknown_dims(n: usize) -> Vec<Dim> {
    vec![Dim::Unknown; n]
}

pub(super) fn infer(op: &ShapeOp, cx: &InferCx<'_>) -> R {
    let out = match op {
        ShapeOp::Identity => cx.opt(0).map(|f| f.ty.clone()).unwrap_or_default(),
        ShapeOp::Reshape { allowzero } => cx.like(0, reshape(cx, *allowzero)?),
        ShapeOp::Flatten { axis } => cx.like(0, flatten(cx, *axis)?),
        ShapeOp::Squeeze => cx.like(0, squeeze(cx)?),
        ShapeOp::Unsqueeze => cx.like(0, unsqueeze(cx)?),
        ShapeOp::Transpose { perm } => cx.like(0, transpose(cx, perm.as_deref())?),
        ShapeOp::Concat { axis } => concat(cx, *axis)?,
        ShapeOp::Split { axis } => return split(cx, *axis),
        ShapeOp::Slice => cx.like(0, slice(cx)?),
        ShapeOp::Gather { axis } => cx.like(0, gather(cx, *axis)?),
        ShapeOp::GatherElements { .. } => cx.like(0, cx.shape(1).map(<[Dim]>::to_vec)),
        ShapeOp::GatherND { batch_dims } => cx.like(0, gather_nd(cx, *batch_dims)?),
        ShapeOp::ScatterElements { .. } | ShapeOp::ScatterND { .. } => cx.same_as(0),
        ShapeOp::Expand => cx.like(0, expand(cx)?),
        ShapeOp::Tile => cx.like(0, tile(cx)?),
        ShapeOp::Pad { .. } => cx.like(0, pad(cx)?),
        ShapeOp::Shape { start, end } => {
            let len = cx.rank(0).map(|r| {
                let (s, e) = shape_range(*start, *end, r);
                Dim::Known(e - s)
            });
            i64_tensor(vec![len.unwrap_or(Dim::Unknown)])
        }
        ShapeOp::Size => i64_tensor(vec![]),
        ShapeOp::ConstantOfShape { value } => {
            let shape = match cx.const_i64s(0) {
                Some(s) if s.iter().any(|&d| d < 0) => return Err(infer_err!("negative dimension in shape {s:?}")),
                Some(s) => Some(s.iter().map(|&d| Dim::Known(d as usize)).collect()),
                None => vector_len(cx, 0).map(unknown_dims),
            };
            tensor(Some(value.dtype()), shape)
        }
        ShapeOp::Range { .. } => {
            // The length is the data of all three inputs: asking for them marks them as shape
            // operands; when all are known, folding gives the exact shape.
            let _ = (cx.value(0), cx.value(1), cx.value(2));
            cx.like(0, Some(vec![Dim::Unknown]))
        }
        ShapeOp::EyeLike { dtype, .. } => {
            if let Some(r) = cx.rank(0).filter(|&r| r != 2) {
                return Err(infer_err!("EyeLike needs a 2-D input, got rank {r}"));
            }
            tensor(dtype.or(cx.dtype(0)), cx.tensor(0).shape.clone())
        }
        ShapeOp::OneHot { axis } => cx.like(2, one_hot(cx, *axis)?),
        ShapeOp::Trilu { .. } | ShapeOp::ReverseSequence { .. } => cx.same_as(0),
        ShapeOp::Compress { axis } => {
            // A constant condition gives the length: its count of `true` (a `true` past the
            // axis is an evaluation error).
            let kept = cx.value(1).and_then(|t| t.typed::<bool>().ok()).map(|c| c.iter().filter(|&&b| b).count());
            let kept = kept.map_or(Dim::Unknown, Dim::Known);
            let shape = match axis {
                None => Some(vec![kept]),
                Some(a) => match cx.shape(0) {
                    Some(s) => {
                        let a = normalize_axis(*a, s.len())?;
                        let mut s = s.to_vec();
                        s[a] = kept;
                        Some(s)
                    }
                    None => None,
                },
            };
            cx.like(0, shape)
        }
        // A scalar counts as one axis, as in numpy and onnxruntime.
        ShapeOp::NonZero => {
            i64_tensor(vec![cx.rank(0).map(|r| Dim::Known(r.max(1))).unwrap_or(Dim::Unknown), Dim::Unknown])
        }
        ShapeOp::Unique { axis, .. } => return unique(cx, *axis),
        ShapeOp::DepthToSpace { blocksize, mode: _ } => cx.like(0, depth_space(cx, *blocksize, true)?),
        ShapeOp::SpaceToDepth { blocksize, mode: _ } => cx.like(0, depth_space(cx, *blocksize, false)?),
        ShapeOp::CenterCropPad { axes } => cx.like(0, center_crop_pad(cx, axes.as_deref())?),
        ShapeOp::BitCast { to } => tensor(Some(*to), cx.tensor(0).shape.clone()),
    };
    Ok(vec![out])
}

type Shape = Result<Option<Vec<Dim>>, InferError>;

fn reshape(cx: &InferCx<'_>, allowzero: bool) -> Shape {
    let Some(target) = cx.const_i64s(1) else {
        return Ok(vector_len(cx, 1).map(unknown_dims));
    };
    let input = cx.shape(0);
    if let Some(known) = cx.tensor(0).known_shape() {
        let dims = reshape_dims(&known, &target, allowzero).map_err(InferError)?;
        return Ok(Some(dims.into_iter().map(Dim::Known).collect()));
    }
    let mut out = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, &s) in target.iter().enumerate() {
        out.push(match s {
            -1 => {
                if infer_at.replace(i).is_some() {
                    return Err(infer_err!("shape {target:?} has more than one -1"));
                }
                Dim::Unknown
            }
            0 if !allowzero => match input {
                Some(d) => {
                    d.get(i).cloned().ok_or_else(|| infer_err!("shape {target:?} copies missing dimension {i}"))?
                }
                None => Dim::Unknown,
            },
            s if s < 0 => return Err(infer_err!("shape {target:?} has a negative dimension {s}")),
            s => Dim::Known(s as usize),
        });
    }
    if let (Some(i), Some(input)) = (infer_at, input) {
        let others: Vec<Dim> = out.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, d)| d.clone()).collect();
        out[i] = solve_quotient(input, &others);
    }
    Ok(Some(out))
}

/// The dim `x` with `prod(numer) == x * prod(denom)`, when it can be named: symbols that appear
/// on both sides cancel; what remains must be known, or one symbol over a matching constant.
fn solve_quotient(numer: &[Dim], denom: &[Dim]) -> Dim {
    let mut num: Vec<Dim> = numer.to_vec();
    let mut den: Vec<Dim> = Vec::new();
    for d in denom {
        match d {
            Dim::Sym(_) => match num.iter().position(|n| n == d) {
                Some(p) => {
                    num.remove(p);
                }
                None => den.push(d.clone()),
            },
            _ => den.push(d.clone()),
        }
    }
    let known = |v: &[Dim]| v.iter().map(Dim::known).try_fold(1usize, |a, d| a.checked_mul(d?));
    let Some(q) = known(&den) else { return Dim::Unknown };
    if q == 0 {
        return Dim::Unknown;
    }
    let syms: Vec<&Dim> = num.iter().filter(|d| d.known().is_none()).collect();
    let rest: Vec<Dim> = num.iter().filter(|d| d.known().is_some()).cloned().collect();
    let Some(p) = known(&rest) else { return Dim::Unknown };
    match syms.as_slice() {
        [] if p % q == 0 => Dim::Known(p / q),
        [s @ Dim::Sym(_)] if p == q => (*s).clone(),
        _ => Dim::Unknown,
    }
}

fn flatten(cx: &InferCx<'_>, axis: i64) -> Shape {
    let Some(s) = cx.shape(0) else { return Ok(None) };
    let r = s.len() as i64;
    if axis < -r || axis > r {
        return Err(infer_err!("Flatten axis {axis} is out of range for rank {r}"));
    }
    let a = if axis < 0 { axis + r } else { axis } as usize;
    let prod = |d: &[Dim]| d.iter().fold(Dim::Known(1), |acc, x| acc.mul(x));
    Ok(Some(vec![prod(&s[..a]), prod(&s[a..])]))
}

/// Normalizes `axes` against `rank`, rejecting repeats.
fn axes_of(axes: &[i64], rank: usize) -> Result<Vec<usize>, InferError> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = normalize_axis(a, rank)?;
        if out.contains(&a) {
            return Err(infer_err!("axis {a} is repeated in {axes:?}"));
        }
        out.push(a);
    }
    Ok(out)
}

fn squeeze(cx: &InferCx<'_>) -> Shape {
    let Some(s) = cx.shape(0) else { return Ok(None) };
    if cx.opt(1).is_none() {
        if s.iter().all(|d| d.known().is_some()) {
            return Ok(Some(s.iter().filter(|d| **d != Dim::Known(1)).cloned().collect()));
        }
        return Ok(None);
    }
    let Some(axes) = cx.const_i64s(1) else { return Ok(None) };
    let axes = axes_of(&axes, s.len())?;
    for &a in &axes {
        if let Dim::Known(d) = s[a]
            && d != 1
        {
            return Err(infer_err!("cannot squeeze axis {a} of size {d}"));
        }
    }
    Ok(Some(s.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, d)| d.clone()).collect()))
}

fn unsqueeze(cx: &InferCx<'_>) -> Shape {
    let (Some(s), Some(axes)) = (cx.shape(0), cx.const_i64s(1)) else {
        return Ok(match (cx.rank(0), vector_len(cx, 1)) {
            (Some(r), Some(n)) => Some(unknown_dims(r.saturating_add(n))),
            _ => None,
        });
    };
    let r = s.len() + axes.len();
    let axes = axes_of(&axes, r)?;
    let mut rest = s.iter();
    Ok(Some(
        (0..r)
            .map(|i| if axes.contains(&i) { Dim::Known(1) } else { rest.next().cloned().unwrap_or(Dim::Unknown) })
            .collect(),
    ))
}

fn transpose(cx: &InferCx<'_>, perm: Option<&[usize]>) -> Shape {
    let Some(s) = cx.shape(0) else { return Ok(None) };
    let r = s.len();
    let perm: Vec<usize> = perm.map(<[usize]>::to_vec).unwrap_or_else(|| (0..r).rev().collect());
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..r).collect::<Vec<_>>() {
        return Err(infer_err!("perm {perm:?} is not a permutation of the {r} axes"));
    }
    Ok(Some(perm.iter().map(|&p| s[p].clone()).collect()))
}

fn concat(cx: &InferCx<'_>, axis: i64) -> Result<ValueType, InferError> {
    let dtype = (0..cx.len()).find_map(|i| cx.dtype(i));
    let shapes: Vec<Option<&[Dim]>> = (0..cx.len()).map(|i| cx.shape(i)).collect();
    let Some(r) = shapes.iter().flatten().map(|s| s.len()).next() else { return Ok(tensor(dtype, None)) };
    if let Some(s) = shapes.iter().flatten().find(|s| s.len() != r) {
        return Err(infer_err!("Concat inputs have ranks {r} and {}", s.len()));
    }
    let a = normalize_axis(axis, r)?;
    let mut out = unknown_dims(r);
    for (k, d) in out.iter_mut().enumerate() {
        if k == a {
            *d = shapes.iter().try_fold(Dim::Known(0), |acc, s| s.map(|s| acc.add(&s[k]))).unwrap_or(Dim::Unknown);
        } else {
            let dims = shapes.iter().flatten().map(|s| &s[k]);
            *d = dims
                .clone()
                .find(|d| d.known().is_some())
                .or_else(|| dims.clone().find(|d| **d != Dim::Unknown))
                .cloned()
                .unwrap_or(Dim::Unknown);
        }
    }
    Ok(tensor(dtype, Some(out)))
}

fn split(cx: &InferCx<'_>, axis: i64) -> R {
    let n = cx.num_outputs;
    let Some(s) = cx.shape(0) else { return Ok(vec![cx.like(0, None); n]) };
    let a = normalize_axis(axis, s.len())?;
    let sizes: Option<Vec<usize>> = if cx.opt(1).is_some() {
        match cx.const_i64s(1) {
            Some(v) if v.len() != n => return Err(infer_err!("split {v:?} has {} sizes for {n} outputs", v.len())),
            Some(v) if v.iter().any(|&x| x < 0) => return Err(infer_err!("split {v:?} has a negative size")),
            Some(v) => Some(v.iter().map(|&x| x as usize).collect()),
            None => None,
        }
    } else {
        s[a].known().and_then(|d| split_sizes(d, n))
    };
    if let (Some(sz), Some(d)) = (&sizes, s[a].known())
        && sz.iter().try_fold(0usize, |a, &s| a.checked_add(s)) != Some(d)
    {
        return Err(infer_err!("split sizes {sz:?} do not add up to dimension {d}"));
    }
    Ok((0..n)
        .map(|i| {
            let mut o = s.to_vec();
            o[a] = match &sizes {
                Some(sz) => Dim::Known(sz[i]),
                None if n == 1 => s[a].clone(),
                None => Dim::Unknown,
            };
            cx.like(0, Some(o))
        })
        .collect())
}

fn slice(cx: &InferCx<'_>) -> Shape {
    let Some(s) = cx.shape(0) else { return Ok(None) };
    let r = s.len();
    let consts = (cx.const_i64s(1), cx.const_i64s(2));
    let axes =
        if cx.opt(3).is_some() { cx.const_i64s(3) } else { consts.0.as_ref().map(|v| (0..v.len() as i64).collect()) };
    let steps = if cx.opt(4).is_some() { cx.const_i64s(4) } else { consts.0.as_ref().map(|v| vec![1; v.len()]) };
    let (Some(starts), Some(ends), Some(axes), Some(steps)) = (consts.0, consts.1, axes, steps) else {
        return Ok(Some(unknown_dims(r)));
    };
    let n = starts.len();
    if ends.len() != n || axes.len() != n || steps.len() != n {
        return Err(infer_err!("Slice needs starts, ends, axes and steps of one length"));
    }
    let axes = axes_of(&axes, r)?;
    let mut out = s.to_vec();
    for (i, &a) in axes.iter().enumerate() {
        if steps[i] == 0 {
            return Err(infer_err!("Slice step is 0"));
        }
        out[a] = match s[a].known() {
            Some(d) => Dim::Known(slice_axis(starts[i], ends[i], steps[i], d).1),
            // The whole axis keeps the dim, whatever it is.
            None if starts[i] == 0 && ends[i] >= i32::MAX as i64 && steps[i] == 1 => s[a].clone(),
            None => Dim::Unknown,
        };
    }
    Ok(Some(out))
}

fn gather(cx: &InferCx<'_>, axis: i64) -> Shape {
    let (Some(d), Some(i)) = (cx.shape(0), cx.shape(1)) else { return Ok(None) };
    let a = normalize_axis(axis, d.len())?;
    Ok(Some(d[..a].iter().chain(i).chain(&d[a + 1..]).cloned().collect()))
}

fn gather_nd(cx: &InferCx<'_>, b: usize) -> Shape {
    let (Some(d), Some(i)) = (cx.shape(0), cx.shape(1)) else { return Ok(None) };
    let (r, q) = (d.len(), i.len());
    if r == 0 || q == 0 || b >= r.min(q) {
        return Err(infer_err!("GatherND needs ranks >= 1 and batch_dims < min(ranks), got {r}, {q} and {b}"));
    }
    let Some(k) = i[q - 1].known() else { return Ok(None) };
    if k < 1 || k > r - b {
        return Err(infer_err!("GatherND index tuples of length {k} do not fit data rank {r} with {b} batch dims"));
    }
    Ok(Some(i[..q - 1].iter().chain(&d[b + k..]).cloned().collect()))
}

fn expand(cx: &InferCx<'_>) -> Shape {
    let Some(s) = cx.shape(0) else { return Ok(None) };
    match cx.const_i64s(1) {
        Some(t) => {
            if t.iter().any(|&x| x < 0) {
                return Err(infer_err!("Expand shape {t:?} has a negative dimension"));
            }
            let t: Vec<Dim> = t.iter().map(|&x| Dim::Known(x as usize)).collect();
            Ok(Some(broadcast(s, &t)?))
        }
        None => Ok(vector_len(cx, 1).map(|k| unknown_dims(k.max(s.len())))),
    }
}

fn tile(cx: &InferCx<'_>) -> Shape {
    let Some(s) = cx.shape(0) else { return Ok(None) };
    let Some(rep) = cx.const_i64s(1) else { return Ok(Some(unknown_dims(s.len()))) };
    if rep.len() != s.len() || rep.iter().any(|&x| x < 0) {
        return Err(infer_err!("Tile repeats {rep:?} must be {} non-negative counts", s.len()));
    }
    Ok(Some(s.iter().zip(&rep).map(|(d, &k)| d.mul(&Dim::Known(k as usize))).collect()))
}

fn pad(cx: &InferCx<'_>) -> Shape {
    let Some(s) = cx.shape(0) else { return Ok(None) };
    let r = s.len();
    let axes = if cx.opt(3).is_some() { cx.const_i64s(3) } else { Some((0..r as i64).collect()) };
    let (Some(pads), Some(axes)) = (cx.const_i64s(1), axes) else { return Ok(Some(unknown_dims(r))) };
    let axes = axes_of(&axes, r)?;
    let n = axes.len();
    if pads.len() != 2 * n {
        return Err(infer_err!("Pad needs {} pads for {n} axes, got {}", 2 * n, pads.len()));
    }
    let mut out = s.to_vec();
    for (i, &a) in axes.iter().enumerate() {
        let extra = pads[i] as i128 + pads[n + i] as i128;
        out[a] = match &s[a] {
            _ if extra == 0 => s[a].clone(),
            Dim::Known(d) => {
                let v = *d as i128 + extra;
                if v < 0 {
                    return Err(infer_err!("Pad crops axis {a} of size {d} below zero"));
                }
                Dim::Known(v as usize)
            }
            _ => Dim::Unknown,
        };
    }
    Ok(Some(out))
}

fn one_hot(cx: &InferCx<'_>, axis: i64) -> Shape {
    let Some(s) = cx.shape(0) else { return Ok(None) };
    let r = s.len() + 1;
    let a = normalize_axis(axis, r)?;
    let depth = match cx.value(1).and_then(|t| t.scalar_f64().ok()) {
        Some(d) if d >= 0.0 && d.is_finite() => Dim::Known(d as usize),
        _ => Dim::Unknown,
    };
    let mut out = s.to_vec();
    out.insert(a, depth);
    Ok(Some(out))
}

fn unique(cx: &InferCx<'_>, axis: Option<i64>) -> R {
    let s = cx.shape(0);
    let (y, inverse) = match (axis, s) {
        (None, _) => (Some(vec![Dim::Unknown]), cx.tensor(0).numel().unwrap_or(Dim::Unknown)),
        (Some(a), Some(s)) => {
            let a = normalize_axis(a, s.len())?;
            let mut y = s.to_vec();
            y[a] = Dim::Unknown;
            (Some(y), s[a].clone())
        }
        (Some(_), None) => (None, Dim::Unknown),
    };
    let v =
        vec![cx.like(0, y), i64_tensor(vec![Dim::Unknown]), i64_tensor(vec![inverse]), i64_tensor(vec![Dim::Unknown])];
    Ok(v.into_iter().take(cx.num_outputs.max(1)).collect())
}

/// DepthToSpace (`to_space`) or SpaceToDepth output dims of an NCHW input.
fn depth_space(cx: &InferCx<'_>, bs: usize, to_space: bool) -> Shape {
    let Some(s) = cx.shape(0) else { return Ok(None) };
    let [n, c, h, w] = s else { return Err(infer_err!("needs a 4-D NCHW input, got rank {}", s.len())) };
    if bs == 0 {
        return Err(infer_err!("blocksize must be positive"));
    }
    let bb_value = bs.checked_mul(bs);
    let bb = bb_value.map_or(Dim::Unknown, Dim::Known);
    let div = |d: &Dim, by: usize| -> Result<Dim, InferError> {
        match d.known() {
            Some(x) if x % by != 0 => Err(infer_err!("dimension {x} is not a multiple of {by}")),
            Some(x) => Ok(Dim::Known(x / by)),
            None => Ok(Dim::Unknown),
        }
    };
    let bsd = Dim::Known(bs);
    Ok(Some(if to_space {
        let bb = bb_value.ok_or_else(|| infer_err!("blocksize {bs} is too large"))?;
        vec![n.clone(), div(c, bb)?, h.mul(&bsd), w.mul(&bsd)]
    } else {
        vec![n.clone(), c.mul(&bb), div(h, bs)?, div(w, bs)?]
    }))
}

fn center_crop_pad(cx: &InferCx<'_>, axes: Option<&[i64]>) -> Shape {
    let Some(s) = cx.shape(0) else { return Ok(None) };
    let r = s.len();
    let axes = match axes {
        Some(a) => axes_of(a, r)?,
        None => (0..r).collect(),
    };
    let mut out = s.to_vec();
    match cx.const_i64s(1) {
        Some(t) => {
            if t.len() != axes.len() || t.iter().any(|&x| x < 0) {
                return Err(infer_err!("CenterCropPad shape {t:?} must hold {} non-negative sizes", axes.len()));
            }
            for (&a, &x) in axes.iter().zip(&t) {
                out[a] = Dim::Known(x as usize);
            }
        }
        None => axes.iter().for_each(|&a| out[a] = Dim::Unknown),
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::Fact;
    use crate::tensor::Tensor;

    fn sym(s: &str) -> Dim {
        Dim::Sym(s.into())
    }

    fn fact(shape: Vec<Dim>) -> Option<Fact> {
        Some(Fact::of_type(ValueType::tensor(DType::F32, shape)))
    }

    fn ints(v: &[i64]) -> Option<Fact> {
        Some(Fact::of_value(Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()))
    }

    fn run(op: ShapeOp, inputs: Vec<Option<Fact>>) -> Vec<Dim> {
        let cx = InferCx::new(&inputs, 1);
        infer(&op, &cx).unwrap()[0].as_tensor().unwrap().shape.clone().unwrap()
    }

    #[test]
    fn reshape_keeps_symbols() {
        let x = fact(vec![sym("N"), Dim::Known(3), Dim::Known(4)]);
        let op = ShapeOp::Reshape { allowzero: false };
        assert_eq!(run(op.clone(), vec![x.clone(), ints(&[0, -1])]), vec![sym("N"), Dim::Known(12)]);
        assert_eq!(run(op.clone(), vec![x.clone(), ints(&[-1, 12])]), vec![sym("N"), Dim::Known(12)]);
        assert_eq!(run(op, vec![x, ints(&[-1, 2])]), vec![Dim::Unknown, Dim::Known(2)]);
    }

    #[test]
    fn slice_and_pad_with_constants() {
        let x = fact(vec![sym("N"), Dim::Known(10)]);
        let sl = run(ShapeOp::Slice, vec![x.clone(), ints(&[0, 2]), ints(&[i64::MAX, -1]), None, None]);
        assert_eq!(sl, vec![sym("N"), Dim::Known(7)]);
        let p = run(ShapeOp::Pad { mode: super::super::PadMode::Constant }, vec![x, ints(&[0, 1, 0, -3])]);
        assert_eq!(p, vec![sym("N"), Dim::Known(8)]);
    }

    #[test]
    fn concat_sums_and_unsqueeze_inserts() {
        let a = fact(vec![sym("N"), Dim::Known(2)]);
        let b = fact(vec![Dim::Unknown, Dim::Known(3)]);
        assert_eq!(run(ShapeOp::Concat { axis: -1 }, vec![a.clone(), b]), vec![sym("N"), Dim::Known(5)]);
        let u = run(ShapeOp::Unsqueeze, vec![a, ints(&[0, -1])]);
        assert_eq!(u, vec![Dim::Known(1), sym("N"), Dim::Known(2), Dim::Known(1)]);
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let x = fact(vec![Dim::Known(2), Dim::Known(3)]);
        let cx_in = vec![x.clone(), ints(&[4, -1])];
        assert!(infer(&ShapeOp::Reshape { allowzero: false }, &InferCx::new(&cx_in, 1)).is_err());
        let sq = vec![x, ints(&[0])];
        assert!(infer(&ShapeOp::Squeeze, &InferCx::new(&sq, 1)).is_err());
    }
}
