//! `mote agent`: the device side (`mote-fleet`): install into A/B slots behind the safeguard gate.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use mote_pkg::Device;

use crate::pkg_cmd::now;

const AGENT_HELP: &str = "\
The device side: a model store with two slots (A/B). `install` verifies a package against the
store's trusted root and versions, writes it to the inactive slot, runs the safeguard gate
(golden outputs within tolerance, latency and memory within the manifest's budgets, on this
device) and only then switches the active slot with one atomic rename; a failed gate leaves the
running model active (rollback). `status` shows what is served: the active slot if its payload
still hashes to the recorded digest, else the other one.

Examples:
  mote agent install kws-3.motepkg --store /var/lib/mote --root root.meta --name kws --target x86_64
  mote agent status --store /var/lib/mote --json";

/// Arguments of `mote agent`.
#[derive(clap::Args, Debug)]
#[command(about = "Device side: install packages into A/B slots behind the safeguard gate", after_help = AGENT_HELP)]
pub struct Args {
    /// install or status.
    action: String,
    /// The package to install.
    package: Option<PathBuf>,
    /// The store directory.
    #[arg(long)]
    store: PathBuf,
    /// The root to pin on first use.
    #[arg(long)]
    root: Option<PathBuf>,
    #[arg(long, default_value = "")]
    name: String,
    #[arg(long, default_value = "")]
    target: String,
    /// Timed runs for the gate's latency.
    #[arg(long, default_value_t = 20)]
    gate_runs: usize,
    #[arg(long)]
    json: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let root = a.root.as_ref().map(std::fs::read).transpose().context("cannot read the root")?;
    let mut store = mote_fleet::Store::open(&a.store, root.as_deref())?;
    match a.action.as_str() {
        "install" => {
            let p = a.package.as_ref().context("install needs a package")?;
            let pkg = std::fs::read(p).with_context(|| format!("cannot read `{}`", p.display()))?;
            let dev =
                Device { name: &a.name, target: &a.target, now: now(), max_metadata: 1 << 20, max_payload: 1 << 30 };
            let r = store.install(&pkg, &dev, a.gate_runs)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                match &r {
                    mote_fleet::Installed::Committed { slot, model_version, gate } => println!(
                        "installed {} v{model_version} in slot {} (gate passed: golden max diff {:?}, {:.3} ms, {} bytes)",
                        a.name,
                        ["A", "B"][*slot],
                        gate.golden_max_diff,
                        gate.latency_ms,
                        gate.memory_bytes
                    ),
                    mote_fleet::Installed::RolledBack { gate } => {
                        println!("gate failed, the running model stays: {}", gate.reasons.join("; "))
                    }
                }
            }
            Ok(if matches!(r, mote_fleet::Installed::Committed { .. }) { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        "status" => {
            let serving = store.serving();
            let rec = serving.as_ref().and_then(|(k, _)| store.state.slots[*k].clone());
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"serving_slot": serving.as_ref().map(|(k, _)| ["A", "B"][*k]),
                        "model": rec, "state": store.state})
                );
            } else {
                match (&serving, &rec) {
                    (Some((k, _)), Some(r)) => {
                        println!("serving {} v{} from slot {} ({})", r.name, r.model_version, ["A", "B"][*k], r.sha256)
                    }
                    _ => println!("no verified model installed"),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        other => bail!("unknown action `{other}`: use install or status"),
    }
}
