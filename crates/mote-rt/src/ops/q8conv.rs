//! `Q8Conv` (82): int8 convolution with TFLite's integer-only semantics, channels-last:
//! `y[n, oy, ox, o] = clamp(y_zp + M_o(bias[o] + Σ w[o, ky, kx, ci] (x[..] - x_zp)), lo, hi)`
//! (`mote_kernels::reference::int8::conv2d`; a tap outside the image contributes 0). Covers
//! regular, grouped and depthwise convolutions and, as a 1x1 convolution over `[1, 1, rows, k]`,
//! fully-connected layers.
//!
//! Attributes: `[groups, kh, kw, sh, sw, dh, dw, pad_top, pad_left, x_zp, y_zp, lo, hi]` (the
//! last four i32). Inputs `x [N, H, W, C] (i8), w (i8 [M, kh, kw, C / groups], packed by
//! `mote_kernels::fast::int8::conv_pack`, `layout_param` = `Q8_PACK_VERSION`), bias [M] (i32),
//! mult [M] (i32, Q31 significands), shift [M] (i32, powers of two)`; output `y [N, OH, OW, M]
//! (i8)`. Scratch: `conv_scratch_min` to `conv_scratch_len` i32 values (more is faster).

use mote_core::DType;
use mote_format::{Layout, StepRef};
use mote_kernels::fast::Cpu;
use mote_kernels::fast::int8::{Q8_PACK_VERSION, conv_pack_len, conv_scratch_len, conv_scratch_min, conv2d};
use mote_kernels::reference::int8::{Conv2d, Requant};

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Largest stride, dilation or pad.
const MAX_GEOM: u32 = 1 << 16;

/// An i8 zero point or clamp bound from the words.
pub(super) fn q8(w: &mut Words<'_, '_>) -> Result<i32, StepFault> {
    let v = w.i32()?;
    if (-128..=127).contains(&v) { Ok(v) } else { Err(StepFault::Attrs) }
}

/// `[lo, hi]` clamp words (`lo <= hi`, both i8 values).
pub(super) fn clamp_words(w: &mut Words<'_, '_>) -> Result<(i32, i32), StepFault> {
    let (lo, hi) = (q8(w)?, q8(w)?);
    if lo <= hi { Ok((lo, hi)) } else { Err(StepFault::Attrs) }
}

/// The four dims of a rank-4 plain tensor.
pub(super) fn nhwc(t: &mote_format::TensorRef<'_>) -> Result<[usize; 4], StepFault> {
    if t.rank != 4 {
        return Err(StepFault::Shape);
    }
    let d = t.dims();
    Ok([d[0] as usize, d[1] as usize, d[2] as usize, d[3] as usize])
}

/// A decoded Q8Conv step.
#[derive(Clone, Copy, Debug)]
pub struct Q8Conv {
    g: Conv2d,
    x_zp: i32,
    y_zp: i32,
    lo: i32,
    hi: i32,
}

impl Q8Conv {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Q8Conv, StepFault> {
        io.arity(5, 5, 1)?;
        let mut w = Words::new(step);
        let groups = w.upto(u32::MAX)?;
        let (kh, kw) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let (sh, sw, dh, dw) = (w.upto(MAX_GEOM)?, w.upto(MAX_GEOM)?, w.upto(MAX_GEOM)?, w.upto(MAX_GEOM)?);
        let (pad_top, pad_left) = (w.upto(MAX_GEOM)?, w.upto(MAX_GEOM)?);
        let (x_zp, y_zp) = (q8(&mut w)?, q8(&mut w)?);
        let (lo, hi) = clamp_words(&mut w)?;
        w.end()?;
        if groups == 0 || kh == 0 || kw == 0 || sh == 0 || sw == 0 || dh == 0 || dw == 0 {
            return Err(StepFault::Attrs);
        }
        let (x, wt, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        for t in [x, wt, y] {
            want(&t, DType::I8)?;
        }
        let [n, h, wd, c] = nhwc(&x)?;
        let [yn, oh, ow, m] = nhwc(&y)?;
        if yn != n || c % groups != 0 || m % groups != 0 {
            return Err(StepFault::Shape);
        }
        let g = Conv2d { n, h, w: wd, c, m, groups, kh, kw, sh, sw, dh, dw, pad_top, pad_left, oh, ow };
        want_numel(&x, product(&[n, h, wd, c])?)?;
        let packed = conv_pack_len(&g).ok_or(StepFault::Shape)?;
        if wt.layout != Layout::Packed || wt.layout_param != Q8_PACK_VERSION || wt.nbytes < packed as u64 {
            return Err(StepFault::Shape);
        }
        conv_scratch_len(&g).ok_or(StepFault::Shape)?;
        want_numel(&y, product(&[n, oh, ow, m])?)?;
        for i in 2..5 {
            let t = io.input(i)?;
            want(&t, DType::I32)?;
            want_numel(&t, m)?;
        }
        // Window coordinates stay far from overflow (the kernel computes them in isize).
        let reach = |o: usize, s: usize, k: usize, d: usize| (o as u64) * (s as u64) + (k as u64) * (d as u64);
        if reach(oh, sh, kh, dh) > i32::MAX as u64 / 2 || reach(ow, sw, kw, dw) > i32::MAX as u64 / 2 {
            return Err(StepFault::Shape);
        }
        Ok(Q8Conv { g, x_zp, y_zp, lo, hi })
    }

    pub fn scratch_bytes(&self) -> usize {
        conv_scratch_len(&self.g).map_or(usize::MAX, |n| n.saturating_mul(4))
    }

    pub fn scratch_min_bytes(&self) -> usize {
        conv_scratch_min(&self.g).map_or(usize::MAX, |n| n.saturating_mul(4))
    }

    pub fn macs(&self) -> u64 {
        let g = &self.g;
        [g.n, g.oh, g.ow, g.m, g.kh, g.kw, g.c / g.groups].iter().fold(1u64, |a, &d| a.saturating_mul(d as u64))
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32], cpu: Cpu) {
        // One tensor record at a time, each made a slice at once (a small frame on a
        // microcontroller's stack).
        let slice = |i: usize| io.input(i).map(|t| inp::<u8>(mem, &t));
        let (Ok(x), Ok(w), Ok(y)) = (io.input(0).map(|t| inp::<i8>(mem, &t)), slice(1), io.output(0)) else {
            return;
        };
        let y = out::<i8>(mem, &y);
        let Ok(rq) = requant(mem, io, 2, (self.y_zp, self.lo, self.hi)) else { return };
        conv2d(cpu, &self.g, x, self.x_zp, w, &rq, y, i32s(scratch));
    }
}

/// The output stage of an int8 product from its `bias`, `mult` and `shift` tensors (inputs
/// `first`, `first + 1` and `first + 2`).
pub(super) fn requant<'m>(
    mem: &Mem<'m>,
    io: &Io<'_>,
    first: usize,
    (zp, lo, hi): (i32, i32, i32),
) -> Result<Requant<'m>, StepFault> {
    let vec = |i: usize| io.input(first + i).map(|t| inp::<i32>(mem, &t));
    Ok(Requant { bias: vec(0)?, mult: vec(1)?, shift: vec(2)?, zp, lo, hi })
}

/// The f32 scratch as i32 values.
pub(super) fn i32s(scratch: &mut [f32]) -> &mut [i32] {
    // SAFETY: every bit pattern is a valid i32, and f32 and i32 have the same size and
    // alignment, so the prefix and suffix are empty.
    unsafe { scratch.align_to_mut::<i32>() }.1
}

/// The Q8Conv words (see the module doc).
#[cfg(feature = "alloc")]
pub fn encode_q8conv(g: &Conv2d, x_zp: i32, y_zp: i32, lo: i32, hi: i32) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    w.usize(g.groups).usize(g.kh).usize(g.kw).usize(g.sh).usize(g.sw).usize(g.dh).usize(g.dw);
    w.usize(g.pad_top).usize(g.pad_left).i32(x_zp).i32(y_zp).i32(lo).i32(hi);
    w.0
}
