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
