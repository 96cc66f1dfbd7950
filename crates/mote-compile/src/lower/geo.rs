//! Vision geometry: GridSample, AffineGrid and RoiAlign, one runtime step each (f32).

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

/// Lowers GridSample, AffineGrid and RoiAlign.
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
        _ => bail!("{} is not supported by the compiled path yet", n.op.name()),
    }
    Ok(())
}
