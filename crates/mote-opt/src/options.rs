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
    /// [`crate::fold_constants()`].
    pub fold_constants: bool,
    /// [`crate::dce()`].
    pub dce: bool,
    /// [`crate::simplify()`].
    pub simplify: bool,
    /// [`crate::fold_batchnorm()`].
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
    /// What the user fixes about the inputs (see [`crate::specialize()`]).
    pub bindings: Bindings,
    /// Which passes run after specialization (all by default).
    pub passes: Passes,
    /// Limits of constant folding.
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

impl Options {
    /// Binds the symbolic dimension `sym` to `size` everywhere (e.g. `("batch", 1)`).
    pub fn bind_dim(mut self, sym: impl Into<String>, size: usize) -> Options {
        self.bindings.dims.insert(sym.into(), size);
        self
    }

    /// Gives input `input` the concrete shape `shape` (its symbolic dims are bound everywhere).
    pub fn bind_shape(mut self, input: impl Into<String>, shape: impl Into<Vec<usize>>) -> Options {
        self.bindings.shapes.insert(input.into(), shape.into());
        self
    }

    /// Makes input `input` the constant `value` (e.g. silero_vad's `sr`:
    /// `Tensor::scalar(16000i64)`); it leaves the graph's inputs.
    pub fn bind_const(mut self, input: impl Into<String>, value: Tensor) -> Options {
        self.bindings.constants.insert(input.into(), value);
        self
    }
}
