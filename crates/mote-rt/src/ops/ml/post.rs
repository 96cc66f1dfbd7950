//! Score post-transforms shared by the classic-ML steps (codes as in `docs/FORMAT.md`:
//! 0 none, 1 softmax, 2 logistic, 3 softmax-zero, 4 probit), in f64.

use num_traits::Float;

use crate::error::StepFault;

/// A post-transform of a row of scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Post {
    None = 0,
    Softmax = 1,
    Logistic = 2,
    SoftmaxZero = 3,
    Probit = 4,
}

impl Post {
    /// The transform with attribute code `w`.
    pub fn from_word(w: u32) -> Result<Post, StepFault> {
        Ok(match w {
            0 => Post::None,
            1 => Post::Softmax,
            2 => Post::Logistic,
            3 => Post::SoftmaxZero,
            4 => Post::Probit,
            _ => return Err(StepFault::Attrs),
        })
    }

    /// Applies the transform to `row` in place.
    pub fn apply(self, row: &mut [f64]) {
        match self {
            Post::None => {}
            Post::Logistic => row.iter_mut().for_each(|v| *v = logistic(*v)),
            Post::Probit => row.iter_mut().for_each(|v| *v = core::f64::consts::SQRT_2 * erf_inv(*v * 2.0 - 1.0)),
            Post::Softmax => {
                let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v));
                row.iter_mut().for_each(|v| *v = Float::exp(*v - m));
                let s: f64 = row.iter().sum();
                row.iter_mut().for_each(|v| *v /= s);
            }
            Post::SoftmaxZero => {
                // Like softmax, but exact zeros stay zero (scaled by e^-max instead of exp'd).
                let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v));
                let e = Float::exp(-m);
                let mut s = 0.0;
                for v in row.iter_mut() {
                    *v = if v.abs() > 1e-7 { Float::exp(*v - m) } else { *v * e };
                    s += *v;
                }
                if s == 0.0 {
                    row.iter_mut().for_each(|v| *v = 0.5);
                } else {
                    row.iter_mut().for_each(|v| *v /= s);
                }
            }
        }
    }
}

fn logistic(x: f64) -> f64 {
    let v = 1.0 / (1.0 + Float::exp(-x.abs()));
    if x < 0.0 { 1.0 - v } else { v }
}

/// The approximate inverse error function onnxruntime and the ONNX reference use.
fn erf_inv(x: f64) -> f64 {
    let sgn = if x < 0.0 { -1.0 } else { 1.0 };
    let x = (1.0 - x) * (1.0 + x);
    if x == 0.0 {
        return 0.0;
    }
    let log = Float::ln(x);
    let v = 2.0 / (core::f64::consts::PI * 0.147) + 0.5 * log;
    let v2 = 1.0 / 0.147 * log;
    sgn * Float::sqrt(Float::sqrt(v * v - v2) - v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms() {
        let mut r = [1.0, 2.0, 3.0];
        Post::Softmax.apply(&mut r);
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-12 && r[2] > r[1]);
        let mut z = [0.0, 0.0];
        Post::SoftmaxZero.apply(&mut z);
        assert_eq!(z, [0.5, 0.5]);
        let mut l = [0.0, -50.0];
        Post::Logistic.apply(&mut l);
        assert_eq!(l[0], 0.5);
        assert!(l[1] >= 0.0 && l[1] < 1e-20);
        let mut p = [0.5, 0.9];
        Post::Probit.apply(&mut p);
        assert_eq!(p[0], 0.0);
        assert!((p[1] - 1.2816).abs() < 1e-2, "{}", p[1]);
        assert!(Post::from_word(5).is_err());
    }
}
