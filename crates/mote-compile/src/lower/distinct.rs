//! NonZero and Unique: one runtime step each, with outputs whose length is data (Bounded
//! outputs; the helpers here serve NonMaxSuppression too): the buffers hold the largest result, a pinned count
//! says how much of it is valid. Such outputs must be graph outputs; Unique's inverse indices
//! have a static shape and may feed other nodes.

use mote_core::DType;
use mote_format::{OpCode, OutputKind};
use mote_ir::Node;
use mote_ir::infer::normalize_axis;
use mote_rt::ops::encode;

use super::{Lowerer, R, bail};
use crate::lir::Keys;

/// The count tensor of a step with Bounded outputs: alive to the end (the host reads it).
pub(super) fn count(l: &mut Lowerer<'_>, n: &Node) -> usize {
    let c = l.p.arena(DType::I64, vec![1], format!("{}.count", n.name));
    l.pin(c);
    c
}

/// Output `i` of `n` as a buffer of `dims`, Bounded along `axis` when the graph uses it.
pub(super) fn bounded(
    l: &mut Lowerer<'_>,
    n: &Node,
    i: usize,
    dt: DType,
    dims: Vec<usize>,
    axis: usize,
    c: usize,
) -> R<usize> {
    let Some(v) = n.outputs.get(i).copied().flatten() else {
        return Ok(l.p.arena(dt, dims, format!("{}.out{i}", n.name)));
    };
    if !l.g.outputs.contains(&v) {
        bail!(
            "{} is compiled only as a graph output (output {i}: its data-dependent length feeds another node here)",
            n.op.name()
        );
    }
    let t = l.p.arena(dt, dims, &l.g.value(v).name);
    l.bind(n, i, t)?;
    l.signatures.insert(v, (OutputKind::Bounded, Keys::Count { tensor: c, axis: axis as u32 }));
    Ok(t)
}

pub fn nonzero(l: &mut Lowerer<'_>, n: &Node) -> R<()> {
    let x = l.input(n, 0)?;
    let (dt, xd) = (l.p.tensors[x].dtype, l.p.tensors[x].dims.clone());
    if !mote_rt::ops::elem_order::supported(dt) || xd.is_empty() {
        bail!(
            "NonZero on {dt} of rank {} is not supported by the compiled path (numbers and bool, rank >= 1)",
            xd.len()
        );
    }
    let c = count(l, n);
    let idx = bounded(l, n, 0, DType::I64, vec![xd.len(), xd.iter().product()], 1, c)?;
    l.p.step(OpCode::NonZero, vec![Some(x)], vec![idx, c], vec![], &n.name);
    Ok(())
}

pub fn unique(l: &mut Lowerer<'_>, n: &Node, sorted: bool, axis: Option<i64>) -> R<()> {
    let x = l.input(n, 0)?;
    let (dt, xd) = (l.p.tensors[x].dtype, l.p.tensors[x].dims.clone());
    if !mote_rt::ops::elem_order::supported(dt) {
        bail!("Unique on {dt} is not supported by the compiled path (numbers and bool)");
    }
    let numel: usize = xd.iter().product();
    let (outer, len, inner, ydims, yaxis) = match axis {
        Some(a) => {
            let a = normalize_axis(a, xd.len()).map_err(|e| e.0)?;
            (xd[..a].iter().product(), xd[a], xd[a + 1..].iter().product(), xd.clone(), a)
        }
        None => (1, numel, 1, vec![numel], 0),
    };
    let c = count(l, n);
    let y = bounded(l, n, 0, dt, ydims, yaxis, c)?;
    let first = bounded(l, n, 1, DType::I64, vec![len], 0, c)?;
    let inverse = match n.outputs.get(2).copied().flatten() {
        Some(_) => l.output(n, 2)?,
        None => l.p.arena(DType::I64, vec![len], format!("{}.inverse", n.name)),
    };
    if l.p.tensors[inverse].dims.iter().product::<usize>() != len {
        bail!("Unique's inverse indices have shape {:?}, expected [{len}]", l.p.tensors[inverse].dims);
    }
    let counts = bounded(l, n, 3, DType::I64, vec![len], 0, c)?;
    let outs = vec![y, first, inverse, counts, c];
    l.p.step(OpCode::Unique, vec![Some(x)], outs, encode::unique(sorted, outer, len, inner), &n.name);
    Ok(())
}
