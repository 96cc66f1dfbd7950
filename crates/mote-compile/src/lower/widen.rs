//! Ops the runtime computes only in f32, lowered for other element types as Cast -> the f32
//! op -> Cast back:
//!
//! - f16/bf16 arithmetic (element-wise, reductions, nn, image and recurrent ops, Attention,
//!   LinearAttention, CausalConvWithState): the interpreter widens these to f32, computes and
//!   rounds once, so the compiled result is the same (Attention's softmax in the model's type is
//!   modelled by the step's rounding word);
//! - selection ops (ReduceMax/ReduceMin, MaxPool, GlobalMaxPool) on bool and the integer types
//!   up to 16 bits, which f32 represents exactly, so the result is exact.
//!
//! Constant inputs are widened at compile time (lowerings that read constants, such as Conv
//! weights or Clip bounds, see f32 values); the others get a Cast step into an f32 temporary.

use mote_core::DType;
use mote_core::lowp::RoundMode;
use mote_format::OpCode;
use mote_ir::ops::attention::AttentionOp;
use mote_ir::ops::elementwise::ElementwiseOp;
use mote_ir::ops::nn::{GlobalPool, NnOp, PoolKind};
use mote_ir::ops::reduce::{ReduceOp, Reduction};
use mote_ir::{Node, Op, Tensor, ValueId};
use mote_rt::ops::encode;

use super::{Lowerer, R, bail};

/// Whether `n` is lowered through f32 ([`lower`]).
pub fn applies(l: &Lowerer<'_>, n: &Node) -> bool {
    let dtypes: Vec<DType> =
        n.inputs.iter().flatten().chain(n.outputs.iter().flatten()).filter_map(|&v| l.dtype(v).ok()).collect();
    if dtypes.iter().any(|d| matches!(d, DType::F16 | DType::BF16)) {
        return computes_in_f32(&n.op);
    }
    selects(&n.op) && dtypes.first().is_some_and(|&d| exact_in_f32(d))
}

/// Op families whose f16/bf16 results the interpreter computes in f32 and rounds once; data
/// movement, views (inference Dropout) and Cast/Where handle every element type natively.
fn computes_in_f32(op: &Op) -> bool {
    if super::fuse::is_view(op) {
        return false;
    }
    match op {
        Op::Elementwise(e) => {
            !matches!(e, ElementwiseOp::Cast { .. } | ElementwiseOp::CastLike { .. } | ElementwiseOp::Where)
        }
        Op::Reduce(_) | Op::Nn(_) | Op::Image(_) | Op::Rnn(_) => true,
        Op::Attention(mote_ir::ops::attention::AttentionOp::SwiGlu { .. }) => true,
        Op::Attention(a) => {
            matches!(
                a,
                AttentionOp::Attention(_)
                    | AttentionOp::LinearAttention { .. }
                    | AttentionOp::CausalConvWithState { .. }
            )
        }
        _ => false,
    }
}

/// Ops whose result is one of their input elements (exact through f32).
fn selects(op: &Op) -> bool {
    matches!(
        op,
        Op::Reduce(ReduceOp::Reduce { kind: Reduction::Max | Reduction::Min, .. })
            | Op::Nn(NnOp::Pool(mote_ir::ops::nn::PoolAttrs { kind: PoolKind::Max { .. }, .. }))
            | Op::Nn(NnOp::GlobalPool(GlobalPool::Max))
    )
}

/// Types every value of which f32 holds exactly.
fn exact_in_f32(d: DType) -> bool {
    matches!(d, DType::Bool | DType::U8 | DType::I8 | DType::U16 | DType::I16)
}

/// The types [`lower`] widens for `n`'s values: f16/bf16 always, and for selection ops also the
/// small exact types.
fn widened(sel: bool, d: DType) -> bool {
    matches!(d, DType::F16 | DType::BF16) || (sel && exact_in_f32(d))
}

/// Lowers `n` on f32: widens its inputs, lowers it with its outputs typed f32, and casts each
/// output back to its type.
pub fn lower(l: &mut Lowerer<'_>, n: &Node) -> R<()> {
    let sel = selects(&n.op)
        && !n.inputs.iter().flatten().any(|&v| l.dtype(v).is_ok_and(|d| matches!(d, DType::F16 | DType::BF16)));
    let mut saved: Vec<(ValueId, Option<usize>)> = Vec::new();
    let r = widen_inputs(l, n, sel, &mut saved).and_then(|narrow| {
        for &(o, _) in &narrow {
            l.retype.insert(o, DType::F32);
        }
        let r = l.node_native(n);
        for &(o, _) in &narrow {
            l.retype.remove(&o);
        }
        r.map(|()| narrow)
    });
    for (v, old) in saved {
        l.widened.remove(&v);
        l.retype.remove(&v);
        match old {
            Some(t) => l.vals.insert(v, t),
            None => l.vals.remove(&v),
        };
    }
    for (o, dtype) in r? {
        let Some(&wide) = l.vals.get(&o) else { bail!("output '{}' was not computed", l.g.value(o).name) };
        let dims = l.dims(o)?;
        let y = l.p.arena(dtype, dims, &l.g.value(o).name);
        l.p.step(OpCode::Cast, vec![Some(wide)], vec![y], encode::cast(true, RoundMode::default()), &n.name);
        l.vals.insert(o, y);
    }
    Ok(())
}

/// Replaces each widened input of `n` by an f32 one (recording the previous binding in `saved`);
/// returns the outputs to narrow back, with their types.
fn widen_inputs(
    l: &mut Lowerer<'_>,
    n: &Node,
    sel: bool,
    saved: &mut Vec<(ValueId, Option<usize>)>,
) -> R<Vec<(ValueId, DType)>> {
    for &v in n.inputs.iter().flatten() {
        let (dtype, dims) = l.logical_shape(v)?;
        if !widened(sel, dtype) || saved.iter().any(|&(s, _)| s == v) {
            continue;
        }
        if sel && dims.contains(&0) {
            // The f32 identities of max/min (-inf/+inf) do not narrow to these types' bounds.
            bail!("{} over an empty {dtype} tensor is not supported by the compiled path", n.op.name());
        }
        if let Some(c) = l.konst(v) {
            let data = c.to_f32_vec().map_err(|e| e.to_string())?;
            let wide = Tensor::from_vec(dims, data).map_err(|e| e.to_string())?;
            saved.push((v, l.vals.remove(&v)));
            l.widened.insert(v, wide);
        } else {
            let x = l.tensor_of(v)?;
            let name = format!("{}_f32", l.g.value(v).name);
            let wide = l.p.arena(DType::F32, dims, name);
            l.p.step(OpCode::Cast, vec![Some(x)], vec![wide], encode::cast(true, RoundMode::default()), &n.name);
            saved.push((v, l.vals.insert(v, wide)));
            l.retype.insert(v, DType::F32);
        }
    }
    let mut narrow = Vec::new();
    for &o in n.outputs.iter().flatten() {
        let dtype = l.dtype(o)?;
        if widened(sel, dtype) {
            narrow.push((o, dtype));
        }
    }
    Ok(narrow)
}
