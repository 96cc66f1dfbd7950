//! Load and run errors: small and `Copy` (no allocation), naming the step and what is wrong.

use core::fmt;

use mote_format::{FormatError, OpCode};
use mote_kernels::fast::TaskFault;

/// Why a step cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepFault {
    /// This runtime build has no kernel for the op code.
    UnsupportedOp,
    /// The op is outside the op set this runtime was built with ([`crate::ops::OpSet`]).
    NotInOpSet(OpCode),
    /// Wrong number of inputs or outputs, or a required input omitted.
    Arity,
    /// The attribute words are malformed (too few, unknown code, out of range).
    Attrs,
    /// An element type the op does not accept, or inputs and outputs disagree.
    DType,
    /// Shapes disagree with each other or with the attributes.
    Shape,
    /// An output is a weight, or overlaps an input or another output in the arena.
    Aliasing,
    /// The step needs more scratch than the plan reserves.
    Scratch,
}

/// A load or run error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtError {
    /// The container is invalid.
    Format(FormatError),
    /// Step `step` is invalid.
    Step { step: u32, fault: StepFault },
    /// The arena is smaller than the plan or not 64-byte aligned.
    Arena { needed: u64, got: u64, aligned: bool },
    /// An input or output index past the model's.
    NoSuchIo { index: u32 },
    /// Data given for an input has the wrong byte length.
    InputLength { index: u32, expected: u64, got: u64 },
    /// A data-dependent check failed while running (e.g. a Gather index out of range).
    Data { step: u32, what: &'static str },
    /// Step `step` wrote more strings than the pool of its output tensor `tensor` holds
    /// (`capacity` bytes, fixed when the file was compiled: `mote compile --string-bytes`).
    StringCapacity { step: u32, tensor: u32, capacity: u64 },
    /// A task of step `step` failed on a thread of the [`Parallel`](mote_kernels::fast::Parallel)
    /// running it (its outputs are not valid).
    Task { step: u32, fault: TaskFault },
    /// The threads other than the caller have less scratch than the steps need
    /// ([`Runtime::thread_scratch_bytes`](crate::Runtime::thread_scratch_bytes)).
    ThreadScratch { needed: u64, got: u64 },
}

impl StepFault {
    /// A stable number for the fault (1 to 8, never reused); [`RtError::code`] adds 100.
    pub const fn code(&self) -> u32 {
        match self {
            StepFault::UnsupportedOp => 1,
            StepFault::NotInOpSet(_) => 2,
            StepFault::Arity => 3,
            StepFault::Attrs => 4,
            StepFault::DType => 5,
            StepFault::Shape => 6,
            StepFault::Aliasing => 7,
            StepFault::Scratch => 8,
        }
    }
}

impl RtError {
    /// The C API's status for this error (`MoteStatus` in mote-capi's `mote.h`): 2 invalid
    /// model, 3 arena, 4 no such input or output, 5 input length, 6 failed run.
    pub const fn status(&self) -> u32 {
        match self {
            RtError::Format(_) | RtError::Step { .. } => 2,
            RtError::Arena { .. } => 3,
            RtError::NoSuchIo { .. } => 4,
            RtError::InputLength { .. } => 5,
            RtError::Data { .. }
            | RtError::StringCapacity { .. }
            | RtError::Task { .. }
            | RtError::ThreadScratch { .. } => 6,
        }
    }

    /// A stable number for what went wrong, for builds that print no text (firmware): a
    /// container error is its [`FormatErrorKind::code`](mote_format::FormatErrorKind::code)
    /// (1 to 99), a step fault 100 + [`StepFault::code`], the rest 201 to 207.
    pub const fn code(&self) -> u32 {
        match self {
            RtError::Format(e) => e.kind.code(),
            RtError::Step { fault, .. } => 100 + fault.code(),
            RtError::Arena { .. } => 201,
            RtError::NoSuchIo { .. } => 202,
            RtError::InputLength { .. } => 203,
            RtError::Data { .. } => 204,
            RtError::StringCapacity { .. } => 205,
            RtError::Task { .. } => 206,
            RtError::ThreadScratch { .. } => 207,
        }
    }

    /// The step the error concerns, if any.
    pub const fn step(&self) -> Option<u32> {
        match self {
            RtError::Step { step, .. }
            | RtError::Data { step, .. }
            | RtError::StringCapacity { step, .. }
            | RtError::Task { step, .. } => Some(*step),
            _ => None,
        }
    }
}

impl From<FormatError> for RtError {
    fn from(e: FormatError) -> RtError {
        RtError::Format(e)
    }
}

impl fmt::Display for StepFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let StepFault::NotInOpSet(op) = self {
            let code = op.code();
            return write!(f, "op {op:?} (code {code}) is not in the op set this runtime was built with");
        }
        f.write_str(match self {
            StepFault::NotInOpSet(_) => "op not in this build's op set",
            StepFault::UnsupportedOp => "op not supported by this runtime build",
            StepFault::Arity => "wrong number of inputs or outputs",
            StepFault::Attrs => "malformed attributes",
            StepFault::DType => "element types not accepted by the op",
            StepFault::Shape => "shapes inconsistent with each other or the attributes",
            StepFault::Aliasing => "an output is a weight or overlaps another tensor of the step",
            StepFault::Scratch => "needs more scratch than the plan reserves",
        })
    }
}

impl fmt::Display for RtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtError::Format(e) => write!(f, "{e}"),
            RtError::Step { step, fault } => write!(f, "step {step}: {fault}"),
            RtError::Arena { needed, got, aligned } => {
                write!(f, "arena of {got} bytes (64-byte aligned: {aligned}); the plan needs {needed}, aligned")
            }
            RtError::NoSuchIo { index } => write!(f, "no input or output {index}"),
            RtError::InputLength { index, expected, got } => {
                write!(f, "input {index}: expected {expected} bytes, got {got}")
            }
            RtError::Data { step, what } => write!(f, "step {step}: {what}"),
            RtError::StringCapacity { step, tensor, capacity } => write!(
                f,
                "step {step}: the strings of tensor {tensor} need more than its capacity of {capacity} bytes (recompile with a larger --string-bytes)"
            ),
            RtError::Task { step, fault } => write!(f, "step {step}: {fault}"),
            RtError::ThreadScratch { needed, got } => {
                write!(f, "each worker thread has {got} bytes of scratch; the model's steps need {needed}")
            }
        }
    }
}

impl core::error::Error for RtError {}
