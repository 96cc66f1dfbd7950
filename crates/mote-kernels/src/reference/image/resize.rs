//! Resize: source coordinates, nearest rounding, filter taps and the per-axis passes.

use num_traits::Float;

/// Resize's `coordinate_transformation_mode` (with the ROI of `tf_crop_and_resize`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Coord {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfHalfPixelForNn,
    TfCropAndResize { start: f64, end: f64 },
}

/// One resized axis: input and output lengths and the scale (`out / in` when given as sizes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Axis {
    pub in_len: usize,
    pub out_len: usize,
    pub scale: f64,
}

/// The source coordinate of output index `x`, and whether it falls outside the input
/// (`tf_crop_and_resize` only: such outputs take the extrapolation value).
///
/// The arithmetic is f32, as in onnxruntime, so that exact ties of nearest rounding (for
/// example `1 / 0.4f`) resolve the same way; the formulas are the ONNX reference's, which use
/// the fractional output width `scale * in` for `align_corners` and `tf_crop_and_resize`.
pub fn source_coord(c: Coord, ax: Axis, x: usize) -> (f64, bool) {
    let x = x as f32;
    let in_len = ax.in_len as f32;
    let s = ax.scale as f32;
    let out_w = (ax.scale * ax.in_len as f64) as f32;
    let v = match c {
        Coord::HalfPixel => (x + 0.5) / s - 0.5,
        Coord::HalfPixelSymmetric => {
            let adjustment = ax.out_len as f32 / out_w;
            let offset = in_len / 2.0 * (1.0 - adjustment);
            offset + (x + 0.5) / s - 0.5
        }
        Coord::PytorchHalfPixel => {
            if out_w == 1.0 {
                -0.5
            } else {
                (x + 0.5) / s - 0.5
            }
        }
        Coord::AlignCorners => {
            if out_w == 1.0 {
                0.0
            } else {
                x * (in_len - 1.0) / (out_w - 1.0)
            }
        }
        Coord::Asymmetric => x / s,
        Coord::TfHalfPixelForNn => (x + 0.5) / s,
        Coord::TfCropAndResize { start, end } => {
            let (start, end) = (start as f32, end as f32);
            let v = if out_w == 1.0 {
                (end - start) * (in_len - 1.0) / 2.0
            } else {
                x * (end - start) * (in_len - 1.0) / (out_w - 1.0)
            } + start * (in_len - 1.0);
            return (v as f64, v < 0.0 || v > in_len - 1.0);
        }
    };
    (v as f64, false)
}

/// Resize's `nearest_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nearest {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
    /// Resize-10/Upsample: truncate when upsampling, ceil when downsampling.
    Legacy,
}

fn clamp_index(p: f64, len: usize) -> usize {
    if p.is_nan() || p <= 0.0 || len == 0 {
        0
    } else if p >= (len - 1) as f64 {
        len - 1
    } else {
        p as usize
    }
}

/// The input index nearest to source coordinate `x`, clamped to the axis.
pub fn nearest_index(mode: Nearest, x: f64, ax: Axis) -> usize {
    let f = x.floor();
    let r = x - f;
    let i = if r == 0.0 {
        f
    } else {
        match mode {
            Nearest::RoundPreferFloor => {
                if r <= 0.5 {
                    f
                } else {
                    f + 1.0
                }
            }
            Nearest::RoundPreferCeil => {
                if r < 0.5 {
                    f
                } else {
                    f + 1.0
                }
            }
            Nearest::Floor => f,
            Nearest::Ceil => f + 1.0,
            Nearest::Legacy => {
                if ax.scale < 1.0 {
                    f + 1.0
                } else {
                    f
                }
            }
        }
    };
    clamp_index(i, ax.in_len)
}

/// An interpolation filter for linear and cubic Resize.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Filter {
    Linear,
    /// Keys cubic convolution with coefficient `a` (`cubic_coeff_a`).
    Cubic {
        a: f64,
    },
}

impl Filter {
    fn kernel(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Linear => (1.0 - x).max(0.0),
            Filter::Cubic { a } => {
                if x <= 1.0 {
                    ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
                } else {
                    0.0
                }
            }
        }
    }

    /// Filter support radius in input pixels at scale 1.
    fn radius(self) -> f64 {
        match self {
            Filter::Linear => 1.0,
            Filter::Cubic { .. } => 2.0,
        }
    }
}

/// How to weight the taps of a linear or cubic Resize axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Taps {
    pub filter: Filter,
    /// Stretch the filter by `1 / scale` when downsampling (and normalize the weights).
    pub antialias: bool,
    /// Zero the weights of taps outside the input and renormalize.
    pub exclude_outside: bool,
}

impl Taps {
    fn stretch(&self, ax: Axis) -> f64 {
        if self.antialias { ax.scale.min(1.0) } else { 1.0 }
    }

    /// Taps per output index on axis `ax` (2 for linear, 4 for cubic, more when antialiasing a
    /// downscale).
    pub fn width(&self, ax: Axis) -> usize {
        let s = self.stretch(ax);
        let start = (-self.filter.radius() / s).floor() + 1.0;
        let w = 2.0 - 2.0 * start;
        if w.is_finite() && w >= 2.0 && w < (1u64 << 32) as f64 { w as usize } else { 2 }
    }

    /// Fills the input indices (edge-clamped) and weights of the taps for source coordinate `x`.
    /// `idx` and `w` have [`Taps::width`] entries.
    pub fn fill(&self, x: f64, ax: Axis, idx: &mut [usize], w: &mut [f64]) {
        let n = idx.len();
        let s = self.stretch(ax);
        let f = x.floor();
        // An integral coordinate is treated as ratio 1 from the pixel on its left.
        let (base, r) = if x == f { (f - 1.0, 1.0) } else { (f, x - f) };
        let first = 1.0 - (n / 2) as f64;
        let mut sum = 0.0;
        for k in 0..n {
            let rel = first + k as f64;
            let pos = base + rel;
            let wk = self.filter.kernel(s * (rel - r));
            w[k] = wk;
            sum += wk;
            idx[k] = clamp_index(pos, ax.in_len);
        }
        if self.antialias && sum != 0.0 {
            for v in w.iter_mut() {
                *v /= sum;
            }
        }
        if self.exclude_outside {
            let mut sum = 0.0;
            for k in 0..n {
                let pos = base + first + k as f64;
                if pos < 0.0 || pos >= ax.in_len as f64 {
                    w[k] = 0.0;
                }
                sum += w[k];
            }
            if sum != 0.0 {
                for v in w.iter_mut() {
                    *v /= sum;
                }
            }
        }
    }
}

/// One interpolation pass along an axis of a tensor viewed as `[outer, in_len, inner]`:
/// `dst[o, j, i] = sum_k w[j, k] * src[o, idx[j, k], i]`, or `fill` where `outside[j]`
/// (`outside` may be empty). `dst` is `[outer, out_len, inner]`.
pub fn resize_axis<T: Float>(
    src: &[T],
    dims: [usize; 3],
    dst: &mut [T],
    width: usize,
    idx: &[usize],
    w: &[T],
    outside: &[bool],
    fill: T,
) {
    let [outer, in_len, inner] = dims;
    let out_len = idx.len() / width.max(1);
    for o in 0..outer {
        let s = &src[o * in_len * inner..(o + 1) * in_len * inner];
        let d = &mut dst[o * out_len * inner..(o + 1) * out_len * inner];
        for j in 0..out_len {
            let row = &mut d[j * inner..(j + 1) * inner];
            if outside.get(j).copied().unwrap_or(false) {
                row.fill(fill);
                continue;
            }
            row.fill(T::zero());
            for k in 0..width {
                let wk = w[j * width + k];
                let srow = &s[idx[j * width + k] * inner..][..inner];
                for (r, &v) in row.iter_mut().zip(srow) {
                    *r = *r + wk * v;
                }
            }
        }
    }
}

/// A nearest-neighbour pass along an axis of a tensor viewed as `[outer, in_len, inner]`:
/// `dst[o, j, i] = src[o, idx[j], i]`, or `fill` where `outside[j]` (may be empty).
pub fn gather_axis<T: Copy>(src: &[T], dims: [usize; 3], dst: &mut [T], idx: &[usize], outside: &[bool], fill: T) {
    let [outer, in_len, inner] = dims;
    let out_len = idx.len();
    for o in 0..outer {
        let s = &src[o * in_len * inner..(o + 1) * in_len * inner];
        let d = &mut dst[o * out_len * inner..(o + 1) * out_len * inner];
        for (j, &i) in idx.iter().enumerate() {
            let row = &mut d[j * inner..(j + 1) * inner];
            if outside.get(j).copied().unwrap_or(false) {
                row.fill(fill);
            } else {
                row.copy_from_slice(&s[i * inner..(i + 1) * inner]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AX: Axis = Axis { in_len: 4, out_len: 8, scale: 2.0 };

    #[test]
    fn coordinates() {
        assert_eq!(source_coord(Coord::HalfPixel, AX, 0), (-0.25, false));
        assert_eq!(source_coord(Coord::Asymmetric, AX, 3), (1.5, false));
        assert_eq!(source_coord(Coord::AlignCorners, AX, 7), (3.0 * 7.0 / 7.0, false));
        let crop = Coord::TfCropAndResize { start: 0.5, end: 1.5 };
        assert!(source_coord(crop, AX, 7).1);
        assert!(!source_coord(crop, AX, 0).1);
    }

    #[test]
    fn coordinates_round_in_f32_like_onnxruntime() {
        // 1 / 0.4f is 2.4999999627 in f64 but exactly 2.5 in f32: a tie for nearest rounding.
        let ax = Axis { in_len: 7, out_len: 2, scale: 0.4f32 as f64 };
        let (x, _) = source_coord(Coord::Asymmetric, ax, 1);
        assert_eq!(x, 2.5);
        assert_eq!(nearest_index(Nearest::RoundPreferCeil, x, ax), 3);
    }

    #[test]
    fn nearest_rounding_modes() {
        assert_eq!(nearest_index(Nearest::RoundPreferFloor, 1.5, AX), 1);
        assert_eq!(nearest_index(Nearest::RoundPreferCeil, 1.5, AX), 2);
        assert_eq!(nearest_index(Nearest::Floor, 1.9, AX), 1);
        assert_eq!(nearest_index(Nearest::Ceil, 1.1, AX), 2);
        assert_eq!(nearest_index(Nearest::Ceil, 3.5, AX), 3);
        assert_eq!(nearest_index(Nearest::RoundPreferFloor, -0.7, AX), 0);
        let down = Axis { in_len: 4, out_len: 2, scale: 0.5 };
        assert_eq!(nearest_index(Nearest::Legacy, 0.5, down), 1);
        assert_eq!(nearest_index(Nearest::Legacy, 0.5, AX), 0);
    }

    #[test]
    fn linear_and_cubic_taps() {
        let t = Taps { filter: Filter::Linear, antialias: false, exclude_outside: false };
        let (mut i, mut w) = ([0; 2], [0.0; 2]);
        t.fill(1.25, AX, &mut i, &mut w);
        assert_eq!(i, [1, 2]);
        assert_eq!(w, [0.75, 0.25]);
        // Integral coordinates select exactly that pixel.
        t.fill(2.0, AX, &mut i, &mut w);
        assert_eq!((i[1], w[1]), (2, 1.0));
        assert_eq!(w[0], 0.0);
        let cubic = Taps { filter: Filter::Cubic { a: -0.75 }, antialias: false, exclude_outside: true };
        let (mut i, mut w) = ([0; 4], [0.0; 4]);
        cubic.fill(-0.25, AX, &mut i, &mut w);
        assert_eq!(i, [0, 0, 0, 1]);
        assert_eq!(w[0], 0.0);
        assert_eq!(w[1], 0.0);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn antialias_widens_downscale() {
        let t = Taps { filter: Filter::Linear, antialias: true, exclude_outside: false };
        let down = Axis { in_len: 8, out_len: 4, scale: 0.5 };
        assert_eq!(t.width(down), 4);
        assert_eq!(t.width(AX), 2);
        let (mut i, mut w) = ([0; 4], [0.0; 4]);
        t.fill(1.5, down, &mut i, &mut w);
        assert_eq!(i, [0, 1, 2, 3]);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(w[1], w[2]);
    }

    #[test]
    fn resize_axis_interpolates_rows() {
        // [outer=1, in=2, inner=2] -> 3 rows: row1 is the mean of the two inputs.
        let src = [0.0f32, 10.0, 2.0, 20.0];
        let mut dst = [0.0f32; 6];
        let idx = [0, 1, 0, 1, 0, 1];
        let w = [1.0, 0.0, 0.5, 0.5, 0.0, 1.0];
        resize_axis(&src, [1, 2, 2], &mut dst, 2, &idx, &w, &[false, false, true], -1.0);
        assert_eq!(dst, [0.0, 10.0, 1.0, 15.0, -1.0, -1.0]);
    }
}
