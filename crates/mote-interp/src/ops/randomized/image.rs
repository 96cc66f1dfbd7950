use mote_ir::ops::image::{
    CoordMode, GridMode, GridPadding, ImageOp, KeepAspect, NearestMode, ResizeAttrs, ResizeMode,
};
use mote_ir::{DType, Op, Tensor};

use super::{Rng, run_cases, vals};

fn resize_attrs(rng: &Rng) -> ResizeAttrs {
    ResizeAttrs {
        mode: rng.pick(&[ResizeMode::Nearest, ResizeMode::Linear, ResizeMode::Cubic]),
        coord: rng.pick(&[
            CoordMode::HalfPixel,
            CoordMode::HalfPixelSymmetric,
            CoordMode::PytorchHalfPixel,
            CoordMode::AlignCorners,
            CoordMode::Asymmetric,
            CoordMode::TfHalfPixelForNn,
            CoordMode::TfCropAndResize,
        ]),
        nearest: rng.pick(&[
            NearestMode::RoundPreferFloor,
            NearestMode::RoundPreferCeil,
            NearestMode::Floor,
            NearestMode::Ceil,
            NearestMode::Legacy,
        ]),
        cubic_coeff_a: rng.float(),
        exclude_outside: rng.coin(),
        extrapolation_value: rng.float(),
        antialias: rng.coin(),
        axes: rng.one_in(3).then(|| (0..rng.below(4)).map(|_| rng.int(-4, 4)).collect()),
        keep_aspect: rng.pick(&[KeepAspect::Stretch, KeepAspect::NotLarger, KeepAspect::NotSmaller]),
    }
}

fn float_values(rng: &Rng, n: usize) -> Tensor {
    let v: Vec<f32> = (0..n)
        .map(|_| match rng.below(12) {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => -1.0,
            3 => 0.0,
            4 => 1e9,
            _ => 0.25 * (1 + rng.below(12)) as f32,
        })
        .collect();
    Tensor::from_vec(vec![n], v).unwrap()
}

/// `[num, 4]` boxes (or rois) with mostly sane, sometimes wild coordinates.
fn boxes(rng: &Rng, lead: &[usize], cols: usize) -> Tensor {
    let mut s = lead.to_vec();
    s.push(cols);
    let n: usize = s.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| match rng.below(15) {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => -1e30,
            3 => 1e30,
            _ => rng.below(9) as f32 - 1.0,
        })
        .collect();
    Tensor::from_vec(s, v).unwrap()
}

#[test]
fn image_random_cases() {
    let names = ["Resize", "GridSample", "AffineGrid", "RoiAlign", "NonMaxSuppression", "MaxRoiPool"];
    run_cases(0x1a6e_0005, 20000, 10, &names, |rng: &Rng| {
        let dt = if rng.one_in(8) { rng.dtype() } else { rng.float_dtype() };
        let (op, inputs): (ImageOp, Vec<Option<Tensor>>) = match rng.below(7) {
            0..=2 => {
                let s = rng.shape(4);
                let x = rng.tensor(dt, &s);
                let a = resize_attrs(rng);
                let n = match &a.axes {
                    Some(ax) if !rng.one_in(8) => ax.len(),
                    _ if rng.one_in(8) => rng.below(5),
                    _ => s.len(),
                };
                let roi = rng.one_in(4).then(|| float_values(rng, 2 * n));
                let (scales, sizes) = match rng.below(5) {
                    0 => (Some(float_values(rng, n)), None),
                    1 => (Some(Tensor::from_vec(vec![0], Vec::<f32>::new()).unwrap()), Some(rng.ints(n, -1, 6))),
                    2 => (Some(float_values(rng, n)), Some(rng.ints(n, 0, 6))),
                    3 => (None, None),
                    _ => (None, Some(rng.ints(n, -1, 6))),
                };
                (ImageOp::Resize(a), vec![Some(x), roi, scales, sizes])
            }
            3 => {
                let k = if rng.one_in(6) { rng.below(4) } else { 2 };
                let mut xs = vec![rng.dim(), rng.dim()];
                xs.extend((0..k).map(|_| rng.dim()));
                let mut gs = vec![if rng.one_in(6) { rng.dim() } else { xs[0] }];
                gs.extend((0..k).map(|_| rng.dim()));
                gs.push(if rng.one_in(6) { rng.dim() } else { k });
                let op = ImageOp::GridSample {
                    mode: rng.pick(&[GridMode::Nearest, GridMode::Linear, GridMode::Cubic]),
                    padding: rng.pick(&[GridPadding::Zeros, GridPadding::Border, GridPadding::Reflection]),
                    align_corners: rng.coin(),
                };
                let grid = boxes(rng, &gs[..gs.len() - 1], gs[gs.len() - 1]);
                (op, vec![Some(rng.tensor(dt, &xs)), Some(grid)])
            }
            4 => {
                let three_d = rng.coin();
                let n = rng.dim();
                let theta = rng.tensor(dt, &if three_d { [n, 3, 4] } else { [n, 2, 3] });
                let len = if rng.one_in(5) {
                    rng.below(6)
                } else if three_d {
                    5
                } else {
                    4
                };
                let mut size = rng.ints(len, 0, 4);
                if rng.coin() {
                    let mut v = size.to_i64_vec().unwrap();
                    if let Some(f) = v.first_mut() {
                        *f = n as i64;
                    }
                    size = Tensor::from_vec(vec![len], v).unwrap();
                }
                (ImageOp::AffineGrid { align_corners: rng.coin() }, vec![Some(theta), Some(size)])
            }
            5 => {
                let xs = [rng.dim(), rng.dim(), 1 + rng.below(5), 1 + rng.below(5)];
                let nr = rng.dim();
                let rois = boxes(rng, &[nr], if rng.one_in(6) { 5 } else { 4 });
                let bi = rng.indices(&[nr], 2);
                let op = ImageOp::RoiAlign {
                    max: rng.coin(),
                    output_height: rng.size(3),
                    output_width: rng.size(3),
                    sampling_ratio: rng.size(3),
                    spatial_scale: rng.float(),
                    half_pixel: rng.coin(),
                };
                (op, vec![Some(rng.tensor(dt, &xs)), Some(rois), Some(bi)])
            }
            _ => {
                if rng.coin() {
                    let (b, nb, c) = (rng.dim(), rng.dim(), rng.dim());
                    let bx = boxes(rng, &[b, nb], if rng.one_in(8) { 3 } else { 4 });
                    let sc = boxes(rng, &[b, c], nb).reshape(vec![b, c, nb]).unwrap();
                    let opt = |rng: &Rng, t: Tensor| (!rng.one_in(3)).then_some(t);
                    let m = opt(rng, Tensor::scalar(rng.int(-1, 5)));
                    let iou = opt(rng, float_values(rng, 1).reshape(vec![]).unwrap());
                    let st = opt(rng, float_values(rng, 1));
                    let op = ImageOp::NonMaxSuppression { center_point_box: rng.coin() };
                    (op, vec![Some(bx), Some(sc), m, iou, st])
                } else {
                    let xs = [rng.dim(), rng.dim(), 1 + rng.below(5), 1 + rng.below(5)];
                    let rois = boxes(rng, &[rng.dim()], if rng.one_in(6) { 4 } else { 5 });
                    let op = ImageOp::MaxRoiPool {
                        pooled_height: rng.size(3),
                        pooled_width: rng.size(3),
                        spatial_scale: rng.float(),
                    };
                    (op, vec![Some(rng.tensor(dt, &xs)), Some(rois)])
                }
            }
        };
        let _ = DType::F32;
        (Op::Image(op), vals(inputs), 1)
    });
}
