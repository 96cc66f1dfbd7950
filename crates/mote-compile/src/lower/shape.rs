//! Shape ops: views become aliases; data movement becomes strided copies (the output's dims are
//! known, so every copy is one walk with precomputed strides).

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::infer::normalize_axis;
use mote_ir::ops::shape::{PadMode, ShapeOp, slice_axis};
use mote_rt::ops::encode;

use super::elementwise::{broadcast_strides, contiguous};
use super::fuse::is_view;
use super::{Lowerer, R, bail, tensor_bytes};

/// Constant integer input `i`, if present.
fn ints(l: &Lowerer<'_>, n: &Node, i: usize, what: &str) -> R<Option<Vec<i64>>> {
    match n.input(i) {
        None => Ok(None),
        Some(v) => {
            let t = l.konst(v).ok_or_else(|| format!("{what} must be constant to compile"))?;
            Ok(Some(t.to_i64_vec().map_err(|e| format!("{what}: {e}"))?))
        }
    }
}

fn axis(a: i64, r: usize) -> R<usize> {
    normalize_axis(a, r).map_err(|e| e.0)
}

/// Emits a copy from `x` to `y`.
pub fn copy(
    l: &mut Lowerer<'_>,
    x: usize,
    y: usize,
    dims: &[usize],
    src: (usize, &[isize]),
    dst: (usize, &[isize]),
    name: &str,
) {
    let attrs = encode::copy(src.0, dst.0, dims, src.1, dst.1);
    l.p.step(OpCode::Copy, vec![Some(x)], vec![y], attrs, name);
}

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &ShapeOp) -> R<()> {
    if is_view(&mote_ir::Op::Shape(op.clone())) {
        let x = l.input(n, 0)?;
        let (dtype, dims) = l.value_shape(n.outputs[0].ok_or("output 0 is missing")?)?;
        if let ShapeOp::BitCast { .. } = op {
            super::select::check_bit_cast(l.p.tensors[x].dtype, dtype)?;
        }
        let t = l.p.alias(x, dims, l.g.value(n.outputs[0].ok_or("")?).name.clone());
        l.p.tensors[t].dtype = dtype;
        return l.bind(n, 0, t);
    }
    match op {
        ShapeOp::Transpose { perm } => {
            let x = l.input(n, 0)?;
            let xd = l.p.tensors[x].dims.clone();
            let r = xd.len();
            let perm: Vec<usize> = perm.clone().unwrap_or_else(|| (0..r).rev().collect());
            let y = l.output(n, 0)?;
            let yd = l.p.tensors[y].dims.clone();
            let xs = contiguous(&xd);
            let src: Vec<isize> = perm.iter().map(|&p| xs[p]).collect();
            copy(l, x, y, &yd, (0, &src), (0, &contiguous(&yd)), &n.name);
        }
        ShapeOp::Concat { axis: a } => {
            let y = l.output(n, 0)?;
            let yd = l.p.tensors[y].dims.clone();
            let a = axis(*a, yd.len())?;
            let ys = contiguous(&yd);
            let mut at = 0usize;
            for i in 0..n.inputs.len() {
                if n.input(i).is_none() {
                    continue;
                }
                let x = l.input(n, i)?;
                let xd = l.p.tensors[x].dims.clone();
                copy(l, x, y, &xd, (0, &contiguous(&xd)), (at * ys[a] as usize, &ys), &n.name);
                at += xd[a];
            }
        }
        ShapeOp::Split { axis: a } => {
            let x = l.input(n, 0)?;
            let xd = l.p.tensors[x].dims.clone();
            let a = axis(*a, xd.len())?;
            let xs = contiguous(&xd);
            let mut at = 0usize;
            for k in 0..n.outputs.len() {
                if n.outputs[k].is_none() {
                    continue;
                }
                let y = l.output(n, k)?;
                let yd = l.p.tensors[y].dims.clone();
                copy(l, x, y, &yd, (at * xs[a] as usize, &xs), (0, &contiguous(&yd)), &n.name);
                at += yd[a];
            }
        }
        ShapeOp::Slice => {
            let x = l.input(n, 0)?;
            let xd = l.p.tensors[x].dims.clone();
            let r = xd.len();
            let starts = ints(l, n, 1, "Slice starts")?.ok_or("Slice starts are missing")?;
            let ends = ints(l, n, 2, "Slice ends")?.ok_or("Slice ends are missing")?;
            let axes = ints(l, n, 3, "Slice axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
            let steps = ints(l, n, 4, "Slice steps")?.unwrap_or_else(|| vec![1; starts.len()]);
            let xs = contiguous(&xd);
            let (mut strides, mut off) = (xs.clone(), 0usize);
            let mut dims = xd.clone();
            for i in 0..starts.len() {
                let a = axis(axes[i], r)?;
                if steps[i] == 0 {
                    bail!("Slice step is 0");
                }
                let (s, len) = slice_axis(starts[i], ends[i], steps[i], xd[a]);
                dims[a] = len;
                let d = xd[a] as i64 + 1;
                strides[a] = xs[a] * steps[i].clamp(-d, d) as isize;
                if len > 0 {
                    off += s * xs[a] as usize;
                }
            }
            let y = l.output(n, 0)?;
            if l.p.tensors[y].dims != dims {
                bail!("Slice output {:?} differs from the inferred {:?}", dims, l.p.tensors[y].dims);
            }
            if dims.contains(&0) {
                return Ok(());
            }
            copy(l, x, y, &dims, (off, &strides), (0, &contiguous(&dims)), &n.name);
        }
        ShapeOp::Expand => {
            let x = l.input(n, 0)?;
            let y = l.output(n, 0)?;
            let yd = l.p.tensors[y].dims.clone();
            let src = broadcast_strides(&l.p.tensors[x].dims, &yd)?;
            copy(l, x, y, &yd, (0, &src), (0, &contiguous(&yd)), &n.name);
        }
        ShapeOp::Tile => {
            let x = l.input(n, 0)?;
            let y = l.output(n, 0)?;
            let (xd, yd) = (l.p.tensors[x].dims.clone(), l.p.tensors[y].dims.clone());
            let (xs, ys) = (contiguous(&xd), contiguous(&yd));
            let (mut dims, mut src, mut dst) = (vec![], vec![], vec![]);
            for a in 0..xd.len() {
                let reps = yd[a].checked_div(xd[a]).unwrap_or(0);
                dims.extend([reps, xd[a]]);
                src.extend([0, xs[a]]);
                dst.extend([ys[a] * xd[a] as isize, ys[a]]);
            }
            copy(l, x, y, &dims, (0, &src), (0, &dst), &n.name);
        }
        ShapeOp::Gather { axis: a } => {
            let (x, i) = (l.input(n, 0)?, l.input(n, 1)?);
            let xd = l.p.tensors[x].dims.clone();
            let a = axis(*a, xd.len())?;
            if !matches!(l.p.tensors[i].dtype, DType::I64 | DType::I32) {
                bail!("Gather indices must be int64 or int32");
            }
            let y = l.output(n, 0)?;
            let (outer, inner) = (xd[..a].iter().product(), xd[a + 1..].iter().product());
            l.p.step(OpCode::Gather, vec![Some(x), Some(i)], vec![y], encode::gather(outer, xd[a], inner), &n.name);
        }
        ShapeOp::Pad { mode } => pad(l, n, *mode)?,
        ShapeOp::NonZero => super::distinct::nonzero(l, n)?,
        ShapeOp::Unique { sorted, axis } => super::distinct::unique(l, n, *sorted, *axis)?,
        other => {
            if !super::rearrange::lower(l, n, other)?
                && !super::index::lower(l, n, other)?
                && !super::select::lower(l, n, other)?
            {
                bail!("{other:?} is not supported by the compiled path yet")
            }
        }
    }
    Ok(())
}

fn pad(l: &mut Lowerer<'_>, n: &Node, mode: PadMode) -> R<()> {
    let x = l.input(n, 0)?;
    let xd = l.p.tensors[x].dims.clone();
    let r = xd.len();
    let pads = ints(l, n, 1, "Pad pads")?.ok_or("Pad pads are missing")?;
    let axes: Vec<usize> = match ints(l, n, 3, "Pad axes")? {
        Some(a) => a.iter().map(|&a| axis(a, r)).collect::<R<_>>()?,
        None => (0..r).collect(),
    };
    if pads.len() != 2 * axes.len() {
        bail!("Pad needs {} pads, got {}", 2 * axes.len(), pads.len());
    }
    let mut begin = vec![0isize; r];
    for (k, &a) in axes.iter().enumerate() {
        begin[a] = pads[k] as isize;
    }
    let y = l.output(n, 0)?;
    let yd = l.p.tensors[y].dims.clone();
    match mode {
        PadMode::Edge | PadMode::Reflect => {
            let code = if mode == PadMode::Edge { 1 } else { 2 };
            l.p.step(OpCode::Pad, vec![Some(x)], vec![y], encode::pad(code, &begin), &n.name);
        }
        PadMode::Constant => {
            let bits = match n.input(2).and_then(|v| l.konst(v)) {
                Some(t) if t.len() == 1 => {
                    let b = tensor_bytes(t)?;
                    let mut w = [0u8; 8];
                    w[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
                    u64::from_le_bytes(w)
                }
                Some(_) => bail!("Pad constant_value must be a scalar"),
                None if n.input(2).is_some() => bail!("Pad constant_value must be constant to compile"),
                None => 0,
            };
            l.p.step(OpCode::Fill, vec![], vec![y], encode::fill(bits), &n.name);
            // The interior: output o reads input o - begin where that is inside.
            let (xs, ys) = (contiguous(&xd), contiguous(&yd));
            let (mut dims, mut src_off, mut dst_off) = (vec![0usize; r], 0usize, 0usize);
            for a in 0..r {
                let lo = begin[a].max(0) as usize;
                let hi = ((begin[a] + xd[a] as isize).max(0) as usize).min(yd[a]);
                dims[a] = hi.saturating_sub(lo);
                src_off += (lo as isize - begin[a]).max(0) as usize * xs[a] as usize;
                dst_off += lo * ys[a] as usize;
            }
            if !dims.contains(&0) {
                copy(l, x, y, &dims, (src_off, &xs), (dst_off, &ys), &n.name);
            }
        }
        PadMode::Wrap => wrap_pad(l, x, y, &xd, &yd, &begin, &n.name)?,
    }
    Ok(())
}

/// Wrap-mode Pad as copies: per axis, the output splits into runs whose sources are contiguous
/// (`(o - begin) mod d`); one copy per combination of runs.
fn wrap_pad(l: &mut Lowerer<'_>, x: usize, y: usize, xd: &[usize], yd: &[usize], begin: &[isize], name: &str) -> R<()> {
    const MAX_COPIES: usize = 1024;
    if yd.contains(&0) {
        return Ok(());
    }
    if xd.contains(&0) {
        bail!("Pad wrap mode of an empty tensor");
    }
    // Per axis: (dst start, src start, length).
    let mut runs: Vec<Vec<(usize, usize, usize)>> = Vec::with_capacity(xd.len());
    let mut total = 1usize;
    for a in 0..xd.len() {
        let (d, mut o, mut axis_runs) = (xd[a], 0usize, Vec::new());
        while o < yd[a] {
            let src = (o as isize - begin[a]).rem_euclid(d as isize) as usize;
            let len = (d - src).min(yd[a] - o);
            axis_runs.push((o, src, len));
            o += len;
        }
        total = total.saturating_mul(axis_runs.len());
        runs.push(axis_runs);
    }
    if total > MAX_COPIES {
        bail!("Pad wrap mode needs {total} copies (more than {MAX_COPIES}): the pads are too large");
    }
    let (xs, ys) = (contiguous(xd), contiguous(yd));
    let mut pick = vec![0usize; xd.len()];
    for _ in 0..total {
        let (mut dims, mut so, mut dso) = (Vec::with_capacity(xd.len()), 0usize, 0usize);
        for (a, &k) in pick.iter().enumerate() {
            let (dst, src, len) = runs[a][k];
            dims.push(len);
            so += src * xs[a] as usize;
            dso += dst * ys[a] as usize;
        }
        copy(l, x, y, &dims, (so, &xs), (dso, &ys), name);
        // Next combination (odometer).
        for a in (0..pick.len()).rev() {
            pick[a] += 1;
            if pick[a] < runs[a].len() {
                break;
            }
            pick[a] = 0;
        }
    }
    Ok(())
}
