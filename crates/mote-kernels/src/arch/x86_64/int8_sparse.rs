//! The inner loop of the block-sparse int8 product (`fast::int8::sparse`) with AVX-512 VNNI:
//! up to 64 rows of one output channel in 2 x 4 registers of 16 lanes, one `vpdpbusd` per kept
//! block of four weights and 16 rows (two blocks in flight so the chains overlap).

use core::arch::x86_64::*;

/// Rows per call (`fast::int8::pack::RB`).
pub(super) const ROWS: usize = 64;

/// `acc[r] = Σ_b dot4(xt[cols[b] * 64 + r] as u8x4, w[b] as i8x4)` for `r < 16 * G`.
///
/// # Safety
/// AVX-512 F and VNNI are available; `acc` holds `16 * G` values; every `cols[b]` has its 64
/// words in `xt`; `w` has `cols.len()` values; `G <= 4`.
#[target_feature(enable = "avx512f,avx512vnni")]
pub(super) unsafe fn sparse_blocks<const G: usize>(xt: *const i32, cols: &[u32], w: &[i32], acc: *mut i32) {
    // SAFETY: caller (features, bounds).
    unsafe {
        let mut a = [_mm512_setzero_si512(); 8];
        let pairs = cols.len() / 2;
        for p in 0..pairs {
            let (j0, j1) = (*cols.get_unchecked(2 * p) as usize, *cols.get_unchecked(2 * p + 1) as usize);
            let (b0, b1) = (_mm512_set1_epi32(*w.get_unchecked(2 * p)), _mm512_set1_epi32(*w.get_unchecked(2 * p + 1)));
            let (c0, c1) = (xt.add(j0 * ROWS), xt.add(j1 * ROWS));
            for q in 0..G {
                a[q] = _mm512_dpbusd_epi32(a[q], _mm512_loadu_si512(c0.add(16 * q).cast()), b0);
                a[4 + q] = _mm512_dpbusd_epi32(a[4 + q], _mm512_loadu_si512(c1.add(16 * q).cast()), b1);
            }
        }
        if cols.len() % 2 == 1 {
            let last = cols.len() - 1;
            let c0 = xt.add(*cols.get_unchecked(last) as usize * ROWS);
            let b0 = _mm512_set1_epi32(*w.get_unchecked(last));
            for q in 0..G {
                a[q] = _mm512_dpbusd_epi32(a[q], _mm512_loadu_si512(c0.add(16 * q).cast()), b0);
            }
        }
        for q in 0..G {
            _mm512_storeu_si512(acc.add(16 * q).cast(), _mm512_add_epi32(a[q], a[4 + q]));
        }
    }
}

/// `dst[i * ds + j] = src[j * ss + i] ^ flip` for `i, j < 16`: a 16x16 transpose of 32-bit
/// words in registers (32-bit and 64-bit interleaves, then 128-bit lane shuffles).
///
/// # Safety
/// AVX-512 F is available; the 16 rows of 16 words at `src` (stride `ss`) and at `dst` (stride
/// `ds`) are in bounds.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn transpose16(src: *const i32, ss: usize, dst: *mut i32, ds: usize, flip: i32) {
    // SAFETY: caller (features, bounds).
    unsafe {
        let x = _mm512_set1_epi32(flip);
        let r: [__m512i; 16] =
            core::array::from_fn(|j| _mm512_xor_si512(_mm512_loadu_si512(src.add(j * ss).cast()), x));
        let mut a = [_mm512_setzero_si512(); 16];
        for i in 0..8 {
            a[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
            a[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
        }
        // b[4i + k], 128-bit lane L: rows 4i..4i + 4 of column 4L + k.
        let mut b = [_mm512_setzero_si512(); 16];
        for i in 0..4 {
            b[4 * i] = _mm512_unpacklo_epi64(a[4 * i], a[4 * i + 2]);
            b[4 * i + 1] = _mm512_unpackhi_epi64(a[4 * i], a[4 * i + 2]);
            b[4 * i + 2] = _mm512_unpacklo_epi64(a[4 * i + 1], a[4 * i + 3]);
            b[4 * i + 3] = _mm512_unpackhi_epi64(a[4 * i + 1], a[4 * i + 3]);
        }
        for k in 0..4 {
            let c01 = _mm512_shuffle_i32x4::<0x44>(b[k], b[4 + k]);
            let d01 = _mm512_shuffle_i32x4::<0x44>(b[8 + k], b[12 + k]);
            let c23 = _mm512_shuffle_i32x4::<0xee>(b[k], b[4 + k]);
            let d23 = _mm512_shuffle_i32x4::<0xee>(b[8 + k], b[12 + k]);
            _mm512_storeu_si512(dst.add(ds * k).cast(), _mm512_shuffle_i32x4::<0x88>(c01, d01));
            _mm512_storeu_si512(dst.add(ds * (4 + k)).cast(), _mm512_shuffle_i32x4::<0xdd>(c01, d01));
            _mm512_storeu_si512(dst.add(ds * (8 + k)).cast(), _mm512_shuffle_i32x4::<0x88>(c23, d23));
            _mm512_storeu_si512(dst.add(ds * (12 + k)).cast(), _mm512_shuffle_i32x4::<0xdd>(c23, d23));
        }
    }
}

/// [`sparse_blocks`] with AVX2 (signed activation bytes): each word's even and odd bytes
/// sign-extended to 16 bits and multiplied with the matching weight pairs by `vpmaddwd`
/// (exact: a pair of products fits in i32), 8 rows per register, up to 64 rows.
///
/// # Safety
/// AVX2 is available; bounds as [`sparse_blocks`] with `8 * G` rows, `G <= 8`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn sparse_blocks_avx2<const G: usize>(xt: *const i32, cols: &[u32], w: &[i32], acc: *mut i32) {
    // SAFETY: caller (features, bounds).
    unsafe {
        let mut a = [_mm256_setzero_si256(); 8];
        for (&j, &wv) in cols.iter().zip(w) {
            // (w0, w2) and (w1, w3) as 16-bit pairs.
            let we = _mm256_set1_epi32(((wv << 24) >> 24) & 0xffff | (((wv << 8) >> 24) << 16));
            let wo = _mm256_set1_epi32(((wv << 16) >> 24) & 0xffff | ((wv >> 24) << 16));
            let col = xt.add(j as usize * ROWS);
            for q in 0..G {
                let v = _mm256_loadu_si256(col.add(8 * q).cast());
                let even = _mm256_srai_epi16::<8>(_mm256_slli_epi16::<8>(v));
                let odd = _mm256_srai_epi16::<8>(v);
                let s = _mm256_add_epi32(_mm256_madd_epi16(even, we), _mm256_madd_epi16(odd, wo));
                a[q] = _mm256_add_epi32(a[q], s);
            }
        }
        for q in 0..G {
            _mm256_storeu_si256(acc.add(8 * q).cast(), a[q]);
        }
    }
}
