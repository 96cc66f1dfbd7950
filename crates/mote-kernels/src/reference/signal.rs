//! Signal kernels: the discrete Fourier transform, window functions and the mel filter bank.
//!
//! Complex values are interleaved `[re, im]` pairs.

use num_traits::Float;

fn c<T: Float>(x: f64) -> T {
    T::from(x).expect("constant fits every float type")
}

/// Twiddle factors for a length-`n` DFT: `tw[j] = exp(-2πi j / n)`, interleaved (`2n` values).
pub fn ref_dft_twiddles<T: Float>(n: usize, tw: &mut [T]) {
    let step = c::<T>(-2.0 * core::f64::consts::PI) / c::<T>(n as f64);
    for j in 0..n {
        let a = step * c::<T>(j as f64);
        tw[2 * j] = a.cos();
        tw[2 * j + 1] = a.sin();
    }
}

/// A naive length-`n` DFT: `out[k] = sum_m x[m] exp(∓2πi k m / n)` for the first
/// `out.len() / 2` bins `k`. `x` holds at most `n` complex samples; missing ones are zero (the
/// signal is zero-padded). `inverse` uses the conjugate twiddles and divides by `n`. `tw` comes
/// from [`ref_dft_twiddles`] for the same `n`.
pub fn ref_dft<T: Float>(x: &[T], n: usize, inverse: bool, tw: &[T], out: &mut [T]) {
    let m_len = (x.len() / 2).min(n);
    let sign = if inverse { -T::one() } else { T::one() };
    let scale = if inverse { T::one() / c::<T>(n as f64) } else { T::one() };
    for (k, o) in out.chunks_exact_mut(2).enumerate() {
        let (mut re, mut im) = (T::zero(), T::zero());
        // j = k * m mod n, kept incrementally.
        let step = k % n;
        let mut j = 0;
        for m in 0..m_len {
            let (xr, xi) = (x[2 * m], x[2 * m + 1]);
            let (wr, wi) = (tw[2 * j], sign * tw[2 * j + 1]);
            re = re + xr * wr - xi * wi;
            im = im + xr * wi + xi * wr;
            j += step;
            if j >= n {
                j -= n;
            }
        }
        o[0] = re * scale;
        o[1] = im * scale;
    }
}

/// Window functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// `sin²(π n / N)`.
    Hann,
    /// `25/46 - 21/46 cos(2π n / N)`.
    Hamming,
    /// `0.42 - 0.5 cos(2π n / N) + 0.08 cos(4π n / N)`.
    Blackman,
}

/// Fills `out` with a window of length `out.len()`. `N` is the length when `periodic`, else the
/// length minus one (a symmetric window); a symmetric window of length 1 is `[1]`.
pub fn ref_window<T: Float>(kind: Window, periodic: bool, out: &mut [T]) {
    let size = out.len();
    let denom = if periodic { size } else { size.saturating_sub(1) };
    if denom == 0 {
        out.fill(T::one());
        return;
    }
    let pi = c::<T>(core::f64::consts::PI);
    let nn = c::<T>(denom as f64);
    for (i, o) in out.iter_mut().enumerate() {
        let x = c::<T>(i as f64);
        *o = match kind {
            Window::Hann => {
                let s = (pi * x / nn).sin();
                s * s
            }
            Window::Hamming => c::<T>(25.0 / 46.0) - c::<T>(21.0 / 46.0) * (c::<T>(2.0) * pi * x / nn).cos(),
            Window::Blackman => {
                c::<T>(0.42) - c::<T>(0.5) * (c::<T>(2.0) * pi * x / nn).cos()
                    + c::<T>(0.08) * (c::<T>(4.0) * pi * x / nn).cos()
            }
        };
    }
}

/// `MelWeightMatrix`: `[dft / 2 + 1, mels]` triangles peaking at 1, their edges at spectrogram
/// bins `floor((dft + 1) * hz / sample_rate)` of `mels + 2` points evenly spaced on the mel
/// scale `2595 log10(1 + hz / 700)` between `lower_hz` and `upper_hz`. Calls `set(row, col, v)`
/// for every non-zero value (later calls overwrite); the caller zeroes the matrix first.
/// Errors when an edge falls outside the spectrogram (before any `set`).
pub fn ref_mel_weight_matrix(
    mels: usize,
    dft: usize,
    sample_rate: f64,
    lower_hz: f64,
    upper_hz: f64,
    set: &mut dyn FnMut(usize, usize, f64),
) -> Result<(), &'static str> {
    if dft == 0 || sample_rate.is_nan() || sample_rate <= 0.0 {
        return Err("MelWeightMatrix needs dft_length > 0 and sample_rate > 0");
    }
    let spec = dft / 2 + 1;
    let mel = |hz: f64| 2595.0 * libm::log10(1.0 + hz / 700.0);
    let (lo, hi) = (mel(lower_hz), mel(upper_hz));
    let step = (hi - lo) / (mels + 2) as f64;
    let edge = |i: usize| {
        let hz = 700.0 * (libm::pow(10.0, (i as f64 * step + lo) / 2595.0) - 1.0);
        libm::floor((dft + 1) as f64 * hz / sample_rate)
    };
    // The last edge is exclusive, so it may equal `spec`; NaN fails the test too.
    if (0..mels + 2).any(|i| !(0.0..=spec as f64).contains(&edge(i))) {
        return Err("MelWeightMatrix: a filter edge falls outside the spectrogram bins");
    }
    for i in 0..mels {
        let (left, center, right) = (edge(i) as usize, edge(i + 1) as usize, edge(i + 2) as usize);
        if center >= spec || (right > spec) {
            return Err("MelWeightMatrix: a filter reaches beyond the spectrogram bins");
        }
        if center == left {
            set(center, i, 1.0);
        } else {
            for j in left..=center {
                set(j, i, (j as f64 - left as f64) / (center as f64 - left as f64));
            }
        }
        for j in center..right {
            set(j, i, (right - j) as f64 / (right - center) as f64);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dft_of_impulse_and_roundtrip() {
        let n = 4;
        let mut tw = [0f64; 8];
        ref_dft_twiddles(n, &mut tw);
        // Impulse at 1: X[k] = exp(-2πi k / 4) = 1, -i, -1, i.
        let x = [0.0, 0.0, 1.0, 0.0];
        let mut out = [0f64; 8];
        ref_dft(&x, n, false, &tw, &mut out);
        let want = [1.0, 0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 1.0];
        for (a, b) in out.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{out:?}");
        }
        let mut back = [0f64; 8];
        ref_dft(&out, n, true, &tw, &mut back);
        let want = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        for (a, b) in back.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{back:?}");
        }
    }

    #[test]
    fn windows() {
        let mut w = [0f64; 4];
        ref_window(Window::Hann, true, &mut w);
        let want = [0.0, 0.5, 1.0, 0.5];
        for (a, b) in w.iter().zip(want) {
            assert!((a - b).abs() < 1e-12);
        }
        let mut s = [0f64; 3];
        ref_window(Window::Blackman, false, &mut s);
        assert!(s[0].abs() < 1e-12 && (s[1] - 1.0).abs() < 1e-12);
        let mut one = [0f64; 1];
        ref_window(Window::Hamming, false, &mut one);
        assert_eq!(one, [1.0]);
    }
}
