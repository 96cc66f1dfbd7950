//! Reductions, arg-reductions, scans and TopK.
//!
//! Floats reduce in their own precision (f16/bf16 in f32, rounded once). Integer sums and
//! products wrap like numpy; integer L2/LogSum/LogSumExp compute in f64 and truncate back.

use mote_core::shape::MAX_RANK;
use mote_ir::ops::reduce::{ReduceOp, Reduction, reduced_axes};
use mote_ir::{Data, Elem, Tensor, Value, dispatch, dispatch_int, dispatch_numeric};
use mote_kernels::reference::reduce::{
    reduced_count, ref_arg_reduce, ref_cumulate, ref_reduce_float, ref_reduce_fold, ref_topk,
};
use num_traits::{Bounded, Float};

use super::elementwise::Int;
use super::{EvalCx, Inputs, alloc, axis, downcast, numel, one, shape_input, upcast};
use crate::error::OpError;
use crate::{bail, op_err};

pub fn eval(op: &ReduceOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    match op {
        ReduceOp::Reduce { kind, keepdims, noop_with_empty_axes } => {
            let axes = match inputs.opt_tensor(1)? {
                Some(t) => shape_input(t, "axes")?,
                None => Vec::new(),
            };
            one(reduce(*kind, inputs.tensor(0)?, &axes, *keepdims, *noop_with_empty_axes)?)
        }
        ReduceOp::Arg { max, axis, keepdims, select_last_index } => {
            one(arg_reduce(inputs.tensor(0)?, *axis, *keepdims, *max, *select_last_index)?)
        }
        ReduceOp::Cumulative { prod, exclusive, reverse } => {
            let a = scalar_int(inputs.tensor(1)?, "axis")?;
            one(cumulate(inputs.tensor(0)?, a, *prod, *exclusive, *reverse)?)
        }
        ReduceOp::TopK { axis, largest, .. } => {
            let k = scalar_int(inputs.tensor(1)?, "k")?;
            let (v, i) = topk(inputs.tensor(0)?, k, *axis, *largest)?;
            Ok(vec![Value::Tensor(v), Value::Tensor(i)])
        }
    }
}

/// A one-element integer input.
fn scalar_int(t: &Tensor, what: &str) -> Result<i64, OpError> {
    if !t.dtype().is_int() {
        bail!("{what} must be an integer tensor, got {}", t.dtype());
    }
    t.scalar_i64().map_err(|_| op_err!("{what} must have exactly one element, got shape {:?}", t.shape()))
}

/// `Reduce*` over the axes listed in `axes` (empty: all axes, or none with `noop`).
pub fn reduce(kind: Reduction, x: &Tensor, axes: &[i64], keepdims: bool, noop: bool) -> Result<Tensor, OpError> {
    let dims = x.shape();
    if dims.len() > MAX_RANK {
        bail!("{} supports rank up to {MAX_RANK}, got {}", kind.name(), dims.len());
    }
    let Some(flags) = reduced_axes(axes, dims.len(), noop).map_err(OpError)? else {
        return Ok(x.clone());
    };
    let kept: Vec<usize> = dims.iter().zip(&flags).map(|(&d, &r)| if r { 1 } else { d }).collect();
    let out_shape: Vec<usize> =
        if keepdims { kept.clone() } else { dims.iter().zip(&flags).filter(|(_, r)| !**r).map(|(&d, _)| d).collect() };
    let n = numel(&kept)?;
    let dtype = x.dtype();
    let data = match x.data() {
        Data::F32(v) => Data::F32(float_reduce(kind, v, dims, &flags, n)),
        Data::F64(v) => Data::F64(float_reduce(kind, v, dims, &flags, n)),
        Data::F16(_) | Data::BF16(_) => {
            let up = upcast(x)?;
            let r = float_reduce(kind, up.typed::<f32>()?, dims, &flags, n);
            return downcast(Tensor::from_vec(out_shape, r)?, dtype);
        }
        Data::Bool(v) => {
            let out = match kind {
                Reduction::Max => fold(v, dims, &flags, n, false, |a, b| a || b),
                Reduction::Min => fold(v, dims, &flags, n, true, |a, b| a && b),
                _ => bail!("{} is not defined for bool", kind.name()),
            };
            Data::Bool(out)
        }
        d => dispatch_int!(d, v => T::wrap(int_reduce(kind, v, dims, &flags, n)?),
            else bail!("{} is not defined for {dtype}", kind.name())),
    };
    Ok(Tensor::new(out_shape, data)?)
}

fn fold<T: Copy, A: Copy + Default>(
    x: &[T],
    dims: &[usize],
    flags: &[bool],
    n: usize,
    init: A,
    f: impl Fn(A, T) -> A,
) -> Vec<A> {
    let mut out = vec![A::default(); n];
    ref_reduce_fold(x, dims, flags, &mut out, init, f);
    out
}

/// A float reduction accumulated in f64, rounded once to `T`.
fn float_reduce<T: Float>(kind: Reduction, x: &[T], dims: &[usize], flags: &[bool], n: usize) -> Vec<T> {
    let mut out = vec![0f64; n];
    let mut scratch = if kind == Reduction::LogSumExp { vec![0f64; n] } else { Vec::new() };
    ref_reduce_float(kind, x, dims, flags, &mut out, &mut scratch);
    out.into_iter().map(|v| T::from(v).unwrap_or_else(T::nan)).collect()
}

fn int_reduce<T: Int + Bounded>(
    kind: Reduction,
    x: &[T],
    dims: &[usize],
    flags: &[bool],
    n: usize,
) -> Result<Vec<T>, OpError> {
    let wide = |f: fn(i128, i128) -> i128, init: i128| -> Vec<T> {
        fold(x, dims, flags, n, init, |a, v: T| f(a, v.to_i128())).into_iter().map(T::from_i128).collect()
    };
    Ok(match kind {
        Reduction::Sum => wide(|a, v| a.wrapping_add(v), 0),
        Reduction::Prod => wide(|a, v| a.wrapping_mul(v), 1),
        Reduction::SumSquare => wide(|a, v| a.wrapping_add(v.wrapping_mul(v)), 0),
        Reduction::L1 => wide(|a, v| a.wrapping_add(v.abs()), 0),
        Reduction::Max => fold(x, dims, flags, n, T::min_value(), |a, v| if v > a { v } else { a }),
        Reduction::Min => fold(x, dims, flags, n, T::max_value(), |a, v| if v < a { v } else { a }),
        Reduction::Mean => {
            let count = reduced_count(dims, flags) as i128;
            if count == 0 && n > 0 {
                bail!("ReduceMean of an empty set is undefined for integers");
            }
            let sums = fold(x, dims, flags, n, 0i128, |a, v: T| a.wrapping_add(v.to_i128()));
            sums.into_iter().map(|s| T::from_i128(s / count)).collect()
        }
        Reduction::L2 | Reduction::LogSum | Reduction::LogSumExp => {
            let f: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
            float_reduce(kind, &f, dims, flags, n).into_iter().map(T::from_f64).collect()
        }
    })
}

/// `[outer, n, inner]` around axis `a` of `dims`.
fn split_at_axis(dims: &[usize], a: usize) -> (usize, usize, usize) {
    (dims[..a].iter().product(), dims[a], dims[a + 1..].iter().product())
}

/// `ArgMax`/`ArgMin`.
pub fn arg_reduce(x: &Tensor, ax: i64, keepdims: bool, max: bool, last: bool) -> Result<Tensor, OpError> {
    let name = if max { "ArgMax" } else { "ArgMin" };
    let a = axis(ax, x.rank())?;
    let (outer, n, inner) = split_at_axis(x.shape(), a);
    let mut shape = x.shape().to_vec();
    if keepdims {
        shape[a] = 1;
    } else {
        shape.remove(a);
    }
    let mut out = vec![0i64; numel(&shape)?];
    if n == 0 && !out.is_empty() {
        bail!("{name} over an empty axis {a} (shape {:?})", x.shape());
    }
    dispatch_numeric!(x.data(), v => ref_arg_reduce(v, outer, n, inner, &mut out, max, last),
        else bail!("{name} is not defined for {}", x.dtype()));
    Ok(Tensor::from_vec(shape, out)?)
}

/// `CumSum`/`CumProd` along axis `ax`.
pub fn cumulate(x: &Tensor, ax: i64, prod: bool, exclusive: bool, reverse: bool) -> Result<Tensor, OpError> {
    let name = if prod { "CumProd" } else { "CumSum" };
    let a = axis(ax, x.rank())?;
    let (outer, n, inner) = split_at_axis(x.shape(), a);
    let dtype = x.dtype();
    fn run<T: Copy + Default>(
        v: &[T],
        (outer, n, inner): (usize, usize, usize),
        exclusive: bool,
        reverse: bool,
        identity: T,
        op: impl Fn(T, T) -> T,
    ) -> Vec<T> {
        let mut out = vec![T::default(); v.len()];
        ref_cumulate(v, outer, n, inner, &mut out, exclusive, reverse, identity, op);
        out
    }
    let geo = (outer, n, inner);
    let data = match x.data() {
        Data::F16(_) | Data::BF16(_) => {
            let up = upcast(x)?;
            let r = cumulate(&up, ax, prod, exclusive, reverse)?;
            return downcast(r, dtype);
        }
        d => dispatch!(d, [F32, F64], v => {
            let r = if prod {
                run(v, geo, exclusive, reverse, 1.0, |p, q| p * q)
            } else {
                run(v, geo, exclusive, reverse, 0.0, |p, q| p + q)
            };
            T::wrap(r)
        }, else dispatch_int!(d, v => {
            let r = if prod {
                run(v, geo, exclusive, reverse, T::from_i128(1), |p: T, q: T| T::from_i128(p.to_i128().wrapping_mul(q.to_i128())))
            } else {
                run(v, geo, exclusive, reverse, T::from_i128(0), |p: T, q: T| T::from_i128(p.to_i128() + q.to_i128()))
            };
            T::wrap(r)
        }, else bail!("{name} is not defined for {dtype}"))),
    };
    Ok(Tensor::new(x.shape().to_vec(), data)?)
}

/// `TopK`: the values and int64 indices of the `k` largest (or smallest) elements along `ax`.
pub fn topk(x: &Tensor, k: i64, ax: i64, largest: bool) -> Result<(Tensor, Tensor), OpError> {
    let a = axis(ax, x.rank())?;
    let (outer, n, inner) = split_at_axis(x.shape(), a);
    if k < 0 || k as usize > n {
        bail!("TopK: k = {k} must be in [0, {n}] (the size of axis {a})");
    }
    let k = k as usize;
    let mut shape = x.shape().to_vec();
    shape[a] = k;
    let mut values = alloc(x.dtype(), &shape)?;
    let mut indices = vec![0i64; values.len()];
    let mut scratch = vec![0usize; n];
    let dtype = x.dtype();
    dispatch_numeric!(x.data(), v => {
        let out = values.typed_mut::<T>()?;
        ref_topk(v, outer, n, inner, k, largest, out, &mut indices, &mut scratch);
    }, else bail!("TopK is not defined for {dtype}"));
    Ok((values, Tensor::from_vec(shape, indices)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_ir::DType;

    fn t32(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }

    #[test]
    fn reduce_keepdims_and_all() {
        let x = t32(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
        let r = reduce(Reduction::Sum, &x, &[1], true, false).unwrap();
        assert_eq!(r.shape(), &[2, 1]);
        assert_eq!(r.typed::<f32>().unwrap(), &[6., 15.]);
        let r = reduce(Reduction::Mean, &x, &[], false, false).unwrap();
        assert_eq!(r.shape(), &[] as &[usize]);
        assert_eq!(r.typed::<f32>().unwrap(), &[3.5]);
        let r = reduce(Reduction::Mean, &x, &[], false, true).unwrap();
        assert_eq!(r, x);
        assert!(reduce(Reduction::Sum, &x, &[2], true, false).is_err());
        let big = t32(&[2], &[3e38, 3e38]);
        let r = reduce(Reduction::Sum, &big, &[], false, false).unwrap();
        assert_eq!(r.typed::<f32>().unwrap(), &[f32::INFINITY]);
        // Accumulated in f64: the small terms are not lost.
        let mut v = vec![1.0f32];
        v.extend([3e-8f32; 10]);
        let x = Tensor::from_vec(vec![11], v).unwrap();
        let m = reduce(Reduction::Sum, &x, &[], false, false).unwrap().typed::<f32>().unwrap()[0];
        assert!(m > 1.0, "{m}");
    }

    #[test]
    fn integer_reductions_wrap_and_truncate() {
        let x = Tensor::from_vec(vec![3], vec![100i8, 100, 100]).unwrap();
        let r = reduce(Reduction::Sum, &x, &[], false, false).unwrap();
        assert_eq!(r.typed::<i8>().unwrap(), &[44]);
        let y = Tensor::from_vec(vec![2], vec![-3i32, -4]).unwrap();
        assert_eq!(reduce(Reduction::Mean, &y, &[], false, false).unwrap().typed::<i32>().unwrap(), &[-3]);
        assert_eq!(reduce(Reduction::L2, &y, &[], false, false).unwrap().typed::<i32>().unwrap(), &[5]);
        let e = Tensor::from_vec(vec![0, 2], Vec::<i64>::new()).unwrap();
        let m = reduce(Reduction::Max, &e, &[0], false, false).unwrap();
        assert_eq!(m.typed::<i64>().unwrap(), &[i64::MIN, i64::MIN]);
    }

    #[test]
    fn bool_and_half() {
        let b = Tensor::from_vec(vec![2, 2], vec![true, false, false, false]).unwrap();
        assert_eq!(reduce(Reduction::Max, &b, &[1], false, false).unwrap().typed::<bool>().unwrap(), &[true, false]);
        assert!(reduce(Reduction::Sum, &b, &[1], false, false).is_err());
        let h = crate::ops::elementwise::cast(&t32(&[2], &[1.5, 2.5]), DType::F16).unwrap();
        let s = reduce(Reduction::Sum, &h, &[], true, false).unwrap();
        assert_eq!(s.dtype(), DType::F16);
        assert_eq!(s.to_f32_vec().unwrap(), vec![4.0]);
    }

    #[test]
    fn arg_cum_topk() {
        let x = t32(&[2, 3], &[1., 5., 5., 7., 0., 7.]);
        let a = arg_reduce(&x, 1, false, true, true).unwrap();
        assert_eq!(a.typed::<i64>().unwrap(), &[2, 2]);
        let a = arg_reduce(&x, 0, true, false, false).unwrap();
        assert_eq!((a.shape(), a.typed::<i64>().unwrap()), (&[1usize, 3][..], &[0i64, 1, 0][..]));
        let c = cumulate(&x, -1, false, true, false).unwrap();
        assert_eq!(c.typed::<f32>().unwrap(), &[0., 1., 6., 0., 7., 7.]);
        let (v, i) = topk(&x, 2, 1, true).unwrap();
        assert_eq!(v.typed::<f32>().unwrap(), &[5., 5., 7., 7.]);
        assert_eq!(i.typed::<i64>().unwrap(), &[1, 2, 0, 2]);
        assert!(topk(&x, 4, 1, true).is_err());
        let empty = Tensor::from_vec(vec![2, 0], Vec::<f32>::new()).unwrap();
        assert!(arg_reduce(&empty, 1, true, true, false).is_err());
    }
}
