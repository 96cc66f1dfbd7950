//! Reductions along axes, arg-reductions, scans (CumSum, CumProd), TopK.

use mote_core::DType;

use crate::infer::{InferCx, InferError, normalize_axis};
use crate::infer_err;
use crate::ops::OpFamily;

use crate::types::{Dim, TensorType, ValueType};
pub use mote_kernels::reference::reduce::Reduction;

/// Reductions, arg-reductions, scans and TopK.
#[derive(Clone, Debug, PartialEq)]
pub enum ReduceOp {
    /// `Reduce*(data, axes?)`. `axes` is an optional 1-D integer input; when it is omitted or
    /// empty every axis is reduced, unless `noop_with_empty_axes` (then the input is returned
    /// unchanged). Reduced axes are kept with size 1 when `keepdims`.
    Reduce { kind: Reduction, keepdims: bool, noop_with_empty_axes: bool },
    /// `ArgMax`/`ArgMin(data)`: int64 index of the extreme value along `axis`; ties go to the
    /// first index, or the last with `select_last_index`. NaN counts as the extreme value.
    Arg { max: bool, axis: i64, keepdims: bool, select_last_index: bool },
    /// `CumSum`/`CumProd(x, axis)`: running sum or product along the scalar `axis` input.
    /// `exclusive` leaves out the current element, `reverse` runs from the end.
    Cumulative { prod: bool, exclusive: bool, reverse: bool },
    /// `TopK(x, k) -> (values, indices)`: the `k` largest (or smallest) elements along `axis`,
    /// `k` a one-element int64 input. Equal values are ordered by lower index first; NaN counts
    /// as the largest value. With `sorted = false` any order is allowed (we still sort).
    TopK { axis: i64, largest: bool, sorted: bool },
}

/// The axes a reduction reduces, as a flag per axis of a rank-`rank` input. `axes` are the raw
/// (possibly negative) values of the axes input, empty when it is omitted. Returns `None` for
/// the no-op case (empty axes with `noop_with_empty_axes`). Out-of-range and repeated axes are
/// errors.
pub fn reduced_axes(axes: &[i64], rank: usize, noop_with_empty_axes: bool) -> Result<Option<Vec<bool>>, String> {
    if axes.is_empty() {
        return Ok(if noop_with_empty_axes { None } else { Some(vec![true; rank]) });
    }
    let mut flags = vec![false; rank];
    for &a in axes {
        let i = normalize_axis(a, rank).map_err(|e| e.0)?;
        if flags[i] {
            return Err(format!("axis {a} is repeated in axes {axes:?}"));
        }
        flags[i] = true;
    }
    Ok(Some(flags))
}

impl OpFamily for ReduceOp {
    fn name(&self) -> &'static str {
        match self {
            ReduceOp::Reduce { kind, .. } => kind.name(),
            ReduceOp::Arg { max: true, .. } => "ArgMax",
            ReduceOp::Arg { max: false, .. } => "ArgMin",
            ReduceOp::Cumulative { prod: false, .. } => "CumSum",
            ReduceOp::Cumulative { prod: true, .. } => "CumProd",
            ReduceOp::TopK { .. } => "TopK",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        match self {
            ReduceOp::Reduce { keepdims, noop_with_empty_axes, .. } => {
                Ok(vec![cx.like(0, infer_reduce_shape(cx, *keepdims, *noop_with_empty_axes)?)])
            }
            ReduceOp::Arg { axis, keepdims, .. } => {
                let shape = match cx.shape(0) {
                    Some(s) => {
                        let a = normalize_axis(*axis, s.len())?;
                        let mut out = s.to_vec();
                        if *keepdims {
                            out[a] = Dim::Known(1);
                        } else {
                            out.remove(a);
                        }
                        Some(out)
                    }
                    None => None,
                };
                Ok(vec![ValueType::Tensor(TensorType { dtype: Some(DType::I64), shape })])
            }
            ReduceOp::Cumulative { .. } => {
                // The axis is structural, like an attribute: asking for it marks it so.
                let _ = cx.value(1);
                Ok(vec![cx.same_as(0)])
            }
            ReduceOp::TopK { axis, .. } => {
                let shape = match cx.shape(0) {
                    Some(s) => {
                        let a = normalize_axis(*axis, s.len())?;
                        let mut out = s.to_vec();
                        out[a] = match cx.const_i64s(1).as_deref() {
                            Some([k]) if *k >= 0 => {
                                if let Dim::Known(n) = s[a]
                                    && *k as usize > n
                                {
                                    return Err(infer_err!("k = {k} exceeds the axis size {n}"));
                                }
                                Dim::Known(*k as usize)
                            }
                            Some(k) => return Err(infer_err!("k must be one non-negative value, got {k:?}")),
                            None => Dim::Unknown,
                        };
                        Some(out)
                    }
                    None => None,
                };
                Ok(vec![cx.like(0, shape.clone()), ValueType::Tensor(TensorType { dtype: Some(DType::I64), shape })])
            }
        }
    }
}

/// The output shape of `Reduce*`, exact when the axes are constant.
fn infer_reduce_shape(cx: &InferCx<'_>, keepdims: bool, noop: bool) -> Result<Option<Vec<Dim>>, InferError> {
    let Some(shape) = cx.shape(0) else { return Ok(None) };
    let axes: Option<Vec<i64>> = if cx.opt(1).is_none() {
        Some(Vec::new())
    } else if let Some(a) = cx.const_i64s(1) {
        Some(a)
    } else if cx.tensor(1).numel().and_then(|n| n.known()) == Some(0) {
        Some(Vec::new())
    } else {
        None
    };
    let Some(axes) = axes else {
        // Unknown axes: with keepdims each axis keeps its size or becomes 1.
        return Ok(keepdims
            .then(|| shape.iter().map(|d| if *d == Dim::Known(1) { Dim::Known(1) } else { Dim::Unknown }).collect()));
    };
    let Some(flags) = reduced_axes(&axes, shape.len(), noop).map_err(InferError)? else {
        return Ok(Some(shape.to_vec()));
    };
    let mut out = Vec::with_capacity(shape.len());
    for (d, &r) in shape.iter().zip(&flags) {
        if !r {
            out.push(d.clone());
        } else if keepdims {
            out.push(Dim::Known(1));
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::Fact;
    use crate::tensor::Tensor;

    fn sym_input() -> Fact {
        Fact::of_type(ValueType::tensor(DType::F32, vec![Dim::Sym("N".into()), Dim::Known(3), Dim::Known(4)]))
    }

    #[test]
    fn reduce_shapes_keep_symbols() {
        let axes = Tensor::from_vec(vec![1], vec![-1i64]).unwrap();
        let inputs = [Some(sym_input()), Some(Fact::of_value(axes))];
        let cx = InferCx::new(&inputs, 1);
        let op = ReduceOp::Reduce { kind: Reduction::Sum, keepdims: false, noop_with_empty_axes: false };
        let out = op.infer(&cx).unwrap();
        assert_eq!(out[0], ValueType::tensor(DType::F32, vec![Dim::Sym("N".into()), Dim::Known(3)]));
        let op = ReduceOp::Reduce { kind: Reduction::Sum, keepdims: true, noop_with_empty_axes: false };
        let out = op.infer(&cx).unwrap();
        assert_eq!(out[0], ValueType::tensor(DType::F32, vec![Dim::Sym("N".into()), Dim::Known(3), Dim::Known(1)]));
    }

    #[test]
    fn reduce_all_and_noop() {
        let inputs = [Some(sym_input())];
        let cx = InferCx::new(&inputs, 1);
        let all = ReduceOp::Reduce { kind: Reduction::Max, keepdims: false, noop_with_empty_axes: false };
        assert_eq!(all.infer(&cx).unwrap()[0], ValueType::tensor(DType::F32, vec![]));
        let noop = ReduceOp::Reduce { kind: Reduction::Max, keepdims: false, noop_with_empty_axes: true };
        assert_eq!(noop.infer(&cx).unwrap()[0], sym_input().ty);
    }

    #[test]
    fn repeated_or_bad_axes_are_errors() {
        assert!(reduced_axes(&[0, -3], 3, false).is_err());
        assert!(reduced_axes(&[3], 3, false).is_err());
        assert_eq!(reduced_axes(&[-1], 2, false).unwrap(), Some(vec![false, true]));
    }

    #[test]
    fn topk_shapes() {
        let k = Tensor::from_vec(vec![1], vec![2i64]).unwrap();
        let inputs = [Some(sym_input()), Some(Fact::of_value(k))];
        let cx = InferCx::new(&inputs, 2);
        let op = ReduceOp::TopK { axis: -1, largest: true, sorted: true };
        let out = op.infer(&cx).unwrap();
        let want = vec![Dim::Sym("N".into()), Dim::Known(3), Dim::Known(2)];
        assert_eq!(out[0], ValueType::tensor(DType::F32, want.clone()));
        assert_eq!(out[1], ValueType::tensor(DType::I64, want));
    }
}
