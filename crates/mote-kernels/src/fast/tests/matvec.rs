use proptest::prelude::*;
use std::vec::Vec;

use super::util::{assert_close, dim, values};
use crate::fast::{Cpu, matvec_add};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn matvec_add_matches_the_f64_sum(rows in dim(37), cols in dim(150), seed in any::<u64>()) {
        let w = values(seed, rows * cols);
        let x = values(seed ^ 1, cols);
        let y0 = values(seed ^ 2, rows);
        let want: Vec<f32> = (0..rows)
            .map(|r| (y0[r] as f64 + (0..cols).map(|c| w[r * cols + c] as f64 * x[c] as f64).sum::<f64>()) as f32)
            .collect();
        let scale: Vec<f32> = (0..rows).map(|r| 1.0 + (0..cols).map(|c| (w[r * cols + c] * x[c]).abs()).sum::<f32>()).collect();
        for cpu in Cpu::available() {
            let mut y = y0.clone();
            matvec_add(cpu, &w, cols, &x, &mut y);
            assert_close("matvec_add", &y, &want, &scale, 2.5e-7 * (cols as f32 + 4.0));
        }
    }
}
