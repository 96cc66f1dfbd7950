//! `RoiAlign` (50): bilinear pooling of regions of interest (f32).
//!
//! Inputs `x [N, C, H, W]`, `rois [R, 4]` (`x1, y1, x2, y2`), `batch_indices [R]` (i64);
//! output `y [R, C, out_h, out_w]`. Attributes `[max (0 average, 1 max), sampling_ratio
//! (0 adaptive, at most 64), spatial_scale (f32), half_pixel]`.
//!
//! Batch indices and ROIs are data: an index outside `[0, N)` is a run error, and so is an
//! adaptive sample count above `2 (H + 1)` rows or `2 (W + 1)` columns per bin (a ROI more than
//! twice the feature map), which bounds the work.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::image::RoiAlign as Pooler;

use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Largest fixed sampling ratio (samples per bin and axis).
pub const MAX_SAMPLING_RATIO: u32 = 64;

/// A decoded RoiAlign step.
#[derive(Clone, Copy, Debug)]
pub struct RoiAlign {
    p: Pooler,
    /// N, C, H, W of the input.
    x: [usize; 4],
    rois: usize,
}

impl RoiAlign {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<RoiAlign, StepFault> {
        io.arity(3, 3, 1)?;
        let mut w = Words::new(step);
        let max = w.bool()?;
        let sampling_ratio = w.upto(MAX_SAMPLING_RATIO)?;
        let spatial_scale = w.f32()?;
        let half_pixel = w.bool()?;
        w.end()?;
        let (x, r, b, y) = (io.input(0)?, io.input(1)?, io.input(2)?, io.output(0)?);
        for t in [x, r, y] {
            want(&t, DType::F32)?;
        }
        want(&b, DType::I64)?;
        for t in [x, r, b, y] {
            want_numel(&t, t.numel())?;
        }
        let (xd, rd, bd, yd) = (x.dims(), r.dims(), b.dims(), y.dims());
        if x.rank != 4 || r.rank != 2 || b.rank != 1 || y.rank != 4 {
            return Err(StepFault::Shape);
        }
        if rd[1] != 4 || bd[0] != rd[0] || yd[0] != rd[0] || yd[1] != xd[1] {
            return Err(StepFault::Shape);
        }
        let p = Pooler {
            max,
            out_h: yd[2] as usize,
            out_w: yd[3] as usize,
            sampling_ratio,
            spatial_scale: spatial_scale as f64,
            half_pixel,
        };
        let xs = [xd[0] as usize, xd[1] as usize, xd[2] as usize, xd[3] as usize];
        Ok(RoiAlign { p, x: xs, rois: rd[0] as usize })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), &'static str> {
        let (Ok(x), Ok(r), Ok(b), Ok(y)) = (io.input(0), io.input(1), io.input(2), io.output(0)) else {
            return Ok(());
        };
        let ys = out::<f32>(mem, &y);
        if ys.is_empty() {
            return Ok(());
        }
        let (xs, rs, bs) = (inp::<f32>(mem, &x), inp::<f32>(mem, &r), inp::<i64>(mem, &b));
        let [n, ch, h, w] = self.x;
        let (img, per) = (ch * h * w, ch * self.p.out_h * self.p.out_w);
        for i in 0..self.rois {
            let bi = bs[i];
            if bi < 0 || bi as u64 >= n as u64 {
                return Err("RoiAlign batch index out of range");
            }
            let roi = [rs[4 * i], rs[4 * i + 1], rs[4 * i + 2], rs[4 * i + 3]];
            let (gh, gw) = self.p.samples_per_bin(roi);
            let most = |len: usize| len.saturating_add(1).saturating_mul(2);
            if self.p.sampling_ratio == 0 && (gh > most(h) || gw > most(w)) {
                return Err("RoiAlign ROI needs too many samples per bin");
            }
            let src = &xs[bi as usize * img..][..img];
            self.p.run_roi(src, ch, h, w, roi, &mut ys[i * per..][..per]);
        }
        Ok(())
    }
}

/// RoiAlign attributes.
#[cfg(feature = "alloc")]
pub fn encode_roi_align(
    max: bool,
    sampling_ratio: usize,
    spatial_scale: f32,
    half_pixel: bool,
) -> alloc::vec::Vec<u32> {
    alloc::vec![max as u32, sampling_ratio as u32, spatial_scale.to_bits(), half_pixel as u32]
}
