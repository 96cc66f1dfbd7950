//! The server's state in memory, loaded from the database at start and changed only after the
//! database has committed the change (reports, rollouts, enrolments), or flushed to it in
//! batches within a tick (last check-in of each device, its metric samples). Check-ins read it
//! without touching the database.

use std::collections::{BTreeMap, HashMap, HashSet};

use mote_fleet::api::{Counts, DeviceInfo, Gates, Halt, Metrics, Outcome, RolloutState, RolloutStatus};
use sha2::{Digest, Sha256};

use crate::db::{Conn, DbError, Row};

/// An enrolled device.
#[derive(Clone, Debug)]
pub struct Device {
    pub target: String,
    pub labels: BTreeMap<String, String>,
    pub token_sha256: [u8; 32],
    pub model: String,
    pub version: u64,
    pub sha256: String,
    pub last_seen: i64,
}

/// A stored package.
#[derive(Clone, Debug)]
pub struct Package {
    pub name: String,
    pub version: u64,
    pub target: String,
    pub sha256: String,
    pub payload_sha256: String,
    pub size: u64,
    pub meta_len: u64,
    /// Deltas to it: from payload SHA-256 to (from version, size).
    pub deltas: BTreeMap<String, (u64, u64)>,
}

/// Where a device was when it was first told to install.
#[derive(Clone, Debug)]
pub struct Assignment {
    pub from_version: u64,
    pub from_sha256: String,
}

/// A device's latest report on a rollout.
#[derive(Clone, Copy, Debug)]
pub struct ReportRec {
    pub outcome: Outcome,
    pub stage: usize,
}

/// A staged rollout.
#[derive(Clone, Debug)]
pub struct Rollout {
    pub id: i64,
    pub model: String,
    pub version: u64,
    pub target: String,
    pub sha256: String,
    pub payload_sha256: String,
    pub stages: Vec<f64>,
    pub gates: Gates,
    pub state: RolloutState,
    pub stage: usize,
    pub stage_started: i64,
    pub halt: Option<Halt>,
    pub assigned: HashMap<String, Assignment>,
    pub reports: HashMap<String, ReportRec>,
    /// Metric samples of devices on the new model and on another one (the baseline).
    pub new_samples: HashMap<String, Metrics>,
    pub base_samples: HashMap<String, Metrics>,
}

/// Everything the server knows.
#[derive(Debug, Default)]
pub struct State {
    pub devices: HashMap<String, Device>,
    pub packages: HashMap<String, Package>,
    pub rollouts: BTreeMap<i64, Rollout>,
    /// Devices whose check-in fields changed since the last flush.
    pub dirty_devices: HashSet<String>,
    /// Samples changed since the last flush: (rollout, device, is_new).
    pub dirty_samples: HashSet<(i64, String, bool)>,
    pub stages: StageCache,
}

/// The position of a device in a rollout's order: stage `s` holds the devices whose hash is
/// among the lowest `ceil(percent_s * n / 100)` of the target's `n` devices.
pub fn stage_hash(rollout: i64, device: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(rollout.to_le_bytes());
    h.update(device.as_bytes());
    u64::from_le_bytes(h.finalize()[..8].try_into().expect("8 bytes"))
}

/// Devices in a stage of `percent` of `n`.
pub fn stage_size(percent: f64, n: usize) -> usize {
    ((percent / 100.0 * n as f64).ceil() as usize).min(n)
}

impl Rollout {
    pub fn counts(&self, devices: &HashMap<String, Device>) -> Counts {
        let mut c = Counts { offered: self.assigned.len() as u64, ..Counts::default() };
        for (id, r) in &self.reports {
            match r.outcome {
                Outcome::Installed => {
                    c.installed += 1;
                    if devices.get(id).is_some_and(|d| d.sha256 != self.payload_sha256) {
                        c.reverted += 1;
                    }
                }
                Outcome::InstallFailed => c.install_failed += 1,
                Outcome::GateFailed => c.gate_failed += 1,
            }
        }
        c
    }
}

/// The hashes of each rollout's target devices, sorted, rebuilt when a device enrols.
#[derive(Debug, Default)]
pub struct StageCache(HashMap<i64, (usize, Vec<u64>)>);

impl StageCache {
    /// The target's device count, the current stage's device count, and the hash below or at
    /// which a device is in the stage (`None`: no device).
    pub fn bound(&mut self, devices: &HashMap<String, Device>, r: &Rollout) -> (usize, usize, Option<u64>) {
        if self.0.get(&r.id).is_none_or(|(n, _)| *n != devices.len()) {
            let mut hs: Vec<u64> =
                devices.iter().filter(|(_, d)| d.target == r.target).map(|(id, _)| stage_hash(r.id, id)).collect();
            hs.sort_unstable();
            self.0.insert(r.id, (devices.len(), hs));
        }
        let hs = &self.0[&r.id].1;
        let k = stage_size(r.stages[r.stage], hs.len());
        (hs.len(), k, k.checked_sub(1).map(|i| hs[i]))
    }

    /// Whether `device` is in `r`'s current stage (or was already told to install).
    pub fn contains(&mut self, devices: &HashMap<String, Device>, r: &Rollout, device: &str) -> bool {
        if r.assigned.contains_key(device) {
            return true;
        }
        let (_, _, bound) = self.bound(devices, r);
        bound.is_some_and(|b| stage_hash(r.id, device) <= b)
    }
}

impl State {
    pub fn status(&mut self, id: i64) -> Option<RolloutStatus> {
        let r = self.rollouts.get(&id)?;
        let (n, k, _) = self.stages.bound(&self.devices, r);
        Some(RolloutStatus {
            id: r.id,
            model: r.model.clone(),
            version: r.version,
            target: r.target.clone(),
            sha256: r.sha256.clone(),
            state: r.state,
            stage: r.stage,
            stages: r.stages.clone(),
            gates: r.gates.clone(),
            stage_devices: k as u64,
            target_devices: n as u64,
            counts: r.counts(&self.devices),
            halt: r.halt.clone(),
            stage_started: r.stage_started,
        })
    }

    pub fn device_info(&self, id: &str, d: &Device) -> DeviceInfo {
        DeviceInfo {
            id: id.to_string(),
            target: d.target.clone(),
            labels: d.labels.clone(),
            model: d.model.clone(),
            version: d.version,
            sha256: d.sha256.clone(),
            last_seen: d.last_seen,
        }
    }

    /// Reads everything from the database.
    pub fn load(c: &mut dyn Conn) -> Result<State, DbError> {
        let mut s = State::default();
        let bad = |what: &str, e: String| DbError(format!("the database holds a bad {what}: {e}"));
        for r in
            c.query("SELECT id, target, labels, token_sha256, model, version, sha256, last_seen FROM devices", &[])?
        {
            let labels = serde_json::from_str(&r[2].text()).map_err(|e| bad("device labels", e.to_string()))?;
            let token_sha256 = mote_pkg::make::unhex::<32>(&r[3].text()).map_err(|e| bad("token hash", e))?;
            s.devices.insert(
                r[0].text(),
                Device {
                    target: r[1].text(),
                    labels,
                    token_sha256,
                    model: r[4].text(),
                    version: r[5].int() as u64,
                    sha256: r[6].text(),
                    last_seen: r[7].int(),
                },
            );
        }
        for r in c.query("SELECT sha256, payload_sha256, name, version, target, size, meta_len FROM packages", &[])? {
            s.packages.insert(r[0].text(), package_of(&r));
        }
        for r in c.query("SELECT to_sha256, from_payload_sha256, from_version, size FROM deltas", &[])? {
            if let Some(p) = s.packages.get_mut(&r[0].text()) {
                p.deltas.insert(r[1].text(), (r[2].int() as u64, r[3].int() as u64));
            }
        }
        let q =
            "SELECT id, model, version, target, sha256, stages, gates, state, stage, stage_started, halt FROM rollouts";
        for r in c.query(q, &[])? {
            let sha256 = r[4].text();
            let payload_sha256 = s.packages.get(&sha256).map(|p| p.payload_sha256.clone()).unwrap_or_default();
            let state = r[7].text();
            let halt = r[10].opt_text().map(|h| serde_json::from_str(&h)).transpose();
            s.rollouts.insert(
                r[0].int(),
                Rollout {
                    id: r[0].int(),
                    model: r[1].text(),
                    version: r[2].int() as u64,
                    target: r[3].text(),
                    sha256,
                    payload_sha256,
                    stages: serde_json::from_str(&r[5].text()).map_err(|e| bad("stage list", e.to_string()))?,
                    gates: serde_json::from_str(&r[6].text()).map_err(|e| bad("gate list", e.to_string()))?,
                    state: RolloutState::parse(&state).ok_or_else(|| bad("rollout state", state))?,
                    stage: r[8].int() as usize,
                    stage_started: r[9].int(),
                    halt: halt.map_err(|e| bad("halt reason", e.to_string()))?,
                    assigned: HashMap::new(),
                    reports: HashMap::new(),
                    new_samples: HashMap::new(),
                    base_samples: HashMap::new(),
                },
            );
        }
        for r in c.query("SELECT rollout, device, from_version, from_sha256 FROM assignments", &[])? {
            if let Some(ro) = s.rollouts.get_mut(&r[0].int()) {
                let a = Assignment { from_version: r[2].int() as u64, from_sha256: r[3].text() };
                ro.assigned.insert(r[1].text(), a);
            }
        }
        for r in c.query("SELECT rollout, device, outcome, stage FROM reports", &[])? {
            let outcome = Outcome::parse(&r[2].text()).ok_or_else(|| bad("report outcome", r[2].text()))?;
            if let Some(ro) = s.rollouts.get_mut(&r[0].int()) {
                ro.reports.insert(r[1].text(), ReportRec { outcome, stage: r[3].int() as usize });
            }
        }
        for r in c.query("SELECT rollout, device, side, latency_ms, hist FROM samples", &[])? {
            let confidence_hist = serde_json::from_str(&r[4].text()).map_err(|e| bad("histogram", e.to_string()))?;
            let m = Metrics { latency_ms: r[3].real(), confidence_hist, inferences: 0 };
            if let Some(ro) = s.rollouts.get_mut(&r[0].int()) {
                let side = if r[2].text() == "new" { &mut ro.new_samples } else { &mut ro.base_samples };
                side.insert(r[1].text(), m);
            }
        }
        Ok(s)
    }
}

/// A package from a `SELECT sha256, payload_sha256, name, version, target, size, meta_len` row.
pub fn package_of(r: &Row) -> Package {
    Package {
        sha256: r[0].text(),
        payload_sha256: r[1].text(),
        name: r[2].text(),
        version: r[3].int() as u64,
        target: r[4].text(),
        size: r[5].int() as u64,
        meta_len: r[6].int() as u64,
        deltas: BTreeMap::new(),
    }
}
