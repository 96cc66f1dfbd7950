use proptest::prelude::*;
use std::vec;
use std::vec::Vec;

use super::util::{assert_close, dim, values};
use crate::fast::{Cpu, reduce_middle};
use crate::reference::reduce::{Reduction, ref_reduce_float};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn reduce_middle_matches_reference(
        outer in dim(9),
        n in 1usize..=40,
        inner in prop::sample::select(vec![1usize, 3, 8, 16, 24, 5]),
        mean in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let x = values(seed, outer * n * inner);
        let kind = if mean { Reduction::Mean } else { Reduction::Sum };
        let mut want = vec![0.0f32; outer * inner];
        ref_reduce_float::<f32, f32>(kind, &x, &[outer, n, inner], &[false, true, false], &mut want, &mut []);
        let scale: Vec<f32> = vec![n as f32; outer * inner];
        let mut first: Option<Vec<u32>> = None;
        for cpu in Cpu::available() {
            let mut y = vec![f32::NAN; outer * inner];
            reduce_middle(cpu, mean, &x, [outer, n, inner], &mut y);
            assert_close("reduce_middle", &y, &want, &scale, 1e-6);
            // Same order of additions on every ISA: the same bits.
            let bits: Vec<u32> = y.iter().map(|v| v.to_bits()).collect();
            match &first {
                Some(f) => prop_assert_eq!(f, &bits),
                None => first = Some(bits),
            }
        }
    }
}
