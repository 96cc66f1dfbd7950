//! Reshapes, copies and pads: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split,
//! Slice, Expand, Tile, Pad, DepthToSpace, SpaceToDepth, CenterCropPad.

use mote_ir::ops::shape::{BlockMode, PadMode, reshape_dims, slice_axis, split_sizes};
use mote_ir::{Data, Elem, Tensor, Value};
use mote_kernels::reference::shape as k;

use super::{axes_of, build, ints, strided, strides_of};
use crate::error::OpError;
use crate::ops::{Inputs, axis, numel, shape_input};
use crate::{bail, op_err};

pub(super) fn reshape(x: &Tensor, shape: &Tensor, allowzero: bool) -> Result<Tensor, OpError> {
    let target = shape_input(shape, "Reshape's shape")?;
    let dims = reshape_dims(x.shape(), &target, allowzero).map_err(OpError)?;
    Ok(x.reshape(dims)?)
}

pub(super) fn flatten(x: &Tensor, a: i64) -> Result<Tensor, OpError> {
    let r = x.rank() as i64;
    if a < -r || a > r {
        bail!("Flatten axis {a} is out of range for rank {r}");
    }
    let a = if a < 0 { a + r } else { a } as usize;
    let outer: usize = x.shape()[..a].iter().product();
    let inner: usize = x.shape()[a..].iter().product();
    Ok(x.reshape(vec![outer, inner])?)
}

pub(super) fn squeeze(x: &Tensor, axes: Option<&Tensor>) -> Result<Tensor, OpError> {
    let dims = x.shape();
    let keep: Vec<usize> = match axes {
        None => dims.iter().copied().filter(|&d| d != 1).collect(),
        Some(t) => {
            let axes = axes_of(&shape_input(t, "Squeeze's axes")?, dims.len())?;
            if let Some(&a) = axes.iter().find(|&&a| dims[a] != 1) {
                bail!("cannot squeeze axis {a} of size {} (shape {dims:?})", dims[a]);
            }
            dims.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect()
        }
    };
    Ok(x.reshape(keep)?)
}

pub(super) fn unsqueeze(x: &Tensor, axes: &Tensor) -> Result<Tensor, OpError> {
    let axes = shape_input(axes, "Unsqueeze's axes")?;
    let r = x.rank() + axes.len();
    let axes = axes_of(&axes, r)?;
    let mut rest = x.shape().iter();
    let dims = (0..r).map(|i| if axes.contains(&i) { 1 } else { rest.next().copied().unwrap_or(1) }).collect();
    Ok(x.reshape(dims)?)
}

pub(super) fn transpose(x: &Tensor, perm: Option<&[usize]>) -> Result<Tensor, OpError> {
    let r = x.rank();
    let perm: Vec<usize> = perm.map(<[usize]>::to_vec).unwrap_or_else(|| (0..r).rev().collect());
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..r).collect::<Vec<_>>() {
        bail!("perm {perm:?} is not a permutation of the {r} axes of shape {:?}", x.shape());
    }
    permuted(x, x.shape(), &perm)
}

/// `x` viewed with `view` dims (same element count), with the axes permuted by `perm`.
fn permuted(x: &Tensor, view: &[usize], perm: &[usize]) -> Result<Tensor, OpError> {
    let s = strides_of(view);
    let dims: Vec<usize> = perm.iter().map(|&p| view[p]).collect();
    let strides: Vec<isize> = perm.iter().map(|&p| s[p]).collect();
    strided(x, 0, &dims, &strides)
}

pub(super) fn concat(xs: &[&Tensor], a: i64) -> Result<Tensor, OpError> {
    let Some(first) = xs.first() else { bail!("Concat needs at least one input") };
    let r = first.rank();
    if r == 0 {
        bail!("Concat cannot join scalars");
    }
    let a = axis(a, r)?;
    let mut dims = first.shape().to_vec();
    dims[a] = 0;
    for x in xs {
        super::same_dtype(first, x, "every Concat input")?;
        let ok = x.rank() == r && (0..r).all(|k| k == a || x.shape()[k] == first.shape()[k]);
        if !ok {
            bail!("Concat inputs of shapes {:?} and {:?} differ outside axis {a}", first.shape(), x.shape());
        }
        dims[a] += x.shape()[a];
    }
    let n = numel(&dims)?;
    let outer: usize = dims[..a].iter().product();
    let data = match first.data() {
        Data::String(_) => {
            // Concatenate indices into the joined list of strings.
            let all: Vec<&String> = xs.iter().flat_map(|x| x.strings().unwrap_or_default()).collect();
            let mut start = 0;
            let idx: Vec<Vec<usize>> = xs
                .iter()
                .map(|x| {
                    let v = (start..start + x.len()).collect();
                    start += x.len();
                    v
                })
                .collect();
            let parts: Vec<&[usize]> = idx.iter().map(Vec::as_slice).collect();
            let mut out = vec![0usize; n];
            k::concat(&parts, outer, &mut out);
            Data::String(out.into_iter().map(|i| all[i].clone()).collect())
        }
        d => mote_ir::dispatch_elem!(d, _v => {
            let parts: Vec<&[T]> = xs.iter().map(|x| x.typed::<T>()).collect::<Result<_, _>>()?;
            let mut out = vec![T::default(); n];
            k::concat(&parts, outer, &mut out);
            T::wrap(out)
        }, else unreachable!()),
    };
    build(dims, data)
}

pub(super) fn split(x: &Tensor, split: Option<&Tensor>, a: i64, n: usize) -> Result<Vec<Value>, OpError> {
    let a = axis(a, x.rank())?;
    let d = x.shape()[a];
    let sizes: Vec<usize> = match split {
        Some(t) => {
            let v = shape_input(t, "Split's split")?;
            if v.len() != n || v.iter().any(|&s| s < 0) {
                bail!("split {v:?} must hold {n} non-negative sizes");
            }
            v.iter().map(|&s| s as usize).collect()
        }
        None => split_sizes(d, n).ok_or_else(|| op_err!("cannot split a dimension of {d} into {n} parts"))?,
    };
    if sizes.iter().try_fold(0usize, |a, &s| a.checked_add(s)) != Some(d) {
        bail!("split sizes {sizes:?} do not add up to dimension {d} of shape {:?}", x.shape());
    }
    let outer: usize = x.shape()[..a].iter().product();
    let inner: usize = x.shape()[a + 1..].iter().product();
    let mut start = 0;
    let mut out = Vec::with_capacity(n);
    for s in sizes {
        let mut dims = x.shape().to_vec();
        dims[a] = s;
        let part = strided(x, start * inner, &[outer, s * inner], &[(d * inner) as isize, 1])?;
        out.push(Value::Tensor(part.reshape(dims)?));
        start += s;
    }
    Ok(out)
}

pub(super) fn slice(inputs: &Inputs<'_>) -> Result<Tensor, OpError> {
    let x = inputs.tensor(0)?;
    let r = x.rank();
    let starts = ints(inputs, 1, "Slice's starts")?;
    let ends = ints(inputs, 2, "Slice's ends")?;
    let n = starts.len();
    let axes = match inputs.opt_tensor(3)? {
        Some(t) => shape_input(t, "Slice's axes")?,
        None => (0..n as i64).collect(),
    };
    let steps = match inputs.opt_tensor(4)? {
        Some(t) => shape_input(t, "Slice's steps")?,
        None => vec![1; n],
    };
    if ends.len() != n || axes.len() != n || steps.len() != n {
        bail!(
            "Slice needs starts, ends, axes and steps of one length, got {n}, {}, {}, {}",
            ends.len(),
            axes.len(),
            steps.len()
        );
    }
    let axes = axes_of(&axes, r)?;
    let src = strides_of(x.shape());
    let mut dims = x.shape().to_vec();
    let mut strides = src.clone();
    let mut offset = 0;
    for (i, &a) in axes.iter().enumerate() {
        if steps[i] == 0 {
            bail!("Slice step for axis {a} is 0");
        }
        let (s, len) = slice_axis(starts[i], ends[i], steps[i], x.shape()[a]);
        dims[a] = len;
        // A step longer than the axis takes one element; clamping keeps the stride finite.
        let d = x.shape()[a] as i64 + 1;
        strides[a] = src[a] * steps[i].clamp(-d, d) as isize;
        if len > 0 {
            offset += s * src[a] as usize;
        }
    }
    if dims.contains(&0) {
        return Ok(Tensor::zeros(x.dtype(), dims)?);
    }
    strided(x, offset, &dims, &strides)
}

pub(super) fn expand(x: &Tensor, shape: &Tensor) -> Result<Tensor, OpError> {
    let target = shape_input(shape, "Expand's shape")?;
    if target.iter().any(|&d| d < 0) {
        bail!("Expand shape {target:?} has a negative dimension");
    }
    let target: Vec<usize> = target.iter().map(|&d| d as usize).collect();
    let dims = super::super::elementwise::broadcast_shape(x.shape(), &target)?;
    let src = strides_of(x.shape());
    let off = dims.len() - x.rank();
    let strides: Vec<isize> = (0..dims.len())
        .map(|k| if k < off || (x.shape()[k - off] == 1 && dims[k] != 1) { 0 } else { src[k - off] })
        .collect();
    strided(x, 0, &dims, &strides)
}

pub(super) fn tile(x: &Tensor, repeats: &Tensor) -> Result<Tensor, OpError> {
    let rep = shape_input(repeats, "Tile's repeats")?;
    if rep.len() != x.rank() || rep.iter().any(|&r| r < 0) {
        bail!("Tile repeats {rep:?} must be {} non-negative counts for shape {:?}", x.rank(), x.shape());
    }
    if x.rank() > mote_core::MAX_RANK {
        bail!("Tile supports rank up to {}, got {}", mote_core::MAX_RANK, x.rank());
    }
    let dims: Vec<usize> = x.shape().iter().zip(&rep).map(|(&d, &r)| d.saturating_mul(r as usize)).collect();
    let n = numel(&dims)?;
    let data = move_data!(x.data(), n, |src, out| k::tile(src, x.shape(), &dims, out));
    build(dims, data)
}

/// Pads (negative amounts crop) `x` by `begin`/`end` per axis.
fn pad_with(x: &Tensor, begin: &[i64], end: &[i64], mode: PadMode, value: Option<&Tensor>) -> Result<Tensor, OpError> {
    let r = x.rank();
    if r > mote_core::MAX_RANK {
        bail!("Pad supports rank up to {}, got {r}", mote_core::MAX_RANK);
    }
    let mut dims = Vec::with_capacity(r);
    for (a, &d) in x.shape().iter().enumerate() {
        let v = d as i128 + begin[a] as i128 + end[a] as i128;
        if v < 0 {
            bail!("pads {begin:?}/{end:?} crop axis {a} of size {d} below zero");
        }
        let v = usize::try_from(v).map_err(|_| op_err!("padded size {v} is too large"))?;
        if mode != PadMode::Constant && d == 0 && v > 0 {
            bail!("cannot pad empty axis {a} in {mode:?} mode");
        }
        dims.push(v);
    }
    let n = numel(&dims)?;
    let begin: Vec<isize> = begin.iter().map(|&b| b.clamp(-(1 << 40), 1 << 40) as isize).collect();
    let value = match value {
        Some(v) if v.is_empty() => None,
        Some(v) if v.len() == 1 => Some(super::super::elementwise::cast(v, x.dtype())?),
        Some(v) => bail!("Pad's constant_value must be a scalar, got shape {:?}", v.shape()),
        None => None,
    };
    let data = match x.data() {
        Data::String(s) => {
            // Index `s.len()` stands for the pad value.
            let idx: Vec<usize> = (0..s.len()).collect();
            let mut out = vec![0usize; n];
            k::pad(&idx, x.shape(), &begin, &dims, mode, s.len(), &mut out);
            let fill = value.as_ref().and_then(|v| v.strings()).map(|v| v[0].clone()).unwrap_or_default();
            Data::String(out.into_iter().map(|i| s.get(i).cloned().unwrap_or_else(|| fill.clone())).collect())
        }
        d => mote_ir::dispatch_elem!(d, v => {
            let fill = match &value {
                Some(t) => t.typed::<T>()?[0],
                None => T::default(),
            };
            let mut out = vec![T::default(); n];
            k::pad(v, x.shape(), &begin, &dims, mode, fill, &mut out);
            T::wrap(out)
        }, else unreachable!()),
    };
    build(dims, data)
}

pub(super) fn pad(inputs: &Inputs<'_>, mode: PadMode) -> Result<Tensor, OpError> {
    let x = inputs.tensor(0)?;
    let r = x.rank();
    let pads = ints(inputs, 1, "Pad's pads")?;
    let axes = match inputs.opt_tensor(3)? {
        Some(t) => axes_of(&shape_input(t, "Pad's axes")?, r)?,
        None => (0..r).collect(),
    };
    let m = axes.len();
    if pads.len() != 2 * m {
        bail!("Pad needs {} pads for {m} axes, got {}", 2 * m, pads.len());
    }
    let (mut begin, mut end) = (vec![0; r], vec![0; r]);
    for (i, &a) in axes.iter().enumerate() {
        begin[a] = pads[i];
        end[a] = pads[m + i];
    }
    pad_with(x, &begin, &end, mode, inputs.opt_tensor(2)?)
}

pub(super) fn center_crop_pad(x: &Tensor, shape: &Tensor, axes: Option<&[i64]>) -> Result<Tensor, OpError> {
    let r = x.rank();
    let target = shape_input(shape, "CenterCropPad's shape")?;
    let axes = match axes {
        Some(a) => axes_of(a, r)?,
        None => (0..r).collect(),
    };
    if target.len() != axes.len() || target.iter().any(|&t| t < 0) {
        bail!("CenterCropPad shape {target:?} must hold {} non-negative sizes", axes.len());
    }
    let (mut begin, mut end) = (vec![0i64; r], vec![0i64; r]);
    for (&a, &t) in axes.iter().zip(&target) {
        let d = x.shape()[a] as i64;
        // Crops start at floor((d - t) / 2); pads put the odd element at the end.
        let b = if t >= d { (t - d) / 2 } else { -((d - t) / 2) };
        begin[a] = b;
        end[a] = t - d - b;
    }
    pad_with(x, &begin, &end, PadMode::Constant, None)
}

fn block_check(x: &Tensor, bs: usize) -> Result<[usize; 4], OpError> {
    let &[b, c, h, w] = x.shape() else { bail!("needs a 4-D NCHW input, got shape {:?}", x.shape()) };
    if bs == 0 {
        bail!("blocksize must be positive");
    }
    Ok([b, c, h, w])
}

pub(super) fn depth_to_space(x: &Tensor, bs: usize, mode: BlockMode) -> Result<Tensor, OpError> {
    let [b, c, h, w] = block_check(x, bs)?;
    let bb = bs.checked_mul(bs).ok_or_else(|| op_err!("blocksize {bs} is too large"))?;
    if c % bb != 0 {
        bail!("DepthToSpace: {c} channels are not a multiple of blocksize² = {bb}");
    }
    let c2 = c / bb;
    let y = match mode {
        BlockMode::Dcr => permuted(x, &[b, bs, bs, c2, h, w], &[0, 3, 4, 1, 5, 2])?,
        BlockMode::Crd => permuted(x, &[b, c2, bs, bs, h, w], &[0, 1, 4, 2, 5, 3])?,
    };
    Ok(y.reshape(vec![b, c2, h * bs, w * bs])?)
}

pub(super) fn space_to_depth(x: &Tensor, bs: usize, mode: BlockMode) -> Result<Tensor, OpError> {
    let [b, c, h, w] = block_check(x, bs)?;
    if h % bs != 0 || w % bs != 0 {
        bail!("SpaceToDepth: spatial dims {h}x{w} are not multiples of blocksize {bs}");
    }
    let (h2, w2) = (h / bs, w / bs);
    let view = [b, c, h2, bs, w2, bs];
    let y = match mode {
        BlockMode::Dcr => permuted(x, &view, &[0, 3, 5, 1, 2, 4])?,
        BlockMode::Crd => permuted(x, &view, &[0, 1, 3, 5, 2, 4])?,
    };
    Ok(y.reshape(vec![b, c * bs * bs, h2, w2])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iota(shape: &[usize]) -> Tensor {
        let n = shape.iter().product::<usize>();
        Tensor::from_vec(shape.to_vec(), (0..n as i32).collect()).unwrap()
    }

    fn i64s(v: &[i64]) -> Tensor {
        Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
    }

    #[test]
    fn slice_negative_steps_and_clamping() {
        let x = iota(&[2, 4]);
        let v = [
            Some(Value::Tensor(x)),
            Some(i64s(&[10, -1]).into()),
            Some(i64s(&[-100, -4]).into()),
            None,
            Some(i64s(&[-1, -1]).into()),
        ];
        let refs: Vec<Option<&Value>> = v.iter().map(Option::as_ref).collect();
        let y = slice(&Inputs::new(refs)).unwrap();
        // Rows 1, 0 reversed; columns 3, 2, 1.
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(y.typed::<i32>().unwrap(), &[7, 6, 5, 3, 2, 1]);
    }

    #[test]
    fn split_uneven_and_strings_concat() {
        let x = iota(&[7]);
        let parts = split(&x, None, 0, 3).unwrap();
        let lens: Vec<usize> = parts.iter().map(|p| p.as_tensor().unwrap().len()).collect();
        assert_eq!(lens, vec![3, 3, 1]);
        let a = Tensor::from_strings(vec![1, 2], vec!["a".into(), "b".into()]).unwrap();
        let b = Tensor::from_strings(vec![1, 1], vec!["c".into()]).unwrap();
        let c = concat(&[&a, &b], 1).unwrap();
        assert_eq!(c.strings().unwrap(), &["a", "b", "c"]);
    }

    #[test]
    fn depth_space_round_trip() {
        let x = iota(&[1, 8, 2, 3]);
        for mode in [BlockMode::Dcr, BlockMode::Crd] {
            let y = depth_to_space(&x, 2, mode).unwrap();
            assert_eq!(y.shape(), &[1, 2, 4, 6]);
            assert_eq!(space_to_depth(&y, 2, mode).unwrap(), x);
        }
    }

    #[test]
    fn center_crop_pad_offsets() {
        // Crop 5 -> 2 starts at 1; pad 2 -> 5 puts one before, two after.
        let x = iota(&[5]);
        let y = center_crop_pad(&x, &i64s(&[2]), None).unwrap();
        assert_eq!(y.typed::<i32>().unwrap(), &[1, 2]);
        let z = center_crop_pad(&y, &i64s(&[5]), None).unwrap();
        assert_eq!(z.typed::<i32>().unwrap(), &[0, 1, 2, 0, 0]);
    }

    #[test]
    fn expand_and_reshape_errors() {
        let x = iota(&[3, 1]);
        let y = expand(&x, &i64s(&[2, 1, 2])).unwrap();
        assert_eq!(y.shape(), &[2, 3, 2]);
        assert_eq!(y.typed::<i32>().unwrap(), &[0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]);
        assert!(expand(&x, &i64s(&[2, 2])).is_err());
        assert!(reshape(&x, &i64s(&[4, -1]), false).is_err());
    }
}
