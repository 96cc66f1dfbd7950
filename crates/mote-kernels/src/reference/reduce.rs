//! Reduction kernels: reductions over any set of axes, arg-reductions, cumulative sums and
//! products, top-k.
//!
//! Shapes are row-major `dims`; an axis-wise op sees its input as `[outer, n, inner]`, where `n`
//! is the size of the axis.

use core::cmp::Ordering;

use mote_core::shape::MAX_RANK;
use num_traits::Float;

/// Calls `f(o, v)` for every element `v` of `x` (row-major, shape `dims`), where `o` is the flat
/// index of the output element `v` reduces into when the axes flagged in `reduced` are
/// collapsed. Elements are visited in storage order, so each output sees its inputs in order.
///
/// `dims` and `reduced` have the same length, at most [`MAX_RANK`].
pub fn ref_reduce_visit<T: Copy>(x: &[T], dims: &[usize], reduced: &[bool], mut f: impl FnMut(usize, T)) {
    // Merge runs of axes with the same flag; size-1 axes don't matter.
    let mut md = [0usize; MAX_RANK];
    let mut mr = [false; MAX_RANK];
    let mut n = 0;
    for (&d, &r) in dims.iter().zip(reduced) {
        if d == 1 {
            continue;
        }
        if n > 0 && mr[n - 1] == r {
            md[n - 1] *= d;
        } else {
            md[n] = d;
            mr[n] = r;
            n += 1;
        }
    }
    if x.is_empty() {
        return;
    }
    if n == 0 {
        f(0, x[0]);
        return;
    }
    // Output strides over the kept axes.
    let mut os = [0usize; MAX_RANK];
    let mut acc = 1;
    for i in (0..n).rev() {
        if !mr[i] {
            os[i] = acc;
            acc *= md[i];
        }
    }
    let inner = md[n - 1];
    let inner_kept = !mr[n - 1];
    let mut idx = [0usize; MAX_RANK];
    for row in x.chunks_exact(inner) {
        let o: usize = (0..n - 1).map(|k| idx[k] * os[k]).sum();
        if inner_kept {
            for (j, &v) in row.iter().enumerate() {
                f(o + j, v);
            }
        } else {
            for &v in row {
                f(o, v);
            }
        }
        for k in (0..n - 1).rev() {
            idx[k] += 1;
            if idx[k] < md[k] {
                break;
            }
            idx[k] = 0;
        }
    }
}

/// Folds the reduced elements into `out`: `out[o] = fold(... fold(init, x0) ..., xn)`.
pub fn ref_reduce_fold<T: Copy, A: Copy>(
    x: &[T],
    dims: &[usize],
    reduced: &[bool],
    out: &mut [A],
    init: A,
    fold: impl Fn(A, T) -> A,
) {
    out.fill(init);
    ref_reduce_visit(x, dims, reduced, |o, v| out[o] = fold(out[o], v));
}

/// What a `Reduce*` op computes over the reduced elements (the IR's `ReduceOp` uses this enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    /// Sum of absolute values.
    L1,
    /// Square root of the sum of squares.
    L2,
    /// Log of the sum.
    LogSum,
    /// Log of the sum of exponentials (computed stably).
    LogSumExp,
    SumSquare,
}

impl Reduction {
    /// The ONNX op name: `ReduceSum`, `ReduceMean`, ...
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Sum => "ReduceSum",
            Reduction::Mean => "ReduceMean",
            Reduction::Max => "ReduceMax",
            Reduction::Min => "ReduceMin",
            Reduction::Prod => "ReduceProd",
            Reduction::L1 => "ReduceL1",
            Reduction::L2 => "ReduceL2",
            Reduction::LogSum => "ReduceLogSum",
            Reduction::LogSumExp => "ReduceLogSumExp",
            Reduction::SumSquare => "ReduceSumSquare",
        }
    }
}

/// A float reduction, accumulating in `A` (at least as wide as `T`). `out` has one element per
/// output position; `scratch` (same length) is used by `LogSumExp` only. Empty reductions give
/// the identity: 0 for sums, 1 for products, -inf for max and log-sums, +inf for min, NaN for
/// the mean. Max and min propagate NaN.
pub fn ref_reduce_float<T: Float, A: Float>(
    kind: Reduction,
    x: &[T],
    dims: &[usize],
    reduced: &[bool],
    out: &mut [A],
    scratch: &mut [A],
) {
    let zero = A::zero();
    let w = |v: T| A::from(v).unwrap_or_else(A::nan);
    let nan_or = |p: A, q: A, pick_q: bool| {
        if p.is_nan() || q.is_nan() {
            A::nan()
        } else if pick_q {
            q
        } else {
            p
        }
    };
    match kind {
        Reduction::Sum | Reduction::Mean | Reduction::LogSum => {
            ref_reduce_fold(x, dims, reduced, out, zero, |a, v| a + w(v))
        }
        Reduction::Max => ref_reduce_fold(x, dims, reduced, out, A::neg_infinity(), |a, v| nan_or(a, w(v), w(v) > a)),
        Reduction::Min => ref_reduce_fold(x, dims, reduced, out, A::infinity(), |a, v| nan_or(a, w(v), w(v) < a)),
        Reduction::Prod => ref_reduce_fold(x, dims, reduced, out, A::one(), |a, v| a * w(v)),
        Reduction::L1 => ref_reduce_fold(x, dims, reduced, out, zero, |a, v| a + w(v).abs()),
        Reduction::L2 | Reduction::SumSquare => ref_reduce_fold(x, dims, reduced, out, zero, |a, v| a + w(v) * w(v)),
        Reduction::LogSumExp => {
            // max + log(sum(exp(x - max))); infinite maxima pass through.
            let mx = &mut scratch[..out.len()];
            ref_reduce_fold(x, dims, reduced, mx, A::neg_infinity(), |a, v| nan_or(a, w(v), w(v) > a));
            out.fill(zero);
            ref_reduce_visit(x, dims, reduced, |o, v| {
                if mx[o].is_finite() {
                    out[o] = out[o] + (w(v) - mx[o]).exp();
                }
            });
            for (o, &m) in out.iter_mut().zip(mx.iter()) {
                *o = if m.is_finite() { m + o.ln() } else { m };
            }
        }
    }
    match kind {
        Reduction::Mean => {
            let count = reduced_count(dims, reduced);
            let c = A::from(count).unwrap_or_else(A::nan);
            for o in out.iter_mut() {
                *o = *o / c;
            }
        }
        Reduction::L2 => out.iter_mut().for_each(|o| *o = o.sqrt()),
        Reduction::LogSum => out.iter_mut().for_each(|o| *o = o.ln()),
        _ => {}
    }
}

/// The number of input elements that reduce into each output element.
pub fn reduced_count(dims: &[usize], reduced: &[bool]) -> usize {
    dims.iter().zip(reduced).filter(|(_, r)| **r).map(|(d, _)| *d).product()
}

/// Total order for the extreme-value ops: NaN compares greater than every number and equal to
/// itself (as numpy sorts).
pub fn nan_last_cmp<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    match a.partial_cmp(b) {
        Some(o) => o,
        None => {
            let a_nan = a.partial_cmp(a).is_none();
            let b_nan = b.partial_cmp(b).is_none();
            b_nan.cmp(&a_nan).reverse()
        }
    }
}

/// `ArgMax`/`ArgMin` along the middle axis of `[outer, n, inner]`; `out` is `[outer, inner]`.
/// Ties go to the first index, or the last with `last`; NaN counts as the extreme (like numpy).
/// `n` must be at least 1.
pub fn ref_arg_reduce<T: Copy + PartialOrd>(
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    out: &mut [i64],
    max: bool,
    last: bool,
) {
    for o in 0..outer {
        let base = o * n * inner;
        let best = &mut out[o * inner..(o + 1) * inner];
        best.fill(0);
        for k in 1..n {
            let row = &x[base + k * inner..base + (k + 1) * inner];
            for (i, (&v, b)) in row.iter().zip(best.iter_mut()).enumerate() {
                let cur = x[base + *b as usize * inner + i];
                let ord = nan_last_cmp(&v, &cur);
                let ord = if max { ord } else { nan_first(&v, &cur, ord) };
                if ord == Ordering::Greater || (last && ord == Ordering::Equal) {
                    *b = k as i64;
                }
            }
        }
    }
}

/// For the minimum, NaN still wins: reverse the order of numbers only.
fn nan_first<T: PartialOrd>(v: &T, cur: &T, ord: Ordering) -> Ordering {
    let v_nan = v.partial_cmp(v).is_none();
    let c_nan = cur.partial_cmp(cur).is_none();
    if v_nan || c_nan { ord } else { ord.reverse() }
}

/// Running sum or product (`op`) along the middle axis of `[outer, n, inner]`. `exclusive`
/// starts from `identity` and leaves out the current element; `reverse` runs from the end.
#[allow(clippy::too_many_arguments)]
pub fn ref_cumulate<T: Copy>(
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    out: &mut [T],
    exclusive: bool,
    reverse: bool,
    identity: T,
    op: impl Fn(T, T) -> T,
) {
    for o in 0..outer {
        let base = o * n * inner;
        for step in 0..n {
            let k = if reverse { n - 1 - step } else { step };
            let cur = base + k * inner;
            if step == 0 {
                for i in 0..inner {
                    out[cur + i] = if exclusive { identity } else { x[cur + i] };
                }
                continue;
            }
            let prev = if reverse { cur + inner } else { cur - inner };
            let src = if exclusive { prev } else { cur };
            for i in 0..inner {
                out[cur + i] = op(out[prev + i], x[src + i]);
            }
        }
    }
}

/// `TopK` along the middle axis of `[outer, n, inner]`: writes `[outer, k, inner]` values and
/// indices. Largest (or smallest) first; equal values by lower index. NaN is the largest value.
/// `scratch` holds at least `n` indices; `k <= n`.
#[allow(clippy::too_many_arguments)]
pub fn ref_topk<T: Copy + PartialOrd>(
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    k: usize,
    largest: bool,
    values: &mut [T],
    indices: &mut [i64],
    scratch: &mut [usize],
) {
    if k == 0 {
        return;
    }
    let idx = &mut scratch[..n];
    for o in 0..outer {
        let base = o * n * inner;
        for i in 0..inner {
            let at = |j: usize| &x[base + j * inner + i];
            let cmp = |a: &usize, b: &usize| {
                let ord = nan_last_cmp(at(*a), at(*b));
                let ord = if largest { ord.reverse() } else { ord };
                ord.then(a.cmp(b))
            };
            for (j, s) in idx.iter_mut().enumerate() {
                *s = j;
            }
            if k < n {
                idx.select_nth_unstable_by(k - 1, cmp);
            }
            idx[..k].sort_unstable_by(cmp);
            for (r, &j) in idx[..k].iter().enumerate() {
                let p = o * k * inner + r * inner + i;
                values[p] = *at(j);
                indices[p] = j as i64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visit_maps_middle_axis() {
        // [2, 3, 2] reducing axis 1 -> [2, 1, 2]
        let x: [f32; 12] = [0., 1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11.];
        let mut out = [0f64; 4];
        let mut s = [0f64; 4];
        ref_reduce_float(Reduction::Sum, &x, &[2, 3, 2], &[false, true, false], &mut out, &mut s);
        assert_eq!(out, [6., 9., 24., 27.]);
        ref_reduce_float(Reduction::Max, &x, &[2, 3, 2], &[true, false, true], &mut out[..3], &mut s);
        assert_eq!(&out[..3], &[7., 9., 11.][..]);
    }

    #[test]
    fn empty_reductions_give_identities() {
        let x: [f32; 0] = [];
        let mut out = [7f32; 2];
        let mut s = [0f32; 2];
        ref_reduce_float(Reduction::Max, &x, &[2, 0], &[false, true], &mut out, &mut s);
        assert_eq!(out, [f32::NEG_INFINITY; 2]);
        ref_reduce_float(Reduction::Prod, &x, &[2, 0], &[false, true], &mut out, &mut s);
        assert_eq!(out, [1.0; 2]);
        ref_reduce_float(Reduction::LogSumExp, &x, &[2, 0], &[false, true], &mut out, &mut s);
        assert_eq!(out, [f32::NEG_INFINITY; 2]);
    }

    #[test]
    fn log_sum_exp_is_stable() {
        let x = [1000f64, 1000.0];
        let mut out = [0f64];
        let mut s = [0f64];
        ref_reduce_float(Reduction::LogSumExp, &x, &[2], &[true], &mut out, &mut s);
        assert!((out[0] - (1000.0 + 2f64.ln())).abs() < 1e-9);
    }

    #[test]
    fn arg_ties_and_nan() {
        let x = [1.0f32, 3.0, 3.0, 0.0];
        let mut out = [0i64];
        ref_arg_reduce(&x, 1, 4, 1, &mut out, true, false);
        assert_eq!(out, [1]);
        ref_arg_reduce(&x, 1, 4, 1, &mut out, true, true);
        assert_eq!(out, [2]);
        ref_arg_reduce(&x, 1, 4, 1, &mut out, false, false);
        assert_eq!(out, [3]);
        let y = [1.0f32, f32::NAN, 0.0];
        ref_arg_reduce(&y, 1, 3, 1, &mut out, false, false);
        assert_eq!(out, [1]);
    }

    #[test]
    fn cumulate_exclusive_reverse() {
        let x = [1, 2, 3, 4];
        let mut out = [0; 4];
        ref_cumulate(&x, 1, 4, 1, &mut out, false, false, 0, |a, b| a + b);
        assert_eq!(out, [1, 3, 6, 10]);
        ref_cumulate(&x, 1, 4, 1, &mut out, true, true, 0, |a, b| a + b);
        assert_eq!(out, [9, 7, 4, 0]);
        ref_cumulate(&x, 1, 4, 1, &mut out, true, false, 1, |a, b| a * b);
        assert_eq!(out, [1, 1, 2, 6]);
    }

    #[test]
    fn topk_orders_ties_by_index() {
        let x = [2, 5, 5, 1, 5];
        let mut v = [0; 3];
        let mut ix = [0i64; 3];
        let mut s = [0usize; 5];
        ref_topk(&x, 1, 5, 1, 3, true, &mut v, &mut ix, &mut s);
        assert_eq!((v, ix), ([5, 5, 5], [1, 2, 4]));
        ref_topk(&x, 1, 5, 1, 3, false, &mut v, &mut ix, &mut s);
        assert_eq!((v, ix), ([1, 2, 5], [3, 0, 1]));
    }
}
