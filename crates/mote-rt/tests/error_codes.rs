//! The numeric error codes builds without text print (firmware): one per kind, distinct, and
//! the status the C API returns.

use mote_format::{FormatError, FormatErrorKind as K, OpCode};
use mote_rt::{RtError, StepFault, TaskFault};

fn kinds() -> Vec<K> {
    vec![
        K::TooShort,
        K::BadMagic,
        K::UnsupportedVersion { major: 2, minor: 0 },
        K::LengthMismatch { header: 1, actual: 2 },
        K::ChecksumMismatch,
        K::WeightsChecksumMismatch,
        K::Misaligned,
        K::BadSectionKind(99),
        K::DuplicateSection(1),
        K::MissingSection(1),
        K::BadSection,
        K::BadRecordCount,
        K::BadString,
        K::BadDType(200),
        K::BadShape,
        K::BadStorage(9),
        K::BadLayout(9),
        K::BadTensorLength,
        K::TensorOutOfBounds,
        K::TensorMisaligned,
        K::BadOpCode(9999),
        K::BadStepIo,
        K::BadAttrs,
        K::BadIo,
        K::BadPlan,
        K::BadSignature,
    ]
}

fn faults() -> Vec<StepFault> {
    use StepFault::*;
    vec![UnsupportedOp, NotInOpSet(OpCode::Copy), Arity, Attrs, DType, Shape, Aliasing, Scratch]
}

#[test]
fn format_codes_are_distinct_and_in_range() {
    let mut codes: Vec<u32> = kinds().iter().map(K::code).collect();
    assert!(codes.iter().all(|c| (1..100).contains(c)), "{codes:?}");
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), kinds().len(), "two kinds share a code");
}

#[test]
fn runtime_codes_are_distinct_with_status_and_step() {
    let format = |k| RtError::Format(FormatError { kind: k, offset: 0, index: None });
    let mut errors: Vec<RtError> = kinds().into_iter().map(format).collect();
    errors.extend(faults().into_iter().map(|fault| RtError::Step { step: 7, fault }));
    errors.extend([
        RtError::Arena { needed: 64, got: 0, aligned: true },
        RtError::NoSuchIo { index: 3 },
        RtError::InputLength { index: 0, expected: 4, got: 8 },
        RtError::Data { step: 7, what: "index out of range" },
        RtError::StringCapacity { step: 7, tensor: 1, capacity: 16 },
        RtError::Task { step: 7, fault: TaskFault::Panicked },
        RtError::ThreadScratch { needed: 64, got: 0 },
    ]);
    let mut codes: Vec<u32> = errors.iter().map(RtError::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len(), "two errors share a code");
    for e in &errors {
        let want = match e {
            RtError::Format(_) | RtError::Step { .. } => 2,
            RtError::Arena { .. } => 3,
            RtError::NoSuchIo { .. } => 4,
            RtError::InputLength { .. } => 5,
            _ => 6,
        };
        assert_eq!(e.status(), want, "{e}");
        let step = matches!(
            e,
            RtError::Step { .. } | RtError::Data { .. } | RtError::StringCapacity { .. } | RtError::Task { .. }
        );
        assert_eq!(e.step(), step.then_some(7), "{e}");
    }
    assert_eq!(RtError::Step { step: 0, fault: StepFault::NotInOpSet(OpCode::Copy) }.code(), 102);
}
