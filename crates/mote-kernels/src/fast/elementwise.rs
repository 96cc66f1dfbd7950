//! Element-wise binary ops with a fused activation, for the broadcasts that matter in CNNs:
//! same shape, a scalar, and one value per NCHW channel.

use super::activation::{Activation, apply_v};
use super::cpu::Cpu;
use super::simd::{BLOCK, Scalar, Simd, SimdOp, dispatch};

/// A binary operation `a op b` (`a` the full-size operand, `b` the possibly broadcast one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `b - a` (a broadcast operand on the left of a subtraction).
    RevSub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
    /// `b / a` (a broadcast operand on the left of a division).
    RevDiv,
    /// `if a > b { a } else { b }` (`b` when either is NaN).
    Max,
    /// `if a < b { a } else { b }` (`b` when either is NaN).
    Min,
}

/// The second operand of a binary op, broadcast against the first.
#[derive(Clone, Copy, Debug)]
pub enum Rhs<'a> {
    /// As many values as the first operand, same layout.
    Same(&'a [f32]),
    /// One value for every element.
    Scalar(f32),
    /// One value per channel of an NCHW tensor: element `i` of the first operand uses
    /// `values[(i / plane) % values.len()]` (`plane = H * W`; any batch size).
    PerChannel { values: &'a [f32], plane: usize },
    /// One value per channel of a channel-blocked tensor `[N, C/8, plane, 8]`: element `i` uses
    /// `values[((i / (8 * plane)) % (values.len() / 8)) * 8 + i % 8]` (`values.len()` a multiple
    /// of 8).
    PerChannelBlocked { values: &'a [f32], plane: usize },
}

#[inline(always)]
fn op_v<S: Simd>(s: S, op: BinaryOp, a: S::V, b: S::V) -> S::V {
    match op {
        BinaryOp::Add => s.add(a, b),
        BinaryOp::Sub => s.sub(a, b),
        BinaryOp::RevSub => s.sub(b, a),
        BinaryOp::Mul => s.mul(a, b),
        BinaryOp::Div => s.div(a, b),
        BinaryOp::RevDiv => s.div(b, a),
        BinaryOp::Max => s.max(a, b),
        BinaryOp::Min => s.min(a, b),
    }
}

impl BinaryOp {
    /// `act(a op b)` for one pair, exactly as the portable path computes it.
    pub fn apply(self, a: f32, b: f32, act: Activation) -> f32 {
        act.apply(op_v(Scalar, self, a, b))
    }
}

/// `y[i] = act(a[i] op b[i])` with `b` broadcast as `rhs` says. `y` must be as long as `a`.
///
/// Panics (a caller bug) if the lengths disagree: `y.len() != a.len()`, a `Same` operand of
/// another length, or a `PerChannel` operand whose `plane * values.len()` does not divide
/// `a.len()` (or is zero while `a` is not empty).
pub fn binary(cpu: Cpu, op: BinaryOp, a: &[f32], rhs: Rhs<'_>, act: Activation, y: &mut [f32]) {
    assert_eq!(a.len(), y.len(), "binary: a and y lengths differ");
    check_rhs(a.len(), rhs);
    dispatch(cpu, Binary { op, a: Some(a), rhs, act, y });
}

/// `x[i] = act(x[i] op b[i])` in place (e.g. a residual add with its activation).
///
/// Panics (a caller bug) if the lengths disagree, as [`binary`].
pub fn binary_in_place(cpu: Cpu, op: BinaryOp, x: &mut [f32], rhs: Rhs<'_>, act: Activation) {
    check_rhs(x.len(), rhs);
    dispatch(cpu, Binary { op, a: None, rhs, act, y: x });
}

fn check_rhs(len: usize, rhs: Rhs<'_>) {
    match rhs {
        Rhs::Same(b) => assert_eq!(b.len(), len, "binary: operand lengths differ"),
        Rhs::Scalar(_) => {}
        Rhs::PerChannelBlocked { values, plane } => {
            let period = values.len().checked_mul(plane).expect("binary: channels * plane overflows");
            assert!(values.len().is_multiple_of(BLOCK), "binary: blocked per-channel values not whole blocks");
            assert!(
                if period == 0 { len == 0 } else { len.is_multiple_of(period) },
                "binary: per-channel operand does not tile the first operand"
            );
        }
        Rhs::PerChannel { values, plane } => {
            let period = values.len().checked_mul(plane).expect("binary: channels * plane overflows");
            assert!(
                if period == 0 { len == 0 } else { len.is_multiple_of(period) },
                "binary: per-channel operand does not tile the first operand"
            );
        }
    }
}

/// `y = act(a op b)`; `a == None` reads `a` from `y` (in place).
struct Binary<'a> {
    op: BinaryOp,
    a: Option<&'a [f32]>,
    rhs: Rhs<'a>,
    act: Activation,
    y: &'a mut [f32],
}

impl SimdOp for Binary<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let Binary { op, a, rhs, act, y } = self;
        match rhs {
            Rhs::Same(b) => run_same(s, op, a, b, act, y),
            Rhs::Scalar(b) => run_scalar(s, op, a, b, act, y),
            // `check_rhs` made `plane == 0` imply an empty `y`.
            Rhs::PerChannel { plane: 0, .. } | Rhs::PerChannelBlocked { plane: 0, .. } => {}
            Rhs::PerChannelBlocked { values, plane } => {
                let blocks = values.len() / BLOCK;
                for (i, yc) in y.chunks_mut(plane * BLOCK).enumerate() {
                    let b = &values[(i % blocks) * BLOCK..][..BLOCK];
                    let ac = a.map(|a| &a[i * plane * BLOCK..][..yc.len()]);
                    run_block(s, op, ac, b, act, yc);
                }
            }
            Rhs::PerChannel { values, plane } => {
                for (i, yc) in y.chunks_mut(plane).enumerate() {
                    let b = values[i % values.len()];
                    let ac = a.map(|a| &a[i * plane..][..yc.len()]);
                    run_scalar(s, op, ac, b, act, yc);
                }
            }
        }
    }
}

#[inline(always)]
fn run_same<S: Simd>(s: S, op: BinaryOp, a: Option<&[f32]>, b: &[f32], act: Activation, y: &mut [f32]) {
    let n = y.len();
    let split = n - n % S::LANES;
    for i in (0..split).step_by(S::LANES) {
        let av = match a {
            Some(a) => s.load(&a[i..]),
            None => s.load(&y[i..]),
        };
        let v = apply_v(s, act, op_v(s, op, av, s.load(&b[i..])));
        s.store(&mut y[i..], v);
    }
    for i in split..n {
        let av = a.map_or(y[i], |a| a[i]);
        y[i] = op.apply(av, b[i], act);
    }
}

/// `y = act(a op b)` with `b` one block of 8 values repeated over `y` (a multiple of 8 long).
#[inline(always)]
fn run_block<S: Simd>(s: S, op: BinaryOp, a: Option<&[f32]>, b: &[f32], act: Activation, y: &mut [f32]) {
    let mut bv = s.block_zero();
    for (j, v) in bv.as_mut().iter_mut().enumerate() {
        *v = s.load(&b[j * S::LANES..]);
    }
    for (p, yp) in y.chunks_exact_mut(BLOCK).enumerate() {
        for (j, &bj) in bv.as_ref().iter().enumerate() {
            let k = j * S::LANES;
            let av = match a {
                Some(a) => s.load(&a[p * BLOCK + k..]),
                None => s.load(&yp[k..]),
            };
            s.store(&mut yp[k..], apply_v(s, act, op_v(s, op, av, bj)));
        }
    }
}

#[inline(always)]
fn run_scalar<S: Simd>(s: S, op: BinaryOp, a: Option<&[f32]>, b: f32, act: Activation, y: &mut [f32]) {
    let n = y.len();
    let split = n - n % S::LANES;
    let bv = s.splat(b);
    for i in (0..split).step_by(S::LANES) {
        let av = match a {
            Some(a) => s.load(&a[i..]),
            None => s.load(&y[i..]),
        };
        s.store(&mut y[i..], apply_v(s, act, op_v(s, op, av, bv)));
    }
    for i in split..n {
        let av = a.map_or(y[i], |a| a[i]);
        y[i] = op.apply(av, b, act);
    }
}

/// Sum of `x` with four vector accumulators (lanes summed pairwise at the end, then the tail
/// in order).
#[inline(always)]
pub(crate) fn sum<S: Simd>(s: S, x: &[f32]) -> f32 {
    let step = 4 * S::LANES;
    let split = x.len() - x.len() % step;
    let mut acc = [s.splat(0.0); 4];
    for c in x[..split].chunks_exact(step) {
        for (j, a) in acc.iter_mut().enumerate() {
            *a = s.add(*a, s.load(&c[j * S::LANES..]));
        }
    }
    let v = s.add(s.add(acc[0], acc[1]), s.add(acc[2], acc[3]));
    let mut total = s.reduce_add(v);
    for &t in &x[split..] {
        total += t;
    }
    total
}
