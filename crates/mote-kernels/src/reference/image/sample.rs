//! GridSample (N-D) and AffineGrid.

use mote_core::shape::MAX_RANK;
use num_traits::Float;

use super::c;

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
    pub fn axis_taps<T: Float>(&self, g: T, len: usize, idx: &mut [Option<usize>; 4], w: &mut [T; 4]) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;

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
