//! Parse errors: small, `Copy`, no strings, with the byte offset and record index where the
//! problem was found.

use core::fmt;

/// What is wrong with a `.mote` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatErrorKind {
    /// Shorter than its header or section table.
    TooShort,
    /// Not a `.mote` file.
    BadMagic,
    /// A major version this reader does not know.
    UnsupportedVersion { major: u16, minor: u16 },
    /// The header's file length differs from the bytes given (truncated or padded).
    LengthMismatch { header: u64, actual: u64 },
    /// The structure checksum does not match (corrupt file).
    ChecksumMismatch,
    /// The weights checksum does not match (corrupt weights).
    WeightsChecksumMismatch,
    /// The bytes do not start at a 64-byte aligned address (needed for zero-copy weights).
    Misaligned,
    /// Unknown section kind.
    BadSectionKind(u32),
    /// A section appears twice.
    DuplicateSection(u32),
    /// A required section is missing.
    MissingSection(u32),
    /// A section lies outside the file, is misaligned or overlaps another.
    BadSection,
    /// A section's record count does not match its length.
    BadRecordCount,
    /// A string reference is out of bounds or not UTF-8.
    BadString,
    /// Unknown element type code.
    BadDType(u8),
    /// Rank above the maximum, or a dim that makes the size overflow.
    BadShape,
    /// Unknown storage code.
    BadStorage(u8),
    /// Unknown layout code.
    BadLayout(u8),
    /// A tensor's byte length does not match its dtype and shape.
    BadTensorLength,
    /// A tensor's bytes lie outside the arena or the weights section.
    TensorOutOfBounds,
    /// A tensor's offset is not aligned for its element type.
    TensorMisaligned,
    /// Unknown op code.
    BadOpCode(u16),
    /// A step refers to a tensor that does not exist, or its ids lie outside STEP_IO.
    BadStepIo,
    /// A step's attribute range lies outside ATTRS.
    BadAttrs,
    /// A graph input or output record is invalid (kind, tensor or storage).
    BadIo,
    /// The plan is inconsistent (scratch outside the arena, arena size overflow).
    BadPlan,
    /// An output signature record is invalid (output index, kind, keys tensor or key strings).
    BadSignature,
}

/// A parse error: the kind, the byte offset where it was found, and the record index (tensor,
/// step, ...) when it concerns one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatError {
    pub kind: FormatErrorKind,
    pub offset: u64,
    pub index: Option<u32>,
}

impl FormatError {
    pub(crate) fn at(kind: FormatErrorKind, offset: usize) -> FormatError {
        FormatError { kind, offset: offset as u64, index: None }
    }

    pub(crate) fn record(kind: FormatErrorKind, offset: usize, index: usize) -> FormatError {
        FormatError { kind, offset: offset as u64, index: Some(index as u32) }
    }
}

impl FormatErrorKind {
    /// A stable number for the kind (1 to 26, never reused), for builds that print no text
    /// (`mote_rt::RtError::code`).
    pub const fn code(&self) -> u32 {
        use FormatErrorKind::*;
        match self {
            TooShort => 1,
            BadMagic => 2,
            UnsupportedVersion { .. } => 3,
            LengthMismatch { .. } => 4,
            ChecksumMismatch => 5,
            WeightsChecksumMismatch => 6,
            Misaligned => 7,
            BadSectionKind(_) => 8,
            DuplicateSection(_) => 9,
            MissingSection(_) => 10,
            BadSection => 11,
            BadRecordCount => 12,
            BadString => 13,
            BadDType(_) => 14,
            BadShape => 15,
            BadStorage(_) => 16,
            BadLayout(_) => 17,
            BadTensorLength => 18,
            TensorOutOfBounds => 19,
            TensorMisaligned => 20,
            BadOpCode(_) => 21,
            BadStepIo => 22,
            BadAttrs => 23,
            BadIo => 24,
            BadPlan => 25,
            BadSignature => 26,
        }
    }
}

impl fmt::Display for FormatErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use FormatErrorKind::*;
        match self {
            TooShort => f.write_str("the file is too short (truncated?)"),
            BadMagic => f.write_str("not a .mote file (bad magic)"),
            UnsupportedVersion { major, minor } => {
                write!(
                    f,
                    "format version {major}.{minor} is not supported (this reader reads {}.x); recompile the model",
                    crate::VERSION_MAJOR
                )
            }
            LengthMismatch { header, actual } => {
                write!(f, "the header says {header} bytes but there are {actual} (truncated or padded file)")
            }
            ChecksumMismatch => f.write_str("structure checksum mismatch (corrupt file)"),
            WeightsChecksumMismatch => f.write_str("weights checksum mismatch (corrupt weights)"),
            Misaligned => f.write_str("the file's bytes must start at a 64-byte aligned address"),
            BadSectionKind(k) => write!(f, "unknown section kind {k}"),
            DuplicateSection(k) => write!(f, "section kind {k} appears twice"),
            MissingSection(k) => write!(f, "required section kind {k} is missing"),
            BadSection => f.write_str("a section lies outside the file, is misaligned, or overlaps another"),
            BadRecordCount => f.write_str("a section's record count does not match its length"),
            BadString => f.write_str("a string reference is out of bounds or not UTF-8"),
            BadDType(c) => write!(f, "unknown element type code {c}"),
            BadShape => f.write_str("rank above the maximum or a size that overflows"),
            BadStorage(c) => write!(f, "unknown storage code {c}"),
            BadLayout(c) => write!(f, "unknown layout code {c}"),
            BadTensorLength => f.write_str("a tensor's byte length does not match its dtype and shape"),
            TensorOutOfBounds => f.write_str("a tensor lies outside the arena or the weights"),
            TensorMisaligned => f.write_str("a tensor's offset is not aligned for its element type"),
            BadOpCode(c) => write!(f, "unknown op code {c}"),
            BadStepIo => f.write_str("a step refers to a tensor that does not exist"),
            BadAttrs => f.write_str("a step's attributes lie outside the attribute section"),
            BadIo => f.write_str("a graph input or output record is invalid"),
            BadPlan => f.write_str("the arena plan is inconsistent"),
            BadSignature => f.write_str("an output signature record is invalid"),
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {}", self.kind, self.offset)?;
        if let Some(i) = self.index {
            write!(f, ", record {i}")?;
        }
        f.write_str(")")
    }
}

impl core::error::Error for FormatError {}
