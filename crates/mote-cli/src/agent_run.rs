//! `mote agent run`: the networked device agent. One loop checks in with the fleet server
//! (`mote_fleet::client`), downloads (resumably, a delta first when offered), installs through
//! the store (verify, inactive slot, gate, atomic commit), reverts when told, and reports; the
//! local inference API (`agent_serve`) serves the committed model the whole time.
//!
//! ```text
//! STORE/download.part   the package being downloaded (appended as it arrives)
//! STORE/download.json   what it is: {"sha256", "size"} of the package (written before the first byte)
//! STORE/installing.json {"rollout", "version"}: written before an install, replaced by report.json
//! STORE/report.json     the install's report until the server has it
//! ```
//! A crash between the store's commit and the report loses nothing: at start, a pending report
//! is sent, and an `installing.json` whose version the store now serves becomes an `installed`
//! report (else the offer comes again and the install is redone).
//! Invariant: the served model changes only after `Store::install` or `Store::revert` has
//! committed; a network error, a crash or a failed install leaves it as it was.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use mote_fleet::api::{Action, CheckIn, GateResult, Outcome, Report};
use mote_fleet::client::{Client, ClientError};
use mote_fleet::store::write_durable;
use mote_fleet::{Installed, Store};
use mote_pkg::Device;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::agent_serve::{Listen, Loaded, Shared};
use crate::pkg_cmd::now;

/// The settings of `mote agent run`.
pub struct RunConfig {
    pub server: String,
    pub token_file: PathBuf,
    pub store: PathBuf,
    pub root: Option<Vec<u8>>,
    pub name: String,
    pub target: String,
    pub interval: Duration,
    pub listen: Listen,
    pub gate_runs: usize,
    pub max_download_rate: Option<u64>,
}

/// Parses `5s`, `500ms`, `2m` or a number of seconds.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration: use 5s, 500ms, 2m or a number of seconds");
    let (num, unit) = s.find(|c: char| c.is_ascii_alphabetic()).map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let x: f64 = num.trim().parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => x / 1e3,
        "s" => x,
        "m" => x * 60.0,
        _ => return Err(bad()),
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn log(msg: impl std::fmt::Display) {
    eprintln!("mote agent: {msg}");
}

/// What is being downloaded into `download.part`.
#[derive(Serialize, Deserialize, PartialEq)]
struct Pending {
    sha256: String,
    size: u64,
}

#[derive(Serialize, Deserialize)]
struct Installing {
    rollout: i64,
    version: u64,
}

/// The report an earlier run of the agent did not deliver, if any (see the module doc).
fn recover(dir: &std::path::Path, store: &Store) -> Option<Report> {
    let (installing, report) = (dir.join("installing.json"), dir.join("report.json"));
    if let Some(r) = std::fs::read(&report).ok().and_then(|b| serde_json::from_slice::<Report>(&b).ok()) {
        let _ = std::fs::remove_file(&installing);
        log(format_args!("a report on rollout {} was not delivered: sending it", r.rollout));
        return Some(r);
    }
    let i: Installing = std::fs::read(&installing).ok().and_then(|b| serde_json::from_slice(&b).ok())?;
    let _ = std::fs::remove_file(&installing);
    let serving = store.serving_record().map(|(_, rec, _)| rec.model_version);
    (serving == Some(i.version)).then(|| {
        log(format_args!("v{} was committed before a restart: reporting it installed", i.version));
        Report { rollout: i.rollout, version: i.version, outcome: Outcome::Installed, gate: None, error: None }
    })
}

/// An install attempt that could not finish for a reason worth retrying (the network): no
/// report, the next check-in offers it again and the download resumes.
struct Retry(String);

struct Agent {
    cfg: RunConfig,
    client: Client,
    store: Store,
    shared: Arc<Shared>,
    /// A report the server has not acknowledged yet.
    unsent: Option<Report>,
}

/// Runs the agent until the process is stopped; returns only on a start-up error.
pub fn run(cfg: RunConfig) -> Result<std::convert::Infallible> {
    let token = std::fs::read_to_string(&cfg.token_file)
        .with_context(|| format!("cannot read the device token `{}`", cfg.token_file.display()))?;
    let client = Client::new(&cfg.server, token.trim());
    let store = Store::open(&cfg.store, cfg.root.as_deref())?;
    let loaded = match store.serving_record() {
        Some((slot, rec, payload)) => Some(Loaded::new(&rec, slot, &payload)?),
        None => None,
    };
    match &loaded {
        Some(m) => log(format_args!("serving {} v{} from slot {}", m.name, m.version, ["A", "B"][m.slot])),
        None => log("no model installed yet: waiting for the server to offer one"),
    }
    let shared = Arc::new(Shared::new(loaded));
    let mut cfg = cfg;
    let listen = std::mem::replace(&mut cfg.listen, Listen::Tcp(String::new()));
    let at = crate::agent_serve::spawn(shared.clone(), listen)?;
    println!("listening on {at}");
    let unsent = recover(&cfg.store, &store);
    let mut agent = Agent { cfg, client, store, shared, unsent };
    agent.run_loop()
}

impl Agent {
    fn run_loop(&mut self) -> ! {
        let mut failures = 0u32;
        loop {
            let ok = self.round();
            failures = if ok { 0 } else { failures.saturating_add(1) };
            let wait = if ok {
                self.cfg.interval
            } else {
                // Exponential backoff from the interval, at most a minute.
                (self.cfg.interval * 2u32.saturating_pow(failures.min(16))).min(Duration::from_secs(60))
            };
            std::thread::sleep(wait);
        }
    }

    /// One check-in and what it asks; false on a network error.
    fn round(&mut self) -> bool {
        if let Some(r) = self.unsent.take()
            && !self.send_report(r)
        {
            return false;
        }
        let current = self.shared.current();
        let metrics = self.shared.take_metrics();
        let ci = CheckIn {
            model: current.as_ref().map_or_else(String::new, |m| m.name.clone()),
            version: current.as_ref().map_or(0, |m| m.version),
            sha256: current.as_ref().map_or_else(String::new, |m| m.sha256.clone()),
            metrics: metrics.clone(),
        };
        let action = match self.client.checkin(&ci) {
            Ok(a) => a,
            Err(e) => {
                if let Some(m) = metrics {
                    self.shared.restore_metrics(m);
                }
                log(format_args!("check-in failed, will retry: {e}"));
                return !matches!(e, ClientError::Transport { .. });
            }
        };
        match action {
            Action::None => true,
            Action::Revert { rollout, to_version } => {
                match self.store.revert(to_version) {
                    Ok(r) => match self.store.serving_record().map(|(s, rec, p)| Loaded::new(&rec, s, &p)) {
                        Some(Ok(m)) if m.slot == r.slot => {
                            log(format_args!(
                                "rollout {rollout} halted: reverted to v{to_version} in slot {}",
                                ["A", "B"][r.slot]
                            ));
                            self.shared.swap(m);
                        }
                        _ => log(format_args!("reverted to v{to_version} but cannot load it; serving what was served")),
                    },
                    Err(e) => log(format_args!("rollout {rollout} halted, cannot revert: {e}")),
                }
                true
            }
            Action::Install { rollout, version, sha256, payload_sha256, size, url, delta } => {
                let offer = Offer { sha256, payload_sha256, size, url, delta };
                let marker = serde_json::to_vec(&Installing { rollout, version }).expect("serializable");
                if let Err(e) = write_durable(&self.cfg.store.join("installing.json"), &marker) {
                    log(format_args!("cannot install v{version}: {e}"));
                    return true;
                }
                let report = match self.install(&offer, version) {
                    Ok(r) => r,
                    Err(Retry(e)) => {
                        log(format_args!("install of v{version} interrupted, will resume: {e}"));
                        return false;
                    }
                };
                let report = Report { rollout, version, ..report };
                let json = serde_json::to_vec(&report).expect("serializable");
                if let Err(e) = write_durable(&self.cfg.store.join("report.json"), &json) {
                    log(format_args!("cannot keep the report: {e}"));
                }
                let _ = std::fs::remove_file(self.cfg.store.join("installing.json"));
                self.send_report(report)
            }
        }
    }

    /// Sends `r`; keeps it for the next round on a network error, else forgets it.
    fn send_report(&mut self, r: Report) -> bool {
        let sent = match self.client.report(&r) {
            Ok(_) => true,
            Err(e @ ClientError::Transport { .. }) => {
                log(format_args!("the report on rollout {} failed, will retry: {e}", r.rollout));
                self.unsent = Some(r);
                return false;
            }
            Err(e) => {
                log(format_args!("the server refused the report: {e}"));
                true
            }
        };
        let _ = std::fs::remove_file(self.cfg.store.join("report.json"));
        sent
    }

    fn paths(&self) -> (PathBuf, PathBuf) {
        (self.cfg.store.join("download.part"), self.cfg.store.join("download.json"))
    }

    /// Downloads, installs and gates the offered package; the report to send (its rollout and
    /// version are filled by the caller).
    fn install(&mut self, o: &Offer, version: u64) -> Result<Report, Retry> {
        let failed = |outcome, gate, error| Report { rollout: 0, version: 0, outcome, gate, error };
        let pkg = match self.fetch(o) {
            Ok(p) => p,
            Err(Fetch::Retry(e)) => return Err(Retry(e)),
            Err(Fetch::Fail(e)) => return Ok(failed(Outcome::InstallFailed, None, Some(e))),
        };
        let dev = Device {
            name: &self.cfg.name,
            target: &self.cfg.target,
            now: now(),
            max_metadata: 1 << 20,
            max_payload: 1 << 30,
        };
        let result = self.store.install(&pkg, &dev, self.cfg.gate_runs);
        let (part, meta) = self.paths();
        let _ = std::fs::remove_file(&part);
        let _ = std::fs::remove_file(&meta);
        match result {
            Ok(Installed::Committed { slot, .. }) => {
                let loaded = self.store.serving_record().map(|(s, rec, p)| Loaded::new(&rec, s, &p));
                match loaded {
                    Some(Ok(m)) if m.slot == slot => {
                        log(format_args!("installed {} v{version} in slot {}", m.name, ["A", "B"][slot]));
                        self.shared.swap(m);
                        Ok(failed(Outcome::Installed, None, None))
                    }
                    Some(Err(e)) => Ok(failed(Outcome::InstallFailed, None, Some(format!("{e:#}")))),
                    _ => Ok(failed(Outcome::InstallFailed, None, Some("the committed slot is not intact".into()))),
                }
            }
            Ok(Installed::RolledBack { gate }) => {
                log(format_args!("v{version} failed the safeguard gate: {}", gate.reasons.join("; ")));
                let g = GateResult {
                    golden_max_diff: gate.golden_max_diff.iter().copied().reduce(f32::max).map(f64::from),
                    latency_ms: Some(gate.latency_ms),
                    memory_bytes: Some(gate.memory_bytes),
                    reasons: gate.reasons,
                };
                Ok(failed(Outcome::GateFailed, Some(g), None))
            }
            Err(e) => {
                log(format_args!("v{version} refused: {e}"));
                Ok(failed(Outcome::InstallFailed, None, Some(e.to_string())))
            }
        }
    }

    /// The package's bytes: rebuilt from the delta when one is offered and it hashes right,
    /// else downloaded (resuming what `download.part` holds).
    fn fetch(&mut self, o: &Offer) -> Result<Vec<u8>, Fetch> {
        if let Some(d) = &o.delta {
            match self.rebuild_from_delta(o, d) {
                Ok(p) => {
                    log(format_args!("rebuilt the package from a {}-byte delta", d.size));
                    return Ok(p);
                }
                Err(e) => log(format_args!("the delta did not give the package ({e}); downloading it whole")),
            }
        }
        let (part, meta) = self.paths();
        let want = Pending { sha256: o.sha256.clone(), size: o.size };
        let same = std::fs::read(&meta).ok().and_then(|b| serde_json::from_slice::<Pending>(&b).ok()) == Some(want);
        if !same {
            let _ = std::fs::remove_file(&part);
            let json = serde_json::json!({"sha256": o.sha256, "size": o.size}).to_string();
            write_durable(&meta, json.as_bytes()).map_err(|e| Fetch::Fail(e.to_string()))?;
        }
        for attempt in 0..2 {
            let f =
                self.client.download_to(&o.url, o.size, &part, self.cfg.max_download_rate).map_err(|e| match e {
                    ClientError::Status { status, .. } if (400..500).contains(&status) && status != 416 => {
                        Fetch::Fail(e.to_string())
                    }
                    e => Fetch::Retry(e.to_string()),
                })?;
            if f.resumed_at > 0 {
                log(format_args!(
                    "download resumed at byte {} of {} ({} bytes fetched now)",
                    f.resumed_at, o.size, f.fetched
                ));
            }
            let bytes = std::fs::read(&part).map_err(|e| Fetch::Retry(format!("`{}`: {e}", part.display())))?;
            if hex(&Sha256::digest(&bytes)) == o.sha256 {
                return Ok(bytes);
            }
            log(format_args!("the download does not hash to {} (attempt {}): starting over", o.sha256, attempt + 1));
            let _ = std::fs::remove_file(&part);
        }
        Err(Fetch::Fail(format!("the package downloaded from {} does not hash to {}", o.url, o.sha256)))
    }

    fn rebuild_from_delta(&self, o: &Offer, d: &mote_fleet::api::DeltaOffer) -> Result<Vec<u8>> {
        let Some((_, rec, old)) = self.store.serving_record() else { bail!("no payload to apply it to") };
        if rec.sha256 != d.from_sha256 {
            bail!("it applies to payload {}, this device runs {}", d.from_sha256, rec.sha256);
        }
        let delta = self.client.download(&d.url, d.size)?;
        let payload = mote_pkg::delta::apply(&old, &delta, o.size as usize).map_err(|e| anyhow::anyhow!("{e}"))?;
        if hex(&Sha256::digest(&payload)) != o.payload_sha256 {
            bail!("the rebuilt payload does not hash to {}", o.payload_sha256);
        }
        let range = format!("bytes=0-{}", d.meta_len.saturating_sub(1));
        let r = self.client.raw("GET", &o.url, None, &[("Range", &range)])?;
        if r.status != 206 || r.body.len() as u64 != d.meta_len {
            bail!(
                "the metadata prefix: HTTP {} with {} bytes, expected 206 with {}",
                r.status,
                r.body.len(),
                d.meta_len
            );
        }
        let mut pkg = r.body;
        pkg.extend_from_slice(&payload);
        if hex(&Sha256::digest(&pkg)) != o.sha256 {
            bail!("the rebuilt package does not hash to {}", o.sha256);
        }
        Ok(pkg)
    }
}

struct Offer {
    sha256: String,
    payload_sha256: String,
    size: u64,
    url: String,
    delta: Option<mote_fleet::api::DeltaOffer>,
}

enum Fetch {
    Retry(String),
    Fail(String),
}

#[cfg(test)]
mod tests {
    use super::parse_interval;
    use std::time::Duration;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_interval("3"), Ok(Duration::from_secs(3)));
        assert!(parse_interval("0s").is_err() && parse_interval("5h").is_err() && parse_interval("x").is_err());
    }
}
