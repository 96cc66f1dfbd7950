//! The training engine: reverse-mode autodiff over `mote-ir` graphs.
//!
//! A model is an IR [`Graph`](mote_ir::Graph) whose float constants feeding weight inputs are
//! its parameters. [`forward`] evaluates the graph node by node with the reference
//! interpreter's kernels (the numerics the interpreter deploys with), keeping every value on a
//! [`Tape`]; in [`Mode::Train`] BatchNormalization uses the batch's statistics and Dropout draws
//! a seeded mask. [`backward`] walks the tape in reverse and returns the gradient of every value
//! from the gradients of the outputs (`grad/`, one file per op family, each checked against
//! finite differences in `tests/gradcheck.rs`). [`loss`] has the losses with their gradients.
//!
//! Around it: [`optim`] (SGD with momentum/Nesterov, Adam, AdamW; step, cosine and warm-up
//! schedules), [`data`] (seeded splits, batches and augmentation), [`arch`] (MLP, CNN, DS-CNN,
//! ResNet-8, MobileNetV2 builders), [`fit`] (the training loop and evaluation) and [`prune`]
//! (magnitude masks, N:M patterns, structured channel removal).
//!
//! Depends on `mote-ir` and `mote-interp` (forward kernels); never on importers or the runtime.

pub mod arch;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod fit;
mod grad;
pub mod loss;
pub mod optim;
pub mod prune;
pub mod qat;
pub mod tape;

pub use error::TrainError;
pub use tape::{Mode, Tape, backward, forward, params};
