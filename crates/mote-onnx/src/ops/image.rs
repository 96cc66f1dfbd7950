//! Image ops: ONNX attributes -> [`ImageOp`]. `Upsample` and Resize-10 become Resize with
//! their fixed coordinate mapping (asymmetric, legacy nearest rounding).

use mote_ir::ops::image::{
    CoordMode, GridMode, GridPadding, ImageOp, KeepAspect, NearestMode, PixelFormat, ResizeAttrs, ResizeMode,
};
use mote_ir::{Op, Tensor};

use super::{NodeCtx, NodeError, invalid, unsupported};

pub const OPS: &[(&str, &str)] = &[
    ("", "Resize"),
    ("", "Upsample"),
    ("", "GridSample"),
    ("", "AffineGrid"),
    ("", "RoiAlign"),
    ("", "NonMaxSuppression"),
    ("", "MaxRoiPool"),
    ("", "ImageDecoder"),
];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    let op = match cx.op_type {
        "Resize" if cx.opset < 11 => legacy_resize(cx, "Resize")?,
        "Resize" => resize(cx)?,
        "Upsample" => legacy_resize(cx, "Upsample")?,
        "GridSample" => {
            cx.expect_inputs(2, 2)?;
            let mode = match cx.string("mode", if cx.opset < 20 { "bilinear" } else { "linear" })?.as_str() {
                "bilinear" | "linear" => GridMode::Linear,
                "nearest" => GridMode::Nearest,
                "bicubic" | "cubic" => GridMode::Cubic,
                other => return Err(invalid!("GridSample: unknown mode {other:?}")),
            };
            let padding = match cx.string("padding_mode", "zeros")?.as_str() {
                "zeros" => GridPadding::Zeros,
                "border" => GridPadding::Border,
                "reflection" => GridPadding::Reflection,
                other => return Err(invalid!("GridSample: unknown padding_mode {other:?}")),
            };
            ImageOp::GridSample { mode, padding, align_corners: cx.int("align_corners", 0)? != 0 }
        }
        "AffineGrid" => {
            cx.expect_inputs(2, 2)?;
            ImageOp::AffineGrid { align_corners: cx.int("align_corners", 0)? != 0 }
        }
        "RoiAlign" => {
            cx.expect_inputs(3, 3)?;
            let max = match cx.string("mode", "avg")?.as_str() {
                "avg" => false,
                "max" => true,
                other => return Err(invalid!("RoiAlign: unknown mode {other:?}")),
            };
            // RoiAlign-10 has no coordinate_transformation_mode and behaves as output_half_pixel.
            let default_ctm = if cx.opset < 16 { "output_half_pixel" } else { "half_pixel" };
            let half_pixel = match cx.string("coordinate_transformation_mode", default_ctm)?.as_str() {
                "half_pixel" => true,
                "output_half_pixel" => false,
                other => return Err(invalid!("RoiAlign: unknown coordinate_transformation_mode {other:?}")),
            };
            ImageOp::RoiAlign {
                max,
                output_height: positive(cx, "output_height", 1)?,
                output_width: positive(cx, "output_width", 1)?,
                sampling_ratio: usize::try_from(cx.int("sampling_ratio", 0)?)
                    .map_err(|_| invalid!("RoiAlign: sampling_ratio must be >= 0"))?,
                spatial_scale: cx.float("spatial_scale", 1.0)?,
                half_pixel,
            }
        }
        "NonMaxSuppression" => {
            cx.expect_inputs(2, 5)?;
            let center_point_box = match cx.int("center_point_box", 0)? {
                0 => false,
                1 => true,
                other => return Err(invalid!("NonMaxSuppression: center_point_box must be 0 or 1, got {other}")),
            };
            ImageOp::NonMaxSuppression { center_point_box }
        }
        "ImageDecoder" => {
            cx.expect_inputs(1, 1)?;
            let pixel_format = match cx.string("pixel_format", "RGB")?.as_str() {
                "RGB" => PixelFormat::Rgb,
                "BGR" => PixelFormat::Bgr,
                "Grayscale" => PixelFormat::Grayscale,
                other => return Err(invalid!("attribute `pixel_format` must be RGB, BGR or Grayscale, got {other:?}")),
            };
            ImageOp::ImageDecoder { pixel_format }
        }
        "MaxRoiPool" => {
            cx.expect_inputs(2, 2)?;
            let shape =
                cx.usizes("pooled_shape")?.ok_or_else(|| invalid!("required attribute `pooled_shape` is missing"))?;
            let [h, w] = shape[..] else {
                return Err(invalid!("MaxRoiPool: pooled_shape must have 2 values, got {shape:?}"));
            };
            if h == 0 || w == 0 {
                return Err(invalid!("MaxRoiPool: pooled_shape must be positive, got {shape:?}"));
            }
            ImageOp::MaxRoiPool { pooled_height: h, pooled_width: w, spatial_scale: cx.float("spatial_scale", 1.0)? }
        }
        _ => return Ok(None),
    };
    Ok(Some(Op::Image(op)))
}

fn positive(cx: &NodeCtx<'_>, name: &str, default: i64) -> Result<usize, NodeError> {
    let v = cx.int(name, default)?;
    match usize::try_from(v) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(invalid!("attribute `{name}` must be positive, got {v}")),
    }
}

fn resize_mode(s: &str) -> Result<ResizeMode, NodeError> {
    Ok(match s {
        "nearest" => ResizeMode::Nearest,
        "linear" | "bilinear" | "trilinear" => ResizeMode::Linear,
        "cubic" | "bicubic" => ResizeMode::Cubic,
        other => return Err(invalid!("unknown mode {other:?}")),
    })
}

/// Resize-10 (`X, scales`) and Upsample-7/9 (scales attribute, then input): asymmetric mapping.
fn legacy_resize(cx: &mut NodeCtx<'_>, what: &str) -> Result<ImageOp, NodeError> {
    let mode = resize_mode(&cx.string("mode", "nearest")?)?;
    if mode == ResizeMode::Cubic {
        return Err(invalid!("{what}-{} supports nearest and linear modes only", cx.opset));
    }
    if what == "Upsample" && cx.opset < 7 {
        return Err(unsupported!("Upsample-1 (experimental) is not supported"));
    }
    if what == "Upsample" && cx.opset < 9 {
        cx.expect_inputs(1, 1)?;
        let scales = cx.floats("scales")?.ok_or_else(|| invalid!("required attribute `scales` is missing"))?;
        let t = Tensor::from_vec(vec![scales.len()], scales).expect("length matches");
        cx.const_input(2, "scales", t);
    } else {
        cx.expect_inputs(2, 2)?;
        let scales = cx.inputs[1];
        cx.inputs = vec![cx.inputs[0], None, scales];
    }
    Ok(ImageOp::Resize(ResizeAttrs {
        mode,
        coord: CoordMode::Asymmetric,
        nearest: NearestMode::Legacy,
        cubic_coeff_a: -0.75,
        exclude_outside: false,
        extrapolation_value: 0.0,
        antialias: false,
        axes: None,
        keep_aspect: KeepAspect::Stretch,
    }))
}

fn resize(cx: &mut NodeCtx<'_>) -> Result<ImageOp, NodeError> {
    cx.expect_inputs(1, 4)?;
    let mode = resize_mode(&cx.string("mode", "nearest")?)?;
    let coord = match cx.string("coordinate_transformation_mode", "half_pixel")?.as_str() {
        "half_pixel" => CoordMode::HalfPixel,
        "half_pixel_symmetric" => CoordMode::HalfPixelSymmetric,
        "pytorch_half_pixel" => CoordMode::PytorchHalfPixel,
        "align_corners" => CoordMode::AlignCorners,
        "asymmetric" => CoordMode::Asymmetric,
        "tf_half_pixel_for_nn" => CoordMode::TfHalfPixelForNn,
        "tf_crop_and_resize" => CoordMode::TfCropAndResize,
        other => return Err(invalid!("unknown coordinate_transformation_mode {other:?}")),
    };
    let nearest = match cx.string("nearest_mode", "round_prefer_floor")?.as_str() {
        "round_prefer_floor" => NearestMode::RoundPreferFloor,
        "round_prefer_ceil" => NearestMode::RoundPreferCeil,
        "floor" => NearestMode::Floor,
        "ceil" => NearestMode::Ceil,
        other => return Err(invalid!("unknown nearest_mode {other:?}")),
    };
    let keep_aspect = match cx.string("keep_aspect_ratio_policy", "stretch")?.as_str() {
        "stretch" => KeepAspect::Stretch,
        "not_larger" => KeepAspect::NotLarger,
        "not_smaller" => KeepAspect::NotSmaller,
        other => return Err(invalid!("unknown keep_aspect_ratio_policy {other:?}")),
    };
    let antialias = cx.int("antialias", 0)? != 0;
    if antialias && mode == ResizeMode::Nearest {
        // The spec defines antialiasing for linear and cubic only; nearest ignores it.
        cx.ignore(&["antialias"]);
    }
    Ok(ImageOp::Resize(ResizeAttrs {
        mode,
        coord,
        nearest,
        cubic_coeff_a: cx.float("cubic_coeff_a", -0.75)?,
        exclude_outside: cx.int("exclude_outside", 0)? != 0,
        extrapolation_value: cx.float("extrapolation_value", 0.0)?,
        antialias: antialias && mode != ResizeMode::Nearest,
        axes: cx.ints("axes")?,
        keep_aspect,
    }))
}
