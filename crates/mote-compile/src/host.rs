//! Host-side helpers around the runtime: tensors in and out of the arena, and compiling then
//! running a graph on values (the compiled path of the conformance harness and the CLI).

use mote_format::{GroupShape, IoGroup, Model, OutputKind, OutputSignature};
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
        OutputKind::Labels => {
            let idx = t.to_i64_vec().map_err(|e| e.to_string())?;
            let idx = idx
                .iter()
                .map(|&i| usize::try_from(i).ok().filter(|&i| i < c).ok_or(format!("label index {i} of {c} labels")))
                .collect::<Result<Vec<_>, _>>()?;
            Tensor::new(t.shape().to_vec(), keys.data().gather(&idx)).map(Value::Tensor).map_err(|e| e.to_string())
        }
        // Group records never present a single output (`Model::output_signature`).
        _ => Ok(Value::Tensor(t)),
    }
}

/// A tensor from little-endian bytes.
pub fn tensor_from_bytes(dtype: DType, dims: Vec<usize>, b: &[u8]) -> Result<Tensor, String> {
    let data = crate::lower::data_from_bytes(dtype, b)
        .ok_or_else(|| format!("{dtype} outputs are not supported for compiled models"))?;
    Tensor::new(dims, data).map_err(|e| e.to_string())
}

/// One value a compiled model takes or gives: a tensor (its input or output index) or a group of
/// them (a sequence or optional; SIGNATURE group records, format 1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot<'a> {
    Tensor(usize),
    Group(IoGroup<'a>),
}

/// The values of the graph's inputs (`inputs` true) or outputs, in order.
pub fn slots<'a>(model: &Model<'a>, inputs: bool) -> Vec<Slot<'a>> {
    let n = if inputs { model.inputs().count() } else { model.outputs().count() };
    let mut v = Vec::with_capacity(n);
    let mut i = 0;
    for g in model.groups(inputs) {
        while i < g.first {
            v.push(Slot::Tensor(i));
            i += 1;
        }
        v.push(Slot::Group(g));
        i = g.first + g.count;
    }
    v.extend((i..n).map(Slot::Tensor));
    v
}

/// The name of a slot.
pub fn slot_name<'a>(model: &Model<'a>, s: &Slot<'a>, inputs: bool) -> &'a str {
    match s {
        Slot::Group(g) => g.name,
        Slot::Tensor(i) if inputs => model.inputs().nth(*i).map_or("", |r| r.name),
        Slot::Tensor(i) => model.outputs().nth(*i).map_or("", |r| r.name),
    }
}

/// The tensors of a group's value, checked against the group.
fn group_tensors<'v>(g: &IoGroup<'_>, v: Option<&'v Value>) -> Result<Vec<&'v Value>, String> {
    let name = g.name;
    let items = |v: &'v Value| -> Result<Vec<&'v Value>, String> {
        let Value::Sequence(items) = v else { return Err(format!("input `{name}` must be a sequence")) };
        if items.len() != g.count {
            return Err(format!(
                "input `{name}` is a sequence of {} tensors, the compiled model takes {} (recompile with --seq {name}={})",
                items.len(),
                g.count,
                items.len()
            ));
        }
        Ok(items.iter().collect())
    };
    match (g.shape, v) {
        (GroupShape::Optional, None | Some(Value::Optional(None))) if g.count == 0 => Ok(Vec::new()),
        (GroupShape::Optional, Some(_)) if g.count == 0 => Err(format!(
            "input `{name}` was compiled as an absent optional and takes no value (recompile without --absent {name})"
        )),
        (_, None) => Err(format!("missing input `{name}`")),
        (_, Some(Value::Optional(None))) => Err(format!(
            "input `{name}` is an empty optional, the compiled model takes it present (recompile with --absent {name})"
        )),
        (GroupShape::Optional, Some(Value::Optional(Some(t)))) => Ok(vec![&**t]),
        (GroupShape::Optional, Some(t @ Value::Tensor(_))) => Ok(vec![t]),
        (GroupShape::Optional, Some(_)) => Err(format!("input `{name}` must be an optional tensor")),
        (GroupShape::OptionalSequence, Some(Value::Optional(Some(s)))) => items(s),
        (_, Some(s)) => items(s),
    }
}

/// Copies the named values into the inputs of the arena (sequences and optionals into their
/// tensors).
pub fn set_inputs(rt: &Runtime<'_>, arena: &mut [u8], named: &[(String, Value)]) -> Result<(), String> {
    let model = rt.model();
    for s in slots(model, true) {
        let name = slot_name(model, &s, true);
        let v = named.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        match s {
            Slot::Tensor(i) => set_input(rt, arena, i, name, v.ok_or_else(|| format!("missing input `{name}`"))?)?,
            Slot::Group(g) => {
                for (k, t) in group_tensors(&g, v)?.into_iter().enumerate() {
                    set_input(rt, arena, g.first + k, &format!("{name}[{k}]"), t)?;
                }
            }
        }
    }
    Ok(())
}

/// Every output value, in order (sequences and optionals from their tensors).
pub fn get_outputs(rt: &Runtime<'_>, arena: &[u8]) -> Result<Vec<Value>, String> {
    slots(rt.model(), false)
        .into_iter()
        .map(|s| match s {
            Slot::Tensor(i) => get_output(rt, arena, i),
            Slot::Group(g) => {
                let ts =
                    (g.first..g.first + g.count).map(|i| get_output(rt, arena, i)).collect::<Result<Vec<_>, _>>()?;
                Ok(match g.shape {
                    GroupShape::Sequence => Value::Sequence(ts),
                    GroupShape::Optional => Value::Optional(ts.into_iter().next().map(Box::new)),
                    GroupShape::OptionalSequence => Value::Optional(Some(Box::new(Value::Sequence(ts)))),
                })
            }
        })
        .collect()
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
    set_inputs(rt, arena.as_mut(), named)?;
    rt.invoke_par(arena.as_mut(), par).map_err(|e| run_error(rt, e))?;
    get_outputs(rt, arena.as_ref())
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
        match v {
            Value::Tensor(t) if !opts.constants.contains_key(&name) => {
                opts.shapes.entry(name.clone()).or_insert_with(|| t.shape().to_vec());
            }
            Value::Sequence(_) | Value::Optional(_) => {
                if let Some(s) = crate::Structure::of(v) {
                    opts.structures.entry(name.clone()).or_insert(s);
                }
            }
            _ => {}
        }
        named.push((name, v.clone()));
    }
    let c = compile(graph.clone(), &opts).map_err(|e| e.to_string())?;
    let bytes = AlignedBuf::from_bytes(&c.bytes);
    let rt = Runtime::load(bytes.as_ref()).map_err(|e| e.to_string())?;
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    run_named(&rt, &mut arena, &named)
}
