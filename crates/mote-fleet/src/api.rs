//! The fleet server's wire types (JSON over HTTP, `/v1/...`), shared by the server
//! (`mote-server`) and device agents. Serde only: no async runtime, no HTTP.
//!
//! Hashes are lowercase hex SHA-256. A package's `sha256` addresses the whole `.motepkg` file
//! (what is downloaded); `payload_sha256` is the signed payload's, which a device's store
//! records and reports in its check-ins.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Every error response: what went wrong and what to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// A package the server stores (`POST /v1/packages`, `GET /v1/packages`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: u64,
    pub target: String,
    /// SHA-256 of the `.motepkg` file.
    pub sha256: String,
    /// SHA-256 of the signed payload.
    pub payload_sha256: String,
    /// Bytes of the `.motepkg` file.
    pub size: u64,
    /// Deltas to this package from earlier ones of the same name and target.
    #[serde(default)]
    pub deltas: Vec<DeltaInfo>,
}

/// A stored delta to a package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeltaInfo {
    pub from_version: u64,
    pub from_payload_sha256: String,
    pub size: u64,
}

/// `POST /v1/devices`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Enrol {
    pub id: String,
    pub target: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// The answer to an enrolment: the device's bearer token (shown once; the server keeps its hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Enrolled {
    pub id: String,
    pub token: String,
}

/// A device as `GET /v1/devices` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub id: String,
    pub target: String,
    pub labels: BTreeMap<String, String>,
    pub model: String,
    pub version: u64,
    pub sha256: String,
    /// Unix milliseconds of the last check-in (0: never).
    pub last_seen: i64,
}

/// The thresholds a rollout's stages must hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Gates {
    /// Halt above this share of `install_failed` reports.
    pub max_install_failure_rate: f64,
    /// Halt above this share of `gate_failed` reports.
    pub max_gate_failure_rate: f64,
    /// Halt when the median latency on the new model over the median on the previous one exceeds this.
    pub max_latency_regression: f64,
    /// Halt when the PSI between the new and old top-1-confidence histograms exceeds this.
    pub max_confidence_shift: f64,
    /// Reports (and metric samples) a stage needs before it may advance or a rate may halt it;
    /// capped by the stage's device count, so a 1% stage of 100 devices decides on its one device.
    pub min_reports: u64,
    /// Seconds a stage runs at least before it advances.
    pub min_stage_seconds: u64,
}

impl Default for Gates {
    fn default() -> Gates {
        Gates {
            max_install_failure_rate: 0.05,
            max_gate_failure_rate: 0.05,
            max_latency_regression: 1.5,
            max_confidence_shift: 0.25,
            min_reports: 20,
            min_stage_seconds: 60,
        }
    }
}

/// The default stages: percent of the target's enrolled devices.
pub const DEFAULT_STAGES: [f64; 4] = [1.0, 10.0, 50.0, 100.0];

fn default_stages() -> Vec<f64> {
    DEFAULT_STAGES.to_vec()
}

/// `POST /v1/rollouts`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRollout {
    pub model: String,
    pub version: u64,
    pub target: String,
    #[serde(default = "default_stages")]
    pub stages: Vec<f64>,
    #[serde(default)]
    pub gates: Gates,
}

/// `POST /v1/rollouts/{id}/resume`: optionally with new thresholds (else the old ones).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    #[serde(default)]
    pub gates: Option<Gates>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RolloutState {
    Running,
    Completed,
    Halted,
}

impl RolloutState {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::Running => "running",
            RolloutState::Completed => "completed",
            RolloutState::Halted => "halted",
        }
    }

    pub fn parse(s: &str) -> Option<RolloutState> {
        [RolloutState::Running, RolloutState::Completed, RolloutState::Halted].into_iter().find(|r| r.as_str() == s)
    }
}

/// Why a rollout halted, with the numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Halt {
    /// The threshold that was crossed (`max_install_failure_rate`, `max_gate_failure_rate`,
    /// `max_latency_regression`, `max_confidence_shift`) or `manual`.
    pub gate: String,
    pub reason: String,
    pub value: f64,
    pub threshold: f64,
    /// Reports or samples the value was computed from.
    pub n: u64,
}

/// Devices per latest report outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub installed: u64,
    pub install_failed: u64,
    pub gate_failed: u64,
    /// Devices told to install (assigned).
    pub offered: u64,
    /// Devices that installed the new model and now run another one again.
    pub reverted: u64,
}

/// `GET /v1/rollouts/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolloutStatus {
    pub id: i64,
    pub model: String,
    pub version: u64,
    pub target: String,
    pub sha256: String,
    pub state: RolloutState,
    /// Index into `stages`.
    pub stage: usize,
    pub stages: Vec<f64>,
    pub gates: Gates,
    /// Devices of the target in the current stage (of `target_devices`).
    pub stage_devices: u64,
    pub target_devices: u64,
    pub counts: Counts,
    pub halt: Option<Halt>,
    /// Unix milliseconds the current stage began.
    pub stage_started: i64,
}

/// A device's model metrics since its last check-in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub latency_ms: f64,
    /// Top-1 confidence in ten buckets of 0.1.
    pub confidence_hist: [u32; 10],
    pub inferences: u64,
}

/// `POST /v1/checkin`: what the device runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckIn {
    /// The model name (empty before the first install).
    pub model: String,
    pub version: u64,
    /// The payload SHA-256 the device's store recorded.
    pub sha256: String,
    #[serde(default)]
    pub metrics: Option<Metrics>,
}

/// A delta the device may fetch instead of the full package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeltaOffer {
    /// The payload it applies to (the device's current one).
    pub from_sha256: String,
    pub size: u64,
    pub url: String,
    /// The new package is `bytes 0..meta_len` of the full package (its metadata, fetched with
    /// a Range request) followed by the rebuilt payload.
    pub meta_len: u64,
}

/// The answer to a check-in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Action {
    None,
    Install {
        rollout: i64,
        version: u64,
        /// SHA-256 of the package to download.
        sha256: String,
        payload_sha256: String,
        size: u64,
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delta: Option<DeltaOffer>,
    },
    /// Switch back to the other A/B slot, which holds `to_version`.
    Revert {
        rollout: i64,
        to_version: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Installed,
    InstallFailed,
    GateFailed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Installed => "installed",
            Outcome::InstallFailed => "install_failed",
            Outcome::GateFailed => "gate_failed",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Installed, Outcome::InstallFailed, Outcome::GateFailed].into_iter().find(|o| o.as_str() == s)
    }
}

/// The safeguard gate's numbers as a device reports them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    #[serde(default)]
    pub golden_max_diff: Option<f64>,
    #[serde(default)]
    pub latency_ms: Option<f64>,
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// `POST /v1/reports`: what an install did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub rollout: i64,
    pub version: u64,
    pub outcome: Outcome,
    #[serde(default)]
    pub gate: Option<GateResult>,
    #[serde(default)]
    pub error: Option<String>,
}
