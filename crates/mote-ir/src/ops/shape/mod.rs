//! Shape and data-movement ops: Reshape, Transpose, Concat, Slice, Gather, Pad, ...
//!
//! Semantics are those of the newest ONNX opset. Inputs that older opsets carried as attributes
//! (Reshape's shape, Squeeze/Unsqueeze axes, Split sizes, Slice bounds, Pad pads and value) are
//! inputs here. The index arithmetic shared by inference and evaluation (Reshape targets, Slice
//! ranges, Shape bounds) lives in this module so both agree.

mod infer;

use mote_core::DType;

use crate::infer::{InferCx, InferError};
use crate::ops::OpFamily;
use crate::tensor::Tensor;
use crate::types::ValueType;

/// Shape and data-movement ops. Inputs are listed in ONNX order; `?` marks optional ones.
#[derive(Clone, Debug, PartialEq)]
pub enum ShapeOp {
    /// `Identity(x)`: any value (tensor, sequence, optional), unchanged.
    Identity,
    /// `Reshape(data, shape)`: `-1` infers one dimension; `0` copies the input dimension unless
    /// `allowzero`, where it means an empty dimension.
    Reshape { allowzero: bool },
    /// `Flatten(x)` to 2-D: dims before `axis` and from `axis` on (`axis` in `[-r, r]`).
    Flatten { axis: i64 },
    /// `Squeeze(data, axes?)`: removes the listed size-1 axes, or every size-1 axis.
    Squeeze,
    /// `Unsqueeze(data, axes)`: inserts size-1 axes at `axes` (positions in the output).
    Unsqueeze,
    /// `Transpose(x)`: `perm` defaults to reversing the axes.
    Transpose { perm: Option<Vec<usize>> },
    /// `Concat(x...)` along `axis`.
    Concat { axis: i64 },
    /// `Split(x, split?)` into one output per node output along `axis`. Without `split`, parts
    /// are `ceil(d / n)` long and the last one takes the remainder.
    Split { axis: i64 },
    /// `Slice(data, starts, ends, axes?, steps?)` with numpy clamping; steps may be negative.
    Slice,
    /// `Gather(data, indices)` along `axis`; negative indices count from the end.
    Gather { axis: i64 },
    /// `GatherElements(data, indices)` along `axis`.
    GatherElements { axis: i64 },
    /// `GatherND(data, indices)` with `batch_dims` leading batch axes.
    GatherND { batch_dims: usize },
    /// `ScatterElements(data, indices, updates)` along `axis` (also the deprecated `Scatter`).
    ScatterElements { axis: i64, reduction: Reduction },
    /// `ScatterND(data, indices, updates)`.
    ScatterND { reduction: Reduction },
    /// `Expand(x, shape)`: bidirectional numpy broadcast to `shape`.
    Expand,
    /// `Tile(x, repeats)`.
    Tile,
    /// `Pad(data, pads, constant_value?, axes?)`; negative pads crop.
    Pad { mode: PadMode },
    /// `Shape(x)`: the dims `start..end` (clamped to `[0, r]`, negative counts from the end).
    Shape { start: i64, end: Option<i64> },
    /// `Size(x)`: element count as an int64 scalar.
    Size,
    /// `ConstantOfShape(shape)` filled with the one-element `value`.
    ConstantOfShape { value: Tensor },
    /// `Range(start, limit, delta)`; f16/bf16 compute in `stash` (f32 or f64).
    Range { stash: DType },
    /// `EyeLike(x)`: ones on diagonal `k`, of `dtype` (default: x's dtype).
    EyeLike { k: i64, dtype: Option<DType> },
    /// `OneHot(indices, depth, values)`: the new axis is inserted at `axis`.
    OneHot { axis: i64 },
    /// `Trilu(x, k?)`: upper or lower triangle of the last two axes.
    Trilu { upper: bool },
    /// `Compress(x, condition)` along `axis`, or over the flattened input.
    Compress { axis: Option<i64> },
    /// `NonZero(x)`: `[rank, count]` int64 coordinates of non-zero elements.
    NonZero,
    /// `Unique(x)` -> `(y, indices, inverse_indices, counts)`, over elements or along `axis`.
    Unique { sorted: bool, axis: Option<i64> },
    /// `DepthToSpace(x)` for NCHW input.
    DepthToSpace { blocksize: usize, mode: BlockMode },
    /// `SpaceToDepth(x)` for NCHW input.
    SpaceToDepth { blocksize: usize, mode: BlockMode },
    /// `ReverseSequence(x, sequence_lens)`.
    ReverseSequence { batch_axis: i64, time_axis: i64 },
    /// `CenterCropPad(x, shape)` over `axes` (default all); pads with zeros.
    CenterCropPad { axes: Option<Vec<i64>> },
    /// `BitCast(x)` reinterprets the little-endian bytes as `to` (same element size).
    BitCast { to: DType },
}

/// How scatters combine an update with the existing element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// Replace.
    None,
    Add,
    Mul,
    Max,
    Min,
}

pub use mote_kernels::reference::shape::PadMode;

/// Depth/space element orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockMode {
    /// Depth-column-row (the default).
    Dcr,
    /// Column-row-depth.
    Crd,
}

impl OpFamily for ShapeOp {
    fn name(&self) -> &'static str {
        match self {
            ShapeOp::Identity => "Identity",
            ShapeOp::Reshape { .. } => "Reshape",
            ShapeOp::Flatten { .. } => "Flatten",
            ShapeOp::Squeeze => "Squeeze",
            ShapeOp::Unsqueeze => "Unsqueeze",
            ShapeOp::Transpose { .. } => "Transpose",
            ShapeOp::Concat { .. } => "Concat",
            ShapeOp::Split { .. } => "Split",
            ShapeOp::Slice => "Slice",
            ShapeOp::Gather { .. } => "Gather",
            ShapeOp::GatherElements { .. } => "GatherElements",
            ShapeOp::GatherND { .. } => "GatherND",
            ShapeOp::ScatterElements { .. } => "ScatterElements",
            ShapeOp::ScatterND { .. } => "ScatterND",
            ShapeOp::Expand => "Expand",
            ShapeOp::Tile => "Tile",
            ShapeOp::Pad { .. } => "Pad",
            ShapeOp::Shape { .. } => "Shape",
            ShapeOp::Size => "Size",
            ShapeOp::ConstantOfShape { .. } => "ConstantOfShape",
            ShapeOp::Range { .. } => "Range",
            ShapeOp::EyeLike { .. } => "EyeLike",
            ShapeOp::OneHot { .. } => "OneHot",
            ShapeOp::Trilu { .. } => "Trilu",
            ShapeOp::Compress { .. } => "Compress",
            ShapeOp::NonZero => "NonZero",
            ShapeOp::Unique { .. } => "Unique",
            ShapeOp::DepthToSpace { .. } => "DepthToSpace",
            ShapeOp::SpaceToDepth { .. } => "SpaceToDepth",
            ShapeOp::ReverseSequence { .. } => "ReverseSequence",
            ShapeOp::CenterCropPad { .. } => "CenterCropPad",
            ShapeOp::BitCast { .. } => "BitCast",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        infer::infer(self, cx)
    }

    /// `Shape` and `Size` are constants when the dims they read are known, even if the data is not.
    fn infer_value(&self, cx: &InferCx<'_>) -> Option<Vec<Tensor>> {
        let dims = cx.shape(0)?;
        let t = match self {
            ShapeOp::Shape { start, end } => {
                let (s, e) = shape_range(*start, *end, dims.len());
                let v: Vec<i64> = dims[s..e].iter().map(|d| d.known().map(|k| k as i64)).collect::<Option<_>>()?;
                Tensor::from_vec(vec![v.len()], v).ok()?
            }
            ShapeOp::Size => {
                let n = dims.iter().try_fold(1usize, |a, d| a.checked_mul(d.known()?))?;
                Tensor::scalar(n as i64)
            }
            _ => return None,
        };
        Some(vec![t])
    }
}

/// The output dims of `Reshape` of a tensor with `dims` to `shape`.
pub fn reshape_dims(dims: &[usize], shape: &[i64], allowzero: bool) -> Result<Vec<usize>, String> {
    // `dims` may be declared (static) dims, not those of a real tensor: they can overflow.
    let total = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or("the input shape overflows")?;
    let mut out = Vec::with_capacity(shape.len());
    let mut infer_at = None;
    for (i, &s) in shape.iter().enumerate() {
        out.push(match s {
            -1 => {
                if infer_at.replace(i).is_some() {
                    return Err(format!("shape {shape:?} has more than one -1"));
                }
                1
            }
            0 if !allowzero => *dims.get(i).ok_or_else(|| {
                format!("shape {shape:?} copies dimension {i} (0) but the input has rank {}", dims.len())
            })?,
            s if s < 0 => return Err(format!("shape {shape:?} has a negative dimension {s}")),
            s => usize::try_from(s).map_err(|_| format!("shape dimension {s} is too large"))?,
        });
    }
    let known = out.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or("shape overflows")?;
    if let Some(i) = infer_at {
        if known == 0 {
            return Err(format!("cannot infer the -1 in shape {shape:?}: the other dimensions have no elements"));
        }
        if !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {dims:?} ({total} elements) to {shape:?}"));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(format!("cannot reshape {dims:?} ({total} elements) to {shape:?} ({known} elements)"));
    }
    Ok(out)
}

/// One axis of a `Slice`: the first index, the element count and the step, after numpy clamping
/// of `start` and `end` against a dimension of size `dim`. `step` must be non-zero.
pub fn slice_axis(start: i64, end: i64, step: i64, dim: usize) -> (usize, usize) {
    let (d, step) = (dim as i128, step as i128);
    let norm = |x: i64| if x < 0 { x as i128 + d } else { x as i128 };
    let (s, e) = (norm(start), norm(end));
    if step > 0 {
        let (s, e) = (s.clamp(0, d), e.clamp(0, d));
        let len = if e > s { (e - s + step - 1) / step } else { 0 };
        (s as usize, len as usize)
    } else {
        if d == 0 {
            return (0, 0);
        }
        let (s, e) = (s.clamp(0, d - 1), e.clamp(-1, d - 1));
        let len = if s > e { (s - e + (-step) - 1) / (-step) } else { 0 };
        (s as usize, len as usize)
    }
}

/// The `[start, end)` range of dims that `Shape` returns for a tensor of `rank`.
pub fn shape_range(start: i64, end: Option<i64>, rank: usize) -> (usize, usize) {
    let r = rank as i64;
    let clamp = |x: i64| (if x < 0 { x + r } else { x }).clamp(0, r) as usize;
    let (s, e) = (clamp(start), clamp(end.unwrap_or(r)));
    (s, e.max(s))
}

/// The part sizes of a `Split` of a dimension `d` into `n` parts without explicit sizes: every
/// part has `ceil(d / n)` elements but the last, which is smaller when `d` does not divide.
/// `None` when that leaves nothing for the last part (`d = 5, n = 4`).
pub fn split_sizes(d: usize, n: usize) -> Option<Vec<usize>> {
    if n == 0 {
        return None;
    }
    let chunk = d.div_ceil(n);
    let last = d.checked_sub(chunk * (n - 1))?;
    let mut v = vec![chunk; n];
    v[n - 1] = last;
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_of_known_dims_is_constant() {
        use crate::infer::Fact;
        use crate::types::Dim;
        let ty = ValueType::tensor(DType::F32, vec![Dim::Sym("N".into()), Dim::Known(3), Dim::Known(4)]);
        let facts = [Some(Fact::of_type(ty))];
        let cx = InferCx::new(&facts, 1);
        let tail = ShapeOp::Shape { start: 1, end: None }.infer_value(&cx).unwrap();
        assert_eq!(tail[0].typed::<i64>().unwrap(), &[3, 4]);
        assert!(ShapeOp::Shape { start: 0, end: None }.infer_value(&cx).is_none());
        assert!(ShapeOp::Size.infer_value(&cx).is_none());
    }

    #[test]
    fn reshape_targets() {
        assert_eq!(reshape_dims(&[2, 3, 4], &[0, -1], false).unwrap(), vec![2, 12]);
        assert_eq!(reshape_dims(&[2, 3, 4], &[4, 0, 2], false).unwrap(), vec![4, 3, 2]);
        assert_eq!(reshape_dims(&[0, 3], &[3, 0], true).unwrap(), vec![3, 0]);
        assert!(reshape_dims(&[2, 3], &[-1, -1], false).is_err());
        assert!(reshape_dims(&[2, 3], &[4, -1], false).is_err());
        assert!(reshape_dims(&[2, 3], &[0, 0, 0], false).is_err());
    }

    #[test]
    fn slice_clamping() {
        assert_eq!(slice_axis(1, 1000, 1, 10), (1, 9));
        assert_eq!(slice_axis(-1, i64::MIN, -1, 5), (4, 5));
        assert_eq!(slice_axis(20, 0, -2, 10), (9, 5));
        assert_eq!(slice_axis(0, -1, 3, 10), (0, 3));
        assert_eq!(slice_axis(5, 2, 1, 10), (5, 0));
        assert_eq!(slice_axis(0, 5, i64::MIN, 10), (0, 0));
    }

    #[test]
    fn shape_bounds_and_split_sizes() {
        assert_eq!(shape_range(-1, None, 3), (2, 3));
        assert_eq!(shape_range(2, Some(1), 3), (2, 2));
        assert_eq!(shape_range(-10, Some(10), 3), (0, 3));
        assert_eq!(split_sizes(7, 3), Some(vec![3, 3, 1]));
        assert_eq!(split_sizes(6, 3), Some(vec![2, 2, 2]));
        assert_eq!(split_sizes(5, 4), None);
    }
}
