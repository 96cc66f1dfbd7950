//! `Gemm` (and batched `MatMul`): `Y[b] = act(alpha * op(A[b]) * op(B[b]) + beta * C)` with
//! `op` an optional transpose, `A[b]` `m x k` (`k x m` transposed), `B[b]` `k x n` (`n x k`
//! transposed), `Y` contiguous `[batch..., m, n]`, and `C` none, per column `[n]`, a scalar,
//! per row `[m]` or full `[m, n]`.
//!
//! Attributes: `[m, n, k, trans_a, trans_b, alpha, beta, bias_kind (0..=4 as listed), batch_rank,
//! batch_dims[r], a_batch_strides[r], b_batch_strides[r], act(3)]` (strides in elements).

use mote_core::DType;
use mote_format::StepRef;

use mote_format::Layout;
use mote_kernels::fast::{self, Bias, Cpu, Operand, PACK_FORMAT_VERSION, Parallel};

use super::act::Act;
use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Most batch dims.
pub const MAX_BATCH_RANK: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BiasKind {
    None = 0,
    PerColumn = 1,
    Scalar = 2,
    PerRow = 3,
    Full = 4,
}

#[derive(Clone, Copy, Debug)]
pub struct Gemm {
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    alpha: f32,
    beta: f32,
    bias: BiasKind,
    rank: usize,
    batch: [usize; MAX_BATCH_RANK],
    a_str: [usize; MAX_BATCH_RANK],
    b_str: [usize; MAX_BATCH_RANK],
    act: Act,
    /// B was packed by the compiler (`fast::pack_b` of `op(B)`, no batch).
    b_packed: bool,
}

impl Gemm {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Gemm, StepFault> {
        io.arity(2, 3, 1)?;
        let mut w = Words::new(step);
        let (m, n, k) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let (trans_a, trans_b) = (w.bool()?, w.bool()?);
        let (alpha, beta) = (w.f32()?, w.f32()?);
        let bias =
            [BiasKind::None, BiasKind::PerColumn, BiasKind::Scalar, BiasKind::PerRow, BiasKind::Full][w.upto(4)?];
        let rank = w.upto(MAX_BATCH_RANK as u32)?;
        let mut g = Gemm {
            m,
            n,
            k,
            trans_a,
            trans_b,
            alpha,
            beta,
            bias,
            rank,
            batch: [1; MAX_BATCH_RANK],
            a_str: [0; MAX_BATCH_RANK],
            b_str: [0; MAX_BATCH_RANK],
            act: Act::NONE,
            b_packed: false,
        };
        w.usizes(&mut g.batch[..rank], u32::MAX)?;
        w.usizes(&mut g.a_str[..rank], u32::MAX)?;
        w.usizes(&mut g.b_str[..rank], u32::MAX)?;
        g.act = Act::decode(&mut w)?;
        w.end()?;

        let (a, b, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        for t in [a, b, y] {
            want(&t, DType::F32)?;
        }
        let batches = product(&g.batch[..rank])?;
        want_numel(&y, product(&[batches, m, n])?)?;
        let extent = |str: &[usize], mat: usize| -> Result<usize, StepFault> {
            if batches == 0 || mat == 0 {
                return Ok(0);
            }
            let mut e = mat;
            for d in 0..rank {
                e = (g.batch[d] - 1).checked_mul(str[d]).and_then(|x| x.checked_add(e)).ok_or(StepFault::Shape)?;
            }
            Ok(e)
        };
        g.b_packed = b.layout == Layout::Packed;
        if g.b_packed {
            let ok = rank == 0
                && g.fast_ok()
                && b.layout_param == PACK_FORMAT_VERSION
                && b.nbytes == fast::pack_b_len(k, n) as u64 * 4;
            if !ok {
                return Err(StepFault::Shape);
            }
        } else if extent(&g.b_str, product(&[k, n])?)? > b.numel() {
            return Err(StepFault::Shape);
        }
        if extent(&g.a_str, product(&[m, k])?)? > a.numel() || a.layout != Layout::Plain {
            return Err(StepFault::Shape);
        }
        match (io.opt(2), bias) {
            (None, BiasKind::None) => {}
            (Some(c), kind) => {
                want(&c, DType::F32)?;
                let len = match kind {
                    BiasKind::None => return Err(StepFault::Arity),
                    BiasKind::PerColumn => n,
                    BiasKind::Scalar => 1,
                    BiasKind::PerRow => m,
                    BiasKind::Full => product(&[m, n])?,
                };
                want_numel(&c, len)?;
            }
            (None, _) => return Err(StepFault::Arity),
        }
        Ok(g)
    }

    /// The fast kernel computes `act(A B + bias)`: alpha 1, beta 1 (or no bias), bias none,
    /// per column or per row.
    pub fn fast_ok(&self) -> bool {
        self.alpha == 1.0
            && (self.beta == 1.0 || self.bias == BiasKind::None)
            && matches!(self.bias, BiasKind::None | BiasKind::PerColumn | BiasKind::PerRow)
    }

    pub fn scratch_bytes(&self) -> usize {
        if self.fast_ok() { 4 * fast::gemm_scratch_len(self.m, self.n, self.k, false, self.b_packed) } else { 0 }
    }

    pub fn macs(&self) -> u64 {
        let b: usize = self.batch[..self.rank].iter().product();
        (b * self.m * self.n * self.k) as u64
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32], cpu: Cpu, par: &dyn Parallel) {
        let (Ok(a), Ok(b), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let (av, bv, ys) = (inp::<f32>(mem, &a), inp::<f32>(mem, &b), out::<f32>(mem, &y));
        let c: &[f32] = io.opt(2).map_or(&[], |c| inp(mem, &c));
        let (m, n, k) = (self.m, self.n, self.k);
        let batches: usize = self.batch[..self.rank].iter().product();
        let mut idx = [0usize; MAX_BATCH_RANK];
        for bi in 0..batches {
            let (mut ao, mut bo) = (0, 0);
            for d in 0..self.rank {
                ao += idx[d] * self.a_str[d];
                bo += idx[d] * self.b_str[d];
            }
            let yb = &mut ys[bi * m * n..(bi + 1) * m * n];
            if self.fast_ok() {
                self.fast(cpu, par, &av[ao..], &bv[bo..], c, yb, scratch);
            } else {
                self.one(&av[ao..], &bv[bo..], c, yb);
            }
            for d in (0..self.rank).rev() {
                idx[d] += 1;
                if idx[d] < self.batch[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        let _ = k;
    }

    /// One `m x n` product into `y` with the fast kernel (split into tasks on `par`).
    #[allow(clippy::too_many_arguments)]
    fn fast(&self, cpu: Cpu, par: &dyn Parallel, a: &[f32], b: &[f32], c: &[f32], y: &mut [f32], scratch: &mut [f32]) {
        let (m, n, k) = (self.m, self.n, self.k);
        let a_op = if self.trans_a {
            Operand::Strided { data: a, rs: 1, cs: m }
        } else {
            Operand::Strided { data: a, rs: k, cs: 1 }
        };
        let b_op = match (self.b_packed, self.trans_b) {
            (true, _) => Operand::Packed(b),
            (false, true) => Operand::Strided { data: b, rs: 1, cs: k },
            (false, false) => Operand::Strided { data: b, rs: n, cs: 1 },
        };
        let bias = match self.bias {
            BiasKind::PerColumn => Bias::PerCol(c),
            BiasKind::PerRow => Bias::PerRow(c),
            _ => Bias::None,
        };
        fast::gemm_par(par, cpu, (m, n, k), a_op, b_op, y, n.max(1), bias, self.act.fast(), scratch);
    }

    /// One `m x n` product into `y`.
    fn one(&self, a: &[f32], b: &[f32], c: &[f32], y: &mut [f32]) {
        let (m, n, k) = (self.m, self.n, self.k);
        let at = |i: usize, p: usize| if self.trans_a { a[p * m + i] } else { a[i * k + p] };
        for i in 0..m {
            let row = &mut y[i * n..(i + 1) * n];
            row.fill(0.0);
            if self.trans_b {
                for (j, o) in row.iter_mut().enumerate() {
                    let bj = &b[j * k..(j + 1) * k];
                    let mut acc = 0.0f32;
                    for p in 0..k {
                        acc += at(i, p) * bj[p];
                    }
                    *o = acc;
                }
            } else {
                for p in 0..k {
                    let s = at(i, p);
                    for (o, &q) in row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                        *o += s * q;
                    }
                }
            }
            for (j, o) in row.iter_mut().enumerate() {
                let bias = match self.bias {
                    BiasKind::None => 0.0,
                    BiasKind::PerColumn => c[j],
                    BiasKind::Scalar => c[0],
                    BiasKind::PerRow => c[i],
                    BiasKind::Full => c[i * n + j],
                };
                *o = self.act.apply(self.alpha * *o + self.beta * bias);
            }
        }
    }
}
