//! Selection and placement ops built from existing steps (no op codes of their own):
//! OneHot (Equal against a constant range, then Gather from `values`), Compress with a constant
//! condition (Gather with constant indices), ReverseSequence with constant lengths and
//! TensorScatter with constant write indices (strided copies), BitCast (an alias of the same
//! bytes with another element type).

use mote_core::DType;
use mote_core::lowp::RoundMode;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::infer::normalize_axis;
use mote_ir::ops::shape::ShapeOp;
use mote_rt::ops::{Act, BinaryCode, encode};

use super::elementwise::{contiguous, emit_binary};
use super::shape::copy;
use super::{Lowerer, R, bail};

/// Lowers `op` if it is one of this module's; `Ok(false)` otherwise.
pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &ShapeOp) -> R<bool> {
    match op {
        ShapeOp::OneHot { axis } => one_hot(l, n, *axis)?,
        ShapeOp::Compress { axis } => compress(l, n, *axis)?,
        ShapeOp::ReverseSequence { batch_axis, time_axis } => reverse_sequence(l, n, *batch_axis, *time_axis)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// A constant integer input, or a clear refusal naming `what`.
fn const_ints(l: &Lowerer<'_>, n: &Node, i: usize, what: &str) -> R<Vec<i64>> {
    let t = l.konst(l.in_value(n, i)?).ok_or_else(|| format!("{what} must be constant to compile"))?;
    t.to_i64_vec().map_err(|e| format!("{what}: {e}"))
}

/// `i64` weight bytes.
fn i64_bytes(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// OneHot(indices, depth, values): `pick = (idx == k) | (idx == k - depth)` over the new axis
/// (`k` a constant range, indices truncated to int64 first), then `y = values[pick]`.
fn one_hot(l: &mut Lowerer<'_>, n: &Node, axis: i64) -> R<()> {
    let y = l.output(n, 0)?;
    let yd = l.p.tensors[y].dims.clone();
    let a = normalize_axis(axis, yd.len()).map_err(|e| e.0)?;
    let depth = yd[a];
    let idx = l.input(n, 0)?;
    let dt = l.p.tensors[idx].dtype;
    if !(dt.is_int() || matches!(dt, DType::F32 | DType::F64 | DType::F16 | DType::BF16)) || dt == DType::U64 {
        bail!("OneHot indices of type {dt} are not supported by the compiled path");
    }
    let values = l.input(n, 2)?;
    if l.p.tensors[values].numel() != 2 {
        bail!("OneHot's values must hold [off, on]");
    }
    let idx64 = if dt == DType::I64 {
        idx
    } else {
        let t = l.p.arena(DType::I64, l.p.tensors[idx].dims.clone(), format!("{}_i64", n.name));
        l.p.step(OpCode::Cast, vec![Some(idx)], vec![t], encode::cast(true, RoundMode::default()), &n.name);
        t
    };
    let mut view_dims = l.p.tensors[idx].dims.clone();
    view_dims.insert(a, 1);
    let view = l.p.alias(idx64, view_dims, format!("{}_idx", n.name));
    let mut kd = vec![1usize; yd.len() - a];
    kd[0] = depth;
    let k: Vec<i64> = (0..depth as i64).collect();
    let below: Vec<i64> = k.iter().map(|&k| k - depth as i64).collect();
    let (k, below) = (
        l.p.weight(DType::I64, kd.clone(), i64_bytes(&k), "range"),
        l.p.weight(DType::I64, kd, i64_bytes(&below), "range_minus_depth"),
    );
    let (hit, wrapped) = (l.p.arena(DType::Bool, yd.clone(), "hit"), l.p.arena(DType::Bool, yd.clone(), "wrapped"));
    emit_binary(l, BinaryCode::Equal, view, k, hit, Act::NONE, &n.name)?;
    emit_binary(l, BinaryCode::Equal, view, below, wrapped, Act::NONE, &n.name)?;
    emit_binary(l, BinaryCode::Or, hit, wrapped, hit, Act::NONE, &n.name)?;
    let pick = l.p.arena(DType::I64, yd, "pick");
    l.p.step(OpCode::Cast, vec![Some(hit)], vec![pick], encode::cast(true, RoundMode::default()), &n.name);
    let values = l.p.alias(values, vec![2], "values");
    l.p.step(OpCode::Gather, vec![Some(values), Some(pick)], vec![y], encode::gather(1, 2, 1), &n.name);
    Ok(())
}

/// Compress with a constant condition: a Gather of the selected positions.
fn compress(l: &mut Lowerer<'_>, n: &Node, axis: Option<i64>) -> R<()> {
    let cv = l.in_value(n, 1)?;
    let cond =
        l.konst(cv).ok_or("Compress's condition must be constant to compile (its output shape depends on it)")?;
    let cond: Vec<bool> =
        cond.typed::<bool>().map_err(|_| format!("Compress's condition must be bool, got {}", cond.dtype()))?.to_vec();
    let x = l.input(n, 0)?;
    let xd = l.p.tensors[x].dims.clone();
    let (x, xd, a) = match axis {
        Some(a) => (x, xd.clone(), normalize_axis(a, xd.len()).map_err(|e| e.0)?),
        None => {
            let flat = vec![xd.iter().product()];
            (l.p.alias(x, flat.clone(), format!("{}_flat", n.name)), flat, 0)
        }
    };
    if cond.iter().skip(xd[a]).any(|&c| c) {
        bail!("Compress's condition selects an index past dimension {}", xd[a]);
    }
    let picked: Vec<i64> = cond.iter().take(xd[a]).enumerate().filter(|(_, c)| **c).map(|(i, _)| i as i64).collect();
    let y = l.output(n, 0)?;
    if picked.is_empty() {
        return Ok(());
    }
    let i = l.p.weight(DType::I64, vec![picked.len()], i64_bytes(&picked), "picked");
    let (outer, inner) = (xd[..a].iter().product(), xd[a + 1..].iter().product());
    l.p.step(OpCode::Gather, vec![Some(x), Some(i)], vec![y], encode::gather(outer, xd[a], inner), &n.name);
    Ok(())
}

/// ReverseSequence with constant lengths: a copy of `x`, then per batch entry the first `len`
/// time steps copied again in reverse.
fn reverse_sequence(l: &mut Lowerer<'_>, n: &Node, batch_axis: i64, time_axis: i64) -> R<()> {
    let x = l.input(n, 0)?;
    let xd = l.p.tensors[x].dims.clone();
    if xd.len() < 2 || !matches!((batch_axis, time_axis), (0, 1) | (1, 0)) {
        bail!("ReverseSequence needs rank >= 2 and batch/time axes 0 and 1");
    }
    let (ba, ta) = (batch_axis as usize, time_axis as usize);
    let (batch, time) = (xd[ba], xd[ta]);
    let lens = const_ints(l, n, 1, "ReverseSequence's sequence_lens")?;
    if lens.len() != batch || lens.iter().any(|&v| v < 0 || v as usize > time) {
        bail!("sequence_lens {lens:?} must hold {batch} lengths in [0, {time}]");
    }
    let y = l.output(n, 0)?;
    let s = contiguous(&xd);
    copy(l, x, y, &xd, (0, &s), (0, &s), &n.name);
    // Per entry: dims [len, rest...], reading time backwards.
    let rest: Vec<usize> = xd[2..].to_vec();
    for (b, &len) in lens.iter().enumerate() {
        let len = len as usize;
        if len < 2 {
            continue;
        }
        let dims: Vec<usize> = std::iter::once(len).chain(rest.iter().copied()).collect();
        let dst: Vec<isize> = std::iter::once(s[ta]).chain(s[2..].iter().copied()).collect();
        let mut src = dst.clone();
        src[0] = -s[ta];
        let base = b * s[ba] as usize;
        let from = base + (len - 1) * s[ta] as usize;
        copy(l, x, y, &dims, (from, &src), (base, &dst), &n.name);
    }
    Ok(())
}

/// BitCast keeps the bytes: refused where the arena holds the types differently from their
/// file encoding (bool must stay 0/1, the low-precision types are one value per byte).
pub fn check_bit_cast(from: DType, to: DType) -> R<()> {
    let plain = |d: DType| d != DType::Bool && d != DType::String && !d.is_low_precision();
    // bool's bytes (0/1) are valid u8/i8; the other way round they may not be.
    let from_bool = from == DType::Bool && matches!(to, DType::U8 | DType::I8);
    if !(from_bool || plain(from)) || !plain(to) || from.size() != to.size() {
        bail!("BitCast from {from} to {to} is not supported by the compiled path");
    }
    Ok(())
}

/// TensorScatter with constant (or absent) write indices: `past_cache` copied (or reused in
/// place when it dies here), then each batch entry's update copied to its positions.
pub fn tensor_scatter(l: &mut Lowerer<'_>, n: &Node, circular: bool, axis: i64) -> R<()> {
    let (past, upd) = (l.input(n, 0)?, l.input(n, 1)?);
    let (pd, ud) = (l.p.tensors[past].dims.clone(), l.p.tensors[upd].dims.clone());
    if l.p.tensors[past].dtype != l.p.tensors[upd].dtype || pd.len() != ud.len() || pd.len() < 2 {
        bail!("TensorScatter: past_cache {pd:?} and update {ud:?} must have one dtype and rank >= 2");
    }
    let ax = normalize_axis(axis, pd.len()).map_err(|e| e.0)?;
    if ax == 0 || (0..pd.len()).any(|i| (i != ax && pd[i] != ud[i]) || (i == ax && ud[i] > pd[i])) {
        bail!("TensorScatter: update {ud:?} does not fit past_cache {pd:?} along axis {ax}");
    }
    let b = pd[0];
    let idx = match n.input(2) {
        Some(_) => const_ints(l, n, 2, "TensorScatter's write_indices")?,
        None => vec![0; b],
    };
    if idx.len() != b {
        bail!("TensorScatter's write_indices must hold {b} values");
    }
    let (max_s, upd_s) = (pd[ax], ud[ax]);
    let y = l.output_in_place(n, 0, 0)?;
    if l.p.tensors[y].buf() != l.p.tensors[past].buf() || l.p.tensors[y].buf().is_none() {
        let s = contiguous(&pd);
        copy(l, past, y, &pd, (0, &s), (0, &s), &n.name);
    }
    let inner: usize = pd[ax + 1..].iter().product();
    let prefix: usize = pd[1..ax].iter().product();
    for (bi, &w) in idx.iter().enumerate() {
        // Runs of consecutive target positions: one copy each, `[prefix, run, inner]`.
        let mut s = 0;
        while s < upd_s {
            let t0 = if circular && max_s > 0 {
                (w.rem_euclid(max_s as i64) as usize + s % max_s) % max_s
            } else {
                match usize::try_from(w).ok().and_then(|w| w.checked_add(s)) {
                    Some(t) if t < max_s => t,
                    _ => {
                        bail!("TensorScatter: write index {w} + {s} for batch {bi} is outside the cache length {max_s}")
                    }
                }
            };
            let run = (upd_s - s).min(max_s - t0);
            if !circular && t0 + (upd_s - s) > max_s {
                bail!(
                    "TensorScatter: write index {w} + {} for batch {bi} is outside the cache length {max_s}",
                    upd_s - 1
                );
            }
            let dims = [prefix, run, inner];
            let src = [(upd_s * inner) as isize, inner as isize, 1];
            let dst = [(max_s * inner) as isize, inner as isize, 1];
            let (so, dto) = ((bi * prefix * upd_s + s) * inner, (bi * prefix * max_s + t0) * inner);
            copy(l, upd, y, &dims, (so, &src), (dto, &dst), &n.name);
            s += run;
        }
    }
    Ok(())
}
