//! Steps whose work is not bounded by their tensors are refused at load (found by fuzzing: a
//! copy over 2^40 positions of a one-element tensor, a pooling window of 65535^2 taps).

use mote_core::DType;
use mote_format::write::{Builder, TensorDesc};
use mote_format::{Layout, OpCode, Storage};
use mote_rt::host::AlignedBuf;
use mote_rt::ops::encode;
use mote_rt::{RtError, Runtime, StepFault};

fn arena(dims: &[u32], offset: u64) -> TensorDesc {
    let n: u64 = dims.iter().map(|&d| d as u64).product();
    TensorDesc {
        dtype: DType::F32,
        dims: dims.to_vec(),
        storage: Storage::Arena,
        layout: Layout::Plain,
        layout_param: 0,
        offset,
        nbytes: 4 * n,
        name: "t".into(),
    }
}

/// A one-step model from `x` to `y` with `attrs`.
fn one_step(op: OpCode, x: &[u32], y: &[u32], attrs: &[u32]) -> Result<(), RtError> {
    let mut b = Builder::new();
    let xi = b.tensor(&arena(x, 0)).unwrap();
    let yi = b.tensor(&arena(y, 4096)).unwrap();
    b.step(op, &[Some(xi)], &[yi], attrs, "step").unwrap();
    b.input(xi, "x").unwrap();
    b.output(yi, "y").unwrap();
    b.plan(16384, 8192, 8192, 0);
    let bytes = AlignedBuf::from_bytes(&b.finish().unwrap());
    Runtime::load(bytes.as_ref()).map(|_| ())
}

#[test]
fn a_copy_cannot_walk_more_positions_than_it_writes() {
    let huge = encode::copy(0, 0, &[1 << 20, 1 << 20], &[0, 0], &[0, 0]);
    assert_eq!(one_step(OpCode::Copy, &[1], &[1], &huge), Err(RtError::Step { step: 0, fault: StepFault::Shape }));
    let fine = encode::copy(0, 0, &[2, 3], &[1, 2], &[3, 1]);
    assert_eq!(one_step(OpCode::Copy, &[3, 2], &[2, 3], &fine), Ok(()));
}

#[test]
fn a_pooling_window_must_fit_the_padded_input() {
    let pool = |k: usize| encode::pool(0, &[k, k], &[1, 1], &[1, 1], &[0, 0], &[0, 0], false, 0.0);
    assert_eq!(one_step(OpCode::Pool, &[1, 1, 4, 4], &[1, 1, 1, 1], &pool(4)), Ok(()));
    assert_eq!(
        one_step(OpCode::Pool, &[1, 1, 4, 4], &[1, 1, 1, 1], &pool(65535)),
        Err(RtError::Step { step: 0, fault: StepFault::Shape })
    );
}
