//! Host-side helpers around the runtime: tensors in and out of the arena, and compiling then
//! running a graph on values (the compiled path of the conformance harness and the CLI).

use mote_format::{Model, OutputKind, OutputSignature};
use mote_ir::{DType, Graph, Tensor, Value};
use mote_rt::Runtime;
use mote_rt::host::AlignedBuf;

use crate::{Options, compile};

/// Copies `v` into input `i` of the arena.
pub fn set_input(rt: &Runtime<'_>, arena: &mut [u8], i: usize, name: &str, v: &Value) -> Result<(), String> {
    let Value::Tensor(t) = v else { return Err(format!("input `{name}` must be a tensor")) };
    let info = rt.inputs().nth(i).ok_or("no such input")?;
    let want: Vec<usize> = info.dims().iter().map(|&d| d as usize).collect();
    if t.shape() != want.as_slice() || t.dtype() != info.dtype {
        return Err(format!(
            "input `{name}` is {} {:?}, the compiled model takes {} {want:?} (recompile with --shape for other sizes)",
            t.dtype(),
            t.shape(),
            info.dtype
        ));
    }
    let dst = rt.input_mut(arena, i).map_err(|e| e.to_string())?;
    if let Some(strings) = t.strings() {
        return write_strings(dst, strings).map_err(|need| {
            let cap = info.tensor.string_capacity().unwrap_or(0);
            format!(
                "input `{name}`: its strings take {need} bytes, the compiled model holds {cap} (recompile with --string-bytes)"
            )
        });
    }
    dst.copy_from_slice(&crate::lower::tensor_bytes(t)?);
    Ok(())
}

/// Writes `strings` as a string tensor (`mote_format::strings`) into `dst`; on overflow, the
/// bytes they need.
fn write_strings(dst: &mut [u8], strings: &[String]) -> Result<(), usize> {
    let need = strings.iter().map(String::len).sum::<usize>();
    let mut w = mote_format::strings::StrWriter::new(dst, strings.len()).ok_or(need)?;
    for (k, s) in strings.iter().enumerate() {
        w.set(k, s.as_bytes()).map_err(|_| need)?;
    }
    Ok(())
}

/// The first `numel(dims)` elements of a string tensor's bytes `b` (`numel` slots then its
/// pool), as UTF-8 strings.
fn read_strings(b: &[u8], numel: usize, dims: Vec<usize>) -> Result<Tensor, String> {
    let v = mote_format::strings::StrView::new(b, numel).ok_or("a string tensor shorter than its slots")?;
    let n = dims.iter().product::<usize>();
    let strings = (0..n.min(v.len()))
        .map(|k| v.str(k).map(str::to_string).ok_or(format!("string element {k} is outside its pool or not UTF-8")))
        .collect::<Result<Vec<_>, _>>()?;
    Tensor::from_strings(dims, strings).map_err(|e| e.to_string())
}

/// Output `i` as the value the interpreter gives: its tensor, or as its output signature
/// says (a ZipMap's sequence of maps, string class labels; `docs/FORMAT.md`, SIGNATURE).
pub fn get_output(rt: &Runtime<'_>, arena: &[u8], i: usize) -> Result<Value, String> {
    let info = rt.outputs().nth(i).ok_or("no such output")?;
    let dims: Vec<usize> = info.dims().iter().map(|&d| d as usize).collect();
    let mut bytes = rt.output(arena, i).map_err(|e| e.to_string())?;
    let mut dims = dims;
    if info.dtype == DType::String {
        let numel = info.tensor.numel();
        if let Some((axis, count)) = rt.output_count(arena, i).map_err(|e| e.to_string())? {
            dims[axis] = count;
        }
        return read_strings(bytes, numel, dims).map(Value::Tensor);
    }
    if let Some((axis, count)) = rt.output_count(arena, i).map_err(|e| e.to_string())? {
        // A data-dependent length: the first elements of the buffer, in the counted shape.
        dims[axis] = count;
        let size = info.dtype.size().unwrap_or(1);
        bytes = &bytes[..dims.iter().product::<usize>() * size];
        return tensor_from_bytes(info.dtype, dims, bytes).map(Value::Tensor);
    }
    let t = tensor_from_bytes(info.dtype, dims, bytes)?;
    match rt.model().output_signature(i) {
        None => Ok(Value::Tensor(t)),
        Some(sig) => present(rt.model(), &sig, t),
    }
}

/// The signature's keys as a 1-D tensor (int64 or strings).
fn signature_keys(model: &Model<'_>, sig: &OutputSignature<'_>) -> Result<Tensor, String> {
    let c = sig.len();
    let bad = || "invalid output signature keys".to_string();
    if sig.string_keys() {
        let v = (0..c).map(|k| model.signature_str_key(sig, k).map(str::to_string).ok_or_else(bad));
        Tensor::from_strings(vec![c], v.collect::<Result<_, _>>()?).map_err(|e| e.to_string())
    } else {
        let v = (0..c).map(|k| model.signature_int_key(sig, k).ok_or_else(bad));
        Tensor::from_vec(vec![c], v.collect::<Result<Vec<i64>, _>>()?).map_err(|e| e.to_string())
    }
}

/// Output tensor `t` presented as `sig` says.
fn present(model: &Model<'_>, sig: &OutputSignature<'_>, t: Tensor) -> Result<Value, String> {
    let keys = signature_keys(model, sig)?;
    let c = keys.len();
    match sig.kind {
        OutputKind::ZipMap => {
            let scores = t.typed::<f32>().map_err(|e| e.to_string())?;
            let maps = scores
                .chunks(c.max(1))
                .map(|row| {
                    let values = Tensor::from_vec(vec![c], row.to_vec()).map_err(|e| e.to_string())?;
                    Ok(Value::Map { keys: keys.clone(), values })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Value::Sequence(maps))
        }
        OutputKind::Bounded => Ok(Value::Tensor(t)),
        OutputKind::Labels => {
            let idx = t.to_i64_vec().map_err(|e| e.to_string())?;
            let idx = idx
                .iter()
                .map(|&i| usize::try_from(i).ok().filter(|&i| i < c).ok_or(format!("label index {i} of {c} labels")))
                .collect::<Result<Vec<_>, _>>()?;
            Tensor::new(t.shape().to_vec(), keys.data().gather(&idx)).map(Value::Tensor).map_err(|e| e.to_string())
        }
    }
}

/// A tensor from little-endian bytes.
pub fn tensor_from_bytes(dtype: DType, dims: Vec<usize>, b: &[u8]) -> Result<Tensor, String> {
    let data = crate::lower::data_from_bytes(dtype, b)
        .ok_or_else(|| format!("{dtype} outputs are not supported for compiled models"))?;
    Tensor::new(dims, data).map_err(|e| e.to_string())
}

/// Runs the compiled model on named inputs; returns the outputs in order.
pub fn run_named(rt: &Runtime<'_>, arena: &mut AlignedBuf, named: &[(String, Value)]) -> Result<Vec<Value>, String> {
    run_named_par(rt, arena, named, &mote_rt::Sequential)
}

/// [`run_named`] with the steps split into tasks on `par` (e.g. a
/// [`ThreadPool`](mote_rt::pool::ThreadPool)); the outputs are the same for every thread count.
pub fn run_named_par(
    rt: &Runtime<'_>,
    arena: &mut AlignedBuf,
    named: &[(String, Value)],
    par: &dyn mote_rt::Parallel,
) -> Result<Vec<Value>, String> {
    let names: Vec<String> = rt.inputs().map(|i| i.name.to_string()).collect();
    for (i, name) in names.iter().enumerate() {
        let v =
            named.iter().find(|(n, _)| n == name).map(|(_, v)| v).ok_or_else(|| format!("missing input `{name}`"))?;
        set_input(rt, arena.as_mut(), i, name, v)?;
    }
    rt.invoke_par(arena.as_mut(), par).map_err(|e| run_error(rt, e))?;
    (0..rt.outputs().count()).map(|i| get_output(rt, arena.as_ref(), i)).collect()
}

/// A run error, naming the tensor of a string capacity overflow.
pub fn run_error(rt: &Runtime<'_>, e: mote_rt::RtError) -> String {
    match e {
        mote_rt::RtError::StringCapacity { step, tensor, capacity } => {
            let name = rt.model().tensor(tensor).map_or("?", |t| t.name);
            format!(
                "step {step}: the strings of tensor '{name}' need more than its capacity of {capacity} bytes (recompile with a larger --string-bytes)"
            )
        }
        e => e.to_string(),
    }
}

/// Compiles `graph` for the shapes of `inputs` (runtime inputs, in order) and runs it once.
pub fn compile_and_run(graph: &Graph, inputs: &[Value], opts: &Options) -> Result<Vec<Value>, String> {
    let mut opts = opts.clone();
    let mut named = Vec::new();
    for (&id, v) in graph.runtime_inputs().iter().zip(inputs) {
        let name = graph.value(id).name.clone();
        if let Value::Tensor(t) = v
            && !opts.constants.contains_key(&name)
        {
            opts.shapes.entry(name.clone()).or_insert_with(|| t.shape().to_vec());
        }
        named.push((name, v.clone()));
    }
    let c = compile(graph.clone(), &opts).map_err(|e| e.to_string())?;
    let bytes = AlignedBuf::from_bytes(&c.bytes);
    let rt = Runtime::load(bytes.as_ref()).map_err(|e| e.to_string())?;
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    run_named(&rt, &mut arena, &named)
}
