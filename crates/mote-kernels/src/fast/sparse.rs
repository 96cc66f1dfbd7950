//! Sparse × dense products for pruned weights: `Y [m x p] = act(W [m x k] · X [k x p] + bias)`
//! with `W` in compressed rows (only its non-zeros) and `X`, `Y` dense row-major. In NCHW a 1x1
//! convolution is exactly this per image (`k` input channels, `m` output channels, `p = H·W`
//! pixels); a fully connected layer is it on the transposed activations.
//!
//! Each non-zero `w` of row `i` adds `w · X[col]` to a block of `Y[i]`: the work is one
//! multiply-add per non-zero and pixel, vectorized along the pixels, eight (or four) vectors of
//! them at a time so each weight is loaded once per 8·LANES pixels (XNNPACK's SpMM shape). At
//! 70% zeros that is under a third of the dense product's multiply-adds.
//!
//! The columns are split into panels of `chunk` columns, each stored as its own compressed rows
//! (panel-major): a pixel block of a panel's input rows (`chunk · 8·LANES` floats) stays in L1
//! while every output row reads it, however large `k` is. Later panels add to the partial sums.

use super::activation::Activation;
use super::cpu::Cpu;
use super::simd::{Simd, SimdOp, dispatch};

/// Columns per panel the compiler packs with: 64 rows of a 64-pixel block (8 AVX2 vectors) are
/// 16 KB, half of a typical L1.
pub const SPARSE_CHUNK: usize = 64;

/// A weight matrix in compressed rows, borrowed, split into column panels of `chunk` columns
/// (`chunk >= cols_n`: one panel, plain compressed rows). Row `i` of panel `q` holds
/// `vals[row_ptr[q·rows + i]..row_ptr[q·rows + i + 1]]` at columns `cols[...]` (absolute,
/// inside the panel). [`csr_pack`] makes one from a dense matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Csr<'a> {
    pub rows: usize,
    pub cols_n: usize,
    /// Columns per panel (at least 1).
    pub chunk: usize,
    pub row_ptr: &'a [u32],
    pub cols: &'a [u32],
    pub vals: &'a [f32],
}

/// The panel count of `cols` columns in panels of `chunk` (1 for no columns).
pub fn csr_panels(cols: usize, chunk: usize) -> usize {
    cols.div_ceil(chunk.max(1)).max(1)
}

impl Csr<'_> {
    /// The fraction of zeros.
    pub fn sparsity(&self) -> f32 {
        let n = self.rows * self.cols_n;
        if n == 0 { 0.0 } else { 1.0 - self.vals.len() as f32 / n as f32 }
    }

    fn panels(&self) -> usize {
        csr_panels(self.cols_n, self.chunk)
    }

    /// Checks the pointers only (`O(rows)`): `panels · rows + 1` of them, non-decreasing from 0
    /// to the value count.
    pub fn validate_rows(&self) -> Result<(), &'static str> {
        if self.chunk == 0 {
            return Err("the panel width is 0");
        }
        let n_ptr = self.panels().checked_mul(self.rows).and_then(|n| n.checked_add(1));
        if n_ptr != Some(self.row_ptr.len()) || self.cols.len() != self.vals.len() {
            return Err("row pointers or columns do not match the row count and values");
        }
        if self.row_ptr[0] != 0 || self.row_ptr.windows(2).any(|w| w[0] > w[1]) {
            return Err("row pointers are not non-decreasing from 0");
        }
        if self.row_ptr[self.row_ptr.len() - 1] as usize != self.vals.len() {
            return Err("the last row pointer is not the value count");
        }
        Ok(())
    }

    /// Checks the whole structure: [`Csr::validate_rows`], and every column inside its panel
    /// and below `cols_n`.
    pub fn validate(&self) -> Result<(), &'static str> {
        self.validate_rows()?;
        for q in 0..self.panels() {
            let (lo, hi) = (q * self.chunk, ((q + 1) * self.chunk).min(self.cols_n));
            let (a, b) = (self.row_ptr[q * self.rows] as usize, self.row_ptr[(q + 1) * self.rows] as usize);
            if self.cols[a..b].iter().any(|&c| (c as usize) < lo || c as usize >= hi) {
                return Err("a column index is outside its panel");
            }
        }
        Ok(())
    }
}

/// The non-zero count of the row-major `w [rows x cols]` (the length of [`csr_pack`]'s columns
/// and values).
pub fn csr_nnz(w: &[f32], rows: usize, cols: usize) -> usize {
    w[..rows * cols].iter().filter(|v| **v != 0.0).count()
}

/// Writes the compressed rows of `w [rows x cols]` in panels of `chunk` columns into `row_ptr`
/// ([`csr_panels`] · `rows + 1`), `col` and `val` ([`csr_nnz`] each). Panics if a slice is
/// shorter or `chunk` is 0.
pub fn csr_pack(
    w: &[f32],
    rows: usize,
    cols: usize,
    chunk: usize,
    row_ptr: &mut [u32],
    col: &mut [u32],
    val: &mut [f32],
) {
    let panels = csr_panels(cols, chunk);
    assert!(
        chunk > 0 && w.len() >= rows * cols && row_ptr.len() > panels * rows,
        "csr_pack: slices shorter than the shape"
    );
    let mut n = 0usize;
    row_ptr[0] = 0;
    for q in 0..panels {
        let (lo, hi) = (q * chunk, ((q + 1) * chunk).min(cols));
        for r in 0..rows {
            for j in lo..hi {
                let v = w[r * cols + j];
                if v != 0.0 {
                    col[n] = j as u32;
                    val[n] = v;
                    n += 1;
                }
            }
            row_ptr[q * rows + r + 1] = n as u32;
        }
    }
}

/// Most floats of a panel's pixel block for the 8-vector blocks (16 KB, half of L1).
const WIDE_BLOCK_FLOATS: usize = 4096;

struct Spmm<'a> {
    w: Csr<'a>,
    x: &'a [f32],
    p: usize,
    bias: Option<&'a [f32]>,
    y: &'a mut [f32],
}

/// Pixels `j..j + V·LANES` of every output row: panel by panel, row by row. The first panel
/// starts from the bias, later ones from the partial sums in `y`. Two accumulator sets over
/// alternate non-zeros give `2V` independent multiply-add chains.
#[inline(always)]
fn block<S: Simd, const V: usize>(s: S, op: &mut Spmm<'_>, j: usize) {
    let (w, x, p, l) = (op.w, op.x, op.p, S::LANES);
    for q in 0..w.panels() {
        let ptr = &w.row_ptr[q * w.rows..];
        for i in 0..w.rows {
            let (a, b) = (ptr[i] as usize, ptr[i + 1] as usize);
            let yi = i * p + j;
            let mut acc = [s.splat(op.bias.map_or(0.0, |b| b[i])); V];
            if q > 0 {
                if a == b {
                    continue;
                }
                for (v, a) in acc.iter_mut().enumerate() {
                    *a = s.load(&op.y[yi + v * l..]);
                }
            }
            let (cols, vals) = (&w.cols[a..b], &w.vals[a..b]);
            if V >= 8 {
                // Eight or more vectors are enough independent chains on their own.
                for (&c, &wv) in cols.iter().zip(vals) {
                    let x0 = &x[c as usize * p + j..][..V * l];
                    let w0 = s.splat(wv);
                    for v in 0..V {
                        acc[v] = s.mul_add(w0, s.load(&x0[v * l..]), acc[v]);
                    }
                }
                for v in 0..V {
                    s.store(&mut op.y[yi + v * l..], acc[v]);
                }
                continue;
            }
            let mut odd = [s.splat(0.0); V];
            let mut pairs = cols.chunks_exact(2).zip(vals.chunks_exact(2));
            for (c, wv) in &mut pairs {
                let x0 = &x[c[0] as usize * p + j..][..V * l];
                let x1 = &x[c[1] as usize * p + j..][..V * l];
                let (w0, w1) = (s.splat(wv[0]), s.splat(wv[1]));
                for v in 0..V {
                    acc[v] = s.mul_add(w0, s.load(&x0[v * l..]), acc[v]);
                    odd[v] = s.mul_add(w1, s.load(&x1[v * l..]), odd[v]);
                }
            }
            if cols.len() % 2 == 1 {
                let x0 = &x[cols[cols.len() - 1] as usize * p + j..][..V * l];
                let w0 = s.splat(vals[vals.len() - 1]);
                for v in 0..V {
                    acc[v] = s.mul_add(w0, s.load(&x0[v * l..]), acc[v]);
                }
            }
            for v in 0..V {
                s.store(&mut op.y[yi + v * l..], s.add(acc[v], odd[v]));
            }
        }
    }
}

impl SimdOp for Spmm<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(mut self, s: S) {
        let l = S::LANES;
        // Pixel blocks outermost: a block of a panel's input rows stays in L1 while all
        // output rows are computed from it.
        let mut j = 0;
        while j + 8 * l <= self.p && self.w.cols_n.min(self.w.chunk) * 8 * l <= WIDE_BLOCK_FLOATS {
            block::<S, 8>(s, &mut self, j);
            j += 8 * l;
        }
        while j + 4 * l <= self.p {
            block::<S, 4>(s, &mut self, j);
            j += 4 * l;
        }
        // Then one vector at a time, all panels of a row in registers; the last vector
        // overlaps the previous one (recomputing a few pixels with the same result) instead of
        // a scalar tail.
        let (w, x, p) = (self.w, self.x, self.p);
        while j < p && p >= l {
            let jv = j.min(p - l);
            for i in 0..w.rows {
                let mut acc = [s.splat(self.bias.map_or(0.0, |b| b[i])), s.splat(0.0)];
                for q in 0..w.panels() {
                    let (a, b) = (w.row_ptr[q * w.rows + i] as usize, w.row_ptr[q * w.rows + i + 1] as usize);
                    for (t, (&c, &v)) in w.cols[a..b].iter().zip(&w.vals[a..b]).enumerate() {
                        acc[t % 2] = s.mul_add(s.splat(v), s.load(&x[c as usize * p + jv..]), acc[t % 2]);
                    }
                }
                s.store(&mut self.y[i * p + jv..], s.add(acc[0], acc[1]));
            }
            j = jv + l;
        }
        // Fewer pixels than one vector: one at a time.
        for jj in j..p {
            for i in 0..w.rows {
                let mut dot = self.bias.map_or(0.0, |b| b[i]);
                for q in 0..w.panels() {
                    let (a, b) = (w.row_ptr[q * w.rows + i] as usize, w.row_ptr[q * w.rows + i + 1] as usize);
                    for (&c, &v) in w.cols[a..b].iter().zip(&w.vals[a..b]) {
                        dot += v * x[c as usize * p + jj];
                    }
                }
                self.y[i * p + jj] = dot;
            }
        }
    }
}

/// `y [w.rows x p] = act(W · x + bias)` for `x [w.cols_n x p]`, row-major. Checks `w`'s
/// pointers ([`Csr::validate_rows`]); the columns must have passed [`Csr::validate`] once (a
/// column outside `x` panics; one inside but out of its panel reads the wrong row). Panics (a
/// caller bug) when a slice is shorter than its shape or `w` is malformed.
pub fn spmm(cpu: Cpu, w: Csr<'_>, x: &[f32], p: usize, bias: Option<&[f32]>, act: Activation, y: &mut [f32]) {
    w.validate_rows().expect("spmm: malformed compressed rows");
    debug_assert!(w.validate().is_ok(), "spmm: a column is out of its panel");
    assert!(x.len() >= w.cols_n * p && y.len() >= w.rows * p, "spmm: operands shorter than their shapes");
    assert!(bias.is_none_or(|b| b.len() >= w.rows), "spmm: bias shorter than the rows");
    dispatch(cpu, Spmm { w, x, p, bias, y: &mut *y });
    if act != Activation::None {
        super::activation::activation_in_place(cpu, act, &mut y[..w.rows * p]);
    }
}
