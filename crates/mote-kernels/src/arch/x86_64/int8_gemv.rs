//! int8 matrix-vector product with AVX-512 VNNI: a fully connected layer (a 1x1 convolution)
//! for one row of activations, from the packed convolution weights (`[K/4][16][4]` panels).
//!
//! The GEMM kernel computes 4 rows per panel, so a single row wastes three quarters of its
//! work and runs one panel at a time; here up to 8 panels (128 output channels) share each
//! broadcast group of 4 activations, in 512-bit registers, with two accumulators per panel
//! (even and odd groups) to hide the `vpdpbusd` latency. The requantization is
//! [`int8_rq512`]'s, so the bits are the reference's.

use super::int8::VnniQ8;
use super::int8_rq512::{rq16, rq16_bytes, rq16_i32};
use crate::fast::int8::kernels::{NR, Rq};
use core::arch::x86_64::*;

/// `y[o] = clamp(zp + M_o(bias[o] + Σ_k (x[k] - x_zp) w[o, k]), lo, hi)` for the `m` output
/// channels of the packed weights `packed` (`m` weight sums, then `ceil(m / 16)` panels of
/// `64 * ceil(k / 4)` bytes), `x` holding `k` activations. `rq.cb` is the bias. `x_zp` is an
/// int8 value. Panics when a slice is shorter than that (a caller bug).
pub(crate) fn gemv(_: VnniQ8, x: &[i8], x_zp: i32, packed: &[u8], m: usize, rq: &Rq<'_>, y: &mut [i8]) {
    let k4 = x.len().div_ceil(4);
    let panels = m.div_ceil(NR);
    assert!((-128..=127).contains(&x_zp), "int8 gemv: input zero point {x_zp}");
    assert!(packed.len() >= 4 * m + panels * 64 * k4, "int8 gemv: packed weights");
    assert!(rq.cb.len() >= m && rq.mult.len() >= m && rq.shift.len() >= m && y.len() >= m, "int8 gemv: lengths");
    // SAFETY: the token proves AVX-512 F, BW, DQ, VL and VNNI; the lengths are checked above.
    unsafe { gemv_vnni(x, x_zp, packed, m, rq, y) }
}

/// # Safety
/// AVX-512 F, BW, DQ, VL and VNNI are available; the lengths of [`gemv`] hold.
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn gemv_vnni(x: &[i8], x_zp: i32, packed: &[u8], m: usize, rq: &Rq<'_>, y: &mut [i8]) {
    let k = x.len();
    let k4 = k.div_ceil(4);
    let panels = m.div_ceil(NR);
    // The activations as dwords, the last one padded with zeros (its weights past `k` are 0).
    let mut tail = [0i8; 4];
    tail[..k - 4 * (k / 4)].copy_from_slice(&x[4 * (k / 4)..]);
    let a = Acts { x: x.as_ptr(), full: k / 4, tail: i32::from_le_bytes(tail.map(|v| v as u8)), k4 };
    let w = packed[4 * m..].as_ptr();
    let mut p = 0;
    // SAFETY (all blocks): features per this function's contract; panels `p..p + NP` exist
    // (`p + NP <= panels`), and the lengths of [`gemv`] bound every read and write.
    unsafe {
        while panels - p >= 8 {
            block::<8>(&a, w, p, packed, m, x_zp, rq, y);
            p += 8;
        }
        if panels - p >= 4 {
            block::<4>(&a, w, p, packed, m, x_zp, rq, y);
            p += 4;
        }
        if panels - p >= 2 {
            block::<2>(&a, w, p, packed, m, x_zp, rq, y);
            p += 2;
        }
        if panels - p >= 1 {
            block::<1>(&a, w, p, packed, m, x_zp, rq, y);
        }
    }
}

/// The activations: `full` whole dwords at `x`, then `tail` if `k4 > full`.
struct Acts {
    x: *const i8,
    full: usize,
    tail: i32,
    k4: usize,
}

impl Acts {
    /// Dword `kb` made unsigned (`x ^ 0x80 = x + 128` per byte), in every lane.
    ///
    /// # Safety
    /// AVX-512 F is available; `kb < k4`.
    #[inline(always)]
    unsafe fn get(&self, kb: usize) -> __m512i {
        // SAFETY: caller; dword `kb < full` lies inside `x`.
        let v = if kb < self.full { unsafe { self.x.add(4 * kb).cast::<i32>().read_unaligned() } } else { self.tail };
        // SAFETY: caller (features).
        unsafe { _mm512_set1_epi32(v ^ 0x8080_8080u32 as i32) }
    }
}

/// Panels `p..p + NP`: the dot products, then the output stage of their channels.
///
/// # Safety
/// As [`gemv_vnni`], and panels `p..p + NP` exist.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn block<const NP: usize>(
    a: &Acts,
    w: *const u8,
    p: usize,
    packed: &[u8],
    m: usize,
    x_zp: i32,
    rq: &Rq<'_>,
    y: &mut [i8],
) {
    // SAFETY (whole body): caller (features, lengths); panel `p + j` starts at
    // `(p + j) * 64 * k4` past the weight sums and holds `64 * k4` bytes.
    unsafe {
        let panel_len = 64 * a.k4;
        let wp: [*const u8; NP] = core::array::from_fn(|j| w.add((p + j) * panel_len));
        let mut c0 = [_mm512_setzero_si512(); NP];
        let mut c1 = [_mm512_setzero_si512(); NP];
        let mut kb = 0;
        while kb + 2 <= a.k4 {
            let (v0, v1) = (a.get(kb), a.get(kb + 1));
            for j in 0..NP {
                c0[j] = _mm512_dpbusd_epi32(c0[j], v0, _mm512_loadu_si512(wp[j].add(kb * 64).cast()));
                c1[j] = _mm512_dpbusd_epi32(c1[j], v1, _mm512_loadu_si512(wp[j].add(kb * 64 + 64).cast()));
            }
            kb += 2;
        }
        if kb < a.k4 {
            let v0 = a.get(kb);
            for j in 0..NP {
                c0[j] = _mm512_dpbusd_epi32(c0[j], v0, _mm512_loadu_si512(wp[j].add(kb * 64).cast()));
            }
        }
        // The activations carried `x_zp + 128` too much: subtract `(x_zp + 128) Σw` per channel.
        let off = _mm512_set1_epi32(x_zp + 128);
        for j in 0..NP {
            let acc = _mm512_add_epi32(c0[j], c1[j]);
            let o = (p + j) * NR;
            let nv = NR.min(m - o);
            if nv == NR {
                let wsum = _mm512_loadu_si512(packed.as_ptr().add(4 * o).cast());
                finish(acc, wsum, off, &rq_at(rq, o), y.as_mut_ptr().add(o), 0xffff);
            } else {
                // The last, partial panel: its constants copied into full vectors.
                let mut cb = [0i32; NR];
                let mut mult = [0i32; NR];
                let mut shift = [0i32; NR];
                cb[..nv].copy_from_slice(&rq.cb[o..m]);
                mult[..nv].copy_from_slice(&rq.mult[o..m]);
                shift[..nv].copy_from_slice(&rq.shift[o..m]);
                let mut ws = [0u8; 4 * NR];
                ws[..4 * nv].copy_from_slice(&packed[4 * o..4 * m]);
                let wsum = _mm512_loadu_si512(ws.as_ptr().cast());
                let r = Rq { cb: &cb, mult: &mult, shift: &shift, ..*rq };
                finish(acc, wsum, off, &r, y.as_mut_ptr().add(o), (1u32 << nv) as u16 - 1);
            }
        }
    }
}

/// `rq`'s constants from channel `o` on.
fn rq_at<'a>(rq: &Rq<'a>, o: usize) -> Rq<'a> {
    Rq { cb: &rq.cb[o..], mult: &rq.mult[o..], shift: &rq.shift[o..], ..*rq }
}

/// Requantizes the 16 accumulators `acc` (`rq`'s first 16 channels, `rq.cb` the bias) after
/// subtracting `off * wsum`, and stores the bytes of the lanes in `mask` to `y`.
///
/// # Safety
/// AVX-512 F, BW, DQ and VL are available; `rq`'s slices hold 16 values; `y` has the masked
/// bytes writable.
#[inline(always)]
unsafe fn finish(acc: __m512i, wsum: __m512i, off: __m512i, rq: &Rq<'_>, y: *mut i8, mask: u16) {
    // SAFETY: caller (features, lengths).
    unsafe {
        // `cb = bias - off * Σw`, wrapping like the scalar drivers.
        let d = _mm512_mullo_epi32(off, wsum);
        let r = rq16(rq, 0, _mm512_castsi512_si256(d), _mm512_extracti64x4_epi64::<1>(d));
        _mm_mask_storeu_epi8(y, mask, rq16_bytes(rq16_i32(acc, &r), &r));
    }
}
