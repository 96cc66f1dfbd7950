//! 2-D pooling, NCHW: max and average over windows (vectorized over output positions with the
//! phase-plane scheme of `window` module), and global average pooling.

use super::activation::Activation;
use super::conv::GeometryError;
use super::cpu::Cpu;
use super::simd::{Simd, SimdOp, dispatch};
use super::window::{Reduce, Window};

/// Geometry of a 2-D pooling over `planes` (`N * C`) planes. Sizes are `[height, width]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pool2d {
    /// `N * C`: planes pooled independently.
    pub planes: usize,
    pub input: [usize; 2],
    pub output: [usize; 2],
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
    /// Padding before the first row and column.
    pub pads: [usize; 2],
    /// Padding after the last row and column (only average pooling with `count_include_pad`
    /// reads it: taps inside it count in the divisor).
    pub pads_end: [usize; 2],
}

/// The reduction of a [`Pool2d`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// Maximum of the taps inside the input (`-inf` for a window with none).
    Max,
    /// Mean of the taps: divided by the taps inside the input, or with `count_include_pad` by
    /// the taps inside the padded extent (NaN for a window with none).
    Avg { count_include_pad: bool },
}

impl Pool2d {
    /// Checks that the geometry is consistent; the kernels assume it (and otherwise may panic).
    pub fn validate(&self) -> Result<(), GeometryError> {
        if [self.kernel, self.strides, self.dilations].iter().flatten().any(|&v| v == 0) {
            return Err(GeometryError::ZeroWindow);
        }
        let limit = isize::MAX as usize / 4;
        let fits = |v: &[usize]| v.iter().try_fold(1usize, |a, &b| a.checked_mul(b)).is_some_and(|p| p <= limit);
        let ok = fits(&[self.planes, self.input[0], self.input[1]])
            && fits(&[self.planes, self.output[0], self.output[1]])
            && fits(&[self.output[0] + self.kernel[0], self.strides[0] + self.dilations[0], 4])
            && fits(&[self.output[1] + self.kernel[1], self.strides[1] + self.dilations[1], 4])
            && fits(&[self.output[0] * self.strides[0] + self.kernel[0] * self.dilations[0] + 1, 2])
            && fits(&[
                self.output[0] * self.strides[0] + self.kernel[0] * self.dilations[0] + 1,
                self.output[1] * self.strides[1] + self.kernel[1] * self.dilations[1] + 1,
            ]);
        if !ok {
            return Err(GeometryError::TooLarge);
        }
        Ok(())
    }

    fn window(&self) -> Window {
        Window {
            input: self.input,
            output: self.output,
            kernel: self.kernel,
            strides: self.strides,
            dilations: self.dilations,
            pads: self.pads,
        }
    }

    /// Taps of output `o` on axis `a` that count in the average's divisor.
    fn count(&self, a: usize, o: usize, include_pad: bool) -> usize {
        let limit =
            if include_pad { self.input[a] + self.pads[a] + self.pads_end[a] } else { self.input[a] + self.pads[a] };
        (0..self.kernel[a])
            .filter(|&k| {
                let p = o * self.strides[a] + k * self.dilations[a];
                p < limit && (include_pad || p >= self.pads[a])
            })
            .count()
    }
}

/// Scratch floats [`pool2d`] needs (about one padded input plane).
/// `g` must be valid ([`Pool2d::validate`]).
pub fn pool2d_scratch_len(g: &Pool2d) -> usize {
    g.window().scratch_len()
}

/// `y = pool(x)`: `x` is `[planes, H, W]`, `y` is `[planes, OH, OW]` (overwritten).
///
/// Panics (a caller bug) if `g` is invalid or a slice is shorter than its shape.
pub fn pool2d(cpu: Cpu, kind: PoolKind, g: &Pool2d, x: &[f32], y: &mut [f32], scratch: &mut [f32]) {
    if let Err(e) = g.validate() {
        panic!("pool2d: invalid geometry: {e}");
    }
    let (ip, op) = (g.input[0] * g.input[1], g.output[0] * g.output[1]);
    assert!(x.len() >= g.planes * ip, "pool2d: x shorter than [planes, H, W]");
    assert!(y.len() >= g.planes * op, "pool2d: y shorter than [planes, OH, OW]");
    assert!(scratch.len() >= pool2d_scratch_len(g), "pool2d: scratch shorter than pool2d_scratch_len");
    if op == 0 {
        return;
    }
    dispatch(cpu, Run { kind, g, x, y, scratch });
}

struct Run<'a> {
    kind: PoolKind,
    g: &'a Pool2d,
    x: &'a [f32],
    y: &'a mut [f32],
    scratch: &'a mut [f32],
}

impl SimdOp for Run<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let g = self.g;
        let win = g.window();
        let plan = win.plan();
        let [oh, ow] = g.output;
        let (ip, op) = (g.input[0] * g.input[1], oh * ow);
        let reduce = if self.kind == PoolKind::Max { Reduce::Max } else { Reduce::Sum };
        for p in 0..g.planes {
            let yp = &mut self.y[p * op..][..op];
            win.run(&plan, s, &self.x[p * ip..][..ip], reduce, Activation::None, yp, self.scratch, p == 0);
            if let PoolKind::Avg { count_include_pad } = self.kind {
                for (oy, yr) in yp.chunks_exact_mut(ow).enumerate() {
                    let rows = g.count(0, oy, count_include_pad);
                    for (ox, v) in yr.iter_mut().enumerate() {
                        let n = rows * g.count(1, ox, count_include_pad);
                        *v = if n == 0 { f32::NAN } else { *v / n as f32 };
                    }
                }
            }
        }
    }
}

/// `y[p] = mean of x[p * plane .. (p + 1) * plane]` for `p < planes` (global average pooling of
/// `[N, C, H, W]` with `planes = N * C`, `plane = H * W`). NaN for empty planes.
///
/// Panics (a caller bug) if a slice is shorter than its shape.
pub fn global_avg_pool(cpu: Cpu, planes: usize, plane: usize, x: &[f32], y: &mut [f32]) {
    let total = planes.checked_mul(plane).expect("global_avg_pool: planes * plane overflows");
    assert!(x.len() >= total, "global_avg_pool: x shorter than planes * plane");
    assert!(y.len() >= planes, "global_avg_pool: y shorter than planes");
    dispatch(cpu, Global { planes, plane, x, y });
}

struct Global<'a> {
    planes: usize,
    plane: usize,
    x: &'a [f32],
    y: &'a mut [f32],
}

impl SimdOp for Global<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        if self.plane == 0 {
            self.y[..self.planes].fill(f32::NAN);
            return;
        }
        let inv = 1.0 / self.plane as f32;
        for (xp, yv) in self.x.chunks_exact(self.plane).zip(&mut self.y[..self.planes]) {
            *yv = super::elementwise::sum(s, xp) * inv;
        }
    }
}
