//! Shape and data-movement ops.
//!
//! Pure data movement (transpose, slice, expand, split, depth/space moves) is one strided-copy
//! kernel from `mote-kernels`; strings move through the same kernels as element indices.
//! Sub-modules: `movement` (reshapes, copies, pads), `index` (gathers, scatters and other
//! index-driven ops), `create` (ops that build tensors: Shape, Range, EyeLike, BitCast...).

use mote_core::MAX_RANK;
use mote_ir::ops::shape::{Reduction, ShapeOp};
use mote_ir::{Data, Tensor, Value, bf16, f16};
use mote_kernels::reference::shape::strided_copy;

use super::{EvalCx, Inputs, numel, one, shape_input};
use crate::error::OpError;
use crate::{bail, op_err};

/// Runs a data-movement kernel on any dtype: `$body` fills `$out` (`$n` elements) from `$src`,
/// both slices of one element type. Strings move as indices into the source.
macro_rules! move_data {
    ($data:expr, $n:expr, |$src:ident, $out:ident| $body:expr) => {{
        let n: usize = $n;
        match $data {
            mote_ir::Data::String(strings) => {
                let idx: Vec<usize> = (0..strings.len()).collect();
                let mut buf = vec![0usize; n];
                {
                    let $src: &[usize] = &idx;
                    let $out: &mut [usize] = &mut buf;
                    $body;
                }
                mote_ir::Data::String(buf.into_iter().map(|i| strings[i].clone()).collect())
            }
            d => mote_ir::dispatch_elem!(d, v => {
                let mut buf = vec![T::default(); n];
                {
                    let $src: &[T] = v;
                    let $out: &mut [T] = &mut buf;
                    $body;
                }
                <T as mote_ir::Elem>::wrap(buf)
            }, else unreachable!("strings are handled above")),
        }
    }};
}

mod create;
mod index;
mod movement;
#[cfg(test)]
mod tests;

pub fn eval(op: &ShapeOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, n: usize) -> Result<Vec<Value>, OpError> {
    use ShapeOp::*;
    match op {
        Identity => Ok(vec![inputs.value(0)?.clone()]),
        Reshape { allowzero } => one(movement::reshape(inputs.tensor(0)?, inputs.tensor(1)?, *allowzero)?),
        Flatten { axis } => one(movement::flatten(inputs.tensor(0)?, *axis)?),
        Squeeze => one(movement::squeeze(inputs.tensor(0)?, inputs.opt_tensor(1)?)?),
        Unsqueeze => one(movement::unsqueeze(inputs.tensor(0)?, inputs.tensor(1)?)?),
        Transpose { perm } => one(movement::transpose(inputs.tensor(0)?, perm.as_deref())?),
        Concat { axis } => one(movement::concat(&inputs.tensors()?, *axis)?),
        Split { axis } => movement::split(inputs.tensor(0)?, inputs.opt_tensor(1)?, *axis, n),
        Slice => one(movement::slice(inputs)?),
        Expand => one(movement::expand(inputs.tensor(0)?, inputs.tensor(1)?)?),
        Tile => one(movement::tile(inputs.tensor(0)?, inputs.tensor(1)?)?),
        Pad { mode } => one(movement::pad(inputs, *mode)?),
        DepthToSpace { blocksize, mode } => one(movement::depth_to_space(inputs.tensor(0)?, *blocksize, *mode)?),
        SpaceToDepth { blocksize, mode } => one(movement::space_to_depth(inputs.tensor(0)?, *blocksize, *mode)?),
        CenterCropPad { axes } => {
            one(movement::center_crop_pad(inputs.tensor(0)?, inputs.tensor(1)?, axes.as_deref())?)
        }
        Gather { axis } => one(index::gather(inputs.tensor(0)?, inputs.tensor(1)?, *axis)?),
        GatherElements { axis } => one(index::gather_elements(inputs.tensor(0)?, inputs.tensor(1)?, *axis)?),
        GatherND { batch_dims } => one(index::gather_nd(inputs.tensor(0)?, inputs.tensor(1)?, *batch_dims)?),
        ScatterElements { axis, reduction } => {
            let (d, i, u) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
            one(index::scatter_elements(d, i, u, *axis, *reduction)?)
        }
        ScatterND { reduction } => {
            one(index::scatter_nd(inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?, *reduction)?)
        }
        OneHot { axis } => one(index::one_hot(inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?, *axis)?),
        Trilu { upper } => one(index::trilu(inputs.tensor(0)?, inputs.opt_tensor(1)?, *upper)?),
        Compress { axis } => one(index::compress(inputs.tensor(0)?, inputs.tensor(1)?, *axis)?),
        NonZero => one(index::nonzero(inputs.tensor(0)?)?),
        Unique { sorted, axis } => index::unique(inputs.tensor(0)?, *sorted, *axis),
        ReverseSequence { batch_axis, time_axis } => {
            one(index::reverse_sequence(inputs.tensor(0)?, inputs.tensor(1)?, *batch_axis, *time_axis)?)
        }
        Shape { start, end } => one(create::shape(inputs.tensor(0)?, *start, *end)),
        Size => one(Tensor::scalar(inputs.tensor(0)?.len() as i64)),
        ConstantOfShape { value } => one(create::constant_of_shape(inputs.tensor(0)?, value)?),
        Range { stash } => one(create::range(inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?, *stash)?),
        EyeLike { k, dtype } => one(create::eye_like(inputs.tensor(0)?, *k, *dtype)?),
        BitCast { to } => one(create::bitcast(inputs.tensor(0)?, *to)?),
    }
}

/// Row-major strides of `dims`, in elements.
fn strides_of(dims: &[usize]) -> Vec<isize> {
    let mut s = vec![0isize; dims.len()];
    let mut acc = 1isize;
    for k in (0..dims.len()).rev() {
        s[k] = acc;
        acc = acc.saturating_mul(dims[k] as isize);
    }
    s
}

/// A strided copy of `t` (see [`strided_copy`]) with output `dims`. Axes of size 1 are dropped
/// and adjacent axes that are contiguous in the source are merged first, which makes long inner
/// rows and lifts the kernel's rank limit for most layouts.
fn strided(t: &Tensor, offset: usize, dims: &[usize], strides: &[isize]) -> Result<Tensor, OpError> {
    let n = numel(dims)?;
    let mut d: Vec<usize> = Vec::with_capacity(dims.len());
    let mut s: Vec<isize> = Vec::with_capacity(dims.len());
    for (&dim, &st) in dims.iter().zip(strides) {
        if dim == 1 {
            continue;
        }
        match (d.last_mut(), s.last_mut()) {
            (Some(ld), Some(ls)) if *ls == st * dim as isize => {
                *ld *= dim;
                *ls = st;
            }
            _ => {
                d.push(dim);
                s.push(st);
            }
        }
    }
    if d.len() > MAX_RANK {
        bail!("this layout needs {} axes after merging; at most {MAX_RANK} are supported", d.len());
    }
    let data = move_data!(t.data(), n, |src, out| strided_copy(src, offset, &d, &s, out));
    Ok(Tensor::new(dims.to_vec(), data)?)
}

/// Input `i` as a list of integers (a 1-D or scalar int tensor).
fn ints(inputs: &Inputs<'_>, i: usize, what: &str) -> Result<Vec<i64>, OpError> {
    shape_input(inputs.tensor(i)?, what)
}

/// Normalizes index values against a dimension of size `dim` (negative counts from the end).
fn norm_indices(t: &Tensor, dim: usize, what: &str) -> Result<Vec<usize>, OpError> {
    let v = t.to_i64_vec().map_err(|_| op_err!("{what} must be integers, got {}", t.dtype()))?;
    let d = dim as i64;
    v.iter()
        .map(|&i| {
            let j = if i < 0 { i + d } else { i };
            if j < 0 || j >= d {
                bail!("{what}: index {i} is out of range for a dimension of size {dim}");
            }
            Ok(j as usize)
        })
        .collect()
}

/// Normalizes `axes` against `rank`, rejecting repeats.
fn axes_of(axes: &[i64], rank: usize) -> Result<Vec<usize>, OpError> {
    let mut out: Vec<usize> = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = super::axis(a, rank)?;
        if out.contains(&a) {
            bail!("axis {a} is repeated in {axes:?}");
        }
        out.push(a);
    }
    Ok(out)
}

/// Arithmetic for scatter reductions (integers wrap; halves compute in f32).
trait Arith: Copy + PartialOrd {
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
}

macro_rules! impl_arith_int {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
        }
    )*};
}
impl_arith_int!(i8, u8, i16, u16, i32, u32, i64, u64);

macro_rules! impl_arith_float {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn add(self, o: Self) -> Self { self + o }
            fn mul(self, o: Self) -> Self { self * o }
        }
    )*};
}
impl_arith_float!(f32, f64);

macro_rules! impl_arith_half {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            fn add(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() + o.to_f32()) }
            fn mul(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() * o.to_f32()) }
        }
    )*};
}
impl_arith_half!(f16, bf16);

/// The combining function of a scatter reduction.
fn combine<T: Arith>(r: Reduction) -> fn(T, T) -> T {
    match r {
        Reduction::None => |_, u| u,
        Reduction::Add => T::add,
        Reduction::Mul => T::mul,
        Reduction::Max => |a, u| if u > a { u } else { a },
        Reduction::Min => |a, u| if u < a { u } else { a },
    }
}

/// Checks that two tensors share a dtype.
fn same_dtype(a: &Tensor, b: &Tensor, what: &str) -> Result<(), OpError> {
    if a.dtype() != b.dtype() {
        bail!("{what} must have the data's dtype {}, got {}", a.dtype(), b.dtype());
    }
    Ok(())
}

/// A tensor of `shape` from `data`.
fn build(shape: Vec<usize>, data: Data) -> Result<Tensor, OpError> {
    Ok(Tensor::new(shape, data)?)
}
