//! The vision-geometry and remaining tensor steps (GridSample, AffineGrid, RoiAlign,
//! DeformConv, Col2Im, MaxUnpool, Det, Einsum, training BatchNormalization) on a model built in
//! code: compiled results match the reference interpreter, and run-time indices out of range
//! (RoiAlign batch indices, MaxUnpool indices) or a ROI needing too many samples are run errors
//! naming the step, never a panic.

mod common;

use mote_compile::{Options, host};
use mote_ir::{Tensor, Value};

struct Data {
    rois: Vec<f32>,
    batch: Vec<i64>,
    unpool: Vec<i64>,
}

fn good() -> Data {
    Data {
        rois: vec![0.0, 0.0, 8.0, 6.0, 2.5, 1.0, 11.0, 9.5],
        batch: vec![0, 0],
        // Channel 0 then 1 of the default 4x6 output: flat indices over [1, 2, 4, 6].
        unpool: vec![0, 3, 4, 13, 16, 23, 24, 26, 29, 37, 40, 47],
    }
}

fn inputs(d: &Data) -> Vec<Value> {
    let t = |shape: &[usize]| Value::Tensor(common::input(shape));
    vec![
        t(&[1, 2, 5, 6]),
        t(&[1, 2, 3]),
        Value::Tensor(Tensor::from_vec(vec![2, 4], d.rois.clone()).unwrap()),
        Value::Tensor(Tensor::from_vec(vec![2], d.batch.clone()).unwrap()),
        t(&[1, 8, 4, 5]),
        t(&[1, 4, 4, 5]),
        t(&[1, 8, 12]),
        t(&[1, 2, 2, 3]),
        Value::Tensor(Tensor::from_vec(vec![1, 2, 2, 3], d.unpool.clone()).unwrap()),
        t(&[3, 3, 3]),
        t(&[2, 3, 4]),
        t(&[2, 4, 2]),
    ]
}

#[test]
fn compiled_geo_model_matches_the_interpreter() {
    let g = common::geo_graph();
    let x = inputs(&good());
    let want = mote_interp::run(&g, x.clone()).unwrap();
    let got = host::compile_and_run(&g, &x, &Options::default()).unwrap();
    assert_eq!(want.len(), got.len());
    for (i, (w, o)) in want.iter().zip(&got).enumerate() {
        let (w, o) = (w.as_tensor().unwrap(), o.as_tensor().unwrap());
        assert_eq!(w.shape(), o.shape(), "output {i}");
        let (w, o) = (w.to_f32_vec().unwrap(), o.to_f32_vec().unwrap());
        assert!(w.iter().any(|&v| v != 0.0), "output {i} is all zeros: the test would not see a wrong kernel");
        for (a, b) in w.iter().zip(&o) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "output {i}: {a} vs {b}");
        }
    }
}

#[test]
fn run_time_indices_out_of_range_are_run_errors() {
    let g = common::geo_graph();
    let run = |d: Data| host::compile_and_run(&g, &inputs(&d), &Options::default()).unwrap_err();
    for b in [1, -1] {
        let e = run(Data { batch: vec![0, b], ..good() });
        assert!(e.contains("RoiAlign batch index"), "{e}");
    }
    for i in [48, -1] {
        let mut unpool = good().unpool;
        unpool[5] = i;
        let e = run(Data { unpool, ..good() });
        assert!(e.contains("MaxUnpool index"), "{e}");
    }
    // A ROI a thousand times the feature map would sample ~10^5 points per bin.
    let e = run(Data { rois: vec![0.0, 0.0, 8.0, 6.0, 0.0, 0.0, 6000.0, 5000.0], ..good() });
    assert!(e.contains("samples per bin"), "{e}");
}

#[test]
fn matmul_like_einsums_run_as_gemm() {
    let c = mote_compile::compile(common::geo_graph(), &Options::default()).unwrap();
    let bytes = mote_rt::host::AlignedBuf::from_bytes(&c.bytes);
    let rt = mote_rt::Runtime::load(bytes.as_ref()).unwrap();
    let m = rt.model();
    let ops = |node: &str| -> Vec<mote_format::OpCode> {
        (0..m.step_count()).filter_map(|i| m.step(i)).filter(|s| s.name == node).map(|s| s.op).collect()
    };
    use mote_format::OpCode::{Binary, Copy, Gemm, Reduce};
    assert_eq!(ops("einsum_mm"), [Gemm]);
    // The first operand and the output are permuted by copies; the second is read in place.
    assert_eq!(ops("einsum_perm"), [Copy, Gemm, Copy]);
    assert_eq!(ops("einsum_partial"), [Binary, Reduce]);
}
