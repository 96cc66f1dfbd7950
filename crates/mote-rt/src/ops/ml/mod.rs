//! Classic-ML steps (`ai.onnx.ml`): linear models, Normalizer, tree ensembles,
//! SVMs and key lookup. Scores are
//! computed in f64 and stored as f32, as the reference interpreter (and onnxruntime) does.
//!
//! Everything the kernels index with (tree node links, feature ids, leaf ranges, class ids) is
//! checked when the model loads: structure tables must be weights, so
//! [`Tree::check_tables`](tree::Tree::check_tables) sees their final contents once.

pub mod linear;
pub mod lookup;
pub mod post;
pub mod svm;
pub mod tree;

use mote_core::DType;
use mote_format::TensorRef;

use super::{inp, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;

/// A numeric feature tensor the ML steps read as f64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Features {
    F32,
    F64,
    I32,
    I64,
}

impl Features {
    /// The feature kind of `x`, which must hold `numel` plain elements.
    pub fn of(x: &TensorRef<'_>, numel: usize) -> Result<Features, StepFault> {
        want_numel(x, numel)?;
        Ok(match x.dtype {
            DType::F32 => Features::F32,
            DType::F64 => Features::F64,
            DType::I32 => Features::I32,
            DType::I64 => Features::I64,
            _ => return Err(StepFault::DType),
        })
    }

    /// Element `i` of `x` as f64 (0 past the end; the loader checked the length).
    pub fn at(self, mem: &Mem<'_>, x: &TensorRef<'_>, i: usize) -> f64 {
        match self {
            Features::F32 => inp::<f32>(mem, x).get(i).map_or(0.0, |&v| v as f64),
            Features::F64 => inp::<f64>(mem, x).get(i).copied().unwrap_or(0.0),
            Features::I32 => inp::<i32>(mem, x).get(i).map_or(0.0, |&v| v as f64),
            Features::I64 => inp::<i64>(mem, x).get(i).map_or(0.0, |&v| v as f64),
        }
    }
}

/// Index of the first maximum (NaN never wins).
pub fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}
