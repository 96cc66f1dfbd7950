//! GRU and RNN as one runtime step each; batch-major layouts (`layout = 1`) are transposed to
//! and from sequence-major by strided copies around the step.

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::rnn::{Direction, RnnOp};
use mote_rt::ops::encode;

use super::elementwise::contiguous;
use super::shape::copy;
use super::{Lowerer, R, bail};

/// Copies `t` (`[a, b, rest]`) into a new tensor `[b, a, rest]`.
pub fn swap01(l: &mut Lowerer<'_>, t: usize, name: &str) -> usize {
    let d = l.p.tensors[t].dims.clone();
    let (a, b, rest) = (d[0], d[1], d[2..].iter().product::<usize>());
    let o = l.p.arena(l.p.tensors[t].dtype, [&[b, a][..], &d[2..]].concat(), name);
    let dims = [b, a, rest];
    let src = [rest as isize, (b * rest) as isize, 1];
    copy(l, t, o, &dims, (0, &src), (0, &contiguous(&dims)), name);
    o
}

/// An output of the cell step: the node's output `i` (or a scratch tensor when unused) in
/// sequence-major layout `dims`; with `batch_first`, a temporary the caller copies out.
pub fn cell_output(l: &mut Lowerer<'_>, n: &Node, i: usize, dims: Vec<usize>, batch_first: bool) -> R<(usize, bool)> {
    let used = n.outputs.get(i).copied().flatten().is_some();
    if used && !batch_first {
        return Ok((l.output(n, i)?, false));
    }
    Ok((l.p.arena(DType::F32, dims, format!("{}.out{i}", n.name)), used))
}

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &RnnOp) -> R<()> {
    let (a, linear_before_reset) = match op {
        RnnOp::Gru { attrs, linear_before_reset } => (attrs, Some(*linear_before_reset)),
        RnnOp::Rnn { attrs } => (attrs, None),
        RnnOp::Lstm { .. } => bail!("LSTM is lowered by misc::rnn"),
    };
    let dirs = a.direction.num_directions();
    let acts: Vec<_> = a.activations.iter().map(|x| x.kernel_act()).collect();
    if acts.len() != op.activations_per_direction() * dirs {
        bail!("expected {} activations, got {}", op.activations_per_direction() * dirs, acts.len());
    }
    let x0 = l.input(n, 0)?;
    if l.p.tensors[x0].dtype != DType::F32 || l.p.tensors[x0].dims.len() != 3 {
        bail!("{} needs a 3-D f32 input to compile", n.op.name());
    }
    let x = if a.batch_first { swap01(l, x0, &format!("{}.x_tm", n.name)) } else { x0 };
    let (seq, batch) = (l.p.tensors[x].dims[0], l.p.tensors[x].dims[1]);
    if batch > mote_rt::ops::MAX_LSTM_BATCH {
        bail!("{} batch {batch} is above the runtime's {}", n.op.name(), mote_rt::ops::MAX_LSTM_BATCH);
    }
    let mut ins = vec![Some(x)];
    for i in 1..6 {
        let t = match n.input(i) {
            None => None,
            Some(_) => {
                let t = l.input(n, i)?;
                let ok = if i == 4 {
                    matches!(l.p.tensors[t].dtype, DType::I32 | DType::I64)
                } else {
                    l.p.tensors[t].dtype == DType::F32
                };
                if !ok {
                    bail!(
                        "{} input {i} of {} is not supported by the compiled path",
                        n.op.name(),
                        l.p.tensors[t].dtype
                    );
                }
                Some(if i == 5 && a.batch_first { swap01(l, t, &format!("{}.h0_tm", n.name)) } else { t })
            }
        };
        ins.push(t);
    }
    let h = a.hidden_size;
    let (y, y_used) = cell_output(l, n, 0, vec![seq, dirs, batch, h], a.batch_first)?;
    let (yh, yh_used) = cell_output(l, n, 1, vec![dirs, batch, h], a.batch_first)?;
    let reverse = a.direction == Direction::Reverse;
    let code = if linear_before_reset.is_some() { OpCode::Gru } else { OpCode::Rnn };
    let attrs = encode::recurrent(dirs, reverse, &acts, a.clip, linear_before_reset);
    l.p.step(code, ins, vec![y, yh], attrs, &n.name);
    copy_out(l, n, &[(y, y_used), (yh, yh_used)], [seq, dirs, batch, h])
}

/// Copies the cell's sequence-major outputs that were given temporaries (`used`) to the node's
/// batch-major outputs: Y `[seq, dirs, batch, h] -> [batch, seq, dirs, h]`, states
/// `[dirs, batch, h] -> [batch, dirs, h]`.
pub fn copy_out(l: &mut Lowerer<'_>, n: &Node, outs: &[(usize, bool)], [seq, dirs, batch, h]: [usize; 4]) -> R<()> {
    for (i, &(t, used)) in outs.iter().enumerate() {
        if !used {
            continue;
        }
        let out = l.output(n, i)?;
        if i == 0 {
            let dims = [seq, dirs, batch, h];
            let dst = [(dirs * h) as isize, h as isize, (seq * dirs * h) as isize, 1];
            copy(l, t, out, &dims, (0, &contiguous(&dims)), (0, &dst), &n.name);
        } else {
            let dims = [dirs, batch, h];
            copy(l, t, out, &dims, (0, &contiguous(&dims)), (0, &[h as isize, (dirs * h) as isize, 1]), &n.name);
        }
    }
    Ok(())
}
