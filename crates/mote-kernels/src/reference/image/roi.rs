//! RoiAlign and MaxRoiPool.

use num_traits::Float;

use super::c;

/// RoiAlign options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RoiAlign {
    pub max: bool,
    pub out_h: usize,
    pub out_w: usize,
    pub sampling_ratio: usize,
    pub spatial_scale: f64,
    pub half_pixel: bool,
}

impl RoiAlign {
    /// Samples per bin `(rows, cols)` for ROI `[x1, y1, x2, y2]` (what [`RoiAlign::run_roi`]
    /// loops over; callers can bound the work with it).
    pub fn samples_per_bin<T: Float>(&self, roi: [T; 4]) -> (usize, usize) {
        if self.sampling_ratio > 0 {
            return (self.sampling_ratio, self.sampling_ratio);
        }
        let scale = c::<T>(self.spatial_scale);
        let mut w = (roi[2] - roi[0]) * scale;
        let mut h = (roi[3] - roi[1]) * scale;
        if !self.half_pixel {
            w = w.max(T::one());
            h = h.max(T::one());
        }
        let n = |size: T, bins: usize| (size / c(bins as f64)).ceil().to_usize().unwrap_or(0);
        (n(h, self.out_h), n(w, self.out_w))
    }

    /// Pools one ROI (`[x1, y1, x2, y2]`) of one image `img` (`[C, H, W]`) into `out`
    /// (`[C, out_h, out_w]`), bilinearly sampling a regular grid in every bin.
    pub fn run_roi<T: Float>(&self, img: &[T], ch: usize, h: usize, w: usize, roi: [T; 4], out: &mut [T]) {
        let scale = c::<T>(self.spatial_scale);
        let offset = if self.half_pixel { c::<T>(0.5) } else { T::zero() };
        let start_w = roi[0] * scale - offset;
        let start_h = roi[1] * scale - offset;
        let mut roi_w = roi[2] * scale - offset - start_w;
        let mut roi_h = roi[3] * scale - offset - start_h;
        if !self.half_pixel {
            roi_w = roi_w.max(T::one());
            roi_h = roi_h.max(T::one());
        }
        let (ph, pw) = (self.out_h, self.out_w);
        let bin_h = roi_h / c(ph as f64);
        let bin_w = roi_w / c(pw as f64);
        let grid = |size: T, bins: usize| -> usize {
            if self.sampling_ratio > 0 {
                self.sampling_ratio
            } else {
                (size / c(bins as f64)).ceil().to_usize().unwrap_or(0)
            }
        };
        let (gh, gw) = (grid(roi_h, ph), grid(roi_w, pw));
        let count = c::<T>(gh.saturating_mul(gw).max(1) as f64);
        let (hf, wf) = (c::<T>(h as f64), c::<T>(w as f64));
        let plane = h * w;
        for oy in 0..ph {
            for ox in 0..pw {
                for ci in 0..ch {
                    let data = &img[ci * plane..][..plane];
                    let mut acc = T::zero();
                    let mut first = true;
                    for iy in 0..gh {
                        let yy =
                            start_h + c::<T>(oy as f64) * bin_h + (c::<T>(iy as f64) + c(0.5)) * bin_h / c(gh as f64);
                        for ix in 0..gw {
                            let xx = start_w
                                + c::<T>(ox as f64) * bin_w
                                + (c::<T>(ix as f64) + c(0.5)) * bin_w / c(gw as f64);
                            let taps = bilinear(yy, xx, hf, wf, h, w);
                            let v = match taps {
                                None => T::zero(),
                                Some((pos, wt)) => {
                                    let t = [
                                        wt[0] * data[pos[0]],
                                        wt[1] * data[pos[1]],
                                        wt[2] * data[pos[2]],
                                        wt[3] * data[pos[3]],
                                    ];
                                    if self.max {
                                        t[0].max(t[1]).max(t[2]).max(t[3])
                                    } else {
                                        t[0] + t[1] + t[2] + t[3]
                                    }
                                }
                            };
                            if self.max {
                                acc = if first { v } else { acc.max(v) };
                            } else {
                                acc = acc + v;
                            }
                            first = false;
                        }
                    }
                    out[(ci * ph + oy) * pw + ox] = if self.max { acc } else { acc / count };
                }
            }
        }
    }
}

/// Bilinear taps of point `(y, x)` as in Caffe2/onnxruntime RoiAlign: `None` outside
/// `[-1, H] x [-1, W]`, otherwise four flat positions and weights.
fn bilinear<T: Float>(y: T, x: T, hf: T, wf: T, h: usize, w: usize) -> Option<([usize; 4], [T; 4])> {
    let one = T::one();
    if y < -one || y > hf || x < -one || x > wf || h == 0 || w == 0 {
        return None;
    }
    let mut y = y.max(T::zero());
    let mut x = x.max(T::zero());
    let mut y_low = y.to_usize().unwrap_or(0);
    let mut x_low = x.to_usize().unwrap_or(0);
    let y_high = if y_low >= h - 1 {
        y_low = h - 1;
        y = c(y_low as f64);
        y_low
    } else {
        y_low + 1
    };
    let x_high = if x_low >= w - 1 {
        x_low = w - 1;
        x = c(x_low as f64);
        x_low
    } else {
        x_low + 1
    };
    let ly = y - c(y_low as f64);
    let lx = x - c(x_low as f64);
    let (hy, hx) = (one - ly, one - lx);
    Some((
        [y_low * w + x_low, y_low * w + x_high, y_high * w + x_low, y_high * w + x_high],
        [hy * hx, hy * lx, ly * hx, ly * lx],
    ))
}

/// MaxRoiPool of one ROI (`[x1, y1, x2, y2]` in input coordinates before `spatial_scale`) of
/// one image (`[C, H, W]`) into `out` (`[C, ph, pw]`); empty bins give 0.
pub fn max_roi_pool<T: Float>(
    img: &[T],
    ch: usize,
    h: usize,
    w: usize,
    roi: [T; 4],
    spatial_scale: T,
    ph: usize,
    pw: usize,
    out: &mut [T],
) {
    // Caffe rounds the scaled corners half away from zero.
    let r = |v: T| (v * spatial_scale).round().to_i64().unwrap_or(0);
    let (x1, y1, x2, y2) = (r(roi[0]), r(roi[1]), r(roi[2]), r(roi[3]));
    let roi_w = (x2 - x1 + 1).max(1) as f64;
    let roi_h = (y2 - y1 + 1).max(1) as f64;
    let bin_h = roi_h / ph as f64;
    let bin_w = roi_w / pw as f64;
    let clip = |v: i64, hi: usize| v.clamp(0, hi as i64) as usize;
    for oy in 0..ph {
        let hs = clip((oy as f64 * bin_h).floor() as i64 + y1, h);
        let he = clip(((oy + 1) as f64 * bin_h).ceil() as i64 + y1, h);
        for ox in 0..pw {
            let ws = clip((ox as f64 * bin_w).floor() as i64 + x1, w);
            let we = clip(((ox + 1) as f64 * bin_w).ceil() as i64 + x1, w);
            for ci in 0..ch {
                let data = &img[ci * h * w..][..h * w];
                let v = if he <= hs || we <= ws {
                    T::zero()
                } else {
                    let mut m = T::neg_infinity();
                    for yy in hs..he {
                        for &v in &data[yy * w + ws..yy * w + we] {
                            if v > m {
                                m = v;
                            }
                        }
                    }
                    m
                };
                out[(ci * ph + oy) * pw + ox] = v;
            }
        }
    }
}
