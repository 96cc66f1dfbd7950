//! The discrete Fourier transform for the runtime: an iterative radix-2 FFT for power-of-two
//! lengths, the naive DFT ([`crate::reference::signal::ref_dft`]) otherwise. Scalar code: the
//! transforms the runtime runs (spectrogram frames, small model DFTs) are short.
//!
//! Complex values are interleaved `[re, im]` pairs; the twiddle table is the reference's
//! (`tw[j] = exp(-2πi j / n)`, [`crate::reference::signal::ref_dft_twiddles`]), which the
//! compiler computes once and stores with the model.

use crate::reference::signal::ref_dft;

/// Radix-2 FFT in place on `buf` (`n = buf.len() / 2` complex values, a power of two): the
/// forward transform, or with `inverse` the conjugate one divided by `n`. `tw` holds at least
/// `n / 2` twiddles of the length-`n` table.
pub fn fft_pow2(buf: &mut [f32], inverse: bool, tw: &[f32]) {
    let n = buf.len() / 2;
    debug_assert!(n.is_power_of_two());
    if n <= 1 {
        return;
    }
    let bits = n.trailing_zeros();
    for i in 0..n {
        let j = i.reverse_bits() >> (usize::BITS - bits);
        if j > i {
            buf.swap(2 * i, 2 * j);
            buf.swap(2 * i + 1, 2 * j + 1);
        }
    }
    let sign = if inverse { -1.0 } else { 1.0 };
    let mut size = 2;
    while size <= n {
        let half = size / 2;
        let stride = n / size;
        for start in (0..n).step_by(size) {
            for j in 0..half {
                let (wr, wi) = (tw[2 * j * stride], sign * tw[2 * j * stride + 1]);
                let (a, b) = (start + j, start + j + half);
                let (br, bi) = (buf[2 * b], buf[2 * b + 1]);
                let (tr, ti) = (br * wr - bi * wi, br * wi + bi * wr);
                let (ar, ai) = (buf[2 * a], buf[2 * a + 1]);
                buf[2 * a] = ar + tr;
                buf[2 * a + 1] = ai + ti;
                buf[2 * b] = ar - tr;
                buf[2 * b + 1] = ai - ti;
            }
        }
        size *= 2;
    }
    if inverse {
        let s = 1.0 / n as f32;
        buf.iter_mut().for_each(|x| *x *= s);
    }
}

/// The first `out.len() / 2` bins of the length-`n` DFT of `buf` (`n = buf.len() / 2` complex
/// samples, zero-padded by the caller): the FFT when `n` is a power of two (`buf` is then
/// overwritten by the full spectrum), else the naive DFT. `out.len() / 2 <= n`; `tw` is the
/// length-`n` twiddle table.
pub fn dft(buf: &mut [f32], inverse: bool, tw: &[f32], out: &mut [f32]) {
    let n = buf.len() / 2;
    if n.is_power_of_two() {
        fft_pow2(buf, inverse, tw);
        out.copy_from_slice(&buf[..out.len()]);
    } else {
        ref_dft(buf, n, inverse, tw, out);
    }
}
