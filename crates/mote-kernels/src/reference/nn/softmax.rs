//! Softmax, LogSoftmax and Hardmax along one axis of a `[outer, len, inner]` view.

use num_traits::Float;

/// Which normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftmaxKind {
    Softmax,
    LogSoftmax,
    /// 1 at the first maximum, 0 elsewhere.
    Hardmax,
}

/// Applies `kind` along the middle axis of `x` viewed as `[outer, len, inner]`.
pub fn softmax<T: Float>(kind: SoftmaxKind, outer: usize, len: usize, inner: usize, x: &[T], y: &mut [T]) {
    for o in 0..outer {
        for i in 0..inner {
            let base = o * len * inner + i;
            let at = |j: usize| base + j * inner;
            let mut max = T::neg_infinity();
            let mut arg = 0;
            for j in 0..len {
                if x[at(j)] > max || (j == 0 && x[at(j)].is_nan()) {
                    max = x[at(j)];
                    arg = j;
                }
            }
            match kind {
                SoftmaxKind::Hardmax => {
                    for j in 0..len {
                        y[at(j)] = if j == arg { T::one() } else { T::zero() };
                    }
                }
                SoftmaxKind::Softmax => {
                    let mut sum = T::zero();
                    for j in 0..len {
                        let e = (x[at(j)] - max).exp();
                        y[at(j)] = e;
                        sum = sum + e;
                    }
                    for j in 0..len {
                        y[at(j)] = y[at(j)] / sum;
                    }
                }
                SoftmaxKind::LogSoftmax => {
                    let mut sum = T::zero();
                    for j in 0..len {
                        sum = sum + (x[at(j)] - max).exp();
                    }
                    let log_sum = sum.ln();
                    for j in 0..len {
                        y[at(j)] = x[at(j)] - max - log_sum;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_of_large_numbers_is_stable() {
        let x = [1000.0f32, 1001.0, 1002.0];
        let mut y = [0.0; 3];
        softmax(SoftmaxKind::Softmax, 1, 3, 1, &x, &mut y);
        assert!((y[2] - 0.665_240_9).abs() < 1e-6);
        softmax(SoftmaxKind::LogSoftmax, 1, 3, 1, &x, &mut y);
        assert!((y[0] + 2.407_606).abs() < 1e-5);
    }

    #[test]
    fn hardmax_picks_first_max_along_strided_axis() {
        // [1, 3, 2]: axis of length 3 with inner 2.
        let x = [1.0f32, 5.0, 3.0, 5.0, 3.0, 0.0];
        let mut y = [9.0; 6];
        softmax(SoftmaxKind::Hardmax, 1, 3, 2, &x, &mut y);
        assert_eq!(y, [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    }
}
