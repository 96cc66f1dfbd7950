//! One test per bug the randomized tests found (audit), each the smallest case that triggered
//! it: no panic, and inference agrees with the result. `check` returns whether the op ran.

use mote_ir::ops::attention::{AttentionAttrs, AttentionOp};
use mote_ir::ops::control::ControlOp;
use mote_ir::ops::image::ImageOp;
use mote_ir::ops::ml::{Labels, LinearClassifier, MlOp, PostTransform};
use mote_ir::ops::nn::{ConvAttrs, ConvTransposeAttrs, NnOp, Window};
use mote_ir::ops::rnn::{Activation, Direction, RnnAttrs, RnnOp};
use mote_ir::ops::text::{Pool, TextOp, TfIdfAttrs, TfIdfMode};
use mote_ir::{DType, Op, Tensor, Value};

use super::{check, vals};

fn f32s(shape: &[usize]) -> Tensor {
    Tensor::zeros(DType::F32, shape.to_vec()).unwrap()
}

fn ints(v: &[i64]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
}

fn runs(op: impl Into<Op>, inputs: Vec<Option<Tensor>>, n: usize) -> bool {
    check(&op.into(), &vals(inputs), n).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn conv_with_a_huge_group_is_an_error() {
    let a = ConvAttrs { window: Window::default(), group: 1 << 62 };
    assert!(!runs(NnOp::Conv(a), vec![Some(f32s(&[1, 0, 3])), Some(f32s(&[0, 4, 1]))], 1));
}

#[test]
fn conv_transpose_with_a_huge_group_is_an_error() {
    let a =
        ConvTransposeAttrs { window: Window::default(), group: 1 << 62, output_padding: vec![], output_shape: None };
    assert!(!runs(NnOp::ConvTranspose(a), vec![Some(f32s(&[1, 0, 3])), Some(f32s(&[0, 4, 1]))], 1));
}

#[test]
fn conv_transpose_output_shape_with_batch_and_channels_is_inferred_right() {
    let a = ConvTransposeAttrs {
        window: Window::default(),
        group: 1,
        output_padding: vec![],
        output_shape: Some(vec![1, 1, 5]),
    };
    assert!(runs(NnOp::ConvTranspose(a), vec![Some(f32s(&[1, 1, 3])), Some(f32s(&[1, 1, 3]))], 1));
}

#[test]
fn window_with_huge_strides_or_dilations_is_an_error() {
    let window = Window { strides: vec![1 << 62], dilations: vec![1 << 62], ..Window::default() };
    let a = ConvAttrs { window, group: 1 };
    assert!(!runs(NnOp::Conv(a), vec![Some(f32s(&[1, 1, 3])), Some(f32s(&[1, 1, 2]))], 1));
}

#[test]
fn col2im_whose_block_count_overflows_is_an_error() {
    let big = 1 << 24;
    let ins = vec![Some(f32s(&[1, 1, 4])), Some(ints(&[big, big, big])), Some(ints(&[1, 1, 1]))];
    assert!(!runs(NnOp::Col2Im(Window::default()), ins, 1));
}

#[test]
fn lrn_of_size_zero_and_group_norm_of_zero_groups_are_errors() {
    let x = f32s(&[1, 2, 2]);
    let lrn = NnOp::Lrn { alpha: 1.0, beta: 1.0, bias: 1.0, size: 0 };
    assert!(!runs(lrn, vec![Some(x.clone())], 1));
    let gn = NnOp::GroupNorm { epsilon: 1e-5, num_groups: 0, per_group_affine: false };
    assert!(!runs(gn, vec![Some(x), Some(f32s(&[2])), Some(f32s(&[2]))], 1));
}

fn gru(hidden_size: usize) -> RnnOp {
    let activations = vec![Activation::Sigmoid, Activation::Tanh];
    let attrs = RnnAttrs { hidden_size, direction: Direction::Forward, batch_first: false, activations, clip: None };
    RnnOp::Gru { attrs, linear_before_reset: false }
}

#[test]
fn rnn_with_a_huge_or_zero_hidden_size_is_an_error() {
    for hs in [usize::MAX, 0] {
        let ins = vec![Some(f32s(&[1, 1, 1])), Some(f32s(&[1, 3, 1])), Some(f32s(&[1, 3, 1]))];
        assert!(!runs(gru(hs), ins, 2));
    }
}

#[test]
fn attention_with_f64_softmax_keeps_the_input_dtype() {
    let a = AttentionAttrs {
        is_causal: false,
        q_num_heads: None,
        kv_num_heads: None,
        scale: None,
        softcap: 0.0,
        qk_matmul_output_mode: 0,
        softmax_precision: Some(DType::F64),
        left_window: -1,
        right_window: -1,
    };
    let q = Tensor::zeros(DType::F16, vec![1, 1, 2, 2]).unwrap();
    assert!(runs(AttentionOp::Attention(a), vec![Some(q.clone()), Some(q.clone()), Some(q)], 1));
}

#[test]
fn attention_with_zero_heads_or_bad_nonpad_lengths_is_an_error() {
    let mut a = AttentionAttrs {
        is_causal: false,
        q_num_heads: Some(0),
        kv_num_heads: Some(1),
        scale: None,
        softcap: 0.0,
        qk_matmul_output_mode: 0,
        softmax_precision: None,
        left_window: -1,
        right_window: -1,
    };
    let x = f32s(&[1, 2, 2]);
    assert!(!runs(AttentionOp::Attention(a.clone()), vec![Some(x.clone()), Some(x.clone()), Some(x)], 1));
    (a.q_num_heads, a.kv_num_heads) = (None, None);
    let x = f32s(&[1, 1, 2, 2]);
    let ins = vec![Some(x.clone()), Some(x.clone()), Some(x), None, None, None, Some(ints(&[i64::MIN]))];
    assert!(!runs(AttentionOp::Attention(a), ins, 1));
    let rot = AttentionOp::RotaryEmbedding { interleaved: false, rotary_dim: 0, num_heads: Some(0) };
    assert!(!runs(rot, vec![Some(f32s(&[1, 1, 4])), Some(f32s(&[1, 2])), Some(f32s(&[1, 2]))], 1));
}

#[test]
fn tensor_scatter_with_an_extreme_write_index_is_an_error_or_wraps() {
    for circular in [false, true] {
        let op = AttentionOp::TensorScatter { circular, axis: 1 };
        let ins = vec![Some(f32s(&[1, 4])), Some(f32s(&[1, 2])), Some(ints(&[i64::MAX]))];
        assert_eq!(runs(op, ins, 1), circular);
    }
}

#[test]
fn roi_align_over_zero_channels_with_a_huge_sampling_ratio() {
    let op = ImageOp::RoiAlign {
        max: false,
        output_height: 1,
        output_width: 1,
        sampling_ratio: usize::MAX,
        spatial_scale: 1.0,
        half_pixel: true,
    };
    let ins = vec![Some(f32s(&[1, 0, 2, 2])), Some(f32s(&[1, 4])), Some(ints(&[0]))];
    assert!(runs(op, ins, 1));
}

#[test]
fn linear_classifier_without_classes_is_an_error() {
    let c = LinearClassifier {
        coefficients: vec![],
        intercepts: vec![],
        labels: Labels::Ints(vec![0, 1]),
        post: PostTransform::None,
    };
    assert!(!runs(MlOp::LinearClassifier(c), vec![Some(f32s(&[1, 2]))], 2));
}

#[test]
fn linear_regressor_with_huge_targets_is_an_error() {
    let op =
        MlOp::LinearRegressor { coefficients: vec![], intercepts: vec![], targets: 1 << 40, post: PostTransform::None };
    assert!(!runs(op, vec![Some(f32s(&[1, 0]))], 1));
}

#[test]
fn feature_vectorizer_reads_1d_inputs_as_columns_and_checks_dims() {
    assert!(runs(MlOp::FeatureVectorizer { dims: vec![2] }, vec![Some(f32s(&[3]))], 1));
    let op = MlOp::FeatureVectorizer { dims: vec![usize::MAX, 2] };
    assert!(!runs(op, vec![Some(f32s(&[1, 1])), Some(f32s(&[1, 1]))], 1));
}

#[test]
fn string_split_on_an_empty_delimiter_terminates() {
    let x = Tensor::from_strings(vec![1], vec!["a b".into()]).unwrap();
    assert!(runs(TextOp::StringSplit { delimiter: Some(String::new()), maxsplit: None }, vec![Some(x)], 2));
}

#[test]
fn tfidf_with_a_huge_max_gram_length_runs() {
    let a = TfIdfAttrs {
        mode: TfIdfMode::Tf,
        min_gram_length: 1,
        max_gram_length: 1 << 40,
        max_skip_count: 0,
        ngram_counts: vec![0],
        ngram_indexes: vec![0],
        pool: Pool::Ints(vec![1]),
        weights: vec![],
    };
    assert!(runs(TextOp::TfIdfVectorizer(a), vec![Some(ints(&[1, 2]))], 1));
}

#[test]
fn concat_from_sequence_stacks_only_equal_shapes() {
    let seq = Value::Sequence(vec![Value::Tensor(f32s(&[1])), Value::Tensor(f32s(&[1, 1]))]);
    let op = Op::Control(ControlOp::ConcatFromSequence { axis: -1, new_axis: true });
    assert_eq!(check(&op, &[Some(seq)], 1), Ok(false));
}

#[test]
fn sequence_types_cover_every_item() {
    let seq = Value::Sequence(vec![Value::Tensor(f32s(&[1])), Value::Tensor(f32s(&[2]))]);
    let pos = Value::Tensor(Tensor::scalar(1i64));
    assert_eq!(check(&Op::Control(ControlOp::SequenceAt), &[Some(seq), Some(pos)], 1), Ok(true));
}

#[test]
fn depth_to_space_with_a_huge_blocksize_on_no_channels() {
    use mote_ir::ops::shape::{BlockMode, ShapeOp};
    for bs in [1 << 31, 1 << 32, usize::MAX] {
        for mode in [BlockMode::Dcr, BlockMode::Crd] {
            let x = Some(f32s(&[1, 0, 2, 2]));
            runs(ShapeOp::DepthToSpace { blocksize: bs, mode }, vec![x.clone()], 1);
            runs(ShapeOp::SpaceToDepth { blocksize: bs, mode }, vec![x], 1);
        }
    }
}

/// With the base's dtype unknown, inference used to claim the exponent's dtype.
#[test]
fn pow_inference_takes_only_the_base_dtype() {
    use mote_ir::ops::elementwise::{Binary, ElementwiseOp};
    let op = ElementwiseOp::Binary(Binary::Pow);
    assert!(runs(op, vec![Some(f32s(&[2])), Some(Tensor::scalar(2i64))], 1));
}
