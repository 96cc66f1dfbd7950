//! `SparseGemm`: a product with a pruned constant weight stored in compressed rows
//! (`mote_kernels::fast::spmm`), `W [m x k]` in column panels of `chunk`.
//!
//! - mode 0, a 1x1 convolution in NCHW: `y[b] [m x p] = act(W · x[b] [k x p] + bias)` per image;
//! - mode 1, a fully connected layer: `y [batch x m] = act(x [batch x k] · Wᵀ + bias)` (Gemm or
//!   MatMul with the constant `B = Wᵀ`); with a batch of more than one row the batch is the
//!   vector dimension: `x` is transposed into scratch, and the product back into `y`.
//!
//! Inputs: `x` (f32), `vals [nnz]` (f32 weights), `index [panels·m + 1 + nnz]` (u32 weights:
//! the row pointers, then the columns), optional `bias [m]` (f32). Attributes: `[mode, batch, m,
//! k, p, chunk, act(3)]` (`p` is 1 in mode 1). The index is checked once at load.

use mote_core::DType;
use mote_format::{Model, StepRef, Storage};
use mote_kernels::fast::{self, Cpu, Csr, csr_panels};

use super::act::Act;
use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct SparseGemm {
    rows_mode: bool,
    batch: usize,
    m: usize,
    k: usize,
    p: usize,
    chunk: usize,
    nnz: usize,
    act: Act,
}

impl SparseGemm {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<SparseGemm, StepFault> {
        io.arity(3, 4, 1)?;
        let mut w = Words::new(step);
        let rows_mode = w.upto(1)? == 1;
        let (batch, m, k, p) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let chunk = w.upto(u32::MAX)?;
        let act = Act::decode(&mut w)?;
        w.end()?;
        if chunk == 0 || (rows_mode && p != 1) {
            return Err(StepFault::Shape);
        }
        let (x, vals, index, y) = (io.input(0)?, io.input(1)?, io.input(2)?, io.output(0)?);
        for t in [x, vals, y] {
            want(&t, DType::F32)?;
        }
        want(&index, DType::U32)?;
        if vals.storage != Storage::Weights || index.storage != Storage::Weights {
            return Err(StepFault::Shape);
        }
        let nnz = vals.numel();
        want_numel(&x, product(&[batch, k, p])?)?;
        want_numel(&y, product(&[batch, m, p])?)?;
        let ptrs = product(&[csr_panels(k, chunk), m])?.checked_add(1).ok_or(StepFault::Shape)?;
        want_numel(&index, ptrs.checked_add(nnz).ok_or(StepFault::Shape)?)?;
        if let Some(b) = io.opt(3) {
            want(&b, DType::F32)?;
            want_numel(&b, m)?;
        }
        Ok(SparseGemm { rows_mode, batch, m, k, p, chunk, nnz, act })
    }

    /// Checks the compressed rows (pointers, columns inside their panels) once, at load.
    pub fn check_index(&self, model: &Model<'_>, io: &Io<'_>) -> Result<(), StepFault> {
        let bytes = io.input(2).ok().and_then(|t| model.weight_bytes(&t)).ok_or(StepFault::Shape)?;
        let ptrs = csr_panels(self.k, self.chunk) * self.m + 1;
        let word = |i: usize| u32::from_le_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]);
        if bytes.len() != 4 * (ptrs + self.nnz) || word(0) != 0 || word(ptrs - 1) as usize != self.nnz {
            return Err(StepFault::Shape);
        }
        for q in 0..csr_panels(self.k, self.chunk) {
            let (lo, hi) = (q * self.chunk, ((q + 1) * self.chunk).min(self.k));
            for i in 0..self.m {
                let r = q * self.m + i;
                let (a, b) = (word(r) as usize, word(r + 1) as usize);
                if a > b || b > self.nnz || (a..b).any(|e| !(lo..hi).contains(&(word(ptrs + e) as usize))) {
                    return Err(StepFault::Shape);
                }
            }
        }
        Ok(())
    }

    pub fn scratch_bytes(&self) -> usize {
        if self.rows_mode && self.batch > 1 { 4 * self.batch * (self.k + self.m) } else { 0 }
    }

    /// The multiply-adds done (one per non-zero and pixel or row).
    pub fn macs(&self) -> u64 {
        (self.nnz * self.batch * self.p) as u64
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32], cpu: Cpu) {
        let (Ok(x), Ok(vals), Ok(index), Ok(y)) = (io.input(0), io.input(1), io.input(2), io.output(0)) else {
            return;
        };
        let (xs, vals, index, ys) =
            (inp::<f32>(mem, &x), inp::<f32>(mem, &vals), inp::<u32>(mem, &index), out::<f32>(mem, &y));
        let bias: Option<&[f32]> = io.opt(3).map(|b| inp(mem, &b));
        let ptrs = csr_panels(self.k, self.chunk) * self.m + 1;
        let (row_ptr, cols) = index.split_at(ptrs);
        let w = Csr { rows: self.m, cols_n: self.k, chunk: self.chunk, row_ptr, cols, vals };
        let act = self.act.fast();
        let (m, k, p, n) = (self.m, self.k, self.p, self.batch);
        if !self.rows_mode || n == 1 {
            // Per image (mode 0), or one row: `y = W x` with `x` a column.
            for b in 0..n {
                fast::spmm(cpu, w, &xs[b * k * p..], p, bias, act, &mut ys[b * m * p..(b + 1) * m * p]);
            }
            return;
        }
        // Rows: the batch becomes the vector dimension.
        let (xt, yt) = scratch[..n * (k + m)].split_at_mut(n * k);
        for r in 0..n {
            for c in 0..k {
                xt[c * n + r] = xs[r * k + c];
            }
        }
        fast::spmm(cpu, w, xt, n, bias, act, yt);
        for r in 0..n {
            for c in 0..m {
                ys[r * m + c] = yt[c * n + r];
            }
        }
    }
}
