//! Neural-network kernels: convolution, pooling, normalization, matrix products, softmax.
//!
//! Spatial kernels work on up to three spatial dims: callers describe 1-D and 2-D problems as
//! 3-D ones with leading axes of size 1 (see [`Spatial`]).

pub mod conv;
pub mod gemm;
pub mod norm;
pub mod pool;
pub mod softmax;

/// Multiply-accumulate element types: floats round as usual, integers wrap.
pub trait Mac: Copy + Default + PartialOrd {
    const ONE: Self;
    /// `acc + a * b`.
    fn mac(acc: Self, a: Self, b: Self) -> Self;
}

macro_rules! mac_float {
    ($($t:ty),*) => {$(
        impl Mac for $t {
            const ONE: Self = 1.0;
            #[inline(always)]
            fn mac(acc: Self, a: Self, b: Self) -> Self {
                acc + a * b
            }
        }
    )*};
}
macro_rules! mac_int {
    ($($t:ty),*) => {$(
        impl Mac for $t {
            const ONE: Self = 1;
            #[inline(always)]
            fn mac(acc: Self, a: Self, b: Self) -> Self {
                acc.wrapping_add(a.wrapping_mul(b))
            }
        }
    )*};
}
mac_float!(f32, f64);
mac_int!(i8, u8, i16, u16, i32, u32, i64, u64);

/// Sizes of a sliding-window problem with three spatial axes (`[D, H, W]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Spatial {
    pub input: [usize; 3],
    pub output: [usize; 3],
    pub kernel: [usize; 3],
    pub strides: [usize; 3],
    pub dilations: [usize; 3],
    /// Padding at the beginning of each axis (negative: the first window starts inside).
    pub pads: [isize; 3],
}

impl Spatial {
    pub fn in_plane(&self) -> usize {
        self.input.iter().product()
    }

    pub fn out_plane(&self) -> usize {
        self.output.iter().product()
    }

    pub fn kernel_size(&self) -> usize {
        self.kernel.iter().product()
    }

    /// Input coordinate of output position `o`, kernel tap `k` on axis `a` (may be outside).
    #[inline]
    pub fn input_pos(&self, a: usize, o: usize, k: usize) -> isize {
        (o * self.strides[a] + k * self.dilations[a]) as isize - self.pads[a]
    }

    /// The output positions `lo..hi` on axis `a` whose input coordinate for tap `k` is inside
    /// the input.
    pub fn valid_outputs(&self, a: usize, k: usize) -> (usize, usize) {
        valid_range(self.output[a], self.input[a], self.strides[a], (k * self.dilations[a]) as isize - self.pads[a])
    }
}

/// Positions `o` in `0..out_len` with `0 <= o * stride + off < in_len`, as `lo..hi`.
pub fn valid_range(out_len: usize, in_len: usize, stride: usize, off: isize) -> (usize, usize) {
    let s = stride as isize;
    let lo = if off < 0 { (-off + s - 1) / s } else { 0 };
    let last = in_len as isize - 1 - off;
    let hi = if last < 0 { 0 } else { (last / s + 1).min(out_len as isize) };
    let lo = lo.min(out_len as isize);
    if hi <= lo { (0, 0) } else { (lo as usize, hi as usize) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_range_clips_both_ends() {
        // in 5, stride 2, off -1: o*2-1 in [0,5) -> o in 1..=2 (o=3 gives 5).
        assert_eq!(valid_range(4, 5, 2, -1), (1, 3));
        assert_eq!(valid_range(4, 5, 1, 0), (0, 4));
        assert_eq!(valid_range(3, 2, 1, 5), (0, 0));
        assert_eq!(valid_range(3, 2, 1, -5), (0, 0));
    }
}
