//! Shared helpers for the fast-kernel tests.

use proptest::prelude::*;
use std::vec;
use std::vec::Vec;

/// Asserts `got` is within `rtol * scale + atol` of `want` elementwise, where `scale` is the
/// magnitude bound of each element's terms (passed per element, e.g. sum |a||b| for a dot
/// product) so cancellation does not make the test flaky.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], scale: &[f32], rtol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, ((&g, &w), &s)) in got.iter().zip(want).zip(scale).enumerate() {
        let tol = rtol * s.max(w.abs()) + 1e-6;
        assert!(
            g == w || (g - w).abs() <= tol || (g.is_nan() && w.is_nan()),
            "{what}: element {i}: got {g}, want {w} (tol {tol})"
        );
    }
}

/// Values in [-1, 1] from a seed (deterministic, cheap).
pub fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Sizes biased toward edges: 1, primes, around the vector and tile widths, and zero.
pub fn dim(max: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 1..=max,
        1 => prop::sample::select(vec![0usize, 1, 2, 5, 6, 7, 8, 9, 13, 15, 16, 17, 31, 33]).prop_map(move |v| v.min(max)),
    ]
}

/// The activation in f64, straight from ONNX's definitions (the oracle for fused epilogues).
pub fn act_ref(act: crate::fast::Activation, x: f32) -> f32 {
    use crate::fast::Activation as A;
    let v = x as f64;
    let r = match act {
        A::None => v,
        A::Relu => v.max(0.0),
        A::Clip { lo, hi } => v.max(lo as f64).min(hi as f64),
        A::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        A::HardSigmoid { alpha, beta } => (alpha as f64 * v + beta as f64).clamp(0.0, 1.0),
        A::HardSwish => v * (v / 6.0 + 0.5).clamp(0.0, 1.0),
        A::LeakyRelu { alpha } => {
            if v >= 0.0 {
                v
            } else {
                alpha as f64 * v
            }
        }
        A::Tanh => v.tanh(),
        A::HardSwishAffine { scale, shift } => scale as f64 * v * (v / 6.0 + 0.5).clamp(0.0, 1.0) + shift as f64,
    };
    r as f32
}

/// Every activation, with typical parameters.
pub fn activation() -> impl Strategy<Value = crate::fast::Activation> {
    use crate::fast::Activation as A;
    prop::sample::select(vec![
        A::None,
        A::Relu,
        A::Clip { lo: 0.0, hi: 6.0 },
        A::Clip { lo: -0.5, hi: 0.25 },
        A::Sigmoid,
        A::HardSigmoid { alpha: 0.2, beta: 0.5 },
        A::HardSwish,
        A::LeakyRelu { alpha: 0.1 },
        A::Tanh,
        A::HardSwishAffine { scale: -1.5, shift: 0.25 },
    ])
}
