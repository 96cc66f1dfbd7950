//! The writer: build a model record by record, then [`Builder::finish`] lays the sections out,
//! aligns them and computes the checksums.

use alloc::string::String;
use alloc::vec::Vec;

use mote_core::DType;

use crate::codes::{Layout, OpCode, SectionKind, Storage};
use crate::crc::Crc32;
use crate::{ALIGN, HEADER_LEN, MAGIC, MAX_RANK, NO_TENSOR, SECTION_ENTRY_LEN, VERSION_MAJOR, VERSION_MINOR};

/// A tensor to add.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorDesc {
    pub dtype: DType,
    pub dims: Vec<u32>,
    pub storage: Storage,
    pub layout: Layout,
    pub layout_param: u32,
    /// Byte offset in the arena (arena tensors; weights offsets are assigned by the builder).
    pub offset: u64,
    pub nbytes: u64,
    pub name: String,
}

/// Why a model could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// More than the format's maximum rank.
    RankTooLarge,
    /// A dim, count or offset does not fit its field.
    TooLarge,
    /// A step has more than 255 inputs or outputs.
    TooManyOperands,
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            WriteError::RankTooLarge => "a tensor's rank exceeds the format's maximum (8)",
            WriteError::TooLarge => "a dim, count or offset does not fit the format's fields",
            WriteError::TooManyOperands => "a step has more than 255 inputs or outputs",
        })
    }
}

/// Builds a `.mote` file.
#[derive(Debug, Default)]
pub struct Builder {
    strings: Vec<u8>,
    meta: Vec<u8>,
    meta_count: u32,
    tensors: Vec<u8>,
    tensor_count: u32,
    steps: Vec<u8>,
    step_count: u32,
    step_io: Vec<u32>,
    attrs: Vec<u32>,
    io: Vec<u8>,
    io_count: u32,
    weights: Vec<u8>,
    signature: Vec<u8>,
    signature_count: u32,
    plan: [u64; 4],
}

fn put_u32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put_u64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn u32_of(x: usize) -> Result<u32, WriteError> {
    u32::try_from(x).map_err(|_| WriteError::TooLarge)
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Interns a string; returns its (offset, length).
    fn string(&mut self, s: &str) -> Result<(u32, u32), WriteError> {
        if s.is_empty() {
            return Ok((0, 0));
        }
        let off = u32_of(self.strings.len())?;
        self.strings.extend_from_slice(s.as_bytes());
        Ok((off, u32_of(s.len())?))
    }

    /// Adds a metadata pair.
    pub fn meta(&mut self, key: &str, value: &str) -> Result<(), WriteError> {
        let (k0, kl) = self.string(key)?;
        let (v0, vl) = self.string(value)?;
        for x in [k0, kl, v0, vl] {
            put_u32(&mut self.meta, x);
        }
        self.meta_count += 1;
        Ok(())
    }

    /// Adds a tensor record; returns its id.
    pub fn tensor(&mut self, t: &TensorDesc) -> Result<u32, WriteError> {
        if t.dims.len() > MAX_RANK {
            return Err(WriteError::RankTooLarge);
        }
        let (n0, nl) = self.string(&t.name)?;
        let start = self.tensors.len();
        self.tensors.extend_from_slice(&[t.dtype.code(), t.dims.len() as u8, t.storage.code(), t.layout.code()]);
        put_u32(&mut self.tensors, t.layout_param);
        for d in 0..MAX_RANK {
            put_u32(&mut self.tensors, t.dims.get(d).copied().unwrap_or(0));
        }
        put_u64(&mut self.tensors, t.offset);
        put_u64(&mut self.tensors, t.nbytes);
        put_u32(&mut self.tensors, n0);
        put_u32(&mut self.tensors, nl);
        debug_assert_eq!(self.tensors.len() - start, crate::TENSOR_RECORD_LEN);
        let id = self.tensor_count;
        self.tensor_count += 1;
        Ok(id)
    }

    /// Adds a weights tensor with its bytes (64-byte aligned in the WEIGHTS section); `desc`'s
    /// storage, offset and byte length are set from them.
    pub fn weight(&mut self, desc: &TensorDesc, bytes: &[u8]) -> Result<u32, WriteError> {
        let pad = self.weights.len().next_multiple_of(ALIGN) - self.weights.len();
        self.weights.resize(self.weights.len() + pad, 0);
        let offset = self.weights.len() as u64;
        self.weights.extend_from_slice(bytes);
        let mut d = desc.clone();
        d.storage = Storage::Weights;
        d.offset = offset;
        d.nbytes = bytes.len() as u64;
        self.tensor(&d)
    }

    /// Adds a step; `None` inputs are omitted optional inputs.
    pub fn step(
        &mut self,
        op: OpCode,
        inputs: &[Option<u32>],
        outputs: &[u32],
        attrs: &[u32],
        name: &str,
    ) -> Result<u32, WriteError> {
        if inputs.len() > 255 || outputs.len() > 255 {
            return Err(WriteError::TooManyOperands);
        }
        let (n0, nl) = self.string(name)?;
        let io_start = u32_of(self.step_io.len())?;
        self.step_io.extend(inputs.iter().map(|i| i.unwrap_or(NO_TENSOR)));
        self.step_io.extend_from_slice(outputs);
        let a0 = u32_of(self.attrs.len())?;
        self.attrs.extend_from_slice(attrs);
        self.steps.extend_from_slice(&op.code().to_le_bytes());
        self.steps.extend_from_slice(&[inputs.len() as u8, outputs.len() as u8]);
        put_u32(&mut self.steps, io_start);
        put_u32(&mut self.steps, a0);
        put_u32(&mut self.steps, u32_of(attrs.len())?);
        put_u32(&mut self.steps, n0);
        put_u32(&mut self.steps, nl);
        let id = self.step_count;
        self.step_count += 1;
        Ok(id)
    }

    /// A string of STRINGS as its `(offset, length)` pair (for string keys).
    pub fn string_ref(&mut self, s: &str) -> Result<(u32, u32), WriteError> {
        self.string(s)
    }

    /// Output `output` (its index among the outputs) is presented as `kind` with the keys in
    /// weight tensor `keys` (int64 `[C]`, or u32 `[C, 2]` pairs from [`Builder::string_ref`]).
    pub fn output_signature(&mut self, output: u32, kind: crate::OutputKind, keys: u32) {
        self.output_signature_axis(output, kind, keys, 0);
    }

    /// [`Builder::output_signature`] with the record's axis word ([`crate::OutputKind::Bounded`]:
    /// `keys` is the i64 count tensor, `axis` the output axis it measures).
    pub fn output_signature_axis(&mut self, output: u32, kind: crate::OutputKind, keys: u32, axis: u32) {
        for x in [output, kind.code(), keys, axis] {
            put_u32(&mut self.signature, x);
        }
        self.signature_count += 1;
    }

    fn io(&mut self, kind: u32, tensor: u32, name: &str) -> Result<(), WriteError> {
        let (n0, nl) = self.string(name)?;
        for x in [kind, tensor, n0, nl] {
            put_u32(&mut self.io, x);
        }
        self.io_count += 1;
        Ok(())
    }

    /// Declares a graph input (in order).
    pub fn input(&mut self, tensor: u32, name: &str) -> Result<(), WriteError> {
        self.io(0, tensor, name)
    }

    /// Declares a graph output (in order).
    pub fn output(&mut self, tensor: u32, name: &str) -> Result<(), WriteError> {
        self.io(1, tensor, name)
    }

    /// Sets the arena plan.
    pub fn plan(&mut self, arena_size: u64, scratch_offset: u64, scratch_size: u64, peak_live: u64) {
        self.plan = [arena_size, scratch_offset, scratch_size, peak_live];
    }

    /// Lays out and returns the file.
    pub fn finish(self) -> Result<Vec<u8>, WriteError> {
        let words = |v: &[u32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let mut plan = Vec::new();
        for x in self.plan {
            put_u64(&mut plan, x);
        }
        let mut sections: Vec<(SectionKind, u32, Vec<u8>)> = alloc::vec![
            (SectionKind::Strings, u32_of(self.strings.len())?, self.strings),
            (SectionKind::Meta, self.meta_count, self.meta),
            (SectionKind::Tensors, self.tensor_count, self.tensors),
            (SectionKind::Steps, self.step_count, self.steps),
            (SectionKind::StepIo, u32_of(self.step_io.len())?, words(&self.step_io)),
            (SectionKind::Attrs, u32_of(self.attrs.len())?, words(&self.attrs)),
            (SectionKind::Io, self.io_count, self.io),
            (SectionKind::Plan, 1, plan),
            (SectionKind::Weights, u32_of(self.weights.len())?, self.weights),
        ];
        // Written only when used, so files without ZipMap or string-label outputs stay
        // readable by 1.0 runtimes.
        if self.signature_count > 0 {
            sections.push((SectionKind::Signature, self.signature_count, self.signature));
        }
        let table_end = HEADER_LEN + sections.len() * SECTION_ENTRY_LEN;
        let mut offsets = alloc::vec![0usize; sections.len()];
        let mut pos = table_end;
        for (i, (_, _, b)) in sections.iter().enumerate() {
            pos = pos.next_multiple_of(ALIGN);
            offsets[i] = pos;
            pos += b.len();
        }
        let mut out = Vec::with_capacity(pos);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION_MAJOR.to_le_bytes());
        out.extend_from_slice(&VERSION_MINOR.to_le_bytes());
        put_u32(&mut out, 0); // flags
        put_u64(&mut out, pos as u64);
        put_u32(&mut out, sections.len() as u32);
        put_u32(&mut out, 0);
        out.resize(HEADER_LEN, 0);
        for (i, (kind, count, b)) in sections.iter().enumerate() {
            put_u32(&mut out, kind.code());
            put_u32(&mut out, *count);
            put_u64(&mut out, offsets[i] as u64);
            put_u64(&mut out, b.len() as u64);
        }
        for (i, (_, _, b)) in sections.iter().enumerate() {
            out.resize(offsets[i], 0);
            out.extend_from_slice(b);
        }
        let weights_crc = sections
            .iter()
            .enumerate()
            .filter(|(_, (kind, _, _))| *kind == SectionKind::Weights)
            .fold(Crc32::new(), |c, (i, (_, _, b))| c.update(&out[offsets[i]..offsets[i] + b.len()]))
            .finish();
        out[36..40].copy_from_slice(&weights_crc.to_le_bytes());
        // Structure checksum: every byte of the file but itself and the WEIGHTS section.
        let (w_start, w_end) = sections
            .iter()
            .enumerate()
            .find(|(_, (kind, _, _))| *kind == SectionKind::Weights)
            .map_or((out.len(), out.len()), |(i, (_, _, b))| (offsets[i], offsets[i] + b.len()));
        let crc = Crc32::new().update(&out[..32]).update(&out[36..w_start]).update(&out[w_end..]);
        out[32..36].copy_from_slice(&crc.finish().to_le_bytes());
        Ok(out)
    }
}
