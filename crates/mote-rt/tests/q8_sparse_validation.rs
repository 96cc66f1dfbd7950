//! Load-time validation of `Q8Sparse`: the block index is checked once (pointers from 0 to the
//! block count, non-decreasing; columns below `c / 4`), the blocks must be constant, shapes must
//! agree with the attributes; the consistent form loads and gives the reference convolution's
//! bytes.

mod common;

use common::{desc, load_bytes};
use mote_core::DType;
use mote_format::OpCode;
use mote_format::write::Builder;
use mote_kernels::fast::int8::{q8_blocks_nnz, q8_blocks_pack};
use mote_kernels::reference::int8::{Conv2d, Requant, conv2d};
use mote_rt::host::AlignedBuf;
use mote_rt::ops::encode;
use mote_rt::{RtError, Runtime, StepFault};

const SHAPE: Result<(), RtError> = Err(RtError::Step { step: 0, fault: StepFault::Shape });
const ROWS: usize = 8;

/// `W [3 x 8]`: output 1 has one empty block of four.
const W: [i8; 24] = [1, -2, 3, 0, 0, 0, 0, 9, 0, 0, 0, 0, -7, 5, 0, 2, 127, -128, 4, 4, 0, 1, 0, 0];
const BIAS: [i32; 3] = [100, -3000, 7];
const MULT: [i32; 3] = [1_300_000_000, 1 << 30, 2_000_000_000];
const SHIFT: [i32; 3] = [-7, -5, -9];

/// The index (row pointers, then columns), blocks and weight sums of `W`.
fn packed() -> (Vec<u32>, Vec<i32>, Vec<i32>) {
    let nb = q8_blocks_nnz(&W, 3, 8);
    let (mut rp, mut cols, mut vals, mut ws) = (vec![0u32; 4], vec![0u32; nb], vec![0i32; nb], vec![0i32; 3]);
    q8_blocks_pack(&W, 3, 8, &mut rp, &mut cols, &mut vals, &mut ws);
    rp.extend(cols);
    (rp, vals, ws)
}

fn words<T: Copy + Into<i64>>(v: &[T]) -> Vec<u8> {
    v.iter().flat_map(|&x| (x.into() as u32).to_le_bytes()).collect()
}

/// A one-step model `x [8, 8] (i8) -> y [8, 3] (i8)`, optionally the blocks in the arena.
fn model(index: &[u32], blocks: &[i32], wsum: &[i32], c: usize, blocks_in_arena: bool) -> Vec<u8> {
    let mut b = Builder::new();
    let x = b.tensor(&desc(DType::I8, &[ROWS as u32, c as u32], 0)).unwrap();
    let y = b.tensor(&desc(DType::I8, &[ROWS as u32, 3], 256)).unwrap();
    let n = |v: usize| v as u32;
    let bl = if blocks_in_arena {
        b.tensor(&desc(DType::I32, &[n(blocks.len())], 512)).unwrap()
    } else {
        b.weight(&desc(DType::I32, &[n(blocks.len())], 0), &words(blocks)).unwrap()
    };
    let ix = b.weight(&desc(DType::U32, &[n(index.len())], 0), &words(index)).unwrap();
    let mut consts = vec![Some(x), Some(bl), Some(ix)];
    for v in [wsum, &BIAS[..], &MULT[..], &SHIFT[..]] {
        consts.push(Some(b.weight(&desc(DType::I32, &[n(v.len())], 0), &words(v)).unwrap()));
    }
    let attrs = encode::q8sparse(ROWS, 3, c, -3, 5, -128, 127);
    b.step(OpCode::Q8Sparse, &consts, &[y], &attrs, "step").unwrap();
    b.input(x, "x").unwrap();
    b.output(y, "y").unwrap();
    // Scratch: m + (c / 4) * 64 + 2 * 16 * 64 i32 values.
    b.plan(1024 + 16384, 1024, 16384, 0);
    b.finish().unwrap()
}

#[test]
fn a_consistent_q8_sparse_step_gives_the_reference_bytes() {
    let (index, blocks, wsum) = packed();
    let bytes = model(&index, &blocks, &wsum, 8, false);
    let buf = AlignedBuf::from_bytes(&bytes);
    let rt = Runtime::load(buf.as_ref()).unwrap();
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let xs: Vec<i8> = (0..ROWS * 8).map(|i| (i as i32 * 37 % 255 - 127) as i8).collect();
    rt.input_mut(arena.as_mut(), 0).unwrap().copy_from_slice(&xs.iter().map(|&v| v as u8).collect::<Vec<u8>>());
    rt.invoke(arena.as_mut()).unwrap();
    let got: Vec<i8> = rt.output(arena.as_ref(), 0).unwrap().iter().map(|&v| v as i8).collect();
    let g = Conv2d::fully_connected(ROWS, 8, 3);
    let rq = Requant { bias: &BIAS, mult: &MULT, shift: &SHIFT, zp: 5, lo: -128, hi: 127 };
    let mut want = vec![0i8; ROWS * 3];
    conv2d(&g, &xs, -3, &W, &rq, &mut want);
    assert_eq!(got, want);
}

#[test]
fn malformed_block_indices_and_mismatched_shapes_are_refused_at_load() {
    let (index, blocks, wsum) = packed();
    assert_eq!(load_bytes(&model(&index, &blocks, &wsum, 8, false)), Ok(()));
    // A column past c / 4 = 2.
    let mut outside = index.clone();
    outside[4] = 2;
    assert_eq!(load_bytes(&model(&outside, &blocks, &wsum, 8, false)), SHAPE);
    // Pointers out of order, or not ending at the block count.
    let mut decreasing = index.clone();
    decreasing[1] = decreasing[2] + 1;
    assert_eq!(load_bytes(&model(&decreasing, &blocks, &wsum, 8, false)), SHAPE);
    let mut short = index.clone();
    short[3] -= 1;
    assert_eq!(load_bytes(&model(&short, &blocks, &wsum, 8, false)), SHAPE);
    // A missing column, blocks that are not weights, a wrong channel count.
    assert_eq!(load_bytes(&model(&index[..index.len() - 1], &blocks, &wsum, 8, false)), SHAPE);
    assert_eq!(load_bytes(&model(&index, &blocks, &wsum, 8, true)), SHAPE);
    assert_eq!(load_bytes(&model(&index, &blocks, &wsum[..2], 8, false)), SHAPE);
    assert_eq!(load_bytes(&model(&index, &blocks, &wsum, 4, false)), SHAPE);
}

/// Random attribute words and index words: the file either is refused at load or runs, never
/// panics (the kernel trusts what load checked).
#[test]
fn random_attributes_and_indices_never_panic() {
    let (index, blocks, wsum) = packed();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut ran = 0;
    for _ in 0..3000 {
        let mut ix = index.clone();
        let k = (next() % ix.len() as u64) as usize;
        ix[k] = match next() % 4 {
            0 => next() as u32,
            1 => ix[k].wrapping_add(1),
            2 => ix[k].wrapping_sub(1),
            _ => u32::MAX,
        };
        let c = [8, 4, 12, 1, 0, 1 << 30][(next() % 6) as usize];
        let bytes = model(&ix, &blocks, &wsum, c, false);
        let buf = AlignedBuf::from_bytes(&bytes);
        let Ok(rt) = Runtime::load(buf.as_ref()) else { continue };
        let mut arena = AlignedBuf::zeroed(rt.arena_size());
        rt.invoke(arena.as_mut()).expect("a loaded file runs");
        ran += 1;
    }
    assert!(ran > 0, "some mutations keep the file valid (e.g. a column moved to another valid one)");
}
