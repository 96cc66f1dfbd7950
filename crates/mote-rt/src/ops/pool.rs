//! `Pool`: max, average and Lp pooling over 1 to 3 spatial dims (global pooling is a window the
//! size of the input).
//!
//! Attributes: `[kind (0 max, 1 average, 2 Lp), spatial_rank, kernel[r], strides[r],
//! dilations[r], pads_begin[r] (i32), pads_end[r] (i32), count_include_pad, p (f32)]`;
//! `x [N, C, in...]`, `y [N, C, out...]`.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::fast::{self, Cpu, Parallel, Pool2d, PoolKind};
use mote_kernels::reference::nn::Spatial;
use mote_kernels::reference::nn::pool::{avg_pool, lp_pool, max_pool};

use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

const MAX_GEOM: u32 = 1 << 16;

#[derive(Clone, Copy, Debug)]
pub struct Pool {
    kind: usize,
    planes: usize,
    sp: Spatial,
    pads_end: [isize; 3],
    count_include_pad: bool,
    p: f32,
    fast: Option<Pool2d>,
}

impl Pool {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Pool, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let kind = w.upto(2)?;
        let r = w.upto(3)?;
        if r == 0 {
            return Err(StepFault::Attrs);
        }
        let (mut sp, pads_end) = window(&mut w, r)?;
        let count_include_pad = w.bool()?;
        let p = w.f32()?;
        w.end()?;
        let (x, y) = (io.input(0)?, io.output(0)?);
        want(&x, DType::F32)?;
        want(&y, DType::F32)?;
        want_numel(&x, x.numel())?;
        want_numel(&y, y.numel())?;
        if x.rank != r + 2 || y.rank != r + 2 {
            return Err(StepFault::Shape);
        }
        let (xd, yd) = (x.dims(), y.dims());
        fit(&mut sp, &pads_end, r, xd, yd)?;
        let planes = xd[0] as usize * xd[1] as usize;
        let fast = (kind < 2 && sp.input[0] == 1 && sp.output[0] == 1 && sp.kernel[0] == 1)
            .then(|| Pool2d {
                planes,
                input: [sp.input[1], sp.input[2]],
                output: [sp.output[1], sp.output[2]],
                kernel: [sp.kernel[1], sp.kernel[2]],
                strides: [sp.strides[1], sp.strides[2]],
                dilations: [sp.dilations[1], sp.dilations[2]],
                pads: [sp.pads[1].max(0) as usize, sp.pads[2].max(0) as usize],
                pads_end: [pads_end[1].max(0) as usize, pads_end[2].max(0) as usize],
            })
            .filter(|g| sp.pads[1..].iter().chain(&pads_end[1..]).all(|&p| p >= 0) && g.validate().is_ok());
        Ok(Pool { kind, planes, sp, pads_end, count_include_pad, p, fast })
    }

    /// Global average pooling: one window covering each whole plane.
    fn is_global_avg(&self) -> bool {
        let s = &self.sp;
        self.kind == 1 && s.kernel == s.input && s.output == [1; 3] && s.pads == [0; 3] && self.pads_end == [0; 3]
    }

    /// Window taps visited: planes x outputs x kernel taps.
    pub fn taps(&self) -> u64 {
        (self.planes as u64).saturating_mul(self.sp.out_plane() as u64).saturating_mul(self.sp.kernel_size() as u64)
    }

    pub fn scratch_bytes(&self) -> usize {
        match &self.fast {
            Some(g) if !self.is_global_avg() => 4 * fast::pool2d_scratch_len(g),
            _ => 0,
        }
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32], cpu: Cpu, par: &dyn Parallel) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let (xs, ys) = (inp::<f32>(mem, &x), out::<f32>(mem, &y));
        if ys.is_empty() {
            // Nothing to write (the kernels would still walk every, possibly billions of, plane).
            return;
        }
        if self.is_global_avg() {
            return fast::global_avg_pool_par(par, cpu, self.planes, self.sp.in_plane(), xs, ys);
        }
        if let Some(g) = &self.fast {
            let kind = if self.kind == 0 {
                PoolKind::Max
            } else {
                PoolKind::Avg { count_include_pad: self.count_include_pad }
            };
            return fast::pool2d_par(par, cpu, kind, g, xs, ys, scratch);
        }
        match self.kind {
            0 => max_pool(self.planes, &self.sp, f32::NEG_INFINITY, xs, ys, None, false),
            1 => avg_pool(self.planes, &self.sp, self.pads_end, self.count_include_pad, xs, ys),
            _ => lp_pool(self.planes, &self.sp, self.p, xs, ys),
        }
    }
}

/// The window words shared by the pooling ops, for spatial rank `r` (1 to 3; the last `r`
/// entries of a 3-D window): kernel, strides, dilations, begin pads, end pads. Returns the
/// window (sizes left at 1) and the end pads.
pub(super) fn window(w: &mut Words<'_, '_>, r: usize) -> Result<(Spatial, [isize; 3]), StepFault> {
    if r == 0 || r > 3 {
        return Err(StepFault::Attrs);
    }
    let o = 3 - r;
    let mut sp =
        Spatial { input: [1; 3], output: [1; 3], kernel: [1; 3], strides: [1; 3], dilations: [1; 3], pads: [0; 3] };
    let mut pads_end = [0isize; 3];
    w.usizes(&mut sp.kernel[o..], u32::MAX)?;
    w.usizes(&mut sp.strides[o..], MAX_GEOM)?;
    w.usizes(&mut sp.dilations[o..], MAX_GEOM)?;
    for p in sp.pads[o..].iter_mut().chain(pads_end[o..].iter_mut()) {
        let v = w.i32()?;
        if v.unsigned_abs() > MAX_GEOM {
            return Err(StepFault::Attrs);
        }
        *p = v as isize;
    }
    if sp.strides.contains(&0) || sp.dilations.contains(&0) {
        return Err(StepFault::Attrs);
    }
    Ok((sp, pads_end))
}

/// Sets `sp`'s sizes from `x [N, C, in...]` and `y [N, C, out...]` (rank `r + 2`, checked by the
/// caller) and checks the window fits the padded input (one stride of slack for ceil mode),
/// which also bounds the work per output.
pub(super) fn fit(sp: &mut Spatial, pads_end: &[isize; 3], r: usize, xd: &[u32], yd: &[u32]) -> Result<(), StepFault> {
    if xd[0] != yd[0] || xd[1] != yd[1] {
        return Err(StepFault::Shape);
    }
    let o = 3 - r;
    for a in 0..r {
        sp.input[o + a] = xd[2 + a] as usize;
        sp.output[o + a] = yd[2 + a] as usize;
        let span = (sp.kernel[o + a].saturating_sub(1)).saturating_mul(sp.dilations[o + a]) + 1;
        let room = sp.input[o + a] as isize + sp.pads[o + a] + pads_end[o + a] + sp.strides[o + a] as isize;
        if span as isize > room {
            return Err(StepFault::Shape);
        }
    }
    Ok(())
}
