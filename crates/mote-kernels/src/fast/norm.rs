//! Row normalizations: LayerNormalization and RMSNormalization over the last `cols` values.

use super::cpu::Cpu;
use super::simd::{Simd, SimdOp, dispatch};

/// LayerNormalization of every row of `x` (`cols` long): `y = (x - mean) * inv_std * scale + bias`
/// with `inv_std = 1 / sqrt(var + eps)` (biased variance, two passes as the reference), and the
/// row statistics written to `mean` and `inv_std` (one value per row).
///
/// Panics (a caller bug) if `y` is shorter than `x`, `scale` (or `bias`) shorter than `cols`, or
/// `mean` / `inv_std` shorter than the number of rows.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm(
    cpu: Cpu,
    cols: usize,
    eps: f32,
    x: &[f32],
    scale: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    mean: &mut [f32],
    inv_std: &mut [f32],
) {
    if cols == 0 {
        return;
    }
    let rows = x.len() / cols;
    assert!(y.len() >= rows * cols && scale.len() >= cols && mean.len() >= rows && inv_std.len() >= rows);
    assert!(bias.is_none_or(|b| b.len() >= cols));
    dispatch(cpu, Layer { cols, eps, x: &x[..rows * cols], scale: &scale[..cols], bias, y, mean, inv_std });
}

/// RMSNormalization of every row: `y = x / sqrt(mean(x^2) + eps) * scale`.
///
/// Panics (a caller bug) if `y` is shorter than `x` or `scale` shorter than `cols`.
pub fn rms_norm(cpu: Cpu, cols: usize, eps: f32, x: &[f32], scale: &[f32], y: &mut [f32]) {
    if cols == 0 {
        return;
    }
    let rows = x.len() / cols;
    assert!(y.len() >= rows * cols && scale.len() >= cols);
    dispatch(cpu, Rms { cols, eps, x: &x[..rows * cols], scale: &scale[..cols], y });
}

struct Layer<'a> {
    cols: usize,
    eps: f32,
    x: &'a [f32],
    scale: &'a [f32],
    bias: Option<&'a [f32]>,
    y: &'a mut [f32],
    mean: &'a mut [f32],
    inv_std: &'a mut [f32],
}

/// Sum of `f(v)` over a row, vectorized.
#[inline(always)]
fn sum_by<S: Simd>(s: S, x: &[f32], fv: impl Fn(S::V) -> S::V, f: impl Fn(f32) -> f32) -> f32 {
    let split = x.len() - x.len() % S::LANES;
    let mut acc = s.splat(0.0);
    for c in x[..split].chunks_exact(S::LANES) {
        acc = s.add(acc, fv(s.load(c)));
    }
    let mut total = if split > 0 { s.reduce_add(acc) } else { 0.0 };
    for &v in &x[split..] {
        total += f(v);
    }
    total
}

/// `y = (x - sub) * mul * scale + bias` over a row.
#[inline(always)]
fn affine_row<S: Simd>(s: S, x: &[f32], sub: f32, mul: f32, scale: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let n = x.len();
    let split = n - n % S::LANES;
    let (sv, mv) = (s.splat(sub), s.splat(mul));
    for i in (0..split).step_by(S::LANES) {
        let t = s.mul(s.mul(s.sub(s.load(&x[i..]), sv), mv), s.load(&scale[i..]));
        let t = match bias {
            Some(b) => s.add(t, s.load(&b[i..])),
            None => t,
        };
        s.store(&mut y[i..], t);
    }
    for i in split..n {
        y[i] = (x[i] - sub) * mul * scale[i] + bias.map_or(0.0, |b| b[i]);
    }
}

impl SimdOp for Layer<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let n = self.cols as f32;
        for (r, (xr, yr)) in self.x.chunks_exact(self.cols).zip(self.y.chunks_exact_mut(self.cols)).enumerate() {
            let m = sum_by(s, xr, |v| v, |v| v) / n;
            let mv = s.splat(m);
            let var = sum_by(
                s,
                xr,
                |v| {
                    let d = s.sub(v, mv);
                    s.mul(d, d)
                },
                |v| (v - m) * (v - m),
            ) / n;
            let inv = 1.0 / libm::sqrtf(var + self.eps);
            affine_row(s, xr, m, inv, self.scale, self.bias, yr);
            self.mean[r] = m;
            self.inv_std[r] = inv;
        }
    }
}

struct Rms<'a> {
    cols: usize,
    eps: f32,
    x: &'a [f32],
    scale: &'a [f32],
    y: &'a mut [f32],
}

impl SimdOp for Rms<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let n = self.cols as f32;
        for (xr, yr) in self.x.chunks_exact(self.cols).zip(self.y.chunks_exact_mut(self.cols)) {
            let ms = sum_by(s, xr, |v| s.mul(v, v), |v| v * v) / n;
            let inv = 1.0 / libm::sqrtf(ms + self.eps);
            affine_row(s, xr, 0.0, inv, self.scale, None, yr);
        }
    }
}
