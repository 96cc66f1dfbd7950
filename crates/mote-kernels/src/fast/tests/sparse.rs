use proptest::prelude::*;
use std::vec;
use std::vec::Vec;

use super::util::{assert_close, dim, values};
use crate::fast::{Activation, Cpu, Csr, csr_nnz, csr_pack, csr_panels, spmm};

/// `w` with about `zeros` of its values set to 0 (deterministically from `seed`).
fn pruned(seed: u64, n: usize, zeros: f32) -> Vec<f32> {
    let keep = values(seed ^ 7, n);
    values(seed, n).into_iter().zip(keep).map(|(v, k)| if (k + 1.0) / 2.0 < zeros { 0.0 } else { v }).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn spmm_matches_the_f64_dense_product(
        m in dim(20), k in dim(40), p in dim(70), chunk in 1usize..50, zeros in 0.0f32..1.0, bias in any::<bool>(), relu in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let w = pruned(seed, m * k, zeros);
        let x = values(seed ^ 1, k * p);
        let b = values(seed ^ 2, m);
        let nnz = csr_nnz(&w, m, k);
        let panels = csr_panels(k, chunk);
        let (mut rp, mut cols, mut vals) = (vec![0u32; panels * m + 1], vec![0u32; nnz], vec![0.0f32; nnz]);
        csr_pack(&w, m, k, chunk, &mut rp, &mut cols, &mut vals);
        let csr = Csr { rows: m, cols_n: k, chunk, row_ptr: &rp, cols: &cols, vals: &vals };
        prop_assert!(csr.validate().is_ok());
        let act = if relu { Activation::Relu } else { Activation::None };
        let mut want = vec![0.0f32; m * p];
        let mut scale = vec![0.0f32; m * p];
        for i in 0..m {
            for j in 0..p {
                let mut s = if bias { b[i] as f64 } else { 0.0 };
                let mut a = 1.0f32;
                for c in 0..k {
                    s += w[i * k + c] as f64 * x[c * p + j] as f64;
                    a += (w[i * k + c] * x[c * p + j]).abs();
                }
                want[i * p + j] = if relu { (s as f32).max(0.0) } else { s as f32 };
                scale[i * p + j] = a;
            }
        }
        for cpu in Cpu::available() {
            let mut y = vec![f32::NAN; m * p];
            spmm(cpu, csr, &x, p, bias.then_some(&b[..]), act, &mut y);
            assert_close("spmm", &y, &want, &scale, 2.5e-7 * (k as f32 + 4.0));
        }
    }
}

#[test]
fn malformed_rows_are_refused() {
    let (rp, cols, vals) = ([0u32, 2, 1], [0u32, 1], [1.0f32, 2.0]);
    let bad = Csr { rows: 2, cols_n: 2, chunk: 2, row_ptr: &rp, cols: &cols, vals: &vals };
    assert!(bad.validate().is_err());
    let rp = [0u32, 1, 2];
    let cols = [0u32, 5];
    let out_of_range = Csr { rows: 2, cols_n: 2, chunk: 2, row_ptr: &rp, cols: &cols, vals: &vals };
    assert!(out_of_range.validate().is_err());
    assert_eq!(Csr { rows: 2, cols_n: 2, chunk: 2, row_ptr: &rp, cols: &[0, 1], vals: &vals }.sparsity(), 0.5);
}

#[test]
fn columns_outside_their_panel_are_refused() {
    // Two panels of one column: column 1 listed in panel 0.
    let (rp, cols, vals) = ([0u32, 1, 1], [1u32], [1.0f32]);
    let bad = Csr { rows: 1, cols_n: 2, chunk: 1, row_ptr: &rp, cols: &cols, vals: &vals };
    assert!(bad.validate_rows().is_ok());
    assert!(bad.validate().is_err());
    let good = Csr { rows: 1, cols_n: 2, chunk: 1, row_ptr: &[0, 0, 1], cols: &cols, vals: &vals };
    assert!(good.validate().is_ok());
    assert!(Csr { chunk: 0, ..good }.validate().is_err());
}
