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
use mote_format::{Model, OpCode, StepRef, Storage, TensorRef};
use mote_kernels::fast::{Cpu, Parallel};

use crate::error::StepFault;
use crate::mem::Mem;

/// Most inputs or outputs a step may have.
pub const MAX_IO: usize = 12;
/// Largest rank of strided views (copies and broadcasts may split dims).
pub const MAX_VIEW_RANK: usize = 16;

/// A step's tensors, resolved from the model.
#[derive(Clone, Copy, Debug)]
pub struct Io<'a> {
    ins: [Option<TensorRef<'a>>; MAX_IO],
    outs: [Option<TensorRef<'a>>; MAX_IO],
    n_in: usize,
    n_out: usize,
}

impl<'a> Io<'a> {
    pub fn new(model: &Model<'a>, step: &StepRef<'a>) -> Result<Io<'a>, StepFault> {
        let (n_in, n_out) = (step.n_inputs(), step.n_outputs());
        if n_in > MAX_IO || n_out > MAX_IO {
            return Err(StepFault::Arity);
        }
        let mut io = Io { ins: [None; MAX_IO], outs: [None; MAX_IO], n_in, n_out };
        for i in 0..n_in {
            io.ins[i] = step.input(i).and_then(|t| model.tensor(t));
        }
        for i in 0..n_out {
            io.outs[i] = Some(step.output(i).and_then(|t| model.tensor(t)).ok_or(StepFault::Arity)?);
        }
        Ok(io)
    }

    /// Checks the counts: between `min_in` and `max_in` inputs, exactly `n_out` outputs.
    pub fn arity(&self, min_in: usize, max_in: usize, n_out: usize) -> Result<(), StepFault> {
        if self.n_in < min_in || self.n_in > max_in || self.n_out != n_out {
            return Err(StepFault::Arity);
        }
        (0..min_in).try_for_each(|i| self.input(i).map(|_| ()))
    }

    pub fn input(&self, i: usize) -> Result<&TensorRef<'a>, StepFault> {
        self.ins.get(i).and_then(Option::as_ref).ok_or(StepFault::Arity)
    }

    pub fn opt(&self, i: usize) -> Option<&TensorRef<'a>> {
        self.ins.get(i).and_then(Option::as_ref)
    }

    pub fn output(&self, i: usize) -> Result<&TensorRef<'a>, StepFault> {
        self.outs.get(i).and_then(Option::as_ref).ok_or(StepFault::Arity)
    }

    pub fn inputs(&self) -> impl Iterator<Item = (usize, &TensorRef<'a>)> {
        self.ins[..self.n_in].iter().enumerate().filter_map(|(i, t)| t.as_ref().map(|t| (i, t)))
    }

    pub fn outputs(&self) -> impl Iterator<Item = &TensorRef<'a>> {
        self.outs[..self.n_out].iter().flatten()
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
        // String tensors (format 1.3) are read and written only by the string steps.
        let strings = io.inputs().map(|(_, t)| t).chain(io.outputs()).any(|t| t.dtype == DType::String);
        if strings && !text::Text::is_text(step.op) {
            return Err(StepFault::DType);
        }
        Ok(match step.op {
            OpCode::Copy => Step::Copy(copy::Copy::decode(step, io)?),
            OpCode::Fill => Step::Fill(copy::Fill::decode(step, io)?),
            OpCode::Unary => Step::Unary(unary::Unary::decode(step, io)?),
            OpCode::Binary => Step::Binary(binary::Binary::decode(step, io)?),
            OpCode::Where => Step::Where(where_::Where::decode(step, io)?),
            OpCode::Cast => Step::Cast(cast::Cast::decode(step, io)?),
            OpCode::Gemm => Step::Gemm(gemm::Gemm::decode(step, io)?),
            OpCode::Conv => Step::Conv(conv::Conv::decode(step, io)?),
            OpCode::ConvTranspose => Step::ConvTranspose(conv::ConvTranspose::decode(step, io)?),
            OpCode::Pool => Step::Pool(pool::Pool::decode(step, io)?),
            OpCode::Softmax => Step::Softmax(softmax::Softmax::decode(step, io)?),
            OpCode::Reduce => Step::Reduce(reduce::Reduce::decode(step, io)?),
            OpCode::BatchNorm => Step::Affine(affine::Affine::decode(step, io)?),
            OpCode::Resize => Step::Resize(resize::Resize::decode(step, io)?),
            OpCode::Gather => Step::Gather(gather::Gather::decode(step, io)?),
            OpCode::Pad => Step::Pad(copy::Pad::decode(step, io)?),
            OpCode::Lstm => Step::Lstm(rnn::Lstm::decode(step, io)?),
            OpCode::Quantize => Step::Quantize(quant::Quantize::decode(step, io)?),
            OpCode::Dequantize => Step::Dequantize(quant::Dequantize::decode(step, io)?),
            OpCode::ArgReduce => Step::ArgReduce(arg::ArgReduce::decode(step, io)?),
            OpCode::ConvBlocked => Step::ConvBlocked(blocked::ConvBlocked::decode(step, io)?),
            OpCode::Reorder => Step::Reorder(blocked::Reorder::decode(step, io)?),
            OpCode::GatherElements => Step::GatherElements(index::GatherElements::decode(step, io)?),
            OpCode::GatherNd => Step::GatherNd(index::GatherNd::decode(step, io)?),
            OpCode::ScatterElements => Step::Scatter(index::Scatter::decode(step, io, false)?),
            OpCode::ScatterNd => Step::Scatter(index::Scatter::decode(step, io, true)?),
            OpCode::Cumulate => Step::Cumulate(scan::Cumulate::decode(step, io)?),
            OpCode::TopK => Step::TopK(scan::TopK::decode(step, io)?),
            OpCode::Attention => Step::Attention(attention::Attention::decode(step, io)?),
            OpCode::Gru | OpCode::Rnn => Step::Recurrent(recurrent::Recurrent::decode(step, io)?),
            OpCode::RotaryEmbedding => Step::Rotary(rotary::Rotary::decode(step, io)?),
            OpCode::NllLoss => Step::NllLoss(loss::NllLoss::decode(step, io)?),
            OpCode::LayerNorm | OpCode::RmsNorm => Step::RowNorm(norm::RowNorm::decode(step, io)?),
            OpCode::InstanceNorm | OpCode::GroupNorm => Step::ChannelNorm(norm::ChannelNorm::decode(step, io)?),
            OpCode::LpNorm => Step::LpNorm(norm::LpNorm::decode(step, io)?),
            OpCode::Lrn => Step::Lrn(norm::Lrn::decode(step, io)?),
            OpCode::MaxPoolIndices => Step::MaxPoolIndices(argpool::MaxPoolIndices::decode(step, io)?),
            OpCode::LinearAttention => Step::LinearAttention(linear_attention::LinearAttention::decode(step, io)?),
            OpCode::CausalConvWithState => Step::CausalConv(causal_conv::CausalConv::decode(step, io)?),
            OpCode::Dft => Step::Dft(signal::Dft::decode(step, io)?),
            OpCode::Stft => Step::Stft(signal::Stft::decode(step, io)?),
            OpCode::LinearModel => Step::Linear(ml::linear::Linear::decode(step, io)?),
            OpCode::Normalizer => Step::Normalizer(ml::linear::Normalizer::decode(step, io)?),
            OpCode::TreeEnsemble => Step::Tree(ml::tree::Tree::decode(step, io)?),
            OpCode::Lookup => Step::Lookup(ml::lookup::Lookup::decode(step, io)?),
            OpCode::Svm => Step::Svm(ml::svm::Svm::decode(step, io)?),
            OpCode::GridSample => Step::GridSample(sample::GridSample::decode(step, io)?),
            OpCode::AffineGrid => Step::AffineGrid(sample::AffineGrid::decode(step, io)?),
            OpCode::RoiAlign => Step::RoiAlign(roi::RoiAlign::decode(step, io)?),
            OpCode::DeformConv => Step::DeformConv(deform::DeformConv::decode(step, io)?),
            OpCode::Col2Im => Step::Col2Im(col2im::Col2Im::decode(step, io)?),
            OpCode::MaxUnpool => Step::MaxUnpool(unpool::MaxUnpool::decode(step, io)?),
            OpCode::Det => Step::Det(det::Det::decode(step, io)?),
            OpCode::NonMaxSuppression => Step::Nms(nms::Nms::decode(step, io)?),
            OpCode::Random => Step::Random(random::Random::decode(step, io)?),
            OpCode::MelWeightMatrix => Step::Mel(mel::Mel::decode(step, io)?),
            OpCode::NonZero => Step::NonZero(nonzero::NonZero::decode(step, io)?),
            OpCode::Unique => Step::Unique(unique::Unique::decode(step, io)?),
            OpCode::Branch | OpCode::Jump => Step::Skip(branch::Skip::decode(step, io)?),
            op if text::Text::is_text(op) => Step::Text(text::Text::decode(step, io)?),
            OpCode::QGemm => Step::QGemm(qgemm::QGemm::decode(step, io)?),
            OpCode::QConv => Step::QConv(qconv::QConv::decode(step, io)?),
            OpCode::Q8Conv => Step::Q8Conv(q8conv::Q8Conv::decode(step, io)?),
            OpCode::Q8Sparse => Step::Q8Sparse(q8sparse::Q8Sparse::decode(step, io)?),
            OpCode::Q8Binary => Step::Q8Binary(q8elem::Q8Binary::decode(step, io)?),
            OpCode::Q8Softmax => Step::Q8Softmax(q8elem::Q8Softmax::decode(step, io)?),
            OpCode::Q8Lut => Step::Q8Lut(q8elem::Q8Lut::decode(step, io)?),
            OpCode::Q8Pool => Step::Q8Pool(q8pool::Q8Pool::decode(step, io)?),
            OpCode::SparseGemm => Step::SparseGemm(sparse_gemm::SparseGemm::decode(step, io)?),
            OpCode::DynamicQuantize => Step::DynamicQuantize(dynamic_quant::DynamicQuantize::decode(step, io)?),
            // Every code has a kernel in this build; kept for codes added before their kernel.
            #[allow(unreachable_patterns)]
            _ => return Err(StepFault::UnsupportedOp),
        })
    }

    /// Checks constant tables the kernel trusts (once, at load): Resize index tables and tree
    /// ensemble structure, sparse weight indices.
    pub fn check_constants(&self, model: &Model<'_>, io: &Io<'_>) -> Result<(), StepFault> {
        match self {
            Step::Resize(r) => match io.input(1).ok().and_then(|t| model.weight_bytes(t)) {
                Some(bytes) => r.check_indices(bytes),
                None => Ok(()),
            },
            Step::Tree(t) => t.check_tables(model, io),
            Step::Text(t) => t.check_constants(model, io),
            Step::SparseGemm(s) => s.check_index(model, io),
            Step::Q8Sparse(s) => s.check_index(model, io),
            _ => Ok(()),
        }
    }

    /// Scratch bytes the step needs (from the plan's scratch region).
    /// The fewest scratch bytes the step runs in (a step given more than this and up to
    /// [`Step::scratch_bytes`] uses it to go faster, with the same result).
    pub fn scratch_min_bytes(&self) -> usize {
        match self {
            Step::Q8Conv(q) => q.scratch_min_bytes(),
            s => s.scratch_bytes(),
        }
    }

    pub fn scratch_bytes(&self) -> usize {
        match self {
            Step::Gemm(g) => g.scratch_bytes(),
            Step::Conv(c) => c.scratch_bytes(),
            Step::ConvBlocked(c) => c.scratch_bytes(),
            Step::ConvTranspose(c) => c.scratch_bytes(),
            Step::Reduce(r) => r.scratch_bytes(),
            Step::Pool(p) => p.scratch_bytes(),
            Step::Lstm(l) => l.scratch_bytes(),
            Step::TopK(t) => t.scratch_bytes(),
            Step::Attention(a) => a.scratch_bytes(),
            Step::Recurrent(r) => r.scratch_bytes(),
            Step::LinearAttention(a) => a.scratch_bytes(),
            Step::CausalConv(c) => c.scratch_bytes(),
            Step::Dft(d) => d.scratch_bytes(),
            Step::Stft(s) => s.scratch_bytes(),
            Step::Tree(t) => t.scratch_bytes(),
            Step::Svm(s) => s.scratch_bytes(),
            Step::Det(d) => d.scratch_bytes(),
            Step::Nms(s) => s.scratch_bytes(),
            Step::QGemm(q) => q.scratch_bytes(),
            Step::QConv(q) => q.scratch_bytes(),
            Step::Q8Conv(q) => q.scratch_bytes(),
            Step::Q8Sparse(q) => q.scratch_bytes(),
            Step::SparseGemm(s) => s.scratch_bytes(),
            Step::Unique(s) => s.scratch_bytes(),
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
        match self {
            Step::Text(s) => s.run(mem, io),
            _ => self.run_tensor(mem, io, scratch, cpu, par).map_err(RunFault::Data),
        }
    }

    /// [`Step::run`] for the steps over numeric tensors.
    fn run_tensor(
        &self,
        mem: &Mem<'_>,
        io: &Io<'_>,
        scratch: &mut [f32],
        cpu: Cpu,
        par: &dyn Parallel,
    ) -> Result<(), &'static str> {
        match self {
            Step::Text(_) => return Err("string steps run through Step::run"),
            Step::Copy(s) => s.run(mem, io),
            Step::Fill(s) => s.run(mem, io),
            Step::Unary(s) => s.run(mem, io),
            Step::Binary(s) => return s.run(mem, io, cpu, par),
            Step::Where(s) => s.run(mem, io),
            Step::Cast(s) => s.run(mem, io),
            Step::Gemm(s) => s.run(mem, io, scratch, cpu, par),
            Step::Conv(s) => s.run(mem, io, scratch, cpu, par),
            Step::ConvTranspose(s) => s.run(mem, io, scratch, cpu, par),
            Step::Pool(s) => s.run(mem, io, scratch, cpu, par),
            Step::Softmax(s) => s.run(mem, io, cpu),
            Step::Reduce(s) => s.run(mem, io, scratch, cpu),
            Step::Affine(s) => s.run(mem, io),
            Step::Resize(s) => return s.run(mem, io, par),
            Step::Gather(s) => return s.run(mem, io),
            Step::GatherElements(s) => return s.run(mem, io),
            Step::GatherNd(s) => return s.run(mem, io),
            Step::Scatter(s) => return s.run(mem, io),
            Step::Cumulate(s) => s.run(mem, io),
            Step::TopK(s) => s.run(mem, io, scratch),
            Step::Pad(s) => s.run(mem, io),
            Step::Lstm(s) => return s.run(mem, io, scratch, cpu),
            Step::Quantize(s) => s.run(mem, io),
            Step::Dequantize(s) => s.run(mem, io),
            Step::ArgReduce(s) => s.run(mem, io),
            Step::ConvBlocked(s) => s.run(mem, io, scratch, cpu, par),
            Step::Reorder(s) => s.run(mem, io),
            Step::Attention(s) => return s.run(mem, io, scratch),
            Step::Recurrent(s) => return s.run(mem, io, scratch, cpu),
            Step::Rotary(s) => return s.run(mem, io),
            Step::NllLoss(s) => return s.run(mem, io),
            Step::RowNorm(s) => s.run(mem, io, cpu),
            Step::ChannelNorm(s) => s.run(mem, io),
            Step::LpNorm(s) => s.run(mem, io),
            Step::Lrn(s) => s.run(mem, io),
            Step::MaxPoolIndices(s) => s.run(mem, io),
            Step::LinearAttention(s) => s.run(mem, io, scratch),
            Step::CausalConv(s) => s.run(mem, io, scratch),
            Step::Dft(s) => s.run(mem, io, scratch),
            Step::Stft(s) => s.run(mem, io, scratch),
            Step::Linear(s) => s.run(mem, io),
            Step::Normalizer(s) => s.run(mem, io),
            Step::Tree(s) => s.run(mem, io, scratch),
            Step::Lookup(s) => return s.run(mem, io),
            Step::Svm(s) => s.run(mem, io, scratch),
            Step::GridSample(s) => s.run(mem, io),
            Step::AffineGrid(s) => s.run(mem, io),
            Step::RoiAlign(s) => return s.run(mem, io),
            Step::DeformConv(s) => s.run(mem, io),
            Step::Col2Im(s) => s.run(mem, io),
            Step::MaxUnpool(s) => return s.run(mem, io),
            Step::Det(s) => s.run(mem, io, scratch),
            Step::Nms(s) => s.run(mem, io, scratch),
            Step::Random(s) => s.run(mem, io),
            Step::Mel(s) => return s.run(mem, io),
            Step::NonZero(s) => s.run(mem, io),
            Step::Unique(s) => s.run(mem, io, scratch),
            // The step loop decides what runs next ([`Step::skip`]).
            Step::Skip(_) => {}
            Step::QGemm(s) => s.run(mem, io, scratch),
            Step::QConv(s) => s.run(mem, io, scratch),
            Step::Q8Conv(s) => s.run(mem, io, scratch, cpu),
            Step::Q8Sparse(s) => s.run(mem, io, scratch, cpu),
            Step::Q8Binary(s) => s.run(mem, io, cpu),
            Step::Q8Softmax(s) => s.run(mem, io, cpu),
            Step::Q8Lut(s) => s.run(mem, io, cpu),
            Step::Q8Pool(s) => s.run(mem, io, cpu),
            Step::SparseGemm(s) => s.run(mem, io, scratch, cpu),
            Step::DynamicQuantize(s) => s.run(mem, io),
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
