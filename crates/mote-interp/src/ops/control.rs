//! Control flow and container ops.

use mote_ir::ops::control::{ControlOp, ScanAttrs};
use mote_ir::{DType, Data, Elem, Tensor, Value, ValueType, dispatch_elem};

use super::{EvalCx, Inputs, axis, numel, one};
use crate::error::OpError;
use crate::{bail, op_err};

/// Upper bound on `Loop` iterations, so a hostile model cannot spin forever.
pub const MAX_LOOP_ITERATIONS: i64 = 1 << 24;

/// Upper bound on sequence lengths: every item is a separate allocation, so a long sequence of
/// small tensors costs far more memory than the tensor size limit suggests; and sequence ops
/// copy their input, so a loop that grows a sequence by one item per iteration takes time
/// quadratic in this bound.
pub const MAX_SEQUENCE_LEN: usize = 1 << 16;

pub fn eval(op: &ControlOp, inputs: &Inputs<'_>, cx: &EvalCx<'_>, n: usize) -> Result<Vec<Value>, OpError> {
    match op {
        ControlOp::If { then_branch, else_branch } => {
            let c = inputs.tensor(0)?;
            if c.len() != 1 {
                bail!("condition must have one element, got shape {:?}", c.shape());
            }
            let take = c.to_f64_vec()?[0] != 0.0;
            cx.run_subgraph(if take { then_branch } else { else_branch }, Vec::new())
        }
        ControlOp::Loop { body } => run_loop(body, inputs, cx, n),
        ControlOp::Scan(s) => scan(s, inputs, cx, n),
        ControlOp::SequenceMap { body } => sequence_map(body, inputs, cx),
        ControlOp::SequenceEmpty { .. } => Ok(vec![Value::Sequence(Vec::new())]),
        ControlOp::SequenceConstruct => {
            let items: Vec<Value> = inputs.tensors()?.into_iter().map(|t| Value::Tensor(t.clone())).collect();
            Ok(vec![Value::Sequence(items)])
        }
        ControlOp::SequenceInsert => {
            let mut seq = sequence(inputs, 0)?.to_vec();
            let t = inputs.tensor(1)?.clone();
            let pos = match inputs.opt_tensor(2)? {
                None => seq.len(),
                Some(p) => position(p, seq.len() + 1)?,
            };
            if seq.len() >= MAX_SEQUENCE_LEN {
                bail!("sequence would exceed {MAX_SEQUENCE_LEN} items");
            }
            seq.insert(pos, Value::Tensor(t));
            Ok(vec![Value::Sequence(seq)])
        }
        ControlOp::SequenceAt => {
            let seq = sequence(inputs, 0)?;
            let pos = position(inputs.tensor(1)?, seq.len())?;
            Ok(vec![seq[pos].clone()])
        }
        ControlOp::SequenceErase => {
            let mut seq = sequence(inputs, 0)?.to_vec();
            if seq.is_empty() {
                bail!("cannot erase from an empty sequence");
            }
            let pos = match inputs.opt_tensor(1)? {
                None => seq.len() - 1,
                Some(p) => position(p, seq.len())?,
            };
            seq.remove(pos);
            Ok(vec![Value::Sequence(seq)])
        }
        ControlOp::SequenceLength => one(Tensor::scalar(sequence(inputs, 0)?.len() as i64)),
        ControlOp::SplitToSequence { axis: a, keepdims } => split_to_sequence(inputs, *a, *keepdims),
        ControlOp::ConcatFromSequence { axis: a, new_axis } => {
            let seq = sequence(inputs, 0)?;
            let ts: Vec<&Tensor> = seq
                .iter()
                .map(|v| v.as_tensor().ok_or_else(|| op_err!("sequence items must be tensors")))
                .collect::<Result<_, _>>()?;
            one(if *new_axis { stack(&ts, *a)? } else { concat(&ts, *a)? })
        }
        ControlOp::Optional { .. } => match inputs.opt(0) {
            // ONNX optionals hold tensors or sequences; nesting them (say, in a loop) would
            // also build values whose clone and drop recurse without bound.
            Some(Value::Optional(_)) => bail!("Optional's input must be a tensor or a sequence, got an optional"),
            v => Ok(vec![Value::Optional(v.map(|v| Box::new(v.clone())))]),
        },
        ControlOp::OptionalHasElement => {
            let has = match inputs.opt(0) {
                None | Some(Value::Optional(None)) => false,
                Some(_) => true,
            };
            one(Tensor::scalar(has))
        }
        ControlOp::OptionalGetElement => match inputs.value(0)? {
            Value::Optional(Some(v)) => Ok(vec![(**v).clone()]),
            Value::Optional(None) => Err(op_err!("the optional is empty")),
            other => Ok(vec![other.clone()]),
        },
    }
}

fn sequence<'a>(inputs: &Inputs<'a>, i: usize) -> Result<&'a [Value], OpError> {
    match inputs.value(i)? {
        Value::Sequence(s) => Ok(s),
        other => Err(op_err!("input {i} must be a sequence, got a {}", other.kind())),
    }
}

/// A scalar position in `[-len, len)`, normalized.
fn position(p: &Tensor, len: usize) -> Result<usize, OpError> {
    if p.len() != 1 {
        bail!("position must be a scalar, got shape {:?}", p.shape());
    }
    let i = p.to_i64_vec()?[0];
    let n = len as i64;
    let k = if i < 0 { i + n } else { i };
    if k < 0 || k >= n {
        bail!("position {i} is out of range for a sequence of length {}", n);
    }
    Ok(k as usize)
}

fn run_loop(body: &mote_ir::Graph, inputs: &Inputs<'_>, cx: &EvalCx<'_>, n_out: usize) -> Result<Vec<Value>, OpError> {
    let max_trip = match inputs.opt_tensor(0)? {
        Some(m) if !m.is_empty() => Some(m.scalar_i64()?),
        _ => None,
    };
    let mut cond = match inputs.opt_tensor(1)? {
        Some(c) if !c.is_empty() => c.scalar_f64()? != 0.0,
        _ => true,
    };
    let mut carried: Vec<Value> = (2..inputs.len()).map(|i| inputs.value(i).cloned()).collect::<Result<_, _>>()?;
    let n_carried = carried.len();
    let n_scan = n_out.saturating_sub(n_carried);
    let mut scans: Vec<Vec<Value>> = vec![Vec::new(); n_scan];
    let limit = max_trip.unwrap_or(i64::MAX);
    let mut scan_elements = 0usize;
    let mut i: i64 = 0;
    while cond && i < limit {
        if i >= MAX_LOOP_ITERATIONS {
            bail!("more than {MAX_LOOP_ITERATIONS} iterations; refusing to continue");
        }
        let mut args = vec![Value::Tensor(Tensor::scalar(i)), Value::Tensor(Tensor::scalar(cond))];
        args.extend(carried.iter().cloned());
        let mut out = cx.run_subgraph(body, args)?.into_iter();
        let c = out.next().ok_or_else(|| op_err!("body produced no condition"))?;
        cond = c.as_tensor().ok_or_else(|| op_err!("body condition must be a tensor"))?.scalar_f64()? != 0.0;
        for slot in carried.iter_mut() {
            *slot = out.next().ok_or_else(|| op_err!("body produced too few outputs"))?;
        }
        for s in scans.iter_mut() {
            let v = out.next().ok_or_else(|| op_err!("body produced too few outputs"))?;
            // Bound what accumulates before the final stack checks the size.
            let t = v.as_tensor().ok_or_else(|| op_err!("scan outputs must be tensors, got a {}", v.kind()))?;
            scan_elements = scan_elements.saturating_add(t.len().max(1));
            if scan_elements > mote_ir::tensor::MAX_ELEMENTS {
                bail!("scan outputs exceed {} elements", mote_ir::tensor::MAX_ELEMENTS);
            }
            s.push(v);
        }
        i += 1;
    }
    let mut result = carried;
    for (k, s) in scans.into_iter().enumerate() {
        let body_ty = body.outputs.get(1 + n_carried + k).map(|&o| body.value(o).ty.clone()).unwrap_or_default();
        result.push(stack_values(s, &body_ty)?);
    }
    Ok(result)
}

/// Stacks per-iteration tensors on a new leading axis (an empty result takes its dtype and
/// trailing shape from the body's declared type when known).
fn stack_values(items: Vec<Value>, ty: &ValueType) -> Result<Value, OpError> {
    if items.is_empty() {
        let tt = ty.as_tensor();
        let dtype = tt.and_then(|t| t.dtype).unwrap_or(DType::F32);
        let mut shape = vec![0];
        if let Some(s) = tt.and_then(|t| t.known_shape()) {
            shape.extend(s);
        }
        return Ok(Value::Tensor(Tensor::zeros(dtype, shape)?));
    }
    if items.iter().all(|v| matches!(v, Value::Tensor(_))) {
        let ts: Vec<&Tensor> = items.iter().filter_map(Value::as_tensor).collect();
        return Ok(Value::Tensor(stack(&ts, 0)?));
    }
    bail!("scan outputs must be tensors")
}

fn scan(s: &ScanAttrs, inputs: &Inputs<'_>, cx: &EvalCx<'_>, n_out: usize) -> Result<Vec<Value>, OpError> {
    let lead = usize::from(s.batch_axis_v8);
    let n_scan = s.num_scan_inputs;
    if lead.saturating_add(n_scan) > inputs.len() {
        bail!("Scan has {} inputs, fewer than its {n_scan} scan inputs", inputs.len());
    }
    let n_state = inputs.len() - lead - n_scan;
    let state: Vec<Tensor> = (lead..lead + n_state).map(|i| inputs.tensor(i).cloned()).collect::<Result<_, _>>()?;
    let scan_in: Vec<&Tensor> = (lead + n_state..inputs.len()).map(|i| inputs.tensor(i)).collect::<Result<_, _>>()?;
    if s.batch_axis_v8 {
        if inputs.opt(0).is_some() {
            bail!("Scan-8 with sequence_lens is not supported");
        }
        // Scan-8: every input has a leading batch axis; run the opset-9 scan per batch entry.
        let batch =
            state.first().or(scan_in.first().copied()).map(|t| t.shape().first().copied().unwrap_or(0)).unwrap_or(0);
        let mut per_batch: Vec<Vec<Tensor>> = Vec::new();
        for b in 0..batch {
            let st: Vec<Tensor> = state.iter().map(|t| index_axis(t, 0, b)).collect::<Result<_, _>>()?;
            let sc: Vec<Tensor> = scan_in.iter().map(|t| index_axis(t, 0, b)).collect::<Result<_, _>>()?;
            let out = scan_once(s, st, sc.iter().collect(), cx, n_out)?;
            per_batch.push(out);
        }
        let mut result = Vec::new();
        for k in 0..n_out {
            let ts: Vec<&Tensor> = per_batch.iter().map(|o| &o[k]).collect();
            if ts.is_empty() {
                bail!("Scan-8 with an empty batch is not supported");
            }
            result.push(Value::Tensor(stack(&ts, 0)?));
        }
        return Ok(result);
    }
    Ok(scan_once(s, state, scan_in, cx, n_out)?.into_iter().map(Value::Tensor).collect())
}

fn scan_once(
    s: &ScanAttrs,
    mut state: Vec<Tensor>,
    scan_in: Vec<&Tensor>,
    cx: &EvalCx<'_>,
    n_out: usize,
) -> Result<Vec<Tensor>, OpError> {
    let n_state = state.len();
    let mut axes = Vec::with_capacity(scan_in.len());
    let mut len = None;
    for (j, t) in scan_in.iter().enumerate() {
        let a = axis(s.input_axes.get(j).copied().unwrap_or(0), t.rank())?;
        let l = t.shape()[a];
        if len.is_some_and(|x| x != l) {
            bail!("scan inputs have different lengths along their scan axes");
        }
        len = Some(l);
        axes.push(a);
    }
    let len = len.unwrap_or(0);
    let n_scan_out = n_out.saturating_sub(n_state);
    let mut outs: Vec<Vec<Tensor>> = vec![Vec::new(); n_scan_out];
    let mut scan_elements = 0usize;
    for it in 0..len {
        let mut args: Vec<Value> = state.iter().cloned().map(Value::Tensor).collect();
        for (j, t) in scan_in.iter().enumerate() {
            let k = if s.input_reverse.get(j).copied().unwrap_or(false) { len - 1 - it } else { it };
            args.push(Value::Tensor(index_axis(t, axes[j], k)?));
        }
        let out = cx.run_subgraph(&s.body, args)?;
        let mut out =
            out.into_iter().map(|v| v.into_tensor().ok_or_else(|| op_err!("Scan body outputs must be tensors")));
        for slot in state.iter_mut() {
            *slot = out.next().ok_or_else(|| op_err!("body produced too few outputs"))??;
        }
        for o in outs.iter_mut() {
            let t = out.next().ok_or_else(|| op_err!("body produced too few outputs"))??;
            scan_elements = scan_elements.saturating_add(t.len().max(1));
            if scan_elements > mote_ir::tensor::MAX_ELEMENTS {
                bail!("scan outputs exceed {} elements", mote_ir::tensor::MAX_ELEMENTS);
            }
            o.push(t);
        }
    }
    let mut result = state;
    for (k, mut o) in outs.into_iter().enumerate() {
        if s.output_reverse.get(k).copied().unwrap_or(false) {
            o.reverse();
        }
        if o.is_empty() {
            bail!("Scan over zero iterations cannot produce scan outputs");
        }
        let refs: Vec<&Tensor> = o.iter().collect();
        result.push(stack(&refs, s.output_axes.get(k).copied().unwrap_or(0))?);
    }
    Ok(result)
}

fn sequence_map(body: &mote_ir::Graph, inputs: &Inputs<'_>, cx: &EvalCx<'_>) -> Result<Vec<Value>, OpError> {
    let len = sequence(inputs, 0)?.len();
    for i in 1..inputs.len() {
        if let Some(Value::Sequence(s)) = inputs.opt(i)
            && s.len() != len
        {
            bail!("sequence input {i} has length {}, the first has {len}", s.len());
        }
    }
    let mut outs: Vec<Vec<Value>> = vec![Vec::new(); body.outputs.len()];
    for k in 0..len {
        let mut args = Vec::with_capacity(inputs.len());
        for i in 0..inputs.len() {
            args.push(match inputs.value(i)? {
                Value::Sequence(s) => s[k].clone(),
                other => other.clone(),
            });
        }
        for (slot, v) in outs.iter_mut().zip(cx.run_subgraph(body, args)?) {
            slot.push(v);
        }
    }
    Ok(outs.into_iter().map(Value::Sequence).collect())
}

fn split_to_sequence(inputs: &Inputs<'_>, a: i64, keepdims: bool) -> Result<Vec<Value>, OpError> {
    let x = inputs.tensor(0)?;
    let ax = axis(a, x.rank())?;
    let dim = x.shape()[ax];
    let sizes: Vec<usize> = match inputs.opt_tensor(1)? {
        None => {
            if dim > MAX_SEQUENCE_LEN {
                bail!("SplitToSequence would make {dim} parts (at most {MAX_SEQUENCE_LEN})");
            }
            let parts: Vec<Value> = (0..dim)
                .map(|i| {
                    let t = index_axis(x, ax, i)?;
                    Ok(Value::Tensor(if keepdims { with_axis(&t, ax)? } else { t }))
                })
                .collect::<Result<_, OpError>>()?;
            return Ok(vec![Value::Sequence(parts)]);
        }
        Some(s) if s.rank() == 0 => {
            let k = s.scalar_i64()?;
            if k <= 0 {
                bail!("split size must be positive, got {k}");
            }
            let k = k as usize;
            if dim.div_ceil(k) > MAX_SEQUENCE_LEN {
                bail!("SplitToSequence would make {} parts (at most {MAX_SEQUENCE_LEN})", dim.div_ceil(k));
            }
            (0..dim.div_ceil(k)).map(|i| k.min(dim - i * k)).collect()
        }
        Some(s) => {
            let v = s.to_i64_vec()?;
            let sum = v.iter().try_fold(0i64, |a, &x| if x < 0 { None } else { a.checked_add(x) });
            if sum != Some(dim as i64) {
                bail!("split sizes {v:?} must be non-negative and sum to {dim}");
            }
            v.into_iter().map(|x| x as usize).collect()
        }
    };
    if sizes.len() > MAX_SEQUENCE_LEN {
        bail!("SplitToSequence would make {} parts (at most {MAX_SEQUENCE_LEN})", sizes.len());
    }
    let mut parts = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for sz in sizes {
        parts.push(Value::Tensor(narrow(x, ax, start, sz)?));
        start += sz;
    }
    Ok(vec![Value::Sequence(parts)])
}

/// `t` with a size-1 axis inserted at `ax`.
fn with_axis(t: &Tensor, ax: usize) -> Result<Tensor, OpError> {
    let mut s = t.shape().to_vec();
    s.insert(ax, 1);
    Ok(t.reshape(s)?)
}

/// Index `i` along `ax`, removing the axis.
pub fn index_axis(t: &Tensor, ax: usize, i: usize) -> Result<Tensor, OpError> {
    let n = narrow(t, ax, i, 1)?;
    let mut s = n.shape().to_vec();
    s.remove(ax);
    Ok(n.reshape(s)?)
}

/// Elements `start..start+len` along `ax`.
pub fn narrow(t: &Tensor, ax: usize, start: usize, len: usize) -> Result<Tensor, OpError> {
    let shape = t.shape();
    if ax >= shape.len() || start + len > shape[ax] {
        bail!("range {start}..{} is out of bounds for axis {ax} of shape {shape:?}", start + len);
    }
    let outer: usize = shape[..ax].iter().product();
    let inner: usize = shape[ax + 1..].iter().product();
    let mut idx = Vec::with_capacity(outer * len * inner);
    for o in 0..outer {
        let base = o * shape[ax] * inner + start * inner;
        idx.extend(base..base + len * inner);
    }
    let mut out_shape = shape.to_vec();
    out_shape[ax] = len;
    Ok(Tensor::new(out_shape, t.data().gather(&idx))?)
}

/// Concatenates tensors of one dtype along `a` (negative counts from the end).
pub fn concat(ts: &[&Tensor], a: i64) -> Result<Tensor, OpError> {
    let Some(first) = ts.first() else { bail!("cannot concatenate an empty sequence") };
    let ax = axis(a, first.rank())?;
    let mut out_shape = first.shape().to_vec();
    out_shape[ax] = 0;
    for t in ts {
        if t.dtype() != first.dtype() || t.rank() != first.rank() {
            bail!("cannot concatenate {}{:?} with {}{:?}", first.dtype(), first.shape(), t.dtype(), t.shape());
        }
        for (d, (&p, &q)) in first.shape().iter().zip(t.shape()).enumerate() {
            if d != ax && p != q {
                bail!("cannot concatenate shapes {:?} and {:?} along axis {ax}", first.shape(), t.shape());
            }
        }
        out_shape[ax] += t.shape()[ax];
    }
    numel(&out_shape)?;
    let outer: usize = out_shape[..ax].iter().product();
    let all = concat_data(ts);
    let mut offsets = Vec::with_capacity(ts.len());
    let mut acc = 0;
    for t in ts {
        offsets.push(acc);
        acc += t.len();
    }
    let mut idx = Vec::with_capacity(acc);
    for o in 0..outer {
        for (t, &off) in ts.iter().zip(&offsets) {
            let chunk: usize = t.shape()[ax..].iter().product();
            idx.extend(off + o * chunk..off + (o + 1) * chunk);
        }
    }
    Ok(Tensor::new(out_shape, all.gather(&idx))?)
}

/// Stacks tensors of one shape along a new axis `a` (counted in the output's rank).
pub fn stack(ts: &[&Tensor], a: i64) -> Result<Tensor, OpError> {
    let Some(first) = ts.first() else { bail!("cannot stack an empty sequence") };
    if let Some(t) = ts.iter().find(|t| t.shape() != first.shape()) {
        bail!("cannot stack tensors of shapes {:?} and {:?}", first.shape(), t.shape());
    }
    let ax = axis(a, first.rank() + 1)?;
    let expanded: Vec<Tensor> = ts.iter().map(|t| with_axis(t, ax)).collect::<Result<_, _>>()?;
    let refs: Vec<&Tensor> = expanded.iter().collect();
    concat(&refs, ax as i64)
}

fn concat_data(ts: &[&Tensor]) -> Data {
    let dtype = ts[0].dtype();
    if dtype == DType::String {
        return Data::String(ts.iter().flat_map(|t| t.strings().unwrap_or_default().iter().cloned()).collect());
    }
    let z = Data::zeros(dtype, 0);
    dispatch_elem!(z, _v => {
        let mut all: Vec<T> = Vec::new();
        for t in ts {
            all.extend_from_slice(t.as_slice::<T>().unwrap_or_default());
        }
        T::wrap(all)
    }, else unreachable!("strings handled above"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], v: &[i32]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }

    fn run(op: ControlOp, inputs: Vec<Option<Value>>) -> Result<Vec<Value>, OpError> {
        let empty = mote_ir::Graph::default();
        let cx = EvalCx { graph: &empty, env: &[] };
        eval(&op, &Inputs::new(inputs.iter().map(Option::as_ref).collect()), &cx, 1)
    }

    /// Audit: a loop wrapping its carried value in `Optional` nested it once per iteration,
    /// making every copy (and the final drop) recurse as deep as the iteration count.
    #[test]
    fn optional_of_an_optional_is_an_error() {
        let x = Value::Tensor(t(&[1], &[1]));
        let once = run(ControlOp::Optional { elem: None }, vec![Some(x)]).unwrap().remove(0);
        assert!(matches!(once, Value::Optional(Some(_))));
        assert!(run(ControlOp::Optional { elem: None }, vec![Some(once)]).is_err());
    }

    /// Audit: split sizes summing past i64 overflowed; too many parts are refused.
    #[test]
    fn split_to_sequence_checks_sizes_and_part_count() {
        let x = Value::Tensor(t(&[2], &[1, 2]));
        let sizes = Value::Tensor(Tensor::from_vec(vec![3], vec![i64::MAX, i64::MAX, 4]).unwrap());
        let op = || ControlOp::SplitToSequence { axis: 0, keepdims: true };
        assert!(run(op(), vec![Some(x), Some(sizes)]).unwrap_err().0.contains("sum to 2"));
        let long = Value::Tensor(Tensor::zeros(DType::I32, vec![MAX_SEQUENCE_LEN + 1]).unwrap());
        assert!(run(op(), vec![Some(long), None]).unwrap_err().0.contains("parts"));
    }

    #[test]
    fn concat_and_stack() {
        let a = t(&[2, 1], &[1, 2]);
        let b = t(&[2, 2], &[3, 4, 5, 6]);
        let c = concat(&[&a, &b], 1).unwrap();
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(c.typed::<i32>().unwrap(), &[1, 3, 4, 2, 5, 6]);
        let s = stack(&[&a, &a], -1).unwrap();
        assert_eq!(s.shape(), &[2, 1, 2]);
        assert!(concat(&[&a, &t(&[3, 1], &[0, 0, 0])], 1).is_err());
    }

    #[test]
    fn narrow_and_index() {
        let x = t(&[2, 3], &[1, 2, 3, 4, 5, 6]);
        assert_eq!(narrow(&x, 1, 1, 2).unwrap().typed::<i32>().unwrap(), &[2, 3, 5, 6]);
        assert_eq!(index_axis(&x, 0, 1).unwrap().typed::<i32>().unwrap(), &[4, 5, 6]);
        assert!(narrow(&x, 1, 2, 2).is_err());
    }

    #[test]
    fn positions_are_checked() {
        assert_eq!(position(&Tensor::scalar(-1i64), 3).unwrap(), 2);
        assert!(position(&Tensor::scalar(3i64), 3).is_err());
    }
}
