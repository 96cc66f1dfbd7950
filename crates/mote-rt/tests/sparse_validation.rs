//! Load-time validation of `SparseGemm`: the compressed-row index is checked once (pointers,
//! columns inside their panel), weights must be constant, shapes must agree with the
//! attributes; the consistent form loads and runs as the dense product.

mod common;

use common::{desc, load_bytes};
use mote_core::DType;
use mote_format::OpCode;
use mote_format::write::Builder;
use mote_kernels::fast::{csr_nnz, csr_pack, csr_panels};
use mote_rt::host::AlignedBuf;
use mote_rt::ops::{Act, encode};
use mote_rt::{RtError, Runtime, StepFault};

const SHAPE: Result<(), RtError> = Err(RtError::Step { step: 0, fault: StepFault::Shape });

/// `W [3 x 4]`, half zeros.
const W: [f32; 12] = [1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0, 4.0, 5.0, 0.0, -1.0];

/// The index (panel pointers then columns) and values of `W` in panels of `chunk`.
fn packed(chunk: usize) -> (Vec<u32>, Vec<f32>) {
    let nnz = csr_nnz(&W, 3, 4);
    let ptrs = csr_panels(4, chunk) * 3 + 1;
    let (mut index, mut vals) = (vec![0u32; ptrs + nnz], vec![0f32; nnz]);
    let (rp, cols) = index.split_at_mut(ptrs);
    csr_pack(&W, 3, 4, chunk, rp, cols, &mut vals);
    (index, vals)
}

/// A one-step model: `x [1, 4, 8]` -> `y [1, 3, 8]` (mode 0, p = 8), optionally the values in
/// the arena instead of the weights; returns the file's bytes.
fn model(index: &[u32], vals: &[f32], chunk: usize, vals_in_arena: bool) -> Vec<u8> {
    let mut b = Builder::new();
    let x = b.tensor(&desc(DType::F32, &[1, 4, 8], 0)).unwrap();
    let y = b.tensor(&desc(DType::F32, &[1, 3, 8], 256)).unwrap();
    let vb: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let v = if vals_in_arena {
        b.tensor(&desc(DType::F32, &[vals.len() as u32], 512)).unwrap()
    } else {
        b.weight(&desc(DType::F32, &[vals.len() as u32], 0), &vb).unwrap()
    };
    let ib: Vec<u8> = index.iter().flat_map(|v| v.to_le_bytes()).collect();
    let i = b.weight(&desc(DType::U32, &[index.len() as u32], 0), &ib).unwrap();
    let attrs = encode::sparse_gemm(false, 1, 3, 4, 8, chunk, Act::NONE);
    b.step(OpCode::SparseGemm, &[Some(x), Some(v), Some(i)], &[y], &attrs, "step").unwrap();
    b.input(x, "x").unwrap();
    b.output(y, "y").unwrap();
    b.plan(1024, 1024, 0, 0);
    b.finish().unwrap()
}

#[test]
fn a_consistent_sparse_step_loads_and_gives_the_dense_product() {
    let (index, vals) = packed(2);
    let bytes = model(&index, &vals, 2, false);
    let buf = AlignedBuf::from_bytes(&bytes);
    let rt = Runtime::load(buf.as_ref()).unwrap();
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let xs: Vec<f32> = (0..32).map(|i| i as f32 * 0.25 - 3.0).collect();
    rt.input_mut(arena.as_mut(), 0)
        .unwrap()
        .copy_from_slice(&xs.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
    rt.invoke(arena.as_mut()).unwrap();
    let out = rt.output(arena.as_ref(), 0).unwrap();
    for o in 0..3 {
        for j in 0..8 {
            let want: f32 = (0..4).map(|c| W[o * 4 + c] * xs[c * 8 + j]).sum();
            let at = 4 * (o * 8 + j);
            let got = f32::from_le_bytes(out[at..at + 4].try_into().unwrap());
            assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()), "{o},{j}: {got} vs {want}");
        }
    }
}

#[test]
fn malformed_indices_and_mismatched_shapes_are_refused_at_load() {
    let (index, vals) = packed(2);
    let ptrs = csr_panels(4, 2) * 3 + 1;
    // Row 0 of panel 0 holds column 0; column 3 is in panel 1.
    let mut outside = index.clone();
    outside[ptrs] = 3;
    assert_eq!(load_bytes(&model(&outside, &vals, 2, false)), SHAPE);
    let mut beyond = index.clone();
    beyond[ptrs] = 9;
    assert_eq!(load_bytes(&model(&beyond, &vals, 2, false)), SHAPE);
    let mut decreasing = index.clone();
    decreasing[1] = decreasing[2] + 1;
    assert_eq!(load_bytes(&model(&decreasing, &vals, 2, false)), SHAPE);
    // The index of another panel width, a missing column, values that are not weights.
    assert_eq!(load_bytes(&model(&index, &vals, 4, false)), SHAPE);
    assert_eq!(load_bytes(&model(&index[..index.len() - 1], &vals, 2, false)), SHAPE);
    assert_eq!(load_bytes(&model(&index, &vals, 2, true)), SHAPE);
    assert_eq!(load_bytes(&model(&index, &vals, 0, false)), SHAPE);
    // One panel (chunk = k) is plain compressed rows.
    let (one, vals1) = packed(4);
    assert_eq!(load_bytes(&model(&one, &vals1, 4, false)), Ok(()));
}
