//! Index-driven ops with run-time indices (i64 or i32, negative counts from the end):
//! `GatherElements`, `ScatterElements`, `GatherND`, `ScatterND`. Every index is checked while
//! running; an out-of-range one is `RtError::Data`, never an out-of-bounds access.
//!
//! Attributes:
//! - GatherElements: `[axis, rank, data_dims[rank], idx_dims[rank]]` (y has idx_dims);
//! - ScatterElements: `[reduction, axis, rank, data_dims[rank], idx_dims[rank]]` (updates have
//!   idx_dims, y has data_dims);
//! - GatherND: `[batch_dims, r, data_dims[r], q, idx_dims[q]]`;
//! - ScatterND: `[reduction, r, data_dims[r], q, idx_dims[q]]` (batch_dims 0).
//!
//! Reductions: 0 none (replace), 1 add, 2 mul, 3 max, 4 min; reductions other than none take
//! f32, f64 and the integers (wrapping), in index order as the interpreter.

use mote_core::DType;
use mote_format::{MAX_RANK, StepRef, TensorRef};

use super::{Io, inp, out, product, want_numel};
use crate::error::StepFault;
use crate::mem::{Elem, Mem, elem_size};
use crate::words::Words;

/// Stable codes of the scatter reductions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ScatterReduction {
    None = 0,
    Add = 1,
    Mul = 2,
    Max = 3,
    Min = 4,
}

impl ScatterReduction {
    const ALL: [ScatterReduction; 5] = [
        ScatterReduction::None,
        ScatterReduction::Add,
        ScatterReduction::Mul,
        ScatterReduction::Max,
        ScatterReduction::Min,
    ];

    fn decode(w: &mut Words<'_, '_>) -> Result<ScatterReduction, StepFault> {
        Ok(ScatterReduction::ALL[w.upto(4)?])
    }

    /// Whether the reduction is defined on `d` in the runtime.
    pub fn accepts(self, d: DType) -> bool {
        self == ScatterReduction::None || matches!(d, DType::F32 | DType::F64) || d.is_int()
    }
}

/// Reads index `j` of `t` (i64 or i32), normalized against `len`.
fn index(mem: &Mem<'_>, t: &TensorRef<'_>, j: usize, len: usize) -> Result<usize, &'static str> {
    let v = if t.dtype == DType::I64 { inp::<i64>(mem, t)[j] } else { inp::<i32>(mem, t)[j] as i64 };
    let len = len as i64;
    let v = if v < 0 { v + len } else { v };
    if (0..len).contains(&v) { Ok(v as usize) } else { Err("index out of range") }
}

fn want_index(t: &TensorRef<'_>) -> Result<(), StepFault> {
    if matches!(t.dtype, DType::I64 | DType::I32) { Ok(()) } else { Err(StepFault::DType) }
}

/// Dims of rank `r` read from the words.
fn read_dims(w: &mut Words<'_, '_>, r: usize) -> Result<[usize; MAX_RANK], StepFault> {
    let mut d = [1usize; MAX_RANK];
    w.usizes(&mut d[..r], u32::MAX)?;
    Ok(d)
}

fn strides(dims: &[usize]) -> [usize; MAX_RANK] {
    let mut s = [0usize; MAX_RANK];
    let mut acc = 1usize;
    for k in (0..dims.len()).rev() {
        s[k] = acc;
        acc = acc.saturating_mul(dims[k]);
    }
    s
}

/// The shared index geometry of GatherElements / ScatterElements.
#[derive(Clone, Copy, Debug)]
pub struct Elements {
    axis: usize,
    rank: usize,
    data: [usize; MAX_RANK],
    idx: [usize; MAX_RANK],
}

impl Elements {
    fn decode(w: &mut Words<'_, '_>) -> Result<Elements, StepFault> {
        let axis = w.upto(MAX_RANK as u32 - 1)?;
        let rank = w.upto(MAX_RANK as u32)?;
        let (data, idx) = (read_dims(w, rank)?, read_dims(w, rank)?);
        if axis >= rank || (0..rank).any(|k| k != axis && idx[k] > data[k]) {
            return Err(StepFault::Attrs);
        }
        product(&data[..rank])?;
        product(&idx[..rank])?;
        Ok(Elements { axis, rank, data, idx })
    }

    fn data_numel(&self) -> usize {
        self.data[..self.rank].iter().product()
    }

    fn idx_numel(&self) -> usize {
        self.idx[..self.rank].iter().product()
    }

    /// Calls `f(j, p)` for each index position `j` with the data offset `p` it addresses.
    fn walk(&self, mem: &Mem<'_>, ind: &TensorRef<'_>, mut f: impl FnMut(usize, usize)) -> Result<(), &'static str> {
        let (r, a) = (self.rank, self.axis);
        let ds = strides(&self.data[..r]);
        let mut at = [0usize; MAX_RANK];
        for j in 0..self.idx_numel() {
            let mut p = index(mem, ind, j, self.data[a])? * ds[a];
            for k in (0..r).filter(|&k| k != a) {
                p += at[k] * ds[k];
            }
            f(j, p);
            for k in (0..r).rev() {
                at[k] += 1;
                if at[k] < self.idx[k] {
                    break;
                }
                at[k] = 0;
            }
        }
        Ok(())
    }
}

/// `GatherElements`.
#[derive(Clone, Copy, Debug)]
pub struct GatherElements {
    g: Elements,
    size: usize,
}

impl GatherElements {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<GatherElements, StepFault> {
        io.arity(2, 2, 1)?;
        let mut w = Words::new(step);
        let g = Elements::decode(&mut w)?;
        w.end()?;
        let (x, i, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        want_index(&i)?;
        if x.dtype != y.dtype {
            return Err(StepFault::DType);
        }
        want_numel(&x, g.data_numel())?;
        want_numel(&i, g.idx_numel())?;
        want_numel(&y, g.idx_numel())?;
        Ok(GatherElements { g, size: elem_size(x.dtype) })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), &'static str> {
        let (Ok(x), Ok(i), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return Ok(()) };
        fn go<T: Elem>(
            g: &Elements,
            mem: &Mem<'_>,
            x: &TensorRef<'_>,
            i: &TensorRef<'_>,
            y: &TensorRef<'_>,
        ) -> Result<(), &'static str> {
            let (src, dst) = (inp::<T>(mem, x), out::<T>(mem, y));
            g.walk(mem, i, |j, p| dst[j] = src[p])
        }
        match self.size {
            1 => go::<u8>(&self.g, mem, &x, &i, &y),
            2 => go::<u16>(&self.g, mem, &x, &i, &y),
            4 => go::<u32>(&self.g, mem, &x, &i, &y),
            _ => go::<u64>(&self.g, mem, &x, &i, &y),
        }
    }
}

/// The shared index geometry of GatherND / ScatterND: tuples of `kk` indices into the axes
/// after `batch` batch axes, each addressing a slice of `slice_len` elements.
#[derive(Clone, Copy, Debug)]
pub struct Nd {
    batch: usize,
    r: usize,
    data: [usize; MAX_RANK],
    kk: usize,
    tuples: usize,
    per_batch: usize,
    slice_len: usize,
}

impl Nd {
    fn decode(w: &mut Words<'_, '_>, batch: usize) -> Result<Nd, StepFault> {
        let r = w.upto(MAX_RANK as u32)?;
        let data = read_dims(w, r)?;
        let q = w.upto(MAX_RANK as u32)?;
        let idx = read_dims(w, q)?;
        if r == 0 || q == 0 || batch >= r.min(q) || data[..batch] != idx[..batch] {
            return Err(StepFault::Attrs);
        }
        let kk = idx[q - 1];
        if kk < 1 || kk > r - batch {
            return Err(StepFault::Attrs);
        }
        product(&data[..r])?;
        Ok(Nd {
            batch,
            r,
            data,
            kk,
            tuples: product(&idx[..q - 1])?,
            per_batch: product(&idx[batch..q - 1])?,
            slice_len: product(&data[batch + kk..r])?,
        })
    }

    fn data_numel(&self) -> usize {
        self.data[..self.r].iter().product()
    }

    /// Elements of the indices tensor.
    fn idx_numel(&self) -> Result<usize, StepFault> {
        product(&[self.tuples, self.kk])
    }

    /// Elements gathered (or scattered): one slice per tuple.
    fn moved(&self) -> Result<usize, StepFault> {
        product(&[self.tuples, self.slice_len])
    }

    /// Calls `f(t, offset)` for each tuple `t` with the data offset of its slice.
    fn walk(&self, mem: &Mem<'_>, ind: &TensorRef<'_>, mut f: impl FnMut(usize, usize)) -> Result<(), &'static str> {
        let ds = strides(&self.data[..self.r]);
        let batch_stride: usize = self.data[self.batch..self.r].iter().product();
        for t in 0..self.tuples {
            let mut off = (t / self.per_batch.max(1)) * batch_stride;
            for j in 0..self.kk {
                let a = self.batch + j;
                off += index(mem, ind, t * self.kk + j, self.data[a])? * ds[a];
            }
            f(t, off);
        }
        Ok(())
    }
}

/// `GatherND`.
#[derive(Clone, Copy, Debug)]
pub struct GatherNd {
    g: Nd,
    size: usize,
}

impl GatherNd {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<GatherNd, StepFault> {
        io.arity(2, 2, 1)?;
        let mut w = Words::new(step);
        let batch = w.upto(MAX_RANK as u32)?;
        let g = Nd::decode(&mut w, batch)?;
        w.end()?;
        let (x, i, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        want_index(&i)?;
        if x.dtype != y.dtype {
            return Err(StepFault::DType);
        }
        want_numel(&x, g.data_numel())?;
        want_numel(&i, g.idx_numel()?)?;
        want_numel(&y, g.moved()?)?;
        Ok(GatherNd { g, size: elem_size(x.dtype) })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), &'static str> {
        let (Ok(x), Ok(i), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return Ok(()) };
        fn go<T: Elem>(
            g: &Nd,
            mem: &Mem<'_>,
            x: &TensorRef<'_>,
            i: &TensorRef<'_>,
            y: &TensorRef<'_>,
        ) -> Result<(), &'static str> {
            let (src, dst) = (inp::<T>(mem, x), out::<T>(mem, y));
            let n = g.slice_len;
            g.walk(mem, i, |t, s| dst[t * n..(t + 1) * n].copy_from_slice(&src[s..s + n]))
        }
        match self.size {
            1 => go::<u8>(&self.g, mem, &x, &i, &y),
            2 => go::<u16>(&self.g, mem, &x, &i, &y),
            4 => go::<u32>(&self.g, mem, &x, &i, &y),
            _ => go::<u64>(&self.g, mem, &x, &i, &y),
        }
    }
}

/// Where a scatter writes.
#[derive(Clone, Copy, Debug)]
enum Pattern {
    Elements(Elements),
    Nd(Nd),
}

/// `ScatterElements` or `ScatterND`: y = data, then the updates written (or combined) at the
/// indexed positions, in index order.
#[derive(Clone, Copy, Debug)]
pub struct Scatter {
    pattern: Pattern,
    reduction: ScatterReduction,
    dtype: DType,
}

impl Scatter {
    /// `nd`: ScatterND's attributes, else ScatterElements'.
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>, nd: bool) -> Result<Scatter, StepFault> {
        io.arity(3, 3, 1)?;
        let mut w = Words::new(step);
        let reduction = ScatterReduction::decode(&mut w)?;
        let pattern =
            if nd { Pattern::Nd(Nd::decode(&mut w, 0)?) } else { Pattern::Elements(Elements::decode(&mut w)?) };
        w.end()?;
        let (x, i, u, y) = (io.input(0)?, io.input(1)?, io.input(2)?, io.output(0)?);
        want_index(&i)?;
        if x.dtype != y.dtype || u.dtype != x.dtype {
            return Err(StepFault::DType);
        }
        if !reduction.accepts(x.dtype) {
            return Err(StepFault::DType);
        }
        let (data, idx, upd) = match &pattern {
            Pattern::Elements(g) => (g.data_numel(), g.idx_numel(), g.idx_numel()),
            Pattern::Nd(g) => (g.data_numel(), g.idx_numel()?, g.moved()?),
        };
        want_numel(&x, data)?;
        want_numel(&y, data)?;
        want_numel(&i, idx)?;
        want_numel(&u, upd)?;
        Ok(Scatter { pattern, reduction, dtype: x.dtype })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), &'static str> {
        let (Ok(x), Ok(i), Ok(u), Ok(y)) = (io.input(0), io.input(1), io.input(2), io.output(0)) else { return Ok(()) };
        macro_rules! go {
            ($t:ty, $f:expr) => {{
                let f: fn($t, $t) -> $t = $f;
                let (dst, upd) = (out::<$t>(mem, &y), inp::<$t>(mem, &u));
                dst.copy_from_slice(inp::<$t>(mem, &x));
                match &self.pattern {
                    Pattern::Elements(g) => g.walk(mem, &i, |j, p| dst[p] = f(dst[p], upd[j])),
                    Pattern::Nd(g) => {
                        let n = g.slice_len;
                        g.walk(mem, &i, |t, s| {
                            for k in 0..n {
                                dst[s + k] = f(dst[s + k], upd[t * n + k]);
                            }
                        })
                    }
                }
            }};
        }
        macro_rules! reduce {
            ($t:ty, $add:expr, $mul:expr) => {
                match self.reduction {
                    ScatterReduction::None => go!($t, |_, u| u),
                    ScatterReduction::Add => go!($t, $add),
                    ScatterReduction::Mul => go!($t, $mul),
                    ScatterReduction::Max => go!($t, |a, u| if u > a { u } else { a }),
                    ScatterReduction::Min => go!($t, |a, u| if u < a { u } else { a }),
                }
            };
        }
        macro_rules! int {
            ($t:ty) => {
                reduce!($t, |a, u| a.wrapping_add(u), |a, u| a.wrapping_mul(u))
            };
        }
        match self.dtype {
            DType::F32 => reduce!(f32, |a, u| a + u, |a, u| a * u),
            DType::F64 => reduce!(f64, |a, u| a + u, |a, u| a * u),
            DType::I8 => int!(i8),
            DType::U8 => int!(u8),
            DType::I16 => int!(i16),
            DType::U16 => int!(u16),
            DType::I32 => int!(i32),
            DType::U32 => int!(u32),
            DType::I64 => int!(i64),
            DType::U64 => int!(u64),
            // Replacement only (decode checked): move elements by size.
            d => match elem_size(d) {
                1 => go!(u8, |_, u| u),
                2 => go!(u16, |_, u| u),
                4 => go!(u32, |_, u| u),
                _ => go!(u64, |_, u| u),
            },
        }
    }
}
