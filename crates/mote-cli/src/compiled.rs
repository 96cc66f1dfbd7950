//! Running `.mote` files from the CLI: the model's interface as a graph (so `run` and `bench`
//! treat both formats alike) and conversions between tensors and arena bytes.

use std::path::Path;

use anyhow::{Context, Result, bail};
use mote_format::{GroupShape, OutputKind};
use mote_ir::{DType, Graph, TensorType, Value, ValueType};
use mote_rt::Runtime;
use mote_rt::host::{AlignedBuf, ModelBytes};
use mote_rt::pool::ThreadPool;

/// Most threads `--threads` accepts.
pub const MAX_THREADS: usize = 64;

/// Whether `path` names a compiled model.
pub fn is_mote(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "mote")
}

/// Maps the file; the caller loads it with [`Runtime::load`].
pub fn open(path: &Path) -> Result<ModelBytes> {
    ModelBytes::open(path).with_context(|| format!("cannot read `{}`", path.display()))
}

pub fn load<'a>(bytes: &'a ModelBytes, path: &Path) -> Result<Runtime<'a>> {
    Runtime::load(bytes.as_ref()).with_context(|| format!("`{}` is not a valid .mote file", path.display()))
}

/// A graph with the model's inputs and outputs (names and types) and no nodes: a sequence or
/// optional compiled to a group of tensors is one value (SIGNATURE group records).
pub fn interface(rt: &Runtime<'_>) -> Graph {
    use mote_compile::host::{Slot, slot_name, slots};
    let mut g = Graph::new("compiled");
    let ty = |i: &mote_rt::TensorInfo<'_>| {
        let dims: Vec<usize> = i.dims().iter().map(|&d| d as usize).collect();
        ValueType::Tensor(TensorType::concrete(i.dtype, &dims))
    };
    let model = rt.model();
    let group = |grp: &mote_format::IoGroup<'_>, infos: &[mote_rt::TensorInfo<'_>]| {
        // Elements typed as the first one (an empty group: unknown).
        let elem = infos.get(grp.first).filter(|_| grp.count > 0).map_or(ValueType::Unknown, ty);
        match grp.shape {
            GroupShape::Sequence => ValueType::Sequence(Box::new(elem)),
            GroupShape::Optional => ValueType::Optional(Box::new(elem)),
            GroupShape::OptionalSequence => ValueType::Optional(Box::new(ValueType::Sequence(Box::new(elem)))),
        }
    };
    let ins: Vec<_> = rt.inputs().collect();
    for s in slots(model, true) {
        let t = match &s {
            Slot::Tensor(i) => ins.get(*i).map_or(ValueType::Unknown, ty),
            Slot::Group(grp) => group(grp, &ins),
        };
        let id = g.add_value(slot_name(model, &s, true), t);
        g.inputs.push(id);
    }
    let outs: Vec<_> = rt.outputs().collect();
    for s in slots(model, false) {
        let t = match &s {
            Slot::Group(grp) => group(grp, &outs),
            Slot::Tensor(k) => {
                let Some(o) = outs.get(*k) else { continue };
                // Outputs with a signature are presented as the ONNX graph declares them.
                match model.output_signature(*k) {
                    None => ty(o),
                    Some(s) => {
                        let key = if s.string_keys() { DType::String } else { DType::I64 };
                        match s.kind {
                            OutputKind::ZipMap => ValueType::Sequence(Box::new(ValueType::Map(
                                key,
                                Box::new(ValueType::Tensor(TensorType::concrete(DType::F32, &[]))),
                            ))),
                            OutputKind::Labels => {
                                let dims: Vec<usize> = o.dims().iter().map(|&d| d as usize).collect();
                                ValueType::Tensor(TensorType::concrete(DType::String, &dims))
                            }
                            // The buffer's shape bounds the data-dependent one.
                            _ => ty(o),
                        }
                    }
                }
            }
        };
        let id = g.add_value(slot_name(model, &s, false), t);
        g.outputs.push(id);
    }
    g
}

/// The thread pool for `--threads N` on a compiled model (`N - 1` workers with the scratch
/// `rt` needs per thread; 1: no workers, every step on the calling thread).
pub fn pool(rt: &Runtime<'_>, threads: usize) -> Result<ThreadPool> {
    if threads == 0 || threads > MAX_THREADS {
        bail!("--threads {threads}: give 1 to {MAX_THREADS}");
    }
    ThreadPool::for_runtime(rt, threads).with_context(|| format!("cannot start {} worker threads", threads - 1))
}

/// Refuses `--threads N > 1` for an ONNX model (the reference interpreter runs on one thread).
pub fn one_thread_for_onnx(threads: usize) -> Result<()> {
    if threads != 1 {
        bail!(
            "--threads {threads}: the reference interpreter (.onnx) runs on one thread; compile the model \
             (`mote compile`) and give the .mote file to run it on several"
        );
    }
    Ok(())
}

/// Runs the compiled model on named inputs, its steps split over the threads of `pool`;
/// returns the outputs in order.
pub fn run(
    rt: &Runtime<'_>,
    arena: &mut AlignedBuf,
    named: &[(String, Value)],
    pool: &ThreadPool,
) -> Result<Vec<Value>> {
    mote_compile::host::run_named_par(rt, arena, named, pool).map_err(anyhow::Error::msg)
}
