//! Running the float graph over the calibration set and histogramming every f32 tensor.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use mote_interp::Session;
use mote_ir::{Graph, Value};

use super::{Histogram, Method};
use crate::calib::CalibSet;

/// Histograms of a graph's f32 values (runtime inputs and node outputs) by name.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub hists: BTreeMap<String, Histogram>,
    pub samples: usize,
}

impl Observed {
    /// Each tensor's range by `method`.
    pub fn ranges(&self, method: Method) -> BTreeMap<String, (f32, f32)> {
        self.hists.iter().map(|(k, h)| (k.clone(), method.range(h))).collect()
    }
}

fn add(hists: &mut BTreeMap<String, Histogram>, name: &str, v: &Value) {
    if let Value::Tensor(t) = v
        && let Some(xs) = t.as_slice::<f32>()
    {
        hists.entry(name.to_string()).or_default().add(xs);
    }
}

/// Runs `graph` on every sample of `set` in the reference interpreter, calling `progress(done,
/// total)` after each.
pub fn observe(graph: &Graph, set: &CalibSet, progress: &mut dyn FnMut(usize, usize)) -> Result<Observed> {
    let session = Session::new(graph).map_err(|e| anyhow!("{e}"))?;
    let mut obs = Observed::default();
    for i in 0..set.len() {
        let inputs = set.load(i)?;
        for (name, v) in &inputs {
            add(&mut obs.hists, name, v);
        }
        let hists = &mut obs.hists;
        session
            .run_named_observed(inputs, &mut |node, outs, _| {
                for (slot, v) in node.outputs.iter().zip(outs) {
                    if let (Some(id), Some(v)) = (slot, v) {
                        add(hists, &graph.value(*id).name, v);
                    }
                }
            })
            .map_err(|e| anyhow!("calibration sample {}: {e}", set.samples[i].describe()))?;
        obs.samples += 1;
        progress(i + 1, set.len());
    }
    Ok(obs)
}
