//! The vector abstraction every fast kernel is written against once, and its portable
//! implementation.
//!
//! A kernel is generic over [`Simd`]; the per-ISA implementations live in `crate::arch::<isa>`.
//! A value of an ISA's `Simd` type exists only inside a function compiled with that ISA's target
//! features (see [`dispatch`]), so its methods may use the ISA's intrinsics. Everything a kernel
//! calls on the hot path is `#[inline(always)]`, so it is compiled with those features too.

use super::cpu::Cpu;

/// Width of a GEMM micro-tile row in floats (the packed-B panel width, `NR`).
pub const ROW: usize = 16;
/// Channels per block of the channel-blocked layout.
pub const BLOCK: usize = 8;

/// f32 vector operations. Semantics are the same on every ISA except where noted (`mul_add`
/// rounds once where the ISA fuses it).
pub(crate) trait Simd: Copy {
    /// Floats per vector.
    const LANES: usize;
    /// One vector of `LANES` floats.
    type V: Copy;
    /// [`ROW`] floats as `ROW / LANES` vectors.
    type Row: Copy + AsRef<[Self::V]> + AsMut<[Self::V]>;
    /// [`BLOCK`] floats (one pixel of a channel block) as `BLOCK / LANES` vectors.
    type Block: Copy + AsRef<[Self::V]> + AsMut<[Self::V]>;

    /// All lanes `x`.
    fn splat(self, x: f32) -> Self::V;
    /// The first `LANES` floats of `x` (panics if `x` is shorter).
    fn load(self, x: &[f32]) -> Self::V;
    /// Stores into the first `LANES` floats of `x` (panics if `x` is shorter).
    fn store(self, x: &mut [f32], v: Self::V);
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c`, fused (one rounding) where the ISA has FMA.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `if a < b { a } else { b }` per lane: `b` when either is NaN.
    fn min(self, a: Self::V, b: Self::V) -> Self::V;
    /// `if a > b { a } else { b }` per lane: `b` when either is NaN.
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// `if a < b { x } else { y }` per lane (`y` when `a` or `b` is NaN).
    fn lt_select(self, a: Self::V, b: Self::V, x: Self::V, y: Self::V) -> Self::V;
    /// `2^n` for lanes holding integers in `-126..=127`.
    fn pow2i(self, n: Self::V) -> Self::V;
    /// Sum of the lanes (pairwise order, ISA-specific).
    fn reduce_add(self, v: Self::V) -> f32;
    /// Maximum of the lanes (NaN handling as in [`Simd::max`]).
    fn reduce_max(self, v: Self::V) -> f32;
    /// A row of zeros.
    fn row_zero(self) -> Self::Row;
    /// A block of zeros.
    fn block_zero(self) -> Self::Block;
    /// The even- and odd-indexed floats of the `2 * LANES` floats `a` then `b`.
    fn deinterleave(self, a: Self::V, b: Self::V) -> (Self::V, Self::V);
}

/// A kernel body generic over the ISA, run by [`dispatch`].
pub(crate) trait SimdOp {
    type Output;
    /// Runs the kernel with `s`. Implementations are `#[inline(always)]` so the body is compiled
    /// with the ISA's target features.
    fn run<S: Simd>(self, s: S) -> Self::Output;
}

/// Runs `op` with the instruction set `cpu` names.
#[inline]
pub(crate) fn dispatch<Op: SimdOp>(cpu: Cpu, op: Op) -> Op::Output {
    match cpu.isa() {
        #[cfg(target_arch = "x86_64")]
        super::cpu::Isa::Avx2Fma => crate::arch::x86_64::run(cpu, op),
        #[cfg(target_arch = "aarch64")]
        super::cpu::Isa::Neon => crate::arch::aarch64::run(op),
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        super::cpu::Isa::Simd128 => crate::arch::wasm32::run(op),
        _ => op.run(Scalar),
    }
}

/// The portable implementation: one float per "vector", separate multiply and add.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scalar;

impl Simd for Scalar {
    const LANES: usize = 1;
    type V = f32;
    type Row = [f32; ROW];
    type Block = [f32; BLOCK];

    #[inline(always)]
    fn splat(self, x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn load(self, x: &[f32]) -> f32 {
        x[0]
    }
    #[inline(always)]
    fn store(self, x: &mut [f32], v: f32) {
        x[0] = v;
    }
    #[inline(always)]
    fn add(self, a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn div(self, a: f32, b: f32) -> f32 {
        a / b
    }
    #[inline(always)]
    fn mul_add(self, a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    fn min(self, a: f32, b: f32) -> f32 {
        if a < b { a } else { b }
    }
    #[inline(always)]
    fn max(self, a: f32, b: f32) -> f32 {
        if a > b { a } else { b }
    }
    #[inline(always)]
    fn lt_select(self, a: f32, b: f32, x: f32, y: f32) -> f32 {
        if a < b { x } else { y }
    }
    #[inline(always)]
    fn pow2i(self, n: f32) -> f32 {
        f32::from_bits(((n as i32 + 127) as u32) << 23)
    }
    #[inline(always)]
    fn reduce_add(self, v: f32) -> f32 {
        v
    }
    #[inline(always)]
    fn reduce_max(self, v: f32) -> f32 {
        v
    }
    #[inline(always)]
    fn row_zero(self) -> [f32; ROW] {
        [0.0; ROW]
    }
    #[inline(always)]
    fn block_zero(self) -> [f32; BLOCK] {
        [0.0; BLOCK]
    }
    #[inline(always)]
    fn deinterleave(self, a: f32, b: f32) -> (f32, f32) {
        (a, b)
    }
}

/// Loads [`ROW`] floats from `x` as a row of vectors (panics if `x` is shorter).
#[inline(always)]
pub(crate) fn load_row<S: Simd>(s: S, x: &[f32]) -> S::Row {
    let x = &x[..ROW];
    let mut r = s.row_zero();
    for (i, v) in r.as_mut().iter_mut().enumerate() {
        *v = s.load(&x[i * S::LANES..]);
    }
    r
}

/// Stores a row of vectors into the first [`ROW`] floats of `x`.
#[inline(always)]
pub(crate) fn store_row<S: Simd>(s: S, x: &mut [f32], r: &S::Row) {
    let x = &mut x[..ROW];
    for (i, v) in r.as_ref().iter().enumerate() {
        s.store(&mut x[i * S::LANES..], *v);
    }
}

/// `e^x`: Cephes-style range reduction `x = n ln2 + r`, a degree-7 polynomial for `e^r` on
/// `|r| <= ln2/2`, then scaling by `2^n`. Inputs are clamped to `[-87.3, 88.3]` (so results
/// are finite and normal), and inputs below `-87.3` (where `e^x` is subnormal) give 0;
/// relative error about 2 ulp.
#[inline(always)]
pub(crate) fn exp<S: Simd>(s: S, x0: S::V) -> S::V {
    let x = s.min(s.splat(88.3), s.max(s.splat(-87.3), x0));
    // Round to nearest (ties even) by adding and subtracting 1.5 * 2^23.
    let magic = s.splat(12_582_912.0);
    let n = s.sub(s.add(s.mul(x, s.splat(core::f32::consts::LOG2_E)), magic), magic);
    let r = s.mul_add(n, s.splat(-0.693_359_4), x);
    let r = s.mul_add(n, s.splat(2.121_944_4e-4), r);
    let mut p = s.splat(1.987_569_1e-4);
    p = s.mul_add(p, r, s.splat(1.398_199_9e-3));
    p = s.mul_add(p, r, s.splat(8.333_452e-3));
    p = s.mul_add(p, r, s.splat(4.166_579_6e-2));
    p = s.mul_add(p, r, s.splat(1.666_666_5e-1));
    p = s.mul_add(p, r, s.splat(0.5));
    let r2 = s.mul(r, r);
    p = s.mul_add(p, r2, s.add(r, s.splat(1.0)));
    s.lt_select(x0, s.splat(-87.3), s.splat(0.0), s.mul(p, s.pow2i(n)))
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
pub(crate) fn sigmoid<S: Simd>(s: S, x: S::V) -> S::V {
    let one = s.splat(1.0);
    s.div(one, s.add(one, exp(s, s.sub(s.splat(0.0), x))))
}

/// `tanh x = 2 sigmoid(2x) - 1` (absolute error about 1e-7).
#[inline(always)]
pub(crate) fn tanh<S: Simd>(s: S, x: S::V) -> S::V {
    let sg = sigmoid(s, s.add(x, x));
    s.sub(s.add(sg, sg), s.splat(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_over_the_range() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let e = exp(Scalar, x);
            let want = (x as f64).exp();
            assert!(((e as f64 - want) / want).abs() < 4e-7, "exp({x}) = {e}, want {want}");
            x += 0.0137;
        }
        assert_eq!(exp(Scalar, -1000.0), 0.0);
        assert_eq!(exp(Scalar, f32::NEG_INFINITY), 0.0);
        assert!(exp(Scalar, 1000.0).is_finite());
        assert!(exp(Scalar, f32::NAN).is_nan());
    }

    #[test]
    fn tanh_and_sigmoid_saturate() {
        assert_eq!(tanh(Scalar, 30.0), 1.0);
        assert_eq!(tanh(Scalar, -30.0), -1.0);
        assert!((sigmoid(Scalar, 0.0) - 0.5).abs() < 1e-7);
        assert!(sigmoid(Scalar, -200.0) < 1e-37);
        assert_eq!(sigmoid(Scalar, 200.0), 1.0);
    }
}
