//! int8 primitives for x86_64: AVX2 (`vpmaddwd` on operands sign-extended to 16 bits) and
//! AVX-512 VNNI on 256-bit registers (`vpdpbusd`, activations offset to u8). Both share the
//! AVX2 requantization and depthwise code.

use super::{int8_add512, int8_dw, int8_dw4, int8_rq512, int8_sparse};
use crate::fast::cpu::{Cpu, Q8Path};
use crate::fast::int8::kernels::{DwTaps, NR, Q8, Rq, add_right, add_stage, check_elem, gather_words};
use crate::reference::int8::{AddParams, Conv2d, MulParams};
use core::arch::x86_64::*;

/// Output pixels (rows of A) per register tile.
const MR: usize = 4;

/// Token for the AVX2 int8 path: exists only when the CPU has AVX2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2Q8(());

impl Avx2Q8 {
    /// Panics unless `cpu` names an x86_64 int8 path (both imply AVX2).
    pub(crate) fn new(cpu: Cpu) -> Avx2Q8 {
        assert!(matches!(cpu.q8(), Q8Path::Avx2 | Q8Path::Avx512Vnni));
        Avx2Q8(())
    }
}

/// Token for the AVX-512 VNNI int8 path: exists only when the CPU has AVX-512 F, BW, DQ, VL and VNNI.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VnniQ8(());

impl VnniQ8 {
    /// Panics unless `cpu` names [`Q8Path::Avx512Vnni`].
    pub(crate) fn new(cpu: Cpu) -> VnniQ8 {
        assert_eq!(cpu.q8(), Q8Path::Avx512Vnni);
        VnniQ8(())
    }
}

/// Checks the slice bounds every `gemm_panel` relies on.
fn check_gemm(a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &[i32]) {
    assert!(rows == 0 || (rows - 1) * stride + 4 * k4 <= a.len());
    assert!(b.len() >= k4 * 4 * NR && acc.len() >= rows * NR);
}

impl Q8 for Avx2Q8 {
    const A_OFFSET: i32 = 0;

    unsafe fn sparse_blocks(self, xt: &[i32], cols: &[u32], w: &[i32], acc: &mut [i32], rows: usize) {
        let n = int8_sparse::ROWS;
        assert!(acc.len() >= n && w.len() == cols.len() && rows <= n);
        let (xt, acc) = (xt.as_ptr(), acc.as_mut_ptr());
        // SAFETY: the token proves AVX2; the lengths were checked just above, the columns by
        // the caller.
        unsafe {
            match rows.div_ceil(8) {
                0 => {}
                1 => int8_sparse::sparse_blocks_avx2::<1>(xt, cols, w, acc),
                2 => int8_sparse::sparse_blocks_avx2::<2>(xt, cols, w, acc),
                3 => int8_sparse::sparse_blocks_avx2::<3>(xt, cols, w, acc),
                4 => int8_sparse::sparse_blocks_avx2::<4>(xt, cols, w, acc),
                5 => int8_sparse::sparse_blocks_avx2::<5>(xt, cols, w, acc),
                6 => int8_sparse::sparse_blocks_avx2::<6>(xt, cols, w, acc),
                7 => int8_sparse::sparse_blocks_avx2::<7>(xt, cols, w, acc),
                _ => int8_sparse::sparse_blocks_avx2::<8>(xt, cols, w, acc),
            }
        }
    }

    fn gemm_panel(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]) {
        check_gemm(a, stride, rows, k4, b, acc);
        // SAFETY: the token proves AVX2; the lengths were checked just above, the columns by
        // the caller.
        unsafe { gemm_avx2::<false>(a.as_ptr(), stride, rows, k4, b.as_ptr(), acc.as_mut_ptr()) }
    }

    fn gemm_panel_half(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]) {
        check_gemm(a, stride, rows, k4, b, acc);
        // SAFETY: as in `gemm_panel`.
        unsafe { gemm_avx2::<true>(a.as_ptr(), stride, rows, k4, b.as_ptr(), acc.as_mut_ptr()) }
    }

    fn requant_panel(self, acc: &[i32], rows: usize, rq: &Rq<'_>, y: &mut [i8], ys: usize) {
        requant_panel(acc, rows, rq, y, ys)
    }

    fn dw_pixel(self, x: &[i8], c: usize, t: &DwTaps, w: &[i8], blocks: usize, zp: i32, rq: &Rq<'_>, y: &mut [i8]) {
        dw_pixel(x, c, t, w, blocks, zp, rq, y)
    }

    fn dw_conv(self, g: &Conv2d, x: &[i8], zp: i32, w: &[i8], rq: &Rq<'_>, y: &mut [i8]) -> bool {
        if !dw_conv_ok(g, x, w, rq, y) {
            return false;
        }
        // SAFETY: the token proves the features; `dw_conv_ok` checked the lengths; the
        // driver passes an int8 zero point.
        unsafe { dw_conv_avx2(g, x.as_ptr(), zp, w.as_ptr(), rq, y.as_mut_ptr()) };
        true
    }

    fn add(self, p: &AddParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
        let bcast = check_elem(a, b, y);
        // SAFETY: the token proves AVX2; `a`, `y` (and `b` unless broadcast) hold `y.len()`
        // values (checked by `check_elem`).
        unsafe { add_avx2(p, a.as_ptr(), b.as_ptr(), bcast, y.as_mut_ptr(), y.len()) }
    }

    fn mul(self, p: &MulParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
        let bcast = check_elem(a, b, y);
        // SAFETY: as in `add`.
        unsafe { mul_avx2(p, a.as_ptr(), b.as_ptr(), bcast, y.as_mut_ptr(), y.len()) }
    }
}

impl Q8 for VnniQ8 {
    const A_OFFSET: i32 = 128;

    unsafe fn sparse_blocks(self, xt: &[i32], cols: &[u32], w: &[i32], acc: &mut [i32], rows: usize) {
        let n = int8_sparse::ROWS;
        assert!(acc.len() >= n && w.len() == cols.len() && rows <= n);
        let (xt, acc) = (xt.as_ptr(), acc.as_mut_ptr());
        // SAFETY: the token proves AVX-512 F and VNNI; the lengths were checked just above, the
        // columns by the caller.
        unsafe {
            match rows.div_ceil(16) {
                0 => {}
                1 => int8_sparse::sparse_blocks::<1>(xt, cols, w, acc),
                2 => int8_sparse::sparse_blocks::<2>(xt, cols, w, acc),
                3 => int8_sparse::sparse_blocks::<3>(xt, cols, w, acc),
                _ => int8_sparse::sparse_blocks::<4>(xt, cols, w, acc),
            }
        }
    }

    fn tile_to_rows(self, tile: &[i32], acc: &mut [i32]) {
        let rows = int8_sparse::ROWS;
        assert!(tile.len() >= rows * NR && acc.len() >= rows * NR);
        for g in 0..rows / 16 {
            // SAFETY: the token proves AVX-512 F; rows `16g..16g + 16` of the 16 channels of
            // `tile` (stride 64) and of `acc` (stride 16) are in bounds (checked above).
            unsafe { int8_sparse::transpose16(tile[16 * g..].as_ptr(), rows, acc[16 * NR * g..].as_mut_ptr(), NR, 0) }
        }
    }

    fn sparse_gather(self, x: &[i8], c: usize, rows: usize, xt: &mut [i32]) {
        let (n, c4) = (int8_sparse::ROWS, c / 4);
        let (r16, j16) = if c.is_multiple_of(4) { (rows / 16 * 16, c4 / 16 * 16) } else { (0, 0) };
        assert!(rows <= n && x.len() >= rows * c && xt.len() >= c.div_ceil(4) * n);
        for r0 in (0..r16).step_by(16) {
            for j0 in (0..j16).step_by(16) {
                // SAFETY: the token proves AVX-512 F; rows `r0..r0 + 16` hold words `j0..j0 + 16`
                // (`c` is a multiple of 4, `j0 + 16 <= c / 4`), and columns `j0..j0 + 16` of
                // `xt` hold rows `r0..r0 + 16` (`r0 + 16 <= rows <= 64`; checked above).
                unsafe {
                    let src = x.as_ptr().add(r0 * c + 4 * j0).cast::<i32>();
                    int8_sparse::transpose16(src, c4, xt[j0 * n + r0..].as_mut_ptr(), n, 0x8080_8080u32 as i32)
                }
            }
        }
        gather_words(x, c, (r16, rows), (0, c.div_ceil(4)), xt, 0x8080_8080);
        gather_words(x, c, (0, r16), (j16, c.div_ceil(4)), xt, 0x8080_8080);
    }

    fn gemm_panel(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]) {
        check_gemm(a, stride, rows, k4, b, acc);
        // SAFETY: the token proves AVX-512 VNNI + VL; the bounds were checked just above.
        unsafe { gemm_vnni::<false>(a.as_ptr(), stride, rows, k4, b.as_ptr(), acc.as_mut_ptr()) }
    }

    fn gemm_panel_half(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]) {
        check_gemm(a, stride, rows, k4, b, acc);
        // SAFETY: as in `gemm_panel`.
        unsafe { gemm_vnni::<true>(a.as_ptr(), stride, rows, k4, b.as_ptr(), acc.as_mut_ptr()) }
    }

    fn requant_panel(self, acc: &[i32], rows: usize, rq: &Rq<'_>, y: &mut [i8], ys: usize) {
        check_requant(acc, rows, rq, y, ys);
        // SAFETY: the token proves AVX-512 F, BW, DQ, VL; bounds checked just above.
        unsafe { requant_vnni(acc.as_ptr(), rows, rq, y.as_mut_ptr(), ys) }
    }

    fn dw_pixel(self, x: &[i8], c: usize, t: &DwTaps, w: &[i8], blocks: usize, zp: i32, rq: &Rq<'_>, y: &mut [i8]) {
        dw_pixel(x, c, t, w, blocks, zp, rq, y)
    }

    fn dw_conv(self, g: &Conv2d, x: &[i8], zp: i32, w: &[i8], rq: &Rq<'_>, y: &mut [i8]) -> bool {
        if !dw_conv_ok(g, x, w, rq, y) {
            return false;
        }
        // SAFETY: the token proves the features; `dw_conv_ok` checked the lengths; the
        // driver passes an int8 zero point.
        unsafe { dw_conv_vnni(g, x.as_ptr(), zp, w.as_ptr(), rq, y.as_mut_ptr()) };
        true
    }

    fn add(self, p: &AddParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
        let bcast = check_elem(a, b, y);
        if int8_add512::add_avx512_ok(p) {
            // SAFETY: the token proves AVX-512 F, BW, DQ and VL; the parameters are checked;
            // lengths as below.
            return unsafe { int8_add512::add_avx512(p, a.as_ptr(), b.as_ptr(), bcast, y.as_mut_ptr(), y.len()) };
        }
        // SAFETY: the token proves AVX2; `a`, `y` (and `b` unless broadcast) hold `y.len()`
        // values (checked by `check_elem`).
        unsafe { add_avx2(p, a.as_ptr(), b.as_ptr(), bcast, y.as_mut_ptr(), y.len()) }
    }

    fn mul(self, p: &MulParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
        let bcast = check_elem(a, b, y);
        // SAFETY: as in `add`.
        unsafe { mul_avx2(p, a.as_ptr(), b.as_ptr(), bcast, y.as_mut_ptr(), y.len()) }
    }
}

/// Row pointers of one tile: rows past `rows` repeat the last one (computed, not stored).
///
/// # Safety
/// Rows `r0..r0 + min(MR, rows - r0)` start inside the allocation of `a`.
#[inline(always)]
unsafe fn tile_rows(a: *const i8, stride: usize, r0: usize, rows: usize) -> ([*const i8; MR], usize) {
    let rr = MR.min(rows - r0);
    // SAFETY: row `r0 + min(i, rr - 1)` is a valid row (caller).
    (core::array::from_fn(|i| unsafe { a.add((r0 + i.min(rr - 1)) * stride) }), rr)
}

/// AVX2 `gemm_panel`: 4 rows x 16 channels of i32 accumulators; each 4-deep step splits the
/// weight bytes into even and odd sign-extended 16-bit halves and multiplies them with the
/// matching halves of the broadcast activations (`vpmaddwd`, exact). Channels 0..8 only when
/// `HALF` (the others left as they are).
///
/// # Safety
/// AVX2 is available; the bounds of `check_gemm` hold.
#[target_feature(enable = "avx2")]
unsafe fn gemm_avx2<const HALF: bool>(
    a: *const i8,
    stride: usize,
    rows: usize,
    k4: usize,
    b: *const u8,
    acc: *mut i32,
) {
    // SAFETY (whole body): AVX2 is available (caller); every row read is `4 * k4` bytes of a
    // row within `a`, every panel read is within its `64 * k4` bytes, every store within
    // `rows * NR` accumulators (`check_gemm`).
    unsafe {
        let mut r0 = 0;
        while r0 < rows {
            let (p, rr) = tile_rows(a, stride, r0, rows);
            let mut c = [[_mm256_setzero_si256(); 2]; MR];
            for kb in 0..k4 {
                let b0 = _mm256_loadu_si256(b.add(kb * 64).cast());
                let b1 = _mm256_loadu_si256(b.add(kb * 64 + 32).cast());
                let (b0l, b0h) = (_mm256_srai_epi16::<8>(_mm256_slli_epi16::<8>(b0)), _mm256_srai_epi16::<8>(b0));
                let (b1l, b1h) = (_mm256_srai_epi16::<8>(_mm256_slli_epi16::<8>(b1)), _mm256_srai_epi16::<8>(b1));
                for i in 0..MR {
                    let av = _mm256_set1_epi32(p[i].add(kb * 4).cast::<i32>().read_unaligned());
                    let (al, ah) = (_mm256_srai_epi16::<8>(_mm256_slli_epi16::<8>(av)), _mm256_srai_epi16::<8>(av));
                    let s0 = _mm256_add_epi32(_mm256_madd_epi16(al, b0l), _mm256_madd_epi16(ah, b0h));
                    c[i][0] = _mm256_add_epi32(c[i][0], s0);
                    if !HALF {
                        let s1 = _mm256_add_epi32(_mm256_madd_epi16(al, b1l), _mm256_madd_epi16(ah, b1h));
                        c[i][1] = _mm256_add_epi32(c[i][1], s1);
                    }
                }
            }
            for (i, ci) in c.iter().enumerate().take(rr) {
                _mm256_storeu_si256(acc.add((r0 + i) * NR).cast(), ci[0]);
                if !HALF {
                    _mm256_storeu_si256(acc.add((r0 + i) * NR + 8).cast(), ci[1]);
                }
            }
            r0 += MR;
        }
    }
}

/// VNNI `gemm_panel`: 4 rows x 16 channels; `vpdpbusd` of the activations made unsigned
/// (`x ^ 0x80 = x + 128`) by the signed weights, wrapping like the reference. Channels 0..8
/// only when `HALF` (the others left as they are).
///
/// # Safety
/// AVX-512 VNNI and VL are available; the bounds of `check_gemm` hold.
#[target_feature(enable = "avx2,avx512vnni,avx512vl")]
unsafe fn gemm_vnni<const HALF: bool>(
    a: *const i8,
    stride: usize,
    rows: usize,
    k4: usize,
    b: *const u8,
    acc: *mut i32,
) {
    // SAFETY (whole body): as in `gemm_avx2`, with VNNI available (caller).
    unsafe {
        let flip = _mm256_set1_epi32(0x8080_8080u32 as i32);
        let mut r0 = 0;
        while r0 < rows {
            let (p, rr) = tile_rows(a, stride, r0, rows);
            let mut c = [[_mm256_setzero_si256(); 2]; MR];
            for kb in 0..k4 {
                let b0 = _mm256_loadu_si256(b.add(kb * 64).cast());
                let b1 = _mm256_loadu_si256(b.add(kb * 64 + 32).cast());
                for i in 0..MR {
                    let av = _mm256_xor_si256(_mm256_set1_epi32(p[i].add(kb * 4).cast::<i32>().read_unaligned()), flip);
                    c[i][0] = _mm256_dpbusd_epi32(c[i][0], av, b0);
                    if !HALF {
                        c[i][1] = _mm256_dpbusd_epi32(c[i][1], av, b1);
                    }
                }
            }
            for (i, ci) in c.iter().enumerate().take(rr) {
                _mm256_storeu_si256(acc.add((r0 + i) * NR).cast(), ci[0]);
                if !HALF {
                    _mm256_storeu_si256(acc.add((r0 + i) * NR + 8).cast(), ci[1]);
                }
            }
            r0 += MR;
        }
    }
}

/// Requantization constants of 8 channels.
#[derive(Clone, Copy)]
pub(super) struct Rq8 {
    pub(super) cb: __m256i,
    mult: __m256i,
    left: __m256i,
    right: __m256i,
    /// `2^right - 1` and half of it: the remainder mask and the rounding threshold.
    mask: __m256i,
    half: __m256i,
}

/// The constants of 8 channels from their bias, multiplier and exponent vectors.
///
/// # Safety
/// AVX2 is available.
#[inline(always)]
unsafe fn rq8_of(cb: __m256i, mult: __m256i, shift: __m256i) -> Rq8 {
    // SAFETY: AVX2 is available (caller); register-only operations.
    unsafe {
        let (zero, one, max) = (_mm256_setzero_si256(), _mm256_set1_epi32(1), _mm256_set1_epi32(31));
        let right = _mm256_min_epi32(_mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero), max);
        let mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
        Rq8 {
            cb,
            mult,
            left: _mm256_min_epi32(_mm256_max_epi32(shift, zero), max),
            right,
            mask,
            half: _mm256_srai_epi32::<1>(mask),
        }
    }
}

/// Loads channels `j..j + 8` of `rq`.
///
/// # Safety
/// AVX2 is available and `rq`'s slices hold at least `j + 8` values.
#[inline(always)]
pub(super) unsafe fn rq8(rq: &Rq<'_>, j: usize) -> Rq8 {
    // SAFETY: caller (lengths and AVX2).
    unsafe {
        rq8_of(
            _mm256_loadu_si256(rq.cb.as_ptr().add(j).cast()),
            _mm256_loadu_si256(rq.mult.as_ptr().add(j).cast()),
            _mm256_loadu_si256(rq.shift.as_ptr().add(j).cast()),
        )
    }
}

/// `multiply_by_quantized_multiplier(acc + cb, mult, shift)` lane-wise, bit-exact: the
/// wrapping left shift, the high multiply `floor((x m + 2^30) / 2^31)` (which is gemmlowp's
/// nudge-and-truncate) with its one saturation, and the rounding right shift.
///
/// # Safety
/// AVX2 is available.
#[inline(always)]
pub(super) unsafe fn mbqm8(acc: __m256i, p: &Rq8) -> __m256i {
    // SAFETY: AVX2 is available (caller); register-only operations.
    unsafe {
        let x = _mm256_sllv_epi32(_mm256_add_epi32(acc, p.cb), p.left);
        let nudge = _mm256_set1_epi64x(1 << 30);
        let even = _mm256_srli_epi64::<31>(_mm256_add_epi64(_mm256_mul_epi32(x, p.mult), nudge));
        // The odd lanes moved to the even positions (`vpmuldq` reads the low half of each
        // 64-bit lane, sign-extended).
        let odd = _mm256_mul_epi32(_mm256_shuffle_epi32::<0xf5>(x), _mm256_shuffle_epi32::<0xf5>(p.mult));
        let odd = _mm256_slli_epi64::<1>(_mm256_add_epi64(odd, nudge));
        let h = _mm256_blend_epi32::<0b1010_1010>(even, odd);
        // i32::MIN only comes from i32::MIN * i32::MIN, which saturates to i32::MAX.
        let h = _mm256_xor_si256(h, _mm256_cmpeq_epi32(h, _mm256_set1_epi32(i32::MIN)));
        let rem = _mm256_and_si256(h, p.mask);
        let thr = _mm256_sub_epi32(p.half, _mm256_cmpgt_epi32(_mm256_setzero_si256(), h));
        _mm256_sub_epi32(_mm256_srav_epi32(h, p.right), _mm256_cmpgt_epi32(rem, thr))
    }
}

/// The output stage after [`mbqm8`]: `+ zp`, clamp to `[lo, hi]`, the low byte (`as i8`).
#[derive(Clone, Copy)]
pub(super) struct Fin {
    zp: __m256i,
    lo: __m256i,
    hi: __m256i,
    lo8: __m128i,
    hi8: __m128i,
    /// `[lo, hi]` within the int8 range: saturating packs, then the clamp on bytes.
    narrow: bool,
}

/// [`Fin`] for the output zero point and clamp.
///
/// # Safety
/// AVX2 is available.
#[inline(always)]
pub(super) unsafe fn fin(zp: i32, lo: i32, hi: i32) -> Fin {
    // SAFETY: AVX2 is available (caller); register-only operations.
    unsafe {
        Fin {
            zp: _mm256_set1_epi32(zp),
            lo: _mm256_set1_epi32(lo),
            hi: _mm256_set1_epi32(hi),
            lo8: _mm_set1_epi8(lo as i8),
            hi8: _mm_set1_epi8(hi as i8),
            narrow: -128 <= lo && hi <= 127,
        }
    }
}

/// 16 requantized channels as bytes: `+ zp`, clamp, and the low byte of each lane (`as i8`).
/// With a clamp inside the int8 range, saturating to int8 first changes nothing.
///
/// # Safety
/// AVX2 is available.
#[inline(always)]
pub(super) unsafe fn finish16(v0: __m256i, v1: __m256i, f: &Fin) -> __m128i {
    // SAFETY: AVX2 is available (caller); register-only operations.
    unsafe {
        let (v0, v1) = (_mm256_add_epi32(v0, f.zp), _mm256_add_epi32(v1, f.zp));
        if f.narrow {
            let t = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packs_epi32(v0, v1));
            let b = _mm_packs_epi16(_mm256_castsi256_si128(t), _mm256_extracti128_si256::<1>(t));
            return _mm_min_epi8(_mm_max_epi8(b, f.lo8), f.hi8);
        }
        let byte = _mm256_set1_epi32(0xff);
        let c = |v| _mm256_and_si256(_mm256_min_epi32(_mm256_max_epi32(v, f.lo), f.hi), byte);
        let t = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(c(v0), c(v1)));
        _mm_packus_epi16(_mm256_castsi256_si128(t), _mm256_extracti128_si256::<1>(t))
    }
}

/// Checks the slice bounds every `requant_panel` relies on.
fn check_requant(acc: &[i32], rows: usize, rq: &Rq<'_>, y: &[i8], ys: usize) {
    assert!(acc.len() >= rows * NR && rq.cb.len() >= NR && rq.mult.len() >= NR && rq.shift.len() >= NR);
    assert!(rows == 0 || (rows - 1) * ys + NR <= y.len());
}

fn requant_panel(acc: &[i32], rows: usize, rq: &Rq<'_>, y: &mut [i8], ys: usize) {
    check_requant(acc, rows, rq, y, ys);
    // SAFETY: an x86_64 int8 token (the callers) proves AVX2; bounds checked just above.
    unsafe { requant_avx2(acc.as_ptr(), rows, rq, y.as_mut_ptr(), ys) }
}

/// # Safety
/// AVX2 is available; `acc` holds `rows * NR` values, `y` rows of `NR` bytes `ys` apart, `rq`
/// `NR` channels.
#[target_feature(enable = "avx2")]
unsafe fn requant_avx2(acc: *const i32, rows: usize, rq: &Rq<'_>, y: *mut i8, ys: usize) {
    // SAFETY (whole body): caller.
    unsafe {
        let (p0, p1) = (rq8(rq, 0), rq8(rq, 8));
        let f = fin(rq.zp, rq.lo, rq.hi);
        for r in 0..rows {
            let v0 = mbqm8(_mm256_loadu_si256(acc.add(r * NR).cast()), &p0);
            let v1 = mbqm8(_mm256_loadu_si256(acc.add(r * NR + 8).cast()), &p1);
            _mm_storeu_si128(y.add(r * ys).cast(), finish16(v0, v1, &f));
        }
    }
}

/// [`requant_avx2`] 16 lanes at a time ([`int8_rq512`]).
///
/// # Safety
/// AVX-512 F, BW, DQ and VL are available; as [`requant_avx2`] otherwise.
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn requant_vnni(acc: *const i32, rows: usize, rq: &Rq<'_>, y: *mut i8, ys: usize) {
    // SAFETY (whole body): caller.
    unsafe {
        let z = _mm256_setzero_si256();
        let r = int8_rq512::rq16(rq, 0, z, z);
        for i in 0..rows {
            let v = int8_rq512::rq16_i32(_mm512_loadu_si512(acc.add(i * NR).cast()), &r);
            _mm_storeu_si128(y.add(i * ys).cast(), int8_rq512::rq16_bytes(v, &r));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn dw_pixel(x: &[i8], c: usize, t: &DwTaps, w: &[i8], blocks: usize, zp: i32, rq: &Rq<'_>, y: &mut [i8]) {
    let n = 16 * blocks;
    assert!(n <= c && y.len() >= n && rq.cb.len() >= n && rq.mult.len() >= n && rq.shift.len() >= n);
    assert!(t.npix == 0 || (t.npix - 1) * c + n <= y.len());
    if t.ny > 0 && t.nx > 0 && t.npix > 0 {
        assert!(t.x0 + (t.npix - 1) * t.x_px + (t.ny - 1) * t.x_dy + (t.nx - 1) * t.x_dx + n <= x.len());
        assert!((t.t0 + (t.ny - 1) * t.t_dy + t.nx - 1) * c + n <= w.len());
    }
    // SAFETY: an x86_64 int8 token (the callers) proves AVX2; bounds checked just above (the
    // offsets grow with the tap indices, so the last tap bounds them all).
    unsafe {
        if t.ny * t.nx <= DW_MAX_TAPS {
            dw_pairs_avx2(x.as_ptr(), c, t, w.as_ptr(), blocks, zp, rq, y.as_mut_ptr())
        } else {
            dw_avx2(x.as_ptr(), c, t, w.as_ptr(), blocks, zp, rq, y.as_mut_ptr())
        }
    }
}

/// Checks the slices of a whole depthwise convolution: `false` when [`int8_dw::conv`] does not
/// take `g`.
fn dw_conv_ok(g: &Conv2d, x: &[i8], w: &[i8], rq: &Rq<'_>, y: &[i8]) -> bool {
    if !int8_dw::takes(g) {
        return false;
    }
    let (xl, wl, yl) = g.lens();
    assert!(x.len() >= xl && w.len() >= wl && y.len() >= yl);
    assert!(rq.cb.len() >= g.c && rq.mult.len() >= g.c && rq.shift.len() >= g.c);
    true
}

/// [`int8_dw::conv`] with AVX2.
///
/// # Safety
/// AVX2 is available; `dw_conv_ok` returned `true`; `zp` is in `[-128, 127]`.
#[target_feature(enable = "avx2")]
unsafe fn dw_conv_avx2(g: &Conv2d, x: *const i8, zp: i32, w: *const i8, rq: &Rq<'_>, y: *mut i8) {
    // SAFETY: caller.
    unsafe { int8_dw::conv::<false>(g, x, zp, w, rq, y) }
}

/// [`int8_dw::conv`] with AVX-512 VNNI.
///
/// # Safety
/// AVX-512 F, BW, DQ, VL and VNNI are available; as [`dw_conv_avx2`] otherwise.
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
unsafe fn dw_conv_vnni(g: &Conv2d, x: *const i8, zp: i32, w: *const i8, rq: &Rq<'_>, y: *mut i8) {
    // SAFETY: caller.
    unsafe {
        if int8_dw4::takes(g) { int8_dw4::conv(g, x, zp, w, rq, y) } else { int8_dw::conv::<true>(g, x, zp, w, rq, y) }
    }
}

/// Most taps of a run the paired depthwise kernel takes (7x7).
const DW_MAX_TAPS: usize = 49;
/// Tap pairs of [`DW_MAX_TAPS`].
const DW_MAX_PAIRS: usize = DW_MAX_TAPS.div_ceil(2);

/// Depthwise with taps paired for `vpmaddwd`: per block of 16 channels, the run's weights are
/// interleaved two taps at a time and sign-extended once (`(w_t, w_t+1)` per channel), the
/// zero-point term `zp Σw` folds into the bias, and each pixel reads two taps' bytes, interleaves
/// them the same way and multiplies-adds them into 32-bit accumulators (exact: the products and
/// their pair sums fit easily), then requantizes from registers.
///
/// # Safety
/// AVX2 is available; the bounds of `dw_pixel` hold and `ny * nx <= DW_MAX_TAPS`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn dw_pairs_avx2(
    x: *const i8,
    c: usize,
    t: &DwTaps,
    w: *const i8,
    blocks: usize,
    zp: i32,
    rq: &Rq<'_>,
    y: *mut i8,
) {
    // SAFETY (whole body): caller; the weight pointers read are taps of the run, the input
    // offsets those of `dw_pixel`'s bounds.
    unsafe {
        let nt = t.ny * t.nx;
        let np = nt.div_ceil(2);
        let mut off = [0usize; 2 * DW_MAX_PAIRS];
        let mut wp = [w; 2 * DW_MAX_PAIRS];
        for i in 0..t.ny {
            for j in 0..t.nx {
                off[i * t.nx + j] = i * t.x_dy + j * t.x_dx;
                wp[i * t.nx + j] = w.add((t.t0 + i * t.t_dy + j) * c);
            }
        }
        if nt % 2 == 1 {
            // The odd tap's partner reads the same input with zero weights.
            off[nt] = off[nt - 1];
        }
        let b = DwBlock { x, c, t, nt, off: &off, wp: &wp, zp, rq, y };
        // Constant pair counts for the full 3x3 and 5x5 windows: unrolled, weights in registers.
        for blk in 0..blocks {
            match np {
                5 => b.run(5, 16 * blk),
                13 => b.run(13, 16 * blk),
                _ => b.run(np, 16 * blk),
            }
        }
    }
}

/// One run of [`dw_pairs_avx2`].
struct DwBlock<'a> {
    x: *const i8,
    c: usize,
    t: &'a DwTaps,
    /// Taps of the run (`ny * nx`).
    nt: usize,
    off: &'a [usize; 2 * DW_MAX_PAIRS],
    wp: &'a [*const i8; 2 * DW_MAX_PAIRS],
    zp: i32,
    rq: &'a Rq<'a>,
    y: *mut i8,
}

impl DwBlock<'_> {
    /// Channels `ch..ch + 16` of every pixel of the run, with `np` tap pairs.
    ///
    /// # Safety
    /// AVX2 is available; the pointers are those of [`dw_pairs_avx2`].
    #[inline(always)]
    unsafe fn run(&self, np: usize, ch: usize) {
        // SAFETY (whole body): caller.
        unsafe {
            let t = self.t;
            let mut wv = [[_mm256_setzero_si256(); 2]; DW_MAX_PAIRS];
            let one = _mm256_set1_epi16(1);
            let (mut s0, mut s1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            for (k, wk) in wv.iter_mut().enumerate().take(np) {
                let w0 = _mm_loadu_si128(self.wp[2 * k].add(ch).cast());
                // The partner of an odd last tap has zero weights.
                let w1 = if 2 * k + 1 < self.nt {
                    _mm_loadu_si128(self.wp[2 * k + 1].add(ch).cast())
                } else {
                    _mm_setzero_si128()
                };
                let lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(w0, w1));
                let hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(w0, w1));
                *wk = [lo, hi];
                s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(lo, one));
                s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(hi, one));
            }
            // Σ (x - zp) w = Σ x w - zp Σw (mod 2^32, like the reference's wrapping sum).
            let zpv = _mm256_set1_epi32(self.zp);
            let (mut p0, mut p1) = (rq8(self.rq, ch), rq8(self.rq, ch + 8));
            p0.cb = _mm256_sub_epi32(p0.cb, _mm256_mullo_epi32(zpv, s0));
            p1.cb = _mm256_sub_epi32(p1.cb, _mm256_mullo_epi32(zpv, s1));
            let rq = self.rq;
            let f = fin(rq.zp, rq.lo, rq.hi);
            for px in 0..t.npix {
                let xb = self.x.add(t.x0 + px * t.x_px + ch);
                let (mut a0, mut a1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
                for (k, wk) in wv.iter().enumerate().take(np) {
                    let x0 = _mm_loadu_si128(xb.add(self.off[2 * k]).cast());
                    let x1 = _mm_loadu_si128(xb.add(self.off[2 * k + 1]).cast());
                    let xl = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x0, x1));
                    let xh = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(x0, x1));
                    a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(xl, wk[0]));
                    a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(xh, wk[1]));
                }
                let (v0, v1) = (mbqm8(a0, &p0), mbqm8(a1, &p1));
                _mm_storeu_si128(self.y.add(px * self.c + ch).cast(), finish16(v0, v1, &f));
            }
        }
    }
}

/// Depthwise one tap at a time (runs with more than [`DW_MAX_TAPS`] taps).
///
/// # Safety
/// AVX2 is available; the bounds of `dw_pixel` hold.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn dw_avx2(x: *const i8, c: usize, t: &DwTaps, w: *const i8, blocks: usize, zp: i32, rq: &Rq<'_>, y: *mut i8) {
    // SAFETY (whole body): caller.
    unsafe {
        let zpv = _mm256_set1_epi16(zp as i16);
        let f = fin(rq.zp, rq.lo, rq.hi);
        for blk in 0..blocks {
            let ch = 16 * blk;
            let (p0, p1) = (rq8(rq, ch), rq8(rq, ch + 8));
            for px in 0..t.npix {
                let xb = x.add(t.x0 + px * t.x_px + ch);
                let (mut a0, mut a1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
                for i in 0..t.ny {
                    for j in 0..t.nx {
                        let xp = xb.add(i * t.x_dy + j * t.x_dx);
                        let wp = w.add((t.t0 + i * t.t_dy + j) * c + ch);
                        let xv = _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(xp.cast())), zpv);
                        let wv = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.cast()));
                        // |x - zp| <= 255 and |w| <= 128: the product fits in 16 bits.
                        let p = _mm256_mullo_epi16(xv, wv);
                        a0 = _mm256_add_epi32(a0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(p)));
                        a1 = _mm256_add_epi32(a1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(p)));
                    }
                }
                let (v0, v1) = (mbqm8(a0, &p0), mbqm8(a1, &p1));
                _mm_storeu_si128(y.add(px * c + ch).cast(), finish16(v0, v1, &f));
            }
        }
    }
}

/// The same requantization constants in every lane.
///
/// # Safety
/// AVX2 is available.
#[inline(always)]
unsafe fn rq8_splat(cb: i32, mult: i32, left: i32, right: i32) -> Rq8 {
    // SAFETY: AVX2 is available (caller); register-only operations.
    unsafe {
        let mut p = rq8_of(_mm256_set1_epi32(cb), _mm256_set1_epi32(mult), _mm256_set1_epi32(-right));
        p.left = _mm256_set1_epi32(left);
        p
    }
}

/// 8 bytes at `p` sign-extended to i32 lanes.
///
/// # Safety
/// AVX2 is available; `p` has 8 readable bytes.
#[inline(always)]
unsafe fn load8(p: *const i8) -> __m256i {
    // SAFETY: caller.
    unsafe { _mm256_cvtepi8_epi32(_mm_loadl_epi64(p.cast())) }
}

/// int8 Add of the first `n / 16 * 16` elements: each input offset, shifted and scaled by the
/// lane-wise TFLite arithmetic of [`mbqm8`] (no left shift of the multiplier: the scale of
/// an Add only shifts right), summed, rescaled.
///
/// # Safety
/// AVX2 is available; `a` and `y` hold `n` values, `b` as many or one when `bcast`.
#[target_feature(enable = "avx2")]
unsafe fn add_avx2(p: &AddParams, a: *const i8, b: *const i8, bcast: bool, y: *mut i8, n: usize) -> usize {
    // SAFETY (whole body): caller; every access is below `i + 16 <= n` (or `b[0]`).
    unsafe {
        let ls = p.left_shift as i32;
        let sa = rq8_splat(-p.a_zp, p.a_mult.0, ls, add_right(p.a_mult.1) as i32);
        let sb = rq8_splat(-p.b_zp, p.b_mult.0, ls, add_right(p.b_mult.1) as i32);
        let sy = rq8_splat(0, p.y_mult.0, 0, add_right(p.y_mult.1) as i32);
        let f = fin(p.y_zp, p.lo, p.hi);
        let bc = _mm256_set1_epi32(add_stage(*b, p.b_zp, p.left_shift, p.b_mult));
        let mut i = 0;
        while i + 16 <= n {
            let (ta0, ta1) = (mbqm8(load8(a.add(i)), &sa), mbqm8(load8(a.add(i + 8)), &sa));
            let (tb0, tb1) =
                if bcast { (bc, bc) } else { (mbqm8(load8(b.add(i)), &sb), mbqm8(load8(b.add(i + 8)), &sb)) };
            let v0 = mbqm8(_mm256_add_epi32(ta0, tb0), &sy);
            let v1 = mbqm8(_mm256_add_epi32(ta1, tb1), &sy);
            _mm_storeu_si128(y.add(i).cast(), finish16(v0, v1, &f));
            i += 16;
        }
        i
    }
}

/// int8 Mul of the first `n / 16 * 16` elements: the exact product of the offset inputs
/// requantized by [`mbqm8`].
///
/// # Safety
/// As [`add_avx2`].
#[target_feature(enable = "avx2")]
unsafe fn mul_avx2(p: &MulParams, a: *const i8, b: *const i8, bcast: bool, y: *mut i8, n: usize) -> usize {
    // SAFETY (whole body): caller; every access is below `i + 16 <= n` (or `b[0]`).
    unsafe {
        let (m0, shift) = p.mult;
        let s = rq8_splat(0, m0, shift.clamp(0, 31), (-shift).clamp(0, 31));
        let (azp, bzp) = (_mm256_set1_epi32(p.a_zp), _mm256_set1_epi32(p.b_zp));
        let f = fin(p.y_zp, p.lo, p.hi);
        let bc = _mm256_set1_epi32(*b as i32 - p.b_zp);
        let mut i = 0;
        while i + 16 <= n {
            let (a0, a1) = (_mm256_sub_epi32(load8(a.add(i)), azp), _mm256_sub_epi32(load8(a.add(i + 8)), azp));
            let (b0, b1) = if bcast {
                (bc, bc)
            } else {
                (_mm256_sub_epi32(load8(b.add(i)), bzp), _mm256_sub_epi32(load8(b.add(i + 8)), bzp))
            };
            // |a - a_zp|, |b - b_zp| <= 255: the product is exact.
            let v0 = mbqm8(_mm256_mullo_epi32(a0, b0), &s);
            let v1 = mbqm8(_mm256_mullo_epi32(a1, b1), &s);
            _mm_storeu_si128(y.add(i).cast(), finish16(v0, v1, &f));
            i += 16;
        }
        i
    }
}
