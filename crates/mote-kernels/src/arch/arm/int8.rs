//! int8 primitives with the Arm DSP extension, CMSIS-NN's technique: a word of four int8 is
//! unpacked into two pairs of 16-bit lanes with `sxtb16` (bytes 0 and 2) and `sxtb16 ror #8`
//! (bytes 1 and 3), and `smlad` does two 16-bit multiply-accumulates per instruction. The GEMM
//! computes 2 rows x 2 channels at a time, so every unpacked word serves two dot products.
//! Products of int8 are exact in 16-bit lanes and `smlad` wraps in i32 like the reference.
//! Depthwise convolutions take 4 channels a word: `x - x_zp` (in `[-255, 255]`) by `ssub16` on
//! the unpacked halves, then one `smlabb`/`smlatt` per channel and tap. The requantization is
//! the reference's without its 64-bit division (`requant.rs`).

use super::dsp::{smlabb, smlad, smlatt, ssub16, sxtb16, sxtb16_ror8};
use super::requant::mbqm;
use crate::fast::int8::kernels::{DwTaps, NR, Q8, Rq};

/// Token for the DSP int8 path (this module is compiled only for targets that have it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DspQ8(());

impl DspQ8 {
    pub(crate) fn new() -> DspQ8 {
        DspQ8(())
    }

    /// [`Q8::gemm_panel`] for the columns `j < cols` (`cols` even, at most [`NR`]).
    fn gemm_cols(a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32], cols: usize) {
        assert!(rows == 0 || (rows - 1) * stride + 4 * k4 <= a.len());
        assert!(b.len() >= k4 * 4 * NR && acc.len() >= rows * NR && cols <= NR && cols.is_multiple_of(2));
        // A pair of rows unpacked once for all the panel's channels, `KC` words at a time:
        // `xs[4 kb..]` = row 0's halves (bytes 0, 2), (1, 3), then row 1's.
        let mut xs = [0u32; 4 * KC];
        let mut r = 0;
        while r < rows {
            // An odd last row is computed twice (as both rows of the pair) and stored once.
            let two = r + 1 < rows;
            let row0 = &a[r * stride..][..4 * k4];
            let row1 = &a[if two { r + 1 } else { r } * stride..][..4 * k4];
            for k0 in (0..k4).step_by(KC) {
                let kc = KC.min(k4 - k0);
                let chunk = row0[4 * k0..][..4 * kc].chunks_exact(4).zip(row1[4 * k0..][..4 * kc].chunks_exact(4));
                for (d, (w0, w1)) in xs.chunks_exact_mut(4).zip(chunk) {
                    let ((e0, o0), (e1, o1)) = (unpack(word4(w0)), unpack(word4(w1)));
                    d.copy_from_slice(&[e0, o0, e1, o1]);
                }
                for j in (0..cols).step_by(2) {
                    let mut c = [0i32; 4];
                    if k0 > 0 {
                        let r1 = if two { r + 1 } else { r };
                        c = [acc[r * NR + j], acc[r * NR + j + 1], acc[r1 * NR + j], acc[r1 * NR + j + 1]];
                    }
                    let panel = &b[64 * k0 + 4 * j..][..64 * (kc - 1) + 8];
                    // SAFETY: the panel words read are at `64 kb` and `64 kb + 4` for `kb < kc`,
                    // within `panel`; `xs` has `4 kc` words.
                    unsafe {
                        let mut pw = panel.as_ptr();
                        let mut px = xs.as_ptr();
                        for _ in 0..kc {
                            let x = px.cast::<[u32; 4]>().read();
                            let w0 = unpack(word(pw));
                            let w1 = unpack(word(pw.add(4)));
                            c[0] = dot4((x[0], x[1]), w0, c[0]);
                            c[1] = dot4((x[0], x[1]), w1, c[1]);
                            c[2] = dot4((x[2], x[3]), w0, c[2]);
                            c[3] = dot4((x[2], x[3]), w1, c[3]);
                            pw = pw.add(4 * NR);
                            px = px.add(4);
                        }
                    }
                    acc[r * NR + j] = c[0];
                    acc[r * NR + j + 1] = c[1];
                    if two {
                        acc[(r + 1) * NR + j] = c[2];
                        acc[(r + 1) * NR + j + 1] = c[3];
                    }
                }
            }
            r += 2;
        }
    }
}

/// The reduction steps (words of a row) unpacked at a time by the GEMM: 256 bytes of stack.
const KC: usize = 16;

/// The word at `p`, any alignment (ARMv7 loads unaligned words; the byte order does not
/// matter: both operands of a dot product are loaded alike).
///
/// # Safety
/// `p..p + 4` is readable.
#[inline(always)]
unsafe fn word(p: *const u8) -> u32 {
    // SAFETY: the caller's precondition.
    unsafe { p.cast::<u32>().read_unaligned() }
}

/// [`Rq::one`] with the multiplier without division ([`mbqm`]).
#[inline(always)]
fn rq_one(rq: &Rq<'_>, j: usize, acc: i32) -> i8 {
    finish(rq, mbqm(acc.wrapping_add(rq.cb[j]), rq.mult[j], rq.shift[j]))
}

/// The output zero point and clamp (`lo <= hi`, checked by the driver, so `max`/`min` is the
/// reference's `clamp` without its check).
#[inline(always)]
fn finish(rq: &Rq<'_>, v: i32) -> i8 {
    v.wrapping_add(rq.zp).max(rq.lo).min(rq.hi) as i8
}

/// The word of four bytes `b` (like [`word`]).
#[inline(always)]
fn word4(b: &[i8]) -> u32 {
    u32::from_ne_bytes([b[0] as u8, b[1] as u8, b[2] as u8, b[3] as u8])
}

/// The four int8 of `v` as 16-bit pairs: bytes (0, 2) and (1, 3).
#[inline(always)]
fn unpack(v: u32) -> (u32, u32) {
    (sxtb16(v), sxtb16_ror8(v))
}

/// `acc` plus the dot product of two unpacked words.
#[inline(always)]
fn dot4(x: (u32, u32), w: (u32, u32), acc: i32) -> i32 {
    smlad(x.1, w.1, smlad(x.0, w.0, acc))
}

impl Q8 for DspQ8 {
    const A_OFFSET: i32 = 0;

    fn gemm_panel(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]) {
        DspQ8::gemm_cols(a, stride, rows, k4, b, acc, NR);
    }

    fn gemm_panel_half(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]) {
        DspQ8::gemm_cols(a, stride, rows, k4, b, acc, NR / 2);
    }

    fn requant_panel(self, acc: &[i32], rows: usize, rq: &Rq<'_>, y: &mut [i8], ys: usize) {
        if rows == 0 {
            return;
        }
        assert!(acc.len() >= rows * NR && (rows - 1) * ys + NR <= y.len() && ys >= NR);
        // Channel by channel, so its constants stay in registers down the rows.
        for j in 0..NR {
            let (cb, m0, shift) = (rq.cb[j], rq.mult[j], rq.shift[j]);
            let rows_j = acc[j..].iter().step_by(NR).take(rows).zip(y[j..].iter_mut().step_by(ys));
            for (&a, o) in rows_j {
                *o = finish(rq, mbqm(a.wrapping_add(cb), m0, shift));
            }
        }
    }

    fn dw_pixel(self, x: &[i8], c: usize, t: &DwTaps, w: &[i8], blocks: usize, zp: i32, rq: &Rq<'_>, y: &mut [i8]) {
        let n = 16 * blocks;
        assert!(n <= c && rq.cb.len() >= n && rq.mult.len() >= n && rq.shift.len() >= n);
        if t.npix == 0 {
            return;
        }
        assert!((t.npix - 1) * c + n <= y.len());
        let taps = t.ny > 0 && t.nx > 0;
        if taps {
            let last_x = t.x0 + (t.npix - 1) * t.x_px + (t.ny - 1) * t.x_dy + (t.nx - 1) * t.x_dx;
            let last_w = (t.t0 + (t.ny - 1) * t.t_dy + t.nx - 1) * c;
            assert!(last_x + n <= x.len() && last_w + n <= w.len());
        }
        // `zp` in both halfwords (it is an int8 value, the trait's precondition).
        let zp2 = (zp as u16 as u32) * 0x1_0001;
        for p in 0..t.npix {
            for ch in (0..n).step_by(4) {
                let mut a = [0i32; 4];
                if taps {
                    // SAFETY: every tap's word of channels `ch..ch + 4` (`ch + 4 <= n`) lies at
                    // most at `last_x + n` in `x` and `last_w + n` in `w` (checked above).
                    unsafe {
                        let xp = x.as_ptr().add(t.x0 + p * t.x_px + ch).cast::<u8>();
                        let wp = w.as_ptr().add(t.t0 * c + ch).cast::<u8>();
                        for i in 0..t.ny {
                            let (xr, wr) = (xp.add(i * t.x_dy), wp.add(i * t.t_dy * c));
                            for j in 0..t.nx {
                                let (xe, xo) = unpack(word(xr.add(j * t.x_dx)));
                                let (xe, xo) = (ssub16(xe, zp2), ssub16(xo, zp2));
                                let (we, wo) = unpack(word(wr.add(j * c)));
                                a[0] = smlabb(xe, we, a[0]);
                                a[1] = smlabb(xo, wo, a[1]);
                                a[2] = smlatt(xe, we, a[2]);
                                a[3] = smlatt(xo, wo, a[3]);
                            }
                        }
                    }
                }
                for (q, &v) in a.iter().enumerate() {
                    y[p * c + ch + q] = rq_one(rq, ch + q, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::int8::kernels::Portable;
    use std::{vec, vec::Vec};

    /// A xorshift generator (the tests need no dependency).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// The GEMM panel against the portable one: odd and even row counts, row strides longer
    /// than the rows, every start alignment, random and extreme (-128, 127) values.
    #[test]
    fn gemm_panel_matches_portable() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..300 {
            let (rows, k4) = (1 + case % 7, 1 + (case / 7) % 9);
            let stride = 4 * k4 + (case % 3) * 4;
            let off = case % 4;
            let fill = |r: &mut Rng, n: usize| -> Vec<u8> {
                (0..n)
                    .map(|_| match case % 5 {
                        0 => 0x80,
                        1 => [0x80, 0x7f][(r.next() & 1) as usize],
                        _ => r.next() as u8,
                    })
                    .collect()
            };
            let a: Vec<i8> = fill(&mut r, off + rows * stride).into_iter().map(|v| v as i8).collect();
            let b = fill(&mut r, 4 * NR * k4);
            let a = &a[off..];
            let (mut want, mut got) = (vec![0; rows * NR], vec![0; rows * NR]);
            Portable.gemm_panel(a, stride, rows, k4, &b, &mut want);
            DspQ8::new().gemm_panel(a, stride, rows, k4, &b, &mut got);
            assert_eq!(got, want, "rows {rows} k4 {k4} stride {stride} offset {off}");
            got.fill(0);
            DspQ8::new().gemm_panel_half(a, stride, rows, k4, &b, &mut got);
            for row in 0..rows {
                assert_eq!(got[row * NR..][..NR / 2], want[row * NR..][..NR / 2], "half, rows {rows} k4 {k4}");
            }
        }
    }

    /// The depthwise run against the portable one: every tap window, strides, extreme zero
    /// points and values, 16 to 48 channels.
    #[test]
    fn dw_pixel_matches_portable() {
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        for case in 0..200 {
            let blocks = 1 + case % 3;
            let c = 16 * blocks + (case / 3) % 2 * 4;
            let (ny, nx, npix) = ((case / 2) % 4, (case / 5) % 4, 1 + case % 4);
            let t = DwTaps {
                npix,
                x_px: c * (1 + case % 2),
                x0: c,
                x_dy: 7 * c,
                x_dx: c * (1 + case % 3 / 2),
                ny,
                nx,
                t0: case % 2,
                t_dy: 4,
            };
            let extreme = case % 4 == 0;
            let byte = |r: &mut Rng| if extreme { [-128i8, 127][(r.next() & 1) as usize] } else { r.next() as i8 };
            let x: Vec<i8> = (0..c * 40).map(|_| byte(&mut r)).collect();
            let w: Vec<i8> = (0..c * 20).map(|_| byte(&mut r)).collect();
            let zp = [-128, 127, 0, -5][case % 4];
            let cb: Vec<i32> = (0..c).map(|_| r.next() as i32 >> 12).collect();
            let mult: Vec<i32> = (0..c).map(|_| (1 << 30) + (r.next() as i32 & 0x3fff_ffff)).collect();
            let shift: Vec<i32> = (0..c).map(|_| -((r.next() % 12) as i32)).collect();
            let rq = Rq { cb: &cb, mult: &mult, shift: &shift, zp: -7, lo: -128, hi: 127 };
            let (mut want, mut got) = (vec![0i8; npix * c], vec![0i8; npix * c]);
            Portable::dw_channels(&x, c, &t, &w, (0, 16 * blocks), zp, &rq, &mut want);
            DspQ8::new().dw_pixel(&x, c, &t, &w, blocks, zp, &rq, &mut got);
            assert_eq!(got, want, "case {case}: {t:?} c {c} zp {zp}");
        }
    }
}
