//! Stable numeric codes of the format. A code is never reused; a removed code leaves a gap with a
//! comment. Element types use `mote_core::DType` codes (ONNX's).

macro_rules! codes {
    ($(#[$m:meta])* $name:ident : $repr:ty { $($(#[$vm:meta])* $variant:ident = $code:expr,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr($repr)]
        pub enum $name {
            $($(#[$vm])* $variant = $code,)*
        }

        impl $name {
            /// Every code, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The value with this code, if any.
            pub fn from_code(code: $repr) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }

            pub fn code(self) -> $repr {
                self as $repr
            }
        }
    };
}

codes! {
    /// Section kinds.
    SectionKind: u32 {
        Strings = 1,
        Meta = 2,
        Tensors = 3,
        Steps = 4,
        StepIo = 5,
        Attrs = 6,
        Io = 7,
        Plan = 8,
        Weights = 9,
        /// Output signatures beyond a plain tensor (format 1.1): ZipMap outputs, string labels.
        Signature = 10,
    }
}

codes! {
    /// How the host presents an output (a SIGNATURE record; outputs without one are tensors).
    OutputKind: u32 {
        /// The output tensor `[N, C]` (or `[C]`, one row) of f32 scores is a sequence of N maps
        /// `key -> score` over the C keys (ONNX `ZipMap`).
        ZipMap = 1,
        /// The output tensor holds int64 indices into the keys: the host presents the keys
        /// (string class labels).
        Labels = 2,
        /// The output's length along `axis` depends on the data: the i64 scalar tensor in the
        /// arena named by the record (`keys` field) holds it; the output's values are the first
        /// elements of its buffer, contiguous in that shape (NonMaxSuppression).
        Bounded = 3,
        /// Format 1.3, a group record (`Model::groups`): the graph input that is a sequence of
        /// the `count` inputs from `index` on (in order), named by the record's string key.
        SequenceInput = 4,
        /// Format 1.3: the graph output that is a sequence of the `count` outputs from `index` on.
        SequenceOutput = 5,
        /// Format 1.3: an optional graph input, absent (`count` 0) or holding input `index`
        /// (`count` 1).
        OptionalInput = 6,
        /// Format 1.3: an optional graph output, absent (`count` 0) or holding output `index`.
        OptionalOutput = 7,
        /// Format 1.3: an optional graph input holding a sequence of the `count` inputs from
        /// `index` on (an absent one is an [`OutputKind::OptionalInput`] of count 0).
        OptionalSequenceInput = 8,
        /// Format 1.3: an optional graph output holding a sequence of `count` outputs.
        OptionalSequenceOutput = 9,
    }
}

codes! {
    /// Where a tensor's bytes live.
    Storage: u8 {
        /// In the caller's arena, at the tensor's byte offset.
        Arena = 1,
        /// In the WEIGHTS section, at the tensor's byte offset from the section start.
        Weights = 2,
    }
}

codes! {
    /// How a tensor's elements are arranged.
    Layout: u8 {
        /// Row-major (C order) over its dims.
        Plain = 1,
        /// Pre-packed for the fast GEMM / convolution kernels: the layout parameter names the
        /// packing (see `mote_kernels::fast`); the dims stay the logical ones.
        Packed = 2,
    }
}

codes! {
    /// Runtime operations. Attributes are u32 words whose meaning per op is specified in
    /// `docs/FORMAT.md`; the runtime validates them when it loads a model.
    OpCode: u16 {
        /// Strided N-d copy (transpose, slice, expand, tile, concat and split pieces).
        Copy = 1,
        /// Fill the output with one value.
        Fill = 2,
        /// Element-wise unary function (activations, math).
        Unary = 3,
        /// Broadcasting binary function (arithmetic, comparison, logic).
        Binary = 4,
        /// `Where(cond, x, y)` with broadcasting.
        Where = 5,
        /// Element type conversion.
        Cast = 6,
        /// Batched matrix product with optional bias and fused activation.
        Gemm = 7,
        /// Convolution (1-3 spatial dims) with optional bias and fused activation.
        Conv = 8,
        /// Transposed convolution.
        ConvTranspose = 9,
        /// Max / average / Lp pooling (global pooling is a window the size of the input).
        Pool = 10,
        /// Softmax, LogSoftmax or Hardmax over one axis.
        Softmax = 11,
        /// Reduction over a set of axes.
        Reduce = 12,
        /// Inference batch normalization (when not folded into a convolution).
        BatchNorm = 13,
        /// Layer normalization over trailing axes.
        LayerNorm = 14,
        /// Resize / upsample.
        Resize = 15,
        /// Gather along one axis with run-time indices.
        Gather = 16,
        /// Padding in reflect / edge / wrap mode (constant padding is Fill + Copy).
        Pad = 17,
        /// LSTM over a sequence.
        Lstm = 18,
        /// GRU over a sequence.
        Gru = 19,
        /// Simple RNN over a sequence.
        Rnn = 20,
        /// Affine quantization to an integer type.
        Quantize = 21,
        /// Affine dequantization from an integer type.
        Dequantize = 22,
        /// ArgMax / ArgMin along one axis.
        ArgReduce = 23,
        /// Instance normalization.
        InstanceNorm = 24,
        /// `GatherElements` with run-time indices.
        GatherElements = 25,
        /// `ScatterElements` with run-time indices (replace or reduce).
        ScatterElements = 26,
        /// `GatherND` with run-time indices.
        GatherNd = 27,
        /// `ScatterND` with run-time indices (replace or reduce).
        ScatterNd = 28,
        /// `CumSum` / `CumProd` along one axis.
        Cumulate = 29,
        /// `TopK` along one axis (values and indices).
        TopK = 30,
        /// Linear classifier or regressor (`ai.onnx.ml`), scores post-transformed.
        LinearModel = 31,
        /// Row-wise max / L1 / L2 normalization (`ai.onnx.ml` Normalizer).
        Normalizer = 32,
        /// Tree ensemble regressor or classifier (`ai.onnx.ml`).
        TreeEnsemble = 33,
        /// Position of each element in a key table (LabelEncoder, OneHotEncoder).
        Lookup = 34,
        /// Support vector machine regressor or classifier (`ai.onnx.ml`).
        Svm = 35,
        /// Pointwise or depthwise 2-D convolution in the channel-blocked layout NCHWc8.
        ConvBlocked = 55,
        /// Layout conversion between NCHW and the channel-blocked NCHWc8.
        Reorder = 56,
        /// Scaled dot-product attention over heads (masks, grouped KV heads, softcap).
        Attention = 40,
        /// Rotary position embedding of head vectors.
        RotaryEmbedding = 41,
        /// Negative log-likelihood loss (and softmax cross-entropy).
        NllLoss = 42,
        /// RMS normalization over trailing axes.
        RmsNorm = 43,
        /// Group normalization.
        GroupNorm = 44,
        /// Lp normalization along one axis.
        LpNorm = 45,
        /// Local response normalization across channels.
        Lrn = 46,
        /// Max pooling with the flat index of each maximum.
        MaxPoolIndices = 47,
        /// Recurrent linear attention with a carried state (linear, gated, delta, gated delta).
        LinearAttention = 57,
        /// Depthwise causal 1-D convolution with a carried state, optionally followed by SiLU.
        CausalConvWithState = 58,
        /// Discrete Fourier transform along one axis (forward, inverse, one-sided, irfft).
        Dft = 59,
        /// Short-time Fourier transform of framed, windowed signals.
        Stft = 60,
        /// Sampling of an image at a grid of normalized coordinates (GridSample).
        GridSample = 48,
        /// The sampling grid of a batch of affine transforms (AffineGrid).
        AffineGrid = 49,
        /// Bilinear pooling of regions of interest (RoiAlign).
        RoiAlign = 50,
        /// Deformable convolution (DeformConv).
        DeformConv = 51,
        /// Sum of sliding blocks back into an image (Col2Im).
        Col2Im = 52,
        /// Determinants of a batch of square matrices (Det).
        Det = 53,
        /// Scatter of pooled maxima back to their positions (MaxUnpool).
        MaxUnpool = 54,
        /// Greedy per-class non-maximum suppression of boxes (a Bounded output: `count` rows).
        NonMaxSuppression = 61,
        /// Uniform or normal draws with a run counter (RandomUniform/Normal, Bernoulli, Dropout).
        Random = 78,
        /// Coordinates of the non-zero elements (a Bounded output: `count` columns).
        NonZero = 79,
        /// Distinct elements or slices, first indices, inverse indices, counts (Bounded outputs).
        Unique = 80,
        /// The mel filter bank from a run-time sample rate and band edges (MelWeightMatrix).
        MelWeightMatrix = 81,
        /// Run-time `If` (format 1.3): when the bool condition is false, skip the next `count`
        /// steps (the then-branch and its closing `Jump`).
        Branch = 62,
        /// Skip the next `count` steps (format 1.3; the else-branch of a run-time `If`).
        Jump = 63,
        /// Broadcasting concatenation of two string tensors (format 1.3).
        StringConcat = 70,
        /// Splitting of strings at a delimiter or whitespace (a Bounded output: the pieces).
        StringSplit = 71,
        /// Stopword removal and case change of strings (a Bounded output).
        StringNormalizer = 72,
        /// Whether each string fully matches a pattern, as a DFA table built by the compiler.
        RegexFullMatch = 73,
        /// N-gram counts (TF, IDF, TF-IDF) of integer or string token rows.
        TfIdfVectorizer = 74,
        /// Broadcasting equality of two string tensors, a bool result (format 1.3).
        StringEqual = 75,
        /// The position of each string in a sorted constant key table (LabelEncoder and
        /// OneHotEncoder with string keys; format 1.3).
        StringLookup = 76,
        /// Strings picked from a constant table by int64 index (LabelEncoder with string
        /// values; format 1.3).
        StringGather = 77,
        /// Batched u8/i8 matrix product with i32 accumulation, zero points per tensor, row or
        /// column, then the i32 accumulators or a requantization (format 1.3).
        QGemm = 64,
        /// u8/i8 convolution (im2col on the integer GEMM, the input zero point as padding), with
        /// `QGemm`'s epilogue (format 1.3).
        QConv = 65,
        /// `DynamicQuantizeLinear`: f32 to u8 with the scale and zero point of its range (format
        /// 1.3).
        DynamicQuantize = 66,
        /// int8 convolution, channels-last, TFLite's fixed-point requantization (format 1.4).
        Q8Conv = 82,
        /// int8 Add or Mul with TFLite's fixed-point arithmetic (format 1.4).
        Q8Binary = 83,
        /// int8 softmax over the last axis, TFLite's fixed-point exp (format 1.4).
        Q8Softmax = 84,
        /// int8 table lookup (activations evaluated once per input value; format 1.4).
        Q8Lut = 85,
        /// int8 average, max or mean pooling over H and W, channels-last (format 1.4).
        Q8Pool = 86,
        /// f32 product with a pruned constant weight in compressed rows: a 1x1 convolution in
        /// NCHW or a fully connected layer (format 1.5).
        SparseGemm = 90,
        /// int8 1x1 convolution or fully connected layer with pruned weights kept as blocks of
        /// four input channels, channels-last (format 1.6).
        Q8Sparse = 91,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for &op in OpCode::ALL {
            assert_eq!(OpCode::from_code(op.code()), Some(op));
            assert_eq!(OpCode::ALL.iter().filter(|o| o.code() == op.code()).count(), 1);
        }
        for &k in SectionKind::ALL {
            assert_eq!(SectionKind::from_code(k.code()), Some(k));
        }
        for &k in OutputKind::ALL {
            assert_eq!(OutputKind::from_code(k.code()), Some(k));
        }
        assert_eq!(OpCode::from_code(0), None);
        assert_eq!(Storage::from_code(0), None);
        assert_eq!(Layout::from_code(3), None);
    }
}
