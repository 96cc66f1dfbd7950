//! The package manifest (host side): what a model is and what it must do on a device.

extern crate std;
use std::string::String;
use std::vec::Vec;

use serde::{Deserialize, Serialize};

/// A tensor's name, element type and shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorSig {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
}

/// A tensor's values (row-major, as f32).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Values {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A golden input with the outputs the model must give on it, within `atol`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Golden {
    pub inputs: Vec<Values>,
    pub outputs: Vec<Values>,
    pub atol: f32,
}

/// Budgets the safeguard gate checks on the device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Budgets {
    pub latency_ms: Option<f64>,
    pub memory_bytes: Option<u64>,
}

/// The manifest of a package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: u64,
    pub target: String,
    pub inputs: Vec<TensorSig>,
    pub outputs: Vec<TensorSig>,
    #[serde(default)]
    pub preprocessing: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub golden: Vec<Golden>,
    #[serde(default)]
    pub budgets: Budgets,
    /// The oldest runtime (`mote-rt` format version) that runs the model.
    pub min_runtime: String,
    /// Numbers from compile and quantize (free-form).
    #[serde(default)]
    pub metrics: serde_json::Map<String, serde_json::Value>,
}
