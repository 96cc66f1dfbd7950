//! Sampling at computed coordinates (f32):
//!
//! - `GridSample` (48): `x [N, C, D1..Dk]` sampled at `grid [N, O1..Ok, k]` (normalized
//!   coordinates, innermost axis first) into `y [N, C, O1..Ok]`, `k` from 1 to 6. Attributes
//!   `[mode (0 nearest, 1 linear, 2 cubic), padding (0 zeros, 1 border, 2 reflection),
//!   align_corners]`.
//! - `AffineGrid` (49): `theta [N, k, k + 1]` -> `grid [N, S1..Sk, k]` over the normalized base
//!   grid of the output's spatial dims, `k` 2 or 3. Attributes `[align_corners]`.
//!
//! 2-D GridSample runs `mote_kernels::fast::grid_sample_2d` (taps computed once per position for
//! every channel, bit-identical to the reference); other ranks the reference kernel.
//! Both read only positions they computed and clamped, so any grid or theta value (NaN,
//! infinities) is safe; the work is bounded by the output size times the taps (at most `4^k`).

use mote_core::DType;
use mote_format::{MAX_RANK, StepRef};
use mote_kernels::fast;
use mote_kernels::reference::image::{GridMode, GridPadding, GridSample as Sampler, affine_grid};

use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// GridSample mode codes, in attribute order.
pub const GRID_MODES: [GridMode; 3] = [GridMode::Nearest, GridMode::Linear, GridMode::Cubic];
/// GridSample padding codes, in attribute order.
pub const GRID_PADDINGS: [GridPadding; 3] = [GridPadding::Zeros, GridPadding::Border, GridPadding::Reflection];

/// A decoded GridSample step.
#[derive(Clone, Copy, Debug)]
pub struct GridSample {
    sampler: Sampler,
    rank: usize,
    x_dims: [usize; MAX_RANK],
    out_spatial: [usize; MAX_RANK],
}

impl GridSample {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<GridSample, StepFault> {
        io.arity(2, 2, 1)?;
        let mut w = Words::new(step);
        let mode = GRID_MODES[w.upto(2)?];
        let padding = GRID_PADDINGS[w.upto(2)?];
        let align_corners = w.bool()?;
        w.end()?;
        let (x, g, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        for t in [x, g, y] {
            want(&t, DType::F32)?;
            want_numel(&t, t.numel())?;
        }
        let r = x.rank;
        let (xd, gd, yd) = (x.dims(), g.dims(), y.dims());
        if r < 3 || g.rank != r || y.rank != r || gd[r - 1] as usize != r - 2 {
            return Err(StepFault::Shape);
        }
        if gd[0] != xd[0] || yd[0] != xd[0] || yd[1] != xd[1] || yd[2..] != gd[1..r - 1] {
            return Err(StepFault::Shape);
        }
        // Every sample reads the image: it must not be empty where there is something to sample.
        if y.numel() > 0 && xd[2..].contains(&0) {
            return Err(StepFault::Shape);
        }
        let mut gs = GridSample {
            sampler: Sampler { mode, padding, align_corners },
            rank: r,
            x_dims: [0; MAX_RANK],
            out_spatial: [0; MAX_RANK],
        };
        for (o, &d) in gs.x_dims.iter_mut().zip(xd) {
            *o = d as usize;
        }
        for (o, &d) in gs.out_spatial.iter_mut().zip(&yd[2..]) {
            *o = d as usize;
        }
        Ok(gs)
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(g), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let ys = out::<f32>(mem, &y);
        if ys.is_empty() {
            return;
        }
        let r = self.rank;
        let (xd, os) = (&self.x_dims[..r], &self.out_spatial[..r - 2]);
        let (xs, gs) = (inp::<f32>(mem, &x), inp::<f32>(mem, &g));
        if r == 4 {
            // Taps once per position for all channels; bit-identical to the reference.
            let dims = [xd[0], xd[1], xd[2], xd[3]];
            return fast::grid_sample_2d(&self.sampler, xs, dims, gs, [os[0], os[1]], ys);
        }
        self.sampler.run(xs, xd, gs, os, ys);
    }
}

/// A decoded AffineGrid step.
#[derive(Clone, Copy, Debug)]
pub struct AffineGrid {
    n: usize,
    k: usize,
    spatial: [usize; 3],
    align_corners: bool,
}

impl AffineGrid {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<AffineGrid, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let align_corners = w.bool()?;
        w.end()?;
        let (t, y) = (io.input(0)?, io.output(0)?);
        for t in [t, y] {
            want(&t, DType::F32)?;
            want_numel(&t, t.numel())?;
        }
        let (td, yd) = (t.dims(), y.dims());
        let k = y.rank.wrapping_sub(2);
        if !(2..=3).contains(&k) || t.rank != 3 || yd[k + 1] as usize != k {
            return Err(StepFault::Shape);
        }
        if td[0] != yd[0] || td[1] as usize != k || td[2] as usize != k + 1 {
            return Err(StepFault::Shape);
        }
        let mut spatial = [0usize; 3];
        for (o, &d) in spatial.iter_mut().zip(&yd[1..=k]) {
            *o = d as usize;
        }
        Ok(AffineGrid { n: yd[0] as usize, k, spatial, align_corners })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(t), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let ys = out::<f32>(mem, &y);
        if ys.is_empty() {
            return;
        }
        affine_grid(inp::<f32>(mem, &t), self.n, &self.spatial[..self.k], self.align_corners, ys);
    }
}

/// GridSample attributes.
#[cfg(feature = "alloc")]
pub fn encode_grid_sample(mode: GridMode, padding: GridPadding, align_corners: bool) -> alloc::vec::Vec<u32> {
    let m = GRID_MODES.iter().position(|&x| x == mode).unwrap_or(0) as u32;
    let p = GRID_PADDINGS.iter().position(|&x| x == padding).unwrap_or(0) as u32;
    alloc::vec![m, p, align_corners as u32]
}

/// AffineGrid attributes.
#[cfg(feature = "alloc")]
pub fn encode_affine_grid(align_corners: bool) -> alloc::vec::Vec<u32> {
    alloc::vec![align_corners as u32]
}
