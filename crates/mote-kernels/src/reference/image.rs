//! Image kernels: Resize (separable, one axis per pass), GridSample (N-D), AffineGrid, RoiAlign
//! and MaxRoiPool.
//!
//! Resize is split into a host-side plan (the source coordinate and filter taps of every output
//! index of one axis: [`source_coord`], [`nearest_index`], [`filter_taps`]) and passes that
//! apply the taps along one axis ([`resize_axis`], [`gather_axis`]). The semantics follow the
//! ONNX reference implementation: coordinates in f64, edge-clamped neighbours, taps chosen so
//! that an integral source coordinate prefers the pixel on its left.

use mote_core::shape::MAX_RANK;
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

/// GridSample interpolation mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridMode {
    Nearest,
    Linear,
    Cubic,
}

/// GridSample padding mode: what out-of-range samples read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridPadding {
    Zeros,
    Border,
    Reflection,
}

fn c<T: Float>(x: f64) -> T {
    T::from(x).expect("constant fits every float type")
}

/// Round half to even (`np.rint`).
fn rint<T: Float>(x: T) -> T {
    let r = x.round();
    if (x - x.trunc()).abs() == c(0.5) { c::<T>(2.0) * (x / c(2.0)).round() } else { r }
}

/// Reflects `x` into `[lo, hi]` by bouncing off the borders.
fn reflect<T: Float>(x: T, lo: T, hi: T) -> T {
    let range = hi - lo;
    if range <= T::zero() {
        return lo;
    }
    if x < lo {
        let dx = lo - x;
        let n = (dx / range).trunc();
        let r = dx - n * range;
        if (n % c(2.0)) == T::zero() { lo + r } else { hi - r }
    } else if x > hi {
        let dx = x - hi;
        let n = (dx / range).trunc();
        let r = dx - n * range;
        if (n % c(2.0)) == T::zero() { hi - r } else { lo + r }
    } else {
        x
    }
}

/// GridSample's options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridSample {
    pub mode: GridMode,
    pub padding: GridPadding,
    pub align_corners: bool,
}

impl GridSample {
    fn bounds<T: Float>(&self, len: usize) -> (T, T) {
        let l = c::<T>(len as f64);
        if self.align_corners { (T::zero(), l - T::one()) } else { (c(-0.5), l - c(0.5)) }
    }

    /// The index read for integer position `i` on an axis of `len`, or `None` for a zero.
    fn pixel<T: Float>(&self, i: T, len: usize) -> Option<usize> {
        let last = c::<T>(len as f64 - 1.0);
        match self.padding {
            GridPadding::Zeros => (i >= T::zero() && i <= last).then(|| i.to_usize().unwrap_or(0)),
            GridPadding::Border => Some(i.max(T::zero()).min(last).to_usize().unwrap_or(0)),
            GridPadding::Reflection => {
                let (lo, hi) = self.bounds::<T>(len);
                let r = reflect(i, lo, hi).trunc();
                Some(r.max(T::zero()).min(last).to_usize().unwrap_or(0))
            }
        }
    }

    /// Taps along one spatial axis for normalized coordinate `g`: up to 4 `(index, weight)`
    /// pairs, `None` indices reading zero. Returns the tap count.
    fn axis_taps<T: Float>(&self, g: T, len: usize, idx: &mut [Option<usize>; 4], w: &mut [T; 4]) -> usize {
        let l = c::<T>(len as f64);
        let two = c::<T>(2.0);
        let mut x = if self.align_corners {
            (g + T::one()) / two * (l - T::one())
        } else {
            ((g + T::one()) * l - T::one()) / two
        };
        if self.mode == GridMode::Nearest {
            x = rint(x);
        }
        let (lo, hi) = self.bounds::<T>(len);
        // Cubic taps apply the padding one by one (as PyTorch and onnxruntime do); the other
        // modes first move an outside coordinate back into the image.
        if (x < lo || x > hi) && self.mode != GridMode::Cubic {
            match self.padding {
                GridPadding::Border => x = x.max(T::zero()).min(l - T::one()),
                GridPadding::Reflection => x = reflect(x, lo, hi),
                GridPadding::Zeros => {}
            }
        }
        if x.is_nan() {
            idx[0] = None;
            w[0] = T::zero();
            return 1;
        }
        match self.mode {
            GridMode::Nearest => {
                idx[0] = self.pixel(x.trunc(), len);
                w[0] = T::one();
                1
            }
            GridMode::Linear => {
                let x0 = x.floor();
                let t = x - x0;
                idx[0] = self.pixel(x0, len);
                idx[1] = self.pixel(x0 + T::one(), len);
                w[0] = T::one() - t;
                w[1] = t;
                2
            }
            GridMode::Cubic => {
                let x0 = x.floor();
                let t = x - x0;
                let a = c::<T>(-0.75);
                let cubic = |x: T| {
                    let x = x.abs();
                    if x <= T::one() {
                        ((a + two) * x - (a + c(3.0))) * x * x + T::one()
                    } else if x < two {
                        ((a * x - c::<T>(5.0) * a) * x + c::<T>(8.0) * a) * x - c::<T>(4.0) * a
                    } else {
                        T::zero()
                    }
                };
                for k in 0..4 {
                    let off = c::<T>(k as f64 - 1.0);
                    idx[k] = self.pixel(x0 + off, len);
                    w[k] = cubic(t - off);
                }
                4
            }
        }
    }

    /// Samples `x` (`[N, C, D1..Dk]`, dims in `x_dims`) at `grid` (`[N, O1..Ok, k]`, spatial
    /// output dims in `out_spatial`) into `out` (`[N, C, O1..Ok]`). `k <= MAX_RANK - 2`.
    pub fn run<T: Float>(&self, x: &[T], x_dims: &[usize], grid: &[T], out_spatial: &[usize], out: &mut [T]) {
        let (n, ch) = (x_dims[0], x_dims[1]);
        let spatial = &x_dims[2..];
        let k = spatial.len();
        let in_plane: usize = spatial.iter().product();
        let out_plane: usize = out_spatial.iter().product();
        let mut strides = [0usize; MAX_RANK];
        let mut acc = 1;
        for d in (0..k).rev() {
            strides[d] = acc;
            acc *= spatial[d];
        }
        let mut idx = [[None; 4]; MAX_RANK];
        let mut w = [[T::zero(); 4]; MAX_RANK];
        let mut cnt = [0usize; MAX_RANK];
        for b in 0..n {
            for p in 0..out_plane {
                let g = &grid[(b * out_plane + p) * k..][..k];
                for d in 0..k {
                    // The grid's last axis lists coordinates innermost-first (x, y, z...).
                    cnt[d] = self.axis_taps(g[k - 1 - d], spatial[d], &mut idx[d], &mut w[d]);
                }
                for ci in 0..ch {
                    let plane = &x[(b * ch + ci) * in_plane..][..in_plane];
                    out[(b * ch + ci) * out_plane + p] = sample(plane, k, &strides, &idx, &w, &cnt);
                }
            }
        }
    }
}

/// Sum over the tensor product of per-axis taps (a `None` index on any axis contributes 0).
fn sample<T: Float>(
    plane: &[T],
    k: usize,
    strides: &[usize; MAX_RANK],
    idx: &[[Option<usize>; 4]; MAX_RANK],
    w: &[[T; 4]; MAX_RANK],
    cnt: &[usize; MAX_RANK],
) -> T {
    let mut pos = [0usize; MAX_RANK];
    let mut total = T::zero();
    loop {
        let mut off = 0;
        let mut weight = T::one();
        let mut zero = false;
        for d in 0..k {
            match idx[d][pos[d]] {
                Some(i) => off += i * strides[d],
                None => zero = true,
            }
            weight = weight * w[d][pos[d]];
        }
        // Out-of-range taps read 0, which still propagates a NaN weight as the reference does.
        let v = if zero { T::zero() } else { plane[off] };
        total = total + weight * v;
        let mut d = k;
        loop {
            if d == 0 {
                return total;
            }
            d -= 1;
            pos[d] += 1;
            if pos[d] < cnt[d] {
                break;
            }
            pos[d] = 0;
        }
    }
}

/// AffineGrid: `out[n, s.., :] = theta[n] @ [x, y, (z,) 1]` over the normalized base grid of
/// `spatial` (`[H, W]` or `[D, H, W]`); theta is `[N, k, k + 1]`, out `[N, spatial.., k]`.
pub fn affine_grid<T: Float>(theta: &[T], n: usize, spatial: &[usize], align_corners: bool, out: &mut [T]) {
    let k = spatial.len();
    let plane: usize = spatial.iter().product();
    let base = |i: usize, len: usize| -> f64 {
        if align_corners {
            if len <= 1 { -1.0 } else { -1.0 + i as f64 * (2.0 / (len - 1) as f64) }
        } else {
            let step = 2.0 / len as f64;
            -1.0 + step / 2.0 + i as f64 * step
        }
    };
    let mut coord = [0.0f64; MAX_RANK];
    for b in 0..n {
        let th = &theta[b * k * (k + 1)..][..k * (k + 1)];
        for p in 0..plane {
            // Homogeneous point: innermost spatial axis first, then 1.
            let mut rem = p;
            for d in (0..k).rev() {
                coord[k - 1 - d] = base(rem % spatial[d], spatial[d]);
                rem /= spatial[d];
            }
            coord[k] = 1.0;
            for r in 0..k {
                let row = &th[r * (k + 1)..][..k + 1];
                let v: f64 = row.iter().zip(&coord[..=k]).map(|(t, x)| t.to_f64().unwrap_or(f64::NAN) * x).sum();
                out[(b * plane + p) * k + r] = T::from(v).unwrap_or(T::nan());
            }
        }
    }
}

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
        let count = c::<T>((gh * gw).max(1) as f64);
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

    #[test]
    fn grid_sample_linear_zeros() {
        // 1x1x1x2 image [1, 3]; sample x=-1 (pixel -0.5 -> half of pixel 0) and x=0 (mean).
        let gs = GridSample { mode: GridMode::Linear, padding: GridPadding::Zeros, align_corners: false };
        let grid = [-1.0f32, 0.0, 0.0, 0.0];
        let mut out = [0.0f32; 2];
        gs.run(&[1.0, 3.0], &[1, 1, 1, 2], &grid, &[1, 2], &mut out);
        assert_eq!(out, [0.5, 2.0]);
        let border = GridSample { padding: GridPadding::Border, ..gs };
        border.run(&[1.0, 3.0], &[1, 1, 1, 2], &grid, &[1, 2], &mut out);
        assert_eq!(out, [1.0, 2.0]);
    }

    #[test]
    fn reflection_bounces() {
        assert_eq!(reflect(-1.0f32, -0.5, 3.5), 0.0);
        assert_eq!(reflect(4.0f32, -0.5, 3.5), 3.0);
        assert_eq!(reflect(9.0f32, -0.5, 3.5), -0.5 + 1.5);
    }

    #[test]
    fn affine_identity() {
        let theta = [1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0];
        let mut out = [0.0f32; 8];
        affine_grid(&theta, 1, &[2, 2], true, &mut out);
        assert_eq!(out, [-1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0]);
    }
}
