//! One row of A against packed B (`m == 1`: a fully connected layer at batch 1, a recurrent
//! step). The micro-kernel would compute `MR - 1` rows of zeros, so this path streams B once,
//! four panels (64 columns) at a time for eight independent add chains. Each element of C is
//! the same chain as the micro-kernel's (K in increasing order, one fused multiply-add each,
//! then the bias, then the activation), so the result is bit-identical to it.

use super::{ASrc, Bias, Gemm, MR, NR};
use crate::fast::activation::apply_v;
use crate::fast::simd::Simd;

/// Panels per group.
const GROUP: usize = 4;

/// `c[0..n] = act(a . B[.., j] + bias)` with `p` the packed B of `g` (`k x n`, panel-major).
#[inline(always)]
pub(super) fn run<S: Simd>(s: S, g: &Gemm<'_>, p: &[f32], c: &mut [f32]) {
    match g.a {
        ASrc::Packed(a) => panels(s, g, |q| a[q * MR], p, c),
        ASrc::Strided(src) if src.cs == 1 => {
            let row = &src.data[..g.k];
            panels(s, g, |q| row[q], p, c)
        }
        ASrc::Strided(src) => panels(s, g, |q| src.data[q * src.cs], p, c),
    }
}

#[inline(always)]
fn panels<S: Simd>(s: S, g: &Gemm<'_>, a: impl Fn(usize) -> f32, p: &[f32], c: &mut [f32]) {
    let (n, k) = (g.n, g.k);
    let count = n.div_ceil(NR);
    let mut q0 = 0;
    while q0 < count {
        let width = if q0 + GROUP <= count { GROUP } else { 1 };
        let mut acc = [s.row_zero(); GROUP];
        let bs = &p[q0 * k * NR..][..width * k * NR];
        for kk in 0..k {
            let av = s.splat(a(kk));
            for (w, acc) in acc.iter_mut().enumerate().take(width) {
                let b = &bs[(w * k + kk) * NR..][..NR];
                for (v, acc) in acc.as_mut().iter_mut().enumerate() {
                    *acc = s.mul_add(av, s.load(&b[v * S::LANES..]), *acc);
                }
            }
        }
        for (w, acc) in acc.iter().enumerate().take(width) {
            let j0 = (q0 + w) * NR;
            let cols = (n - j0).min(NR);
            let mut out = [0f32; NR];
            for (v, &x) in acc.as_ref().iter().enumerate() {
                let x = match g.bias {
                    Bias::None => x,
                    Bias::PerRow(b) => s.add(x, s.splat(b[0])),
                    Bias::PerCol(b) => {
                        let lo = j0 + v * S::LANES;
                        if lo + S::LANES <= j0 + cols {
                            s.add(x, s.load(&b[lo..]))
                        } else {
                            let mut t = [0f32; NR];
                            let have = (j0 + cols).saturating_sub(lo);
                            if have > 0 {
                                t[..have].copy_from_slice(&b[lo..lo + have]);
                            }
                            s.add(x, s.load(&t))
                        }
                    }
                };
                s.store(&mut out[v * S::LANES..], apply_v(s, g.act, x));
            }
            c[j0..j0 + cols].copy_from_slice(&out[..cols]);
        }
        q0 += width;
    }
}
