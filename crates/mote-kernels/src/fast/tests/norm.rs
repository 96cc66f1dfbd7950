use proptest::prelude::*;
use std::vec;
use std::vec::Vec;

use super::util::{assert_close, dim, values};
use crate::fast::{Cpu, layer_norm, rms_norm};
use crate::reference::nn::norm::{affine_rows, rms_rows, standardize_rows};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn layer_norm_matches_reference(
        rows in 0usize..=4,
        cols in dim(70),
        eps in prop::sample::select(vec![1e-5f32, 0.1]),
        with_bias in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let x = values(seed, rows * cols);
        let scale = values(seed ^ 1, cols);
        let bias = values(seed ^ 2, cols);
        let b = with_bias.then_some(&bias[..]);
        let (mut want, mut wm, mut wi) = (vec![0.0; rows * cols], vec![0.0; rows], vec![0.0; rows]);
        standardize_rows(cols, eps, &x, &mut want, Some(&mut wm), Some(&mut wi));
        affine_rows(cols, &scale, b, &mut want);
        // Terms are bounded by |x - mean| * inv_std * |scale| + |bias|, with |x| <= 1.
        let scale_of: Vec<f32> = (0..rows * cols)
            .map(|i| 2.0 * wi[i / cols.max(1)] * scale[i % cols.max(1)].abs() + 1.0)
            .collect();
        for cpu in Cpu::available() {
            let (mut y, mut m, mut inv) = (vec![f32::NAN; rows * cols], vec![f32::NAN; rows], vec![f32::NAN; rows]);
            layer_norm(cpu, cols, eps, &x, &scale, b, &mut y, &mut m, &mut inv);
            if cols > 0 {
                assert_close("layer_norm y", &y, &want, &scale_of, 1e-5);
                assert_close("layer_norm mean", &m, &wm, &vec![1.0; rows], 1e-5);
                assert_close("layer_norm inv_std", &inv, &wi, &wi, 1e-4);
            }
        }
    }

    #[test]
    fn rms_norm_matches_reference(
        rows in 0usize..=4,
        cols in dim(70),
        seed in any::<u64>(),
    ) {
        let x = values(seed, rows * cols);
        let scale = values(seed ^ 1, cols);
        let mut want = vec![0.0; rows * cols];
        rms_rows(cols, 1e-5, &x, &mut want);
        affine_rows(cols, &scale, None, &mut want);
        let scale_of: Vec<f32> = want.iter().map(|v| v.abs() + 1e-3).collect();
        for cpu in Cpu::available() {
            let mut y = vec![f32::NAN; rows * cols];
            rms_norm(cpu, cols, 1e-5, &x, &scale, &mut y);
            assert_close("rms_norm", &y, &want, &scale_of, 1e-5);
        }
    }
}
