use proptest::prelude::*;
use std::vec;
use std::vec::Vec;

use super::util::values;
use crate::fast::grid_sample_2d;
use crate::reference::image::{GridMode, GridPadding, GridSample};

const MODES: [GridMode; 3] = [GridMode::Nearest, GridMode::Linear, GridMode::Cubic];
const PADDINGS: [GridPadding; 3] = [GridPadding::Zeros, GridPadding::Border, GridPadding::Reflection];

/// Grid coordinates: mostly inside [-1.6, 1.6] (the image and a margin around it), with
/// exact corners, NaN, infinities and far-away values mixed in.
fn coords(seed: u64, n: usize) -> Vec<f32> {
    let special = [-1.0, 1.0, 0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e9, -7.25];
    values(seed, n)
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if (i * 7 + seed as usize).is_multiple_of(11) {
                special[(i + seed as usize) % special.len()]
            } else {
                v * 1.6
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn grid_sample_2d_is_the_reference_bit_for_bit(
        n in 1usize..3, c in 1usize..5, h in 1usize..7, w in 1usize..7, oh in 1usize..6, ow in 1usize..6,
        mode in 0usize..3, padding in 0usize..3, align_corners: bool, seed: u64,
    ) {
        let gs = GridSample { mode: MODES[mode], padding: PADDINGS[padding], align_corners };
        let x = values(seed, n * c * h * w);
        let grid = coords(seed ^ 0x9e37, n * oh * ow * 2);
        let mut want = vec![0.0f32; n * c * oh * ow];
        gs.run(&x, &[n, c, h, w], &grid, &[oh, ow], &mut want);
        let mut got = vec![f32::NAN; want.len()];
        grid_sample_2d(&gs, &x, [n, c, h, w], &grid, [oh, ow], &mut got);
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            prop_assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "element {}: {} vs {}", i, a, b);
        }
    }
}
