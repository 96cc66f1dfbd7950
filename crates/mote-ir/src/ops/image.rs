//! Image ops: Resize, GridSample, AffineGrid, RoiAlign, NonMaxSuppression and MaxRoiPool.

use mote_core::DType;

use crate::infer::{InferCx, InferError, normalize_axis};
use crate::infer_err;
use crate::ops::OpFamily;

use crate::types::{Dim, ValueType};
pub use mote_kernels::reference::image::{GridMode, GridPadding};

/// Image ops. Inputs follow the newest ONNX opset of each op.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageOp {
    /// `Resize(X, roi?, scales?, sizes?)`; exactly one of scales and sizes is given (an empty
    /// tensor counts as absent). `Upsample` and Resize-10 import as this op.
    Resize(ResizeAttrs),
    /// `GridSample(X, grid)`: X is `[N, C, D1..Dk]`, grid `[N, O1..Ok, k]` with the last axis in
    /// reverse axis order (x first). Output `[N, C, O1..Ok]`.
    GridSample { mode: GridMode, padding: GridPadding, align_corners: bool },
    /// `AffineGrid(theta, size)`: theta `[N, 2, 3]` or `[N, 3, 4]`, size `[N, C, (D,) H, W]`.
    AffineGrid { align_corners: bool },
    /// `RoiAlign(X, rois, batch_indices)`.
    RoiAlign {
        max: bool,
        output_height: usize,
        output_width: usize,
        /// 0 = adaptive (`ceil(roi_size / output_size)` samples per bin).
        sampling_ratio: usize,
        spatial_scale: f32,
        /// `coordinate_transformation_mode = half_pixel` (shift by -0.5); RoiAlign-10 is
        /// `output_half_pixel` (no shift, ROIs at least 1x1).
        half_pixel: bool,
    },
    /// `NonMaxSuppression(boxes, scores, max_output_boxes_per_class?, iou_threshold?,
    /// score_threshold?)` -> `[num_selected, 3]` int64.
    NonMaxSuppression {
        /// Boxes are `[x_center, y_center, width, height]` instead of `[y1, x1, y2, x2]`.
        center_point_box: bool,
    },
    /// `MaxRoiPool(X, rois)`: rois `[num_rois, 5]` as `(batch, x1, y1, x2, y2)`.
    MaxRoiPool { pooled_height: usize, pooled_width: usize, spatial_scale: f32 },
    /// `ImageDecoder(encoded)`: the bytes of an image file (PNG, JPEG, BMP, TIFF, WebP, PNM) as a
    /// 1-D u8 tensor -> `[H, W, C]` u8 pixels.
    ImageDecoder { pixel_format: PixelFormat },
}

/// Channel layout of `ImageDecoder`'s output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    Rgb,
    Bgr,
    /// One channel of luma, `(299 R + 587 G + 114 B) / 1000` rounded (ITU-R 601-2, as Pillow).
    Grayscale,
}

/// Resize attributes, defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct ResizeAttrs {
    pub mode: ResizeMode,
    pub coord: CoordMode,
    pub nearest: NearestMode,
    pub cubic_coeff_a: f32,
    pub exclude_outside: bool,
    pub extrapolation_value: f32,
    pub antialias: bool,
    /// The axes that roi, scales and sizes refer to (possibly negative); `None` = all.
    pub axes: Option<Vec<i64>>,
    pub keep_aspect: KeepAspect,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizeMode {
    Nearest,
    Linear,
    Cubic,
}

/// `coordinate_transformation_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordMode {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    /// Resize-11 only: `(x + 0.5) / scale`.
    TfHalfPixelForNn,
    TfCropAndResize,
}

/// `nearest_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NearestMode {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
    /// Resize-10 and Upsample (no `nearest_mode` yet): truncate when upsampling an axis, ceil
    /// when downsampling it (onnxruntime's behaviour).
    Legacy,
}

/// `keep_aspect_ratio_policy` (applies to `sizes` only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepAspect {
    Stretch,
    NotLarger,
    NotSmaller,
}

/// The output shape and per-axis scales of a Resize.
#[derive(Clone, Debug, PartialEq)]
pub struct ResizePlan {
    pub out_shape: Vec<usize>,
    /// Scale of every axis (1 for axes that are not resized).
    pub scales: Vec<f64>,
    /// ROI `(start, end)` of every axis, normalized; `(0, 1)` when not given.
    pub roi: Vec<(f64, f64)>,
}

impl ResizeAttrs {
    /// The resized axes, normalized, for an input of rank `rank`.
    pub fn axes(&self, rank: usize) -> Result<Vec<usize>, String> {
        match &self.axes {
            None => Ok((0..rank).collect()),
            Some(a) => {
                let mut out = Vec::with_capacity(a.len());
                for &x in a {
                    let ax = normalize_axis(x, rank).map_err(|e| format!("Resize axes: {}", e.0))?;
                    if out.contains(&ax) {
                        return Err(format!("Resize axes {a:?} repeat axis {ax}"));
                    }
                    out.push(ax);
                }
                Ok(out)
            }
        }
    }

    /// Computes the output shape and scales from the input shape and the scales or sizes input
    /// (one of them, non-empty), following the ONNX reference: `floor(in * scale)` for scales;
    /// for sizes, `scale = size / in`, adjusted by `keep_aspect_ratio_policy`.
    pub fn plan(
        &self,
        in_shape: &[usize],
        roi: Option<&[f64]>,
        scales: Option<&[f64]>,
        sizes: Option<&[i64]>,
    ) -> Result<ResizePlan, String> {
        let rank = in_shape.len();
        let axes = self.axes(rank)?;
        let n = axes.len();
        let mut out_shape = in_shape.to_vec();
        let mut all_scales = vec![1.0f64; rank];
        let mut all_roi = vec![(0.0, 1.0); rank];
        if let Some(r) = roi.filter(|r| !r.is_empty()) {
            if r.len() != 2 * n {
                return Err(format!("Resize roi has {} values, expected {} (2 x {n} axes)", r.len(), 2 * n));
            }
            for (i, &a) in axes.iter().enumerate() {
                all_roi[a] = (r[i], r[n + i]);
            }
        }
        match (scales, sizes) {
            (Some(s), None) => {
                if s.len() != n {
                    return Err(format!("Resize scales has {} values, expected {n}", s.len()));
                }
                for (i, &a) in axes.iter().enumerate() {
                    let sc = s[i];
                    if !(sc > 0.0 && sc.is_finite()) {
                        return Err(format!("Resize scale {sc} must be positive and finite"));
                    }
                    let o = (in_shape[a] as f64 * sc).floor();
                    if o >= crate::tensor::MAX_ELEMENTS as f64 {
                        return Err(format!("Resize output dimension {o} is too large"));
                    }
                    out_shape[a] = o as usize;
                    all_scales[a] = sc;
                }
            }
            (None, Some(z)) => {
                if z.len() != n {
                    return Err(format!("Resize sizes has {} values, expected {n}", z.len()));
                }
                if let Some(&bad) = z.iter().find(|&&v| v < 0) {
                    return Err(format!("Resize sizes must be non-negative, got {bad}"));
                }
                for &a in &axes {
                    if in_shape[a] == 0 {
                        return Err(format!("Resize cannot compute a scale for empty axis {a} from sizes"));
                    }
                }
                let ratio = |i: usize| z[i] as f64 / in_shape[axes[i]] as f64;
                match self.keep_aspect {
                    KeepAspect::Stretch => {
                        for (i, &a) in axes.iter().enumerate() {
                            out_shape[a] = z[i] as usize;
                            all_scales[a] = ratio(i);
                        }
                    }
                    policy => {
                        let pick = |x: f64, y: f64| if policy == KeepAspect::NotLarger { x.min(y) } else { x.max(y) };
                        let Some(sc) = (0..n).map(ratio).reduce(pick) else {
                            return Ok(ResizePlan { out_shape, scales: all_scales, roi: all_roi });
                        };
                        for &a in &axes {
                            let o = (sc * in_shape[a] as f64 + 0.5).floor();
                            if o >= crate::tensor::MAX_ELEMENTS as f64 {
                                return Err(format!("Resize output dimension {o} is too large"));
                            }
                            out_shape[a] = o as usize;
                            all_scales[a] = sc;
                        }
                    }
                }
            }
            (Some(_), Some(_)) => return Err("Resize takes scales or sizes, not both".into()),
            (None, None) => return Err("Resize needs scales or sizes".into()),
        }
        Ok(ResizePlan { out_shape, scales: all_scales, roi: all_roi })
    }
}

/// A constant float input as f64s, if known.
fn const_f64s(cx: &InferCx<'_>, i: usize) -> Option<Vec<f64>> {
    cx.value(i).and_then(|t| t.to_f64_vec().ok())
}

fn infer_resize(a: &ResizeAttrs, cx: &InferCx<'_>) -> Result<ValueType, InferError> {
    let Some(shape) = cx.shape(0) else { return Ok(cx.like(0, None)) };
    let rank = shape.len();
    let axes = a.axes(rank).map_err(InferError)?;
    // Empty scales/sizes count as absent (opsets 11 and 13 pass "" or an empty tensor).
    let scales = const_f64s(cx, 2).filter(|s| !s.is_empty());
    let sizes = cx.const_i64s(3).filter(|s| !s.is_empty());
    let scales_empty = cx.value(2).is_some_and(|t| t.is_empty()) || cx.opt(2).is_none();
    let mut dims: Vec<Dim> = shape.to_vec();
    for &ax in &axes {
        dims[ax] = Dim::Unknown;
    }
    if let Some(known) = cx.tensor(0).known_shape() {
        if scales.is_some() || sizes.is_some() {
            let roi = const_f64s(cx, 1);
            let plan = a.plan(&known, roi.as_deref(), scales.as_deref(), sizes.as_deref()).map_err(InferError)?;
            dims = plan.out_shape.into_iter().map(Dim::Known).collect();
        }
    } else if let Some(s) = &scales {
        if s.len() == axes.len() {
            for (i, &ax) in axes.iter().enumerate() {
                dims[ax] = match &shape[ax] {
                    Dim::Known(d) => Dim::Known((*d as f64 * s[i]).floor() as usize),
                    d if s[i] == 1.0 => d.clone(),
                    _ => Dim::Unknown,
                };
            }
        }
    } else if let Some(z) = &sizes
        && a.keep_aspect == KeepAspect::Stretch
        && scales_empty
        && z.len() == axes.len()
    {
        for (i, &ax) in axes.iter().enumerate() {
            dims[ax] = usize::try_from(z[i]).map(Dim::Known).unwrap_or(Dim::Unknown);
        }
    }
    Ok(cx.like(0, Some(dims)))
}

impl OpFamily for ImageOp {
    fn name(&self) -> &'static str {
        match self {
            ImageOp::Resize(_) => "Resize",
            ImageOp::GridSample { .. } => "GridSample",
            ImageOp::AffineGrid { .. } => "AffineGrid",
            ImageOp::RoiAlign { .. } => "RoiAlign",
            ImageOp::NonMaxSuppression { .. } => "NonMaxSuppression",
            ImageOp::MaxRoiPool { .. } => "MaxRoiPool",
            ImageOp::ImageDecoder { .. } => "ImageDecoder",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let t = match self {
            ImageOp::Resize(a) => infer_resize(a, cx)?,
            ImageOp::GridSample { .. } => {
                let shape = match (cx.shape(0), cx.shape(1)) {
                    (Some(x), Some(g)) => {
                        if x.len() < 3 || g.len() != x.len() {
                            return Err(infer_err!(
                                "GridSample needs X of rank >= 3 and a grid of the same rank, got {} and {}",
                                x.len(),
                                g.len()
                            ));
                        }
                        let mut s = vec![x[0].clone(), x[1].clone()];
                        s.extend(g[1..g.len() - 1].iter().cloned());
                        Some(s)
                    }
                    _ => None,
                };
                cx.like(0, shape)
            }
            ImageOp::AffineGrid { .. } => {
                let shape = match cx.const_i64s(1) {
                    Some(s) if s.len() == 4 || s.len() == 5 => {
                        let k = s.len() - 2;
                        let mut d: Vec<Dim> = vec![usize::try_from(s[0]).map(Dim::Known).unwrap_or(Dim::Unknown)];
                        d.extend(s[2..].iter().map(|&v| usize::try_from(v).map(Dim::Known).unwrap_or(Dim::Unknown)));
                        d.push(Dim::Known(k));
                        Some(d)
                    }
                    _ => match cx.shape(1) {
                        Some([Dim::Known(n)]) if *n == 4 || *n == 5 => {
                            let mut d = vec![Dim::Unknown; *n - 1];
                            d.push(Dim::Known(n - 2));
                            Some(d)
                        }
                        _ => None,
                    },
                };
                cx.like(0, shape)
            }
            ImageOp::RoiAlign { output_height, output_width, .. } => {
                let n = cx.shape(2).and_then(|s| s.first().cloned()).unwrap_or(Dim::Unknown);
                let c = cx.shape(0).and_then(|s| s.get(1).cloned()).unwrap_or(Dim::Unknown);
                cx.like(0, Some(vec![n, c, Dim::Known(*output_height), Dim::Known(*output_width)]))
            }
            ImageOp::NonMaxSuppression { .. } => ValueType::tensor(DType::I64, vec![Dim::Unknown, Dim::Known(3)]),
            ImageOp::MaxRoiPool { pooled_height, pooled_width, .. } => {
                let n = cx.shape(1).and_then(|s| s.first().cloned()).unwrap_or(Dim::Unknown);
                let c = cx.shape(0).and_then(|s| s.get(1).cloned()).unwrap_or(Dim::Unknown);
                cx.like(0, Some(vec![n, c, Dim::Known(*pooled_height), Dim::Known(*pooled_width)]))
            }
            ImageOp::ImageDecoder { pixel_format } => {
                let c = if *pixel_format == PixelFormat::Grayscale { 1 } else { 3 };
                ValueType::tensor(DType::U8, vec![Dim::Unknown, Dim::Unknown, Dim::Known(c)])
            }
        };
        Ok(vec![t])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(keep: KeepAspect, axes: Option<Vec<i64>>) -> ResizeAttrs {
        ResizeAttrs {
            mode: ResizeMode::Nearest,
            coord: CoordMode::HalfPixel,
            nearest: NearestMode::RoundPreferFloor,
            cubic_coeff_a: -0.75,
            exclude_outside: false,
            extrapolation_value: 0.0,
            antialias: false,
            axes,
            keep_aspect: keep,
        }
    }

    #[test]
    fn plan_from_scales_floors() {
        let p = attrs(KeepAspect::Stretch, None).plan(&[1, 1, 4, 5], None, Some(&[1.0, 1.0, 0.6, 0.6]), None).unwrap();
        assert_eq!(p.out_shape, vec![1, 1, 2, 3]);
        assert_eq!(p.scales[2], 0.6);
    }

    #[test]
    fn plan_keep_aspect_not_larger() {
        let a = attrs(KeepAspect::NotLarger, Some(vec![2, 3]));
        let p = a.plan(&[1, 1, 2, 2], None, None, Some(&[7, 8])).unwrap();
        // scale = min(7/2, 8/2) = 3.5 -> 7x7.
        assert_eq!(p.out_shape, vec![1, 1, 7, 7]);
        assert_eq!(p.scales, vec![1.0, 1.0, 3.5, 3.5]);
        assert!(a.plan(&[1, 1, 2, 2], None, None, Some(&[7])).is_err());
    }

    #[test]
    fn axes_validation() {
        assert_eq!(attrs(KeepAspect::Stretch, Some(vec![-1, 2])).axes(4).unwrap(), vec![3, 2]);
        assert!(attrs(KeepAspect::Stretch, Some(vec![3, -1])).axes(4).is_err());
    }
}
