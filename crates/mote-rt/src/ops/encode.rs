//! Attribute encoders, one per op code, mirroring the decoders in this module (the compiler's
//! side of the contract; the round trip is tested).

use alloc::vec::Vec;

use mote_kernels::reference::reduce::Reduction;
use mote_kernels::reference::rnn::Act as RnnAct;

use super::act::Act;
use super::binary::BinaryCode;
use super::gemm::BiasKind;
use crate::words::WordsOut;

pub use super::branch::encode_skip as skip;
pub use super::col2im::encode_window as col2im;
pub use super::deform::encode_deform_conv as deform_conv;
pub use super::mel::encode_mel as mel;
pub use super::nms::encode_nms as nms;
pub use super::q8conv::encode_q8conv as q8conv;
pub use super::q8elem::{encode_q8add as q8add, encode_q8mul as q8mul, encode_q8softmax as q8softmax};
pub use super::q8pool::encode_q8pool as q8pool;
pub use super::q8sparse::encode_q8sparse as q8sparse;
pub use super::qconv::encode_qconv as qconv;
pub use super::qgemm::encode_qgemm as qgemm;
pub use super::quant::encode_quant as quant;
pub use super::random::encode_random as random;
pub use super::roi::encode_roi_align as roi_align;
pub use super::sample::{encode_affine_grid as affine_grid, encode_grid_sample as grid_sample};
pub use super::text::{
    encode_concat as string_concat, encode_normalizer as string_normalizer,
    encode_regex_full_match as regex_full_match, encode_split as string_split, encode_tfidf as tfidf,
};
pub use super::text::{
    encode_string_equal as string_equal, encode_string_gather as string_gather, encode_string_lookup as string_lookup,
};
pub use super::unique::encode_unique as unique;
pub use super::unpool::encode_max_unpool as max_unpool;

fn strides(w: &mut WordsOut, s: &[isize]) {
    for &x in s {
        w.i32(x as i32);
    }
}

/// Copy: element offsets, the walked dims and both operands' strides.
pub fn copy(src_off: usize, dst_off: usize, dims: &[usize], src: &[isize], dst: &[isize]) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(src_off).usize(dst_off).usize(dims.len()).usizes(dims);
    strides(&mut w, src);
    strides(&mut w, dst);
    w.0
}

/// Fill with a value's little-endian bits.
pub fn fill(bits: u64) -> Vec<u32> {
    alloc::vec![bits as u32, (bits >> 32) as u32]
}

/// Pad in edge (1) or reflect (2) mode.
pub fn pad(mode: u32, begin: &[isize]) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.u32(mode).usize(begin.len());
    strides(&mut w, begin);
    w.0
}

/// Unary by code ([`super::UnaryCode::of`] or [`super::unary::CLIP`]).
pub fn unary(code: u32, p0: f32, p1: f32) -> Vec<u32> {
    alloc::vec![code, p0.to_bits(), p1.to_bits()]
}

/// Binary over `dims` with the strides of a, b and y.
pub fn binary(code: BinaryCode, dims: &[usize], a: &[isize], b: &[isize], y: &[isize], act: Act) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.u32(code as u32).usize(dims.len()).usizes(dims);
    strides(&mut w, a);
    strides(&mut w, b);
    strides(&mut w, y);
    act.encode(&mut w);
    w.0
}

/// Where over `dims` with the strides of cond, x, y and the output.
pub fn where_(dims: &[usize], s: [&[isize]; 4]) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(dims.len()).usizes(dims);
    for x in s {
        strides(&mut w, x);
    }
    w.0
}

/// Gemm parameters.
#[derive(Clone, Debug)]
pub struct GemmAttrs {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub trans_a: bool,
    pub trans_b: bool,
    pub alpha: f32,
    pub beta: f32,
    pub bias: BiasKind,
    pub batch: Vec<usize>,
    pub a_strides: Vec<usize>,
    pub b_strides: Vec<usize>,
    pub act: Act,
}

pub fn gemm(g: &GemmAttrs) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(g.m).usize(g.n).usize(g.k).bool(g.trans_a).bool(g.trans_b).f32(g.alpha).f32(g.beta).u32(g.bias as u32);
    w.usize(g.batch.len()).usizes(&g.batch).usizes(&g.a_strides).usizes(&g.b_strides);
    g.act.encode(&mut w);
    w.0
}

/// `SparseGemm`: mode 0 (1x1 convolution, NCHW) or 1 (rows, `p` 1), the shape, the column
/// panel width and the fused activation.
pub fn sparse_gemm(rows_mode: bool, batch: usize, m: usize, k: usize, p: usize, chunk: usize, act: Act) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.bool(rows_mode).usize(batch).usize(m).usize(k).usize(p).usize(chunk);
    act.encode(&mut w);
    w.0
}

/// Conv or ConvTranspose geometry (spatial dims only).
pub fn conv(
    group: usize,
    kernel: &[usize],
    strides_: &[usize],
    dilations: &[usize],
    pads_begin: &[isize],
    act: Act,
) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(group).usize(kernel.len()).usizes(kernel).usizes(strides_).usizes(dilations);
    strides(&mut w, pads_begin);
    act.encode(&mut w);
    w.0
}

/// Pooling: kind 0 max, 1 average, 2 Lp.
pub fn pool(
    kind: u32,
    kernel: &[usize],
    strides_: &[usize],
    dilations: &[usize],
    pads_begin: &[isize],
    pads_end: &[isize],
    count_include_pad: bool,
    p: f32,
) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.u32(kind).usize(kernel.len()).usizes(kernel).usizes(strides_).usizes(dilations);
    strides(&mut w, pads_begin);
    strides(&mut w, pads_end);
    w.bool(count_include_pad).f32(p);
    w.0
}

/// Softmax kind 0, log-softmax 1, hardmax 2 over `[outer, len, inner]`.
pub fn softmax(kind: u32, outer: usize, len: usize, inner: usize) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.u32(kind).usize(outer).usize(len).usize(inner);
    w.0
}

/// Reduction over the axes set in `reduced`.
pub fn reduce(kind: Reduction, dims: &[usize], reduced: &[bool]) -> Vec<u32> {
    let code = super::reduce::REDUCTIONS.iter().position(|r| *r == kind).unwrap_or(0);
    let mask = reduced.iter().enumerate().fold(0u32, |m, (d, &r)| m | ((r as u32) << d));
    let mut w = WordsOut::default();
    w.usize(code).usize(dims.len()).usizes(dims).u32(mask);
    w.0
}

/// Per-channel affine over `[outer, channels, inner]`.
pub fn affine(outer: usize, channels: usize, inner: usize, act: Act) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(outer).usize(channels).usize(inner);
    act.encode(&mut w);
    w.0
}

/// One Resize axis pass.
pub fn resize(outer: usize, in_len: usize, out_len: usize, inner: usize, width: usize, fill: f32) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(outer).usize(in_len).usize(out_len).usize(inner).usize(width).f32(fill);
    w.0
}

/// Gather along an axis of `[outer, axis_len, inner]`.
pub fn gather(outer: usize, axis_len: usize, inner: usize) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(outer).usize(axis_len).usize(inner);
    w.0
}

/// LSTM options.
pub fn lstm(dirs: usize, reverse: bool, acts: [RnnAct; 3], clip: Option<f32>, input_forget: bool) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(dirs).bool(reverse);
    for a in acts {
        let (c, p, q) = super::rnn::act_code(a);
        w.u32(c).f32(p).f32(q);
    }
    w.bool(clip.is_some()).f32(clip.unwrap_or(0.0)).bool(input_forget);
    w.0
}

/// ArgMax (`max`) or ArgMin over the middle axis of `[outer, n, inner]`.
pub fn arg_reduce(max: bool, select_last: bool, outer: usize, n: usize, inner: usize) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.bool(max).bool(select_last).usize(outer).usize(n).usize(inner);
    w.0
}

/// `Reorder`: to the channel-blocked layout (`true`) or back.
pub fn reorder(to_blocked: bool) -> Vec<u32> {
    alloc::vec![if to_blocked { 0 } else { 1 }]
}

/// Cast options: none for the defaults (saturate, round up), else `[saturate, round_mode]`
/// (index in [`super::ROUND_MODES`]).
pub fn cast(saturate: bool, round: mote_core::lowp::RoundMode) -> Vec<u32> {
    let code = super::ROUND_MODES.iter().position(|r| *r == round).unwrap_or(0);
    if saturate && code == 0 { Vec::new() } else { alloc::vec![saturate as u32, code as u32] }
}

/// GatherElements along `axis` of data `data_dims`, indices (and y) `idx_dims`.
pub fn gather_elements(axis: usize, data_dims: &[usize], idx_dims: &[usize]) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(axis).usize(data_dims.len()).usizes(data_dims).usizes(idx_dims);
    w.0
}

/// ScatterElements with `reduction` along `axis` of data `data_dims`, indices `idx_dims`.
pub fn scatter_elements(
    reduction: super::ScatterReduction,
    axis: usize,
    data_dims: &[usize],
    idx_dims: &[usize],
) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.u32(reduction as u32).usize(axis).usize(data_dims.len()).usizes(data_dims).usizes(idx_dims);
    w.0
}

/// GatherND with `batch_dims`.
pub fn gather_nd(batch_dims: usize, data_dims: &[usize], idx_dims: &[usize]) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(batch_dims).usize(data_dims.len()).usizes(data_dims).usize(idx_dims.len()).usizes(idx_dims);
    w.0
}

/// ScatterND with `reduction`.
pub fn scatter_nd(reduction: super::ScatterReduction, data_dims: &[usize], idx_dims: &[usize]) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.u32(reduction as u32).usize(data_dims.len()).usizes(data_dims).usize(idx_dims.len()).usizes(idx_dims);
    w.0
}

/// CumSum (`prod` false) or CumProd over the middle axis of `[outer, n, inner]`.
pub fn cumulate(prod: bool, exclusive: bool, reverse: bool, outer: usize, n: usize, inner: usize) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.bool(prod).bool(exclusive).bool(reverse).usize(outer).usize(n).usize(inner);
    w.0
}

/// TopK of `k` over the middle axis of `[outer, n, inner]`.
pub fn topk(largest: bool, outer: usize, n: usize, inner: usize, k: usize) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.bool(largest).usize(outer).usize(n).usize(inner).usize(k);
    w.0
}

/// Attention options (see `ops/attention.rs`).
#[derive(Clone, Copy, Debug)]
pub struct AttentionAttrs {
    /// Query position offset (past sequence length) when no valid KV lengths are given.
    pub past: usize,
    pub causal: bool,
    /// Sliding window bounds (-1 unbounded).
    pub left_window: i32,
    pub right_window: i32,
    /// The square root of the scale of `Q K^T` (applied to Q and K).
    pub sqrt_scale: f32,
    pub softcap: f32,
    /// What the QK output holds: 0 raw, 1 softcapped, 2 plus mask, 3 probabilities.
    pub qk_mode: u8,
    /// The softmax rounded to a lower precision: 0 none, 1 f16, 2 bf16 (written only when set,
    /// so files without it keep their 7 words).
    pub softmax_round: u8,
}

pub fn attention(a: &AttentionAttrs) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(a.past).bool(a.causal).i32(a.left_window).i32(a.right_window);
    w.f32(a.sqrt_scale).f32(a.softcap).u32(a.qk_mode as u32);
    if a.softmax_round != 0 {
        w.u32(a.softmax_round as u32);
    }
    w.0
}

/// RotaryEmbedding over `x` of `b` batches, `s` positions, `h` heads of `d` values
/// (`heads_first`: `[b, h, s, d]`, else `[b, s, h, d]`), rotating the first `rot` values.
pub fn rotary(b: usize, s: usize, h: usize, d: usize, heads_first: bool, rot: usize, interleaved: bool) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(b).usize(s).usize(h).usize(d).bool(heads_first).usize(rot).bool(interleaved);
    w.0
}

/// NegativeLogLikelihoodLoss over `[n, c, d]` (`softmax`: SoftmaxCrossEntropyLoss).
pub fn nll_loss(
    n: usize,
    c: usize,
    d: usize,
    reduction: super::LossReduction,
    softmax: bool,
    ignore_index: Option<i64>,
) -> Vec<u32> {
    let mut w = WordsOut::default();
    let ii = ignore_index.unwrap_or(0) as u64;
    w.usize(n).usize(c).usize(d).u32(reduction as u32).bool(softmax).bool(ignore_index.is_some());
    w.u32(ii as u32).u32((ii >> 32) as u32);
    w.0
}

/// LayerNorm or RmsNorm over the rows of `[rows, cols]`.
pub fn row_norm(rows: usize, cols: usize, eps: f32) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(rows).usize(cols).f32(eps);
    w.0
}

/// InstanceNorm (`groups` None) or GroupNorm over `[batch, channels, plane]`.
pub fn channel_norm(batch: usize, channels: usize, groups: Option<usize>, plane: usize, eps: f32) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(batch).usize(channels);
    if let Some(g) = groups {
        w.usize(g);
    }
    w.usize(plane).f32(eps);
    w.0
}

/// LpNorm (p 1 or 2) along the middle axis of `[outer, len, inner]`.
pub fn lp_norm(p: u8, outer: usize, len: usize, inner: usize) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.u32(p as u32).usize(outer).usize(len).usize(inner);
    w.0
}

/// LRN across the channels of `[batch, channels, plane]`.
#[allow(clippy::too_many_arguments)]
pub fn lrn(batch: usize, channels: usize, plane: usize, size: usize, alpha: f32, beta: f32, bias: f32) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(batch).usize(channels).usize(plane).usize(size).f32(alpha).f32(beta).f32(bias);
    w.0
}

/// GRU (`linear_before_reset` given) or RNN options; `acts` per direction (GRU f, g; RNN f).
pub fn recurrent(
    dirs: usize,
    reverse: bool,
    acts: &[RnnAct],
    clip: Option<f32>,
    linear_before_reset: Option<bool>,
) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(dirs).bool(reverse);
    for &a in acts {
        let (c, p, q) = super::rnn::act_code(a);
        w.u32(c).f32(p).f32(q);
    }
    w.bool(clip.is_some()).f32(clip.unwrap_or(0.0));
    if let Some(l) = linear_before_reset {
        w.bool(l);
    }
    w.0
}

/// MaxPool with indices: the window (spatial dims only) and the index order.
pub fn max_pool_indices(
    kernel: &[usize],
    strides_: &[usize],
    dilations: &[usize],
    pads_begin: &[isize],
    pads_end: &[isize],
    col_major: bool,
) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(kernel.len()).usizes(kernel).usizes(strides_).usizes(dilations);
    strides(&mut w, pads_begin);
    strides(&mut w, pads_end);
    w.bool(col_major);
    w.0
}

/// LinearAttention (see `ops/linear_attention.rs`): `dims = [b, t, hq, hk, dk, dv]`; `decay` 0
/// (none), 1 (per head) or 2 (per key); `beta` 0 (none), 1 (one per step) or 2 (per head).
pub fn linear_attention(dims: [usize; 6], decay: u32, beta: u32, scale: f32) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usizes(&dims).u32(decay).u32(beta).f32(scale);
    w.0
}

/// CausalConvWithState over `[b, c, l]` with kernel size `k` (see `ops/causal_conv.rs`).
pub fn causal_conv(b: usize, c: usize, l: usize, k: usize, silu: bool) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usizes(&[b, c, l, k]).bool(silu);
    w.0
}

/// DFT along the middle axis of `[outer, len, inner, ch]` with length `n` (see `ops/signal.rs`).
pub fn dft(outer: usize, len: usize, inner: usize, ch: usize, n: usize, onesided: bool, inverse: bool) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usizes(&[outer, len, inner, ch, n]).bool(onesided).bool(inverse);
    w.0
}

/// STFT of `[batch, len, ch]` in frames of `fl` every `step` samples (see `ops/signal.rs`).
pub fn stft(batch: usize, len: usize, ch: usize, step: usize, fl: usize, onesided: bool) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usizes(&[batch, len, ch, step, fl]).bool(onesided);
    w.0
}

/// `LinearModel`: a classifier or regressor of `e` score rows over `c` features, `n` rows;
/// `post` is the post-transform code (`ml::post::Post`).
pub fn linear_model(classifier: bool, post: u32, n: usize, c: usize, e: usize) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.bool(classifier).u32(post).usize(n).usize(c).usize(e);
    w.0
}

/// `Normalizer` (`norm` 0 max, 1 l1, 2 l2) of `n` rows of `c`.
pub fn normalizer(norm: u32, n: usize, c: usize) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.u32(norm).usize(n).usize(c);
    w.0
}

/// `TreeEnsemble` over `n` rows of `c` features with `k` targets (flags: `ml::tree`).
#[allow(clippy::too_many_arguments)]
pub fn tree_ensemble(
    n: usize,
    c: usize,
    k: usize,
    aggregate: u32,
    post: u32,
    flags: u32,
    binary_class: usize,
) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.usize(n).usize(c).usize(k).u32(aggregate).u32(post).u32(flags).usize(binary_class);
    w.0
}

/// `Lookup`; a miss is a data error when `strict`.
pub fn lookup(strict: bool) -> Vec<u32> {
    alloc::vec![strict as u32]
}

/// `Svm` (see `ml::svm` for the words).
#[allow(clippy::too_many_arguments)]
pub fn svm(
    classifier: bool,
    kernel: u32,
    gamma: f32,
    coef0: f32,
    degree: i32,
    post: u32,
    flags: u32,
    n: usize,
    f: usize,
    nv: usize,
    counts: &[usize],
) -> Vec<u32> {
    let mut w = WordsOut::default();
    w.bool(classifier).u32(kernel).f32(gamma).f32(coef0).i32(degree).u32(post).u32(flags);
    w.usize(n).usize(f).usize(nv).usize(counts.len()).usizes(counts);
    w.0
}
