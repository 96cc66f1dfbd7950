//! Writing the planned program as a `.mote` file.

use mote_format::write::{Builder, TensorDesc};
use mote_format::{Layout, Storage};

use crate::error::CompileError;
use crate::lir::{Keys, Place, Program};
use crate::plan::MemPlan;
use mote_core::DType;

/// The file for `p` with the arena offsets of `m`.
pub fn emit(p: &Program, m: &MemPlan, meta: &[(String, String)]) -> Result<Vec<u8>, CompileError> {
    let werr = |e: mote_format::write::WriteError| CompileError::Write(format!("{e:?}"));
    let mut b = Builder::new();
    for (k, v) in meta {
        b.meta(k, v).map_err(werr)?;
    }
    // Weights nobody reads (e.g. the plain copy of a weight that was packed) are left out.
    let mut used = vec![false; p.tensors.len()];
    for s in &p.steps {
        s.inputs.iter().flatten().chain(&s.outputs).for_each(|&t| used[t] = true);
    }
    p.inputs.iter().chain(&p.outputs).for_each(|&(t, _)| used[t] = true);
    let mut ids = Vec::with_capacity(p.tensors.len());
    for (i, t) in p.tensors.iter().enumerate() {
        if !used[i] {
            ids.push(u32::MAX);
            continue;
        }
        let dims: Vec<u32> = t
            .dims
            .iter()
            .map(|&d| {
                u32::try_from(d).map_err(|_| CompileError::Write(format!("tensor '{}' has a dim above 2^32", t.name)))
            })
            .collect::<Result<_, _>>()?;
        let mut d = TensorDesc {
            dtype: t.dtype,
            dims,
            storage: Storage::Arena,
            layout: Layout::Plain,
            layout_param: 0,
            offset: 0,
            nbytes: t.nbytes() as u64,
            name: t.name.clone(),
        };
        if let Some(version) = t.packed {
            d.layout = Layout::Packed;
            d.layout_param = version;
        }
        let id = match &t.place {
            Place::Arena { buf, offset } => {
                // A packed weight widened into the arena (`f16_weights`) spans its buffer.
                if t.packed.is_some() {
                    d.nbytes = p.bufs[*buf].bytes.saturating_sub(*offset) as u64;
                }
                d.offset = (m.offsets.get(*buf).copied().unwrap_or(0) + offset) as u64;
                b.tensor(&d).map_err(werr)?
            }
            Place::Weight(w) => b.weight(&d, &p.weights[*w]).map_err(werr)?,
        };
        ids.push(id);
    }
    for s in &p.steps {
        let ins: Vec<Option<u32>> = s.inputs.iter().map(|i| i.map(|i| ids[i])).collect();
        let outs: Vec<u32> = s.outputs.iter().map(|&o| ids[o]).collect();
        b.step(s.op, &ins, &outs, &s.attrs, &s.name).map_err(werr)?;
    }
    for (t, name) in &p.inputs {
        b.input(ids[*t], name).map_err(werr)?;
    }
    for (t, name) in &p.outputs {
        b.output(ids[*t], name).map_err(werr)?;
    }
    for (output, kind, keys) in &p.signatures {
        let (dtype, dims, bytes) = match keys {
            Keys::Count { tensor, axis } => {
                b.output_signature_axis(*output as u32, *kind, ids[*tensor], *axis);
                continue;
            }
            Keys::Ints(v) => (DType::I64, vec![v.len() as u32], v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Keys::Strings(v) => {
                let mut bytes = Vec::with_capacity(8 * v.len());
                for s in v {
                    let (off, len) = b.string_ref(s).map_err(werr)?;
                    bytes.extend(off.to_le_bytes().into_iter().chain(len.to_le_bytes()));
                }
                (DType::U32, vec![v.len() as u32, 2], bytes)
            }
        };
        let desc = TensorDesc {
            dtype,
            dims,
            storage: Storage::Weights,
            layout: Layout::Plain,
            layout_param: 0,
            offset: 0,
            nbytes: bytes.len() as u64,
            name: format!("signature_keys_{output}"),
        };
        let t = b.weight(&desc, &bytes).map_err(werr)?;
        b.output_signature(*output as u32, *kind, t);
    }
    for (input, shape, name, first, count) in &p.groups {
        let (off, len) = b.string_ref(name).map_err(werr)?;
        let bytes: Vec<u8> = off.to_le_bytes().into_iter().chain(len.to_le_bytes()).collect();
        let desc = TensorDesc {
            dtype: DType::U32,
            dims: vec![1, 2],
            storage: Storage::Weights,
            layout: Layout::Plain,
            layout_param: 0,
            offset: 0,
            nbytes: 8,
            name: format!("group_{name}"),
        };
        let t = b.weight(&desc, &bytes).map_err(werr)?;
        let kind = mote_format::group_kind(*shape, *input);
        b.output_signature_axis(*first as u32, kind, t, *count as u32);
    }
    b.plan(m.arena as u64, m.scratch_offset as u64, m.scratch_size as u64, m.peak_live as u64);
    b.finish().map_err(werr)
}
