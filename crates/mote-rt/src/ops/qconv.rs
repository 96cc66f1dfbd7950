//! `QConv` (65): integer convolution of u8/i8 images over 1 to 3 spatial dims, NCHW, grouped
//! (ConvInteger, QLinearConv): per image and group the product `W_g (im2col(x) - x_zp)` on the
//! integer GEMM, the input zero point as padding value (a padded tap contributes 0), then the
//! [`Epilogue`] of `QGemm` with rows = output channels.
//!
//! Attributes: `[group, spatial_rank (1..3), kernel[r], strides[r], dilations[r], pads_begin[r]
//! (i32), wz_per (0 one value, 1 per output channel), mode, bias_per, mult_per (0 or 1 each)]`.
//! Inputs `x [N, C, in...], w [M, C/group, k...] (plain), x_zero_point? (one value, x's type),
//! w_zero_point? (w's type), bias? [M] or [1] (i32), multiplier? (f32), y_zero_point?`; output
//! `y [N, M, out...]` (the output sizes are y's: the compiler resolved auto-padding).

use mote_core::DType;
use mote_format::{Layout, StepRef};
use mote_kernels::fast::qgemm::{Im2col, QElem, qgemm};
use mote_kernels::reference::quant::ConvAxis;

use super::qgemm::{Epilogue, Per, check_zp, scratch_for, scratch_i16, zero_points, zp_at};
use super::{Io, inp, product, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Largest stride, dilation or pad.
const MAX_GEOM: u32 = 1 << 16;
/// Bound on every window coordinate (keeps the im2col arithmetic exact on 32-bit targets).
const MAX_COORD: u64 = (i32::MAX / 2) as u64;

/// A decoded QConv step.
#[derive(Clone, Copy, Debug)]
pub struct QConv {
    batch: usize,
    channels: usize,
    out_channels: usize,
    group: usize,
    axes: [ConvAxis; 3],
    wz: Per,
    ep: Epilogue,
}

impl QConv {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<QConv, StepFault> {
        io.arity(2, 7, 1)?;
        let mut w = Words::new(step);
        let group = w.upto(u32::MAX)?;
        let r = w.upto(3)?;
        if r == 0 || group == 0 {
            return Err(StepFault::Attrs);
        }
        let unit = ConvAxis { input: 1, kernel: 1, stride: 1, dilation: 1, pad_begin: 0, output: 1 };
        let mut axes = [unit; 3];
        let o = 3 - r;
        for a in &mut axes[o..] {
            a.kernel = w.upto(u32::MAX)?;
        }
        for a in &mut axes[o..] {
            a.stride = w.upto(MAX_GEOM)?;
        }
        for a in &mut axes[o..] {
            a.dilation = w.upto(MAX_GEOM)?;
        }
        for a in &mut axes[o..] {
            let p = w.i32()?;
            if p.unsigned_abs() > MAX_GEOM || a.stride == 0 || a.dilation == 0 {
                return Err(StepFault::Attrs);
            }
            a.pad_begin = p as isize;
        }
        let wz = Per::decode(&mut w)?;
        if wz == Per::Col {
            return Err(StepFault::Attrs);
        }
        let (x, wt, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        for t in [x, wt] {
            if !matches!(t.dtype, DType::U8 | DType::I8) {
                return Err(StepFault::DType);
            }
        }
        for t in [x, wt, y] {
            if t.rank != r + 2 || t.layout != Layout::Plain {
                return Err(StepFault::Shape);
            }
        }
        let (xd, wd, yd) = (x.dims(), wt.dims(), y.dims());
        let (n, c, m) = (xd[0] as usize, xd[1] as usize, yd[1] as usize);
        if yd[0] as usize != n || c % group != 0 || m % group != 0 || wd[0] as usize != m || wd[1] as usize != c / group
        {
            return Err(StepFault::Shape);
        }
        for (i, a) in axes[o..].iter_mut().enumerate() {
            a.input = xd[2 + i] as usize;
            a.output = yd[2 + i] as usize;
            if wd[2 + i] as usize != a.kernel {
                return Err(StepFault::Shape);
            }
            let reach = (a.output as u64) * a.stride as u64 + (a.kernel as u64) * a.dilation as u64;
            if reach + a.pad_begin.unsigned_abs() as u64 > MAX_COORD || a.input as u64 > MAX_COORD {
                return Err(StepFault::Shape);
            }
        }
        let l = product(&[axes[0].output, axes[1].output, axes[2].output])?;
        // Bias and multiplier: per output channel (rows) or one value.
        let ep = Epilogue::decode(&mut w, io, m, l, false)?;
        w.end()?;
        check_zp(io, 2, x.dtype, Per::Tensor, m, 1)?;
        check_zp(io, 3, wt.dtype, wz, m, 1)?;
        want_numel(&x, product(&[n, c, axes[0].input, axes[1].input, axes[2].input])?)?;
        let kvol = product(&[axes[0].kernel, axes[1].kernel, axes[2].kernel])?;
        want_numel(&wt, product(&[m, c / group, kvol])?)?;
        want_numel(&y, product(&[n, m, axes[0].output, axes[1].output, axes[2].output])?)?;
        Ok(QConv { batch: n, channels: c, out_channels: m, group, axes, wz, ep })
    }

    fn plane(&self, f: impl Fn(&ConvAxis) -> usize) -> usize {
        self.axes.iter().map(f).product()
    }

    /// `(rows of B, columns of B)` of one group's product.
    fn gemm_dims(&self) -> (usize, usize) {
        (self.channels / self.group * self.plane(|a| a.kernel), self.plane(|a| a.output))
    }

    pub fn scratch_bytes(&self) -> usize {
        let (k, n) = self.gemm_dims();
        scratch_for(k, n)
    }

    pub fn macs(&self) -> u64 {
        let (k, n) = self.gemm_dims();
        (self.batch as u64).saturating_mul(self.out_channels as u64).saturating_mul(k as u64).saturating_mul(n as u64)
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        let (Ok(x), Ok(w)) = (io.input(0), io.input(1)) else { return };
        match (x.dtype, w.dtype) {
            (DType::U8, DType::U8) => self.typed::<u8, u8>(mem, io, scratch),
            (DType::U8, _) => self.typed::<u8, i8>(mem, io, scratch),
            (_, DType::U8) => self.typed::<i8, u8>(mem, io, scratch),
            _ => self.typed::<i8, i8>(mem, io, scratch),
        }
    }

    fn typed<X: QElem + crate::mem::Elem, W: QElem + crate::mem::Elem>(
        &self,
        mem: &Mem<'_>,
        io: &Io<'_>,
        scratch: &mut [f32],
    ) {
        let (Ok(x), Ok(w), Some(mut sink)) = (io.input(0), io.input(1), self.ep.sink(mem, io)) else { return };
        let (xv, wv) = (inp::<X>(mem, &x), inp::<W>(mem, &w));
        let xz = zp_at::<X>(zero_points(mem, io.opt(2)), Per::Tensor, 0, 0);
        let wz = zero_points(mem, io.opt(3));
        let (k, l) = self.gemm_dims();
        let (cg, mg) = (self.channels / self.group, self.out_channels / self.group);
        let plane = self.plane(|a| a.input);
        let scratch = scratch_i16(scratch);
        for img in 0..self.batch {
            for g in 0..self.group {
                let src =
                    Im2col { x: &xv[(img * self.channels + g * cg) * plane..], channels: cg, axes: self.axes, zp: xz };
                let a = &wv[g * mg * k..];
                let row = |i: usize| g * mg + i;
                let za = |i: usize| zp_at::<W>(wz, self.wz, row(i), 0);
                let base = img * self.out_channels;
                qgemm(mg, l, k, a, za, &src, scratch, |i, j0, v| sink.put(row(i), j0, (base + row(i)) * l + j0, v));
            }
        }
    }
}

/// The QConv words (see the module doc).
#[cfg(feature = "alloc")]
#[allow(clippy::too_many_arguments)]
pub fn encode_qconv(
    group: usize,
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
    pads_begin: &[isize],
    wz: Per,
    ep: super::qgemm::EpilogueAttrs,
) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    w.usize(group).usize(kernel.len()).usizes(kernel).usizes(strides).usizes(dilations);
    pads_begin.iter().for_each(|&p| {
        w.i32(p as i32);
    });
    w.u32(wz as u32);
    ep.encode(&mut w);
    w.0
}
