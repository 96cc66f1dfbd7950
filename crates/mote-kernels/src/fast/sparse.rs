//! Sparse × dense products for pruned weights: `Y [m x p] = act(W [m x k] · X [k x p] + bias)`
//! with `W` in compressed rows (only its non-zeros) and `X`, `Y` dense row-major. In NCHW a 1x1
//! convolution is exactly this per image (`k` input channels, `m` output channels, `p = H·W`
//! pixels); a fully connected layer is it on the transposed activations.
//!
//! Each non-zero `w` of row `i` adds `w · X[col]` to a block of `Y[i]`: the work is one
//! multiply-add per non-zero and pixel, vectorized along the pixels, four vectors of them at a
//! time so each weight is loaded once per 4·LANES pixels (XNNPACK's SpMM shape). At 70% zeros
//! that is under a third of the dense product's multiply-adds.

use super::activation::Activation;
use super::cpu::Cpu;
use super::simd::{Simd, SimdOp, dispatch};

/// A weight matrix in compressed-row form, borrowed: row `i` holds `vals[row_ptr[i]..row_ptr[i +
/// 1]]` at columns `cols[...]`. [`csr_pack`] makes one from a dense matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Csr<'a> {
    pub rows: usize,
    pub cols_n: usize,
    pub row_ptr: &'a [u32],
    pub cols: &'a [u32],
    pub vals: &'a [f32],
}

impl Csr<'_> {
    /// The fraction of zeros.
    pub fn sparsity(&self) -> f32 {
        let n = self.rows * self.cols_n;
        if n == 0 { 0.0 } else { 1.0 - self.vals.len() as f32 / n as f32 }
    }

    /// Checks the structure: row pointers non-decreasing from 0 to the value count, columns
    /// below `cols_n`.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.row_ptr.len() != self.rows + 1 || self.cols.len() != self.vals.len() {
            return Err("row pointers or columns do not match the row count and values");
        }
        if self.row_ptr[0] != 0 || self.row_ptr.windows(2).any(|w| w[0] > w[1]) {
            return Err("row pointers are not non-decreasing from 0");
        }
        if self.row_ptr[self.rows] as usize != self.vals.len() {
            return Err("the last row pointer is not the value count");
        }
        if self.cols.iter().any(|&c| c as usize >= self.cols_n) {
            return Err("a column index is out of range");
        }
        Ok(())
    }
}

/// The non-zero count of the row-major `w [rows x cols]` (the length of [`csr_pack`]'s columns
/// and values).
pub fn csr_nnz(w: &[f32], rows: usize, cols: usize) -> usize {
    w[..rows * cols].iter().filter(|v| **v != 0.0).count()
}

/// Writes the compressed rows of `w [rows x cols]` into `row_ptr` (`rows + 1`), `col` and `val`
/// ([`csr_nnz`] each). Panics if a slice is shorter.
pub fn csr_pack(w: &[f32], rows: usize, cols: usize, row_ptr: &mut [u32], col: &mut [u32], val: &mut [f32]) {
    assert!(w.len() >= rows * cols && row_ptr.len() > rows, "csr_pack: slices shorter than the shape");
    let mut n = 0usize;
    row_ptr[0] = 0;
    for r in 0..rows {
        for (j, &v) in w[r * cols..(r + 1) * cols].iter().enumerate() {
            if v != 0.0 {
                col[n] = j as u32;
                val[n] = v;
                n += 1;
            }
        }
        row_ptr[r + 1] = n as u32;
    }
}

struct Spmm<'a> {
    w: Csr<'a>,
    x: &'a [f32],
    p: usize,
    bias: Option<&'a [f32]>,
    y: &'a mut [f32],
}

impl SimdOp for Spmm<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let (w, x, p) = (self.w, self.x, self.p);
        let l = S::LANES;
        let wide = 4 * l;
        let bias = |i: usize| self.bias.map_or(0.0, |b| b[i]);
        // Pixel blocks outermost: a block of every input row (k · 4·LANES floats) stays in L1
        // while all output rows are computed from it.
        let mut j = 0;
        while j + wide <= p {
            for i in 0..w.rows {
                let (a, b) = (w.row_ptr[i] as usize, w.row_ptr[i + 1] as usize);
                let (cols, vals) = (&w.cols[a..b], &w.vals[a..b]);
                // Two sets of four accumulators over alternate non-zeros: eight independent
                // multiply-add chains hide the FMA latency.
                let mut acc = [s.splat(bias(i)); 4];
                let mut odd = [s.splat(0.0); 4];
                let mut pairs = cols.chunks_exact(2).zip(vals.chunks_exact(2));
                for (c, v) in &mut pairs {
                    let (x0, x1) = (&x[c[0] as usize * p + j..][..wide], &x[c[1] as usize * p + j..][..wide]);
                    let (w0, w1) = (s.splat(v[0]), s.splat(v[1]));
                    for q in 0..4 {
                        acc[q] = s.mul_add(w0, s.load(&x0[q * l..]), acc[q]);
                        odd[q] = s.mul_add(w1, s.load(&x1[q * l..]), odd[q]);
                    }
                }
                if cols.len() % 2 == 1 {
                    let x0 = &x[cols[cols.len() - 1] as usize * p + j..][..wide];
                    let w0 = s.splat(vals[vals.len() - 1]);
                    for q in 0..4 {
                        acc[q] = s.mul_add(w0, s.load(&x0[q * l..]), acc[q]);
                    }
                }
                for q in 0..4 {
                    s.store(&mut self.y[i * p + j + q * l..], s.add(acc[q], odd[q]));
                }
            }
            j += wide;
        }
        // Then one vector at a time; the last one overlaps the previous (recomputing a few
        // pixels with the same result) instead of a scalar tail.
        while j < p && p >= l {
            let jv = j.min(p - l);
            for i in 0..w.rows {
                let (a, b) = (w.row_ptr[i] as usize, w.row_ptr[i + 1] as usize);
                let mut acc = s.splat(bias(i));
                for (&c, &v) in w.cols[a..b].iter().zip(&w.vals[a..b]) {
                    acc = s.mul_add(s.splat(v), s.load(&x[c as usize * p + jv..]), acc);
                }
                s.store(&mut self.y[i * p + jv..], acc);
            }
            j = jv + l;
        }
        // Fewer pixels than one vector.
        for jj in j..p {
            for i in 0..w.rows {
                let (a, b) = (w.row_ptr[i] as usize, w.row_ptr[i + 1] as usize);
                let dot: f32 = w.cols[a..b].iter().zip(&w.vals[a..b]).map(|(&c, &v)| v * x[c as usize * p + jj]).sum();
                self.y[i * p + jj] = bias(i) + dot;
            }
        }
    }
}

/// `y [w.rows x p] = act(W · x + bias)` for `x [w.cols_n x p]`, row-major. Panics (a caller
/// bug) when a slice is shorter than its shape or `w` is malformed.
pub fn spmm(cpu: Cpu, w: Csr<'_>, x: &[f32], p: usize, bias: Option<&[f32]>, act: Activation, y: &mut [f32]) {
    w.validate().expect("spmm: malformed compressed rows");
    assert!(x.len() >= w.cols_n * p && y.len() >= w.rows * p, "spmm: operands shorter than their shapes");
    assert!(bias.is_none_or(|b| b.len() >= w.rows), "spmm: bias shorter than the rows");
    dispatch(cpu, Spmm { w, x, p, bias, y: &mut *y });
    if act != Activation::None {
        super::activation::activation_in_place(cpu, act, &mut y[..w.rows * p]);
    }
}
