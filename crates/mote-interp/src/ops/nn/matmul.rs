//! Gemm, MatMul, Einsum and Det.

use mote_ir::ops::nn::{Equation, Label};
use mote_ir::{Data, Elem, Tensor};
use mote_kernels::reference::elementwise::ref_binary;
use mote_kernels::reference::nn::Mac;
use mote_kernels::reference::nn::gemm::{det_in_place, matmul_acc};

use super::{broadcast_index, buffer, float_kernel};
use crate::error::OpError;
use crate::ops::elementwise::broadcast_shape;
use crate::ops::{downcast, upcast};
use crate::{bail, op_err};

/// Runs a generic [`Mac`] computation on same-dtype inputs: f16/bf16 compute in f32 and round
/// once; integers wrap.
macro_rules! mac_dispatch {
    ($op:expr, $ts:expr, |$T:ident, $up:ident| $body:expr) => {{
        let ts: &[&Tensor] = $ts;
        let dtype = ts[0].dtype();
        if let Some(t) = ts.iter().find(|t| t.dtype() != dtype) {
            bail!("{}: inputs must share one dtype, got {} and {}", $op, dtype, t.dtype());
        }
        let $up: Vec<Tensor> = ts.iter().map(|t| upcast(t)).collect::<Result<_, _>>()?;
        let y: Tensor = match $up[0].data() {
            Data::F32(_) => {
                type $T = f32;
                $body
            }
            Data::F64(_) => {
                type $T = f64;
                $body
            }
            Data::I8(_) => {
                type $T = i8;
                $body
            }
            Data::U8(_) => {
                type $T = u8;
                $body
            }
            Data::I16(_) => {
                type $T = i16;
                $body
            }
            Data::U16(_) => {
                type $T = u16;
                $body
            }
            Data::I32(_) => {
                type $T = i32;
                $body
            }
            Data::U32(_) => {
                type $T = u32;
                $body
            }
            Data::I64(_) => {
                type $T = i64;
                $body
            }
            Data::U64(_) => {
                type $T = u64;
                $body
            }
            _ => bail!("{} is not defined for {dtype}", $op),
        };
        downcast(y, dtype)
    }};
}

/// `Gemm`: `alpha * A' * B' + beta * C` (float dtypes), C broadcast to `[M, N]`.
pub fn gemm(
    a: &Tensor,
    b: &Tensor,
    c: Option<&Tensor>,
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
) -> Result<Tensor, OpError> {
    let (&[a0, a1], &[b0, b1]) = (a.shape(), b.shape()) else {
        bail!("Gemm: A and B must be 2-D, got {:?} and {:?}", a.shape(), b.shape());
    };
    let (m, k) = if trans_a { (a1, a0) } else { (a0, a1) };
    let (k2, n) = if trans_b { (b1, b0) } else { (b0, b1) };
    if k != k2 {
        bail!("Gemm: inner dimensions differ: A' is {m}x{k}, B' is {k2}x{n}");
    }
    if let Some(c) = c
        && broadcast_shape(c.shape(), &[m, n]).ok().as_deref() != Some(&[m, n][..])
    {
        bail!("Gemm: C of shape {:?} does not broadcast to [{m}, {n}]", c.shape());
    }
    if a.dtype() != b.dtype() {
        bail!("Gemm: A is {} but B is {}", a.dtype(), b.dtype());
    }
    let dtype = a.dtype();
    let (a, b, c) = (upcast(a)?, upcast(b)?, c.map(upcast).transpose()?);
    let y = float_kernel!(dtype, "Gemm", |T| {
        let (av, bv) = (a.typed::<T>()?, b.typed::<T>()?);
        // B' is made contiguous so the inner loop is.
        let bt;
        let bv = if trans_b {
            let mut t = buffer::<T>(&[k, n])?;
            for j in 0..n {
                for p in 0..k {
                    t[p * n + j] = bv[j * k + p];
                }
            }
            bt = t;
            &bt[..]
        } else {
            bv
        };
        let mut y = buffer::<T>(&[m, n])?;
        let a_strides = if trans_a { (1, m) } else { (k, 1) };
        matmul_acc(m, k, n, av, a_strides, bv, (n, 1), &mut y);
        let al = alpha as T;
        y.iter_mut().for_each(|v| *v *= al);
        if let Some(c) = &c
            && beta != 0.0
        {
            let be = beta as T;
            let cv = c.typed::<T>()?;
            let prod = y.clone();
            ref_binary(&prod, &[m, n], cv, c.shape(), &mut y, &[m, n], |p, q| p + be * q);
        }
        Tensor::from_vec(vec![m, n], y)?
    });
    downcast(y, dtype)
}

/// Batched product with numpy broadcasting of the batch axes.
fn matmul_t<T: Mac + Elem>(a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    let (sa, sb) = (a.shape(), b.shape());
    if sa.is_empty() || sb.is_empty() {
        bail!("MatMul: operands must have rank >= 1, got {sa:?} and {sb:?}");
    }
    let a2: Vec<usize> = if sa.len() == 1 { vec![1, sa[0]] } else { sa.to_vec() };
    let b2: Vec<usize> = if sb.len() == 1 { vec![sb[0], 1] } else { sb.to_vec() };
    let (ra, rb) = (a2.len(), b2.len());
    let (m, k, k2, n) = (a2[ra - 2], a2[ra - 1], b2[rb - 2], b2[rb - 1]);
    if k != k2 {
        bail!("MatMul: inner dimensions differ: {sa:?} x {sb:?}");
    }
    let batch = broadcast_shape(&a2[..ra - 2], &b2[..rb - 2]).map_err(|e| op_err!("MatMul: batch axes: {}", e.0))?;
    let mut shape = batch.clone();
    if sa.len() > 1 {
        shape.push(m);
    }
    if sb.len() > 1 {
        shape.push(n);
    }
    let (av, bv) = (a.typed::<T>()?, b.typed::<T>()?);
    let mut y = buffer::<T>(&shape)?;
    // Batch offsets of A and B through broadcasting (a broadcast index map over the batch).
    let nb: usize = batch.iter().product();
    let (ia, ib) = (broadcast_index(&a2[..ra - 2], &batch)?, broadcast_index(&b2[..rb - 2], &batch)?);
    for bi in 0..nb {
        let ap = &av[ia[bi] * m * k..][..m * k];
        let bp = &bv[ib[bi] * k * n..][..k * n];
        matmul_acc(m, k, n, ap, (k, 1), bp, (n, 1), &mut y[bi * m * n..][..m * n]);
    }
    Ok(Tensor::from_vec(shape, y)?)
}

/// Numpy `matmul` for every numeric dtype (integers wrap).
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    mac_dispatch!("MatMul", &[a, b], |T, up| matmul_t::<T>(&up[0], &up[1])?)
}

/// Strides per label: operand axes with the same label add up (a diagonal); broadcast axes
/// of size 1 get stride 0.
fn einsum_t<T: Mac + Elem>(eq: &Equation, ts: &[Tensor]) -> Result<Tensor, OpError> {
    // Label ids: letters by first appearance, then the ellipsis axes.
    let mut letters: Vec<u8> = Vec::new();
    for l in eq.inputs.iter().flatten() {
        if let Label::Letter(c) = l
            && !letters.contains(c)
        {
            letters.push(*c);
        }
    }
    let mut erank = 0;
    let mut eranks = Vec::new();
    for (i, t) in ts.iter().enumerate() {
        let e = eq.ellipsis_rank(i, t.rank()).map_err(|e| op_err!("{e}"))?;
        eranks.push(e);
        erank = erank.max(e);
    }
    let nl = letters.len() + erank;
    let mut size: Vec<Option<usize>> = vec![None; nl];
    // Per operand: (label id, axis size, axis stride) for each axis.
    let mut axes: Vec<Vec<(usize, usize, usize)>> = Vec::new();
    for (i, t) in ts.iter().enumerate() {
        let mut ids = Vec::new();
        for l in &eq.inputs[i] {
            match l {
                Label::Letter(c) => ids.push(letters.iter().position(|d| d == c).expect("collected above")),
                Label::Ellipsis => ids.extend((0..eranks[i]).map(|j| letters.len() + erank - eranks[i] + j)),
            }
        }
        let mut stride = 1;
        let mut ax = vec![(0, 0, 0); ids.len()];
        for (j, &id) in ids.iter().enumerate().rev() {
            ax[j] = (id, t.shape()[j], stride);
            stride *= t.shape()[j];
        }
        for &(id, d, _) in &ax {
            let is_ell = id >= letters.len();
            size[id] = match size[id] {
                None => Some(d),
                Some(s) if s == d => Some(s),
                Some(1) if is_ell => Some(d),
                Some(s) if is_ell && d == 1 => Some(s),
                Some(s) => bail!("Einsum: a subscript has sizes {s} and {d}"),
            };
        }
        axes.push(ax);
    }
    let size: Vec<usize> = size.into_iter().map(|s| s.unwrap_or(1)).collect();
    let strides: Vec<Vec<usize>> = axes
        .iter()
        .map(|ax| {
            let mut st = vec![0; nl];
            for &(id, d, s) in ax {
                if d != 1 || size[id] == 1 {
                    st[id] += s;
                }
            }
            st
        })
        .collect();
    let mut out_ids = Vec::new();
    for l in &eq.output {
        match l {
            Label::Letter(c) => {
                out_ids.push(letters.iter().position(|d| d == c).ok_or_else(|| op_err!("Einsum: bad output"))?)
            }
            Label::Ellipsis => out_ids.extend(letters.len()..nl),
        }
    }
    let shape: Vec<usize> = out_ids.iter().map(|&id| size[id]).collect();
    let mut ost = vec![0; nl];
    let mut s = 1;
    for &id in out_ids.iter().rev() {
        ost[id] = s;
        s *= size[id];
    }
    let mut y = buffer::<T>(&shape)?;
    let total = size.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| op_err!("Einsum: too large"))?;
    if total > 1 << 32 {
        bail!("Einsum: {total} terms is too many for the reference interpreter");
    }
    let data: Vec<&[T]> = ts.iter().map(|t| t.typed::<T>()).collect::<Result<_, _>>()?;
    let mut idx = vec![0usize; nl];
    for _ in 0..total {
        let mut p: Option<T> = None;
        for (d, st) in data.iter().zip(&strides) {
            let off: usize = idx.iter().zip(st).map(|(i, s)| i * s).sum();
            let v = d[off];
            p = Some(match p {
                None => v,
                Some(q) => T::mac(T::default(), q, v),
            });
        }
        let o: usize = idx.iter().zip(&ost).map(|(i, s)| i * s).sum();
        if let Some(p) = p {
            y[o] = T::mac(y[o], p, T::ONE);
        }
        mote_core::shape::next_index(&mut idx, &size);
    }
    Ok(Tensor::from_vec(shape, y)?)
}

/// Einsum over any number of operands of one numeric dtype.
pub fn einsum(eq: &Equation, ts: &[&Tensor]) -> Result<Tensor, OpError> {
    if ts.len() != eq.inputs.len() {
        bail!("Einsum: the equation has {} operands, got {} inputs", eq.inputs.len(), ts.len());
    }
    if ts.is_empty() {
        bail!("Einsum needs at least one input");
    }
    mac_dispatch!("Einsum", ts, |T, up| einsum_t::<T>(eq, &up)?)
}

/// Determinant of each trailing `[M, M]` matrix.
pub fn det(x: &Tensor) -> Result<Tensor, OpError> {
    let s = x.shape();
    let r = s.len();
    if r < 2 || s[r - 1] != s[r - 2] {
        bail!("Det: input must be [*, M, M], got {s:?}");
    }
    let n = s[r - 1];
    let shape = s[..r - 2].to_vec();
    let dtype = x.dtype();
    let x = upcast(x)?;
    let y = float_kernel!(dtype, "Det", |T| {
        let v = x.typed::<T>()?;
        let mut y = buffer::<T>(&shape)?;
        let mut scratch = vec![0.0 as T; n * n];
        for (i, o) in y.iter_mut().enumerate() {
            scratch.copy_from_slice(&v[i * n * n..][..n * n]);
            *o = det_in_place(n, &mut scratch);
        }
        Tensor::from_vec(shape, y)?
    });
    downcast(y, dtype)
}
