//! `y += W x` for a row-major `W [rows x cols]`: the recurrent products of LSTM/GRU/RNN steps and
//! their input projections at batch 1, where W is read once per product.
//!
//! Four rows at a time, each a vector of partial sums over the columns in steps of `LANES`,
//! then reduced across lanes (the ISA's pairwise order), then the scalar tail in order.

use super::cpu::Cpu;
use super::simd::{Simd, SimdOp, dispatch};

struct MatVec<'a> {
    w: &'a [f32],
    cols: usize,
    x: &'a [f32],
    y: &'a mut [f32],
}

impl SimdOp for MatVec<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let (cols, x) = (self.cols, &self.x[..self.cols]);
        let split = cols - cols % S::LANES;
        let dot_tail = |row: &[f32]| -> f32 { row[split..].iter().zip(&x[split..]).map(|(a, b)| a * b).sum() };
        let mut rows = self.w.chunks_exact(cols).zip(self.y.iter_mut());
        loop {
            let group: [Option<(&[f32], &mut f32)>; 4] = core::array::from_fn(|_| rows.next());
            if group[0].is_none() {
                break;
            }
            let mut acc = [s.splat(0.0); 4];
            for c in (0..split).step_by(S::LANES) {
                let xv = s.load(&x[c..]);
                for (a, r) in acc.iter_mut().zip(&group) {
                    if let Some((row, _)) = r {
                        *a = s.mul_add(s.load(&row[c..]), xv, *a);
                    }
                }
            }
            for (a, r) in acc.iter().zip(group) {
                if let Some((row, y)) = r {
                    *y += s.reduce_add(*a) + dot_tail(row);
                }
            }
        }
    }
}

/// `y[r] += sum_c w[r * cols + c] * x[c]` for every `r < y.len()`. Panics if `w` is shorter
/// than `y.len() * cols` or `x` than `cols`.
pub fn matvec_add(cpu: Cpu, w: &[f32], cols: usize, x: &[f32], y: &mut [f32]) {
    assert!(w.len() >= y.len() * cols && x.len() >= cols, "matvec_add: operands shorter than their shapes");
    if cols == 0 {
        return;
    }
    dispatch(cpu, MatVec { w, cols, x, y });
}
