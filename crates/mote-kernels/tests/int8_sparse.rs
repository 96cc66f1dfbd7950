//! The block-sparse int8 product against the dense reference convolution, on every int8 path
//! this machine has: unstructured and block-pruned weights, empty and full output channels,
//! channel counts that are not multiples of 4 or 16, row counts around the 64-row blocks.

#[path = "common/int8_cases.rs"]
mod int8_cases;

use int8_cases::{ConvCase, Rng};
use mote_kernels::fast::int8::{
    Q8Blocks, q8_blocks_nnz, q8_blocks_pack, q8_blocks_valid, sparse_conv, sparse_scratch_len,
};
use mote_kernels::fast::{Cpu, Q8Path};

struct Packed {
    row_ptr: Vec<u32>,
    cols: Vec<u32>,
    w: Vec<i32>,
    wsum: Vec<i32>,
}

fn pack(w: &[i8], m: usize, c: usize) -> Packed {
    let nb = q8_blocks_nnz(w, m, c);
    let mut p = Packed { row_ptr: vec![0; m + 1], cols: vec![0; nb], w: vec![0; nb], wsum: vec![0; m] };
    q8_blocks_pack(w, m, c, &mut p.row_ptr, &mut p.cols, &mut p.w, &mut p.wsum);
    p
}

/// Zeroes `w [m x c]`: each value with probability `zeros` (unstructured), or whole blocks of
/// four input channels (`block`), or whole output channels every 5th.
fn prune(r: &mut Rng, w: &mut [i8], m: usize, c: usize, zeros: u64, block: bool) {
    for o in 0..m {
        if o % 5 == 4 {
            w[o * c..][..c].fill(0);
            continue;
        }
        for j in (0..c).step_by(if block { 4 } else { 1 }) {
            if r.next() % 100 < zeros {
                let end = if block { (j + 4).min(c) } else { j + 1 };
                w[o * c + j..o * c + end].fill(0);
            }
        }
    }
}

#[test]
fn sparse_products_match_the_dense_reference_on_every_path() {
    let cpus: Vec<Cpu> = Q8Path::ALL.iter().filter_map(|&p| Cpu::with_q8(p)).collect();
    println!("int8 paths on this machine: {:?}", cpus.iter().map(|c| c.q8().name()).collect::<Vec<_>>());
    let mut r = Rng(0x005e_ed0f_b10c);
    let mut kept = 0;
    for i in 0..240 {
        let rows = match i % 4 {
            0 => r.range(1, 8) as usize,
            1 => 64,
            2 => r.range(60, 200) as usize,
            _ => r.range(1, 140) as usize,
        };
        let (c, m) = (r.range(1, 90) as usize, r.range(1, 50) as usize);
        let mut case = ConvCase::fc(&mut r, rows, c, m);
        let zeros = r.pick(&[0, 50, 70, 90, 100]);
        prune(&mut r, &mut case.w, m, c, zeros, i % 2 == 0);
        let want = case.reference();
        let p = pack(&case.w, m, c);
        kept += p.cols.len();
        let b = Q8Blocks { m, c, row_ptr: &p.row_ptr, cols: &p.cols, w: &p.w, wsum: &p.wsum };
        assert!(q8_blocks_valid(&b));
        for &cpu in &cpus {
            let mut scratch = vec![0x5a5a_5a5a; sparse_scratch_len(m, c).unwrap()];
            let mut y = vec![0x33; rows * m];
            sparse_conv(cpu, rows, &b, &case.x, case.x_zp, &case.requant(), &mut y, &mut scratch);
            if let Some(at) = y.iter().zip(&want).position(|(a, b)| a != b) {
                panic!(
                    "{} case {i}: rows {rows} c {c} m {m} zeros {zeros}% x_zp {} differs at {at}: {} vs {}",
                    cpu.q8().name(),
                    case.x_zp,
                    y[at],
                    want[at]
                );
            }
        }
    }
    assert!(kept > 0);
}

#[test]
fn malformed_blocks_are_not_valid() {
    let w: Vec<i8> = (0..64).map(|i| if i % 3 == 0 { 0 } else { i as i8 }).collect();
    let p = pack(&w, 4, 16);
    let ok = Q8Blocks { m: 4, c: 16, row_ptr: &p.row_ptr, cols: &p.cols, w: &p.w, wsum: &p.wsum };
    assert!(q8_blocks_valid(&ok));
    let mut cols = p.cols.clone();
    cols[0] = 4;
    assert!(!q8_blocks_valid(&Q8Blocks { cols: &cols, ..ok }), "a column past c / 4");
    let mut rp = p.row_ptr.clone();
    rp.swap(1, 2);
    assert!(!q8_blocks_valid(&Q8Blocks { row_ptr: &rp, ..ok }), "pointers out of order");
    assert!(!q8_blocks_valid(&Q8Blocks { row_ptr: &rp[..4], ..ok }), "too few pointers");
    assert!(!q8_blocks_valid(&Q8Blocks { w: &p.w[1..], ..ok }), "values and columns disagree");
}
