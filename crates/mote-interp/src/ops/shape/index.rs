//! Index-driven ops: Gather, GatherElements, GatherND, ScatterElements, ScatterND, OneHot,
//! Trilu, Compress, NonZero, Unique, ReverseSequence.

use std::cmp::Ordering;

use mote_core::MAX_RANK;
use mote_ir::ops::shape::Reduction;
use mote_ir::{Data, Elem, Tensor, Value, dispatch, dispatch_elem, dispatch_numeric};
use mote_kernels::reference::shape as k;

use super::{build, combine, norm_indices, same_dtype, strides_of};
use crate::error::OpError;
use crate::ops::{axis, numel};
use crate::{bail, op_err};

pub(super) fn gather(x: &Tensor, indices: &Tensor, a: i64) -> Result<Tensor, OpError> {
    let a = axis(a, x.rank())?;
    let d = x.shape()[a];
    let idx = norm_indices(indices, d, "Gather's indices")?;
    let inner: usize = x.shape()[a + 1..].iter().product();
    let dims: Vec<usize> = x.shape()[..a].iter().chain(indices.shape()).chain(&x.shape()[a + 1..]).copied().collect();
    let n = numel(&dims)?;
    let data = move_data!(x.data(), n, |src, out| k::gather(src, d, inner, &idx, out));
    build(dims, data)
}

/// Checks an element-wise index tensor against the data (same rank, fits except along `axis`)
/// and returns the normalized indices.
fn element_indices(x: &Tensor, indices: &Tensor, a: usize) -> Result<Vec<usize>, OpError> {
    if indices.rank() != x.rank() || x.rank() > MAX_RANK {
        bail!("indices of shape {:?} must have the rank of data {:?} (at most {MAX_RANK})", indices.shape(), x.shape());
    }
    if (0..x.rank()).any(|k| k != a && indices.shape()[k] > x.shape()[k]) {
        bail!("indices of shape {:?} exceed data of shape {:?} outside axis {a}", indices.shape(), x.shape());
    }
    norm_indices(indices, x.shape()[a], "indices")
}

pub(super) fn gather_elements(x: &Tensor, indices: &Tensor, a: i64) -> Result<Tensor, OpError> {
    let a = axis(a, x.rank())?;
    let idx = element_indices(x, indices, a)?;
    let dims = indices.shape().to_vec();
    let data = move_data!(x.data(), idx.len(), |src, out| k::gather_elements(src, x.shape(), &idx, &dims, a, out));
    build(dims, data)
}

/// The index pattern of a scatter, applied to any element type.
trait ScatterPattern {
    fn apply<T: Copy>(&self, out: &mut [T], updates: &[T], f: impl Fn(T, T) -> T);
}

struct Elements<'a> {
    data_dims: &'a [usize],
    idx: Vec<usize>,
    idx_dims: &'a [usize],
    axis: usize,
}

impl ScatterPattern for Elements<'_> {
    fn apply<T: Copy>(&self, out: &mut [T], updates: &[T], f: impl Fn(T, T) -> T) {
        k::scatter_elements(out, self.data_dims, &self.idx, updates, self.idx_dims, self.axis, f);
    }
}

struct Slices {
    offsets: Vec<usize>,
    slice_len: usize,
}

impl ScatterPattern for Slices {
    fn apply<T: Copy>(&self, out: &mut [T], updates: &[T], f: impl Fn(T, T) -> T) {
        k::scatter_slices(out, &self.offsets, self.slice_len, updates, f);
    }
}

/// Writes `updates` into a copy of `x` following `p`, combining with `r`.
fn scatter(x: &Tensor, updates: &Tensor, r: Reduction, p: &impl ScatterPattern) -> Result<Tensor, OpError> {
    same_dtype(x, updates, "updates")?;
    let data = match (x.data(), r) {
        (Data::String(_) | Data::Bool(_), Reduction::None) => {
            // Scatter element positions, then read each element from data or updates.
            let n = x.len();
            let mut pos: Vec<usize> = (0..n).collect();
            let upd: Vec<usize> = (n..n + updates.len()).collect();
            p.apply(&mut pos, &upd, |_, u| u);
            match (x.data(), updates.data()) {
                (Data::String(a), Data::String(b)) => {
                    Data::String(pos.iter().map(|&i| if i < n { a[i].clone() } else { b[i - n].clone() }).collect())
                }
                _ => {
                    let (a, b) = (x.typed::<bool>()?, updates.typed::<bool>()?);
                    Data::Bool(pos.iter().map(|&i| if i < n { a[i] } else { b[i - n] }).collect())
                }
            }
        }
        (d, _) => dispatch_numeric!(d, v => {
            let mut out = v.clone();
            p.apply(&mut out, updates.typed::<T>()?, combine::<T>(r));
            T::wrap(out)
        }, else bail!("scatter reduction {r:?} needs numeric data, got {}", x.dtype())),
    };
    build(x.shape().to_vec(), data)
}

pub(super) fn scatter_elements(
    x: &Tensor,
    indices: &Tensor,
    updates: &Tensor,
    a: i64,
    r: Reduction,
) -> Result<Tensor, OpError> {
    let a = axis(a, x.rank())?;
    if updates.shape() != indices.shape() {
        bail!("updates of shape {:?} must match indices of shape {:?}", updates.shape(), indices.shape());
    }
    let idx = element_indices(x, indices, a)?;
    scatter(x, updates, r, &Elements { data_dims: x.shape(), idx, idx_dims: indices.shape(), axis: a })
}

/// Element offsets of the index tuples of `GatherND`/`ScatterND` (after `b` batch axes), and
/// the length of each addressed slice.
fn nd_offsets(x: &Tensor, indices: &Tensor, b: usize) -> Result<(Vec<usize>, usize), OpError> {
    let (d, i) = (x.shape(), indices.shape());
    let (r, q) = (d.len(), i.len());
    if r == 0 || q == 0 || b >= r.min(q) {
        bail!(
            "needs data and indices of rank >= 1 and batch_dims < both ranks, got shapes {d:?}, {i:?} and batch_dims {b}"
        );
    }
    if d[..b] != i[..b] {
        bail!("batch dims of data {d:?} and indices {i:?} differ");
    }
    let kk = i[q - 1];
    if kk < 1 || kk > r - b {
        bail!("index tuples of length {kk} do not fit data of shape {d:?} after {b} batch dims");
    }
    let raw = indices.to_i64_vec().map_err(|_| op_err!("indices must be integers, got {}", indices.dtype()))?;
    let strides = strides_of(d);
    let batch_stride: usize = d[b..].iter().product();
    let per_batch: usize = i[b..q - 1].iter().product();
    let mut offsets = Vec::with_capacity(raw.len() / kk);
    for (t, tuple) in raw.chunks_exact(kk).enumerate() {
        let mut off = (t / per_batch.max(1)) * batch_stride;
        for (j, &v) in tuple.iter().enumerate() {
            let dim = d[b + j] as i64;
            let v2 = if v < 0 { v + dim } else { v };
            if v2 < 0 || v2 >= dim {
                bail!("index {v} is out of range for axis {} of size {dim}", b + j);
            }
            off += v2 as usize * strides[b + j] as usize;
        }
        offsets.push(off);
    }
    Ok((offsets, d[b + kk..].iter().product()))
}

pub(super) fn gather_nd(x: &Tensor, indices: &Tensor, b: usize) -> Result<Tensor, OpError> {
    let (offsets, slice_len) = nd_offsets(x, indices, b)?;
    let q = indices.rank();
    let kk = indices.shape()[q - 1];
    let dims: Vec<usize> = indices.shape()[..q - 1].iter().chain(&x.shape()[b + kk..]).copied().collect();
    let n = numel(&dims)?;
    let data = move_data!(x.data(), n, |src, out| k::gather_slices(src, &offsets, slice_len, out));
    build(dims, data)
}

pub(super) fn scatter_nd(x: &Tensor, indices: &Tensor, updates: &Tensor, r: Reduction) -> Result<Tensor, OpError> {
    let (offsets, slice_len) = nd_offsets(x, indices, 0)?;
    let q = indices.rank();
    let kk = indices.shape()[q - 1];
    let want: Vec<usize> = indices.shape()[..q - 1].iter().chain(&x.shape()[kk..]).copied().collect();
    if updates.shape() != want {
        bail!("updates must have shape {want:?}, got {:?}", updates.shape());
    }
    scatter(x, updates, r, &Slices { offsets, slice_len })
}

pub(super) fn one_hot(indices: &Tensor, depth: &Tensor, values: &Tensor, a: i64) -> Result<Tensor, OpError> {
    let depth = depth.scalar_f64().map_err(|e| op_err!("OneHot's depth: {e}"))?;
    if !(depth >= 1.0 && depth <= u32::MAX as f64) {
        bail!("OneHot's depth must be a positive count, got {depth}");
    }
    let depth = depth as usize;
    if values.len() != 2 {
        bail!("OneHot's values must hold [off, on], got shape {:?}", values.shape());
    }
    let a = axis(a, indices.rank() + 1)?;
    let idx = indices.to_f64_vec()?;
    let mut dims = indices.shape().to_vec();
    dims.insert(a, depth);
    let n = numel(&dims)?;
    let inner: usize = indices.shape()[a..].iter().product();
    // 0 = off, 1 = on; then pick from `values`.
    let mut pick = vec![0usize; n];
    for (p, &v) in idx.iter().enumerate() {
        let v = v.trunc() as i64;
        let v = if v < 0 { v + depth as i64 } else { v };
        if (0..depth as i64).contains(&v) {
            let (o, j) = (p / inner, p % inner);
            pick[(o * depth + v as usize) * inner + j] = 1;
        }
    }
    let values = values.reshape(vec![2])?;
    build(dims, values.data().gather(&pick))
}

pub(super) fn trilu(x: &Tensor, kk: Option<&Tensor>, upper: bool) -> Result<Tensor, OpError> {
    let r = x.rank();
    if r < 2 {
        bail!("Trilu needs rank >= 2, got shape {:?}", x.shape());
    }
    let kk = match kk {
        Some(t) => t.scalar_i64().map_err(|e| op_err!("Trilu's k: {e}"))?,
        None => 0,
    };
    let (n, m) = (x.shape()[r - 2], x.shape()[r - 1]);
    let data = dispatch_elem!(x.data(), v => {
        let mut out = vec![T::default(); v.len()];
        k::trilu(v, n, m, kk, upper, T::default(), &mut out);
        T::wrap(out)
    }, else bail!("Trilu is not defined for {}", x.dtype()));
    build(x.shape().to_vec(), data)
}

pub(super) fn compress(x: &Tensor, condition: &Tensor, a: Option<i64>) -> Result<Tensor, OpError> {
    let cond = condition
        .typed::<bool>()
        .map_err(|_| op_err!("Compress's condition must be bool, got {}", condition.dtype()))?;
    if condition.rank() != 1 {
        bail!("Compress's condition must be 1-D, got shape {:?}", condition.shape());
    }
    let (x, a) = match a {
        Some(a) => (x.clone(), axis(a, x.rank())?),
        None => (x.reshape(vec![x.len()])?, 0),
    };
    let d = x.shape()[a];
    if cond.iter().skip(d).any(|&c| c) {
        bail!("Compress's condition selects index {} past dimension {d}", cond.len() - 1);
    }
    let picked: Vec<i64> = cond.iter().take(d).enumerate().filter(|(_, c)| **c).map(|(i, _)| i as i64).collect();
    gather(&x, &Tensor::from_vec(vec![picked.len()], picked)?, a as i64)
}

pub(super) fn nonzero(x: &Tensor) -> Result<Tensor, OpError> {
    let flags: Vec<bool> = dispatch_elem!(x.data(), v => v.iter().map(|e| *e != T::default()).collect(),
        else bail!("NonZero is not defined for {}", x.dtype()));
    let dims = if x.rank() == 0 { vec![1] } else { x.shape().to_vec() };
    let r = dims.len();
    let hits: Vec<usize> = flags.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).collect();
    let nnz = hits.len();
    let mut out = vec![0i64; r * nnz];
    let strides = strides_of(&dims);
    for (j, &flat) in hits.iter().enumerate() {
        for kk in 0..r {
            out[kk * nnz + j] = ((flat / strides[kk] as usize) % dims[kk]) as i64;
        }
    }
    Ok(Tensor::from_vec(vec![r, nnz], out)?)
}

/// A total order for unique/sort: NaN sorts last and equals NaN.
fn total_cmp<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    #[allow(clippy::eq_op)]
    a.partial_cmp(b).unwrap_or_else(|| (a != a).cmp(&(b != b)))
}

/// Groups the `rows` of `v` (row `j` is the elements `[o, j, i]` of an `[outer, rows, inner]`
/// layout, compared lexicographically) into unique values. Returns the first occurrence of each
/// group, the group of every row, and the group sizes, with groups in sorted order or in order of
/// first occurrence.
fn unique_groups<T: PartialOrd>(
    v: &[T],
    outer: usize,
    rows: usize,
    inner: usize,
    sorted: bool,
) -> (Vec<usize>, Vec<usize>, Vec<i64>) {
    let cmp = |x: usize, y: usize| -> Ordering {
        for o in 0..outer {
            let (bx, by) = ((o * rows + x) * inner, (o * rows + y) * inner);
            for i in 0..inner {
                let c = total_cmp(&v[bx + i], &v[by + i]);
                if c != Ordering::Equal {
                    return c;
                }
            }
        }
        Ordering::Equal
    };
    let mut order: Vec<usize> = (0..rows).collect();
    order.sort_by(|&x, &y| cmp(x, y));
    // Groups of equal rows; the stable sort puts each group's first occurrence first.
    let mut first: Vec<usize> = Vec::new();
    let mut group = vec![0usize; rows];
    for (p, &row) in order.iter().enumerate() {
        if p == 0 || cmp(order[p - 1], row) != Ordering::Equal {
            first.push(row);
        }
        group[row] = first.len() - 1;
    }
    let mut rank: Vec<usize> = (0..first.len()).collect();
    if !sorted {
        let mut by_first: Vec<usize> = (0..first.len()).collect();
        by_first.sort_by_key(|&g| first[g]);
        for (pos, &g) in by_first.iter().enumerate() {
            rank[g] = pos;
        }
        first = by_first.iter().map(|&g| first[g]).collect();
    }
    let inverse: Vec<usize> = group.iter().map(|&g| rank[g]).collect();
    let mut counts = vec![0i64; first.len()];
    for &g in &inverse {
        counts[g] += 1;
    }
    (first, inverse, counts)
}

pub(super) fn unique(x: &Tensor, sorted: bool, a: Option<i64>) -> Result<Vec<Value>, OpError> {
    let (x, a) = match a {
        Some(a) => (x.clone(), axis(a, x.rank())?),
        None => (x.reshape(vec![x.len()])?, 0),
    };
    let rows = x.shape()[a];
    let outer: usize = x.shape()[..a].iter().product();
    let inner: usize = x.shape()[a + 1..].iter().product();
    let (first, inverse, counts) = dispatch!(x.data(),
        [F32, F64, F16, BF16, I8, U8, I16, U16, I32, U32, I64, U64, Bool, String],
        v => unique_groups(v, outer, rows, inner, sorted), else bail!("Unique is not defined for {}", x.dtype()));
    let first: Vec<i64> = first.into_iter().map(|f| f as i64).collect();
    let inverse: Vec<i64> = inverse.into_iter().map(|g| g as i64).collect();
    let u = first.len();
    let first = Tensor::from_vec(vec![u], first)?;
    let y = gather(&x, &first, a as i64)?;
    Ok(vec![
        y.into(),
        first.into(),
        Tensor::from_vec(vec![inverse.len()], inverse)?.into(),
        Tensor::from_vec(vec![u], counts)?.into(),
    ])
}

pub(super) fn reverse_sequence(x: &Tensor, lens: &Tensor, batch_axis: i64, time_axis: i64) -> Result<Tensor, OpError> {
    let ok = x.rank() >= 2 && matches!((batch_axis, time_axis), (0, 1) | (1, 0));
    if !ok {
        bail!(
            "ReverseSequence needs rank >= 2 and batch/time axes 0 and 1, got shape {:?}, {batch_axis}, {time_axis}",
            x.shape()
        );
    }
    let (ba, ta) = (batch_axis as usize, time_axis as usize);
    let (batch, time) = (x.shape()[ba], x.shape()[ta]);
    let lens = lens.to_i64_vec().map_err(|_| op_err!("sequence_lens must be integers, got {}", lens.dtype()))?;
    if lens.len() != batch || lens.iter().any(|&l| l < 0 || l as usize > time) {
        bail!("sequence_lens {lens:?} must hold {batch} lengths in [0, {time}]");
    }
    let inner: usize = x.shape()[2..].iter().product();
    let s = strides_of(x.shape());
    let (sb, st) = (s[ba] as usize, s[ta] as usize);
    // Source element of every destination element.
    let mut src: Vec<usize> = (0..x.len()).collect();
    for (b, &l) in lens.iter().enumerate() {
        let l = l as usize;
        for t in 0..l {
            let (dst, from) = (b * sb + t * st, b * sb + (l - 1 - t) * st);
            for i in 0..inner {
                src[dst + i] = from + i;
            }
        }
    }
    build(x.shape().to_vec(), x.data().gather(&src))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i64s(shape: &[usize], v: &[i64]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }

    #[test]
    fn unique_sorted_and_first_occurrence() {
        let x = i64s(&[6], &[2, 1, 1, 3, 4, 3]);
        let out = unique(&x, false, None).unwrap();
        let t = |i: usize| out[i].as_tensor().unwrap().typed::<i64>().unwrap().to_vec();
        assert_eq!(t(0), vec![2, 1, 3, 4]);
        assert_eq!(t(1), vec![0, 1, 3, 4]);
        assert_eq!(t(2), vec![0, 1, 1, 2, 3, 2]);
        assert_eq!(t(3), vec![1, 2, 2, 1]);
        let out = unique(&x, true, None).unwrap();
        assert_eq!(out[0].as_tensor().unwrap().typed::<i64>().unwrap(), &[1, 2, 3, 4]);
        assert_eq!(out[2].as_tensor().unwrap().typed::<i64>().unwrap(), &[1, 0, 0, 2, 3, 2]);
    }

    #[test]
    fn gather_nd_with_batch_dims() {
        let x = i64s(&[2, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7]);
        let idx = i64s(&[2, 1], &[1, 0]);
        let y = gather_nd(&x, &idx, 1).unwrap();
        assert_eq!(y.shape(), &[2, 2]);
        assert_eq!(y.typed::<i64>().unwrap(), &[2, 3, 4, 5]);
        assert!(gather_nd(&x, &i64s(&[1, 1], &[2]), 0).is_err());
    }

    #[test]
    fn scatter_reductions_and_strings() {
        let x = i64s(&[4], &[1, 2, 3, 4]);
        let idx = i64s(&[3, 1], &[1, 1, -1]);
        let upd = i64s(&[3], &[5, 6, 7]);
        let y = scatter_nd(&x, &idx, &upd, Reduction::Add).unwrap();
        assert_eq!(y.typed::<i64>().unwrap(), &[1, 13, 3, 11]);
        let s = Tensor::from_strings(vec![2], vec!["a".into(), "b".into()]).unwrap();
        let u = Tensor::from_strings(vec![1], vec!["z".into()]).unwrap();
        let y = scatter_elements(&s, &i64s(&[1], &[1]), &u, 0, Reduction::None).unwrap();
        assert_eq!(y.strings().unwrap(), &["a", "z"]);
    }

    #[test]
    fn one_hot_negative_and_out_of_range() {
        let idx = i64s(&[3], &[0, -1, 5]);
        let vals = Tensor::from_vec(vec![2], vec![0.0f32, 1.0]).unwrap();
        let y = one_hot(&idx, &Tensor::scalar(3i64), &vals, -1).unwrap();
        assert_eq!(y.typed::<f32>().unwrap(), &[1., 0., 0., 0., 0., 1., 0., 0., 0.]);
    }

    #[test]
    fn reverse_sequence_time_major() {
        // [time 3, batch 2]
        let x = i64s(&[3, 2], &[0, 1, 2, 3, 4, 5]);
        let y = reverse_sequence(&x, &i64s(&[2], &[3, 2]), 1, 0).unwrap();
        assert_eq!(y.typed::<i64>().unwrap(), &[4, 3, 2, 1, 0, 5]);
    }
}
