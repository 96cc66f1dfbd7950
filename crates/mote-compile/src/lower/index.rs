//! Index-driven ops with run-time indices: GatherElements, ScatterElements, GatherND, ScatterND
//! become their runtime steps, which check every index while running.

use mote_core::DType;
use mote_format::{MAX_RANK, OpCode};
use mote_ir::Node;
use mote_ir::ops::shape::{Reduction, ShapeOp};
use mote_rt::ops::{ScatterReduction, encode};

use super::{Lowerer, R, bail};

/// Lowers `op` if this module handles it; `Ok(false)` otherwise.
pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &ShapeOp) -> R<bool> {
    match op {
        ShapeOp::GatherElements { axis } => {
            let (x, i, xd, id) = operands(l, n)?;
            let a = axis_of(*axis, xd.len())?;
            let y = l.output(n, 0)?;
            l.p.step(
                OpCode::GatherElements,
                vec![Some(x), Some(i)],
                vec![y],
                encode::gather_elements(a, &xd, &id),
                &n.name,
            );
        }
        ShapeOp::ScatterElements { axis, reduction } => {
            let (x, i, xd, id) = operands(l, n)?;
            let a = axis_of(*axis, xd.len())?;
            let (u, y, r) = scatter_parts(l, n, x, *reduction)?;
            let attrs = encode::scatter_elements(r, a, &xd, &id);
            l.p.step(OpCode::ScatterElements, vec![Some(x), Some(i), Some(u)], vec![y], attrs, &n.name);
        }
        ShapeOp::GatherND { batch_dims } => {
            let (x, i, xd, id) = operands(l, n)?;
            let y = l.output(n, 0)?;
            l.p.step(
                OpCode::GatherNd,
                vec![Some(x), Some(i)],
                vec![y],
                encode::gather_nd(*batch_dims, &xd, &id),
                &n.name,
            );
        }
        ShapeOp::ScatterND { reduction } => {
            let (x, i, xd, id) = operands(l, n)?;
            let (u, y, r) = scatter_parts(l, n, x, *reduction)?;
            l.p.step(
                OpCode::ScatterNd,
                vec![Some(x), Some(i), Some(u)],
                vec![y],
                encode::scatter_nd(r, &xd, &id),
                &n.name,
            );
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn axis_of(a: i64, r: usize) -> R<usize> {
    mote_ir::infer::normalize_axis(a, r).map_err(|e| e.0)
}

/// Data and indices with their dims (rank checked, indices i64 or i32).
fn operands(l: &mut Lowerer<'_>, n: &Node) -> R<(usize, usize, Vec<usize>, Vec<usize>)> {
    let (x, i) = (l.input(n, 0)?, l.input(n, 1)?);
    if !matches!(l.p.tensors[i].dtype, DType::I64 | DType::I32) {
        bail!("indices must be int64 or int32");
    }
    let (xd, id) = (l.p.tensors[x].dims.clone(), l.p.tensors[i].dims.clone());
    if xd.len() > MAX_RANK || id.len() > MAX_RANK {
        bail!("rank above {MAX_RANK} is not supported by the compiled path");
    }
    Ok((x, i, xd, id))
}

/// The updates, the output and the runtime reduction of a scatter.
fn scatter_parts(l: &mut Lowerer<'_>, n: &Node, x: usize, r: Reduction) -> R<(usize, usize, ScatterReduction)> {
    let u = l.input(n, 2)?;
    let r = match r {
        Reduction::None => ScatterReduction::None,
        Reduction::Add => ScatterReduction::Add,
        Reduction::Mul => ScatterReduction::Mul,
        Reduction::Max => ScatterReduction::Max,
        Reduction::Min => ScatterReduction::Min,
    };
    let dt = l.p.tensors[x].dtype;
    if !r.accepts(dt) {
        bail!("scatter reduction {r:?} on {dt} is not supported by the compiled path (f32, f64, integers)");
    }
    let y = l.output(n, 0)?;
    Ok((u, y, r))
}
