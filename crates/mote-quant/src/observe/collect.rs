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
    /// Per tensor of rank >= 2: the sum of each channel (axis 1) and the values per channel.
    pub channel_sums: BTreeMap<String, (Vec<f64>, u64)>,
    pub samples: usize,
}

impl Observed {
    /// Each tensor's range by `method`.
    pub fn ranges(&self, method: Method) -> BTreeMap<String, (f32, f32)> {
        self.hists.iter().map(|(k, h)| (k.clone(), method.range(h))).collect()
    }

    /// Each tensor's channel means (axis 1).
    pub fn channel_means(&self) -> BTreeMap<String, Vec<f32>> {
        self.channel_sums
            .iter()
            .map(|(k, (s, n))| (k.clone(), s.iter().map(|&x| (x / (*n).max(1) as f64) as f32).collect()))
            .collect()
    }
}

fn add(obs: &mut Observed, name: &str, v: &Value) {
    let Value::Tensor(t) = v else { return };
    let Some(xs) = t.as_slice::<f32>() else { return };
    obs.hists.entry(name.to_string()).or_default().add(xs);
    if t.rank() >= 2 && !xs.is_empty() {
        let (c, inner) = (t.shape()[1], t.shape()[2..].iter().product::<usize>());
        let e = obs.channel_sums.entry(name.to_string()).or_insert_with(|| (vec![0.0; c], 0));
        if e.0.len() != c || c == 0 {
            return;
        }
        for (i, chunk) in xs.chunks(inner.max(1)).enumerate() {
            e.0[i % c] += chunk.iter().map(|&x| x as f64).sum::<f64>();
        }
        e.1 += (xs.len() / c) as u64;
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
            add(&mut obs, name, v);
        }
        let o = &mut obs;
        session
            .run_named_observed(inputs, &mut |node, outs, _| {
                for (slot, v) in node.outputs.iter().zip(outs) {
                    if let (Some(id), Some(v)) = (slot, v) {
                        add(o, &graph.value(*id).name, v);
                    }
                }
            })
            .map_err(|e| anyhow!("calibration sample {}: {e}", set.samples[i].describe()))?;
        obs.samples += 1;
        progress(i + 1, set.len());
    }
    Ok(obs)
}
