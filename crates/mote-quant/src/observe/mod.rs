//! Observers: per float tensor, a histogram of its values over the calibration set (collected by
//! running the f32 graph in the reference interpreter), and the methods that choose its int8
//! range from it.

pub mod collect;
pub mod hist;
pub mod methods;

pub use collect::{Observed, observe};
pub use hist::Histogram;
pub use methods::Method;

/// Affine int8 parameters: `real = scale * (q - zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    pub scale: f32,
    pub zero_point: i8,
}

impl QParams {
    /// Asymmetric int8 over `[lo, hi]` (widened to contain 0), as TFLite's activations: 255 steps,
    /// the zero point rounded so that 0 is exact. An empty range gets scale 1.
    pub fn asymmetric(lo: f32, hi: f32) -> QParams {
        let (lo, hi) = (lo.min(0.0) as f64, hi.max(0.0) as f64);
        let scale = (hi - lo) / 255.0;
        if scale.is_nan() || scale <= 1e-30 || !scale.is_finite() {
            return QParams { scale: 1.0, zero_point: 0 };
        }
        let zp = (-128.0 - lo / scale).round().clamp(-128.0, 127.0);
        QParams { scale: scale as f32, zero_point: zp as i8 }
    }

    /// The real range the int8 grid covers.
    pub fn range(&self) -> (f32, f32) {
        (self.scale * (-128.0 - self.zero_point as f32), self.scale * (127.0 - self.zero_point as f32))
    }
}

#[cfg(test)]
mod tests {
    use super::QParams;

    #[test]
    fn asymmetric_params() {
        let q = QParams::asymmetric(0.0, 6.0);
        assert_eq!(q.zero_point, -128);
        assert!((q.scale - 6.0 / 255.0).abs() < 1e-9);
        let q = QParams::asymmetric(-1.0, 1.0);
        assert!(q.zero_point == -1 || q.zero_point == 0, "{q:?}");
        let (lo, hi) = q.range();
        assert!(lo <= -1.0 + q.scale && hi >= 1.0 - q.scale, "{lo} {hi}");
        assert_eq!(QParams::asymmetric(0.0, 0.0), QParams { scale: 1.0, zero_point: 0 });
        // A range that does not contain 0 is widened to it.
        assert_eq!(QParams::asymmetric(2.0, 4.0).zero_point, -128);
    }
}
