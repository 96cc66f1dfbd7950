//! `Q8Sparse` (91): an int8 1x1 convolution (NHWC, stride 1, no padding, one group) or fully
//! connected layer whose pruned weights are kept as blocks of four input channels
//! (`mote_kernels::fast::int8::sparse_conv`): `y [rows x m] = clamp(y_zp + M_o(bias[o] +
//! Σ_c W[o, c] (x[r, c] - x_zp)), lo, hi)`, the same bits as `Q8Conv` on the dense weights.
//!
//! Attributes: `[rows, m, c, x_zp, y_zp, lo, hi]` (the last four i32). Inputs: `x` (i8,
//! `rows * c` values), `blocks [nb]` (i32 weights: four i8 each), `index [m + 1 + nb]` (u32
//! weights: row pointers, then each block's column in units of four channels), `wsum [m]`,
//! `bias [m]`, `mult [m]`, `shift [m]` (i32); output `y` (i8, `rows * m`). The index is
//! checked once at load. Scratch: `sparse_scratch_len` i32 values.

use mote_core::DType;
use mote_format::{Model, StepRef, Storage};
use mote_kernels::fast::Cpu;
use mote_kernels::fast::int8::{Q8Blocks, sparse_conv, sparse_scratch_len};

use super::q8conv::{clamp_words, i32s, q8, requant};
use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Q8Sparse {
    rows: usize,
    m: usize,
    c: usize,
    nb: usize,
    x_zp: i32,
    y_zp: i32,
    lo: i32,
    hi: i32,
}

impl Q8Sparse {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Q8Sparse, StepFault> {
        io.arity(7, 7, 1)?;
        let mut w = Words::new(step);
        let (rows, m, c) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let (x_zp, y_zp) = (q8(&mut w)?, q8(&mut w)?);
        let (lo, hi) = clamp_words(&mut w)?;
        w.end()?;
        let (x, blocks, index, y) = (io.input(0)?, io.input(1)?, io.input(2)?, io.output(0)?);
        want(&x, DType::I8)?;
        want(&y, DType::I8)?;
        want(&blocks, DType::I32)?;
        want(&index, DType::U32)?;
        if blocks.storage != Storage::Weights || index.storage != Storage::Weights {
            return Err(StepFault::Shape);
        }
        let nb = blocks.numel();
        want_numel(&x, product(&[rows, c])?)?;
        want_numel(&y, product(&[rows, m])?)?;
        want_numel(&index, m.checked_add(1).and_then(|v| v.checked_add(nb)).ok_or(StepFault::Shape)?)?;
        for i in 3..7 {
            let t = io.input(i)?;
            want(&t, DType::I32)?;
            want_numel(&t, m)?;
        }
        // The scratch (four-byte columns of 64 rows) must be addressable in bytes.
        sparse_scratch_len(m, c).and_then(|n| n.checked_mul(4)).ok_or(StepFault::Shape)?;
        Ok(Q8Sparse { rows, m, c, nb, x_zp, y_zp, lo, hi })
    }

    /// Checks the block index (pointers, columns below `c / 4`) once, at load.
    pub fn check_index(&self, model: &Model<'_>, io: &Io<'_>) -> Result<(), StepFault> {
        let bytes = io.input(2).ok().and_then(|t| model.weight_bytes(&t)).ok_or(StepFault::Shape)?;
        if bytes.len() != 4 * (self.m + 1 + self.nb) {
            return Err(StepFault::Shape);
        }
        let word = |i: usize| u32::from_le_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]);
        let (m, c4) = (self.m, self.c.div_ceil(4));
        let ptrs_ok = word(0) == 0 && word(m) as usize == self.nb && (0..m).all(|o| word(o) <= word(o + 1));
        let cols_ok = (0..self.nb).all(|b| (word(m + 1 + b) as usize) < c4);
        if ptrs_ok && cols_ok { Ok(()) } else { Err(StepFault::Shape) }
    }

    pub fn scratch_bytes(&self) -> usize {
        sparse_scratch_len(self.m, self.c).map_or(usize::MAX, |n| n.saturating_mul(4))
    }

    /// The multiply-adds done (four per kept block and row).
    pub fn macs(&self) -> u64 {
        4 * self.nb as u64 * self.rows as u64
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32], cpu: Cpu) {
        let vec = |i: usize| io.input(i).map(|t| inp::<i32>(mem, &t));
        let (Ok(y), Ok(x), Ok(blk), Ok(index), Ok(wsum)) = (io.output(0), io.input(0), vec(1), io.input(2), vec(3))
        else {
            return;
        };
        let index = inp::<u32>(mem, &index);
        let (row_ptr, cols) = index.split_at(self.m + 1);
        let w = Q8Blocks { m: self.m, c: self.c, row_ptr, cols, w: blk, wsum };
        let Ok(rq) = requant(mem, io, 4, (self.y_zp, self.lo, self.hi)) else { return };
        sparse_conv(cpu, self.rows, &w, inp::<i8>(mem, &x), self.x_zp, &rq, out::<i8>(mem, &y), i32s(scratch));
    }
}

/// The Q8Sparse words (see the module doc).
#[cfg(feature = "alloc")]
pub fn encode_q8sparse(
    rows: usize,
    m: usize,
    c: usize,
    x_zp: i32,
    y_zp: i32,
    lo: i32,
    hi: i32,
) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    w.usize(rows).usize(m).usize(c).i32(x_zp).i32(y_zp).i32(lo).i32(hi);
    w.0
}
