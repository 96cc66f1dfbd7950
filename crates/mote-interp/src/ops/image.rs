//! Image ops: Resize, GridSample, AffineGrid, RoiAlign, NonMaxSuppression, MaxRoiPool.
//!
//! Resize runs one separable pass per resized axis with the kernels of
//! `mote_kernels::reference::image`; nearest mode gathers (any dtype), linear and cubic compute
//! in f32 (f32/f16/bf16) or f64 (f64 and integers, rounded and saturated at the end).

use mote_ir::ops::image::{CoordMode, ImageOp, NearestMode, PixelFormat, ResizeAttrs, ResizeMode, ResizePlan};
use mote_ir::{DType, Data, Elem, Tensor, Value, dispatch_elem, dispatch_int};
use mote_kernels::reference::image as k;
use num_traits::Float;

use super::{EvalCx, Inputs, downcast, numel, one, upcast};
use crate::error::OpError;
use crate::{bail, op_err};

pub fn eval(op: &ImageOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    match op {
        ImageOp::Resize(a) => one(resize(a, inputs)?),
        ImageOp::GridSample { mode, padding, align_corners } => {
            let gs = k::GridSample { mode: *mode, padding: *padding, align_corners: *align_corners };
            one(grid_sample(&gs, inputs.tensor(0)?, inputs.tensor(1)?)?)
        }
        ImageOp::AffineGrid { align_corners } => {
            one(affine_grid(inputs.tensor(0)?, inputs.tensor(1)?, *align_corners)?)
        }
        ImageOp::RoiAlign { max, output_height, output_width, sampling_ratio, spatial_scale, half_pixel } => {
            let p = k::RoiAlign {
                max: *max,
                out_h: *output_height,
                out_w: *output_width,
                sampling_ratio: *sampling_ratio,
                spatial_scale: *spatial_scale as f64,
                half_pixel: *half_pixel,
            };
            one(roi_align(&p, inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?)?)
        }
        ImageOp::NonMaxSuppression { center_point_box } => one(nms(*center_point_box, inputs)?),
        ImageOp::MaxRoiPool { pooled_height, pooled_width, spatial_scale } => {
            one(max_roi_pool(inputs.tensor(0)?, inputs.tensor(1)?, *pooled_height, *pooled_width, *spatial_scale)?)
        }
        ImageOp::ImageDecoder { pixel_format } => one(decode_image(inputs.tensor(0)?, *pixel_format)?),
    }
}

/// A float input as f64s (`None` when omitted or empty).
fn opt_f64s(inputs: &Inputs<'_>, i: usize, what: &str) -> Result<Option<Vec<f64>>, OpError> {
    match inputs.opt_tensor(i)? {
        Some(t) if !t.is_empty() => {
            if !t.dtype().is_float() {
                bail!("{what} must be a float tensor, got {}", t.dtype());
            }
            Ok(Some(t.to_f64_vec()?))
        }
        _ => Ok(None),
    }
}

fn resize(a: &ResizeAttrs, inputs: &Inputs<'_>) -> Result<Tensor, OpError> {
    let x = inputs.tensor(0)?;
    let roi = opt_f64s(inputs, 1, "Resize roi")?;
    let scales = opt_f64s(inputs, 2, "Resize scales")?;
    let sizes = match inputs.opt_tensor(3)? {
        Some(t) if !t.is_empty() => Some(t.to_i64_vec().map_err(|e| op_err!("Resize sizes: {e}"))?),
        _ => None,
    };
    let plan = a.plan(x.shape(), roi.as_deref(), scales.as_deref(), sizes.as_deref()).map_err(OpError)?;
    numel(&plan.out_shape)?;
    let axes = a.axes(x.rank()).map_err(OpError)?;
    let active: Vec<usize> = axes.into_iter().filter(|&ax| !is_identity(&plan, x.shape(), ax)).collect();
    if active.iter().any(|&ax| x.shape()[ax] == 0 && plan.out_shape[ax] > 0) {
        bail!("Resize cannot sample an empty axis (input shape {:?})", x.shape());
    }
    match a.mode {
        ResizeMode::Nearest => resize_nearest(a, &plan, x, &active),
        ResizeMode::Linear | ResizeMode::Cubic => resize_filter(a, &plan, x, &active),
    }
}

/// True when axis `ax` is left unchanged (the reference skips such axes).
fn is_identity(plan: &ResizePlan, in_shape: &[usize], ax: usize) -> bool {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    let (s, e) = plan.roi[ax];
    close(plan.scales[ax], 1.0) && plan.out_shape[ax] == in_shape[ax] && s.abs() <= 1e-9 && close(e, 1.0)
}

fn coord(a: &ResizeAttrs, plan: &ResizePlan, ax: usize) -> k::Coord {
    match a.coord {
        CoordMode::HalfPixel => k::Coord::HalfPixel,
        CoordMode::HalfPixelSymmetric => k::Coord::HalfPixelSymmetric,
        CoordMode::PytorchHalfPixel => k::Coord::PytorchHalfPixel,
        CoordMode::AlignCorners => k::Coord::AlignCorners,
        CoordMode::Asymmetric => k::Coord::Asymmetric,
        CoordMode::TfHalfPixelForNn => k::Coord::TfHalfPixelForNn,
        CoordMode::TfCropAndResize => k::Coord::TfCropAndResize { start: plan.roi[ax].0, end: plan.roi[ax].1 },
    }
}

/// `[outer, len, inner]` around axis `ax` of `shape`.
fn split_dims(shape: &[usize], ax: usize) -> [usize; 3] {
    [shape[..ax].iter().product(), shape[ax], shape[ax + 1..].iter().product()]
}

/// Nearest: every output element copies one input element (or takes the extrapolation value),
/// so the passes run on flat source indices and the data is gathered once at the end.
fn resize_nearest(a: &ResizeAttrs, plan: &ResizePlan, x: &Tensor, active: &[usize]) -> Result<Tensor, OpError> {
    let mode = match a.nearest {
        NearestMode::RoundPreferFloor => k::Nearest::RoundPreferFloor,
        NearestMode::RoundPreferCeil => k::Nearest::RoundPreferCeil,
        NearestMode::Floor => k::Nearest::Floor,
        NearestMode::Ceil => k::Nearest::Ceil,
        NearestMode::Legacy => k::Nearest::Legacy,
    };
    const OUTSIDE: usize = usize::MAX;
    let mut shape = x.shape().to_vec();
    let mut cur: Vec<usize> = (0..x.len()).collect();
    for &ax in active {
        let axis = k::Axis { in_len: shape[ax], out_len: plan.out_shape[ax], scale: plan.scales[ax] };
        let c = coord(a, plan, ax);
        let mut idx = Vec::with_capacity(axis.out_len);
        let mut outside = Vec::with_capacity(axis.out_len);
        for j in 0..axis.out_len {
            let (src, out) = k::source_coord(c, axis, j);
            idx.push(k::nearest_index(mode, src, axis));
            outside.push(out);
        }
        let dims = split_dims(&shape, ax);
        shape[ax] = axis.out_len;
        let mut next = vec![0usize; numel(&shape)?];
        k::gather_axis(&cur, dims, &mut next, &idx, &outside, OUTSIDE);
        cur = next;
    }
    let fill = a.extrapolation_value as f64;
    let data = match x.data() {
        Data::String(v) => {
            Data::String(cur.iter().map(|&i| if i == OUTSIDE { String::new() } else { v[i].clone() }).collect())
        }
        d => dispatch_elem!(d, v => {
            let f = T::from_f64(fill);
            T::wrap(cur.iter().map(|&i| if i == OUTSIDE { f } else { v[i] }).collect())
        }, else unreachable!()),
    };
    Ok(Tensor::new(plan.out_shape.clone(), data)?)
}

fn resize_filter(a: &ResizeAttrs, plan: &ResizePlan, x: &Tensor, active: &[usize]) -> Result<Tensor, OpError> {
    let dtype = x.dtype();
    if dtype.is_float() {
        let xf = upcast(x)?;
        let y = match xf.data() {
            Data::F32(v) => Tensor::from_vec(plan.out_shape.clone(), filter_passes(a, plan, x.shape(), v, active)?)?,
            Data::F64(v) => Tensor::from_vec(plan.out_shape.clone(), filter_passes(a, plan, x.shape(), v, active)?)?,
            _ => unreachable!("upcast yields f32 or f64"),
        };
        return downcast(y, dtype);
    }
    if !dtype.is_int() {
        bail!("Resize {:?} mode needs a numeric tensor, got {dtype}", a.mode);
    }
    let v = x.to_f64_vec()?;
    let y = filter_passes(a, plan, x.shape(), &v, active)?;
    // Integers round half to even and saturate, like the reference's saturate_cast.
    let data = dispatch_int!(Data::zeros(dtype, 0), _z => {
        let (lo, hi) = int_range(dtype);
        T::wrap(y.iter().map(|&f| T::from_f64(round_even(f).clamp(lo, hi))).collect())
    }, else unreachable!());
    Ok(Tensor::new(plan.out_shape.clone(), data)?)
}

fn round_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 { 2.0 * (x / 2.0).round() } else { r }
}

fn int_range(d: DType) -> (f64, f64) {
    match d {
        DType::I8 => (i8::MIN as f64, i8::MAX as f64),
        DType::U8 => (0.0, u8::MAX as f64),
        DType::I16 => (i16::MIN as f64, i16::MAX as f64),
        DType::U16 => (0.0, u16::MAX as f64),
        DType::I32 => (i32::MIN as f64, i32::MAX as f64),
        DType::U32 => (0.0, u32::MAX as f64),
        DType::I64 => (i64::MIN as f64, i64::MAX as f64),
        _ => (0.0, u64::MAX as f64),
    }
}

/// Linear/cubic passes over the active axes, in order.
fn filter_passes<T: Float>(
    a: &ResizeAttrs,
    plan: &ResizePlan,
    in_shape: &[usize],
    x: &[T],
    active: &[usize],
) -> Result<Vec<T>, OpError> {
    let filter = match a.mode {
        ResizeMode::Cubic => k::Filter::Cubic { a: a.cubic_coeff_a as f64 },
        _ => k::Filter::Linear,
    };
    let taps = k::Taps { filter, antialias: a.antialias, exclude_outside: a.exclude_outside };
    let fill = T::from(a.extrapolation_value).unwrap_or(T::zero());
    let mut shape = in_shape.to_vec();
    let mut cur = x.to_vec();
    for &ax in active {
        let axis = k::Axis { in_len: shape[ax], out_len: plan.out_shape[ax], scale: plan.scales[ax] };
        let c = coord(a, plan, ax);
        let width = taps.width(axis);
        let n = axis.out_len.checked_mul(width).ok_or_else(|| op_err!("Resize filter is too wide"))?;
        numel(&[n])?;
        let mut idx = vec![0usize; n];
        let mut w64 = vec![0.0f64; n];
        let mut outside = vec![false; axis.out_len];
        for j in 0..axis.out_len {
            let (src, out) = k::source_coord(c, axis, j);
            outside[j] = out;
            taps.fill(src, axis, &mut idx[j * width..(j + 1) * width], &mut w64[j * width..(j + 1) * width]);
        }
        let w: Vec<T> = w64.iter().map(|&v| T::from(v).unwrap_or(T::nan())).collect();
        let dims = split_dims(&shape, ax);
        shape[ax] = axis.out_len;
        let mut next = vec![T::zero(); numel(&shape)?];
        k::resize_axis(&cur, dims, &mut next, width, &idx, &w, &outside, fill);
        cur = next;
    }
    Ok(cur)
}

/// Runs `f` on f32 or f64 data of `x` (f16/bf16 computed in f32), converting `others` to the
/// same float type; the result is cast back to x's dtype.
macro_rules! with_float {
    ($x:expr, $what:expr, |$v:ident, $conv:ident| $body:expr) => {{
        let dtype = $x.dtype();
        if !dtype.is_float() {
            bail!("{} needs a float tensor, got {dtype}", $what);
        }
        let xf = upcast($x)?;
        let out: Tensor = match xf.data() {
            Data::F32($v) => {
                let $conv = |t: &Tensor| -> Result<Vec<f32>, OpError> { Ok(t.to_f32_vec()?) };
                $body
            }
            Data::F64($v) => {
                let $conv = |t: &Tensor| -> Result<Vec<f64>, OpError> { Ok(t.to_f64_vec()?) };
                $body
            }
            _ => unreachable!("upcast yields f32 or f64"),
        };
        downcast(out, dtype)
    }};
}

fn grid_sample(gs: &k::GridSample, x: &Tensor, grid: &Tensor) -> Result<Tensor, OpError> {
    let (xs, gsh) = (x.shape(), grid.shape());
    let r = xs.len();
    if r < 3 || gsh.len() != r || gsh[0] != xs[0] || gsh[r - 1] != r - 2 {
        bail!("GridSample needs X [N, C, D1..Dk] and grid [N, O1..Ok, k]; got X {xs:?} and grid {gsh:?}");
    }
    if !grid.dtype().is_float() {
        bail!("GridSample grid must be float, got {}", grid.dtype());
    }
    if r > mote_core::MAX_RANK {
        bail!("GridSample supports ranks up to {}, got {r}", mote_core::MAX_RANK);
    }
    let mut out_shape = vec![xs[0], xs[1]];
    out_shape.extend_from_slice(&gsh[1..r - 1]);
    let n_out = numel(&out_shape)?;
    if n_out > 0 && xs[2..].contains(&0) {
        bail!("GridSample cannot sample X with an empty spatial dimension: {xs:?}");
    }
    with_float!(x, "GridSample", |v, conv| {
        let g = conv(grid)?;
        let mut out = vec![Default::default(); n_out];
        if n_out > 0 {
            gs.run(v, xs, &g, &gsh[1..r - 1], &mut out);
        }
        Tensor::from_vec(out_shape, out)?
    })
}

fn affine_grid(theta: &Tensor, size: &Tensor, align_corners: bool) -> Result<Tensor, OpError> {
    let size = super::shape_input(size, "AffineGrid size")?;
    let ts = theta.shape();
    if size.len() != 4 && size.len() != 5 {
        bail!("AffineGrid size must have 4 or 5 values, got {size:?}");
    }
    let kd = size.len() - 2;
    if ts != [size[0].max(0) as usize, kd, kd + 1] {
        bail!("AffineGrid theta must be [N, {kd}, {}] for size {size:?}, got {ts:?}", kd + 1);
    }
    let spatial: Vec<usize> = size[2..]
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| op_err!("AffineGrid size must be non-negative, got {size:?}")))
        .collect::<Result<_, _>>()?;
    let mut out_shape = vec![ts[0]];
    out_shape.extend_from_slice(&spatial);
    out_shape.push(kd);
    let n = numel(&out_shape)?;
    with_float!(theta, "AffineGrid", |v, _conv| {
        let mut out = vec![Default::default(); n];
        k::affine_grid(v, ts[0], &spatial, align_corners, &mut out);
        Tensor::from_vec(out_shape, out)?
    })
}

fn roi_align(p: &k::RoiAlign, x: &Tensor, rois: &Tensor, batch: &Tensor) -> Result<Tensor, OpError> {
    let xs = x.shape();
    if xs.len() != 4 {
        bail!("RoiAlign needs X of rank 4, got {xs:?}");
    }
    let nr = rois.shape().first().copied().unwrap_or(0);
    if rois.shape() != [nr, 4] {
        bail!("RoiAlign rois must be [num_rois, 4], got {:?}", rois.shape());
    }
    let bi = batch.to_i64_vec().map_err(|e| op_err!("RoiAlign batch_indices: {e}"))?;
    if batch.shape() != [nr] {
        bail!("RoiAlign batch_indices must be [{nr}], got {:?}", batch.shape());
    }
    let (n, ch, h, w) = (xs[0], xs[1], xs[2], xs[3]);
    if let Some(&b) = bi.iter().find(|&&b| b < 0 || b as usize >= n) {
        bail!("RoiAlign batch index {b} is out of range for {n} images");
    }
    let out_shape = vec![nr, ch, p.out_h, p.out_w];
    let total = numel(&out_shape)?;
    let per = ch * p.out_h * p.out_w;
    with_float!(x, "RoiAlign", |v, conv| {
        let r = conv(rois)?;
        let mut out = vec![Default::default(); total];
        for (i, &b) in bi.iter().enumerate() {
            let img = &v[b as usize * ch * h * w..][..ch * h * w];
            let roi = [r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]];
            let (gh, gw) = p.samples_per_bin(roi);
            if gh.saturating_mul(gw).saturating_mul(per) > 1 << 34 {
                bail!("RoiAlign: ROI {i} needs {gh}x{gw} samples per bin, too many");
            }
            p.run_roi(img, ch, h, w, roi, &mut out[i * per..(i + 1) * per]);
        }
        Tensor::from_vec(out_shape, out)?
    })
}

fn max_roi_pool(x: &Tensor, rois: &Tensor, ph: usize, pw: usize, scale: f32) -> Result<Tensor, OpError> {
    let xs = x.shape();
    if xs.len() != 4 {
        bail!("MaxRoiPool needs X of rank 4, got {xs:?}");
    }
    let nr = rois.shape().first().copied().unwrap_or(0);
    if rois.shape() != [nr, 5] {
        bail!("MaxRoiPool rois must be [num_rois, 5], got {:?}", rois.shape());
    }
    let (n, ch, h, w) = (xs[0], xs[1], xs[2], xs[3]);
    let batch: Vec<usize> = rois
        .to_f64_vec()?
        .chunks(5)
        .map(|r| {
            if r[0] >= 0.0 && (r[0] as usize) < n {
                Ok(r[0] as usize)
            } else {
                Err(op_err!("MaxRoiPool batch index {} is out of range for {n} images", r[0]))
            }
        })
        .collect::<Result<_, _>>()?;
    let out_shape = vec![nr, ch, ph, pw];
    let total = numel(&out_shape)?;
    let per = ch * ph * pw;
    with_float!(x, "MaxRoiPool", |v, conv| {
        let r = conv(rois)?;
        let sc = conv(&Tensor::scalar(scale))?[0];
        let mut out = vec![Default::default(); total];
        for (i, &b) in batch.iter().enumerate() {
            let roi = [r[5 * i + 1], r[5 * i + 2], r[5 * i + 3], r[5 * i + 4]];
            let img = &v[b * ch * h * w..][..ch * h * w];
            k::max_roi_pool(img, ch, h, w, roi, sc, ph, pw, &mut out[i * per..(i + 1) * per]);
        }
        Tensor::from_vec(out_shape, out)?
    })
}

/// A scalar-ish optional input: its single value, or `None` when omitted or empty.
fn opt_scalar(inputs: &Inputs<'_>, i: usize, what: &str) -> Result<Option<f64>, OpError> {
    match inputs.opt_tensor(i)? {
        Some(t) if !t.is_empty() => {
            if t.len() != 1 {
                bail!("NonMaxSuppression {what} must have one value, got shape {:?}", t.shape());
            }
            Ok(Some(t.scalar_f64()?))
        }
        _ => Ok(None),
    }
}

fn nms(center: bool, inputs: &Inputs<'_>) -> Result<Tensor, OpError> {
    let boxes = inputs.tensor(0)?;
    let scores = inputs.tensor(1)?;
    let (bs, ss) = (boxes.shape(), scores.shape());
    if bs.len() != 3 || bs[2] != 4 || ss.len() != 3 || ss[0] != bs[0] || ss[2] != bs[1] {
        bail!("NonMaxSuppression needs boxes [B, S, 4] and scores [B, C, S]; got {bs:?} and {ss:?}");
    }
    let max_out = opt_scalar(inputs, 2, "max_output_boxes_per_class")?.unwrap_or(0.0).max(0.0);
    let iou = opt_scalar(inputs, 3, "iou_threshold")?.unwrap_or(0.0);
    let score_th = opt_scalar(inputs, 4, "score_threshold")?;
    let (nb, nc, ns) = (ss[0], ss[1], ss[2]);
    let max_out = if max_out >= ns as f64 { ns } else { max_out as usize };
    let selected = match (boxes.dtype(), scores.dtype()) {
        (DType::F32, DType::F32) => nms_select(
            boxes.typed::<f32>()?,
            scores.typed::<f32>()?,
            [nb, nc, ns],
            center,
            max_out,
            iou as f32,
            score_th.map(|s| s as f32),
        ),
        _ => nms_select(&boxes.to_f64_vec()?, &scores.to_f64_vec()?, [nb, nc, ns], center, max_out, iou, score_th),
    };
    let n = selected.len() / 3;
    Ok(Tensor::from_vec(vec![n, 3], selected)?)
}

/// Greedy per-class NMS; returns `[batch, class, box]` triples, flattened.
fn nms_select<T: Float>(
    boxes: &[T],
    scores: &[T],
    [nb, nc, ns]: [usize; 3],
    center: bool,
    max_out: usize,
    iou: T,
    score_th: Option<T>,
) -> Vec<i64> {
    let mut out = Vec::new();
    let mut cand: Vec<usize> = Vec::with_capacity(ns);
    let mut kept: Vec<usize> = Vec::new();
    for b in 0..nb {
        let bx = &boxes[b * ns * 4..(b + 1) * ns * 4];
        for c in 0..nc {
            let sc = &scores[(b * nc + c) * ns..(b * nc + c + 1) * ns];
            cand.clear();
            cand.extend((0..ns).filter(|&i| score_th.is_none_or(|t| sc[i] > t)));
            // Highest score first; equal scores keep the lower box index first.
            cand.sort_by(|&i, &j| sc[j].partial_cmp(&sc[i]).unwrap_or(std::cmp::Ordering::Equal).then(i.cmp(&j)));
            kept.clear();
            for &i in &cand {
                if kept.len() >= max_out {
                    break;
                }
                if kept.iter().all(|&j| !k::nms_suppresses(&bx[i * 4..i * 4 + 4], &bx[j * 4..j * 4 + 4], center, iou)) {
                    kept.push(i);
                    out.extend([b as i64, c as i64, i as i64]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nms_suppresses_overlaps_and_orders_ties() {
        // Three boxes: 0 and 1 overlap heavily, 2 is apart; 0 and 2 tie on score.
        let boxes = [0.0f32, 0.0, 1.0, 1.0, 0.0, 0.1, 1.0, 1.1, 0.0, 10.0, 1.0, 11.0];
        let scores = [0.9f32, 0.8, 0.9];
        let sel = nms_select(&boxes, &scores, [1, 1, 3], false, 3, 0.5, None);
        assert_eq!(sel, vec![0, 0, 0, 0, 0, 2]);
        let limited = nms_select(&boxes, &scores, [1, 1, 3], false, 1, 0.5, None);
        assert_eq!(limited, vec![0, 0, 0]);
        let thresholded = nms_select(&boxes, &scores, [1, 1, 3], false, 3, 0.5, Some(0.85));
        assert_eq!(thresholded, vec![0, 0, 0, 0, 0, 2]);
    }

    fn nearest_attrs() -> ResizeAttrs {
        ResizeAttrs {
            mode: ResizeMode::Nearest,
            coord: CoordMode::Asymmetric,
            nearest: NearestMode::Floor,
            cubic_coeff_a: -0.75,
            exclude_outside: false,
            extrapolation_value: 0.0,
            antialias: false,
            axes: None,
            keep_aspect: mote_ir::ops::image::KeepAspect::Stretch,
        }
    }

    fn run_resize(a: &ResizeAttrs, x: Tensor, scales: Vec<f32>) -> Result<Tensor, OpError> {
        let x = Value::Tensor(x);
        let s = Value::Tensor(Tensor::from_vec(vec![scales.len()], scales).unwrap());
        resize(a, &Inputs::new(vec![Some(&x), None, Some(&s)]))
    }

    #[test]
    fn resize_nearest_upsamples_and_rejects_bad_scales() {
        let x = Tensor::from_vec(vec![1, 2], vec![1i32, 2]).unwrap();
        let a = nearest_attrs();
        let y = run_resize(&a, x.clone(), vec![1.0, 2.0]).unwrap();
        assert_eq!(y.shape(), &[1, 4]);
        assert_eq!(y.typed::<i32>().unwrap(), &[1, 1, 2, 2]);
        assert!(run_resize(&a, x.clone(), vec![1.0, f32::NAN]).is_err());
        assert!(run_resize(&a, x.clone(), vec![1.0, -2.0]).is_err());
        assert!(run_resize(&a, x.clone(), vec![1.0]).is_err());
        assert!(run_resize(&a, x, vec![1e30, 1e30]).is_err());
    }

    #[test]
    fn resize_linear_integers_round_and_saturate() {
        let x = Tensor::from_vec(vec![2], vec![0u8, 255]).unwrap();
        let a = ResizeAttrs { mode: ResizeMode::Linear, coord: CoordMode::AlignCorners, ..nearest_attrs() };
        let y = run_resize(&a, x, vec![1.5]).unwrap();
        // Source coordinates 0, 0.5, 1 -> 0, 127.5 (rounds to even 128), 255.
        assert_eq!(y.typed::<u8>().unwrap(), &[0, 128, 255]);
    }

    #[test]
    fn int_resize_rounds_half_even() {
        assert_eq!(round_even(2.5), 2.0);
        assert_eq!(round_even(3.5), 4.0);
        assert_eq!(round_even(-0.5), 0.0);
    }
}

/// Decodes an image file held in a u8 tensor. Decoding is bounded (dimensions and memory), so a
/// crafted file cannot make the host allocate without limit.
fn decode_image(encoded: &Tensor, format: PixelFormat) -> Result<Tensor, OpError> {
    let bytes =
        encoded.typed::<u8>().map_err(|_| op_err!("the encoded image must be a u8 tensor, got {}", encoded.dtype()))?;
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| op_err!("cannot read the encoded image: {e}"))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(1 << 15);
    limits.max_image_height = Some(1 << 15);
    limits.max_alloc = Some(1 << 30);
    reader.limits(limits);
    if reader.format().is_none() {
        bail!("unsupported image format (supported: PNG, JPEG, BMP, TIFF, WebP, PNM)");
    }
    let img = reader.decode().map_err(|e| op_err!("cannot decode the image: {e}"))?.to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let rgb = img.into_raw();
    let pixels: Vec<u8> = match format {
        PixelFormat::Rgb => rgb,
        PixelFormat::Bgr => rgb.chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]).collect(),
        PixelFormat::Grayscale => rgb
            .chunks_exact(3)
            .map(|p| ((p[0] as u32 * 19595 + p[1] as u32 * 38470 + p[2] as u32 * 7471 + 0x8000) >> 16) as u8)
            .collect(),
    };
    let c = if format == PixelFormat::Grayscale { 1 } else { 3 };
    Ok(Tensor::from_vec(vec![h, w, c], pixels)?)
}

#[cfg(test)]
mod decoder_tests {
    use super::*;

    fn png(pixels: &[[u8; 3]], w: u32, h: u32) -> Tensor {
        let img = image::RgbImage::from_raw(w, h, pixels.iter().flatten().copied().collect()).unwrap();
        let mut bytes = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
        Tensor::from_vec(vec![bytes.len()], bytes).unwrap()
    }

    #[test]
    fn decodes_rgb_bgr_and_gray() {
        let t = png(&[[255, 0, 0], [10, 20, 30]], 2, 1);
        let rgb = decode_image(&t, PixelFormat::Rgb).unwrap();
        assert_eq!(rgb.shape(), &[1, 2, 3]);
        assert_eq!(rgb.typed::<u8>().unwrap(), &[255, 0, 0, 10, 20, 30]);
        let bgr = decode_image(&t, PixelFormat::Bgr).unwrap();
        assert_eq!(bgr.typed::<u8>().unwrap(), &[0, 0, 255, 30, 20, 10]);
        let gray = decode_image(&t, PixelFormat::Grayscale).unwrap();
        // 0.299 * 255 = 76.2 -> 76; 0.299*10 + 0.587*20 + 0.114*30 = 18.1 -> 18
        assert_eq!((gray.shape(), gray.typed::<u8>().unwrap()), (&[1usize, 2, 1][..], &[76u8, 18][..]));
    }

    #[test]
    fn garbage_is_an_error() {
        let t = Tensor::from_vec(vec![4], vec![1u8, 2, 3, 4]).unwrap();
        assert!(decode_image(&t, PixelFormat::Rgb).unwrap_err().0.contains("unsupported image format"));
        let f = Tensor::from_vec(vec![1], vec![1.0f32]).unwrap();
        assert!(decode_image(&f, PixelFormat::Rgb).is_err());
    }
}
