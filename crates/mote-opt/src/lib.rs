//! Graph optimization passes over a [`mote_ir::Graph`], run by the compiler before lowering.
//!
//! Every pass is a rewrite that keeps the model's outputs the same (within float rounding) and
//! keeps ONNX op semantics: no new op kinds appear. Each pass is a function over `&mut Graph`
//! that returns the [`Rewrites`] it made (empty when it changed nothing):
//!
//! | pass | what it does |
//! |---|---|
//! | [`specialize()`] | binds symbolic dims, input shapes and constant inputs given by the user |
//! | [`fold_constants()`] | evaluates nodes whose inputs are constant (reference interpreter), resolves shape computations, inlines `If` with a constant condition |
//! | [`dce()`] | removes nodes nobody reads, dead subgraph outputs, unused captures, constants and values (renumbering value ids) |
//! | [`simplify()`] | removes Identity, inference Dropout, no-op Cast/Transpose/Reshape; merges Transpose pairs; collapses view chains into one Reshape |
//! | [`fuse_patterns()`] | rewrites spelled-out HardSwish (`x * clip(x + 3, 0, 6) / 6`) to the op |
//! | [`fold_batchnorm()`] | folds inference BatchNormalization and per-channel constant Mul/Div/Add/Sub after a Conv/ConvTranspose/Gemm/MatMul with constant weights into its weights and bias (a 2-D MatMul gaining a bias becomes Gemm), and a constant scalar Mul/Div before one into its weights; a lone BatchNormalization becomes Mul + Add |
//!
//! [`optimize`] runs [`specialize()`] once, then the others to a fixpoint, verifying the graph
//! after each pass when [`Options::verify`] is set (the default in debug and test builds), and
//! returns a [`Report`] for `mote compile`'s output.
//!
//! The passes expect a graph that passes `mote_ir::verify::verify` (as [`optimize`] checks
//! first); they never panic on such a graph.
//!
//! The reference interpreter (`mote-interp`) is both the evaluator for folding and the oracle the
//! tests compare against.

mod affine;
pub mod batchnorm;
pub mod dce;
mod driver;
mod edit;
pub mod error;
pub mod fold;
mod inline;
pub mod options;
pub mod patterns;
pub mod report;
pub mod simplify;
pub mod specialize;

pub use batchnorm::fold_batchnorm;
pub use dce::dce;
pub use driver::optimize;
pub use error::OptError;
pub use fold::fold_constants;
pub use options::{Bindings, FoldOptions, Options, Passes};
pub use patterns::fuse_patterns;
pub use report::{GraphStats, Report, Rewrites};
pub use simplify::simplify;
pub use specialize::specialize;
