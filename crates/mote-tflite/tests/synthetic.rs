//! Small models built in the test with the flatbuffers builder: convolution semantics (SAME
//! padding with its odd element at the end, strides, depth multiplier, fused RELU6, OHWI
//! weights) against a direct NHWC implementation, and the error paths. Needs no shared data.

use flatbuffers::FlatBufferBuilder;
use mote_ir::{Tensor, Value};
use mote_tflite::schema::*;
use mote_tflite::{ImportError, ProblemKind};

#[derive(Default)]
struct T {
    name: &'static str,
    shape: Vec<i32>,
    data: Option<Vec<f32>>,
    /// An int32 constant (the tensor is then INT32).
    ints: Option<Vec<i32>>,
    /// An int8 constant and its scales (zero points 0, along dim 0 when more than one).
    q8: Option<(Vec<i8>, Vec<f32>)>,
    /// The type of a tensor without data, when not FLOAT32.
    dtype: Option<TensorType>,
}

enum Opt {
    None,
    Conv(Conv2DOptionsArgs),
    Depthwise(DepthwiseConv2DOptionsArgs),
    Squeeze(Vec<i32>),
    Slice(StridedSliceOptionsArgs),
    Fc(FullyConnectedOptionsArgs),
    Div(DivOptionsArgs),
}

struct O {
    code: BuiltinOperator,
    custom: Option<&'static str>,
    ins: Vec<i32>,
    outs: Vec<i32>,
    opt: Opt,
}

/// A float32 model with one subgraph; each constant tensor gets its own buffer.
fn build(tensors: &[T], ops: &[O], inputs: &[i32], outputs: &[i32]) -> Vec<u8> {
    let mut b = FlatBufferBuilder::new();
    let mut buffers = vec![Buffer::create(&mut b, &BufferArgs { data: None })];
    let mut ts = Vec::new();
    for t in tensors {
        let bytes: Option<Vec<u8>> = match (&t.data, &t.ints, &t.q8) {
            (Some(d), _, _) => Some(d.iter().flat_map(|x| x.to_le_bytes()).collect()),
            (None, Some(i), _) => Some(i.iter().flat_map(|x| x.to_le_bytes()).collect()),
            (None, None, Some((q, _))) => Some(q.iter().map(|&v| v as u8).collect()),
            (None, None, None) => None,
        };
        let buffer = match bytes {
            Some(bytes) => {
                let data = b.create_vector(&bytes);
                buffers.push(Buffer::create(&mut b, &BufferArgs { data: Some(data) }));
                buffers.len() as u32 - 1
            }
            None => 0,
        };
        let shape = b.create_vector(&t.shape);
        let name = b.create_string(t.name);
        let quantization = t.q8.as_ref().map(|(_, scales)| {
            let scale = Some(b.create_vector(scales));
            let zero_point = Some(b.create_vector(&vec![0i64; scales.len()]));
            let q = QuantizationParametersArgs { scale, zero_point, ..QuantizationParametersArgs::default() };
            QuantizationParameters::create(&mut b, &q)
        });
        let type_ = match (&t.ints, &t.q8) {
            (Some(_), _) => TensorType::INT32,
            (None, Some(_)) => TensorType::INT8,
            (None, None) => t.dtype.unwrap_or(TensorType::FLOAT32),
        };
        let args = TensorArgs {
            shape: Some(shape),
            type_,
            buffer,
            name: Some(name),
            quantization,
            is_variable: false,
            sparsity: None,
            shape_signature: None,
            has_rank: true,
            variant_tensors: None,
        };
        ts.push(mote_tflite::schema::Tensor::create(&mut b, &args));
    }
    let mut codes = Vec::new();
    let mut os = Vec::new();
    for (k, o) in ops.iter().enumerate() {
        let custom_code = o.custom.map(|c| b.create_string(c));
        let code = OperatorCodeArgs {
            deprecated_builtin_code: o.code.0.min(127) as i8,
            custom_code,
            version: 1,
            builtin_code: o.code,
        };
        codes.push(OperatorCode::create(&mut b, &code));
        let (builtin_options_type, builtin_options) = match &o.opt {
            Opt::None => (BuiltinOptions::NONE, None),
            Opt::Conv(a) => (BuiltinOptions::Conv2DOptions, Some(Conv2DOptions::create(&mut b, a).as_union_value())),
            Opt::Depthwise(a) => (
                BuiltinOptions::DepthwiseConv2DOptions,
                Some(DepthwiseConv2DOptions::create(&mut b, a).as_union_value()),
            ),
            Opt::Slice(a) => {
                let o = StridedSliceOptions::create(&mut b, a);
                (BuiltinOptions::StridedSliceOptions, Some(o.as_union_value()))
            }
            Opt::Div(a) => (BuiltinOptions::DivOptions, Some(DivOptions::create(&mut b, a).as_union_value())),
            Opt::Fc(a) => {
                let o = FullyConnectedOptions::create(&mut b, a);
                (BuiltinOptions::FullyConnectedOptions, Some(o.as_union_value()))
            }
            Opt::Squeeze(d) => {
                let squeeze_dims = Some(b.create_vector(d));
                let o = SqueezeOptions::create(&mut b, &SqueezeOptionsArgs { squeeze_dims });
                (BuiltinOptions::SqueezeOptions, Some(o.as_union_value()))
            }
        };
        let (ins, outs) = (b.create_vector(&o.ins), b.create_vector(&o.outs));
        let args = OperatorArgs {
            opcode_index: k as u32,
            inputs: Some(ins),
            outputs: Some(outs),
            builtin_options_type,
            builtin_options,
            ..OperatorArgs::default()
        };
        os.push(Operator::create(&mut b, &args));
    }
    let (tensors, operators) = (b.create_vector(&ts), b.create_vector(&os));
    let (inputs, outputs) = (b.create_vector(inputs), b.create_vector(outputs));
    let sg = SubGraph::create(
        &mut b,
        &SubGraphArgs {
            tensors: Some(tensors),
            inputs: Some(inputs),
            outputs: Some(outputs),
            operators: Some(operators),
            name: None,
        },
    );
    let subgraphs = b.create_vector(&[sg]);
    let operator_codes = b.create_vector(&codes);
    let buffers = b.create_vector(&buffers);
    let model = Model::create(
        &mut b,
        &ModelArgs {
            version: 3,
            operator_codes: Some(operator_codes),
            subgraphs: Some(subgraphs),
            buffers: Some(buffers),
            ..ModelArgs::default()
        },
    );
    finish_model_buffer(&mut b, model);
    b.finished_data().to_vec()
}

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// TFLite SAME padding before the input: `(total / 2)`.
fn same_begin(input: usize, k: usize, stride: usize, dilation: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let total = ((out - 1) * stride + (k - 1) * dilation + 1).saturating_sub(input);
    (out, total / 2)
}

/// Direct NHWC convolution as TFLite defines it. `w` is OHWI (regular) or 1HWO (depthwise).
#[allow(clippy::too_many_arguments)]
fn reference_conv(
    x: &[f32],
    [h, wd, c]: [usize; 3],
    w: &[f32],
    [o, kh, kw]: [usize; 3],
    bias: &[f32],
    stride: usize,
    dilation: usize,
    depthwise: bool,
) -> (Vec<f32>, [usize; 2]) {
    let (oh, pt) = same_begin(h, kh, stride, dilation);
    let (ow, pl) = same_begin(wd, kw, stride, dilation);
    let mut y = vec![0.0f32; oh * ow * o];
    for oy in 0..oh {
        for ox in 0..ow {
            for oc in 0..o {
                let mut acc = bias[oc];
                for ky in 0..kh {
                    for kx in 0..kw {
                        let iy = (oy * stride + ky * dilation) as isize - pt as isize;
                        let ix = (ox * stride + kx * dilation) as isize - pl as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                            continue;
                        }
                        let (iy, ix) = (iy as usize, ix as usize);
                        if depthwise {
                            let ic = oc / (o / c);
                            acc += x[(iy * wd + ix) * c + ic] * w[(ky * kw + kx) * o + oc];
                        } else {
                            for ic in 0..c {
                                acc += x[(iy * wd + ix) * c + ic] * w[((oc * kh + ky) * kw + kx) * c + ic];
                            }
                        }
                    }
                }
                y[(oy * ow + ox) * o + oc] = acc.clamp(0.0, 6.0);
            }
        }
    }
    (y, [oh, ow])
}

fn run(bytes: &[u8], x: Vec<f32>, shape: Vec<usize>) -> Tensor {
    let mut g = mote_tflite::from_bytes(bytes).unwrap_or_else(|e| panic!("{e}"));
    mote_ir::verify::verify(&g).expect("verifies");
    mote_interp::infer(&mut g).expect("infers");
    let input = Value::Tensor(Tensor::from_vec(shape, x).expect("input"));
    match mote_interp::run(&g, vec![input]).expect("runs").remove(0) {
        Value::Tensor(t) => t,
        other => panic!("not a tensor: {other:?}"),
    }
}

fn check_conv(depthwise: bool) {
    let (h, wd, c, kh, kw, stride) = (6, 5, 2, 3, 3, 2);
    let o = if depthwise { 4 } else { 3 };
    let x = values(h * wd * c, 1);
    let w = values(o * kh * kw * if depthwise { 1 } else { c }, 2).iter().map(|v| v * 4.0).collect::<Vec<_>>();
    let bias = values(o, 3);
    let (want, [oh, ow]) = reference_conv(&x, [h, wd, c], &w, [o, kh, kw], &bias, stride, 1, depthwise);
    let wshape = if depthwise {
        vec![1, kh as i32, kw as i32, o as i32]
    } else {
        vec![o as i32, kh as i32, kw as i32, c as i32]
    };
    let tensors = [
        T {
            name: "x",
            shape: vec![1, h as i32, wd as i32, c as i32],
            data: None,
            ints: None,
            q8: None,
            ..T::default()
        },
        T { name: "w", shape: wshape, data: Some(w), ints: None, q8: None, ..T::default() },
        T { name: "b", shape: vec![o as i32], data: Some(bias), ints: None, q8: None, ..T::default() },
        T {
            name: "y",
            shape: vec![1, oh as i32, ow as i32, o as i32],
            data: None,
            ints: None,
            q8: None,
            ..T::default()
        },
    ];
    let act = ActivationFunctionType::RELU6;
    let (code, opt) = if depthwise {
        let a = DepthwiseConv2DOptionsArgs {
            padding: Padding::SAME,
            stride_w: 2,
            stride_h: 2,
            depth_multiplier: 2,
            fused_activation_function: act,
            dilation_w_factor: 1,
            dilation_h_factor: 1,
        };
        (BuiltinOperator::DEPTHWISE_CONV_2D, Opt::Depthwise(a))
    } else {
        let a = Conv2DOptionsArgs {
            padding: Padding::SAME,
            stride_w: 2,
            stride_h: 2,
            fused_activation_function: act,
            dilation_w_factor: 1,
            dilation_h_factor: 1,
        };
        (BuiltinOperator::CONV_2D, Opt::Conv(a))
    };
    let ops = [O { code, custom: None, ins: vec![0, 1, 2], outs: vec![3], opt }];
    let bytes = build(&tensors, &ops, &[0], &[3]);
    let got = run(&bytes, x, vec![1, h, wd, c]);
    assert_eq!(got.shape(), &[1, oh, ow, o]);
    let got = got.to_f32_vec().expect("f32");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-5, "element {i}: got {g}, want {w}\n got {got:?}\nwant {want:?}");
    }
    assert!(want.contains(&6.0) && want.contains(&0.0), "RELU6 should clamp at both ends");
}

#[test]
fn conv_2d_same_padding_stride_2_relu6_matches_direct_nhwc() {
    check_conv(false);
}

#[test]
fn depthwise_multiplier_2_matches_direct_nhwc() {
    check_conv(true);
}

#[test]
fn unsupported_ops_are_listed_at_once_with_indices() {
    let t = |name| T { name, shape: vec![1, 4], data: None, ints: None, q8: None, ..T::default() };
    let tensors = [t("a"), t("b"), t("c"), t("d")];
    let op = |code, custom, i: i32| O { code, custom, ins: vec![i], outs: vec![i + 1], opt: Opt::None };
    let ops = [
        op(BuiltinOperator::CUSTOM, Some("MyOp"), 0),
        op(BuiltinOperator::RELU, None, 1),
        op(BuiltinOperator::SQUARE, None, 2),
    ];
    let err = mote_tflite::from_bytes(&build(&tensors, &ops, &[0], &[3])).expect_err("unsupported ops");
    let unsup: Vec<(String, usize)> = err.unsupported().iter().map(|p| (p.op.clone(), p.index)).collect();
    assert_eq!(unsup, vec![("CUSTOM:MyOp".to_string(), 0), ("SQUARE".to_string(), 2)], "{err}");
    let msg = err.to_string();
    assert!(msg.contains("CUSTOM:MyOp at operator 0") && msg.contains("SQUARE at operator 2"), "{msg}");
}

#[test]
fn corrupt_models_are_clear_errors() {
    let tensors = [
        T { name: "x", shape: vec![1, 4], data: None, ints: None, q8: None, ..T::default() },
        T { name: "y", shape: vec![1, 4], data: None, ints: None, q8: None, ..T::default() },
    ];
    let relu = |ins: Vec<i32>| [O { code: BuiltinOperator::RELU, custom: None, ins, outs: vec![1], opt: Opt::None }];
    // A valid model imports and runs.
    let ok = build(&tensors, &relu(vec![0]), &[0], &[1]);
    let y = run(&ok, vec![-1.0, 2.0, -3.0, 4.0], vec![1, 4]);
    assert_eq!(y.to_f32_vec().expect("f32"), vec![0.0, 2.0, 0.0, 4.0]);

    // Not a TFLite file.
    let e = mote_tflite::from_bytes(b"definitely not a flatbuffer").expect_err("garbage");
    assert!(matches!(e, ImportError::Decode { .. }) && e.to_string().contains("TFL3"), "{e}");
    // Truncated.
    let e = mote_tflite::from_bytes(&ok[..ok.len() / 2]).expect_err("truncated");
    assert!(matches!(e, ImportError::Decode { .. }), "{e}");
    // A tensor index out of range.
    let e = mote_tflite::from_bytes(&build(&tensors, &relu(vec![7]), &[0], &[1])).expect_err("bad index");
    assert!(e.to_string().contains("refers to tensor 7"), "{e}");
    // A constant whose buffer does not match its shape.
    let bad = [
        T { name: "w", shape: vec![3, 3], data: Some(vec![1.0; 4]), ints: None, q8: None, ..T::default() },
        T { name: "y", shape: vec![3, 3], data: None, ints: None, q8: None, ..T::default() },
    ];
    let e = mote_tflite::from_bytes(&build(&bad, &relu(vec![0]), &[], &[1])).expect_err("short buffer");
    assert!(e.to_string().contains("tensor 0 `w`") && e.to_string().contains("needs 36"), "{e}");
    // A tensor read before it is produced: an invalid operator.
    let e = mote_tflite::from_bytes(&build(&tensors, &relu(vec![1]), &[0], &[1])).expect_err("cycle");
    assert!(e.to_string().contains("RELU at operator 0"), "{e}");
    if let ImportError::Ops { problems, .. } = &e {
        assert_eq!(problems[0].kind, ProblemKind::Invalid);
    }
}

#[test]
fn declared_shapes_that_do_not_fit_the_op_are_errors_not_panics() {
    let conv = || Conv2DOptionsArgs {
        padding: Padding::VALID,
        stride_w: 1,
        stride_h: 1,
        fused_activation_function: ActivationFunctionType::NONE,
        dilation_w_factor: 1,
        dilation_h_factor: 1,
    };
    let op = |opt| [O { code: BuiltinOperator::CONV_2D, custom: None, ins: vec![0, 1], outs: vec![2], opt }];
    let x = || T { name: "x", shape: vec![1, 3, 3, 1], data: None, ints: None, q8: None, ..T::default() };
    let w = || T { name: "w", shape: vec![1, 1, 1, 1], data: Some(vec![2.0]), ints: None, q8: None, ..T::default() };
    // Output declared rank 2.
    let tensors = [x(), w(), T { name: "y", shape: vec![1, 9], data: None, ints: None, q8: None, ..T::default() }];
    let e = mote_tflite::from_bytes(&build(&tensors, &op(Opt::Conv(conv())), &[0], &[2])).expect_err("rank 2 output");
    assert!(e.to_string().contains("has rank 2, expected 4"), "{e}");
    // Zero stride.
    let tensors =
        [x(), w(), T { name: "y", shape: vec![1, 3, 3, 1], data: None, ints: None, q8: None, ..T::default() }];
    let bad = Conv2DOptionsArgs { stride_w: 0, ..conv() };
    let e = mote_tflite::from_bytes(&build(&tensors, &op(Opt::Conv(bad)), &[0], &[2])).expect_err("stride 0");
    assert!(e.to_string().contains("stride_w must be positive"), "{e}");
    // Missing options.
    let e = mote_tflite::from_bytes(&build(&tensors, &op(Opt::None), &[0], &[2])).expect_err("no options");
    assert!(e.to_string().contains("Conv2DOptions are missing"), "{e}");
    // Weights whose input channels do not divide the input's.
    let w2 = T { name: "w", shape: vec![1, 1, 1, 2], data: Some(vec![1.0, 1.0]), ints: None, q8: None, ..T::default() };
    let e = mote_tflite::from_bytes(&build(
        &[x(), w2, T { name: "y", shape: vec![1, 3, 3, 1], data: None, ints: None, q8: None, ..T::default() }],
        &op(Opt::Conv(conv())),
        &[0],
        &[2],
    ))
    .expect_err("channel mismatch");
    assert!(e.to_string().contains("does not fit 1 input channels"), "{e}");
}

/// HARD_SWISH is `x * relu6(x + 3) / 6`; SQUEEZE drops the listed size-1 dims, and a declared
/// output shape that is not the squeeze's result is an error.
#[test]
fn hard_swish_then_squeeze() {
    let tensors = |y: Vec<i32>| {
        [
            T { name: "x", shape: vec![1, 1, 4, 3], data: None, ints: None, q8: None, ..T::default() },
            T { name: "h", shape: vec![1, 1, 4, 3], data: None, ints: None, q8: None, ..T::default() },
            T { name: "y", shape: y, data: None, ints: None, q8: None, ..T::default() },
        ]
    };
    let ops = |dims: Vec<i32>| {
        [
            O { code: BuiltinOperator::HARD_SWISH, custom: None, ins: vec![0], outs: vec![1], opt: Opt::None },
            O { code: BuiltinOperator::SQUEEZE, custom: None, ins: vec![1], outs: vec![2], opt: Opt::Squeeze(dims) },
        ]
    };
    let x: Vec<f32> = values(12, 7).iter().map(|v| v * 5.0).collect();
    let y = run(&build(&tensors(vec![1, 4, 3]), &ops(vec![-3]), &[0], &[2]), x.clone(), vec![1, 1, 4, 3]);
    assert_eq!(y.shape(), &[1, 4, 3]);
    for (got, &v) in y.as_slice::<f32>().unwrap().iter().zip(&x) {
        let want = v * (v + 3.0).clamp(0.0, 6.0) / 6.0;
        assert!((got - want).abs() < 1e-6, "hard_swish({v}) = {got}, expected {want}");
    }
    // Without squeeze_dims every size-1 dim goes: [1, 4, 3] is then a wrong declaration.
    let err = mote_tflite::from_bytes(&build(&tensors(vec![1, 4, 3]), &ops(vec![]), &[0], &[2])).expect_err("shape");
    assert!(err.to_string().contains("the squeeze gives [4, 3]"), "{err}");
    let err = mote_tflite::from_bytes(&build(&tensors(vec![1, 1, 3]), &ops(vec![2]), &[0], &[2])).expect_err("size");
    assert!(err.to_string().contains("squeeze dim 2 has size 4"), "{err}");
}

/// One STRIDED_SLICE of x[2, 5, 3] with constant begin/end/strides and the given masks.
fn strided(begin: [i32; 3], end: [i32; 3], strides: [i32; 3], opts: StridedSliceOptionsArgs, out: Vec<i32>) -> Vec<u8> {
    let c =
        |name, v: [i32; 3]| T { name, shape: vec![3], data: None, ints: Some(v.to_vec()), q8: None, ..T::default() };
    let tensors = [
        T { name: "x", shape: vec![2, 5, 3], data: None, ints: None, q8: None, ..T::default() },
        c("begin", begin),
        c("end", end),
        c("strides", strides),
        T { name: "y", shape: out, data: None, ints: None, q8: None, ..T::default() },
    ];
    let op = O {
        code: BuiltinOperator::STRIDED_SLICE,
        custom: None,
        ins: vec![0, 1, 2, 3],
        outs: vec![4],
        opt: Opt::Slice(opts),
    };
    build(&tensors, &[op], &[0], &[4])
}

/// STRIDED_SLICE against direct indexing: a negative stride from a negative begin to a masked
/// end, a shrunk axis, and the refusals.
#[test]
fn strided_slice_masks_and_shrink() {
    let x = values(30, 11);
    let at = |i: usize, j: usize, k: usize| x[(i * 5 + j) * 3 + k];
    let m = |begin_mask, end_mask, shrink_axis_mask| StridedSliceOptionsArgs {
        begin_mask,
        end_mask,
        shrink_axis_mask,
        ..StridedSliceOptionsArgs::default()
    };
    // Axis 0 whole (masks), axis 1 from the last element down by 2 to the start (4, 2, 0), axis 2 whole.
    let y =
        run(&strided([0, -1, 0], [0, 0, 3], [1, -2, 1], m(0b001, 0b011, 0), vec![2, 3, 3]), x.clone(), vec![2, 5, 3]);
    let want: Vec<f32> = (0..2)
        .flat_map(|i| [4, 2, 0].into_iter().flat_map(move |j| (0..3).map(move |k| (i, j, k))))
        .map(|(i, j, k)| at(i, j, k))
        .collect();
    assert_eq!(y.shape(), &[2, 3, 3]);
    assert_eq!(y.as_slice::<f32>().unwrap(), want.as_slice());
    // Axis 0 shrunk to index 1 (given as -1), axis 1 from 1 to 4, axis 2 by 2.
    let y = run(&strided([-1, 1, 0], [0, 4, 3], [1, 1, 2], m(0, 0, 0b001), vec![3, 2]), x.clone(), vec![2, 5, 3]);
    let want: Vec<f32> =
        (1..4).flat_map(|j| [0, 2].into_iter().map(move |k| (j, k))).map(|(j, k)| at(1, j, k)).collect();
    assert_eq!(y.shape(), &[3, 2]);
    assert_eq!(y.as_slice::<f32>().unwrap(), want.as_slice());
    // A declared shape that is not the slice's, and an ellipsis mask.
    let err = mote_tflite::from_bytes(&strided([0, 0, 0], [2, 5, 3], [1, 1, 1], m(0, 0, 0), vec![2, 5, 2]))
        .expect_err("shape");
    assert!(err.to_string().contains("the slice gives [2, 5, 3]"), "{err}");
    let opts = StridedSliceOptionsArgs { ellipsis_mask: 1, ..StridedSliceOptionsArgs::default() };
    let err =
        mote_tflite::from_bytes(&strided([0, 0, 0], [2, 5, 3], [1, 1, 1], opts, vec![2, 5, 3])).expect_err("ellipsis");
    assert_eq!(err.unsupported().len(), 1, "{err}");
}

/// TFLite's reference hybrid FULLY_CONNECTED, written from its definition: each row of `x`
/// quantized (symmetric: `round(x * 127 / max|x|)` in [-127, 127]; asymmetric: scale
/// `(max(x,0) - min(x,0)) / 255`, zero point `round(-128 - min / scale)`), an integer product
/// with the int8 weights, scaled back by `row_scale * w_scale[o]`, plus the bias.
fn hybrid_fc_reference(x: &[f32], k: usize, w: &[i8], ws: &[f32], bias: &[f32], asym: bool) -> Vec<f32> {
    let n = bias.len();
    let mut out = Vec::new();
    for row in x.chunks(k) {
        let (lo, hi) = row.iter().fold((0f32, 0f32), |(l, h), &v| (l.min(v), h.max(v)));
        let (scale, inv, zp, qlo) = if asym {
            let scale = (hi - lo) / 255.0;
            (scale, 1.0 / scale, (-128.0 - lo / scale).round(), -128.0)
        } else {
            let r = hi.max(-lo);
            (r / 127.0, 127.0 / r, 0.0, -127.0)
        };
        let q: Vec<i32> = row.iter().map(|&v| ((zp + v * inv).round().clamp(qlo, 127.0) - zp) as i32).collect();
        for o in 0..n {
            let acc: i32 = (0..k).map(|i| q[i] * i32::from(w[o * k + i])).sum();
            let s = scale * if ws.len() == 1 { ws[0] } else { ws[o] };
            out.push(acc as f32 * s + bias[o]);
        }
    }
    out
}

#[test]
fn hybrid_fully_connected_quantizes_each_row() {
    let (k, n) = (6, 3);
    let x: Vec<f32> = values(2 * k, 7).iter().enumerate().map(|(i, v)| v * if i < k { 0.5 } else { 3.0 }).collect();
    let w: Vec<i8> = values(n * k, 8).iter().map(|v| (v * 127.0) as i8).collect();
    let bias = vec![0.25, -0.5, 1.0];
    for (scales, asym) in [(vec![0.02], false), (vec![0.02, 0.05, 0.01], false), (vec![0.03, 0.01, 0.02], true)] {
        let tensors = [
            T { name: "x", shape: vec![2, k as i32], ..T::default() },
            T { name: "w", shape: vec![n as i32, k as i32], q8: Some((w.clone(), scales.clone())), ..T::default() },
            T { name: "b", shape: vec![n as i32], data: Some(bias.clone()), ..T::default() },
            T { name: "y", shape: vec![2, n as i32], ..T::default() },
        ];
        let opts =
            FullyConnectedOptionsArgs { asymmetric_quantize_inputs: asym, ..FullyConnectedOptionsArgs::default() };
        let fc = O {
            code: BuiltinOperator::FULLY_CONNECTED,
            custom: None,
            ins: vec![0, 1, 2],
            outs: vec![3],
            opt: Opt::Fc(opts),
        };
        let y = run(&build(&tensors, &[fc], &[0], &[3]), x.clone(), vec![2, k]);
        let want = hybrid_fc_reference(&x, k, &w, &scales, &bias, asym);
        let got = y.to_f32_vec().expect("f32");
        for (g, e) in got.iter().zip(&want) {
            assert!((g - e).abs() <= 1e-5 * e.abs().max(1.0), "scales {scales:?} asym {asym}: {got:?} vs {want:?}");
        }
        // Rounding the rows matters: the plain float product differs.
        let float: f32 = (0..k).map(|i| x[k + i] * f32::from(w[i]) * scales[0]).sum::<f32>() + bias[0];
        assert_ne!(float, got[n], "row 2, output 0 equals the unquantized product");
    }
}

#[test]
fn div_maximum_minimum_padv2_cast() {
    let f = |name, shape: Vec<i32>, data: Vec<f32>| T { name, shape, data: Some(data), ..T::default() };
    let tensors = [
        T { name: "x", shape: vec![2, 3], ..T::default() },
        f("c", vec![3], vec![2.0, -4.0, 0.5]),
        T { name: "d", shape: vec![2, 3], ..T::default() },
        f("floor", vec![1], vec![0.1]),
        T { name: "m", shape: vec![2, 3], ..T::default() },
        f("cap", vec![2, 1], vec![1.0, 5.0]),
        T { name: "n", shape: vec![2, 3], ..T::default() },
        T { name: "pads", shape: vec![2, 2], ints: Some(vec![0, 1, 1, 0]), ..T::default() },
        f("value", vec![1], vec![9.5]),
        T { name: "p", shape: vec![3, 4], ..T::default() },
        T { name: "y", shape: vec![3, 4], dtype: Some(TensorType::INT32), ..T::default() },
    ];
    let op = |code, ins: Vec<i32>, out, opt| O { code, custom: None, ins, outs: vec![out], opt };
    let div = DivOptionsArgs { fused_activation_function: ActivationFunctionType::RELU };
    let ops = [
        op(BuiltinOperator::DIV, vec![0, 1], 2, Opt::Div(div)),
        op(BuiltinOperator::MAXIMUM, vec![2, 3], 4, Opt::None),
        op(BuiltinOperator::MINIMUM, vec![4, 5], 6, Opt::None),
        op(BuiltinOperator::PADV2, vec![6, 7, 8], 9, Opt::None),
        op(BuiltinOperator::CAST, vec![9], 10, Opt::None),
    ];
    let x: Vec<f32> = vec![3.0, -8.0, 0.25, 12.0, 2.0, 7.0];
    let g = mote_tflite::from_bytes(&build(&tensors, &ops, &[0], &[10])).expect("imports");
    let input = Value::Tensor(Tensor::from_vec(vec![2, 3], x.clone()).expect("input"));
    let y = match mote_interp::run(&g, vec![input]).expect("runs").remove(0) {
        Value::Tensor(t) => t,
        other => panic!("output {other:?}"),
    };
    // relu(x / c) = [1.5, 2, 0.5; 6, 0, 14]; max with 0.1; min with [1; 5] per row; padded with
    // one row after and one column before, 9.5; cast to int32 truncates.
    let want = [9, 1, 1, 0, 9, 5, 0, 5, 9, 9, 9, 9];
    assert_eq!(y.shape(), &[3, 4]);
    assert_eq!(y.to_i64_vec().expect("ints"), want.iter().map(|&v| v as i64).collect::<Vec<_>>());
}
