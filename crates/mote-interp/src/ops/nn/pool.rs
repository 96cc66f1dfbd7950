//! MaxPool, AveragePool, LpPool, global pooling and MaxUnpool.

use mote_ir::ops::nn::{GlobalPool, PoolAttrs, PoolKind, Resolved, Window};
use mote_ir::{Data, Elem, Tensor, Value, bf16, dispatch_elem, f16};
use mote_kernels::reference::nn::Spatial;
use mote_kernels::reference::nn::pool as k;

use super::{buffer, float_kernel, spatial, split_nc};
use crate::error::OpError;
use crate::ops::{downcast, numel, shape_input, upcast};
use crate::{bail, op_err};

/// MaxPool (plus Indices when a second output is wanted), AveragePool and LpPool.
pub fn pool(a: &PoolAttrs, x: &Tensor, num_outputs: usize) -> Result<Vec<Value>, OpError> {
    let op = match a.kind {
        PoolKind::Max { .. } => "MaxPool",
        PoolKind::Average { .. } => "AveragePool",
        PoolKind::Lp { .. } => "LpPool",
    };
    let (n, c, sp) = split_nc(x, op)?;
    let kernel = a.window.kernel_shape.as_deref().ok_or_else(|| op_err!("{op}: kernel_shape is missing"))?;
    let r = a.window.resolve(sp, kernel).map_err(|e| op_err!("{op}: {e}"))?;
    let (s, pads_end) = spatial(sp, &r)?;
    let mut shape = vec![n, c];
    shape.extend(&r.out);
    let planes = n * c;
    match a.kind {
        PoolKind::Max { col_major } => {
            let (y, ind) = max_pool(x, planes, &s, shape.clone(), col_major, num_outputs > 1)?;
            let mut out = vec![Value::Tensor(y)];
            if let Some(ind) = ind {
                out.push(Value::Tensor(Tensor::from_vec(shape, ind)?));
            }
            Ok(out)
        }
        PoolKind::Average { count_include_pad } => {
            let dtype = x.dtype();
            let x = upcast(x)?;
            let y = float_kernel!(dtype, op, |T| {
                let mut y = buffer::<T>(&shape)?;
                k::avg_pool(planes, &s, pads_end, count_include_pad, x.typed::<T>()?, &mut y);
                Tensor::from_vec(shape, y)?
            });
            Ok(vec![Value::Tensor(downcast(y, dtype)?)])
        }
        PoolKind::Lp { p } => Ok(vec![Value::Tensor(lp_pool(x, planes, &s, p, shape)?)]),
    }
}

fn lp_pool(x: &Tensor, planes: usize, s: &Spatial, p: f32, shape: Vec<usize>) -> Result<Tensor, OpError> {
    let dtype = x.dtype();
    let x = upcast(x)?;
    let y = float_kernel!(dtype, "LpPool", |T| {
        let mut y = buffer::<T>(&shape)?;
        k::lp_pool(planes, s, p as T, x.typed::<T>()?, &mut y);
        Tensor::from_vec(shape, y)?
    });
    downcast(y, dtype)
}

fn max_pool_t<T: Elem>(
    v: &[T],
    lowest: T,
    planes: usize,
    s: &Spatial,
    shape: Vec<usize>,
    col_major: bool,
    want_indices: bool,
) -> Result<(Tensor, Option<Vec<i64>>), OpError> {
    let mut y = buffer::<T>(&shape)?;
    let mut ind = if want_indices { Some(buffer::<i64>(&shape)?) } else { None };
    k::max_pool(planes, s, lowest, v, &mut y, ind.as_deref_mut(), col_major);
    Ok((Tensor::from_vec(shape, y)?, ind))
}

fn max_pool(
    x: &Tensor,
    planes: usize,
    s: &Spatial,
    shape: Vec<usize>,
    col_major: bool,
    want_indices: bool,
) -> Result<(Tensor, Option<Vec<i64>>), OpError> {
    let (p, cm, wi) = (planes, col_major, want_indices);
    match x.data() {
        Data::F32(v) => max_pool_t(v, f32::NEG_INFINITY, p, s, shape, cm, wi),
        Data::F64(v) => max_pool_t(v, f64::NEG_INFINITY, p, s, shape, cm, wi),
        Data::F16(v) => max_pool_t(v, f16::NEG_INFINITY, p, s, shape, cm, wi),
        Data::BF16(v) => max_pool_t(v, bf16::NEG_INFINITY, p, s, shape, cm, wi),
        Data::I8(v) => max_pool_t(v, i8::MIN, p, s, shape, cm, wi),
        Data::U8(v) => max_pool_t(v, u8::MIN, p, s, shape, cm, wi),
        _ => bail!("MaxPool is not defined for {} inputs", x.dtype()),
    }
}

/// A window covering the whole spatial extent.
fn whole(sp: &[usize]) -> Result<Spatial, OpError> {
    let r = Resolved {
        kernel: sp.to_vec(),
        strides: vec![1; sp.len()],
        dilations: vec![1; sp.len()],
        pads_begin: vec![0; sp.len()],
        pads_end: vec![0; sp.len()],
        out: vec![1; sp.len()],
    };
    Ok(spatial(sp, &r)?.0)
}

/// Global pooling over all spatial axes.
pub fn global_pool(g: GlobalPool, x: &Tensor) -> Result<Tensor, OpError> {
    let op = match g {
        GlobalPool::Average => "GlobalAveragePool",
        GlobalPool::Max => "GlobalMaxPool",
        GlobalPool::Lp { .. } => "GlobalLpPool",
    };
    let (n, c, sp) = split_nc(x, op)?;
    let mut shape = vec![n, c];
    shape.extend(std::iter::repeat_n(1, sp.len()));
    let planes = n * c;
    if sp.len() > 3 {
        // Flatten extra spatial axes: global pooling does not care about their layout.
        let flat = x.reshape(vec![n, c, sp.iter().product()])?;
        return global_pool(g, &flat)?.reshape(shape).map_err(Into::into);
    }
    let s = whole(sp)?;
    match g {
        GlobalPool::Max => Ok(max_pool(x, planes, &s, shape, false, false)?.0),
        GlobalPool::Lp { p } => lp_pool(x, planes, &s, p, shape),
        GlobalPool::Average => {
            let dtype = x.dtype();
            let x = upcast(x)?;
            let y = float_kernel!(dtype, op, |T| {
                let mut y = buffer::<T>(&shape)?;
                k::avg_pool(planes, &s, [0; 3], false, x.typed::<T>()?, &mut y);
                Tensor::from_vec(shape, y)?
            });
            downcast(y, dtype)
        }
    }
}

/// MaxUnpool as the ONNX reference defines it: indices address the default output shape
/// (`(in - 1) * stride + kernel - pads`); a given `output_shape` at least that large receives
/// that result in its leading corner, zero elsewhere.
pub fn max_unpool(w: &Window, x: &Tensor, ind: &Tensor, output_shape: Option<&Tensor>) -> Result<Tensor, OpError> {
    let (n, c, sp) = split_nc(x, "MaxUnpool")?;
    if ind.shape() != x.shape() {
        bail!("MaxUnpool: I has shape {:?} but X has {:?}", ind.shape(), x.shape());
    }
    let kernel = w.kernel_shape.as_deref().ok_or_else(|| op_err!("MaxUnpool: kernel_shape is missing"))?;
    let r = sp.len();
    w.check(r, kernel).map_err(|e| op_err!("MaxUnpool: {e}"))?;
    let mut inferred = vec![n, c];
    for i in 0..r {
        let pads = w.pads.get(i).copied().unwrap_or(0).checked_add(w.pads.get(i + r).copied().unwrap_or(0));
        let full = (sp[i].max(1) - 1).checked_mul(w.stride(i)).and_then(|f| f.checked_add(kernel[i]));
        let out = full.zip(pads).and_then(|(f, p)| f.checked_sub(p));
        inferred.push(out.ok_or_else(|| op_err!("MaxUnpool: pads exceed the output size, or it overflows"))?);
    }
    let shape: Vec<usize> = match output_shape {
        Some(t) => shape_input(t, "MaxUnpool: output_shape")?
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| op_err!("MaxUnpool: negative output dim {d}")))
            .collect::<Result<_, _>>()?,
        None => inferred.clone(),
    };
    if shape.len() != x.rank() || shape.iter().zip(&inferred).any(|(s, i)| s < i) {
        bail!("MaxUnpool: output_shape {shape:?} must have rank {} and contain {inferred:?}", x.rank());
    }
    let total = numel(&inferred)?;
    numel(&shape)?;
    let idx = ind.to_i64_vec().map_err(|e| op_err!("MaxUnpool: I: {e}"))?;
    let mut targets = Vec::with_capacity(idx.len());
    for &i in &idx {
        match usize::try_from(i) {
            Ok(i) if i < total => targets.push(i),
            _ => bail!("MaxUnpool: index {i} is out of range for output shape {inferred:?}"),
        }
    }
    let data = dispatch_elem!(x.data(), v => {
        let mut y = vec![T::default(); total];
        for (&t, &val) in targets.iter().zip(v.iter()) {
            y[t] = val;
        }
        if shape == inferred {
            T::wrap(y)
        } else {
            let mut out = vec![T::default(); numel(&shape)?];
            let mut pos = vec![0usize; inferred.len()];
            for &val in &y {
                let o = pos.iter().zip(&shape).fold(0, |acc, (p, d)| acc * d + p);
                out[o] = val;
                mote_core::shape::next_index(&mut pos, &inferred);
            }
            T::wrap(out)
        }
    }, else bail!("MaxUnpool is not defined for {}", x.dtype()));
    Ok(Tensor::new(shape, data)?)
}
