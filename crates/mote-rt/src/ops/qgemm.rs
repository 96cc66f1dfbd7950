//! `QGemm` (64): batched integer matrix product `Y[b] = (A[b] - za) (B[b] - zb)` of u8/i8
//! operands with exact i32 accumulation (MatMulInteger, QLinearMatMul), then the epilogue shared
//! with `QConv` ([`Epilogue`]): an optional i32 bias, and either the i32 accumulators as they are
//! or a requantization to u8/i8.
//!
//! Attributes: `[m, n, k, za_per, zb_per, mode, bias_per, mult_per, batch_rank (<= 6),
//! batch_dims[r], a_batch_strides[r], b_batch_strides[r]]`. Inputs `a, b, a_zero_point?,
//! b_zero_point?, bias?, multiplier?, y_zero_point?`; `y` contiguous `[batch..., m, n]`.
//! `A[b]` is row-major `m x k` at `a_batch_strides · index` (elements); `B[b]` row-major `k x n`,
//! or packed by the compiler (`Layout::Packed`, `layout_param = QPACK_FORMAT_VERSION`,
//! `mote_kernels::fast::qgemm::qpack_b` per matrix; its batch strides count bytes). Zero
//! points have their operand's type: `za_per` 0 (one value) or 1 (per row, `[m]`), `zb_per` 0
//! or 2 (per column, `[n]`); an omitted zero point is 0 and its word 0.

use mote_core::DType;
use mote_format::{Layout, StepRef, TensorRef};
use mote_kernels::fast::qgemm::{Packed, Plain, QCOLS, QElem, QNR, QPACK_FORMAT_VERSION, qgemm};
use mote_kernels::reference::quant::requantize;

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Most batch dims.
pub const MAX_QGEMM_BATCH_RANK: usize = 6;

/// What a per-operand vector (zero point, bias, multiplier) is indexed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Per {
    /// One value for the whole product.
    Tensor = 0,
    /// One value per row of the product (QConv: per output channel).
    Row = 1,
    /// One value per column of the product.
    Col = 2,
}

impl Per {
    pub(super) fn decode(w: &mut Words<'_, '_>) -> Result<Per, StepFault> {
        Ok([Per::Tensor, Per::Row, Per::Col][w.upto(2)?])
    }

    /// The vector's length for a `rows x cols` product.
    fn len(self, rows: usize, cols: usize) -> usize {
        match self {
            Per::Tensor => 1,
            Per::Row => rows,
            Per::Col => cols,
        }
    }

    #[inline(always)]
    fn at(self, row: usize, col: usize) -> usize {
        match self {
            Per::Tensor => 0,
            Per::Row => row,
            Per::Col => col,
        }
    }
}

/// How accumulators become outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The i32 accumulators (plus bias): MatMulInteger, ConvInteger.
    Int32 = 0,
    /// ONNX float requantization (QLinearMatMul, QLinearConv): `saturate(round_half_even(acc *
    /// multiplier + y_zero_point))` computed in f64, the multiplier an f32 tensor
    /// (`a_scale * b_scale / y_scale`, rounded as the model's scale type, by the compiler).
    Float = 1,
}

/// The words and inputs after the product: `[mode, bias_per, mult_per]`, inputs 4 (bias, i32),
/// 5 (multiplier, f32; `Float` only) and 6 (y zero point, y's type; `Float` only).
#[derive(Clone, Copy, Debug)]
pub struct Epilogue {
    mode: Mode,
    bias: Option<Per>,
    mult: Per,
}

impl Epilogue {
    /// Decodes the three words and checks inputs 4..=6 and `y`'s type for a `rows x cols`
    /// product (`by_col`: whether bias and multiplier may be per column).
    pub(super) fn decode(
        w: &mut Words<'_, '_>,
        io: &Io<'_>,
        rows: usize,
        cols: usize,
        by_col: bool,
    ) -> Result<Epilogue, StepFault> {
        let mode = [Mode::Int32, Mode::Float][w.upto(1)?];
        let (bias_per, mult_per) = (Per::decode(w)?, Per::decode(w)?);
        if !by_col && (bias_per == Per::Col || mult_per == Per::Col) {
            return Err(StepFault::Attrs);
        }
        let y = io.output(0)?;
        let bias = match io.opt(4) {
            Some(b) => {
                want(&b, DType::I32)?;
                want_numel(&b, bias_per.len(rows, cols))?;
                Some(bias_per)
            }
            None if bias_per == Per::Tensor => None,
            None => return Err(StepFault::Attrs),
        };
        match mode {
            Mode::Int32 => {
                want(&y, DType::I32)?;
                if io.opt(5).is_some() || io.opt(6).is_some() || mult_per != Per::Tensor {
                    return Err(StepFault::Arity);
                }
            }
            Mode::Float => {
                if !matches!(y.dtype, DType::U8 | DType::I8) {
                    return Err(StepFault::DType);
                }
                let m = io.opt(5).ok_or(StepFault::Arity)?;
                want(&m, DType::F32)?;
                want_numel(&m, mult_per.len(rows, cols))?;
                if let Some(z) = io.opt(6) {
                    want(&z, y.dtype)?;
                    want_numel(&z, 1)?;
                }
            }
        }
        Ok(Epilogue { mode, bias, mult: mult_per })
    }

    /// The output writer of one run.
    pub(super) fn sink<'m>(&self, mem: &Mem<'m>, io: &Io<'_>) -> Option<Sink<'m>> {
        let y = io.output(0).ok()?;
        let zp = io.opt(6).map_or(0, |z| match z.dtype {
            DType::U8 => inp::<u8>(mem, &z)[0] as i32,
            _ => inp::<i8>(mem, &z)[0] as i32,
        });
        let out = match (self.mode, y.dtype) {
            (Mode::Int32, _) => YOut::I32(out(mem, &y)),
            (Mode::Float, DType::U8) => YOut::U8(out(mem, &y)),
            _ => YOut::I8(out(mem, &y)),
        };
        Some(Sink {
            y: out,
            bias: io.opt(4).map_or(&[], |b| inp(mem, &b)),
            mult: io.opt(5).map_or(&[], |m| inp(mem, &m)),
            zp,
            ep: *self,
        })
    }
}

#[derive(Debug)]
enum YOut<'m> {
    I32(&'m mut [i32]),
    U8(&'m mut [u8]),
    I8(&'m mut [i8]),
}

/// Writes accumulators as outputs (bias, then the mode's conversion).
#[derive(Debug)]
pub struct Sink<'m> {
    y: YOut<'m>,
    bias: &'m [i32],
    mult: &'m [f32],
    zp: i32,
    ep: Epilogue,
}

impl Sink<'_> {
    /// Stores `acc` (columns `col0..` of row `row` of the product) at `y[at..]`.
    #[inline]
    pub(super) fn put(&mut self, row: usize, col0: usize, at: usize, acc: &[i32]) {
        let bias = |c: usize| self.ep.bias.map_or(0, |p| self.bias[p.at(row, col0 + c)]);
        let mult = |c: usize| self.mult[self.ep.mult.at(row, col0 + c)] as f64;
        match &mut self.y {
            YOut::I32(y) => {
                for (c, (o, &a)) in y[at..][..acc.len()].iter_mut().zip(acc).enumerate() {
                    *o = a.wrapping_add(bias(c));
                }
            }
            YOut::U8(y) => {
                for (c, (o, &a)) in y[at..][..acc.len()].iter_mut().zip(acc).enumerate() {
                    *o = requantize::<u8>(a.wrapping_add(bias(c)), mult(c), self.zp);
                }
            }
            YOut::I8(y) => {
                for (c, (o, &a)) in y[at..][..acc.len()].iter_mut().zip(acc).enumerate() {
                    *o = requantize::<i8>(a.wrapping_add(bias(c)), mult(c), self.zp);
                }
            }
        }
    }
}

/// A zero point of an 8-bit operand, or 0 when omitted.
pub(super) fn zero_points<'m>(mem: &Mem<'m>, t: Option<TensorRef<'_>>) -> &'m [u8] {
    t.map_or(&[], |z| inp::<u8>(mem, &z))
}

/// The zero point `k` of a vector read as `T` (0 when omitted).
#[inline(always)]
pub(super) fn zp_at<T: QElem>(z: &[u8], per: Per, row: usize, col: usize) -> i32 {
    z.get(per.at(row, col)).map_or(0, |&b| T::from_bits(b).widen())
}

/// Checks an 8-bit operand's zero point `z` (index `i` of the inputs) against `per`.
pub(super) fn check_zp(
    io: &Io<'_>,
    i: usize,
    dtype: DType,
    per: Per,
    rows: usize,
    cols: usize,
) -> Result<(), StepFault> {
    match io.opt(i) {
        Some(z) => {
            want(&z, dtype)?;
            want_numel(&z, per.len(rows, cols))
        }
        None if per == Per::Tensor => Ok(()),
        None => Err(StepFault::Attrs),
    }
}

fn int8(t: &TensorRef<'_>) -> Result<(), StepFault> {
    if matches!(t.dtype, DType::U8 | DType::I8) { Ok(()) } else { Err(StepFault::DType) }
}

/// Scratch bytes for `k x n` products (i16 values, rounded up to whole f32 words).
/// (`mote_kernels::fast::qgemm::qgemm_scratch_len`, saturating: a hostile size then fails the
/// load's scratch check).
pub(super) fn scratch_for(k: usize, n: usize) -> usize {
    let cols = n.div_ceil(QNR).saturating_mul(QNR).min(QCOLS);
    k.saturating_mul(cols).saturating_mul(2).saturating_add(3) & !3
}

/// The scratch as i16 values.
pub(super) fn scratch_i16(scratch: &mut [f32]) -> &mut [i16] {
    // SAFETY: every bit pattern is a valid i16 and f32's alignment is a multiple of i16's, so
    // the prefix and suffix are empty.
    let (_, s, _) = unsafe { scratch.align_to_mut::<i16>() };
    s
}

/// A decoded QGemm step.
#[derive(Clone, Copy, Debug)]
pub struct QGemm {
    m: usize,
    n: usize,
    k: usize,
    za: Per,
    zb: Per,
    ep: Epilogue,
    rank: usize,
    batch: [usize; MAX_QGEMM_BATCH_RANK],
    a_str: [usize; MAX_QGEMM_BATCH_RANK],
    b_str: [usize; MAX_QGEMM_BATCH_RANK],
    b_packed: bool,
}

impl QGemm {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<QGemm, StepFault> {
        io.arity(2, 7, 1)?;
        let mut w = Words::new(step);
        let (m, n, k) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let (za, zb) = (Per::decode(&mut w)?, Per::decode(&mut w)?);
        if za == Per::Col || zb == Per::Row {
            return Err(StepFault::Attrs);
        }
        let ep = Epilogue::decode(&mut w, io, m, n, true)?;
        let rank = w.upto(MAX_QGEMM_BATCH_RANK as u32)?;
        let mut g = QGemm {
            m,
            n,
            k,
            za,
            zb,
            ep,
            rank,
            batch: [1; MAX_QGEMM_BATCH_RANK],
            a_str: [0; MAX_QGEMM_BATCH_RANK],
            b_str: [0; MAX_QGEMM_BATCH_RANK],
            b_packed: false,
        };
        w.usizes(&mut g.batch[..rank], u32::MAX)?;
        w.usizes(&mut g.a_str[..rank], u32::MAX)?;
        w.usizes(&mut g.b_str[..rank], u32::MAX)?;
        w.end()?;

        let (a, b, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        int8(&a)?;
        int8(&b)?;
        check_zp(io, 2, a.dtype, za, m, n)?;
        check_zp(io, 3, b.dtype, zb, m, n)?;
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
        if a.layout != Layout::Plain || extent(&g.a_str, product(&[m, k])?)? > a.numel() {
            return Err(StepFault::Shape);
        }
        g.b_packed = b.layout == Layout::Packed;
        let b_len = if g.b_packed {
            if b.layout_param != QPACK_FORMAT_VERSION {
                return Err(StepFault::Shape);
            }
            // qpack_b_len, without overflow.
            let packed = product(&[n.div_ceil(QNR), QNR, k])?;
            (extent(&g.b_str, packed)? as u64, b.nbytes)
        } else {
            (extent(&g.b_str, product(&[k, n])?)? as u64, b.numel() as u64)
        };
        if b_len.0 > b_len.1 {
            return Err(StepFault::Shape);
        }
        Ok(g)
    }

    pub fn scratch_bytes(&self) -> usize {
        scratch_for(self.k, self.n)
    }

    pub fn macs(&self) -> u64 {
        let b: usize = self.batch[..self.rank].iter().product();
        (b as u64).saturating_mul(self.m as u64).saturating_mul(self.n as u64).saturating_mul(self.k as u64)
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        let (Ok(a), Ok(b)) = (io.input(0), io.input(1)) else { return };
        match (a.dtype, b.dtype) {
            (DType::U8, DType::U8) => self.typed::<u8, u8>(mem, io, scratch),
            (DType::U8, _) => self.typed::<u8, i8>(mem, io, scratch),
            (_, DType::U8) => self.typed::<i8, u8>(mem, io, scratch),
            _ => self.typed::<i8, i8>(mem, io, scratch),
        }
    }

    fn typed<A: QElem + crate::mem::Elem, B: QElem + crate::mem::Elem>(
        &self,
        mem: &Mem<'_>,
        io: &Io<'_>,
        scratch: &mut [f32],
    ) {
        let (Ok(a), Ok(b), Some(mut sink)) = (io.input(0), io.input(1), self.ep.sink(mem, io)) else { return };
        let (av, bv) = (inp::<A>(mem, &a), inp::<B>(mem, &b));
        let (za, zb) = (zero_points(mem, io.opt(2)), zero_points(mem, io.opt(3)));
        let (m, n, k) = (self.m, self.n, self.k);
        let scratch = scratch_i16(scratch);
        let batches: usize = self.batch[..self.rank].iter().product();
        let mut idx = [0usize; MAX_QGEMM_BATCH_RANK];
        for bi in 0..batches {
            let (mut ao, mut bo) = (0, 0);
            for d in 0..self.rank {
                ao += idx[d] * self.a_str[d];
                bo += idx[d] * self.b_str[d];
            }
            let a_mat = &av[ao..];
            let zaf = |i: usize| zp_at::<A>(za, self.za, i, 0);
            let zbf = |j: usize| zp_at::<B>(zb, self.zb, 0, j);
            let put = |i: usize, j0: usize, v: &[i32]| sink.put(i, j0, (bi * m + i) * n + j0, v);
            if self.b_packed {
                let src = Packed::<B, _> { data: &inp::<u8>(mem, &b)[bo..], zb: zbf, _elem: core::marker::PhantomData };
                qgemm(m, n, k, a_mat, zaf, &src, scratch, put);
            } else {
                let src = Plain { data: &bv[bo..], rs: n, cs: 1, zb: zbf };
                qgemm(m, n, k, a_mat, zaf, &src, scratch, put);
            }
            for d in (0..self.rank).rev() {
                idx[d] += 1;
                if idx[d] < self.batch[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
}

/// The QGemm words (see the module doc).
#[cfg(feature = "alloc")]
#[allow(clippy::too_many_arguments)]
pub fn encode_qgemm(
    (m, n, k): (usize, usize, usize),
    za: Per,
    zb: Per,
    ep: EpilogueAttrs,
    batch: &[usize],
    a_strides: &[usize],
    b_strides: &[usize],
) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    w.usize(m).usize(n).usize(k).u32(za as u32).u32(zb as u32);
    ep.encode(&mut w);
    w.usize(batch.len()).usizes(batch).usizes(a_strides).usizes(b_strides);
    w.0
}

/// The epilogue words `[mode, bias_per, mult_per]` (host side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpilogueAttrs {
    pub mode: Mode,
    /// Per what the bias is (ignored without a bias input: encode [`Per::Tensor`]).
    pub bias: Per,
    pub mult: Per,
}

#[cfg(feature = "alloc")]
impl EpilogueAttrs {
    pub(super) fn encode(&self, w: &mut crate::words::WordsOut) {
        w.u32(self.mode as u32).u32(self.bias as u32).u32(self.mult as u32);
    }
}
