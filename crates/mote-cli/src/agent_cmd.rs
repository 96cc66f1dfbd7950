//! `mote agent`: the device side (`mote-fleet`): install into A/B slots behind the safeguard
//! gate, by hand (`install`) or from a fleet server while serving inferences (`run`).

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

`run` is the networked agent: it serves the active model on a local HTTP API and checks in with
a fleet server (`mote fleet serve`) every --interval, sending what it runs and the metrics of
the inferences served since the last check-in (median latency, top-1 confidence histogram,
count). Told to install, it downloads the package into STORE/download.part (resumed with a
Range request after a crash or a dropped connection; a delta from the running payload first
when offered), installs it as `install` does and reports installed, gate_failed or
install_failed. Told to revert (a halted rollout), it switches back to the other slot, which
holds the previous verified model. The served model changes only after a commit; network errors
are retried with backoff. The first stdout line says where the API listens:

  GET  /v1/status   {\"model\", \"version\", \"slot\", \"sha256\", \"inferences\"}
  POST /v1/infer    {\"inputs\": {\"input\": {\"shape\": [1, 64], \"data\": [...]}}}
                    -> {\"outputs\": {NAME: {\"dtype\", \"shape\", \"data\"}}, \"version\", \"latency_ms\"}

Examples:
  mote agent install kws-3.motepkg --store /var/lib/mote --root root.meta --name kws --target x86_64
  mote agent status --store /var/lib/mote --json
  mote agent run --server http://fleet.local:8440 --token-file /etc/mote/token \\
      --store /var/lib/mote --root root.meta --name kws --target x86_64 --interval 30s
  mote agent run ... --socket /run/mote.sock      # the API on a Unix socket instead of TCP
  curl -s localhost:8441/v1/status
  curl -s -d '{\"inputs\": {\"x\": {\"shape\": [1, 3], \"data\": [1, 2, 3]}}}' localhost:8441/v1/infer";

/// Arguments of `mote agent`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Device side: install packages into A/B slots behind the safeguard gate; run the networked agent",
    after_help = AGENT_HELP
)]
pub struct Args {
    /// install, status or run.
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
    /// run: the fleet server's base URL.
    #[arg(long)]
    server: Option<String>,
    /// run: a file holding this device's token (from its enrolment).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// run: time between check-ins (5s, 500ms, 2m).
    #[arg(long, default_value = "5s")]
    interval: String,
    /// run: the local API's TCP address (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8441")]
    listen: String,
    /// run: serve the local API on this Unix socket instead of TCP.
    #[arg(long)]
    socket: Option<PathBuf>,
    /// run: the most bytes per second a download may take (metered links).
    #[arg(long)]
    max_download_rate: Option<u64>,
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
        "run" => {
            drop(store);
            let interval = crate::agent_run::parse_interval(&a.interval).map_err(anyhow::Error::msg)?;
            if a.name.is_empty() || a.target.is_empty() {
                bail!("run needs --name (the model this device runs) and --target (its target, e.g. x86_64)");
            }
            let cfg = crate::agent_run::RunConfig {
                server: a.server.context("run needs --server URL (the fleet server, e.g. http://127.0.0.1:8440)")?,
                token_file: a.token_file.context("run needs --token-file F (the device token from enrolment)")?,
                store: a.store,
                root,
                name: a.name,
                target: a.target,
                interval,
                listen: match a.socket {
                    Some(p) => crate::agent_serve::Listen::Unix(p),
                    None => crate::agent_serve::Listen::Tcp(a.listen),
                },
                gate_runs: a.gate_runs,
                max_download_rate: a.max_download_rate,
            };
            match crate::agent_run::run(cfg)? {}
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
        other => bail!("unknown action `{other}`: use install, status or run"),
    }
}
