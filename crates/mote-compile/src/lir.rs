//! The lowered program before planning: tensors (arena buffers and views of them, or weights),
//! and runtime steps in execution order.

use mote_core::DType;
use mote_format::OpCode;

/// An arena buffer the planner places.
#[derive(Clone, Debug)]
pub struct Buf {
    pub bytes: usize,
    /// Pinned live for the whole run (graph inputs and outputs).
    pub pinned: bool,
}

/// Where a tensor's bytes are.
#[derive(Clone, Debug)]
pub enum Place {
    /// `offset` bytes into arena buffer `buf`.
    Arena { buf: usize, offset: usize },
    /// Index into [`Program::weights`].
    Weight(usize),
}

#[derive(Clone, Debug)]
pub struct LTensor {
    pub dtype: DType,
    pub dims: Vec<usize>,
    pub place: Place,
    pub name: String,
    /// Packed for the fast kernels: the packing's version (`Layout::Packed`); the dims stay the
    /// logical ones and the bytes are the weight's.
    pub packed: Option<u32>,
    /// A string tensor's pool capacity in bytes (after its element slots;
    /// `mote_format::strings`); 0 for other element types.
    pub pool: usize,
}

impl LTensor {
    pub fn numel(&self) -> usize {
        self.dims.iter().product()
    }

    pub fn nbytes(&self) -> usize {
        if self.dtype == DType::String {
            return self.numel() * mote_format::strings::SLOT_BYTES + self.pool;
        }
        self.numel() * self.dtype.size().unwrap_or(1)
    }

    pub fn buf(&self) -> Option<usize> {
        match self.place {
            Place::Arena { buf, .. } => Some(buf),
            Place::Weight(_) => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct LStep {
    pub op: OpCode,
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
    pub attrs: Vec<u32>,
    pub name: String,
    /// Scratch bytes the runtime will ask for.
    pub scratch: usize,
}

/// The keys of an output signature (ZipMap keys or string class labels), or the count tensor
/// of a Bounded output and the axis it measures.
#[derive(Clone, Debug, PartialEq)]
pub enum Keys {
    Ints(Vec<i64>),
    Strings(Vec<String>),
    Count { tensor: usize, axis: u32 },
}

/// A lowered program.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub bufs: Vec<Buf>,
    pub tensors: Vec<LTensor>,
    pub weights: Vec<Vec<u8>>,
    pub steps: Vec<LStep>,
    pub inputs: Vec<(usize, String)>,
    pub outputs: Vec<(usize, String)>,
    /// `(output index, kind, keys)`: outputs the host presents beyond a tensor.
    pub signatures: Vec<(usize, mote_format::OutputKind, Keys)>,
    /// Inputs and outputs grouped into one sequence or optional value (SIGNATURE group records):
    /// `(input side, shape, name, first, count)`.
    pub groups: Vec<(bool, mote_format::GroupShape, String, usize, usize)>,
}

impl Program {
    /// A new arena buffer and the tensor filling it.
    pub fn arena(&mut self, dtype: DType, dims: Vec<usize>, name: impl Into<String>) -> usize {
        let bytes = dims.iter().product::<usize>() * dtype.size().unwrap_or(1);
        self.bufs.push(Buf { bytes, pinned: false });
        self.tensor(LTensor {
            dtype,
            dims,
            place: Place::Arena { buf: self.bufs.len() - 1, offset: 0 },
            name: name.into(),
            packed: None,
            pool: 0,
        })
    }

    /// A new arena buffer holding a string tensor of `dims` with a pool of `pool` bytes.
    pub fn string_arena(&mut self, dims: Vec<usize>, pool: usize, name: impl Into<String>) -> usize {
        let bytes = dims.iter().product::<usize>() * mote_format::strings::SLOT_BYTES + pool;
        self.bufs.push(Buf { bytes, pinned: false });
        self.tensor(LTensor {
            dtype: DType::String,
            dims,
            place: Place::Arena { buf: self.bufs.len() - 1, offset: 0 },
            name: name.into(),
            packed: None,
            pool,
        })
    }

    /// A weight string tensor of `dims` holding `strings` (row-major): slots, then the bytes.
    pub fn string_weight(&mut self, dims: Vec<usize>, strings: &[String], name: impl Into<String>) -> usize {
        let pool: usize = strings.iter().map(String::len).sum();
        let mut bytes = vec![0u8; strings.len() * mote_format::strings::SLOT_BYTES + pool];
        if let Some(mut w) = mote_format::strings::StrWriter::new(&mut bytes, strings.len()) {
            for (i, s) in strings.iter().enumerate() {
                // The pool holds exactly these bytes.
                let _ = w.set(i, s.as_bytes());
            }
        }
        let t = self.weight(DType::String, dims, bytes, name);
        self.tensors[t].pool = pool;
        t
    }

    /// A weight tensor with its little-endian bytes.
    pub fn weight(&mut self, dtype: DType, dims: Vec<usize>, bytes: Vec<u8>, name: impl Into<String>) -> usize {
        self.weights.push(bytes);
        self.tensor(LTensor {
            dtype,
            dims,
            place: Place::Weight(self.weights.len() - 1),
            name: name.into(),
            packed: None,
            pool: 0,
        })
    }

    /// A weight in a packed layout (`version` of the packing), f32 values.
    pub fn packed_weight(&mut self, dims: Vec<usize>, data: &[f32], version: u32, name: impl Into<String>) -> usize {
        let t = self.weight(DType::F32, dims, data.iter().flat_map(|x| x.to_le_bytes()).collect(), name);
        self.tensors[t].packed = Some(version);
        t
    }

    /// Another view (dims) of tensor `t`'s bytes.
    pub fn alias(&mut self, t: usize, dims: Vec<usize>, name: impl Into<String>) -> usize {
        let base = &self.tensors[t];
        let (dtype, place, pool) = (base.dtype, base.place.clone(), base.pool);
        let view = LTensor { dtype, dims, place, name: name.into(), packed: None, pool };
        self.tensor(view)
    }

    pub fn tensor(&mut self, t: LTensor) -> usize {
        self.tensors.push(t);
        self.tensors.len() - 1
    }

    pub fn step(
        &mut self,
        op: OpCode,
        inputs: Vec<Option<usize>>,
        outputs: Vec<usize>,
        attrs: Vec<u32>,
        name: &str,
    ) -> usize {
        self.steps.push(LStep { op, inputs, outputs, attrs, name: name.to_string(), scratch: 0 });
        self.steps.len() - 1
    }
}
