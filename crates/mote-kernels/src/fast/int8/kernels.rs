//! The per-ISA primitives the int8 drivers are written against, and their portable version.
//!
//! Every implementation computes exactly the same integers: the dot products wrap in i32 (the
//! same element of Z/2^32 in any order) and the requantization is TFLite's, bit for bit.

use crate::reference::fixed::{multiply_by_quantized_multiplier, rounding_divide_by_pot, srdhm};
use crate::reference::int8::{AddParams, Conv2d, MulParams};

/// Output channels per packed weight panel (columns of B).
pub(crate) const NR: usize = 16;

/// The output stage of [`NR`] consecutive channels: `y = clamp(zp + M(acc + cb), lo, hi)` with
/// `M = mult * 2^shift` per channel.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rq<'a> {
    /// Per-channel constant added to the raw accumulator (bias minus the zero-point term).
    pub cb: &'a [i32],
    pub mult: &'a [i32],
    pub shift: &'a [i32],
    pub zp: i32,
    pub lo: i32,
    pub hi: i32,
}

impl Rq<'_> {
    /// Channel `j`'s output for the raw accumulator `acc` (the scalar definition).
    #[inline(always)]
    pub(crate) fn one(&self, j: usize, acc: i32) -> i8 {
        let v = multiply_by_quantized_multiplier(acc.wrapping_add(self.cb[j]), self.mult[j], self.shift[j]);
        v.wrapping_add(self.zp).clamp(self.lo, self.hi) as i8
    }
}

/// The taps of a run of `npix` depthwise output pixels (consecutive along a row, outputs `c`
/// elements apart) that fall inside the image, the same for every pixel of the run: `ny x nx`
/// taps, tap `(i, j)` of pixel `p` reading the input pixel at element offset
/// `x0 + p * x_px + i * x_dy + j * x_dx` and the weights of tap index `t0 + i * t_dy + j`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DwTaps {
    pub npix: usize,
    pub x_px: usize,
    pub x0: usize,
    pub x_dy: usize,
    pub x_dx: usize,
    pub ny: usize,
    pub nx: usize,
    pub t0: usize,
    pub t_dy: usize,
}

/// int8 primitives of one instruction set.
pub(crate) trait Q8: Copy {
    /// What the dot products add to every activation (0, or 128 where activations are made
    /// unsigned): the drivers subtract `A_OFFSET * Σw` with the zero-point term.
    const A_OFFSET: i32;

    /// `acc[r * NR + j] = Σ_k ã(r, k) * b(k, j)` for `r < rows`, `j < NR`, `k < 4 * k4`, where
    /// row `r` of A is `a[r * stride..][..4 * k4]` (`ã = a + A_OFFSET`) and the panel `b` holds
    /// `b(k, j)` at byte `(k / 4) * 4 * NR + 4 * j + k % 4`.
    fn gemm_panel(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]);

    /// [`Q8::gemm_panel`] for the columns `j < NR / 2` only (a panel of at most `NR / 2`
    /// channels): `acc[r * NR + j]` for `j >= NR / 2` is left unspecified.
    fn gemm_panel_half(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]) {
        self.gemm_panel(a, stride, rows, k4, b, acc)
    }

    /// The sums of one output channel of a block-sparse product over [`super::pack::RB`] rows
    /// (`super::sparse`): `acc[r] = Σ_b Σ_q xt[cols[b] * RB + r].byte(q) * w[b].byte(q)` for
    /// `r < rows` (`acc[rows..RB]` unspecified), the activation bytes made unsigned (`+ 128`)
    /// where `A_OFFSET` is 128, signed otherwise; the weight bytes signed.
    ///
    /// # Safety
    /// Every `cols[b]` is below `xt.len() / RB` (the caller checks the index once per product,
    /// not per call). Implementations check the other lengths (`w` as long as `cols`, `rows <=
    /// RB <= acc.len()`).
    unsafe fn sparse_blocks(self, xt: &[i32], cols: &[u32], w: &[i32], acc: &mut [i32], rows: usize) {
        super::sparse::sparse_blocks_portable(xt, cols, w, &mut acc[..rows], Self::A_OFFSET == 128)
    }

    /// The four-byte words of `rows` rows of `x [rows x c]` as columns of [`super::pack::RB`]:
    /// `xt[j * RB + r]` = bytes `4j..4j + 4` of row `r` (0 past `c`), XOR `0x80` per byte where
    /// `A_OFFSET` is 128.
    fn sparse_gather(self, x: &[i8], c: usize, rows: usize, xt: &mut [i32]) {
        let flip = if Self::A_OFFSET == 128 { 0x8080_8080 } else { 0 };
        gather_words(x, c, (0, rows), (0, c.div_ceil(4)), xt, flip);
    }

    /// `acc[r * NR + j] = tile[j * RB + r]` for `r < RB`, `j < NR` (a panel's sums, channel-major,
    /// into the rows [`Q8::requant_panel`] reads).
    fn tile_to_rows(self, tile: &[i32], acc: &mut [i32]) {
        use super::pack::RB;
        for r in 0..RB {
            for j in 0..NR {
                acc[r * NR + j] = tile[j * RB + r];
            }
        }
    }

    /// `y[r * ys + j] = rq(j, acc[r * NR + j])` for `r < rows`, `j < NR`.
    fn requant_panel(self, acc: &[i32], rows: usize, rq: &Rq<'_>, y: &mut [i8], ys: usize);

    /// A run of depthwise output pixels, channels `0..16 * blocks` (pixels and taps `c` apart;
    /// the slices may start mid-pixel, the kernel reads only those channels): `acc[ch] =
    /// Σ_taps (x - zp) * w[t * c + ch]`, then `y[p * c + ch] = rq(ch, acc[ch])` (`rq.cb` is the
    /// bias). `zp` is in `[-128, 127]`.
    #[allow(clippy::too_many_arguments)]
    fn dw_pixel(self, x: &[i8], c: usize, taps: &DwTaps, w: &[i8], blocks: usize, zp: i32, rq: &Rq<'_>, y: &mut [i8]);

    /// The whole depthwise (multiplier 1) convolution `g` with the packed weights `w`, like
    /// [`Q8::dw_pixel`] for every pixel and channel, if this path has a kernel for it (else
    /// `false`, nothing written). `zp` is in `[-128, 127]`.
    fn dw_conv(self, _g: &Conv2d, _x: &[i8], _zp: i32, _w: &[i8], _rq: &Rq<'_>, _y: &mut [i8]) -> bool {
        false
    }

    /// [`crate::reference::int8::add`] of a prefix of `y`, returning its length (the caller
    /// does the rest). `a` has `y.len()` values, `b` as many or one (broadcast); the zero points
    /// are int8 values, `left_shift <= 30`, `lo <= hi`.
    fn add(self, _p: &AddParams, _a: &[i8], _b: &[i8], _y: &mut [i8]) -> usize {
        0
    }

    /// [`crate::reference::int8::mul`] of a prefix of `y`, returning its length, under the
    /// preconditions of [`Q8::add`].
    fn mul(self, _p: &MulParams, _a: &[i8], _b: &[i8], _y: &mut [i8]) -> usize {
        0
    }
}

/// [`Q8::sparse_gather`] of the rows `r_from..r_to` and words `j_from..j_to`, each word XOR `flip`.
pub(crate) fn gather_words(
    x: &[i8],
    c: usize,
    (r_from, r_to): (usize, usize),
    (j_from, j_to): (usize, usize),
    xt: &mut [i32],
    flip: u32,
) {
    use super::pack::RB;
    for r in r_from..r_to {
        let row = &x[r * c..][..c];
        for j in j_from..j_to {
            let mut b = [0u8; 4];
            for (d, &v) in b.iter_mut().zip(&row[4 * j..(4 * j + 4).min(c)]) {
                *d = v as u8;
            }
            xt[j * RB + r] = (u32::from_le_bytes(b) ^ flip) as i32;
        }
    }
}

/// One input stage of the int8 Add: `(v - zp) * 2^left_shift` scaled by `(m0, shift)` with a
/// right shift only (`MultiplyByQuantizedMultiplierSmallerThanOneExp`), as
/// [`AddParams::apply`] does.
#[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64", target_feature = "simd128")), allow(dead_code))] // SIMD paths only
#[inline(always)]
pub(crate) fn add_stage(v: i8, zp: i32, left_shift: u32, (m0, shift): (i32, i32)) -> i32 {
    let x = (v as i32 - zp).wrapping_mul(1 << left_shift);
    rounding_divide_by_pot(srdhm(x, m0), add_right(shift))
}

/// The right shift of an Add multiplier's exponent.
#[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64", target_feature = "simd128")), allow(dead_code))] // SIMD paths only
#[inline(always)]
pub(crate) fn add_right(shift: i32) -> u32 {
    (-shift).clamp(0, 31) as u32
}

/// The checks every ISA's `add`/`mul` makes before reading raw pointers: `a` and `y` the same
/// length, `b` that length or one.
#[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64", target_feature = "simd128")), allow(dead_code))] // SIMD paths only
pub(crate) fn check_elem(a: &[i8], b: &[i8], y: &[i8]) -> bool {
    assert!(a.len() == y.len() && (b.len() == y.len() || b.len() == 1), "int8 element-wise: operand lengths");
    b.len() == 1
}

/// The portable implementation (also the tail of every other one).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Portable;

impl Portable {
    /// [`Q8::dw_pixel`] for the channels `from..to` (of `c`), any `zp`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn dw_channels(
        x: &[i8],
        c: usize,
        t: &DwTaps,
        w: &[i8],
        (from, to): (usize, usize),
        zp: i32,
        rq: &Rq<'_>,
        y: &mut [i8],
    ) {
        for px in 0..t.npix {
            for ch in from..to {
                let mut acc = 0i32;
                for i in 0..t.ny {
                    for j in 0..t.nx {
                        let xv = x[t.x0 + px * t.x_px + i * t.x_dy + j * t.x_dx + ch] as i32;
                        let wv = w[(t.t0 + i * t.t_dy + j) * c + ch] as i32;
                        acc = acc.wrapping_add(xv.wrapping_sub(zp).wrapping_mul(wv));
                    }
                }
                y[px * c + ch] = rq.one(ch, acc);
            }
        }
    }
}

impl Q8 for Portable {
    const A_OFFSET: i32 = 0;

    fn gemm_panel(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]) {
        let b = &b[..k4 * 4 * NR];
        for r in 0..rows {
            let row = &a[r * stride..][..k4 * 4];
            let out = &mut acc[r * NR..][..NR];
            out.fill(0);
            for (xs, bs) in row.chunks_exact(4).zip(b.chunks_exact(4 * NR)) {
                for (o, wq) in out.iter_mut().zip(bs.chunks_exact(4)) {
                    let mut s = 0i32;
                    for q in 0..4 {
                        s += xs[q] as i32 * wq[q] as i8 as i32;
                    }
                    *o = o.wrapping_add(s);
                }
            }
        }
    }

    fn requant_panel(self, acc: &[i32], rows: usize, rq: &Rq<'_>, y: &mut [i8], ys: usize) {
        for r in 0..rows {
            for j in 0..NR {
                y[r * ys + j] = rq.one(j, acc[r * NR + j]);
            }
        }
    }

    fn dw_pixel(self, x: &[i8], c: usize, taps: &DwTaps, w: &[i8], blocks: usize, zp: i32, rq: &Rq<'_>, y: &mut [i8]) {
        Portable::dw_channels(x, c, taps, w, (0, 16 * blocks), zp, rq, y);
    }
}
