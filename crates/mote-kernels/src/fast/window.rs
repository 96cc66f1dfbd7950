//! Sliding windows over one NCHW plane, vectorized over output positions (shared by depthwise
//! convolution and pooling).
//!
//! The padded input plane is split into `stride_h * stride_w` phase planes (phase `(ry, rx)`
//! holds padded rows `≡ ry (mod stride_h)` and columns `≡ rx (mod stride_w)`, the padding filled
//! with a given value), all with the same row pitch `PW`. Output `(oy, ox)` then reads, for tap
//! `(ky, kx)`, phase `(ky dh % sh, kx dw % sw)` at flat position `(oy + ky dh / sh) * PW + ox +
//! kx dw / sw`: every tap is one contiguous run over the flat output index `oy * PW + ox`.
//! Outputs are computed over that flat index in register chunks of 64 (then 16) positions,
//! whatever the stride, dilation, padding or plane size (small planes such as 7x7 waste few
//! lanes); the `ow` valid columns of each flat row go to the output. Filling the phases of a
//! stride-2 plane deinterleaves input rows with vector shuffles.

use super::activation::{Activation, apply_v};
use super::simd::{ROW, Simd, load_row, store_row};

/// Output positions per large register chunk (four [`ROW`]s); the tail uses one-`ROW` chunks.
const CHUNK: usize = 4 * ROW;
/// Kernels with at most this many taps have their phase offsets computed once per call.
const MAX_TAPS: usize = 64;

/// A 2-D window geometry (sizes are `[height, width]`; `pads` are the begin pads).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub input: [usize; 2],
    pub output: [usize; 2],
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
    pub pads: [usize; 2],
}

/// What a window computes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Reduce<'a> {
    /// `init + sum of tap * x` (taps row-major, `kh * kw` values), in tap order.
    Dot { taps: &'a [f32], init: f32 },
    /// Maximum of the taps (padding reads as `-inf`; a NaN input never wins over an earlier
    /// value).
    Max,
    /// Sum of the taps (padding reads as zero), in tap order.
    Sum,
}

/// The per-call part of a [`Window`] computation ([`Window::plan`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    l: Layout,
    /// Phase offset of each tap (row-major), when `taps > 0`.
    offs: [usize; MAX_TAPS],
    /// Taps in `offs`; 0 when the kernel has more than `MAX_TAPS` taps.
    taps: usize,
}

/// Sizes of the phase planes and the flat output of one plane.
#[derive(Clone, Copy, Debug)]
struct Layout {
    /// Row pitch of every phase plane and of the flat output.
    pw: usize,
    /// Rows per phase plane.
    ph: usize,
    /// Flat output length rounded up to [`ROW`].
    flat: usize,
    /// Floats per phase plane (including the zero tail the last chunk reads).
    plane: usize,
}

impl Window {
    fn layout(&self) -> Layout {
        let ([oh, ow], [kh, kw]) = (self.output, self.kernel);
        let ([sh, sw], [dh, dw]) = (self.strides, self.dilations);
        // Padded extent the outputs read, then per phase.
        let hn = (oh.max(1) - 1) * sh + (kh - 1) * dh + 1;
        let wn = (ow.max(1) - 1) * sw + (kw - 1) * dw + 1;
        let (ph, pw) = (hn.div_ceil(sh), wn.div_ceil(sw));
        let flat = ((oh.max(1) - 1) * pw + ow).div_ceil(ROW) * ROW;
        let reach = (kh - 1) * dh / sh * pw + (kw - 1) * dw / sw;
        Layout { pw, ph, flat, plane: (ph * pw).max(flat + reach) }
    }

    /// Scratch floats [`Window::run`] needs (0 when there are no outputs). Assumes a validated
    /// geometry (no zero kernel, stride or dilation).
    pub fn scratch_len(&self) -> usize {
        if self.output[0] * self.output[1] == 0 {
            return 0;
        }
        self.strides[0] * self.strides[1] * self.layout().plane
    }

    /// What every plane of a call shares: the layout and the tap offsets (computed once: they
    /// take divisions).
    pub fn plan(&self) -> Plan {
        let l = self.layout();
        let [kh, kw] = self.kernel;
        let mut offs = [0usize; MAX_TAPS];
        let taps = kh * kw;
        if taps <= MAX_TAPS {
            for (t, o) in offs[..taps].iter_mut().enumerate() {
                *o = self.tap_offset(&l, t / kw, t % kw);
            }
        }
        Plan { l, offs, taps: if taps <= MAX_TAPS { taps } else { 0 } }
    }

    /// Computes one plane: `y [oh * ow] = act(reduce over the window of x [ih * iw])`, with
    /// `plan` from [`Window::plan`]. `fresh` says `scratch` does not come from the previous plane of the same call (same
    /// geometry and padding value), so its padding must be written.
    #[inline(always)]
    pub fn run<S: Simd>(
        &self,
        plan: &Plan,
        s: S,
        x: &[f32],
        r: Reduce<'_>,
        act: Activation,
        y: &mut [f32],
        scratch: &mut [f32],
        fresh: bool,
    ) {
        let [oh, ow] = self.output;
        if oh * ow == 0 {
            return;
        }
        let l = plan.l;
        let phases = &mut scratch[..self.strides[0] * self.strides[1] * l.plane];
        let pad = if matches!(r, Reduce::Max) { f32::NEG_INFINITY } else { 0.0 };
        if fresh {
            self.pad_phases(&l, pad, phases);
        }
        self.load_phases(s, &l, x, phases);
        let y = &mut y[..oh * ow];
        // Tap offsets from the plan (kernels up to MAX_TAPS taps), else per chunk.
        let offs = (plan.taps > 0).then(|| &plan.offs[..plan.taps]);
        let mut out = [0.0f32; CHUNK];
        let (mut f0, mut pos) = (0, (0, 0));
        while f0 + CHUNK <= l.flat {
            self.chunk::<S, 4>(s, &l, phases, offs, r, act, f0, &mut out);
            self.scatter(s, &l, &mut pos, &out, y);
            f0 += CHUNK;
        }
        while f0 < l.flat {
            self.chunk::<S, 1>(s, &l, phases, offs, r, act, f0, &mut out);
            self.scatter(s, &l, &mut pos, &out[..ROW], y);
            f0 += ROW;
        }
    }

    /// Copies the flat outputs `f0..f0 + vals.len()` that are inside the output (`ox < ow`,
    /// `oy < oh`) into `y`. `pos` is `(oy, ox)` of flat `f0` on entry and of the end on exit
    /// (chunks are consecutive: no divisions per chunk).
    #[inline(always)]
    fn scatter<S: Simd>(&self, s: S, l: &Layout, pos: &mut (usize, usize), vals: &[f32], y: &mut [f32]) {
        let [oh, ow] = self.output;
        let (mut r, mut c) = *pos;
        let (mut i, end) = (0, vals.len());
        while i < end {
            let run = (l.pw - c).min(end - i);
            if r < oh && c < ow {
                let n = (ow - c).min(run);
                copy(s, &vals[i..][..n], &mut y[r * ow + c..][..n]);
            }
            i += run;
            c += run;
            if c == l.pw {
                (r, c) = (r + 1, 0);
            }
        }
        *pos = (r, c);
    }

    /// Writes `pad` over every phase plane and zero over their tails: the parts no input
    /// column lands on, the same for every plane of a geometry.
    fn pad_phases(&self, l: &Layout, pad: f32, phases: &mut [f32]) {
        for plane in phases.chunks_exact_mut(l.plane) {
            let (rows, tail) = plane.split_at_mut(l.ph * l.pw);
            rows.fill(pad);
            tail.fill(0.0);
        }
    }

    /// Copies the input plane `x` into the phase planes (only where input columns land: the
    /// padding written by [`Window::pad_phases`] stays).
    #[inline(always)]
    fn load_phases<S: Simd>(&self, s: S, l: &Layout, x: &[f32], phases: &mut [f32]) {
        let ([ih, iw], [sh, sw]) = (self.input, self.strides);
        let x = &x[..ih * iw];
        if sw == 2 {
            self.load_phases_w2(s, l, x, phases);
            return;
        }
        for (pi, plane) in phases.chunks_exact_mut(l.plane).enumerate() {
            let (ry, rx) = (pi / sw, pi % sw);
            let col0 = rx as isize - self.pads[1] as isize;
            let (lo, hi) = crate::reference::nn::valid_range(l.pw, iw, sw, col0);
            if hi <= lo {
                continue;
            }
            let first = (col0 + (lo * sw) as isize) as usize;
            for (i, row) in plane[..l.ph * l.pw].chunks_exact_mut(l.pw).enumerate() {
                let r = (i * sh + ry) as isize - self.pads[0] as isize;
                if r < 0 || r as usize >= ih {
                    continue;
                }
                let xr = &x[r as usize * iw + first..];
                let dst = &mut row[lo..hi];
                if sw == 1 {
                    copy(s, &xr[..dst.len()], dst);
                } else {
                    for (d, &v) in dst.iter_mut().zip(xr.iter().step_by(sw)) {
                        *d = v;
                    }
                }
            }
        }
    }

    /// [`Window::load_phases`] for horizontal stride 2: each input row is deinterleaved once
    /// into the two column phases with vector shuffles.
    #[inline(always)]
    fn load_phases_w2<S: Simd>(&self, s: S, l: &Layout, x: &[f32], phases: &mut [f32]) {
        let ([ih, iw], sh, pl) = (self.input, self.strides[0], self.pads[1]);
        let pw = l.pw;
        for ry in 0..sh {
            let (p0, p1) = phases[ry * 2 * l.plane..][..2 * l.plane].split_at_mut(l.plane);
            for i in 0..l.ph {
                let r = (i * sh + ry) as isize - self.pads[0] as isize;
                if r < 0 || r as usize >= ih {
                    continue;
                }
                let (row0, row1) = (&mut p0[i * pw..][..pw], &mut p1[i * pw..][..pw]);
                let xr = &x[r as usize * iw..][..iw];
                // Input column `j` is padded column `j + pl`: phase `(j + pl) % 2`, position
                // `(j + pl) / 2`. Even `j` go to `e_row` at `j / 2 + e_off`, odd `j` to `o_row`.
                let (e_row, o_row, e_off, o_off) =
                    if pl % 2 == 0 { (row0, row1, pl / 2, pl / 2) } else { (row1, row0, pl / 2, pl / 2 + 1) };
                let lanes = S::LANES;
                let mut t = 0;
                while 2 * (t + lanes) <= iw && t + lanes + o_off.max(e_off) <= pw {
                    let (e, o) = s.deinterleave(s.load(&xr[2 * t..]), s.load(&xr[2 * t + lanes..]));
                    s.store(&mut e_row[t + e_off..], e);
                    s.store(&mut o_row[t + o_off..], o);
                    t += lanes;
                }
                // Whole pairs that land inside both rows, then the rest one by one.
                let pairs = (iw / 2).min(pw.saturating_sub(e_off.max(o_off)));
                while t < pairs {
                    e_row[t + e_off] = xr[2 * t];
                    o_row[t + o_off] = xr[2 * t + 1];
                    t += 1;
                }
                for (j, &v) in xr.iter().enumerate().skip(2 * t) {
                    let (row, p) = if j % 2 == 0 { (&mut *e_row, j / 2 + e_off) } else { (&mut *o_row, j / 2 + o_off) };
                    if p < pw {
                        row[p] = v;
                    }
                }
            }
        }
    }

    /// Where tap `(ky, kx)` of flat output 0 reads in the phase planes.
    #[inline(always)]
    fn tap_offset(&self, l: &Layout, ky: usize, kx: usize) -> usize {
        let ([sh, sw], [dh, dw]) = (self.strides, self.dilations);
        let (ry, oy) = (ky * dh % sh, ky * dh / sh);
        let (rx, ox) = (kx * dw % sw, kx * dw / sw);
        (ry * sw + rx) * l.plane + oy * l.pw + ox
    }

    /// `Q * ROW` flat outputs from `f0`, stored (activation applied) into `out`.
    #[inline(always)]
    fn chunk<S: Simd, const Q: usize>(
        &self,
        s: S,
        l: &Layout,
        phases: &[f32],
        offs: Option<&[usize]>,
        r: Reduce<'_>,
        act: Activation,
        f0: usize,
        out: &mut [f32],
    ) {
        let [kh, kw] = self.kernel;
        let init = s.splat(match r {
            Reduce::Dot { init, .. } => init,
            Reduce::Max => f32::NEG_INFINITY,
            Reduce::Sum => 0.0,
        });
        let mut acc = [s.row_zero(); Q];
        for row in acc.iter_mut() {
            for v in row.as_mut() {
                *v = init;
            }
        }
        if let Some(offs) = offs {
            for (t, &o) in offs.iter().enumerate() {
                step(s, &mut acc, r, &phases[o + f0..][..Q * ROW], t);
            }
        } else {
            for ky in 0..kh {
                for kx in 0..kw {
                    step(s, &mut acc, r, &phases[self.tap_offset(l, ky, kx) + f0..][..Q * ROW], ky * kw + kx);
                }
            }
        }
        for (q, row) in acc.iter_mut().enumerate() {
            for v in row.as_mut() {
                *v = apply_v(s, act, *v);
            }
            store_row(s, &mut out[q * ROW..], row);
        }
    }
}

/// `dst = src` with vector moves (short rows: no `memcpy` call). Rows of at least one vector
/// end with a vector that overlaps the previous one, which also keeps LLVM from turning the
/// loop into a `memcpy` call.
#[inline(always)]
fn copy<S: Simd>(s: S, src: &[f32], dst: &mut [f32]) {
    let n = dst.len();
    let src = &src[..n];
    if n < S::LANES {
        // Fixed-size pieces (a loop would become a `memcpy` call).
        let mut i = 0;
        for w in [4, 2, 1] {
            if n - i >= w {
                dst[i..i + w].copy_from_slice(&src[i..i + w]);
                i += w;
            }
        }
        debug_assert_eq!(i, n, "fewer than 8 lanes left");
        return;
    }
    let mut i = 0;
    while i + S::LANES < n {
        s.store(&mut dst[i..], s.load(&src[i..]));
        i += S::LANES;
    }
    s.store(&mut dst[n - S::LANES..], s.load(&src[n - S::LANES..]));
}

/// Accumulates tap `t` (reading `src`, `Q * ROW` floats) into `acc`. A function, not a
/// closure: closures are not inlined with the caller's target features.
#[inline(always)]
fn step<S: Simd, const Q: usize>(s: S, acc: &mut [S::Row; Q], r: Reduce<'_>, src: &[f32], t: usize) {
    match r {
        Reduce::Dot { taps, .. } => {
            let wv = s.splat(taps[t]);
            for (q, row) in acc.iter_mut().enumerate() {
                let xv = load_row(s, &src[q * ROW..]);
                for (a, &xv) in row.as_mut().iter_mut().zip(xv.as_ref()) {
                    *a = s.mul_add(wv, xv, *a);
                }
            }
        }
        Reduce::Max => {
            for (q, row) in acc.iter_mut().enumerate() {
                let xv = load_row(s, &src[q * ROW..]);
                for (a, &xv) in row.as_mut().iter_mut().zip(xv.as_ref()) {
                    *a = s.max(xv, *a);
                }
            }
        }
        Reduce::Sum => {
            for (q, row) in acc.iter_mut().enumerate() {
                let xv = load_row(s, &src[q * ROW..]);
                for (a, &xv) in row.as_mut().iter_mut().zip(xv.as_ref()) {
                    *a = s.add(*a, xv);
                }
            }
        }
    }
}
