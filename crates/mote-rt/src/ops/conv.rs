//! `Conv` and `ConvTranspose` over 1 to 3 spatial dims, NCHW, grouped, with a fused bias and
//! activation.
//!
//! Attributes: `[group, spatial_rank, kernel[r], strides[r], dilations[r], pads_begin[r] (i32),
//! act(3)]`. Conv: `x [N, C, in...]`, `w [M, C/group, k...]`, `y [N, M, out...]`; ConvTranspose:
//! `w [C, M/group, k...]`. Bias `[M]` optional. Output sizes are the tensors' (the compiler
//! resolved auto-padding and output padding); the kernels skip taps that fall outside.
//!
//! 1-D and 2-D convolutions with non-negative pads run the fast kernels: depthwise ones on plain
//! weights, the others on weights the compiler packed ([`Layout::Packed`] with
//! `layout_param = PACK_FORMAT_VERSION`, the `mote_kernels::fast` GEMM A format); the rest run
//! the reference kernel. ConvTranspose likewise runs `fast::conv_transpose2d` when its weights
//! come packed (`fast::conv_transpose_pack_weights`) and the reference kernel on plain ones.

use mote_format::Layout;

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::fast::{self, Conv2d, Cpu, PACK_FORMAT_VERSION, Parallel};
use mote_kernels::reference::nn::Spatial;
use mote_kernels::reference::nn::conv::{Channels, conv, conv_transpose};

use super::act::Act;
use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Largest stride, dilation or pad (keeps index arithmetic far from overflow on 32-bit targets).
const MAX_GEOM: u32 = 1 << 16;

/// The decoded geometry shared by both ops.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub ch: Channels,
    pub sp: Spatial,
    pub act: Act,
}

/// The attribute words shared by the convolution ops: group, spatial rank, the window (in the
/// last `r` entries of a 3-D [`Spatial`]; input and output sizes left at 1) and the activation.
pub(super) fn attrs(step: &StepRef<'_>) -> Result<(usize, usize, Spatial, Act), StepFault> {
    let mut w = Words::new(step);
    let group = w.upto(u32::MAX)?;
    let r = w.upto(3)?;
    if r == 0 || group == 0 {
        return Err(StepFault::Attrs);
    }
    let mut sp =
        Spatial { input: [1; 3], output: [1; 3], kernel: [1; 3], strides: [1; 3], dilations: [1; 3], pads: [0; 3] };
    let o = 3 - r;
    w.usizes(&mut sp.kernel[o..], u32::MAX)?;
    w.usizes(&mut sp.strides[o..], MAX_GEOM)?;
    w.usizes(&mut sp.dilations[o..], MAX_GEOM)?;
    for p in &mut sp.pads[o..] {
        let v = w.i32()?;
        if v.unsigned_abs() > MAX_GEOM {
            return Err(StepFault::Attrs);
        }
        *p = v as isize;
    }
    if sp.strides.contains(&0) || sp.dilations.contains(&0) {
        return Err(StepFault::Attrs);
    }
    let act = Act::decode(&mut w)?;
    w.end()?;
    Ok((group, r, sp, act))
}

fn decode(step: &StepRef<'_>, io: &Io<'_>, transposed: bool) -> Result<Geometry, StepFault> {
    io.arity(2, 3, 1)?;
    let (group, r, mut sp, act) = attrs(step)?;
    let o = 3 - r;
    let (x, wt, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
    for t in [x, wt, y] {
        want(&t, DType::F32)?;
        if t.rank != r + 2 {
            return Err(StepFault::Shape);
        }
    }
    want_numel(&x, x.numel())?;
    want_numel(&y, y.numel())?;
    if wt.layout == Layout::Plain {
        want_numel(&wt, wt.numel())?;
    }
    let (xd, wd, yd) = (x.dims(), wt.dims(), y.dims());
    let (n, c, m) = (xd[0] as usize, xd[1] as usize, yd[1] as usize);
    if yd[0] as usize != n || c % group != 0 || m % group != 0 {
        return Err(StepFault::Shape);
    }
    let (w0, w1) = if transposed { (c, m / group) } else { (m, c / group) };
    if wd[0] as usize != w0 || wd[1] as usize != w1 {
        return Err(StepFault::Shape);
    }
    for a in 0..r {
        sp.input[o + a] = xd[2 + a] as usize;
        sp.output[o + a] = yd[2 + a] as usize;
        if wd[2 + a] as usize != sp.kernel[o + a] {
            return Err(StepFault::Shape);
        }
    }
    if let Some(b) = io.opt(2) {
        want(&b, DType::F32)?;
        want_numel(&b, m)?;
    }
    Ok(Geometry { ch: Channels { batch: n, in_channels: c, out_channels: m, group }, sp, act })
}

/// The fast kernels' geometry of a 1-D or 2-D convolution with non-negative pads (`None`
/// otherwise). The compiler packs weights for exactly these.
pub fn fast_geometry(g: &Geometry) -> Option<Conv2d> {
    as_2d(g).filter(|c| c.validate().is_ok())
}

/// The fast kernels' geometry of a 1-D or 2-D transposed convolution with non-negative pads
/// (`None` otherwise; fields as [`fast::conv_transpose2d`] reads them). The compiler packs
/// weights for exactly these.
pub fn fast_transpose_geometry(g: &Geometry) -> Option<Conv2d> {
    as_2d(g).filter(|c| fast::conv_transpose_validate(c).is_ok())
}

fn as_2d(g: &Geometry) -> Option<Conv2d> {
    let (sp, ch) = (&g.sp, &g.ch);
    if sp.input[0] != 1 || sp.output[0] != 1 || sp.kernel[0] != 1 || sp.pads[1] < 0 || sp.pads[2] < 0 {
        return None;
    }
    Some(Conv2d {
        batch: ch.batch,
        in_channels: ch.in_channels,
        out_channels: ch.out_channels,
        group: ch.group,
        input: [sp.input[1], sp.input[2]],
        output: [sp.output[1], sp.output[2]],
        kernel: [sp.kernel[1], sp.kernel[2]],
        strides: [sp.strides[1], sp.strides[2]],
        dilations: [sp.dilations[1], sp.dilations[2]],
        pads: [sp.pads[1] as usize, sp.pads[2] as usize],
    })
}

/// How a convolution runs.
#[derive(Clone, Copy, Debug)]
enum Path {
    Reference,
    Depthwise(Conv2d),
    Packed(Conv2d),
}

fn bias<'m>(mem: &Mem<'m>, io: &Io<'_>) -> Option<&'m [f32]> {
    io.opt(2).map(|b| inp::<f32>(mem, &b))
}

#[derive(Clone, Copy, Debug)]
pub struct Conv {
    g: Geometry,
    path: Path,
}

impl Conv {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Conv, StepFault> {
        let g = decode(step, io, false)?;
        let w = io.input(1)?;
        let fast = fast_geometry(&g);
        let path = match (w.layout, fast) {
            (Layout::Plain, Some(c)) if c.is_depthwise() => Path::Depthwise(c),
            (Layout::Plain, _) => Path::Reference,
            (Layout::Packed, Some(c)) if !c.is_depthwise() => {
                if w.layout_param != PACK_FORMAT_VERSION || w.nbytes != fast::conv_pack_weights_len(&c) as u64 * 4 {
                    return Err(StepFault::Shape);
                }
                Path::Packed(c)
            }
            (Layout::Packed, _) => return Err(StepFault::Shape),
        };
        Ok(Conv { g, path })
    }

    pub fn scratch_bytes(&self) -> usize {
        4 * match &self.path {
            Path::Reference => 0,
            Path::Depthwise(c) => fast::depthwise2d_scratch_len(c),
            Path::Packed(c) => fast::conv2d_scratch_len(c),
        }
    }

    pub fn macs(&self) -> u64 {
        let Geometry { ch, sp, .. } = self.g;
        (ch.batch * ch.out_channels * sp.out_plane() * (ch.in_channels / ch.group) * sp.kernel_size()) as u64
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32], cpu: Cpu, par: &dyn Parallel) {
        let (Ok(x), Ok(w), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let ys = out::<f32>(mem, &y);
        let act = self.g.act.fast();
        let (xs, ws, b) = (inp(mem, &x), inp(mem, &w), bias(mem, io));
        match &self.path {
            Path::Depthwise(c) => fast::depthwise2d_par(par, cpu, c, xs, ws, b, act, ys, scratch),
            Path::Packed(c) => fast::conv2d_par(par, cpu, c, xs, ws, b, act, ys, scratch),
            Path::Reference => {
                conv(&self.g.ch, &self.g.sp, inp(mem, &x), inp(mem, &w), bias(mem, io), ys);
                self.g.act.apply_all(ys);
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct ConvTranspose {
    g: Geometry,
    /// The fast geometry when the weights come packed, else `None` (reference kernel).
    packed: Option<Conv2d>,
}

impl ConvTranspose {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<ConvTranspose, StepFault> {
        let g = decode(step, io, true)?;
        let w = io.input(1)?;
        let packed = match (w.layout, fast_transpose_geometry(&g)) {
            (Layout::Plain, _) => None,
            (Layout::Packed, Some(c)) => {
                if w.layout_param != PACK_FORMAT_VERSION
                    || w.nbytes != fast::conv_transpose_pack_weights_len(&c) as u64 * 4
                {
                    return Err(StepFault::Shape);
                }
                Some(c)
            }
            (Layout::Packed, None) => return Err(StepFault::Shape),
        };
        Ok(ConvTranspose { g, packed })
    }

    pub fn scratch_bytes(&self) -> usize {
        self.packed.as_ref().map_or(0, |c| 4 * fast::conv_transpose2d_scratch_len(c))
    }

    pub fn macs(&self) -> u64 {
        let Geometry { ch, sp, .. } = self.g;
        (ch.batch * ch.in_channels * sp.in_plane() * (ch.out_channels / ch.group) * sp.kernel_size()) as u64
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32], cpu: Cpu, par: &dyn Parallel) {
        let (Ok(x), Ok(w), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let ys = out::<f32>(mem, &y);
        match &self.packed {
            Some(c) => {
                let act = self.g.act.fast();
                let (xs, ws, b) = (inp(mem, &x), inp(mem, &w), bias(mem, io));
                fast::conv_transpose2d_par(par, cpu, c, xs, ws, b, act, ys, scratch);
            }
            None => {
                conv_transpose(&self.g.ch, &self.g.sp, inp(mem, &x), inp(mem, &w), bias(mem, io), ys);
                self.g.act.apply_all(ys);
            }
        }
    }
}
