//! The runtime's steps: for each op code, its parameters decoded from the attribute words (with
//! every shape and dtype checked against the step's tensors), its scratch need, and its kernel.
//!
//! Decoding is done once per step at load to validate, and again (cheaply, no allocation) before
//! each run of the step; nothing here allocates.

mod act;
mod affine;
mod arg;
mod argpool;
mod attention;
mod binary;
mod blocked;
mod branch;
mod cast;
mod causal_conv;
mod col2im;
mod conv;
mod copy;
mod deform;
mod det;
mod dynamic_quant;
pub mod elem_order;
mod gather;
mod gemm;
mod index;
mod linear_attention;
mod loss;
mod mel;
pub mod ml;
mod nms;
mod nonzero;
mod norm;
mod pool;
mod q8conv;
mod q8elem;
mod q8pool;
mod q8sparse;
mod qconv;
mod qgemm;
mod quant;
mod random;
mod recurrent;
mod reduce;
mod resize;
mod rnn;
mod roi;
mod rotary;
mod sample;
mod scalar;
mod scan;
mod signal;
mod softmax;
mod sparse_gemm;
mod strided;
pub mod text;
mod unary;
mod unique;
mod unpool;
mod where_;

pub use act::{Act, ActCode};
pub use binary::BinaryCode;
pub use cast::ROUND_MODES;
pub use conv::{Geometry as ConvGeometry, fast_geometry, fast_transpose_geometry};
pub use gemm::{BiasKind, MAX_BATCH_RANK as MAX_GEMM_BATCH_RANK};
pub use index::ScatterReduction;
pub use loss::LossReduction;
pub use q8pool::Q8PoolKind;
pub use qgemm::{EpilogueAttrs, MAX_QGEMM_BATCH_RANK, Mode as QMode, Per};
pub use rnn::MAX_BATCH as MAX_LSTM_BATCH;
pub use roi::MAX_SAMPLING_RATIO as ROI_MAX_SAMPLING_RATIO;
pub use unary::{CLIP, UnaryCode};

#[cfg(feature = "alloc")]
pub mod encode;

use mote_core::DType;
use mote_format::{Model, OpCode, StepRef, Storage, TensorRef, Tensors};
use mote_kernels::fast::{Cpu, Parallel};

use crate::error::StepFault;
use crate::mem::Mem;

/// Most inputs or outputs a step may have.
pub const MAX_IO: usize = 12;
/// Largest rank of strided views (copies and broadcasts may split dims).
pub const MAX_VIEW_RANK: usize = 16;

/// A step's tensors: their ids, resolved from the model's records when asked (so a decoded
/// step costs a few words, not a record per tensor: a microcontroller's stack holds it).
#[derive(Clone, Copy, Debug)]
pub struct Io<'a> {
    tensors: Tensors<'a>,
    step: StepRef<'a>,
    /// The inputs' then the outputs' records, when resolved beforehand ([`Io::resolve`]: a
    /// host keeps them per step); empty: read from the file's records when asked.
    resolved: &'a [Option<TensorRef<'a>>],
}

impl<'a> Io<'a> {
    /// Checks the counts (at most [`MAX_IO`] each) and that every output names a tensor.
    pub fn new(model: &Model<'a>, step: &StepRef<'a>) -> Result<Io<'a>, StepFault> {
        let io = Io { tensors: model.tensors(), step: *step, resolved: &[] };
        if step.n_inputs() > MAX_IO || step.n_outputs() > MAX_IO {
            return Err(StepFault::Arity);
        }
        for i in 0..step.n_outputs() {
            io.output(i)?;
        }
        Ok(io)
    }

    /// Checks the counts: between `min_in` and `max_in` inputs, exactly `n_out` outputs.
    pub fn arity(&self, min_in: usize, max_in: usize, n_out: usize) -> Result<(), StepFault> {
        let n_in = self.step.n_inputs();
        if n_in < min_in || n_in > max_in || self.step.n_outputs() != n_out {
            return Err(StepFault::Arity);
        }
        (0..min_in).try_for_each(|i| self.input(i).map(|_| ()))
    }

    pub fn n_inputs(&self) -> usize {
        self.step.n_inputs()
    }

    pub fn n_outputs(&self) -> usize {
        self.step.n_outputs()
    }

    pub fn input(&self, i: usize) -> Result<TensorRef<'a>, StepFault> {
        self.opt(i).ok_or(StepFault::Arity)
    }

    /// Input `i`, `None` when omitted (an optional input) or past the end.
    pub fn opt(&self, i: usize) -> Option<TensorRef<'a>> {
        if !self.resolved.is_empty() {
            return if i < self.n_inputs() { self.resolved.get(i).copied().flatten() } else { None };
        }
        self.step.input(i).and_then(|t| self.tensors.get(t))
    }

    pub fn output(&self, i: usize) -> Result<TensorRef<'a>, StepFault> {
        let t = if self.resolved.is_empty() {
            self.step.output(i).and_then(|t| self.tensors.get(t))
        } else {
            self.resolved.get(self.n_inputs() + i).copied().flatten().filter(|_| i < self.n_outputs())
        };
        t.ok_or(StepFault::Arity)
    }

    /// Every input's then every output's record, resolved (for [`Io::with_resolved`]).
    #[cfg(feature = "alloc")]
    pub fn resolve(&self) -> alloc::vec::Vec<Option<TensorRef<'a>>> {
        let outs = (0..self.n_outputs()).map(|i| self.output(i).ok());
        (0..self.n_inputs()).map(|i| self.opt(i)).chain(outs).collect()
    }

    /// This step's tensors read from `resolved` ([`Io::resolve`]) instead of the file's records.
    pub fn with_resolved<'r>(&self, resolved: &'r [Option<TensorRef<'r>>]) -> Io<'r>
    where
        'a: 'r,
    {
        Io { tensors: self.tensors, step: self.step, resolved }
    }

    /// The inputs present, with their positions.
    pub fn inputs(&self) -> impl Iterator<Item = (usize, TensorRef<'a>)> + '_ {
        (0..self.step.n_inputs()).filter_map(|i| self.opt(i).map(|t| (i, t)))
    }

    pub fn outputs(&self) -> impl Iterator<Item = TensorRef<'a>> + '_ {
        (0..self.step.n_outputs()).filter_map(|i| self.output(i).ok())
    }
}

/// Requires `t` to be of dtype `d`.
pub fn want(t: &TensorRef<'_>, d: DType) -> Result<(), StepFault> {
    if t.dtype == d { Ok(()) } else { Err(StepFault::DType) }
}

/// Requires a plain (not packed) layout and `numel` elements.
pub fn want_numel(t: &TensorRef<'_>, numel: usize) -> Result<(), StepFault> {
    if t.layout == mote_format::Layout::Plain && t.numel() == numel { Ok(()) } else { Err(StepFault::Shape) }
}

/// `dims` as usizes.
pub fn dims(t: &TensorRef<'_>) -> ([usize; mote_format::MAX_RANK], usize) {
    (t.shape(), t.rank)
}

/// A product of sizes that fails instead of overflowing.
pub fn product(xs: &[usize]) -> Result<usize, StepFault> {
    xs.iter().try_fold(1usize, |a, &x| a.checked_mul(x)).ok_or(StepFault::Shape)
}

/// Why a step failed while running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunFault {
    /// A data-dependent check failed (an index out of range, a malformed string).
    Data(&'static str),
    /// The strings written to output `output` do not fit its pool (`mote_format::strings`).
    StringCapacity { output: usize },
}

impl From<StepFault> for RunFault {
    /// Operands that were validated at load (unreachable in practice).
    fn from(_: StepFault) -> RunFault {
        RunFault::Data("the step's operands do not decode")
    }
}

/// A compile-time set of ops: the kernels a build keeps (like TFLite Micro's op resolver, but
/// resolved by the compiler). Dispatch is guarded by constants of the set, so the decoders and
/// kernels of other ops are dead code the linker drops; a model using another op is refused at
/// load ([`StepFault::NotInOpSet`]).
pub trait OpSet {
    /// Bit `c` set: op code `c` is in the set (see [`mask_of`]); all ones: every op.
    const MASK: u128;
}

/// The set of every op (the default: a build that runs any model).
#[derive(Clone, Copy, Debug)]
pub struct AllOps;

impl OpSet for AllOps {
    const MASK: u128 = u128::MAX;
}

/// The bit of `op` in an [`OpSet::MASK`] (0 for a code of 128 or more, which a set cannot name).
pub const fn op_bit(op: OpCode) -> u128 {
    let code = op as u16;
    if code < 128 { 1 << code } else { 0 }
}

/// The mask of a list of ops, for an [`OpSet`] implementation.
pub const fn mask_of(ops: &[OpCode]) -> u128 {
    let mut mask = 0;
    let mut i = 0;
    while i < ops.len() {
        mask |= op_bit(ops[i]);
        i += 1;
    }
    mask
}

/// Whether `mask` holds `op` (all ones holds every op, whatever its code).
pub const fn contains(mask: u128, op: OpCode) -> bool {
    mask == u128::MAX || mask & op_bit(op) != 0
}

/// The string steps' ops (one variant, [`Step::Text`]).
pub const TEXT_OPS: u128 = mask_of(&[
    OpCode::StringConcat,
    OpCode::StringSplit,
    OpCode::StringNormalizer,
    OpCode::RegexFullMatch,
    OpCode::TfIdfVectorizer,
    OpCode::StringEqual,
    OpCode::StringLookup,
    OpCode::StringGather,
]);

/// In a function generic over `S: OpSet`: whether `S` holds any of these ops, as a constant
/// (so a `false` guard removes its arm and the code only it reaches).
macro_rules! on {
    (mask $m:expr) => {
        const { S::MASK == u128::MAX || S::MASK & $m != 0 }
    };
    ($($op:ident),+) => {
        const { S::MASK == u128::MAX || S::MASK & (0 $(| op_bit(OpCode::$op))+) != 0 }
    };
}

/// A decoded step.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    Copy(copy::Copy),
    Fill(copy::Fill),
    Unary(unary::Unary),
    Binary(binary::Binary),
    Where(where_::Where),
    Cast(cast::Cast),
    Gemm(gemm::Gemm),
    Conv(conv::Conv),
    ConvTranspose(conv::ConvTranspose),
    Pool(pool::Pool),
    Softmax(softmax::Softmax),
    Reduce(reduce::Reduce),
    Affine(affine::Affine),
    Resize(resize::Resize),
    Gather(gather::Gather),
    Pad(copy::Pad),
    Lstm(rnn::Lstm),
    Quantize(quant::Quantize),
    Dequantize(quant::Dequantize),
    ArgReduce(arg::ArgReduce),
    ConvBlocked(blocked::ConvBlocked),
    Reorder(blocked::Reorder),
    GatherElements(index::GatherElements),
    GatherNd(index::GatherNd),
    Scatter(index::Scatter),
    Cumulate(scan::Cumulate),
    TopK(scan::TopK),
    Attention(attention::Attention),
    Recurrent(recurrent::Recurrent),
    Rotary(rotary::Rotary),
    NllLoss(loss::NllLoss),
    RowNorm(norm::RowNorm),
    ChannelNorm(norm::ChannelNorm),
    LpNorm(norm::LpNorm),
    Lrn(norm::Lrn),
    MaxPoolIndices(argpool::MaxPoolIndices),
    LinearAttention(linear_attention::LinearAttention),
    CausalConv(causal_conv::CausalConv),
    Dft(signal::Dft),
    Stft(signal::Stft),
    Linear(ml::linear::Linear),
    Normalizer(ml::linear::Normalizer),
    Tree(ml::tree::Tree),
    Lookup(ml::lookup::Lookup),
    Svm(ml::svm::Svm),
    GridSample(sample::GridSample),
    AffineGrid(sample::AffineGrid),
    RoiAlign(roi::RoiAlign),
    DeformConv(deform::DeformConv),
    Col2Im(col2im::Col2Im),
    MaxUnpool(unpool::MaxUnpool),
    Det(det::Det),
    Nms(nms::Nms),
    Random(random::Random),
    Mel(mel::Mel),
    NonZero(nonzero::NonZero),
    Unique(unique::Unique),
    /// `Branch` / `Jump`: run-time control flow (handled by the step loop).
    Skip(branch::Skip),
    Text(text::Text),
    QGemm(qgemm::QGemm),
    QConv(qconv::QConv),
    DynamicQuantize(dynamic_quant::DynamicQuantize),
    Q8Conv(q8conv::Q8Conv),
    Q8Sparse(q8sparse::Q8Sparse),
    Q8Binary(q8elem::Q8Binary),
    Q8Softmax(q8elem::Q8Softmax),
    Q8Lut(q8elem::Q8Lut),
    Q8Pool(q8pool::Q8Pool),
    SparseGemm(sparse_gemm::SparseGemm),
}

impl Step {
    /// Decodes and validates `step` against its tensors.
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Step, StepFault> {
        Step::decode_in::<AllOps>(step, io)
    }

    /// [`Step::decode`] in a build that has the kernels of the op set `S` only: another op is
    /// refused, and the other ops' decoders and kernels are dead code.
    pub fn decode_in<S: OpSet>(step: &StepRef<'_>, io: &Io<'_>) -> Result<Step, StepFault> {
        if !contains(S::MASK, step.op) {
            return Err(StepFault::NotInOpSet(step.op));
        }
        // String tensors (format 1.3) are read and written only by the string steps.
        let strings = io.inputs().map(|(_, t)| t).chain(io.outputs()).any(|t| t.dtype == DType::String);
        if strings && !text::Text::is_text(step.op) {
            return Err(StepFault::DType);
        }
        Ok(match step.op {
            OpCode::Copy if on!(Copy) => Step::Copy(copy::Copy::decode(step, io)?),
            OpCode::Fill if on!(Fill) => Step::Fill(copy::Fill::decode(step, io)?),
            OpCode::Unary if on!(Unary) => Step::Unary(unary::Unary::decode(step, io)?),
            OpCode::Binary if on!(Binary) => Step::Binary(binary::Binary::decode(step, io)?),
            OpCode::Where if on!(Where) => Step::Where(where_::Where::decode(step, io)?),
            OpCode::Cast if on!(Cast) => Step::Cast(cast::Cast::decode(step, io)?),
            OpCode::Gemm if on!(Gemm) => Step::Gemm(gemm::Gemm::decode(step, io)?),
            OpCode::Conv if on!(Conv) => Step::Conv(conv::Conv::decode(step, io)?),
            OpCode::ConvTranspose if on!(ConvTranspose) => Step::ConvTranspose(conv::ConvTranspose::decode(step, io)?),
            OpCode::Pool if on!(Pool) => Step::Pool(pool::Pool::decode(step, io)?),
            OpCode::Softmax if on!(Softmax) => Step::Softmax(softmax::Softmax::decode(step, io)?),
            OpCode::Reduce if on!(Reduce) => Step::Reduce(reduce::Reduce::decode(step, io)?),
            OpCode::BatchNorm if on!(BatchNorm) => Step::Affine(affine::Affine::decode(step, io)?),
            OpCode::Resize if on!(Resize) => Step::Resize(resize::Resize::decode(step, io)?),
            OpCode::Gather if on!(Gather) => Step::Gather(gather::Gather::decode(step, io)?),
            OpCode::Pad if on!(Pad) => Step::Pad(copy::Pad::decode(step, io)?),
            OpCode::Lstm if on!(Lstm) => Step::Lstm(rnn::Lstm::decode(step, io)?),
            OpCode::Quantize if on!(Quantize) => Step::Quantize(quant::Quantize::decode(step, io)?),
            OpCode::Dequantize if on!(Dequantize) => Step::Dequantize(quant::Dequantize::decode(step, io)?),
            OpCode::ArgReduce if on!(ArgReduce) => Step::ArgReduce(arg::ArgReduce::decode(step, io)?),
            OpCode::ConvBlocked if on!(ConvBlocked) => Step::ConvBlocked(blocked::ConvBlocked::decode(step, io)?),
            OpCode::Reorder if on!(Reorder) => Step::Reorder(blocked::Reorder::decode(step, io)?),
            OpCode::GatherElements if on!(GatherElements) => {
                Step::GatherElements(index::GatherElements::decode(step, io)?)
            }
            OpCode::GatherNd if on!(GatherNd) => Step::GatherNd(index::GatherNd::decode(step, io)?),
            OpCode::ScatterElements if on!(ScatterElements) => Step::Scatter(index::Scatter::decode(step, io, false)?),
            OpCode::ScatterNd if on!(ScatterNd) => Step::Scatter(index::Scatter::decode(step, io, true)?),
            OpCode::Cumulate if on!(Cumulate) => Step::Cumulate(scan::Cumulate::decode(step, io)?),
            OpCode::TopK if on!(TopK) => Step::TopK(scan::TopK::decode(step, io)?),
            OpCode::Attention if on!(Attention) => Step::Attention(attention::Attention::decode(step, io)?),
            OpCode::Gru | OpCode::Rnn if on!(Gru, Rnn) => Step::Recurrent(recurrent::Recurrent::decode(step, io)?),
            OpCode::RotaryEmbedding if on!(RotaryEmbedding) => Step::Rotary(rotary::Rotary::decode(step, io)?),
            OpCode::NllLoss if on!(NllLoss) => Step::NllLoss(loss::NllLoss::decode(step, io)?),
            OpCode::LayerNorm | OpCode::RmsNorm if on!(LayerNorm, RmsNorm) => {
                Step::RowNorm(norm::RowNorm::decode(step, io)?)
            }
            OpCode::InstanceNorm | OpCode::GroupNorm if on!(InstanceNorm, GroupNorm) => {
                Step::ChannelNorm(norm::ChannelNorm::decode(step, io)?)
            }
            OpCode::LpNorm if on!(LpNorm) => Step::LpNorm(norm::LpNorm::decode(step, io)?),
            OpCode::Lrn if on!(Lrn) => Step::Lrn(norm::Lrn::decode(step, io)?),
            OpCode::MaxPoolIndices if on!(MaxPoolIndices) => {
                Step::MaxPoolIndices(argpool::MaxPoolIndices::decode(step, io)?)
            }
            OpCode::LinearAttention if on!(LinearAttention) => {
                Step::LinearAttention(linear_attention::LinearAttention::decode(step, io)?)
            }
            OpCode::CausalConvWithState if on!(CausalConvWithState) => {
                Step::CausalConv(causal_conv::CausalConv::decode(step, io)?)
            }
            OpCode::Dft if on!(Dft) => Step::Dft(signal::Dft::decode(step, io)?),
            OpCode::Stft if on!(Stft) => Step::Stft(signal::Stft::decode(step, io)?),
            OpCode::LinearModel if on!(LinearModel) => Step::Linear(ml::linear::Linear::decode(step, io)?),
            OpCode::Normalizer if on!(Normalizer) => Step::Normalizer(ml::linear::Normalizer::decode(step, io)?),
            OpCode::TreeEnsemble if on!(TreeEnsemble) => Step::Tree(ml::tree::Tree::decode(step, io)?),
            OpCode::Lookup if on!(Lookup) => Step::Lookup(ml::lookup::Lookup::decode(step, io)?),
            OpCode::Svm if on!(Svm) => Step::Svm(ml::svm::Svm::decode(step, io)?),
            OpCode::GridSample if on!(GridSample) => Step::GridSample(sample::GridSample::decode(step, io)?),
            OpCode::AffineGrid if on!(AffineGrid) => Step::AffineGrid(sample::AffineGrid::decode(step, io)?),
            OpCode::RoiAlign if on!(RoiAlign) => Step::RoiAlign(roi::RoiAlign::decode(step, io)?),
            OpCode::DeformConv if on!(DeformConv) => Step::DeformConv(deform::DeformConv::decode(step, io)?),
            OpCode::Col2Im if on!(Col2Im) => Step::Col2Im(col2im::Col2Im::decode(step, io)?),
            OpCode::MaxUnpool if on!(MaxUnpool) => Step::MaxUnpool(unpool::MaxUnpool::decode(step, io)?),
            OpCode::Det if on!(Det) => Step::Det(det::Det::decode(step, io)?),
            OpCode::NonMaxSuppression if on!(NonMaxSuppression) => Step::Nms(nms::Nms::decode(step, io)?),
            OpCode::Random if on!(Random) => Step::Random(random::Random::decode(step, io)?),
            OpCode::MelWeightMatrix if on!(MelWeightMatrix) => Step::Mel(mel::Mel::decode(step, io)?),
            OpCode::NonZero if on!(NonZero) => Step::NonZero(nonzero::NonZero::decode(step, io)?),
            OpCode::Unique if on!(Unique) => Step::Unique(unique::Unique::decode(step, io)?),
            OpCode::Branch | OpCode::Jump if on!(Branch, Jump) => Step::Skip(branch::Skip::decode(step, io)?),
            op if on!(mask TEXT_OPS) && text::Text::is_text(op) => Step::Text(text::Text::decode(step, io)?),
            OpCode::QGemm if on!(QGemm) => Step::QGemm(qgemm::QGemm::decode(step, io)?),
            OpCode::QConv if on!(QConv) => Step::QConv(qconv::QConv::decode(step, io)?),
            OpCode::Q8Conv if on!(Q8Conv) => Step::Q8Conv(q8conv::Q8Conv::decode(step, io)?),
            OpCode::Q8Sparse if on!(Q8Sparse) => Step::Q8Sparse(q8sparse::Q8Sparse::decode(step, io)?),
            OpCode::Q8Binary if on!(Q8Binary) => Step::Q8Binary(q8elem::Q8Binary::decode(step, io)?),
            OpCode::Q8Softmax if on!(Q8Softmax) => Step::Q8Softmax(q8elem::Q8Softmax::decode(step, io)?),
            OpCode::Q8Lut if on!(Q8Lut) => Step::Q8Lut(q8elem::Q8Lut::decode(step, io)?),
            OpCode::Q8Pool if on!(Q8Pool) => Step::Q8Pool(q8pool::Q8Pool::decode(step, io)?),
            OpCode::SparseGemm if on!(SparseGemm) => Step::SparseGemm(sparse_gemm::SparseGemm::decode(step, io)?),
            OpCode::DynamicQuantize if on!(DynamicQuantize) => {
                Step::DynamicQuantize(dynamic_quant::DynamicQuantize::decode(step, io)?)
            }
            // Every code has a kernel in this build; kept for codes added before their kernel.
            #[allow(unreachable_patterns)]
            _ => return Err(StepFault::UnsupportedOp),
        })
    }

    /// Checks constant tables the kernel trusts (once, at load): Resize index tables and tree
    /// ensemble structure, sparse weight indices.
    pub fn check_constants(&self, model: &Model<'_>, io: &Io<'_>) -> Result<(), StepFault> {
        self.check_constants_in::<AllOps>(model, io)
    }

    /// [`Step::check_constants`] in a build with the op set `S`.
    pub fn check_constants_in<S: OpSet>(&self, model: &Model<'_>, io: &Io<'_>) -> Result<(), StepFault> {
        match self {
            Step::Resize(r) if on!(Resize) => match io.input(1).ok().and_then(|t| model.weight_bytes(&t)) {
                Some(bytes) => r.check_indices(bytes),
                None => Ok(()),
            },
            Step::Tree(t) if on!(TreeEnsemble) => t.check_tables(model, io),
            Step::Text(t) if on!(mask TEXT_OPS) => t.check_constants(model, io),
            Step::SparseGemm(s) if on!(SparseGemm) => s.check_index(model, io),
            Step::Q8Sparse(s) if on!(Q8Sparse) => s.check_index(model, io),
            _ => Ok(()),
        }
    }

    /// Scratch bytes the step needs (from the plan's scratch region).
    /// The fewest scratch bytes the step runs in (a step given more than this and up to
    /// [`Step::scratch_bytes`] uses it to go faster, with the same result).
    pub fn scratch_min_bytes(&self) -> usize {
        self.scratch_min_bytes_in::<AllOps>()
    }

    /// [`Step::scratch_min_bytes`] in a build with the op set `S`.
    pub fn scratch_min_bytes_in<S: OpSet>(&self) -> usize {
        match self {
            Step::Q8Conv(q) if on!(Q8Conv) => q.scratch_min_bytes(),
            s => s.scratch_bytes_in::<S>(),
        }
    }

    pub fn scratch_bytes(&self) -> usize {
        self.scratch_bytes_in::<AllOps>()
    }

    /// [`Step::scratch_bytes`] in a build with the op set `S`.
    pub fn scratch_bytes_in<S: OpSet>(&self) -> usize {
        match self {
            Step::Gemm(g) if on!(Gemm) => g.scratch_bytes(),
            Step::Conv(c) if on!(Conv) => c.scratch_bytes(),
            Step::ConvBlocked(c) if on!(ConvBlocked) => c.scratch_bytes(),
            Step::ConvTranspose(c) if on!(ConvTranspose) => c.scratch_bytes(),
            Step::Reduce(r) if on!(Reduce) => r.scratch_bytes(),
            Step::Pool(p) if on!(Pool) => p.scratch_bytes(),
            Step::Lstm(l) if on!(Lstm) => l.scratch_bytes(),
            Step::TopK(t) if on!(TopK) => t.scratch_bytes(),
            Step::Attention(a) if on!(Attention) => a.scratch_bytes(),
            Step::Recurrent(r) if on!(Gru, Rnn) => r.scratch_bytes(),
            Step::LinearAttention(a) if on!(LinearAttention) => a.scratch_bytes(),
            Step::CausalConv(c) if on!(CausalConvWithState) => c.scratch_bytes(),
            Step::Dft(d) if on!(Dft) => d.scratch_bytes(),
            Step::Stft(s) if on!(Stft) => s.scratch_bytes(),
            Step::Tree(t) if on!(TreeEnsemble) => t.scratch_bytes(),
            Step::Svm(s) if on!(Svm) => s.scratch_bytes(),
            Step::Det(d) if on!(Det) => d.scratch_bytes(),
            Step::Nms(s) if on!(NonMaxSuppression) => s.scratch_bytes(),
            Step::QGemm(q) if on!(QGemm) => q.scratch_bytes(),
            Step::QConv(q) if on!(QConv) => q.scratch_bytes(),
            Step::Q8Conv(q) if on!(Q8Conv) => q.scratch_bytes(),
            Step::Q8Sparse(q) if on!(Q8Sparse) => q.scratch_bytes(),
            Step::SparseGemm(s) if on!(SparseGemm) => s.scratch_bytes(),
            Step::Unique(s) if on!(Unique) => s.scratch_bytes(),
            _ => 0,
        }
    }

    /// For `Branch` / `Jump`: the most steps it skips (checked against the step count at load).
    pub fn skip_span(&self) -> Option<usize> {
        match self {
            Step::Skip(s) => Some(s.span()),
            _ => None,
        }
    }

    /// The steps to skip after this one in this run (0 for every step but `Branch` / `Jump`).
    pub fn skip(&self, mem: &Mem<'_>, io: &Io<'_>) -> usize {
        match self {
            Step::Skip(s) => s.skip(mem, io),
            _ => 0,
        }
    }

    /// Whether input 0 may be the very same bytes as output 0 (the kernel then works in place).
    pub fn in_place(&self) -> bool {
        match self {
            Step::Unary(_) | Step::Affine(_) => true,
            Step::Binary(b) => b.a_is_dense(),
            _ => false,
        }
    }

    /// Multiply-accumulates (for the profiler; pooling counts one per window tap, so hosts that
    /// bound the work of untrusted files see it).
    pub fn macs(&self) -> u64 {
        match self {
            Step::Pool(p) => p.taps(),
            Step::MaxPoolIndices(p) => p.taps(),
            Step::Gemm(g) => g.macs(),
            Step::Conv(c) => c.macs(),
            Step::ConvBlocked(c) => c.macs(),
            Step::ConvTranspose(c) => c.macs(),
            Step::Lstm(l) => l.macs(),
            Step::Attention(a) => a.macs(),
            Step::Recurrent(r) => r.macs(),
            Step::LinearAttention(a) => a.macs(),
            Step::CausalConv(c) => c.macs(),
            Step::Dft(d) => d.macs(),
            Step::Stft(s) => s.macs(),
            Step::Linear(l) => l.macs(),
            Step::Svm(s) => s.macs(),
            Step::DeformConv(d) => d.macs(),
            Step::QGemm(q) => q.macs(),
            Step::QConv(q) => q.macs(),
            Step::Q8Conv(q) => q.macs(),
            Step::Q8Sparse(q) => q.macs(),
            Step::Q8Pool(q) => q.taps(),
            Step::SparseGemm(s) => s.macs(),
            _ => 0,
        }
    }

    /// Runs the step. `scratch` is the plan's scratch region; the heavy ops split their work
    /// into tasks on `par` (each other thread with its own scratch of the same size).
    pub fn run(
        &self,
        mem: &Mem<'_>,
        io: &Io<'_>,
        scratch: &mut [f32],
        cpu: Cpu,
        par: &dyn Parallel,
    ) -> Result<(), RunFault> {
        self.run_in::<AllOps>(mem, io, scratch, cpu, par)
    }

    /// [`Step::run`] in a build with the op set `S`.
    pub fn run_in<S: OpSet>(
        &self,
        mem: &Mem<'_>,
        io: &Io<'_>,
        scratch: &mut [f32],
        cpu: Cpu,
        par: &dyn Parallel,
    ) -> Result<(), RunFault> {
        match self {
            Step::Text(s) if on!(mask TEXT_OPS) => s.run(mem, io),
            _ => self.run_tensor::<S>(mem, io, scratch, cpu, par).map_err(RunFault::Data),
        }
    }

    /// [`Step::run`] for the steps over numeric tensors.
    fn run_tensor<S: OpSet>(
        &self,
        mem: &Mem<'_>,
        io: &Io<'_>,
        scratch: &mut [f32],
        cpu: Cpu,
        par: &dyn Parallel,
    ) -> Result<(), &'static str> {
        match self {
            Step::Text(_) => return Err("string steps run through Step::run"),
            Step::Copy(s) if on!(Copy) => s.run(mem, io),
            Step::Fill(s) if on!(Fill) => s.run(mem, io),
            Step::Unary(s) if on!(Unary) => s.run(mem, io),
            Step::Binary(s) if on!(Binary) => return s.run(mem, io, cpu, par),
            Step::Where(s) if on!(Where) => s.run(mem, io),
            Step::Cast(s) if on!(Cast) => s.run(mem, io),
            Step::Gemm(s) if on!(Gemm) => s.run(mem, io, scratch, cpu, par),
            Step::Conv(s) if on!(Conv) => s.run(mem, io, scratch, cpu, par),
            Step::ConvTranspose(s) if on!(ConvTranspose) => s.run(mem, io, scratch, cpu, par),
            Step::Pool(s) if on!(Pool) => s.run(mem, io, scratch, cpu, par),
            Step::Softmax(s) if on!(Softmax) => s.run(mem, io, cpu),
            Step::Reduce(s) if on!(Reduce) => s.run(mem, io, scratch, cpu),
            Step::Affine(s) if on!(BatchNorm) => s.run(mem, io),
            Step::Resize(s) if on!(Resize) => return s.run(mem, io, par),
            Step::Gather(s) if on!(Gather) => return s.run(mem, io),
            Step::GatherElements(s) if on!(GatherElements) => return s.run(mem, io),
            Step::GatherNd(s) if on!(GatherNd) => return s.run(mem, io),
            Step::Scatter(s) if on!(ScatterElements, ScatterNd) => return s.run(mem, io),
            Step::Cumulate(s) if on!(Cumulate) => s.run(mem, io),
            Step::TopK(s) if on!(TopK) => s.run(mem, io, scratch),
            Step::Pad(s) if on!(Pad) => s.run(mem, io),
            Step::Lstm(s) if on!(Lstm) => return s.run(mem, io, scratch, cpu),
            Step::Quantize(s) if on!(Quantize) => s.run(mem, io),
            Step::Dequantize(s) if on!(Dequantize) => s.run(mem, io),
            Step::ArgReduce(s) if on!(ArgReduce) => s.run(mem, io),
            Step::ConvBlocked(s) if on!(ConvBlocked) => s.run(mem, io, scratch, cpu, par),
            Step::Reorder(s) if on!(Reorder) => s.run(mem, io),
            Step::Attention(s) if on!(Attention) => return s.run(mem, io, scratch),
            Step::Recurrent(s) if on!(Gru, Rnn) => return s.run(mem, io, scratch, cpu),
            Step::Rotary(s) if on!(RotaryEmbedding) => return s.run(mem, io),
            Step::NllLoss(s) if on!(NllLoss) => return s.run(mem, io),
            Step::RowNorm(s) if on!(LayerNorm, RmsNorm) => s.run(mem, io, cpu),
            Step::ChannelNorm(s) if on!(InstanceNorm, GroupNorm) => s.run(mem, io),
            Step::LpNorm(s) if on!(LpNorm) => s.run(mem, io),
            Step::Lrn(s) if on!(Lrn) => s.run(mem, io),
            Step::MaxPoolIndices(s) if on!(MaxPoolIndices) => s.run(mem, io),
            Step::LinearAttention(s) if on!(LinearAttention) => s.run(mem, io, scratch),
            Step::CausalConv(s) if on!(CausalConvWithState) => s.run(mem, io, scratch),
            Step::Dft(s) if on!(Dft) => s.run(mem, io, scratch),
            Step::Stft(s) if on!(Stft) => s.run(mem, io, scratch),
            Step::Linear(s) if on!(LinearModel) => s.run(mem, io),
            Step::Normalizer(s) if on!(Normalizer) => s.run(mem, io),
            Step::Tree(s) if on!(TreeEnsemble) => s.run(mem, io, scratch),
            Step::Lookup(s) if on!(Lookup) => return s.run(mem, io),
            Step::Svm(s) if on!(Svm) => s.run(mem, io, scratch),
            Step::GridSample(s) if on!(GridSample) => s.run(mem, io),
            Step::AffineGrid(s) if on!(AffineGrid) => s.run(mem, io),
            Step::RoiAlign(s) if on!(RoiAlign) => return s.run(mem, io),
            Step::DeformConv(s) if on!(DeformConv) => s.run(mem, io),
            Step::Col2Im(s) if on!(Col2Im) => s.run(mem, io),
            Step::MaxUnpool(s) if on!(MaxUnpool) => return s.run(mem, io),
            Step::Det(s) if on!(Det) => s.run(mem, io, scratch),
            Step::Nms(s) if on!(NonMaxSuppression) => s.run(mem, io, scratch),
            Step::Random(s) if on!(Random) => s.run(mem, io),
            Step::Mel(s) if on!(MelWeightMatrix) => return s.run(mem, io),
            Step::NonZero(s) if on!(NonZero) => s.run(mem, io),
            Step::Unique(s) if on!(Unique) => s.run(mem, io, scratch),
            // The step loop decides what runs next ([`Step::skip`]).
            Step::Skip(_) if on!(Branch, Jump) => {}
            Step::QGemm(s) if on!(QGemm) => s.run(mem, io, scratch),
            Step::QConv(s) if on!(QConv) => s.run(mem, io, scratch),
            Step::Q8Conv(s) if on!(Q8Conv) => s.run(mem, io, scratch, cpu),
            Step::Q8Sparse(s) if on!(Q8Sparse) => s.run(mem, io, scratch, cpu),
            Step::Q8Binary(s) if on!(Q8Binary) => s.run(mem, io, cpu),
            Step::Q8Softmax(s) if on!(Q8Softmax) => s.run(mem, io, cpu),
            Step::Q8Lut(s) if on!(Q8Lut) => s.run(mem, io, cpu),
            Step::Q8Pool(s) if on!(Q8Pool) => s.run(mem, io, cpu),
            Step::SparseGemm(s) if on!(SparseGemm) => s.run(mem, io, scratch, cpu),
            Step::DynamicQuantize(s) if on!(DynamicQuantize) => s.run(mem, io),
            _ => return Err("the step's op is not in this build's op set"),
        }
        Ok(())
    }
}

/// Views of a step's tensors. Safe because the loader validated the step (see [`Mem::get`]).
pub(crate) fn inp<'m, T: crate::mem::Elem>(mem: &Mem<'m>, t: &TensorRef<'_>) -> &'m [T] {
    // SAFETY: the step was validated at load: `t` is in bounds, aligned, of this element type,
    // and no output of the step overlaps it unless the kernel uses the in-place path.
    unsafe { mem.get(t) }
}

/// The writable view of an output.
pub(crate) fn out<'m, T: crate::mem::Elem>(mem: &Mem<'m>, t: &TensorRef<'_>) -> &'m mut [T] {
    // SAFETY: the step was validated at load: the output is an arena tensor in bounds, aligned,
    // of this element type, and disjoint from every other tensor the step reads or writes (the
    // in-place case reads the input only through this slice).
    unsafe { mem.get_mut(t) }
}

/// Whether `t` is in the arena (outputs must be).
pub fn in_arena(t: &TensorRef<'_>) -> bool {
    t.storage == Storage::Arena
}

/// Whether two tensors are the very same bytes (an in-place step).
pub fn same(a: &TensorRef<'_>, b: &TensorRef<'_>) -> bool {
    a.storage == b.storage && a.offset == b.offset && a.nbytes == b.nbytes
}
