//! Vision geometry: GridSample, AffineGrid, RoiAlign and NonMaxSuppression, one runtime step
//! each (f32).

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::image::ImageOp;
use mote_rt::ops::encode;

use super::{Lowerer, R, bail};

fn f32_only(l: &Lowerer<'_>, t: usize, n: &Node) -> R<()> {
    match l.p.tensors[t].dtype {
        DType::F32 => Ok(()),
        d => bail!("{} on {d} is not supported by the compiled path (f32 only)", n.op.name()),
    }
}

/// Lowers GridSample, AffineGrid, RoiAlign and NonMaxSuppression.
pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &ImageOp) -> R<()> {
    match op {
        ImageOp::GridSample { mode, padding, align_corners } => {
            let (x, g) = (l.input(n, 0)?, l.input(n, 1)?);
            f32_only(l, x, n)?;
            f32_only(l, g, n)?;
            let rank = l.p.tensors[x].dims.len();
            if !(3..=mote_format::MAX_RANK).contains(&rank) {
                bail!("GridSample on rank {rank} is not supported (3 to {})", mote_format::MAX_RANK);
            }
            let y = l.output(n, 0)?;
            let attrs = encode::grid_sample(*mode, *padding, *align_corners);
            l.p.step(OpCode::GridSample, vec![Some(x), Some(g)], vec![y], attrs, &n.name);
        }
        ImageOp::AffineGrid { align_corners } => {
            // The size input only fixes the output shape, which inference resolved.
            let theta = l.input(n, 0)?;
            f32_only(l, theta, n)?;
            let y = l.output(n, 0)?;
            let attrs = encode::affine_grid(*align_corners);
            l.p.step(OpCode::AffineGrid, vec![Some(theta)], vec![y], attrs, &n.name);
        }
        ImageOp::RoiAlign { max, sampling_ratio, spatial_scale, half_pixel, .. } => {
            let (x, r, b) = (l.input(n, 0)?, l.input(n, 1)?, l.input(n, 2)?);
            f32_only(l, x, n)?;
            f32_only(l, r, n)?;
            if l.p.tensors[b].dtype != DType::I64 {
                bail!("RoiAlign batch_indices must be int64 to compile");
            }
            let limit = mote_rt::ops::ROI_MAX_SAMPLING_RATIO as usize;
            if *sampling_ratio > limit {
                bail!("RoiAlign sampling_ratio {sampling_ratio} is above the compiled path's {limit}");
            }
            let y = l.output(n, 0)?;
            let attrs = encode::roi_align(*max, *sampling_ratio, *spatial_scale, *half_pixel);
            l.p.step(OpCode::RoiAlign, vec![Some(x), Some(r), Some(b)], vec![y], attrs, &n.name);
        }
        ImageOp::NonMaxSuppression { center_point_box } => nms(l, n, *center_point_box)?,
        ImageOp::ImageDecoder { .. } => bail!(
            "ImageDecoder is not compiled: the runtime carries no image codecs (no_std, no allocation); decode on the host and feed the pixels (`mote run model.mote --input x=photo.jpg --image ...`)"
        ),
        _ => bail!("{} is not supported by the compiled path yet", n.op.name()),
    }
    Ok(())
}

/// NonMaxSuppression: a `[B * C * S, 3]` buffer (every box of every class selected at most
/// once) and the count of rows written, in the arena until the end; the output is marked
/// Bounded so the host presents `count` rows. Its length is data, so it must be a graph
/// output (no later step could size its reads).
fn nms(l: &mut Lowerer<'_>, n: &Node, center: bool) -> R<()> {
    let (b, s) = (l.input(n, 0)?, l.input(n, 1)?);
    f32_only(l, b, n)?;
    f32_only(l, s, n)?;
    let (bd, sd) = (l.p.tensors[b].dims.clone(), l.p.tensors[s].dims.clone());
    if bd.len() != 3 || sd.len() != 3 || bd[2] != 4 || sd[0] != bd[0] || sd[2] != bd[1] {
        bail!("NonMaxSuppression needs boxes [B, S, 4] and scores [B, C, S]; got {bd:?} and {sd:?}");
    }
    let mut ins = vec![Some(b), Some(s)];
    for (i, dt) in [(2, DType::I64), (3, DType::F32), (4, DType::F32)] {
        let t = match n.input(i) {
            Some(_) => Some(l.input(n, i)?),
            None => None,
        };
        if let Some(t) = t
            && (l.p.tensors[t].dtype != dt || l.p.tensors[t].dims.iter().product::<usize>() != 1)
        {
            bail!("NonMaxSuppression input {i} must be one {dt} value to compile");
        }
        ins.push(t);
    }
    while ins.last() == Some(&None) {
        ins.pop();
    }
    let cap = bd[0] * sd[1] * bd[1];
    let count = super::distinct::count(l, n);
    let sel = super::distinct::bounded(l, n, 0, DType::I64, vec![cap, 3], 0, count)?;
    l.p.step(OpCode::NonMaxSuppression, ins, vec![sel, count], encode::nms(center), &n.name);
    Ok(())
}
