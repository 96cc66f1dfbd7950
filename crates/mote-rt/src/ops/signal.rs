//! `Dft` and `Stft`: discrete Fourier transforms (radix-2 FFT for power-of-two lengths, the
//! naive DFT otherwise: `mote_kernels::fast::fft`). Complex values are `[re, im]` pairs on the
//! last axis. The twiddle table `tw [n, 2]` (`exp(-2πi j / n)`) is an input the compiler stores
//! with the model, so the device computes no trigonometry.
//!
//! `Dft`: `x [outer, len, inner, ch]` (`ch` 1 real or 2 complex), `tw [n, 2]` ->
//! `y [outer, bins, inner, ch_out]` along the `len` axis. Attributes
//! `[outer, len, inner, ch, n (>= 1), onesided, inverse]`. The first `min(len, n)` samples are
//! transformed, zero-padded to `n` (a signal longer than `n` is cut). Forward one-sided:
//! `bins = n / 2 + 1`; inverse one-sided (irfft): the first `min(len, n / 2 + 1)` bins are
//! extended by Hermitian symmetry, `bins = n` and `ch_out = 1` (the real part); otherwise
//! `bins = n`, `ch_out = 2`. The inverse divides by `n`.
//!
//! `Stft`: `x [batch, len, ch]`, `tw [fl, 2]`, `window? [fl]` -> `y [batch, frames, bins, 2]`.
//! Attributes `[batch, len, ch, step (>= 1), fl (1..=len), onesided]`; frame `f` is
//! `x[f * step .. f * step + fl]` times the window, `frames = (len - fl) / step + 1`,
//! `bins = fl / 2 + 1` when onesided, else `fl`. All tensors f32.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::fast::fft::dft;

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Real multiply-adds of one length-`n` transform producing `bins` bins (FFT: `2 n log2 n`).
fn transform_macs(n: usize, bins: usize) -> u64 {
    if n.is_power_of_two() {
        2 * n as u64 * u64::from(n.trailing_zeros())
    } else {
        4u64.saturating_mul(n as u64).saturating_mul(bins as u64)
    }
}

fn words<const N: usize>(w: &mut Words<'_, '_>) -> Result<[usize; N], StepFault> {
    let mut d = [0usize; N];
    w.usizes(&mut d, u32::MAX)?;
    Ok(d)
}

#[derive(Clone, Copy, Debug)]
pub struct Dft {
    outer: usize,
    len: usize,
    inner: usize,
    ch: usize,
    n: usize,
    bins: usize,
    inverse: bool,
    irfft: bool,
}

impl Dft {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Dft, StepFault> {
        io.arity(2, 2, 1)?;
        let mut w = Words::new(step);
        let [outer, len, inner, ch, n] = words::<5>(&mut w)?;
        let (onesided, inverse) = (w.bool()?, w.bool()?);
        w.end()?;
        if !(1..=2).contains(&ch) || n == 0 {
            return Err(StepFault::Attrs);
        }
        let irfft = inverse && onesided;
        let bins = if onesided && !inverse { n / 2 + 1 } else { n };
        let ch_out = if irfft { 1 } else { 2 };
        let (x, tw, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        for t in [x, tw, y] {
            want(&t, DType::F32)?;
        }
        want_numel(&x, product(&[outer, len, inner, ch])?)?;
        want_numel(&y, product(&[outer, bins, inner, ch_out])?)?;
        want_numel(&tw, product(&[n, 2])?)?;
        // Scratch: the padded signal and the bins.
        product(&[n.checked_add(bins).ok_or(StepFault::Shape)?, 2, 4])?;
        Ok(Dft { outer, len, inner, ch, n, bins, inverse, irfft })
    }

    pub fn scratch_bytes(&self) -> usize {
        8 * (self.n + self.bins)
    }

    pub fn macs(&self) -> u64 {
        transform_macs(self.n, self.bins).saturating_mul((self.outer as u64).saturating_mul(self.inner as u64))
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        let (Ok(x), Ok(tw), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let Dft { outer, len, inner, ch, n, bins, inverse, irfft } = *self;
        let (xs, tws, ys) = (inp::<f32>(mem, &x), inp::<f32>(mem, &tw), out::<f32>(mem, &y));
        let (buf, res) = scratch[..2 * (n + bins)].split_at_mut(2 * n);
        let take = if irfft { len.min(n / 2 + 1) } else { len.min(n) };
        let ch_out = if irfft { 1 } else { 2 };
        for o in 0..outer {
            for i in 0..inner {
                buf.fill(0.0);
                for k in 0..take {
                    let at = ((o * len + k) * inner + i) * ch;
                    buf[2 * k] = xs[at];
                    if ch == 2 {
                        buf[2 * k + 1] = xs[at + 1];
                    }
                }
                if irfft {
                    // Hermitian extension: X[n - k] = conj(X[k]).
                    for k in n / 2 + 1..n {
                        buf[2 * k] = buf[2 * (n - k)];
                        buf[2 * k + 1] = -buf[2 * (n - k) + 1];
                    }
                }
                dft(buf, inverse, tws, res);
                for k in 0..bins {
                    let p = ((o * bins + k) * inner + i) * ch_out;
                    ys[p] = res[2 * k];
                    if ch_out == 2 {
                        ys[p + 1] = res[2 * k + 1];
                    }
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Stft {
    batch: usize,
    len: usize,
    ch: usize,
    step: usize,
    fl: usize,
    frames: usize,
    bins: usize,
}

impl Stft {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Stft, StepFault> {
        io.arity(2, 3, 1)?;
        let mut w = Words::new(step);
        let [batch, len, ch, hop, fl] = words::<5>(&mut w)?;
        let onesided = w.bool()?;
        w.end()?;
        if !(1..=2).contains(&ch) || hop == 0 || fl == 0 || fl > len {
            return Err(StepFault::Attrs);
        }
        let frames = (len - fl) / hop + 1;
        let bins = if onesided { fl / 2 + 1 } else { fl };
        let (x, tw, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        for t in [x, tw, y] {
            want(&t, DType::F32)?;
        }
        want_numel(&x, product(&[batch, len, ch])?)?;
        want_numel(&y, product(&[batch, frames, bins, 2])?)?;
        want_numel(&tw, product(&[fl, 2])?)?;
        if let Some(win) = io.opt(2) {
            want(&win, DType::F32)?;
            want_numel(&win, fl)?;
        }
        product(&[fl, 2, 4])?;
        Ok(Stft { batch, len, ch, step: hop, fl, frames, bins })
    }

    /// One frame as complex samples.
    pub fn scratch_bytes(&self) -> usize {
        8 * self.fl
    }

    pub fn macs(&self) -> u64 {
        transform_macs(self.fl, self.bins).saturating_mul((self.batch as u64).saturating_mul(self.frames as u64))
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        let (Ok(x), Ok(tw), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let Stft { batch, len, ch, step, fl, frames, bins } = *self;
        let (xs, tws, ys) = (inp::<f32>(mem, &x), inp::<f32>(mem, &tw), out::<f32>(mem, &y));
        let window = io.opt(2).map(|t| inp::<f32>(mem, &t));
        let buf = &mut scratch[..2 * fl];
        for b in 0..batch {
            for f in 0..frames {
                let start = f * step;
                for k in 0..fl {
                    let p = (b * len + start + k) * ch;
                    let g = window.map_or(1.0, |w| w[k]);
                    buf[2 * k] = xs[p] * g;
                    buf[2 * k + 1] = if ch == 2 { xs[p + 1] * g } else { 0.0 };
                }
                let o = (b * frames + f) * bins * 2;
                dft(buf, false, tws, &mut ys[o..o + bins * 2]);
            }
        }
    }
}
