//! Checkpoints: everything a training run needs to continue exactly where it stopped, after
//! an epoch. Resuming from one gives bit for bit the weights of the run that was never stopped.
//!
//! A checkpoint holds every f32 constant of the graph (the parameters and BatchNorm's running
//! statistics), the optimizer's moments and step count, the data generator's state, the epoch
//! and step reached and the epochs' history. The bytes ([`Snapshot::to_bytes`]) are:
//!
//! ```text
//! "MOTECKPT"  u32 version  u32 header length  header (JSON)  f32 data (LE)  u64 FNV-1a of all before
//! ```
//!
//! The header lists the tensors by value name and shape, in the order of the data; the
//! optimizer's moments follow the tensors, `m` then `v` per parameter. The crate does no I/O:
//! the caller writes the bytes (atomically).

use mote_ir::{DType, Graph, Tensor};
use serde::{Deserialize, Serialize};

use crate::data::Rng;
use crate::error::TrainError;
use crate::fit::Epoch;
use crate::optim::{Optimizer, Rule};

const MAGIC: &[u8; 8] = b"MOTECKPT";
const VERSION: u32 = 1;

/// A view of a run at the end of an epoch, as `fit` hands it out to be saved.
#[derive(Debug)]
pub struct Snapshot<'a> {
    pub graph: &'a Graph,
    pub optimizer: &'a Optimizer,
    pub rng: &'a Rng,
    pub epoch: usize,
    pub step: usize,
    pub history: &'a [Epoch],
    pub batch: usize,
    pub train_samples: usize,
}

/// A checkpoint read back: what `fit` needs to continue.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    header: Header,
    tensors: Vec<Vec<f32>>,
    moments: Vec<(Vec<f32>, Vec<f32>)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
    epoch: usize,
    step: usize,
    rng: u64,
    batch: usize,
    train_samples: usize,
    rule: Rule,
    weight_decay: f32,
    optimizer_steps: u32,
    tensors: Vec<Entry>,
    /// Parameter length per optimizer slot, in the optimizer's order.
    moments: Vec<usize>,
    history: Vec<Epoch>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    name: String,
    shape: Vec<usize>,
}

fn bad(msg: impl std::fmt::Display) -> TrainError {
    TrainError::Input(format!("checkpoint: {msg}"))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The graph's f32 constants, in value order: what a checkpoint stores.
fn float_constants(g: &Graph) -> impl Iterator<Item = (&str, &Tensor)> {
    g.values.iter().filter_map(|v| v.init.as_ref().filter(|t| t.dtype() == DType::F32).map(|t| (v.name.as_str(), t)))
}

impl Snapshot<'_> {
    /// The checkpoint's bytes (see the module doc).
    pub fn to_bytes(&self) -> Result<Vec<u8>, TrainError> {
        let (moments, optimizer_steps) = self.optimizer.state();
        let header = Header {
            epoch: self.epoch,
            step: self.step,
            rng: self.rng.state(),
            batch: self.batch,
            train_samples: self.train_samples,
            rule: self.optimizer.rule,
            weight_decay: self.optimizer.weight_decay,
            optimizer_steps,
            tensors: float_constants(self.graph)
                .map(|(name, t)| Entry { name: name.to_string(), shape: t.shape().to_vec() })
                .collect(),
            moments: moments.iter().map(|(m, _)| m.len()).collect(),
            history: self.history.to_vec(),
        };
        let json = serde_json::to_vec(&header).map_err(bad)?;
        let mut out = Vec::with_capacity(json.len() + 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&u32::try_from(json.len()).map_err(|_| bad("header too large"))?.to_le_bytes());
        out.extend_from_slice(&json);
        let mut put = |v: &[f32]| v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        for (_, t) in float_constants(self.graph) {
            put(t.as_slice::<f32>().ok_or_else(|| bad("an f32 constant is not readable as f32"))?);
        }
        for (m, v) in moments {
            put(m);
            put(v);
        }
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        Ok(out)
    }
}

impl Checkpoint {
    /// Reads a checkpoint, checking its magic, version, lengths and checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint, TrainError> {
        if bytes.len() < 24 || &bytes[..8] != MAGIC {
            return Err(bad("not a Mote checkpoint (no MOTECKPT magic)"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if fnv1a(body).to_le_bytes() != sum {
            return Err(bad("the checksum does not match: the file is truncated or corrupt"));
        }
        let word = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let version = word(8);
        if version != VERSION {
            return Err(bad(format!("version {version}; this build reads version {VERSION}")));
        }
        let len = word(12) as usize;
        let json = body.get(16..16 + len).ok_or_else(|| bad("the header runs past the end"))?;
        let header: Header = serde_json::from_slice(json).map_err(|e| bad(format!("header: {e}")))?;
        if body[16 + len..].len() % 4 != 0 {
            return Err(bad("the data is not a whole number of f32 values"));
        }
        let mut data = body[16 + len..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        let mut take = |n: usize, what: &str| -> Result<Vec<f32>, TrainError> {
            let v: Vec<f32> = data.by_ref().take(n).collect();
            if v.len() == n { Ok(v) } else { Err(bad(format!("the data ends inside {what}"))) }
        };
        let mut tensors = Vec::with_capacity(header.tensors.len());
        for e in &header.tensors {
            let n =
                e.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| bad("a shape overflows"))?;
            tensors.push(take(n, &format!("`{}`", e.name))?);
        }
        let mut moments = Vec::with_capacity(header.moments.len());
        for &n in &header.moments {
            moments.push((take(n, "the optimizer's moments")?, take(n, "the optimizer's moments")?));
        }
        if data.next().is_some() {
            return Err(bad("data left over after the last tensor"));
        }
        Ok(Checkpoint { header, tensors, moments })
    }

    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.header.epoch
    }

    /// Optimizer steps taken.
    pub fn step(&self) -> usize {
        self.header.step
    }

    /// Writes the stored constants into `g`, which must be the same model: every stored name
    /// must be an f32 constant of the same shape, and every f32 constant of `g` stored.
    pub fn restore(&self, g: &mut Graph) -> Result<(), TrainError> {
        let stored = self.header.tensors.len();
        let here = float_constants(g).count();
        if here != stored {
            return Err(bad(format!("it stores {stored} f32 constants, this model has {here}: not the same model")));
        }
        for (e, data) in self.header.tensors.iter().zip(&self.tensors) {
            let v = g
                .values
                .iter_mut()
                .find(|v| v.name == e.name)
                .ok_or_else(|| bad(format!("tensor `{}` is not in this model", e.name)))?;
            let t = v.init.as_mut().ok_or_else(|| bad(format!("`{}` is not a constant in this model", e.name)))?;
            if t.shape() != e.shape.as_slice() {
                return Err(bad(format!("`{}` has shape {:?} there and {:?} here", e.name, e.shape, t.shape())));
            }
            let dst = t.typed_mut::<f32>().map_err(|_| bad(format!("`{}` is not f32 in this model", e.name)))?;
            dst.copy_from_slice(data);
        }
        Ok(())
    }

    /// The optimizer continuing the run; `rule` and `weight_decay` must be the run's.
    pub fn optimizer(&self, rule: Rule, weight_decay: f32) -> Result<Optimizer, TrainError> {
        let h = &self.header;
        if rule != h.rule || weight_decay != h.weight_decay {
            return Err(bad(format!(
                "it was made with {:?} and weight decay {}; resume with the same optimizer options",
                h.rule, h.weight_decay
            )));
        }
        Ok(Optimizer::resume(rule, weight_decay, self.moments.clone(), h.optimizer_steps))
    }

    /// Checks the run's batch size and training-set size against the checkpoint's.
    pub fn check_run(&self, batch: usize, train_samples: usize) -> Result<(), TrainError> {
        let h = &self.header;
        if h.batch != batch || h.train_samples != train_samples {
            return Err(bad(format!(
                "it was made with batch {} on {} training samples, this run has batch {batch} on {train_samples}",
                h.batch, h.train_samples
            )));
        }
        Ok(())
    }

    /// The data generator where the run left it.
    pub fn rng(&self) -> Rng {
        Rng::from_state(self.header.rng)
    }

    /// The epochs already trained.
    pub fn history(&self) -> &[Epoch] {
        &self.header.history
    }
}
