use proptest::prelude::*;
use std::vec;

use super::util::values;
use crate::fast::fft::{dft, fft_pow2};
use crate::reference::signal::{ref_dft, ref_dft_twiddles};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// The FFT (power-of-two lengths) and the dispatching `dft` (any length, any number of
    /// leading bins) against the naive reference DFT computed in f64.
    #[test]
    fn dft_matches_reference(log_n in 0u32..=9, odd in 1usize..=40, pow2 in any::<bool>(), bins_cut in 0usize..=64,
                             inverse in any::<bool>(), seed in any::<u64>()) {
        let n = if pow2 { 1usize << log_n } else { odd };
        let x = values(seed, 2 * n);
        let x64: vec::Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let mut tw64 = vec![0f64; 2 * n];
        ref_dft_twiddles(n, &mut tw64);
        let mut want = vec![0f64; 2 * n];
        ref_dft(&x64, n, inverse, &tw64, &mut want);
        let tw: vec::Vec<f32> = tw64.iter().map(|&v| v as f32).collect();
        // Error bound of an f32 transform of values in [-1, 1].
        let tol = 1e-5 * (n as f32).max(1.0) * if inverse { 1.0 / n as f32 } else { 1.0 };
        let bins = n - bins_cut.min(n - 1);
        let mut buf = x.clone();
        let mut out = vec![f32::NAN; 2 * bins];
        dft(&mut buf, inverse, &tw, &mut out);
        for (i, (&o, &w)) in out.iter().zip(&want).enumerate() {
            prop_assert!((o as f64 - w).abs() <= tol as f64 + 1e-6, "n {n} bin {} got {o} want {w}", i / 2);
        }
        if n.is_power_of_two() {
            let mut full = x.clone();
            fft_pow2(&mut full, inverse, &tw);
            for (&o, &w) in full.iter().zip(&want) {
                prop_assert!((o as f64 - w).abs() <= tol as f64 + 1e-6);
            }
        }
    }
}

#[test]
fn fft_round_trip_restores_the_signal() {
    let n = 16;
    let x = values(7, 2 * n);
    let mut tw64 = vec![0f64; 2 * n];
    ref_dft_twiddles(n, &mut tw64);
    let tw: vec::Vec<f32> = tw64.iter().map(|&v| v as f32).collect();
    let mut buf = x.clone();
    fft_pow2(&mut buf, false, &tw);
    assert!(buf.iter().zip(&x).any(|(a, b)| (a - b).abs() > 1e-3), "the transform changed nothing");
    fft_pow2(&mut buf, true, &tw);
    for (a, b) in buf.iter().zip(&x) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}
