//! Load validation of the integer quantized steps' attribute words and operands (format 1.3):
//! each malformed word or operand is refused with its fault, the well-formed step loads.

mod common;

use common::desc;
use mote_core::DType;
use mote_format::OpCode;
use mote_format::write::Builder;
use mote_rt::host::AlignedBuf;
use mote_rt::ops::{EpilogueAttrs, Per, QMode, encode};
use mote_rt::{RtError, Runtime, StepFault};

/// A one-step model: inputs (omitted ones `None`) and outputs in the arena, 4 KiB apart.
fn load(op: OpCode, ins: &[Option<(DType, &[u32])>], outs: &[(DType, &[u32])], attrs: &[u32]) -> Result<(), RtError> {
    let mut b = Builder::new();
    let mut at = 0;
    let mut next = |b: &mut Builder, d: DType, dims: &[u32]| {
        at += 4096;
        b.tensor(&desc(d, dims, at)).unwrap()
    };
    let ii: Vec<Option<u32>> = ins.iter().map(|t| t.map(|(d, dims)| next(&mut b, d, dims))).collect();
    let oo: Vec<u32> = outs.iter().map(|&(d, dims)| next(&mut b, d, dims)).collect();
    b.step(op, &ii, &oo, attrs, "step").unwrap();
    for (k, t) in ii.iter().flatten().enumerate() {
        b.input(*t, &format!("x{k}")).unwrap();
    }
    for (k, &t) in oo.iter().enumerate() {
        b.output(t, &format!("y{k}")).unwrap();
    }
    b.plan(65536, 61440, 4096, 0);
    let bytes = AlignedBuf::from_bytes(&b.finish().unwrap());
    Runtime::load(bytes.as_ref()).map(|_| ())
}

fn fault(f: StepFault) -> Result<(), RtError> {
    Err(RtError::Step { step: 0, fault: f })
}

const INT32: EpilogueAttrs = EpilogueAttrs { mode: QMode::Int32, bias: Per::Tensor, mult: Per::Tensor };
const FLOAT: EpilogueAttrs = EpilogueAttrs { mode: QMode::Float, bias: Per::Tensor, mult: Per::Col };

#[test]
fn qgemm_words_and_operands_are_checked() {
    use DType::{F32, I8, I32, U8};
    let (a, b): (&[u32], &[u32]) = (&[2, 3, 4], &[4, 5]);
    let qgemm = |za, zb, ep, batch: &[usize], sa: &[usize]| encode::qgemm((3, 5, 4), za, zb, ep, batch, sa, &[0]);
    let int = qgemm(Per::Row, Per::Col, INT32, &[2], &[12]);
    let ins = [Some((U8, a)), Some((I8, b)), Some((U8, &[3][..])), Some((I8, &[5][..]))];
    assert_eq!(load(OpCode::QGemm, &ins, &[(I32, &[2, 3, 5])], &int), Ok(()));
    // A zero point per column of A, or per row of B, has no meaning.
    let bad = qgemm(Per::Col, Per::Col, INT32, &[2], &[12]);
    assert_eq!(load(OpCode::QGemm, &ins, &[(I32, &[2, 3, 5])], &bad), fault(StepFault::Attrs));
    // A per code past 2, a mode past 1.
    let mut w = int.clone();
    w[3] = 3;
    assert_eq!(load(OpCode::QGemm, &ins, &[(I32, &[2, 3, 5])], &w), fault(StepFault::Attrs));
    let mut w = int.clone();
    w[5] = 2;
    assert_eq!(load(OpCode::QGemm, &ins, &[(I32, &[2, 3, 5])], &w), fault(StepFault::Attrs));
    // A zero point of the other type, or of the wrong length.
    let wrong = [Some((U8, a)), Some((I8, b)), Some((I8, &[3][..])), Some((I8, &[5][..]))];
    assert_eq!(load(OpCode::QGemm, &wrong, &[(I32, &[2, 3, 5])], &int), fault(StepFault::DType));
    let short = [Some((U8, a)), Some((I8, b)), Some((U8, &[2][..])), Some((I8, &[5][..]))];
    assert_eq!(load(OpCode::QGemm, &short, &[(I32, &[2, 3, 5])], &int), fault(StepFault::Shape));
    // A batch stride reaching past A.
    let far = qgemm(Per::Row, Per::Col, INT32, &[2], &[13]);
    assert_eq!(load(OpCode::QGemm, &ins, &[(I32, &[2, 3, 5])], &far), fault(StepFault::Shape));
    // Float requantization needs the multiplier and a u8/i8 output; i32 mode refuses them.
    let float = qgemm(Per::Row, Per::Col, FLOAT, &[2], &[12]);
    let mut fins = ins.to_vec();
    fins.extend([None, Some((F32, &[5][..])), Some((I8, &[1][..]))]);
    assert_eq!(load(OpCode::QGemm, &fins, &[(I8, &[2, 3, 5])], &float), Ok(()));
    assert_eq!(load(OpCode::QGemm, &fins, &[(I32, &[2, 3, 5])], &float), fault(StepFault::DType));
    assert_eq!(load(OpCode::QGemm, &fins, &[(I32, &[2, 3, 5])], &int), fault(StepFault::Arity));
    assert_eq!(load(OpCode::QGemm, &ins, &[(I8, &[2, 3, 5])], &float), fault(StepFault::Arity));
    // The y zero point has y's type.
    fins[6] = Some((U8, &[1][..]));
    assert_eq!(load(OpCode::QGemm, &fins, &[(I8, &[2, 3, 5])], &float), fault(StepFault::DType));
    // A bias word without a bias input.
    let biased = qgemm(Per::Row, Per::Col, EpilogueAttrs { bias: Per::Col, ..INT32 }, &[2], &[12]);
    assert_eq!(load(OpCode::QGemm, &ins, &[(I32, &[2, 3, 5])], &biased), fault(StepFault::Attrs));
}

#[test]
fn qconv_words_and_operands_are_checked() {
    use DType::{F32, I8, I32, U8};
    let conv = |pad: isize, wz, ep| encode::qconv(2, &[3, 3], &[1, 1], &[1, 1], &[pad, pad], wz, ep);
    let ins =
        [Some((U8, &[1, 4, 5, 5][..])), Some((I8, &[6, 2, 3, 3][..])), Some((U8, &[1][..])), Some((I8, &[6][..]))];
    let y: &[u32] = &[1, 6, 5, 5];
    assert_eq!(load(OpCode::QConv, &ins, &[(I32, y)], &conv(1, Per::Row, INT32)), Ok(()));
    // Output channels not split evenly into the groups' weights.
    let w5 = [Some((U8, &[1, 4, 5, 5][..])), Some((I8, &[6, 4, 3, 3][..]))];
    assert_eq!(load(OpCode::QConv, &w5, &[(I32, y)], &conv(1, Per::Tensor, INT32)), fault(StepFault::Shape));
    // Per column has no meaning for a convolution's weights, bias or multiplier.
    assert_eq!(load(OpCode::QConv, &ins, &[(I32, y)], &conv(1, Per::Col, INT32)), fault(StepFault::Attrs));
    let mut fins = ins.to_vec();
    fins.extend([None, Some((F32, &[6][..])), None]);
    let by_col = EpilogueAttrs { mode: QMode::Float, bias: Per::Tensor, mult: Per::Col };
    assert_eq!(load(OpCode::QConv, &fins, &[(U8, y)], &conv(1, Per::Row, by_col)), fault(StepFault::Attrs));
    let by_row = EpilogueAttrs { mult: Per::Row, ..by_col };
    assert_eq!(load(OpCode::QConv, &fins, &[(U8, y)], &conv(1, Per::Row, by_row)), Ok(()));
    // A pad beyond 2^16, and a zero stride.
    assert_eq!(load(OpCode::QConv, &ins, &[(I32, y)], &conv(1 << 20, Per::Row, INT32)), fault(StepFault::Attrs));
    let zero = encode::qconv(2, &[3, 3], &[0, 1], &[1, 1], &[1, 1], Per::Row, INT32);
    assert_eq!(load(OpCode::QConv, &ins, &[(I32, y)], &zero), fault(StepFault::Attrs));
    // The x zero point is one value.
    let mut two = ins.to_vec();
    two[2] = Some((U8, &[2][..]));
    assert_eq!(load(OpCode::QConv, &two, &[(I32, y)], &conv(1, Per::Row, INT32)), fault(StepFault::Shape));
}

#[test]
fn quantize_granularity_block_and_saturate_words_are_checked() {
    use DType::{F32, I4, U8};
    let x: &[u32] = &[2, 6];
    let blocked = [Some((F32, x)), Some((F32, &[2, 2][..])), Some((I4, &[2, 2][..]))];
    let q = |block, saturate| encode::quant(2, 6, 1, false, block, saturate);
    assert_eq!(load(OpCode::Quantize, &blocked, &[(I4, x)], &q(4, true)), Ok(()));
    assert_eq!(load(OpCode::Quantize, &blocked, &[(I4, x)], &q(4, false)), Ok(()));
    assert_eq!(load(OpCode::Quantize, &blocked, &[(I4, x)], &q(2, true)), fault(StepFault::Shape));
    let mut zero_block = q(4, true);
    zero_block[4] = 0;
    assert_eq!(load(OpCode::Quantize, &blocked, &[(I4, x)], &zero_block), fault(StepFault::Attrs));
    let mut gran = q(4, true);
    gran[3] = 3;
    assert_eq!(load(OpCode::Quantize, &blocked, &[(I4, x)], &gran), fault(StepFault::Attrs));
    // `saturate` is a Quantize word only; a word after it is trailing.
    let dq = [Some((I4, x)), Some((F32, &[2, 2][..])), Some((I4, &[2, 2][..]))];
    assert_eq!(load(OpCode::Dequantize, &dq, &[(F32, x)], &q(4, true)), Ok(()));
    assert_eq!(load(OpCode::Dequantize, &dq, &[(F32, x)], &q(4, false)), fault(StepFault::Attrs));
    let mut trailing = q(4, false);
    trailing.push(1);
    assert_eq!(load(OpCode::Quantize, &blocked, &[(I4, x)], &trailing), fault(StepFault::Attrs));
    // float8 e8m0 is a scale type, not a quantized one.
    let e8 = [Some((F32, x)), Some((F32, &[1][..]))];
    assert_eq!(
        load(OpCode::Quantize, &e8, &[(DType::F8E8M0, x)], &encode::quant(1, 12, 1, false, 0, true)),
        fault(StepFault::DType)
    );
    // DynamicQuantize: no words, u8 output, one-value scale and zero point.
    let dyn_ins = [Some((F32, x))];
    let outs = [(U8, x), (F32, &[1][..]), (U8, &[1][..])];
    assert_eq!(load(OpCode::DynamicQuantize, &dyn_ins, &outs, &[]), Ok(()));
    assert_eq!(load(OpCode::DynamicQuantize, &dyn_ins, &outs, &[0]), fault(StepFault::Attrs));
    let outs = [(U8, x), (F32, &[2][..]), (U8, &[1][..])];
    assert_eq!(load(OpCode::DynamicQuantize, &dyn_ins, &outs, &[]), fault(StepFault::Shape));
}
