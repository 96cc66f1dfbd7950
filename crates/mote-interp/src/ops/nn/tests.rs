//! Unit tests of the nn glue: semantics that the conformance suite does not pin down.

use mote_ir::ops::nn::{ConvAttrs, Equation, SoftmaxAttrs, SoftmaxKind, Window};
use mote_ir::{DType, Tensor, Value};

use super::{conv, matmul, softmax};

fn t32(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
}

fn f32s(t: &Tensor) -> Vec<f32> {
    t.typed::<f32>().unwrap().to_vec()
}

#[test]
fn legacy_softmax_coerces_to_2d() {
    // [2, 2] with axis 0 before opset 13: one row of 4 elements, not two columns.
    let x = t32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let legacy = SoftmaxAttrs { kind: SoftmaxKind::Hardmax, axis: 0, coerce_2d: true };
    assert_eq!(f32s(&softmax::softmax(&legacy, &x).unwrap()), [0.0, 0.0, 0.0, 1.0]);
    let modern = SoftmaxAttrs { coerce_2d: false, ..legacy };
    assert_eq!(f32s(&softmax::softmax(&modern, &x).unwrap()), [0.0, 0.0, 1.0, 1.0]);
    let sm = SoftmaxAttrs { kind: SoftmaxKind::Softmax, axis: 0, coerce_2d: true };
    let s: f32 = f32s(&softmax::softmax(&sm, &x).unwrap()).iter().sum();
    assert!((s - 1.0).abs() < 1e-6);
}

#[test]
fn matmul_vectors_and_integer_broadcast() {
    let a = t32(&[3], &[1.0, 2.0, 3.0]);
    let b = t32(&[3], &[4.0, 5.0, 6.0]);
    let d = matmul::matmul(&a, &b).unwrap();
    assert_eq!(d.shape(), &[] as &[usize]);
    assert_eq!(f32s(&d), [32.0]);
    // [2, 1, 1, 2] x [3, 2, 1] -> [2, 3, 1, 1], integers.
    let a = Tensor::from_vec(vec![2, 1, 1, 2], vec![1i32, 2, 3, 4]).unwrap();
    let b = Tensor::from_vec(vec![3, 2, 1], vec![1i32, 1, 2, 0, 0, 3]).unwrap();
    let y = matmul::matmul(&a, &b).unwrap();
    assert_eq!(y.shape(), &[2, 3, 1, 1]);
    assert_eq!(y.typed::<i32>().unwrap(), &[3, 2, 6, 7, 6, 12]);
    assert!(matmul::matmul(&t32(&[2, 3], &[0.0; 6]), &t32(&[2, 3], &[0.0; 6])).is_err());
}

#[test]
fn gemm_transposes_and_broadcasts_c() {
    // A' = A^T (2x2), B' = B^T, C a row vector.
    let a = t32(&[2, 2], &[1.0, 3.0, 2.0, 4.0]); // A' = [[1, 2], [3, 4]]
    let b = t32(&[2, 2], &[5.0, 7.0, 6.0, 8.0]); // B' = [[5, 6], [7, 8]]
    let c = t32(&[2], &[1.0, -1.0]);
    let y = matmul::gemm(&a, &b, Some(&c), 0.5, 2.0, true, true).unwrap();
    // A'B' = [[19, 22], [43, 50]]
    assert_eq!(f32s(&y), [11.5, 9.0, 23.5, 23.0]);
}

#[test]
fn einsum_trace_diagonal_and_ellipsis() {
    let m = t32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let tr = matmul::einsum(&Equation::parse("ii").unwrap(), &[&m]).unwrap();
    assert_eq!(f32s(&tr), [5.0]);
    let dg = matmul::einsum(&Equation::parse("ii->i").unwrap(), &[&m]).unwrap();
    assert_eq!(f32s(&dg), [1.0, 4.0]);
    let tp = matmul::einsum(&Equation::parse("...ij->...ji").unwrap(), &[&m]).unwrap();
    assert_eq!(f32s(&tp), [1.0, 3.0, 2.0, 4.0]);
    // Batched matmul with a broadcast ellipsis: [1, 2, 2] x [3, 2, 1].
    let a = t32(&[1, 2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let b = t32(&[3, 2, 1], &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    let y = matmul::einsum(&Equation::parse("...ij,...jk").unwrap(), &[&a, &b]).unwrap();
    assert_eq!(y.shape(), &[3, 2, 1]);
    assert_eq!(f32s(&y), [1.0, 3.0, 2.0, 4.0, 3.0, 7.0]);
    assert!(matmul::einsum(&Equation::parse("ij,jk").unwrap(), &[&m, &t32(&[3], &[0.0; 3])]).is_err());
}

#[test]
fn depthwise_conv_matches_per_channel_product() {
    // Two channels, group 2, 1x1 kernels: each channel scaled by its own weight.
    let x = t32(&[1, 2, 1, 2], &[1.0, 2.0, 3.0, 4.0]);
    let w = t32(&[2, 1, 1, 1], &[10.0, -1.0]);
    let a = ConvAttrs { window: Window::default(), group: 2 };
    let y = conv::conv(&a, &x, &w, None).unwrap();
    assert_eq!(f32s(&y), [10.0, 20.0, -3.0, -4.0]);
    // Mismatched channels are an error, not a panic.
    let bad = ConvAttrs { window: Window::default(), group: 1 };
    assert!(conv::conv(&bad, &x, &w, None).is_err());
}

#[test]
fn dropout_training_is_seeded_and_scales() {
    let x = t32(&[1000], &[1.0; 1000]);
    let r = Tensor::scalar(0.25f32);
    let on = Tensor::scalar(true);
    let run = |seed| softmax::dropout(seed, &x, Some(&r), Some(&on), 2).unwrap();
    let (a, b) = (run(Some(3)), run(Some(3)));
    assert_eq!(a, b);
    let (Value::Tensor(y), Value::Tensor(mask)) = (&a[0], &a[1]) else { panic!("tensors expected") };
    let kept = mask.typed::<bool>().unwrap().iter().filter(|&&m| m).count();
    assert!((650..850).contains(&kept), "{kept} kept of 1000");
    assert!(f32s(y).iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
    // Inference mode: identity and an all-true mask.
    let id = softmax::dropout(None, &x, Some(&r), None, 2).unwrap();
    assert_eq!(id[0], Value::Tensor(x.clone()));
    assert_eq!(mask.dtype(), DType::Bool);
}

/// Random (often inconsistent) shapes and attributes must give results or errors, never panics.
#[test]
fn random_geometry_never_panics() {
    use mote_ir::ops::nn::{AutoPad, ConvTransposeAttrs, PoolAttrs, PoolKind};
    let mut ok = [0usize; 4];
    let mut state = 0x1234_5678u64;
    let mut rnd = |n: usize| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % n
    };
    for _ in 0..3000 {
        let nd = 1 + rnd(3);
        let dims =
            |r: &mut dyn FnMut(usize) -> usize, lo: usize, n: usize| (0..nd).map(|_| lo + r(n)).collect::<Vec<_>>();
        let window = Window {
            kernel_shape: if rnd(3) == 0 { None } else { Some(dims(&mut rnd, 1, 4)) },
            strides: if rnd(2) == 0 { vec![] } else { dims(&mut rnd, 1, 3) },
            dilations: if rnd(2) == 0 { vec![] } else { dims(&mut rnd, 1, 3) },
            pads: if rnd(2) == 0 { vec![] } else { (0..2 * nd).map(|_| rnd(4)).collect() },
            auto_pad: [AutoPad::NotSet, AutoPad::SameUpper, AutoPad::SameLower, AutoPad::Valid][rnd(4)],
            ceil_mode: rnd(2) == 0,
            same_undilated: rnd(2) == 0,
        };
        let (c, m, g) = (1 + rnd(4), 1 + rnd(4), 1 + rnd(3));
        let mut xs = vec![1 + rnd(2), c];
        xs.extend(dims(&mut rnd, 0, 6));
        let mut ws = vec![m, 1 + rnd(3)];
        ws.extend(dims(&mut rnd, 1, 3));
        let x = Tensor::zeros(DType::F32, xs).unwrap();
        let w = Tensor::zeros(DType::F32, ws).unwrap();
        let b = Tensor::zeros(DType::F32, vec![1 + rnd(4)]).unwrap();
        ok[0] += conv::conv(&ConvAttrs { window: window.clone(), group: g }, &x, &w, Some(&b)).is_ok() as usize;
        let ct = ConvTransposeAttrs {
            window: window.clone(),
            group: g,
            output_padding: if rnd(2) == 0 { vec![] } else { dims(&mut rnd, 0, 3) },
            output_shape: if rnd(3) == 0 { Some(dims(&mut rnd, 0, 12)) } else { None },
        };
        ok[1] += conv::conv_transpose(&ct, &x, &w, None).is_ok() as usize;
        let kind =
            [PoolKind::Max { col_major: true }, PoolKind::Average { count_include_pad: true }, PoolKind::Lp { p: 2.0 }]
                [rnd(3)];
        ok[2] += super::pool::pool(&PoolAttrs { kind, window: window.clone() }, &x, 2).is_ok() as usize;
        let img = Tensor::from_vec(vec![nd], dims(&mut rnd, 0, 6).iter().map(|&d| d as i64).collect()).unwrap();
        let blk = Tensor::from_vec(vec![nd], dims(&mut rnd, 1, 3).iter().map(|&d| d as i64).collect()).unwrap();
        let cols = Tensor::zeros(DType::F32, vec![1, c * (1 + rnd(4)), rnd(10)]).unwrap();
        ok[3] += conv::col2im(&window, &cols, &img, &blk).is_ok() as usize;
    }
    // Enough valid cases that the kernels really ran.
    assert!(ok.iter().all(|&n| n > 10), "successes per op: {ok:?}");
}
