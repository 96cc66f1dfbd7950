//! Normalizations. Statistics use two passes (mean, then squared deviations).

use num_traits::Float;

fn mean_var<T: Float>(v: &[T]) -> (T, T) {
    let n = T::from(v.len()).unwrap_or(T::one());
    let mean = v.iter().fold(T::zero(), |a, &x| a + x) / n;
    let var = v.iter().fold(T::zero(), |a, &x| a + (x - mean) * (x - mean)) / n;
    (mean, var)
}

/// Standardizes each of the `rows` rows of `x` (`cols` long): `y = (x - mean) / sqrt(var + eps)`.
/// Writes each row's mean and `1 / sqrt(var + eps)` into `mean` / `inv_std` when given.
pub fn standardize_rows<T: Float>(
    cols: usize,
    eps: T,
    x: &[T],
    y: &mut [T],
    mut mean: Option<&mut [T]>,
    mut inv_std: Option<&mut [T]>,
) {
    if cols == 0 {
        return;
    }
    for (r, (xr, yr)) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)).enumerate() {
        let (m, v) = mean_var(xr);
        let inv = T::one() / (v + eps).sqrt();
        for (yv, &xv) in yr.iter_mut().zip(xr) {
            *yv = (xv - m) * inv;
        }
        if let Some(out) = mean.as_deref_mut() {
            out[r] = m;
        }
        if let Some(out) = inv_std.as_deref_mut() {
            out[r] = inv;
        }
    }
}

/// RMS normalization of each row: `y = x / sqrt(mean(x^2) + eps)`.
pub fn rms_rows<T: Float>(cols: usize, eps: T, x: &[T], y: &mut [T]) {
    if cols == 0 {
        return;
    }
    let n = T::from(cols).unwrap_or(T::one());
    for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
        let ms = xr.iter().fold(T::zero(), |a, &v| a + v * v) / n;
        let inv = T::one() / (ms + eps).sqrt();
        for (yv, &xv) in yr.iter_mut().zip(xr) {
            *yv = xv * inv;
        }
    }
}

/// `y[r][j] = y[r][j] * scale[j] + bias[j]` for every row (`bias` optional).
pub fn affine_rows<T: Float>(cols: usize, scale: &[T], bias: Option<&[T]>, y: &mut [T]) {
    if cols == 0 {
        return;
    }
    for yr in y.chunks_exact_mut(cols) {
        for (j, yv) in yr.iter_mut().enumerate() {
            *yv = *yv * scale[j] + bias.map_or(T::zero(), |b| b[j]);
        }
    }
}

/// Per-channel affine map of `[N, C, plane]`: `y = y * scale[c] + bias[c]`.
pub fn affine_channels<T: Float>(channels: usize, plane: usize, scale: &[T], bias: &[T], y: &mut [T]) {
    if plane == 0 {
        return;
    }
    for (i, yp) in y.chunks_exact_mut(plane).enumerate() {
        let c = i % channels;
        for v in yp.iter_mut() {
            *v = *v * scale[c] + bias[c];
        }
    }
}

/// Inference batch normalization of `[N, C, plane]` with per-channel statistics.
pub fn batch_norm<T: Float>(
    channels: usize,
    plane: usize,
    eps: T,
    x: &[T],
    scale: &[T],
    bias: &[T],
    mean: &[T],
    var: &[T],
    y: &mut [T],
) {
    if plane == 0 {
        return;
    }
    for (i, (xp, yp)) in x.chunks_exact(plane).zip(y.chunks_exact_mut(plane)).enumerate() {
        let c = i % channels;
        let k = scale[c] / (var[c] + eps).sqrt();
        let b = bias[c] - mean[c] * k;
        for (yv, &xv) in yp.iter_mut().zip(xp) {
            *yv = xv * k + b;
        }
    }
}

/// Per-channel mean and (biased) variance of `[N, C, plane]`.
pub fn channel_stats<T: Float>(batch: usize, channels: usize, plane: usize, x: &[T], mean: &mut [T], var: &mut [T]) {
    let n = T::from(batch * plane).unwrap_or(T::one());
    for c in 0..channels {
        let lanes = || (0..batch).flat_map(move |b| x[(b * channels + c) * plane..][..plane].iter().copied());
        let m = lanes().fold(T::zero(), |a, v| a + v) / n;
        mean[c] = m;
        var[c] = lanes().fold(T::zero(), |a, v| a + (v - m) * (v - m)) / n;
    }
}

/// Local response normalization across channels of `[N, C, plane]`.
pub fn lrn<T: Float>(channels: usize, plane: usize, size: usize, alpha: T, beta: T, bias: T, x: &[T], y: &mut [T]) {
    if plane == 0 || channels == 0 {
        return;
    }
    let before = (size - 1) / 2;
    let after = size - 1 - before;
    let k = alpha / T::from(size).unwrap_or(T::one());
    for (xb, yb) in x.chunks_exact(channels * plane).zip(y.chunks_exact_mut(channels * plane)) {
        for c in 0..channels {
            let lo = c.saturating_sub(before);
            let hi = (c + after).min(channels - 1);
            for p in 0..plane {
                let mut sq = T::zero();
                for cc in lo..=hi {
                    let v = xb[cc * plane + p];
                    sq = sq + v * v;
                }
                yb[c * plane + p] = xb[c * plane + p] / (bias + k * sq).powf(beta);
            }
        }
    }
}

/// `x / ||x||_p` along the middle axis of `[outer, len, inner]` (p = 1 or 2). Zero norms give 0.
pub fn lp_normalize<T: Float>(p: u8, outer: usize, len: usize, inner: usize, x: &[T], y: &mut [T]) {
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * len + j) * inner + i;
            let mut norm = T::zero();
            for j in 0..len {
                let v = x[at(j)];
                norm = norm + if p == 1 { v.abs() } else { v * v };
            }
            if p != 1 {
                norm = norm.sqrt();
            }
            for j in 0..len {
                y[at(j)] = if norm == T::zero() { T::zero() } else { x[at(j)] / norm };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardize_gives_zero_mean_unit_variance() {
        let x = [1.0f64, 2.0, 3.0, 4.0, 10.0, 10.0, 10.0, 10.0];
        let mut y = [0.0; 8];
        let mut m = [0.0; 2];
        let mut inv = [0.0; 2];
        standardize_rows(4, 0.0, &x, &mut y, Some(&mut m), Some(&mut inv));
        assert_eq!(m, [2.5, 10.0]);
        assert!((inv[0] - 1.0 / 1.25f64.sqrt()).abs() < 1e-12);
        assert!((y.iter().take(4).sum::<f64>()).abs() < 1e-12);
        // A constant row with eps 0 divides 0 by 0: NaN, as the formula says.
        assert!(y[4].is_nan());
    }

    #[test]
    fn lrn_window_is_asymmetric_for_even_sizes() {
        // size 2: channel c uses c and c+1 (before = 0, after = 1).
        let x = [1.0f32, 2.0, 3.0];
        let mut y = [0.0; 3];
        lrn(3, 1, 2, 2.0, 1.0, 0.0, &x, &mut y);
        // k = alpha / size = 1: y0 = 1 / (1 + 4), y2 = 3 / 9.
        assert!((y[0] - 0.2).abs() < 1e-7);
        assert!((y[2] - 1.0 / 3.0).abs() < 1e-7);
    }
}
