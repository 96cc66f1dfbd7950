//! Shape ops that need no kernel of their own: Trilu (a select against a constant mask),
//! SpaceToDepth / DepthToSpace (one strided copy of a reshaped, transposed view), CenterCropPad
//! (fill and copy) and EyeLike (a constant: its output depends only on the static shape).

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::ops::shape::{BlockMode, ShapeOp};
use mote_ir::{Data, Node, Tensor};
use mote_rt::ops::encode;

use super::elementwise::{broadcast_strides, contiguous};
use super::shape::copy;
use super::{Lowerer, R, bail, tensor_bytes};

/// Lowers `op` if this module handles it; `Ok(false)` otherwise.
pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &ShapeOp) -> R<bool> {
    match op {
        ShapeOp::Trilu { upper } => trilu(l, n, *upper)?,
        ShapeOp::SpaceToDepth { blocksize, mode } => blocks(l, n, *blocksize, *mode, false)?,
        ShapeOp::DepthToSpace { blocksize, mode } => blocks(l, n, *blocksize, *mode, true)?,
        ShapeOp::CenterCropPad { axes } => center_crop_pad(l, n, axes.as_deref())?,
        ShapeOp::EyeLike { k, .. } => eye_like(l, n, *k)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// A zero scalar weight of `dtype`.
fn zero(l: &mut Lowerer<'_>, dtype: DType) -> usize {
    l.p.weight(dtype, vec![], vec![0; dtype.size().unwrap_or(1)], "zero")
}

fn trilu(l: &mut Lowerer<'_>, n: &Node, upper: bool) -> R<()> {
    let x = l.input(n, 0)?;
    let xd = l.p.tensors[x].dims.clone();
    let r = xd.len();
    if r < 2 {
        bail!("Trilu needs rank >= 2");
    }
    let k = match n.input(1) {
        Some(v) => {
            l.konst(v).ok_or("Trilu's k must be constant to compile")?.scalar_i64().map_err(|e| e.to_string())?
        }
        None => 0,
    };
    let (rows, cols) = (xd[r - 2], xd[r - 1]);
    let mut mask = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        for j in 0..cols {
            let d = j as i64 - i as i64;
            mask.push(if upper { d >= k } else { d <= k } as u8);
        }
    }
    let m = l.p.weight(DType::Bool, vec![rows, cols], mask, format!("{}.mask", n.name));
    let z = zero(l, l.p.tensors[x].dtype);
    let y = l.output(n, 0)?;
    let s: Vec<Vec<isize>> =
        [m, x, z].iter().map(|&t| broadcast_strides(&l.p.tensors[t].dims, &xd)).collect::<R<_>>()?;
    let attrs = encode::where_(&xd, [&s[0], &s[1], &s[2], &contiguous(&xd)]);
    l.p.step(OpCode::Where, vec![Some(m), Some(x), Some(z)], vec![y], attrs, &n.name);
    Ok(())
}

/// SpaceToDepth (`to_space` false) or DepthToSpace: the input viewed as 6-D and transposed, as
/// the interpreter defines them.
fn blocks(l: &mut Lowerer<'_>, n: &Node, bs: usize, mode: BlockMode, to_space: bool) -> R<()> {
    let x = l.input(n, 0)?;
    let &[b, c, h, w] = l.p.tensors[x].dims.as_slice() else { bail!("needs a 4-D NCHW input") };
    if bs == 0 {
        bail!("blocksize must be positive");
    }
    let (view, perm): ([usize; 6], [usize; 6]) = match (to_space, mode) {
        (true, BlockMode::Dcr) => ([b, bs, bs, c / (bs * bs), h, w], [0, 3, 4, 1, 5, 2]),
        (true, BlockMode::Crd) => ([b, c / (bs * bs), bs, bs, h, w], [0, 1, 4, 2, 5, 3]),
        (false, BlockMode::Dcr) => ([b, c, h / bs, bs, w / bs, bs], [0, 3, 5, 1, 2, 4]),
        (false, BlockMode::Crd) => ([b, c, h / bs, bs, w / bs, bs], [0, 1, 3, 5, 2, 4]),
    };
    if view.iter().product::<usize>() != b * c * h * w {
        bail!("blocksize {bs} does not divide the input {:?}", [b, c, h, w]);
    }
    let y = l.output(n, 0)?;
    let vs = contiguous(&view);
    let dims: Vec<usize> = perm.iter().map(|&p| view[p]).collect();
    let src: Vec<isize> = perm.iter().map(|&p| vs[p]).collect();
    if l.p.tensors[y].numel() != dims.iter().product::<usize>() {
        bail!("output shape disagrees with the block rearrangement");
    }
    copy(l, x, y, &dims, (0, &src), (0, &contiguous(&dims)), &n.name);
    Ok(())
}

fn center_crop_pad(l: &mut Lowerer<'_>, n: &Node, axes: Option<&[i64]>) -> R<()> {
    let x = l.input(n, 0)?;
    let xd = l.p.tensors[x].dims.clone();
    let r = xd.len();
    let target = l
        .konst(l.in_value(n, 1)?)
        .ok_or("CenterCropPad's shape must be constant to compile")?
        .to_i64_vec()
        .map_err(|e| e.to_string())?;
    let axes: Vec<usize> = match axes {
        Some(a) => a.iter().map(|&a| mote_ir::infer::normalize_axis(a, r).map_err(|e| e.0)).collect::<R<_>>()?,
        None => (0..r).collect(),
    };
    if target.len() != axes.len() || target.iter().any(|&t| t < 0) {
        bail!("CenterCropPad shape {target:?} must hold {} non-negative sizes", axes.len());
    }
    let y = l.output(n, 0)?;
    let yd = l.p.tensors[y].dims.clone();
    // Per axis: the run copied, where it starts in x and in y.
    let (mut dims, mut src_off, mut dst_off) = (xd.clone(), 0usize, 0usize);
    let (xs, ys) = (contiguous(&xd), contiguous(&yd));
    let mut padded = false;
    for (&a, &t) in axes.iter().zip(&target) {
        let (d, t) = (xd[a], t as usize);
        if t != yd[a] {
            bail!("CenterCropPad output shape disagrees with its shape input");
        }
        if t >= d {
            dst_off += (t - d) / 2 * ys[a] as usize;
            padded |= t > d;
        } else {
            src_off += (d - t) / 2 * xs[a] as usize;
            dims[a] = t;
        }
    }
    if padded {
        l.p.step(OpCode::Fill, vec![], vec![y], encode::fill(0), &n.name);
    }
    if !dims.contains(&0) {
        copy(l, x, y, &dims, (src_off, &xs), (dst_off, &ys), &n.name);
    }
    Ok(())
}

fn eye_like(l: &mut Lowerer<'_>, n: &Node, k: i64) -> R<()> {
    let v = n.outputs.first().copied().flatten().ok_or("output 0 is missing")?;
    let (dtype, dims) = l.value_shape(v)?;
    let &[rows, cols] = dims.as_slice() else { bail!("EyeLike needs a 2-D input") };
    let mut data = Data::zeros(dtype, rows * cols);
    mote_ir::dispatch_elem!(&mut data, d => {
        for i in 0..rows {
            let j = (i as i64).saturating_add(k);
            if (0..cols as i64).contains(&j) {
                d[i * cols + j as usize] = <T as mote_ir::Elem>::from_f64(1.0);
            }
        }
    }, else bail!("EyeLike is not defined for {dtype}"));
    let t = Tensor::new(dims.clone(), data).map_err(|e| e.to_string())?;
    let w = l.p.weight(dtype, dims, tensor_bytes(&t)?, &l.g.value(v).name);
    l.bind(n, 0, w)
}
