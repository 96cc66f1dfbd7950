//! Load-time validation of the vision-geometry steps (GridSample, AffineGrid, RoiAlign,
//! DeformConv, Col2Im, MaxUnpool, Det): tensors that disagree with each other or with the
//! attributes are refused, and the consistent form of each case loads.

use mote_core::DType;
use mote_format::write::{Builder, TensorDesc};
use mote_format::{Layout, OpCode, Storage};
use mote_kernels::reference::image::{GridMode, GridPadding};
use mote_rt::host::AlignedBuf;
use mote_rt::ops::encode;
use mote_rt::{RtError, Runtime, StepFault};

type T<'a> = (DType, &'a [u32]);

/// A one-step model over arena tensors `ins` -> `outs` (`None` inputs omitted).
fn load(op: OpCode, ins: &[Option<T<'_>>], outs: &[T<'_>], attrs: &[u32]) -> Result<(), RtError> {
    let mut b = Builder::new();
    let mut offset = 0u64;
    let mut add = |b: &mut Builder, (dtype, dims): T<'_>| {
        let n: u64 = dims.iter().map(|&d| d as u64).product();
        let nbytes = n * dtype.size().unwrap_or(1) as u64;
        let desc = TensorDesc {
            dtype,
            dims: dims.to_vec(),
            storage: Storage::Arena,
            layout: Layout::Plain,
            layout_param: 0,
            offset,
            nbytes,
            name: "t".into(),
        };
        offset += nbytes.div_ceil(64) * 64;
        b.tensor(&desc).unwrap()
    };
    let ins: Vec<_> = ins.iter().map(|t| t.map(|t| add(&mut b, t))).collect();
    let outs: Vec<_> = outs.iter().map(|&t| add(&mut b, t)).collect();
    b.step(op, &ins, &outs, attrs, "step").unwrap();
    for (i, t) in ins.iter().flatten().enumerate() {
        b.input(*t, &format!("x{i}")).unwrap();
    }
    for (i, &t) in outs.iter().enumerate() {
        b.output(t, &format!("y{i}")).unwrap();
    }
    b.plan(1 << 20, 1 << 19, 1 << 19, 0);
    let bytes = AlignedBuf::from_bytes(&b.finish().unwrap());
    Runtime::load(bytes.as_ref()).map(|_| ())
}

const F: DType = DType::F32;
const SHAPE: Result<(), RtError> = Err(RtError::Step { step: 0, fault: StepFault::Shape });
const ATTRS: Result<(), RtError> = Err(RtError::Step { step: 0, fault: StepFault::Attrs });

#[test]
fn grid_sample_needs_a_grid_of_the_image_rank() {
    let a = encode::grid_sample(GridMode::Linear, GridPadding::Zeros, false);
    let x = Some((F, &[1, 2, 4, 5][..]));
    assert_eq!(load(OpCode::GridSample, &[x, Some((F, &[1, 3, 3, 2]))], &[(F, &[1, 2, 3, 3])], &a), Ok(()));
    assert_eq!(load(OpCode::GridSample, &[x, Some((F, &[1, 3, 3, 3]))], &[(F, &[1, 2, 3, 3])], &a), SHAPE);
    assert_eq!(load(OpCode::GridSample, &[x, Some((F, &[1, 3, 3, 2]))], &[(F, &[1, 2, 3, 4])], &a), SHAPE);
    // An empty image cannot be sampled.
    let empty = Some((F, &[1, 2, 0, 5][..]));
    assert_eq!(load(OpCode::GridSample, &[empty, Some((F, &[1, 3, 3, 2]))], &[(F, &[1, 2, 3, 3])], &a), SHAPE);
    assert_eq!(load(OpCode::GridSample, &[x, Some((F, &[1, 3, 3, 2]))], &[(F, &[1, 2, 3, 3])], &[3, 0, 0]), ATTRS);
}

#[test]
fn affine_grid_theta_matches_the_spatial_rank() {
    let a = encode::affine_grid(true);
    assert_eq!(load(OpCode::AffineGrid, &[Some((F, &[2, 2, 3]))], &[(F, &[2, 4, 5, 2])], &a), Ok(()));
    assert_eq!(load(OpCode::AffineGrid, &[Some((F, &[2, 3, 4]))], &[(F, &[2, 4, 5, 6, 3])], &a), Ok(()));
    assert_eq!(load(OpCode::AffineGrid, &[Some((F, &[2, 3, 4]))], &[(F, &[2, 4, 5, 2])], &a), SHAPE);
    assert_eq!(load(OpCode::AffineGrid, &[Some((F, &[1, 2, 3]))], &[(F, &[2, 4, 5, 2])], &a), SHAPE);
}

#[test]
fn roi_align_checks_rois_indices_and_sampling_ratio() {
    let ins =
        |r: &'static [u32], b: &'static [u32]| [Some((F, &[1, 2, 8, 8][..])), Some((F, r)), Some((DType::I64, b))];
    let a = encode::roi_align(false, 2, 1.0, true);
    assert_eq!(load(OpCode::RoiAlign, &ins(&[3, 4], &[3]), &[(F, &[3, 2, 2, 2])], &a), Ok(()));
    assert_eq!(load(OpCode::RoiAlign, &ins(&[3, 4], &[2]), &[(F, &[3, 2, 2, 2])], &a), SHAPE);
    assert_eq!(load(OpCode::RoiAlign, &ins(&[3, 5], &[3]), &[(F, &[3, 2, 2, 2])], &a), SHAPE);
    let many = encode::roi_align(false, 65, 1.0, true);
    assert_eq!(load(OpCode::RoiAlign, &ins(&[3, 4], &[3]), &[(F, &[3, 2, 2, 2])], &many), ATTRS);
}

#[test]
fn deform_conv_offsets_follow_the_window() {
    let a = encode::deform_conv(1, 1, &[2, 2], &[1, 1], &[1, 1], &[0, 0], &[0, 0]);
    let ins = |off: &'static [u32]| [Some((F, &[1, 2, 4, 4][..])), Some((F, &[3, 2, 2, 2][..])), Some((F, off))];
    assert_eq!(load(OpCode::DeformConv, &ins(&[1, 8, 3, 3]), &[(F, &[1, 3, 3, 3])], &a), Ok(()));
    assert_eq!(load(OpCode::DeformConv, &ins(&[1, 4, 3, 3]), &[(F, &[1, 3, 3, 3])], &a), SHAPE);
    assert_eq!(load(OpCode::DeformConv, &ins(&[1, 8, 3, 3]), &[(F, &[1, 3, 4, 4])], &a), SHAPE);
    // The weight's kernel must be the attribute's.
    let k3 = encode::deform_conv(1, 1, &[3, 3], &[1, 1], &[1, 1], &[0, 0], &[0, 0]);
    assert_eq!(load(OpCode::DeformConv, &ins(&[1, 8, 3, 3]), &[(F, &[1, 3, 3, 3])], &k3), SHAPE);
}

#[test]
fn col2im_block_count_must_match_the_image() {
    let a = encode::col2im(&[2, 2], &[1, 1], &[1, 1], &[0, 0], &[0, 0]);
    assert_eq!(load(OpCode::Col2Im, &[Some((F, &[1, 8, 12]))], &[(F, &[1, 2, 4, 5])], &a), Ok(()));
    assert_eq!(load(OpCode::Col2Im, &[Some((F, &[1, 8, 13]))], &[(F, &[1, 2, 4, 5])], &a), SHAPE);
    assert_eq!(load(OpCode::Col2Im, &[Some((F, &[1, 6, 12]))], &[(F, &[1, 2, 4, 5])], &a), SHAPE);
    let empty_kernel = encode::col2im(&[0, 2], &[1, 1], &[1, 1], &[0, 0], &[0, 0]);
    assert_eq!(load(OpCode::Col2Im, &[Some((F, &[1, 0, 12]))], &[(F, &[1, 2, 4, 5])], &empty_kernel), ATTRS);
}

#[test]
fn max_unpool_output_holds_the_default_shape() {
    let a = encode::max_unpool(&[1, 2, 4, 6]);
    let ins = [Some((F, &[1, 2, 2, 3][..])), Some((DType::I64, &[1, 2, 2, 3][..]))];
    assert_eq!(load(OpCode::MaxUnpool, &ins, &[(F, &[1, 2, 4, 6])], &a), Ok(()));
    assert_eq!(load(OpCode::MaxUnpool, &ins, &[(F, &[1, 2, 5, 7])], &a), Ok(()));
    assert_eq!(load(OpCode::MaxUnpool, &ins, &[(F, &[1, 2, 3, 6])], &a), SHAPE);
    let wrong_indices = [Some((F, &[1, 2, 2, 3][..])), Some((DType::I64, &[1, 2, 3, 2][..]))];
    assert_eq!(load(OpCode::MaxUnpool, &wrong_indices, &[(F, &[1, 2, 4, 6])], &a), SHAPE);
}

#[test]
fn det_needs_square_matrices() {
    assert_eq!(load(OpCode::Det, &[Some((F, &[4, 3, 3]))], &[(F, &[4])], &[]), Ok(()));
    assert_eq!(load(OpCode::Det, &[Some((F, &[4, 3, 2]))], &[(F, &[4])], &[]), SHAPE);
    assert_eq!(load(OpCode::Det, &[Some((F, &[4, 3, 3]))], &[(F, &[3])], &[]), SHAPE);
    assert_eq!(load(OpCode::Det, &[Some((F, &[4, 3, 3]))], &[(F, &[4])], &[0]), ATTRS);
}
