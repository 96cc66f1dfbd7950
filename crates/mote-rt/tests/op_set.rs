//! A runtime built with a compile-time op set (`OpSet`) runs the models whose ops it holds and
//! refuses any other at load, naming the step and the op.

mod common;

use mote_core::DType;
use mote_format::OpCode;
use mote_format::write::{Builder, TensorDesc};
use mote_kernels::fast::Cpu;
use mote_rt::host::AlignedBuf;
use mote_rt::ops::{encode, mask_of};
use mote_rt::{OpSet, RtError, Runtime, StepFault};

#[derive(Debug)]
struct CopyOnly;
impl OpSet for CopyOnly {
    const MASK: u128 = mask_of(&[OpCode::Copy]);
}

#[derive(Debug)]
struct NoOps;
impl OpSet for NoOps {
    const MASK: u128 = 0;
}

fn arena(dims: &[u32], offset: u64) -> TensorDesc {
    common::desc(DType::F32, dims, offset)
}

/// A transpose of a 2x3 matrix (one Copy step), then a pooling step (Pool) over the result.
fn copy_then_pool() -> AlignedBuf {
    let mut b = Builder::new();
    let x = b.tensor(&arena(&[2, 3], 0)).unwrap();
    let t = b.tensor(&arena(&[3, 2], 64)).unwrap();
    let y = b.tensor(&arena(&[1, 1, 1, 1], 128)).unwrap();
    b.step(OpCode::Copy, &[Some(x)], &[t], &encode::copy(0, 0, &[3, 2], &[1, 3], &[2, 1]), "transpose").unwrap();
    let pool = encode::pool(0, &[3, 2], &[1, 1], &[1, 1], &[0, 0], &[0, 0], false, 0.0);
    let t4 = b.tensor(&TensorDesc { dims: vec![1, 1, 3, 2], ..arena(&[3, 2], 64) }).unwrap();
    b.step(OpCode::Pool, &[Some(t4)], &[y], &pool, "pool").unwrap();
    b.input(x, "x").unwrap();
    b.output(y, "y").unwrap();
    b.plan(4096, 1024, 1024, 0);
    AlignedBuf::from_bytes(&b.finish().unwrap())
}

#[test]
fn an_op_outside_the_set_is_refused_at_load_naming_step_and_op() {
    let bytes = copy_then_pool();
    // Every op (the default) loads it.
    assert!(Runtime::load(bytes.as_ref()).is_ok());
    let err = Runtime::<CopyOnly>::load_ops(bytes.as_ref(), Cpu::scalar()).unwrap_err();
    assert_eq!(err, RtError::Step { step: 1, fault: StepFault::NotInOpSet(OpCode::Pool) });
    let message = err.to_string();
    assert!(message.contains("step 1") && message.contains("Pool"), "{message}");
    let err = Runtime::<NoOps>::load_ops(bytes.as_ref(), Cpu::scalar()).unwrap_err();
    assert_eq!(err, RtError::Step { step: 0, fault: StepFault::NotInOpSet(OpCode::Copy) });
}

#[test]
fn a_model_inside_the_set_runs_as_with_every_op() {
    let mut b = Builder::new();
    let x = b.tensor(&arena(&[2, 3], 0)).unwrap();
    let y = b.tensor(&arena(&[3, 2], 64)).unwrap();
    b.step(OpCode::Copy, &[Some(x)], &[y], &encode::copy(0, 0, &[3, 2], &[1, 3], &[2, 1]), "transpose").unwrap();
    b.input(x, "x").unwrap();
    b.output(y, "y").unwrap();
    b.plan(4096, 1024, 1024, 0);
    let bytes = AlignedBuf::from_bytes(&b.finish().unwrap());
    let rt = Runtime::<CopyOnly>::load_ops(bytes.as_ref(), Cpu::scalar()).unwrap();
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let input: Vec<u8> = [1f32, 2., 3., 4., 5., 6.].iter().flat_map(|v| v.to_le_bytes()).collect();
    rt.input_mut(arena.as_mut(), 0).unwrap().copy_from_slice(&input);
    rt.invoke(arena.as_mut()).unwrap();
    let out: Vec<f32> =
        rt.output(arena.as_ref(), 0).unwrap().chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(out, [1., 4., 2., 5., 3., 6.]);
}
