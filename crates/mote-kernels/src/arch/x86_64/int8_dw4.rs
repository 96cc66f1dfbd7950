//! Depthwise convolution (multiplier 1) with AVX-512 VNNI `vpdpbusd`, 32 channels a block:
//! the taps are grouped by four kernel *rows* at the same `kx`, so one input column of four
//! rows, made unsigned (`x ^ 0x80 = x + 128`) and interleaved byte-wise, feeds four 4-deep dot
//! products per 8 channels, and serves every output pixel of a group that reads it (as in
//! [`super::int8_dw`]). Taps outside the image read the input zero point; the per-channel term
//! `(zp + 128) Σw` folds into the bias.
//!
//! The interleave works within 128-bit lanes, so the four accumulators of a pixel hold the
//! channels `[0-3 | 16-19]`, `[4-7 | 20-23]`, `[8-11 | 24-27]`, `[12-15 | 28-31]` of the block;
//! the requantization constants are permuted the same way once per block, and one `vpermd`
//! puts the 32 output bytes back in order.

use super::int8_rq512::{Rq16, rq16, rq16_bytes, rq16_i32};
use crate::fast::int8::kernels::Rq;
use crate::reference::int8::Conv2d;
use core::arch::x86_64::*;

/// `$body` once per value of the list, with `$v` that value.
macro_rules! unroll {
    ($v:ident in [$($i:literal),*] $body:block) => {
        $({
            let $v: usize = $i;
            $body
        })*
    };
}

/// Most kernel rows the kernel takes (quads of rows in [`MAX_QUADS`]).
const MAX_QUADS: usize = 1;
/// Most kernel columns the kernel takes.
const MAX_COLS: usize = 5;
/// Output pixels per group.
const P: usize = 4;
/// The hand unrolling of `Block::group` covers `(P - 1) * 2 + MAX_COLS` columns and `P` pixels.
const _: () = assert!((P - 1) * 2 + MAX_COLS <= 13 && P <= 4);
/// Output pixels a weight setup serves at least (whole rows of a band).
const BAND_PIXELS: usize = 256;
/// The channel of each accumulator lane (`[acc 0 | acc 1 | acc 2 | acc 3]`, 8 lanes each).
const LANE_CH: [usize; 32] = {
    let base = [0, 16, 4, 20, 8, 24, 12, 28];
    let mut t = [0; 32];
    let mut j = 0;
    while j < 32 {
        t[j] = base[j / 4] + j % 4;
        j += 1;
    }
    t
};

/// Whether the kernel takes the depthwise convolution `g`: at least 32 channels, column
/// dilation 1, column stride 1 or 2, at most `4 * MAX_QUADS` x [`MAX_COLS`] taps.
pub(super) fn takes(g: &Conv2d) -> bool {
    g.is_depthwise()
        && g.c >= 32
        && g.dw == 1
        && (g.sw == 1 || g.sw == 2)
        && (1..=MAX_COLS).contains(&g.kw)
        && (1..=4 * MAX_QUADS).contains(&g.kh)
}

/// The depthwise convolution `g` ([`takes`] holds): `y[.., ch] = rq(ch, Σ (x - zp) w)` with the
/// packed depthwise weights `w` (tap-major, `kh * kw * c`), `rq.cb` the bias.
///
/// # Safety
/// AVX2 and AVX-512 F, BW, DQ, VL and VNNI are available; [`takes`] holds, `x`, `w`, `y` hold
/// the geometry's elements, `rq`'s slices `c` channels, `zp` is in `[-128, 127]`.
#[inline(always)]
pub(super) unsafe fn conv(g: &Conv2d, x: *const i8, zp: i32, w: *const i8, rq: &Rq<'_>, y: *mut i8) {
    // SAFETY: caller.
    unsafe {
        match (g.kw, g.sw == 2) {
            (1, false) => conv_t::<1, 1>(g, x, zp, w, rq, y),
            (2, false) => conv_t::<2, 1>(g, x, zp, w, rq, y),
            (3, false) => conv_t::<3, 1>(g, x, zp, w, rq, y),
            (4, false) => conv_t::<4, 1>(g, x, zp, w, rq, y),
            (5, false) => conv_t::<5, 1>(g, x, zp, w, rq, y),
            (1, true) => conv_t::<1, 2>(g, x, zp, w, rq, y),
            (2, true) => conv_t::<2, 2>(g, x, zp, w, rq, y),
            (3, true) => conv_t::<3, 2>(g, x, zp, w, rq, y),
            (4, true) => conv_t::<4, 2>(g, x, zp, w, rq, y),
            _ => conv_t::<5, 2>(g, x, zp, w, rq, y),
        }
    }
}

/// [`conv_n`] in a function of its own per instance (one large function for all of them
/// allocates registers worse).
///
/// # Safety
/// As [`conv_n`].
#[inline(never)]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn conv_t<const NX: usize, const S: usize>(
    g: &Conv2d,
    x: *const i8,
    zp: i32,
    w: *const i8,
    rq: &Rq<'_>,
    y: *mut i8,
) {
    super::int8_dw::align_frame();
    // SAFETY: caller.
    unsafe { conv_n::<NX, S>(g, x, zp, w, rq, y) }
}

/// The quad weights of one block: `[quad][kx][accumulator]`.
type Wq = [[[__m256i; 4]; MAX_COLS]; MAX_QUADS];

/// Four 32-byte rows interleaved byte-wise into the four accumulator layouts.
///
/// # Safety
/// AVX2 is available.
#[inline(always)]
unsafe fn interleave(r: [__m256i; 4]) -> [__m256i; 4] {
    // SAFETY: caller (features); register-only operations.
    unsafe {
        let (a, b) = (_mm256_unpacklo_epi8(r[0], r[1]), _mm256_unpacklo_epi8(r[2], r[3]));
        let (c, d) = (_mm256_unpackhi_epi8(r[0], r[1]), _mm256_unpackhi_epi8(r[2], r[3]));
        [
            _mm256_unpacklo_epi16(a, b),
            _mm256_unpackhi_epi16(a, b),
            _mm256_unpacklo_epi16(c, d),
            _mm256_unpackhi_epi16(c, d),
        ]
    }
}

/// [`conv`] with `NX` kernel columns and column stride `S`.
///
/// # Safety
/// As [`conv`], with `g.kw == NX` and `g.sw == S`.
#[inline(always)]
unsafe fn conv_n<const NX: usize, const S: usize>(
    g: &Conv2d,
    x: *const i8,
    zp: i32,
    w: *const i8,
    rq: &Rq<'_>,
    y: *mut i8,
) {
    // SAFETY (whole body): caller; input reads happen only at rows and columns inside the image
    // (`Block::group`), else at `pad`; weight reads are taps `< kh * kw`, channel blocks end at
    // or before `c`.
    unsafe {
        let c = g.c;
        let nq = g.kh.div_ceil(4);
        let pad = [zp as i8; 32];
        let ones = _mm256_set1_epi8(1);
        let zpv = _mm256_set1_epi32(zp + 128);
        let band = BAND_PIXELS.div_ceil(g.ow.max(1)).max(1);
        let nblk = c.div_ceil(32);
        let mut wq: Wq = [[[_mm256_setzero_si256(); 4]; MAX_COLS]; MAX_QUADS];
        for b in 0..g.n {
            for oy0 in (0..g.oh).step_by(band) {
                for blk in 0..nblk {
                    // The last block overlaps the previous one when 32 does not divide `c`:
                    // the overlap is written twice with the same values.
                    let ch = (32 * blk).min(c - 32);
                    let mut sum = [_mm256_setzero_si256(); 4];
                    for (iq, wi) in wq.iter_mut().enumerate().take(nq) {
                        for (j, wij) in wi.iter_mut().enumerate().take(NX) {
                            let mut rows = [_mm256_setzero_si256(); 4];
                            for (k, r) in rows.iter_mut().enumerate() {
                                let ky = 4 * iq + k;
                                if ky < g.kh {
                                    *r = _mm256_loadu_si256(w.add((ky * NX + j) * c + ch).cast());
                                }
                            }
                            *wij = interleave(rows);
                            for (s, &v) in sum.iter_mut().zip(wij.iter()) {
                                *s = _mm256_dpbusd_epi32(*s, ones, v);
                            }
                        }
                    }
                    // Σ (x - zp) w = Σ (x + 128) w - (zp + 128) Σw (mod 2^32, like the
                    // reference's wrapping sum); padded taps read zp and add 0.
                    let d = [
                        _mm256_mullo_epi32(zpv, sum[0]),
                        _mm256_mullo_epi32(zpv, sum[1]),
                        _mm256_mullo_epi32(zpv, sum[2]),
                        _mm256_mullo_epi32(zpv, sum[3]),
                    ];
                    // The output stage in the accumulators' channel order.
                    let mut cb = [0i32; 32];
                    let mut mult = [0i32; 32];
                    let mut shift = [0i32; 32];
                    for (j, &l) in LANE_CH.iter().enumerate() {
                        cb[j] = rq.cb[ch + l];
                        mult[j] = rq.mult[ch + l];
                        shift[j] = rq.shift[ch + l];
                    }
                    let rp = Rq { cb: &cb, mult: &mult, shift: &shift, ..*rq };
                    let bl = Block {
                        g,
                        x,
                        ch,
                        pad: pad.as_ptr(),
                        nq,
                        wq: &wq,
                        r01: rq16(&rp, 0, d[0], d[1]),
                        r23: rq16(&rp, 16, d[2], d[3]),
                    };
                    bl.rows::<NX, S>(b, oy0..(oy0 + band).min(g.oh), y);
                }
            }
        }
    }
}

/// One block of 32 channels with its weights and output stage.
struct Block<'a> {
    g: &'a Conv2d,
    x: *const i8,
    /// First channel of the block.
    ch: usize,
    /// 32 bytes of the input zero point: what taps outside the image read.
    pad: *const i8,
    /// Row quads.
    nq: usize,
    wq: &'a Wq,
    /// The output stage of accumulators 0 and 1, and of 2 and 3.
    r01: Rq16,
    r23: Rq16,
}

impl Block<'_> {
    /// Output rows `rows` of image `b`, in groups of [`P`] pixels.
    ///
    /// # Safety
    /// As [`conv_n`].
    #[inline(always)]
    unsafe fn rows<const NX: usize, const S: usize>(&self, b: usize, rows: core::ops::Range<usize>, y: *mut i8) {
        // SAFETY (whole body): caller; row addresses are formed with wrapping arithmetic and
        // dereferenced (in `group`) only when the row and column are inside the image.
        unsafe {
            let g = self.g;
            let c = g.c;
            for oy in rows {
                // Per kernel row (4 per quad): address of its column 0, or null outside the
                // image (read as padding).
                let mut base = [core::ptr::null::<i8>(); 4 * MAX_QUADS];
                for (ky, r) in base.iter_mut().enumerate().take(g.kh) {
                    let iy = (oy * g.sh + ky * g.dh) as isize - g.pad_top as isize;
                    if iy >= 0 && (iy as usize) < g.h {
                        *r = self.x.wrapping_add(((b * g.h + iy as usize) * g.w) * c + self.ch);
                    }
                }
                let yr = y.add(((b * g.oh + oy) * g.ow) * c + self.ch);
                let rows_in = base.iter().take(g.kh).all(|r| !r.is_null());
                // Rows past `kh` (zero weights) read the last row again.
                let last = base[g.kh - 1];
                for r in base.iter_mut().take(4 * self.nq).skip(g.kh) {
                    *r = last;
                }
                let mut ox = 0;
                while ox + P <= g.ow {
                    // Columns and rows all inside the image: no padding checks.
                    let ix0 = (ox * S) as isize - g.pad_left as isize;
                    if rows_in && ix0 >= 0 && ix0 as usize + (P - 1) * S + NX <= g.w {
                        self.group::<NX, S, P, false>(&base, ox, yr.add(ox * c));
                    } else {
                        self.group::<NX, S, P, true>(&base, ox, yr.add(ox * c));
                    }
                    ox += P;
                }
                while ox < g.ow {
                    self.group::<NX, S, 1, true>(&base, ox, yr.add(ox * c));
                    ox += 1;
                }
            }
        }
    }

    /// Output pixels `ox..ox + N` of one row (written at `y`, `c` apart): the
    /// `(N - 1) * S + NX` input columns they read, each interleaved once per row quad.
    ///
    /// # Safety
    /// As [`conv_n`]; the pixels are in the row; without `CHECK`, every column and kernel row
    /// `< kh` they read is inside the image.
    #[inline(always)]
    unsafe fn group<const NX: usize, const S: usize, const N: usize, const CHECK: bool>(
        &self,
        base: &[*const i8; 4 * MAX_QUADS],
        ox: usize,
        y: *mut i8,
    ) {
        // SAFETY (whole body): caller; a column is read only when `0 <= ix < w` and its row is
        // inside the image (checked here with `CHECK`, by the caller without), else the
        // zero-point bytes.
        unsafe {
            let g = self.g;
            let c = g.c;
            let ix0 = (ox * S) as isize - g.pad_left as isize;
            let flip = _mm256_set1_epi8(-128);
            let mut acc = [[_mm256_setzero_si256(); 4]; N];
            for iq in 0..self.nq {
                let rb = [base[4 * iq], base[4 * iq + 1], base[4 * iq + 2], base[4 * iq + 3]];
                let wi = &self.wq[iq];
                unroll!(q in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] {
                    if q < (N - 1) * S + NX {
                        let ix = ix0 + q as isize;
                        let inside = ix >= 0 && (ix as usize) < g.w;
                        let mut rows = [flip; 4];
                        for (r, &a) in rows.iter_mut().zip(rb.iter()) {
                            let at = if !CHECK || (inside && !a.is_null()) {
                                a.wrapping_add(ix as usize * c)
                            } else {
                                self.pad
                            };
                            *r = _mm256_xor_si256(_mm256_loadu_si256(at.cast()), flip);
                        }
                        let xq = interleave(rows);
                        unroll!(p in [0, 1, 2, 3] {
                            if p < N && q >= p * S && q - p * S < NX {
                                let wj = &wi[q - p * S];
                                for k in 0..4 {
                                    acc[p][k] = _mm256_dpbusd_epi32(acc[p][k], xq[k], wj[k]);
                                }
                            }
                        });
                    }
                });
            }
            let order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
            for (p, ap) in acc.iter().enumerate() {
                let v01 = rq16_i32(_mm512_inserti64x4::<1>(_mm512_castsi256_si512(ap[0]), ap[1]), &self.r01);
                let v23 = rq16_i32(_mm512_inserti64x4::<1>(_mm512_castsi256_si512(ap[2]), ap[3]), &self.r23);
                let (b01, b23) = (rq16_bytes(v01, &self.r01), rq16_bytes(v23, &self.r23));
                // Dwords (4 channels each) [0-3, 16-19, 4-7, 20-23 | 8-11, 24-27, 12-15, 28-31].
                let bytes = _mm256_permutevar8x32_epi32(_mm256_set_m128i(b23, b01), order);
                _mm256_storeu_si256(y.add(p * c).cast(), bytes);
            }
        }
    }
}
