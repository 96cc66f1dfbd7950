//! What the optimizer is asked to do.

use std::collections::BTreeMap;

use mote_ir::Tensor;

/// Values the user fixes before optimization (see [`crate::specialize()`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bindings {
    /// Symbolic dimension name -> size (`N = 1`), everywhere the symbol appears.
    pub dims: BTreeMap<String, usize>,
    /// Input name -> full shape. Symbolic dims of the declared shape are bound to the given
    /// sizes everywhere; known dims must agree.
    pub shapes: BTreeMap<String, Vec<usize>>,
    /// Input name -> value: the input becomes a constant and leaves the graph's inputs (e.g.
    /// silero_vad's `sr = 16000`). The value must fit the declared dtype and shape.
    pub constants: BTreeMap<String, Tensor>,
    /// Also turn graph inputs that have an initializer (defaults a caller may override; common
    /// in models exported with ONNX IR < 4) into constants.
    pub freeze_initializers: bool,
}

impl Bindings {
    /// True when there is nothing to bind.
    pub fn is_empty(&self) -> bool {
        self.dims.is_empty() && self.shapes.is_empty() && self.constants.is_empty() && !self.freeze_initializers
    }
}

/// Limits of [`crate::fold_constants()`].
#[derive(Clone, Debug, PartialEq)]
pub struct FoldOptions {
    /// Largest constant (elements) that folding may create when it is larger than every constant
    /// input of the node: folding never grows the largest tensor beyond this (an `Expand` or
    /// `ConstantOfShape` of a few bytes into megabytes of weights). Outputs no larger than the
    /// node's largest constant input (a `Transpose` or `Reshape` of a weight) always fold.
    pub max_elements: usize,
    /// Fold `DequantizeLinear` of constant (quantized) weights into float weights. Off by
    /// default: a QDQ model keeps its int8 weights, and the Q/DQ pattern stays visible to the
    /// lowering (which fuses it into integer kernels, or dequantizes at load time).
    pub dequantize: bool,
}

impl Default for FoldOptions {
    fn default() -> Self {
        FoldOptions { max_elements: 1 << 16, dequantize: false }
    }
}

/// Which passes [`crate::optimize`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Passes {
    pub fold_constants: bool,
    pub dce: bool,
    pub simplify: bool,
    pub fold_batchnorm: bool,
}

impl Default for Passes {
    fn default() -> Self {
        Passes { fold_constants: true, dce: true, simplify: true, fold_batchnorm: true }
    }
}

impl Passes {
    /// No pass (only specialization, when bindings are given).
    pub const NONE: Passes = Passes { fold_constants: false, dce: false, simplify: false, fold_batchnorm: false };
}

/// Everything [`crate::optimize`] takes.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub bindings: Bindings,
    pub passes: Passes,
    pub fold: FoldOptions,
    /// Rounds of all passes at most (a round that changes nothing ends the loop earlier).
    pub max_rounds: usize,
    /// Run `mote_ir::verify::verify` before optimizing and after every pass. Defaults to on in
    /// debug and test builds.
    pub verify: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bindings: Bindings::default(),
            passes: Passes::default(),
            fold: FoldOptions::default(),
            max_rounds: 16,
            verify: cfg!(any(debug_assertions, test)),
        }
    }
}
