//! The `.mote` file format: the contract between the compiler (host) and the runtime (device).
//!
//! A `.mote` file holds a fully planned model: every tensor with its dtype, static shape and
//! place (an offset in the arena, or in the weights section), the steps the runtime executes in
//! order (an op code, input and output tensors, and attribute words), the graph's inputs and
//! outputs, metadata, and the arena size. [`Model::parse`] validates every offset, length, count
//! and code once, so nothing downstream can index out of bounds; it never allocates and borrows
//! the bytes (flash, mmap or a buffer) for the model's lifetime.
//!
//! ```text
//!  0        +--------------------------------------------------------------+
//!           | header, 64 B: magic "MOTE\r\n\x1a\n", version (major, minor), |
//!           | flags, file length, section count, structure checksum,        |
//!           | weights checksum                                             |
//!  64       +--------------------------------------------------------------+
//!           | section table: one 24-byte entry per section                  |
//!           |   kind u32, count u32 (records), offset u64, length u64       |
//!           +--------------------------------------------------------------+
//!           | sections, each at a 64-byte aligned offset:                   |
//!           |   STRINGS  UTF-8 bytes referenced as (offset, length)         |
//!           |   META     (key, value) string pairs                          |
//!           |   TENSORS  64-byte records: dtype, rank, dims[8], storage,    |
//!           |            layout, byte offset and length, name               |
//!           |   STEPS    24-byte records: op code, input/output counts,     |
//!           |            index into STEP_IO, range of ATTRS, name           |
//!           |   STEP_IO  u32 tensor ids (u32::MAX: omitted optional input)  |
//!           |   ATTRS    u32 words (meaning per op code: docs/FORMAT.md)    |
//!           |   IO       graph inputs and outputs: kind, tensor, name       |
//!           |   PLAN     arena size, scratch region, peak live bytes        |
//!           |   WEIGHTS  constant tensor data, each 64-byte aligned         |
//!           |   SIGNATURE (optional, 1.1) outputs the host presents as      |
//!           |            ZipMaps or string labels, with their keys          |
//!           | string tensors (1.3): element slots then a byte pool          |
//!           |            ([`strings`])                                       |
//!           +--------------------------------------------------------------+
//! ```
//!
//! All integers are little-endian. Numeric codes (dtypes, op codes, section kinds, storage and
//! layout kinds) are stable: a code is never reused; a removed one leaves a gap.
//!
//! `no_std`; the writer ([`write`]) needs the `alloc` feature.

#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod codes;
pub mod crc;
pub mod error;
pub mod read;
pub mod strings;
#[cfg(feature = "alloc")]
pub mod write;

pub use codes::{Layout, OpCode, OutputKind, SectionKind, Storage};
pub use error::{FormatError, FormatErrorKind};
pub use read::{
    GroupShape, IoGroup, IoRef, Model, OutputSignature, Plan, StepRef, TensorRef, Tensors, group_is_input, group_kind,
    group_shape,
};

/// File magic: `MOTE`, then bytes that catch text-mode and truncation damage (as PNG does).
pub const MAGIC: [u8; 8] = *b"MOTE\r\n\x1a\n";
/// Format major version: readers refuse other majors.
pub const VERSION_MAJOR: u16 = 1;
/// Format minor version: additions that older readers may ignore.
pub const VERSION_MINOR: u16 = 6;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 64;
/// Size of one section table entry.
pub const SECTION_ENTRY_LEN: usize = 24;
/// Size of one tensor record.
pub const TENSOR_RECORD_LEN: usize = 64;
/// Size of one step record.
pub const STEP_RECORD_LEN: usize = 24;
/// Size of one graph input/output record.
pub const IO_RECORD_LEN: usize = 16;
/// Size of one metadata record.
pub const META_RECORD_LEN: usize = 16;
/// Size of one output signature record (SIGNATURE section, format 1.1).
pub const SIGNATURE_RECORD_LEN: usize = 16;
/// Size of the plan record.
pub const PLAN_RECORD_LEN: usize = 32;
/// Alignment of sections, weights and arena tensors.
pub const ALIGN: usize = 64;
/// Largest tensor rank.
pub const MAX_RANK: usize = mote_core::MAX_RANK;
/// Tensor id meaning "omitted optional input".
pub const NO_TENSOR: u32 = u32::MAX;
