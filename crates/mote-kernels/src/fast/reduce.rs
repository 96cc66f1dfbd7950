//! Sum or mean over the middle axis of `[outer, n, inner]` (a global average pool of the
//! channel-blocked layout is `[N * C/8, H * W, 8]`).

use super::cpu::Cpu;
use super::simd::{Scalar, Simd, SimdOp, dispatch};

/// Columns reduced at once: independent add chains that hide the add latency.
const CHAINS: usize = 4;

struct Middle<'a> {
    mean: bool,
    x: &'a [f32],
    dims: [usize; 3],
    y: &'a mut [f32],
}

impl SimdOp for Middle<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        if self.dims[2].is_multiple_of(S::LANES) {
            columns(s, self.mean, self.x, self.dims, self.y);
        } else {
            columns(Scalar, self.mean, self.x, self.dims, self.y);
        }
    }
}

/// Every output vector is the sum of its column's `n` vectors in increasing order, so the
/// result is the same as adding one value at a time on every ISA.
#[inline(always)]
fn columns<S: Simd>(s: S, mean: bool, x: &[f32], [outer, n, inner]: [usize; 3], y: &mut [f32]) {
    let per = inner / S::LANES;
    let cols = outer * per;
    let at = |col: usize| (col / per) * n * inner + (col % per) * S::LANES;
    let count = s.splat(n as f32);
    let mut col = 0;
    while col < cols {
        let k = CHAINS.min(cols - col);
        let mut acc = [s.splat(0.0); CHAINS];
        for r in 0..n {
            for (c, a) in acc.iter_mut().enumerate().take(k) {
                *a = s.add(*a, s.load(&x[at(col + c) + r * inner..]));
            }
        }
        for (c, a) in acc.iter().enumerate().take(k) {
            let v = if mean { s.div(*a, count) } else { *a };
            let o = col + c;
            s.store(&mut y[(o / per) * inner + (o % per) * S::LANES..], v);
        }
        col += k;
    }
}

/// `y[o, i] = sum_r x[o, r, i]` (divided by `n` when `mean`), summing `r` in increasing order.
/// Panics if `x` is shorter than `outer * n * inner` or `y` than `outer * inner`.
pub fn reduce_middle(cpu: Cpu, mean: bool, x: &[f32], dims: [usize; 3], y: &mut [f32]) {
    let [outer, n, inner] = dims;
    assert!(x.len() >= outer * n * inner && y.len() >= outer * inner, "reduce_middle: buffers too short");
    dispatch(cpu, Middle { mean, x, dims, y });
}
