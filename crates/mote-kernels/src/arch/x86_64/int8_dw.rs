//! Depthwise convolution (multiplier 1) for x86_64, AVX2 and AVX-512 VNNI, sliding along the
//! output rows: the taps are paired by kernel *rows* (`(ky, ky + 1)` at the same `kx`), so one
//! interleaved, sign-extended input column serves every output pixel of a group that reads it
//! (up to `kw` of them at stride 1). Taps outside the image read the input zero point (they
//! then add exactly 0, as in the reference), so one set of weights serves every pixel: per
//! block of 16 channels and band of output rows the paired weights are widened once and the
//! zero-point term `zp Σw` folds into the bias. AVX2 multiplies with `vpmaddwd` + `vpaddd`,
//! VNNI with `vpdpwssd` and requantizes 16 lanes at a time ([`super::int8_rq512`]).

use super::int8::{Fin, Rq8, fin, finish16, mbqm8, rq8};
use super::int8_rq512::{Rq16, rq16, rq16_apply};
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

/// Most kernel rows the kernel takes (pairs of rows in [`MAX_PAIRS`]).
const MAX_ROWS: usize = 8;
const MAX_PAIRS: usize = MAX_ROWS / 2;
/// Most kernel columns the kernel takes.
const MAX_COLS: usize = 5;
/// Output pixels per group.
const P: usize = 4;
/// The hand unrolling of `Block::group` covers `(P - 1) * 2 + MAX_COLS` columns and `P` pixels.
const _: () = assert!((P - 1) * 2 + MAX_COLS <= 13 && P <= 4);
/// Output pixels a weight setup serves at least (whole rows of a band).
const BAND_PIXELS: usize = 256;

/// Whether the kernel takes the depthwise convolution `g`: at least 8 channels, column
/// dilation 1, column stride 1 or 2, at most [`MAX_ROWS`] x [`MAX_COLS`] taps.
pub(super) fn takes(g: &Conv2d) -> bool {
    g.is_depthwise()
        && g.c >= 8
        && g.dw == 1
        && (g.sw == 1 || g.sw == 2)
        && (1..=MAX_COLS).contains(&g.kw)
        && (1..=MAX_ROWS).contains(&g.kh)
}

/// The depthwise convolution `g` ([`takes`] holds): `y[.., ch] = rq(ch, Σ (x - zp) w)` with the
/// packed depthwise weights `w` (tap-major, `kh * kw * c`), `rq.cb` the bias.
///
/// # Safety
/// AVX2 is available, and AVX-512 F, BW, DQ, VL and VNNI when `VNNI`; [`takes`] holds, `x`,
/// `w`, `y` hold the geometry's elements, `rq`'s slices `c` channels, `zp` is in `[-128, 127]`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) unsafe fn conv<const VNNI: bool>(g: &Conv2d, x: *const i8, zp: i32, w: *const i8, rq: &Rq<'_>, y: *mut i8) {
    // SAFETY: caller.
    unsafe {
        match (g.kw, g.sw == 2) {
            (1, false) => conv_t::<VNNI, 1, 1>(g, x, zp, w, rq, y),
            (2, false) => conv_t::<VNNI, 2, 1>(g, x, zp, w, rq, y),
            (3, false) => conv_t::<VNNI, 3, 1>(g, x, zp, w, rq, y),
            (4, false) => conv_t::<VNNI, 4, 1>(g, x, zp, w, rq, y),
            (5, false) => conv_t::<VNNI, 5, 1>(g, x, zp, w, rq, y),
            (1, true) => conv_t::<VNNI, 1, 2>(g, x, zp, w, rq, y),
            (2, true) => conv_t::<VNNI, 2, 2>(g, x, zp, w, rq, y),
            (3, true) => conv_t::<VNNI, 3, 2>(g, x, zp, w, rq, y),
            (4, true) => conv_t::<VNNI, 4, 2>(g, x, zp, w, rq, y),
            _ => conv_t::<VNNI, 5, 2>(g, x, zp, w, rq, y),
        }
    }
}

/// [`conv_n`] in a function of its own per instance (one large function for all of them
/// allocates registers worse).
///
/// # Safety
/// As [`conv_n`].
#[inline(always)]
unsafe fn conv_t<const VNNI: bool, const NX: usize, const S: usize>(
    g: &Conv2d,
    x: *const i8,
    zp: i32,
    w: *const i8,
    rq: &Rq<'_>,
    y: *mut i8,
) {
    // SAFETY: caller.
    unsafe { if VNNI { conv_vnni::<NX, S>(g, x, zp, w, rq, y) } else { conv_avx2::<NX, S>(g, x, zp, w, rq, y) } }
}

/// [`conv_n`] with AVX2.
///
/// # Safety
/// As [`conv_n`] without `VNNI`.
#[inline(never)]
#[target_feature(enable = "avx2")]
unsafe fn conv_avx2<const NX: usize, const S: usize>(
    g: &Conv2d,
    x: *const i8,
    zp: i32,
    w: *const i8,
    rq: &Rq<'_>,
    y: *mut i8,
) {
    align_frame();
    // SAFETY: caller.
    unsafe { conv_n::<false, NX, S>(g, x, zp, w, rq, y) }
}

/// [`conv_n`] with AVX-512 VNNI.
///
/// # Safety
/// As [`conv_n`] with `VNNI`.
#[inline(never)]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn conv_vnni<const NX: usize, const S: usize>(
    g: &Conv2d,
    x: *const i8,
    zp: i32,
    w: *const i8,
    rq: &Rq<'_>,
    y: *mut i8,
) {
    align_frame();
    // SAFETY: caller.
    unsafe { conv_n::<true, NX, S>(g, x, zp, w, rq, y) }
}

/// A 64-byte aligned stack object (see [`align_frame`]).
#[repr(align(64))]
struct Align64([u8; 64]);

/// Makes the calling function's frame 64-byte aligned: the depthwise kernels spill vector
/// registers, and spill slots straddling cache lines (the frame's alignment otherwise depends
/// on the caller's stack) made them up to 2x slower, varying from build to build.
#[inline(always)]
pub(super) fn align_frame() {
    // A local (a `&Align64(..)` constant would be promoted to a static).
    let a = Align64([0; 64]);
    core::hint::black_box(&a.0);
}

/// The paired weights of one block: `[pair][kx][half]`.
type Wv = [[[__m256i; 2]; MAX_COLS]; MAX_PAIRS];

/// The output stage of one block of 16 channels.
trait BlockRq {
    /// The 16 output bytes of the accumulators of channels 0..8 and 8..16.
    ///
    /// # Safety
    /// The features of the path that made `self` are available.
    unsafe fn out(&self, a0: __m256i, a1: __m256i) -> __m128i;
}

/// AVX2: two [`mbqm8`] and [`finish16`].
impl BlockRq for (Rq8, Rq8, Fin) {
    #[inline(always)]
    unsafe fn out(&self, a0: __m256i, a1: __m256i) -> __m128i {
        // SAFETY: caller (AVX2).
        unsafe { finish16(mbqm8(a0, &self.0), mbqm8(a1, &self.1), &self.2) }
    }
}

/// AVX-512: [`rq16_apply`].
impl BlockRq for Rq16 {
    #[inline(always)]
    unsafe fn out(&self, a0: __m256i, a1: __m256i) -> __m128i {
        // SAFETY: caller (AVX-512 F, BW, DQ, VL).
        unsafe { rq16_apply(a0, a1, self) }
    }
}

/// The output stage of a half block (8 channels, fewer than 16 in the convolution) for two
/// pixels at once: `out(a0, a1)` gives the 8 bytes of the pixel of `a0`, then those of `a1`.
/// AVX2: two [`mbqm8`] and one [`finish16`].
struct HalfRq(Rq8, Fin);

impl BlockRq for HalfRq {
    #[inline(always)]
    unsafe fn out(&self, a0: __m256i, a1: __m256i) -> __m128i {
        // SAFETY: caller (AVX2).
        unsafe { finish16(mbqm8(a0, &self.0), mbqm8(a1, &self.0), &self.1) }
    }
}

/// [`HalfRq`] with AVX-512: one [`rq16_apply`] whose constants repeat the 8 channels.
struct HalfRq16(Rq16);

impl BlockRq for HalfRq16 {
    #[inline(always)]
    unsafe fn out(&self, a0: __m256i, a1: __m256i) -> __m128i {
        // SAFETY: caller (AVX-512 F, BW, DQ, VL).
        unsafe { rq16_apply(a0, a1, &self.0) }
    }
}

/// One input row of a pair for an output row: the address of its column 0 (channel 0) and
/// the range of group-relative columns inside the image is computed per group from these.
#[derive(Clone, Copy)]
struct Row {
    /// Address of the row's first pixel, channel 0 (not dereferenced when `!ok`).
    base: *const i8,
    /// The row is inside the image.
    ok: bool,
}

/// [`conv`] with `NX` kernel columns and column stride `S`.
///
/// # Safety
/// As [`conv`], with `g.kw == NX` and `g.sw == S`.
#[inline(always)]
unsafe fn conv_n<const VNNI: bool, const NX: usize, const S: usize>(
    g: &Conv2d,
    x: *const i8,
    zp: i32,
    w: *const i8,
    rq: &Rq<'_>,
    y: *mut i8,
) {
    // SAFETY (whole body): caller; input reads happen only at rows and columns inside the image
    // (`Row::ok` and the column range of `Block::group`), else at `pad`; weight reads are taps
    // `< kh * kw`, channel blocks end at or before `c`.
    unsafe {
        let c = g.c;
        let np = g.kh.div_ceil(2);
        let pad = [zp as i8; 16];
        let one = _mm256_set1_epi16(1);
        let zpv = _mm256_set1_epi32(zp);
        let band = BAND_PIXELS.div_ceil(g.ow.max(1)).max(1);
        // Fewer than 16 channels: half blocks of 8 (8-byte loads and stores, `hi` unused).
        let half = c < 16;
        let bw = if half { 8 } else { 16 };
        let nblk = c.div_ceil(bw);
        let load = |p: *const i8| if half { _mm_loadl_epi64(p.cast()) } else { _mm_loadu_si128(p.cast()) };
        let mut wv: Wv = [[[_mm256_setzero_si256(); 2]; MAX_COLS]; MAX_PAIRS];
        for b in 0..g.n {
            for oy0 in (0..g.oh).step_by(band) {
                for blk in 0..nblk {
                    // The last block overlaps the previous one when `bw` does not divide `c`:
                    // the overlap is written twice with the same values.
                    let ch = (bw * blk).min(c - bw);
                    let (mut s0, mut s1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
                    for (i, wi) in wv.iter_mut().enumerate().take(np) {
                        for (j, wij) in wi.iter_mut().enumerate().take(NX) {
                            let w0 = load(w.add((2 * i * NX + j) * c + ch));
                            let w1 = if 2 * i + 1 < g.kh {
                                load(w.add(((2 * i + 1) * NX + j) * c + ch))
                            } else {
                                _mm_setzero_si128()
                            };
                            let lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(w0, w1));
                            let hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(w0, w1));
                            *wij = [lo, hi];
                            s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(lo, one));
                            s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(hi, one));
                        }
                    }
                    // Σ (x - zp) w = Σ x w - zp Σw (mod 2^32, like the reference's wrapping
                    // sum); padded taps read zp and add 0.
                    let (d0, d1) = (_mm256_mullo_epi32(zpv, s0), _mm256_mullo_epi32(zpv, s1));
                    let rows = oy0..(oy0 + band).min(g.oh);
                    if half && VNNI {
                        // The block's 8 channels twice (two pixels per output stage).
                        let dup = |v: &[i32]| -> [i32; 16] { core::array::from_fn(|j| v[ch + j % 8]) };
                        let (cb, mult, shift) = (dup(rq.cb), dup(rq.mult), dup(rq.shift));
                        let r2 = Rq { cb: &cb, mult: &mult, shift: &shift, ..*rq };
                        let hr = HalfRq16(rq16(&r2, 0, d0, d0));
                        let bl = Block { g, x, ch, pad: pad.as_ptr(), np, wv: &wv, rq: hr };
                        bl.rows::<VNNI, NX, S, true>(b, rows, y);
                    } else if half {
                        let mut p0 = rq8(rq, ch);
                        p0.cb = _mm256_sub_epi32(p0.cb, d0);
                        let f = fin(rq.zp, rq.lo, rq.hi);
                        let bl = Block { g, x, ch, pad: pad.as_ptr(), np, wv: &wv, rq: HalfRq(p0, f) };
                        bl.rows::<VNNI, NX, S, true>(b, rows, y);
                    } else if VNNI {
                        let bl = Block { g, x, ch, pad: pad.as_ptr(), np, wv: &wv, rq: rq16(rq, ch, d0, d1) };
                        bl.rows::<VNNI, NX, S, false>(b, rows, y);
                    } else {
                        let (mut p0, mut p1) = (rq8(rq, ch), rq8(rq, ch + 8));
                        p0.cb = _mm256_sub_epi32(p0.cb, d0);
                        p1.cb = _mm256_sub_epi32(p1.cb, d1);
                        let f = fin(rq.zp, rq.lo, rq.hi);
                        let bl = Block { g, x, ch, pad: pad.as_ptr(), np, wv: &wv, rq: (p0, p1, f) };
                        bl.rows::<VNNI, NX, S, false>(b, rows, y);
                    }
                }
            }
        }
    }
}

/// One block of 16 channels (or a half block of 8) with its weights and output stage.
struct Block<'a, R> {
    g: &'a Conv2d,
    x: *const i8,
    /// First channel of the block.
    ch: usize,
    /// 16 bytes of the input zero point: what taps outside the image read.
    pad: *const i8,
    /// Row pairs.
    np: usize,
    wv: &'a Wv,
    rq: R,
}

impl<R: BlockRq> Block<'_, R> {
    /// Output rows `rows` of image `b`, in groups of [`P`] pixels; channels `ch..ch + 8` only
    /// when `H`.
    ///
    /// # Safety
    /// As [`conv_n`].
    #[inline(always)]
    unsafe fn rows<const VNNI: bool, const NX: usize, const S: usize, const H: bool>(
        &self,
        b: usize,
        rows: core::ops::Range<usize>,
        y: *mut i8,
    ) {
        // SAFETY (whole body): caller; `Row::base` is only formed with wrapping arithmetic and
        // dereferenced (in `group`) only when the row and column are inside the image.
        unsafe {
            let g = self.g;
            let c = g.c;
            for oy in rows {
                let mut pairs = [[Row { base: self.pad, ok: false }; 2]; MAX_PAIRS];
                for (i, pr) in pairs.iter_mut().enumerate().take(self.np) {
                    for (k, r) in pr.iter_mut().enumerate() {
                        // An odd last row pairs with itself (its partner's weights are 0).
                        let ky = (2 * i + k).min(g.kh - 1);
                        let iy = (oy * g.sh + ky * g.dh) as isize - g.pad_top as isize;
                        if iy >= 0 && (iy as usize) < g.h {
                            r.base = self.x.wrapping_add(((b * g.h + iy as usize) * g.w) * c + self.ch);
                            r.ok = true;
                        }
                    }
                }
                let yr = y.add(((b * g.oh + oy) * g.ow) * c + self.ch);
                let rows_in = pairs.iter().take(self.np).all(|pr| pr[0].ok && pr[1].ok);
                let mut ox = 0;
                while ox + P <= g.ow {
                    // Columns and rows all inside the image: no padding checks.
                    let ix0 = (ox * S) as isize - g.pad_left as isize;
                    if rows_in && ix0 >= 0 && ix0 as usize + (P - 1) * S + NX <= g.w {
                        self.group::<VNNI, NX, S, P, false, H>(&pairs, ox, yr.add(ox * c));
                    } else {
                        self.group::<VNNI, NX, S, P, true, H>(&pairs, ox, yr.add(ox * c));
                    }
                    ox += P;
                }
                while ox < g.ow {
                    self.group::<VNNI, NX, S, 1, true, H>(&pairs, ox, yr.add(ox * c));
                    ox += 1;
                }
            }
        }
    }

    /// Output pixels `ox..ox + N` of one row (written at `y`, `c` apart): the
    /// `(N - 1) * S + NX` input columns they read, each interleaved and widened once per row
    /// pair; 8 channels (8-byte loads and stores) when `H`.
    ///
    /// # Safety
    /// As [`conv_n`]; the pixels are in the row; without `CHECK`, every column and row they
    /// read is inside the image.
    #[inline(always)]
    unsafe fn group<
        const VNNI: bool,
        const NX: usize,
        const S: usize,
        const N: usize,
        const CHECK: bool,
        const H: bool,
    >(
        &self,
        pairs: &[[Row; 2]; MAX_PAIRS],
        ox: usize,
        y: *mut i8,
    ) {
        // SAFETY (whole body): caller; a column is read only when `0 <= ix < w` and its row is
        // inside the image (checked here with `CHECK`, by the caller without), else the
        // zero-point bytes.
        unsafe {
            let g = self.g;
            let c = g.c;
            // Input column of the group's column 0.
            let ix0 = (ox * S) as isize - g.pad_left as isize;
            let mut acc = [[_mm256_setzero_si256(); 2]; N];
            for i in 0..self.np {
                let [r0, r1] = pairs[i];
                let wi = &self.wv[i];
                let col = |r: Row, q: usize| {
                    let ix = ix0 + q as isize;
                    if !CHECK || (r.ok && ix >= 0 && (ix as usize) < g.w) {
                        r.base.wrapping_add(ix as usize * c)
                    } else {
                        self.pad
                    }
                };
                // Unrolled by hand (LLVM keeps the loops otherwise, and the accumulators in
                // memory): the indices are constants in each copy, the dead copies vanish.
                unroll!(q in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] {
                    if q < (N - 1) * S + NX {
                        let (u, v) = if H {
                            (_mm_loadl_epi64(col(r0, q).cast()), _mm_loadl_epi64(col(r1, q).cast()))
                        } else {
                            (_mm_loadu_si128(col(r0, q).cast()), _mm_loadu_si128(col(r1, q).cast()))
                        };
                        let xl = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(u, v));
                        let xh = if H { xl } else { _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(u, v)) };
                        unroll!(p in [0, 1, 2, 3] {
                            if p < N && q >= p * S && q - p * S < NX {
                                let wj = &wi[q - p * S];
                                acc[p][0] = dot::<VNNI>(acc[p][0], xl, wj[0]);
                                if !H {
                                    acc[p][1] = dot::<VNNI>(acc[p][1], xh, wj[1]);
                                }
                            }
                        });
                    }
                });
            }
            if H {
                // Two pixels per output stage (an odd last one paired with itself).
                for p in (0..N).step_by(2) {
                    let q = (p + 1).min(N - 1);
                    let out = self.rq.out(acc[p][0], acc[q][0]);
                    _mm_storel_epi64(y.add(p * c).cast(), out);
                    if q > p {
                        _mm_storel_epi64(y.add(q * c).cast(), _mm_unpackhi_epi64(out, out));
                    }
                }
            } else {
                for (p, ap) in acc.iter().enumerate() {
                    _mm_storeu_si128(y.add(p * c).cast(), self.rq.out(ap[0], ap[1]));
                }
            }
        }
    }
}

/// `acc + Σ pairs a * b` (16-bit pairs into 32-bit lanes, exact).
///
/// # Safety
/// AVX2 is available, and AVX-512 VNNI + VL when `VNNI`.
#[inline(always)]
unsafe fn dot<const VNNI: bool>(acc: __m256i, a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: caller (the features); register-only operations.
    unsafe { if VNNI { _mm256_dpwssd_epi32(acc, a, b) } else { _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)) } }
}
