//! A device's model store: two slots (A/B) and one state file, so an install never touches the
//! model being served and a crash at any point leaves a verified model to serve.
//!
//! ```text
//! DIR/root.meta      the trusted root (pinned at first use, replaced by verified rotations)
//! DIR/state.json     the active slot, each slot's payload SHA-256 and version, trusted versions
//! DIR/slot-a.payload DIR/slot-b.payload
//! ```
//!
//! Every file is written to a temporary name, flushed, renamed over the old one and the
//! directory flushed. An install verifies the package (`mote_pkg::verify`), writes the payload
//! to the inactive slot, runs the safeguard gate on it, and only if the gate passes commits by
//! replacing `state.json` (the one rename that switches the active slot). At boot the active
//! slot's payload must hash to what `state.json` recorded, else the other slot is served.

use std::io::Write;
use std::path::{Path, PathBuf};

use mote_pkg::manifest::Manifest;
use mote_pkg::{Device, Trusted};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::gate::{self, GateReport};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("`{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("refused: {0}")]
    Refused(#[from] mote_pkg::VerifyError),
    #[error("{0}")]
    Bad(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// Writes `bytes` to `path` atomically and durably (temporary file, flush, rename, directory flush).
pub fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    }
    Ok(())
}

/// One slot's record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotRecord {
    pub sha256: String,
    pub name: String,
    pub model_version: u64,
}

/// The state file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// 0 (A) or 1 (B); `None` before the first install.
    pub active: Option<usize>,
    pub slots: [Option<SlotRecord>; 2],
    pub timestamp: u32,
    pub snapshot: u32,
    pub targets: u32,
    pub model: u64,
}

/// What a revert did: the slot now active and the model it holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reverted {
    pub slot: usize,
    pub record: SlotRecord,
}

/// What an install did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Installed {
    /// Verified, gated and committed: now active.
    Committed { slot: usize, model_version: u64, gate: GateReport },
    /// Verified but the gate failed: the previous model stays active.
    RolledBack { gate: GateReport },
}

/// The model store in a directory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    pub state: State,
}

const SLOTS: [&str; 2] = ["slot-a.payload", "slot-b.payload"];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Store {
    /// Opens (or creates) the store in `dir`; `root` pins the trusted root on first use.
    pub fn open(dir: &Path, root: Option<&[u8]>) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let rp = dir.join("root.meta");
        if !rp.exists() {
            let root =
                root.ok_or_else(|| StoreError::Bad(format!("`{}` has no trusted root yet: give one", dir.display())))?;
            write_durable(&rp, root)?;
        }
        let sp = dir.join("state.json");
        let state = match std::fs::read(&sp) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| StoreError::Bad(format!("`{}`: {e}", sp.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(StoreError::Io { path: sp, source: e }),
        };
        Ok(Store { dir: dir.to_path_buf(), state })
    }

    fn slot_path(&self, k: usize) -> PathBuf {
        self.dir.join(SLOTS[k])
    }

    /// The payload of slot `k` if it holds what the state recorded.
    fn intact(&self, k: usize) -> Option<Vec<u8>> {
        let rec = self.state.slots[k].as_ref()?;
        let b = std::fs::read(self.slot_path(k)).ok()?;
        (hex(&Sha256::digest(&b)) == rec.sha256).then_some(b)
    }

    /// The payload to serve and its slot: the active one if intact, else the other if intact.
    pub fn serving(&self) -> Option<(usize, Vec<u8>)> {
        let a = self.state.active?;
        self.intact(a).map(|b| (a, b)).or_else(|| self.intact(1 - a).map(|b| (1 - a, b)))
    }

    /// The record and payload of the slot being served (see [`Store::serving`]).
    pub fn serving_record(&self) -> Option<(usize, SlotRecord, Vec<u8>)> {
        let (k, b) = self.serving()?;
        Some((k, self.state.slots[k].clone()?, b))
    }

    /// Switches back to the other slot, which must hold `to_version` intact (its payload still
    /// hashes to the recorded digest), with the same atomic `state.json` replacement as an
    /// install. Not a download: the trusted versions stay, so anti-rollback still holds for
    /// packages. Reverting to the version already active is a no-op.
    pub fn revert(&mut self, to_version: u64) -> Result<Reverted, StoreError> {
        let active =
            self.state.active.ok_or_else(|| StoreError::Bad("nothing is installed: nothing to revert".into()))?;
        if let Some(rec) = &self.state.slots[active]
            && rec.model_version == to_version
            && self.intact(active).is_some()
        {
            return Ok(Reverted { slot: active, record: rec.clone() });
        }
        let other = 1 - active;
        let rec = self.state.slots[other].clone().ok_or_else(|| {
            StoreError::Bad(format!("cannot revert to version {to_version}: the other slot holds no model"))
        })?;
        if rec.model_version != to_version {
            return Err(StoreError::Bad(format!(
                "cannot revert to version {to_version}: the other slot holds version {}",
                rec.model_version
            )));
        }
        if self.intact(other).is_none() {
            return Err(StoreError::Bad(format!(
                "cannot revert to version {to_version}: slot {} no longer hashes to {} (overwritten by a later install)",
                ["A", "B"][other],
                rec.sha256
            )));
        }
        let mut next = self.state.clone();
        next.active = Some(other);
        let json = serde_json::to_vec_pretty(&next).map_err(|e| StoreError::Bad(e.to_string()))?;
        write_durable(&self.dir.join("state.json"), &json)?;
        self.state = next;
        Ok(Reverted { slot: other, record: rec })
    }

    /// Verifies `pkg` for `id` at `now`, writes it to the inactive slot, gates it and commits
    /// it if the gate passes.
    pub fn install(&mut self, pkg: &[u8], id: &Device<'_>, gate_runs: usize) -> Result<Installed, StoreError> {
        let rp = self.dir.join("root.meta");
        let root = std::fs::read(&rp).map_err(io(&rp))?;
        let s = &self.state;
        let trusted = Trusted { timestamp: s.timestamp, snapshot: s.snapshot, targets: s.targets, model: s.model };
        let v = mote_pkg::verify(pkg, &root, &trusted, id)?;
        let (manifest, model) = mote_pkg::payload::split(v.payload)?;
        let manifest: Manifest =
            serde_json::from_str(manifest).map_err(|e| StoreError::Bad(format!("the manifest: {e}")))?;
        let slot = self.state.active.map_or(0, |a| 1 - a);
        write_durable(&self.slot_path(slot), v.payload)?;
        let report = gate::check(&manifest, model, gate_runs);
        if !report.passed {
            return Ok(Installed::RolledBack { gate: report });
        }
        if let Some(r) = v.new_root {
            write_durable(&rp, r)?;
        }
        let mut next = self.state.clone();
        next.slots[slot] = Some(SlotRecord {
            sha256: hex(&Sha256::digest(v.payload)),
            name: v.entry.name.to_string(),
            model_version: v.entry.model_version,
        });
        next.active = Some(slot);
        (next.timestamp, next.snapshot, next.targets, next.model) =
            (v.trusted.timestamp, v.trusted.snapshot, v.trusted.targets, v.trusted.model);
        let json = serde_json::to_vec_pretty(&next).map_err(|e| StoreError::Bad(e.to_string()))?;
        write_durable(&self.dir.join("state.json"), &json)?;
        self.state = next;
        Ok(Installed::Committed { slot, model_version: v.entry.model_version, gate: report })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store whose slots hold `a` (v1) and `b` (v2), B active.
    fn two_slots(name: &str) -> (PathBuf, Store) {
        let dir = std::env::temp_dir().join(format!("mote-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = Store::open(&dir, Some(b"root")).unwrap();
        let rec =
            |b: &[u8], v| Some(SlotRecord { sha256: hex(&Sha256::digest(b)), name: "m".into(), model_version: v });
        std::fs::write(dir.join(SLOTS[0]), b"one").unwrap();
        std::fs::write(dir.join(SLOTS[1]), b"two").unwrap();
        s.state = State { active: Some(1), slots: [rec(b"one", 1), rec(b"two", 2)], model: 2, ..State::default() };
        (dir, s)
    }

    #[test]
    fn revert_switches_to_the_intact_other_slot_and_commits() {
        let (dir, mut s) = two_slots("revert");
        assert!(s.revert(3).unwrap_err().to_string().contains("the other slot holds version 1"));
        let r = s.revert(1).unwrap();
        assert_eq!((r.slot, r.record.model_version), (0, 1));
        // Committed: a reopened store serves slot A; the trusted versions did not move.
        let s2 = Store::open(&dir, None).unwrap();
        assert_eq!(s2.state.active, Some(0));
        assert_eq!(s2.state.model, 2);
        assert_eq!(s2.serving().unwrap(), (0, b"one".to_vec()));
        // Reverting to what is active is a no-op.
        assert_eq!(s.revert(1).unwrap().slot, 0);
    }

    #[test]
    fn revert_refuses_a_slot_that_no_longer_hashes_right() {
        let (dir, mut s) = two_slots("overwritten");
        std::fs::write(dir.join(SLOTS[0]), b"a later install's bytes").unwrap();
        assert!(s.revert(1).unwrap_err().to_string().contains("no longer hashes"));
        assert_eq!(s.state.active, Some(1));
        let mut empty = Store::open(&dir.join("empty"), Some(b"root")).unwrap();
        assert!(empty.revert(1).unwrap_err().to_string().contains("nothing is installed"));
    }
}
