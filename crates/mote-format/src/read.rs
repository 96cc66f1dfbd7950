//! The validating, zero-copy reader.
//!
//! [`Model::parse`] checks everything once; the accessors then decode records from the borrowed
//! bytes without further checks that could fail (they cannot index out of bounds: every range
//! was validated, and reads go through `get` regardless).
//!
//! The reader is most of a microcontroller runtime's code, so the checks are written for size:
//! shared out-of-line helpers (`#[inline(never)]`), one loop over the record sections where
//! each record's checker returns only the error kind, and no 64-bit division.

use mote_core::DType;

use crate::codes::{Layout, OpCode, OutputKind, SectionKind, Storage};
use crate::crc::Crc32;
use crate::error::{FormatError, FormatErrorKind as K};
use crate::{
    ALIGN, HEADER_LEN, IO_RECORD_LEN, MAGIC, MAX_RANK, META_RECORD_LEN, NO_TENSOR, PLAN_RECORD_LEN, SECTION_ENTRY_LEN,
    SIGNATURE_RECORD_LEN, STEP_RECORD_LEN, TENSOR_RECORD_LEN, VERSION_MAJOR,
};

const MAX_SECTIONS: usize = 16;

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
}

/// A validated section: its bytes and record count.
#[derive(Clone, Copy, Debug, Default)]
struct Section<'a> {
    bytes: &'a [u8],
    count: usize,
    offset: usize,
}

/// Checks the record at a byte offset of its section's bytes.
type RecordCheck<'a> = fn(&Model<'a>, &[u8], usize) -> Result<(), K>;

/// The sections of the table, each with its kind.
struct Found<'a>([Option<(SectionKind, Section<'a>)>; MAX_SECTIONS]);

impl<'a> Found<'a> {
    #[inline(never)]
    fn get(&self, kind: SectionKind) -> Option<Section<'a>> {
        self.0.iter().flatten().find(|(k, _)| *k == kind).map(|(_, s)| *s)
    }

    /// The section of `kind` holding a whole number of `record`-byte records (empty when
    /// absent and not `required`).
    #[inline(never)]
    fn records(&self, kind: SectionKind, record: usize, required: bool) -> Result<Section<'a>, FormatError> {
        let Some(s) = self.get(kind) else {
            if required {
                return Err(FormatError::at(K::MissingSection(kind.code()), HEADER_LEN));
            }
            return Ok(Section::default());
        };
        if s.count.checked_mul(record) != Some(s.bytes.len()) {
            return Err(FormatError::at(K::BadRecordCount, s.offset));
        }
        Ok(s)
    }
}

/// The arena plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Bytes the caller must provide (64-byte aligned).
    pub arena_size: u64,
    /// The scratch region kernels share (im2col buffers, packed panels).
    pub scratch_offset: u64,
    pub scratch_size: u64,
    /// The largest sum of live tensor bytes at any step (a lower bound for any plan).
    pub peak_live: u64,
}

/// A parsed, validated `.mote` model borrowing its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Model<'a> {
    bytes: &'a [u8],
    minor: u16,
    strings: Section<'a>,
    meta: Section<'a>,
    tensors: Section<'a>,
    steps: Section<'a>,
    step_io: Section<'a>,
    attrs: Section<'a>,
    io: Section<'a>,
    weights: Section<'a>,
    signature: Section<'a>,
    weights_crc: u32,
    plan: Plan,
}

/// One tensor record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorRef<'a> {
    pub dtype: DType,
    pub rank: usize,
    dims: [u32; MAX_RANK],
    pub storage: Storage,
    pub layout: Layout,
    /// Packing identifier for [`Layout::Packed`] (0 otherwise).
    pub layout_param: u32,
    /// Byte offset in the arena or the weights section.
    pub offset: u64,
    /// Byte length.
    pub nbytes: u64,
    pub name: &'a str,
}

impl TensorRef<'_> {
    pub fn dims(&self) -> &[u32] {
        &self.dims[..self.rank]
    }

    /// Element count (validated not to overflow).
    pub fn numel(&self) -> usize {
        self.dims().iter().map(|&d| d as usize).product()
    }

    /// A string tensor's pool capacity in bytes (`None` for other element types); see
    /// [`crate::strings`].
    pub fn string_capacity(&self) -> Option<u64> {
        if self.dtype != DType::String {
            return None;
        }
        crate::strings::pool_capacity(self.numel() as u64, self.nbytes)
    }

    /// The dims as `usize`s in a fixed array (first `rank` are valid).
    pub fn shape(&self) -> [usize; MAX_RANK] {
        let mut s = [0usize; MAX_RANK];
        for (o, &d) in s.iter_mut().zip(self.dims()) {
            *o = d as usize;
        }
        s
    }
}

/// One step record.
#[derive(Clone, Copy, Debug)]
pub struct StepRef<'a> {
    pub op: OpCode,
    io: &'a [u8],
    n_inputs: usize,
    n_outputs: usize,
    attrs: &'a [u8],
    pub name: &'a str,
}

impl StepRef<'_> {
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// Input `i`'s tensor id; `None` for an omitted optional input or past the end.
    pub fn input(&self, i: usize) -> Option<u32> {
        if i >= self.n_inputs {
            return None;
        }
        Some(u32_at(self.io, 4 * i)).filter(|&t| t != NO_TENSOR)
    }

    /// Output `i`'s tensor id.
    pub fn output(&self, i: usize) -> Option<u32> {
        if i >= self.n_outputs {
            return None;
        }
        Some(u32_at(self.io, 4 * (self.n_inputs + i)))
    }

    /// Number of attribute words.
    pub fn attr_len(&self) -> usize {
        self.attrs.len() / 4
    }

    /// Attribute word `i` (0 past the end).
    pub fn attr(&self, i: usize) -> u32 {
        u32_at(self.attrs, 4 * i)
    }

    /// Attribute word `i` as an i32.
    pub fn attr_i32(&self, i: usize) -> i32 {
        self.attr(i) as i32
    }

    /// Attribute word `i` as an f32 (bit pattern).
    pub fn attr_f32(&self, i: usize) -> f32 {
        f32::from_bits(self.attr(i))
    }
}

/// The tensor records of a parsed model ([`Model::tensors`]).
#[derive(Clone, Copy, Debug)]
pub struct Tensors<'a> {
    records: &'a [u8],
    count: usize,
    strings: &'a [u8],
}

impl<'a> Tensors<'a> {
    /// Tensor `i`, or `None` if out of range.
    pub fn get(&self, i: u32) -> Option<TensorRef<'a>> {
        let i = i as usize;
        if i >= self.count {
            return None;
        }
        let b = self.records.get(i * TENSOR_RECORD_LEN..)?;
        let mut dims = [0u32; MAX_RANK];
        let rank = (b[1] as usize).min(MAX_RANK);
        for (d, slot) in dims.iter_mut().enumerate().take(rank) {
            *slot = u32_at(b, 8 + 4 * d);
        }
        Some(TensorRef {
            dtype: DType::from_code(b[0] as i64)?,
            rank,
            dims,
            storage: Storage::from_code(b[2])?,
            layout: Layout::from_code(b[3])?,
            layout_param: u32_at(b, 4),
            offset: u64_at(b, 40),
            nbytes: u64_at(b, 48),
            name: str_in(self.strings, u32_at(b, 56), u32_at(b, 60)).unwrap_or(""),
        })
    }
}

/// The string at `(off, len)` of a strings section, `None` when out of range or not UTF-8.
fn str_in(strings: &[u8], off: u32, len: u32) -> Option<&str> {
    let (off, len) = (off as usize, len as usize);
    core::str::from_utf8(strings.get(off..off.checked_add(len)?)?).ok()
}

/// How the host presents an output (a SIGNATURE record, format 1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputSignature<'a> {
    pub kind: OutputKind,
    /// The keys: int64 `[C]`, or u32 `[C, 2]` `(offset, length)` pairs of STRINGS (string keys);
    /// for [`OutputKind::Bounded`], the i64 count tensor.
    pub keys: TensorRef<'a>,
    /// [`OutputKind::Bounded`]: the axis whose length is the count (0 for the other kinds).
    pub axis: u32,
}

impl<'a> OutputSignature<'a> {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.dims().first().map_or(0, |&d| d as usize)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the keys are strings (else int64).
    pub fn string_keys(&self) -> bool {
        self.keys.dtype == DType::U32
    }
}

/// What a group of graph inputs or outputs is (format 1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupShape {
    /// A sequence of the group's tensors (any number, in order).
    Sequence,
    /// An optional tensor: absent (no tensor) or the group's one tensor.
    Optional,
    /// An optional holding a sequence of the group's tensors.
    OptionalSequence,
}

/// A group of consecutive graph inputs or outputs forming one value (SIGNATURE group record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoGroup<'a> {
    pub shape: GroupShape,
    /// Index of its first input or output (where it would start when it has none).
    pub first: usize,
    /// Number of inputs or outputs (tensors) it holds.
    pub count: usize,
    /// The value's name in the source graph.
    pub name: &'a str,
}

/// The group shape of a SIGNATURE record kind (`None`: a presentation of one output).
pub fn group_shape(kind: OutputKind) -> Option<GroupShape> {
    match kind {
        OutputKind::SequenceInput | OutputKind::SequenceOutput => Some(GroupShape::Sequence),
        OutputKind::OptionalInput | OutputKind::OptionalOutput => Some(GroupShape::Optional),
        OutputKind::OptionalSequenceInput | OutputKind::OptionalSequenceOutput => Some(GroupShape::OptionalSequence),
        OutputKind::ZipMap | OutputKind::Labels | OutputKind::Bounded => None,
    }
}

/// Whether a group record kind groups inputs (else outputs).
pub fn group_is_input(kind: OutputKind) -> bool {
    matches!(kind, OutputKind::SequenceInput | OutputKind::OptionalInput | OutputKind::OptionalSequenceInput)
}

/// The group record kind for a shape and side.
pub fn group_kind(shape: GroupShape, input: bool) -> OutputKind {
    match (shape, input) {
        (GroupShape::Sequence, true) => OutputKind::SequenceInput,
        (GroupShape::Sequence, false) => OutputKind::SequenceOutput,
        (GroupShape::Optional, true) => OutputKind::OptionalInput,
        (GroupShape::Optional, false) => OutputKind::OptionalOutput,
        (GroupShape::OptionalSequence, true) => OutputKind::OptionalSequenceInput,
        (GroupShape::OptionalSequence, false) => OutputKind::OptionalSequenceOutput,
    }
}

/// A graph input or output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoRef<'a> {
    pub tensor: u32,
    pub name: &'a str,
}

const IO_INPUT: u32 = 0;
const IO_OUTPUT: u32 = 1;

impl<'a> Model<'a> {
    /// Parses and validates `bytes`. The bytes must start at an 8-byte aligned address (so
    /// weights can be read in place). The weights checksum is not verified here (it reads every
    /// weight byte); call [`Model::verify_weights`] for that.
    #[inline(never)]
    pub fn parse(bytes: &'a [u8]) -> Result<Model<'a>, FormatError> {
        if bytes.len() < HEADER_LEN {
            return Err(FormatError::at(K::TooShort, 0));
        }
        if bytes[..8] != MAGIC {
            return Err(FormatError::at(K::BadMagic, 0));
        }
        let (major, minor) = (u16_at(bytes, 8), u16_at(bytes, 10));
        if major != VERSION_MAJOR {
            return Err(FormatError::at(K::UnsupportedVersion { major, minor }, 8));
        }
        let file_len = u64_at(bytes, 16);
        if file_len != bytes.len() as u64 {
            return Err(FormatError::at(K::LengthMismatch { header: file_len, actual: bytes.len() as u64 }, 16));
        }
        if !(bytes.as_ptr() as usize).is_multiple_of(8) {
            return Err(FormatError::at(K::Misaligned, 0));
        }
        let n_sections = u32_at(bytes, 24) as usize;
        let (structure_crc, weights_crc) = (u32_at(bytes, 32), u32_at(bytes, 36));
        if n_sections > MAX_SECTIONS {
            return Err(FormatError::at(K::BadRecordCount, 24));
        }
        let table_end = HEADER_LEN + n_sections * SECTION_ENTRY_LEN;
        if bytes.len() < table_end {
            return Err(FormatError::at(K::TooShort, HEADER_LEN));
        }

        // Sections: kind, bounds, alignment, no duplicates, no overlaps.
        let mut found: [Option<(SectionKind, Section<'a>)>; MAX_SECTIONS] = [None; MAX_SECTIONS];
        for (i, slot) in found.iter_mut().enumerate().take(n_sections) {
            let e = HEADER_LEN + i * SECTION_ENTRY_LEN;
            let kind_code = u32_at(bytes, e);
            let kind =
                SectionKind::from_code(kind_code).ok_or(FormatError::record(K::BadSectionKind(kind_code), e, i))?;
            let count = u32_at(bytes, e + 4) as usize;
            let (off, len) = (u64_at(bytes, e + 8), u64_at(bytes, e + 16));
            let end = off.checked_add(len).ok_or(FormatError::record(K::BadSection, e, i))?;
            if off % ALIGN as u64 != 0 || off < table_end as u64 || end > bytes.len() as u64 {
                return Err(FormatError::record(K::BadSection, e, i));
            }
            let (off, end) = (off as usize, end as usize);
            *slot = Some((kind, Section { bytes: &bytes[off..end], count, offset: off }));
        }
        for i in 0..n_sections {
            for j in i + 1..n_sections {
                let (Some((ka, a)), Some((kb, b))) = (found[i], found[j]) else { continue };
                if ka == kb {
                    return Err(FormatError::record(
                        K::DuplicateSection(ka.code()),
                        HEADER_LEN + j * SECTION_ENTRY_LEN,
                        j,
                    ));
                }
                let overlap = a.offset < b.offset + b.bytes.len() && b.offset < a.offset + a.bytes.len();
                if overlap && !a.bytes.is_empty() && !b.bytes.is_empty() {
                    return Err(FormatError::record(K::BadSection, HEADER_LEN + j * SECTION_ENTRY_LEN, j));
                }
            }
        }
        let found = Found(found);
        let weights = found.get(SectionKind::Weights).unwrap_or_default();

        // Structure checksum: every byte of the file but itself and the WEIGHTS section.
        let (w_start, w_end) = (weights.offset, weights.offset + weights.bytes.len());
        let parts = [&bytes[..32], &bytes[36..w_start.max(36)], &bytes[w_end.max(36)..]];
        let crc = parts.iter().fold(Crc32::new(), |crc, part| crc.update(part));
        if crc.finish() != structure_crc {
            return Err(FormatError::at(K::ChecksumMismatch, 32));
        }

        let strings = found.get(SectionKind::Strings).unwrap_or_default();
        // The record sections (kind, record bytes, required), checked in one loop.
        const RECORDS: [(SectionKind, usize, bool); 8] = [
            (SectionKind::Meta, META_RECORD_LEN, false),
            (SectionKind::Plan, PLAN_RECORD_LEN, true),
            (SectionKind::Tensors, TENSOR_RECORD_LEN, true),
            (SectionKind::Steps, STEP_RECORD_LEN, true),
            (SectionKind::StepIo, 4, true), // u32 words
            (SectionKind::Attrs, 4, true),
            (SectionKind::Io, IO_RECORD_LEN, true),
            (SectionKind::Signature, SIGNATURE_RECORD_LEN, false),
        ];
        let mut sections = [Section::default(); RECORDS.len()];
        for (slot, &(kind, record, required)) in sections.iter_mut().zip(&RECORDS) {
            *slot = found.records(kind, record, required)?;
        }
        let [meta, plan_s, tensors, steps, step_io, attrs, io, signature] = sections;
        if plan_s.count != 1 {
            return Err(FormatError::at(K::BadPlan, plan_s.offset));
        }
        let plan = Plan {
            arena_size: u64_at(plan_s.bytes, 0),
            scratch_offset: u64_at(plan_s.bytes, 8),
            scratch_size: u64_at(plan_s.bytes, 16),
            peak_live: u64_at(plan_s.bytes, 24),
        };
        if plan.scratch_offset.checked_add(plan.scratch_size).is_none_or(|e| e > plan.arena_size)
            || isize::try_from(plan.arena_size).is_err()
        {
            return Err(FormatError::at(K::BadPlan, plan_s.offset));
        }

        let model = Model {
            bytes,
            minor,
            strings,
            meta,
            tensors,
            steps,
            step_io,
            attrs,
            io,
            weights,
            signature,
            weights_crc,
            plan,
        };
        model.validate_records()?;
        Ok(model)
    }

    /// The string at `(offset, len)` of STRINGS, if valid.
    #[inline(never)]
    fn string(&self, off: u32, len: u32) -> Option<&'a str> {
        str_in(self.strings.bytes, off, len)
    }

    /// The string whose `(offset, length)` pair is at byte `at` of `b`.
    #[inline(never)]
    fn string_at(&self, b: &[u8], at: usize) -> Option<&'a str> {
        self.string(u32_at(b, at), u32_at(b, at + 4))
    }

    /// Number of IO records of `kind` (without decoding their names).
    #[inline(never)]
    fn io_count(&self, kind: u32) -> usize {
        (0..self.io.count).filter(|&i| u32_at(self.io.bytes, i * IO_RECORD_LEN) == kind).count()
    }

    /// The tensor of the `n`th IO record of `kind`.
    #[inline(never)]
    fn io_tensor(&self, kind: u32, n: usize) -> Option<u32> {
        let b = self.io.bytes;
        (0..self.io.count)
            .filter(|&i| u32_at(b, i * IO_RECORD_LEN) == kind)
            .nth(n)
            .map(|i| u32_at(b, i * IO_RECORD_LEN + 4))
    }

    /// The storage of tensor `t` (`None` past the end or for an unknown code).
    fn tensor_storage(&self, t: u32) -> Option<Storage> {
        if t as usize >= self.tensors.count {
            return None;
        }
        Storage::from_code(*self.tensors.bytes.get(t as usize * TENSOR_RECORD_LEN + 2)?)
    }

    /// Whether a SIGNATURE record other than a group presents output `o`.
    #[inline(never)]
    fn presented(&self, o: usize) -> bool {
        let b = self.signature.bytes;
        (0..self.signature.count).any(|k| {
            let r = k * SIGNATURE_RECORD_LEN;
            let kind = OutputKind::from_code(u32_at(b, r + 4));
            u32_at(b, r) as usize == o && kind.is_some_and(|k| group_shape(k).is_none())
        })
    }

    /// Every META, TENSORS, STEPS and IO record, through one loop that places the error.
    fn validate_records(&self) -> Result<(), FormatError> {
        let sections: [(Section<'a>, usize, RecordCheck<'a>); 4] = [
            (self.meta, META_RECORD_LEN, Model::meta_fault),
            (self.tensors, TENSOR_RECORD_LEN, Model::tensor_fault),
            (self.steps, STEP_RECORD_LEN, Model::step_fault),
            (self.io, IO_RECORD_LEN, Model::io_fault),
        ];
        for (s, len, check) in sections {
            for i in 0..s.count {
                let r = i * len;
                check(self, s.bytes, r).map_err(|k| FormatError::record(k, s.offset + r, i))?;
            }
        }
        self.validate_signature()
    }

    /// META record at `r`: two valid strings.
    fn meta_fault(&self, b: &[u8], r: usize) -> Result<(), K> {
        if self.string_at(b, r).is_none() || self.string_at(b, r + 8).is_none() {
            return Err(K::BadString);
        }
        Ok(())
    }

    /// STEPS record at `r`: a known op, tensor ids inside STEP_IO naming existing tensors (an
    /// input may be omitted), attributes inside ATTRS, a valid name.
    fn step_fault(&self, b: &[u8], r: usize) -> Result<(), K> {
        let code = u16_at(b, r);
        OpCode::from_code(code).ok_or(K::BadOpCode(code))?;
        let (n_in, n_out) = (b[r + 2] as usize, b[r + 3] as usize);
        let io_start = u32_at(b, r + 4) as usize;
        let ids = io_start.checked_add(n_in + n_out).filter(|&e| e <= self.step_io.count);
        if ids.is_none() {
            return Err(K::BadStepIo);
        }
        for k in 0..n_in + n_out {
            let id = u32_at(self.step_io.bytes, 4 * (io_start + k));
            let optional_input = k < n_in && id == NO_TENSOR;
            if !optional_input && id as usize >= self.tensors.count {
                return Err(K::BadStepIo);
            }
        }
        let (a0, alen) = (u32_at(b, r + 8) as usize, u32_at(b, r + 12) as usize);
        if a0.checked_add(alen).is_none_or(|e| e > self.attrs.count) {
            return Err(K::BadAttrs);
        }
        if self.string_at(b, r + 16).is_none() {
            return Err(K::BadString);
        }
        Ok(())
    }

    /// IO record at `r`: input or output of an existing tensor (an input in the arena), a valid
    /// name.
    fn io_fault(&self, b: &[u8], r: usize) -> Result<(), K> {
        let (kind, t) = (u32_at(b, r), u32_at(b, r + 4));
        if (kind != IO_INPUT && kind != IO_OUTPUT) || t as usize >= self.tensors.count {
            return Err(K::BadIo);
        }
        if kind == IO_INPUT && self.tensor_storage(t) != Some(Storage::Arena) {
            return Err(K::BadIo);
        }
        if self.string_at(b, r + 8).is_none() {
            return Err(K::BadString);
        }
        Ok(())
    }

    /// SIGNATURE records: each names an existing output at most once, a known kind, a keys
    /// tensor in the weights (int64 `[C]`, or u32 `[C, 2]` pairs that are valid strings), and an
    /// output tensor that fits the kind (ZipMap: f32 `[C]` or `[N, C]`; labels: int64); a
    /// Bounded record names an i64 count tensor of one element and an axis of the output.
    fn validate_signature(&self) -> Result<(), FormatError> {
        let n_outputs = self.io_count(IO_OUTPUT);
        let b = self.signature.bytes;
        let kind_at = |j: usize| OutputKind::from_code(u32_at(b, j * SIGNATURE_RECORD_LEN + 4));
        for i in 0..self.signature.count {
            let r = i * SIGNATURE_RECORD_LEN;
            let bad = || FormatError::record(K::BadSignature, self.signature.offset + r, i);
            let output = u32_at(b, r) as usize;
            let kind = OutputKind::from_code(u32_at(b, r + 4)).ok_or_else(bad)?;
            if let Some(shape) = group_shape(kind) {
                self.validate_group(i, shape).map_err(|_| bad())?;
                continue;
            }
            let axis = u32_at(b, r + 12);
            if output >= n_outputs || (axis != 0 && kind != OutputKind::Bounded) {
                return Err(bad());
            }
            let presented = |j: usize| kind_at(j).is_some_and(|k| group_shape(k).is_none());
            if (0..i).any(|j| presented(j) && u32_at(b, j * SIGNATURE_RECORD_LEN) as usize == output) {
                return Err(bad());
            }
            let keys = self.tensor(u32_at(b, r + 8)).ok_or_else(bad)?;
            let out = self.io_tensor(IO_OUTPUT, output).and_then(|t| self.tensor(t)).ok_or_else(bad)?;
            if kind == OutputKind::Bounded {
                // The count: one i64 in the arena (or a constant); the axis exists.
                let count_ok = keys.dtype == DType::I64 && keys.numel() == 1 && keys.layout == Layout::Plain;
                if !count_ok || axis as usize >= out.rank || out.layout != Layout::Plain {
                    return Err(bad());
                }
                continue;
            }
            let bytes = self.weight_bytes(&keys).filter(|_| keys.layout == Layout::Plain).ok_or_else(bad)?;
            let c = match (keys.dtype, keys.dims()) {
                (DType::I64, &[c]) => c,
                (DType::U32, &[c, 2]) => {
                    let ok = bytes.chunks_exact(8).all(|p| self.string_at(p, 0).is_some());
                    if !ok {
                        return Err(bad());
                    }
                    c
                }
                _ => return Err(bad()),
            };
            let fits = match kind {
                OutputKind::ZipMap => {
                    out.dtype == DType::F32 && matches!(out.dims(), &[k] | &[_, k] if k == c) && c > 0
                }
                OutputKind::Labels => out.dtype == DType::I64 && c > 0,
                _ => false,
            };
            if !fits || out.layout != Layout::Plain {
                return Err(bad());
            }
        }
        Ok(())
    }

    /// Group record `i` (format 1.3): its range of inputs or outputs exists, starts at or after
    /// the end of the previous group of the same side (groups are in order and disjoint), holds
    /// no output another record presents, an optional holds at most one tensor, and the name is
    /// one valid string key (u32 `[1, 2]` in the weights).
    #[inline(never)]
    fn validate_group(&self, i: usize, shape: GroupShape) -> Result<(), ()> {
        let b = self.signature.bytes;
        let r = i * SIGNATURE_RECORD_LEN;
        let kind = OutputKind::from_code(u32_at(b, r + 4)).ok_or(())?;
        let input = group_is_input(kind);
        let (first, count) = (u32_at(b, r) as usize, u32_at(b, r + 12) as usize);
        let n_side = self.io_count(if input { IO_INPUT } else { IO_OUTPUT });
        let end = first.checked_add(count).ok_or(())?;
        if end > n_side || (shape == GroupShape::Optional && count > 1) {
            return Err(());
        }
        let prev_end = (0..i)
            .filter_map(|j| {
                let q = j * SIGNATURE_RECORD_LEN;
                let k = OutputKind::from_code(u32_at(b, q + 4))?;
                (group_shape(k).is_some() && group_is_input(k) == input)
                    .then(|| u32_at(b, q) as usize + u32_at(b, q + 12) as usize)
            })
            .max()
            .unwrap_or(0);
        if first < prev_end {
            return Err(());
        }
        if !input && (first..end).any(|o| self.presented(o)) {
            return Err(());
        }
        let name = self.tensor(u32_at(b, r + 8)).ok_or(())?;
        let bytes = self.weight_bytes(&name).ok_or(())?;
        if name.dtype != DType::U32 || name.dims() != [1, 2] || name.layout != Layout::Plain {
            return Err(());
        }
        self.string_at(bytes, 0).ok_or(())?;
        Ok(())
    }

    /// TENSORS record at `r`: known codes, a shape whose size does not overflow, a byte length
    /// that matches it, bytes inside the arena or the weights at an aligned offset, a valid name.
    fn tensor_fault(&self, b: &[u8], r: usize) -> Result<(), K> {
        let dtype = DType::from_code(b[r] as i64).ok_or(K::BadDType(b[r]))?;
        let rank = b[r + 1] as usize;
        if rank > MAX_RANK {
            return Err(K::BadShape);
        }
        let storage = Storage::from_code(b[r + 2]).ok_or(K::BadStorage(b[r + 2]))?;
        let layout = Layout::from_code(b[r + 3]).ok_or(K::BadLayout(b[r + 3]))?;
        let mut numel: u64 = 1;
        for d in 0..rank {
            numel = numel.checked_mul(u32_at(b, r + 8 + 4 * d) as u64).ok_or(K::BadShape)?;
        }
        let size = dtype.size().unwrap_or(1) as u64;
        let (offset, nbytes) = (u64_at(b, r + 40), u64_at(b, r + 48));
        if dtype == DType::String {
            // Slots then a pool (format 1.3, `strings`): plain, 8-byte aligned, a u32-sized pool.
            let slots_ok = crate::strings::pool_capacity(numel, nbytes).is_some();
            if layout != Layout::Plain || !slots_ok {
                return Err(K::BadTensorLength);
            }
            if offset % 8 != 0 {
                return Err(K::TensorMisaligned);
            }
        } else if layout == Layout::Plain && numel.checked_mul(size) != Some(nbytes) {
            return Err(K::BadTensorLength);
        }
        let end = offset.checked_add(nbytes).ok_or(K::TensorOutOfBounds)?;
        let limit = match storage {
            Storage::Arena => self.plan.arena_size,
            Storage::Weights => self.weights.bytes.len() as u64,
        };
        if end > limit {
            return Err(K::TensorOutOfBounds);
        }
        // Element sizes are powers of two: a mask, not a 64-bit division (a libcall on 32 bits).
        if offset & (size.min(8) - 1) != 0 {
            return Err(K::TensorMisaligned);
        }
        if self.string_at(b, r + 56).is_none() {
            return Err(K::BadString);
        }
        Ok(())
    }

    /// Verifies the weights checksum (reads every weight byte).
    pub fn verify_weights(&self) -> Result<(), FormatError> {
        if Crc32::new().update(self.weights.bytes).finish() != self.weights_crc {
            return Err(FormatError::at(K::WeightsChecksumMismatch, 36));
        }
        Ok(())
    }

    /// The minor version the file was written with.
    pub fn minor_version(&self) -> u16 {
        self.minor
    }

    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn plan(&self) -> Plan {
        self.plan
    }

    pub fn tensor_count(&self) -> usize {
        self.tensors.count
    }

    /// Tensor `i`, or `None` if out of range.
    pub fn tensor(&self, i: u32) -> Option<TensorRef<'a>> {
        self.tensors().get(i)
    }

    /// The tensor records: a small copyable view, for what keeps tensor ids, not records.
    pub fn tensors(&self) -> Tensors<'a> {
        Tensors { records: self.tensors.bytes, count: self.tensors.count, strings: self.strings.bytes }
    }

    /// The bytes of a weights-stored tensor (`None` for arena tensors).
    pub fn weight_bytes(&self, t: &TensorRef<'_>) -> Option<&'a [u8]> {
        if t.storage != Storage::Weights {
            return None;
        }
        self.weights.bytes.get(t.offset as usize..(t.offset + t.nbytes) as usize)
    }

    /// The whole weights section.
    pub fn weights(&self) -> &'a [u8] {
        self.weights.bytes
    }

    pub fn step_count(&self) -> usize {
        self.steps.count
    }

    /// Step `i`, or `None` if out of range.
    pub fn step(&self, i: usize) -> Option<StepRef<'a>> {
        if i >= self.steps.count {
            return None;
        }
        let r = i * STEP_RECORD_LEN;
        let b = self.steps.bytes;
        let (n_in, n_out) = (b[r + 2] as usize, b[r + 3] as usize);
        let io_start = u32_at(b, r + 4) as usize;
        let (a0, alen) = (u32_at(b, r + 8) as usize, u32_at(b, r + 12) as usize);
        Some(StepRef {
            op: OpCode::from_code(u16_at(b, r))?,
            io: self.step_io.bytes.get(4 * io_start..4 * (io_start + n_in + n_out))?,
            n_inputs: n_in,
            n_outputs: n_out,
            attrs: self.attrs.bytes.get(4 * a0..4 * (a0 + alen))?,
            name: self.string_at(b, r + 16).unwrap_or(""),
        })
    }

    fn io_of(&self, kind: u32) -> impl Iterator<Item = IoRef<'a>> + '_ {
        (0..self.io.count).filter_map(move |i| {
            let r = i * IO_RECORD_LEN;
            let b = self.io.bytes;
            (u32_at(b, r) == kind)
                .then(|| IoRef { tensor: u32_at(b, r + 4), name: self.string_at(b, r + 8).unwrap_or("") })
        })
    }

    /// The graph inputs, in order.
    pub fn inputs(&self) -> impl Iterator<Item = IoRef<'a>> + '_ {
        self.io_of(IO_INPUT)
    }

    /// The graph outputs, in order.
    pub fn outputs(&self) -> impl Iterator<Item = IoRef<'a>> + '_ {
        self.io_of(IO_OUTPUT)
    }

    /// The groups of graph inputs (`inputs` true) or outputs that form one sequence or optional
    /// value (SIGNATURE group records, format 1.3), in order. Every other input or output is a
    /// value of its own.
    pub fn groups(&self, inputs: bool) -> impl Iterator<Item = IoGroup<'a>> + '_ {
        let b = self.signature.bytes;
        (0..self.signature.count).filter_map(move |k| {
            let r = k * SIGNATURE_RECORD_LEN;
            let kind = OutputKind::from_code(u32_at(b, r + 4))?;
            let shape = group_shape(kind)?;
            if group_is_input(kind) != inputs {
                return None;
            }
            let name = self.tensor(u32_at(b, r + 8)).and_then(|t| self.weight_bytes(&t))?;
            Some(IoGroup {
                shape,
                first: u32_at(b, r) as usize,
                count: u32_at(b, r + 12) as usize,
                name: self.string_at(name, 0).unwrap_or(""),
            })
        })
    }

    /// How output `i` is presented beyond its tensor (`None`: a plain tensor).
    pub fn output_signature(&self, i: usize) -> Option<OutputSignature<'a>> {
        let b = self.signature.bytes;
        (0..self.signature.count).find_map(|k| {
            let r = k * SIGNATURE_RECORD_LEN;
            let kind = OutputKind::from_code(u32_at(b, r + 4))?;
            if u32_at(b, r) as usize != i || group_shape(kind).is_some() {
                return None;
            }
            Some(OutputSignature { kind, keys: self.tensor(u32_at(b, r + 8))?, axis: u32_at(b, r + 12) })
        })
    }

    /// Int64 key `k` of a signature (`None` for string keys or out of range).
    pub fn signature_int_key(&self, s: &OutputSignature<'_>, k: usize) -> Option<i64> {
        let b = self.weight_bytes(&s.keys)?;
        if s.string_keys() {
            return None;
        }
        let w = b.get(8 * k..8 * k + 8)?;
        Some(i64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
    }

    /// String key `k` of a signature (`None` for int64 keys or out of range).
    pub fn signature_str_key(&self, s: &OutputSignature<'_>, k: usize) -> Option<&'a str> {
        let b = self.weight_bytes(&s.keys)?;
        if !s.string_keys() {
            return None;
        }
        let p = b.get(8 * k..8 * k + 8)?;
        self.string_at(p, 0)
    }

    /// Metadata pairs.
    pub fn meta(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        (0..self.meta.count).map(move |i| {
            let r = i * META_RECORD_LEN;
            let b = self.meta.bytes;
            (self.string_at(b, r).unwrap_or(""), self.string_at(b, r + 8).unwrap_or(""))
        })
    }

    /// The value of a metadata key.
    pub fn meta_value(&self, key: &str) -> Option<&'a str> {
        self.meta().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}
