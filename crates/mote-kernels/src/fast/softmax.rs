//! Softmax along the last axis of a row-major `[rows x cols]` matrix.

use super::cpu::Cpu;
use super::simd::{self, Scalar, Simd, SimdOp, dispatch};

/// `y[r][j] = exp(x[r][j] - max_r) / sum_j exp(x[r][j] - max_r)` for every row (ONNX Softmax
/// with `axis = -1`; for another axis the caller transposes). `exp` is the polynomial of the
/// fast activations (relative error about 2 ulp). A row holding NaN gives NaN; a row of all
/// `-inf` gives NaN (as the reference).
///
/// Panics (a caller bug) if `x` or `y` is shorter than `rows * cols`.
pub fn softmax(cpu: Cpu, rows: usize, cols: usize, x: &[f32], y: &mut [f32]) {
    let n = rows.checked_mul(cols).expect("softmax: rows * cols overflows");
    assert!(x.len() >= n && y.len() >= n, "softmax: x or y shorter than rows * cols");
    if n == 0 {
        return;
    }
    dispatch(cpu, Run { cols, x: &x[..n], y: &mut y[..n] });
}

struct Run<'a> {
    cols: usize,
    x: &'a [f32],
    y: &'a mut [f32],
}

impl SimdOp for Run<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        for (xr, yr) in self.x.chunks_exact(self.cols).zip(self.y.chunks_exact_mut(self.cols)) {
            row(s, xr, yr);
        }
    }
}

#[inline(always)]
fn row<S: Simd>(s: S, x: &[f32], y: &mut [f32]) {
    let n = x.len();
    let split = n - n % S::LANES;
    // Maximum; NaN propagates (checked separately: `max` drops NaN).
    let mut mv = s.splat(f32::NEG_INFINITY);
    for c in x[..split].chunks_exact(S::LANES) {
        mv = s.max(s.load(c), mv);
    }
    let mut max = if split > 0 { s.reduce_max(mv) } else { f32::NEG_INFINITY };
    for &v in &x[split..] {
        max = if v > max { v } else { max };
    }
    if x.iter().any(|v| v.is_nan()) {
        max = f32::NAN;
    }
    // exp(x - max) into y, summed.
    let m = s.splat(max);
    let mut acc = s.splat(0.0);
    for (xc, yc) in x[..split].chunks_exact(S::LANES).zip(y[..split].chunks_exact_mut(S::LANES)) {
        let e = simd::exp(s, s.sub(s.load(xc), m));
        acc = s.add(acc, e);
        s.store(yc, e);
    }
    let mut total = if split > 0 { s.reduce_add(acc) } else { 0.0 };
    for (&xv, yv) in x[split..].iter().zip(&mut y[split..]) {
        let e = simd::exp(Scalar, xv - max);
        total += e;
        *yv = e;
    }
    let inv = s.splat(1.0 / total);
    for yc in y[..split].chunks_exact_mut(S::LANES) {
        let v = s.mul(s.load(yc), inv);
        s.store(yc, v);
    }
    let inv = 1.0 / total;
    for yv in &mut y[split..] {
        *yv *= inv;
    }
}
