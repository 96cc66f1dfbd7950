//! Running `.mote` files from the CLI: the model's interface as a graph (so `run` and `bench`
//! treat both formats alike) and conversions between tensors and arena bytes.

use std::path::Path;

use anyhow::{Context, Result, bail};
use mote_format::OutputKind;
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

/// A graph with the model's inputs and outputs (names and types) and no nodes.
pub fn interface(rt: &Runtime<'_>) -> Graph {
    let mut g = Graph::new("compiled");
    let ty = |i: &mote_rt::TensorInfo<'_>| {
        let dims: Vec<usize> = i.dims().iter().map(|&d| d as usize).collect();
        ValueType::Tensor(TensorType::concrete(i.dtype, &dims))
    };
    for i in rt.inputs() {
        let id = g.add_value(i.name, ty(&i));
        g.inputs.push(id);
    }
    for (k, o) in rt.outputs().enumerate() {
        // Outputs with a signature are presented as the ONNX graph declares them.
        let t = match rt.model().output_signature(k) {
            None => ty(&o),
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
                    OutputKind::Bounded => ty(&o),
                }
            }
        };
        let id = g.add_value(o.name, t);
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
