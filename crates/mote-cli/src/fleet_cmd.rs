//! `mote fleet`: the fleet update server (`mote-server`) and a load generator for it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mote_fleet::api::{Action, CheckIn, Enrol, Enrolled, Gates, Metrics, NewRollout, RolloutStatus};
use mote_fleet::client::Client;

const FLEET_HELP: &str = "\
The fleet update server and its load generator. The server stores signed packages (and deltas
between versions), enrols devices, answers their check-ins and runs staged rollouts that halt
and tell devices to revert when install failures, safeguard-gate failures, latency regression or
a shift of the output confidence exceed the thresholds. The API is documented at
GET /v1/openapi.json and in docs/FLEET.md.

Examples:
  mote fleet serve --data /var/lib/mote-fleet                      SQLite in DIR/fleet.db
  mote fleet serve --data DIR --db postgres://mote@localhost/fleet --root root.meta
  TOKEN=$(cat DIR/admin.token)
  curl -H \"Authorization: Bearer $TOKEN\" --data-binary @kws-3.motepkg http://127.0.0.1:8440/v1/packages
  curl -H \"Authorization: Bearer $TOKEN\" -d '{\"id\":\"cam-17\",\"target\":\"x86_64\"}' http://127.0.0.1:8440/v1/devices
  curl -H \"Authorization: Bearer $TOKEN\" -d '{\"model\":\"kws\",\"version\":3,\"target\":\"x86_64\"}' \\
       http://127.0.0.1:8440/v1/rollouts
  mote fleet load --url http://127.0.0.1:8440 --token-file DIR/admin.token --devices 1000 --requests 100000";

/// Arguments of `mote fleet`.
#[derive(clap::Args, Debug)]
#[command(about = "Fleet update server: packages, devices, staged rollouts with safeguard gates", after_help = FLEET_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    Serve(ServeArgs),
    Load(LoadArgs),
}

const SERVE_HELP: &str = "\
Serves the API until SIGINT or SIGTERM. DIR holds fleet.db (SQLite, WAL; unless --db names a
PostgreSQL database), artifacts/ (packages and deltas by SHA-256) and admin.token (generated at
first start, mode 0600, unless --admin-token-file). Everything a rollout decides is committed to
the database before it is answered, so a restart (even after kill -9) continues every rollout.

Examples:
  mote fleet serve --data fleet/ --listen 127.0.0.1:8440
  mote fleet serve --data fleet/ --db postgres://mote@127.0.0.1:5432/fleet --root root.meta
  RUST_LOG=debug mote fleet serve --data fleet/";

/// Arguments of `mote fleet serve`.
#[derive(clap::Args, Debug)]
#[command(about = "Run the fleet update server", after_help = SERVE_HELP)]
pub struct ServeArgs {
    /// The data directory (created if missing).
    #[arg(long)]
    data: PathBuf,
    /// The address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8440")]
    listen: SocketAddr,
    /// A PostgreSQL URL (postgres://USER@HOST:PORT/DB) instead of SQLite in DIR/fleet.db.
    #[arg(long)]
    db: Option<String>,
    /// Read the admin token from this file instead of DIR/admin.token.
    #[arg(long)]
    admin_token_file: Option<PathBuf>,
    /// A trusted root (root.meta): a package is published only if its chain verifies against it.
    #[arg(long)]
    root: Option<PathBuf>,
    /// How often check-in data is flushed and rollouts are evaluated, in milliseconds.
    #[arg(long, default_value_t = 500)]
    tick_ms: u64,
    /// The largest package accepted, in MiB.
    #[arg(long, default_value_t = 256)]
    max_package_mb: usize,
}

const LOAD_HELP: &str = "\
Enrols DEVICES devices (ids load-<run>-<i>) with the admin token, optionally publishes a test
package and starts a rollout to all of them (--rollout: check-ins then take the rollout path
and are told to install), then sends REQUESTS check-ins from CONCURRENCY connections, each with
metrics, and prints check-ins per second and latency percentiles. Bounded: it stops after
REQUESTS check-ins. Use it against a server on loopback only.

Examples:
  mote fleet load --url http://127.0.0.1:8440 --token-file fleet/admin.token
  mote fleet load --url http://127.0.0.1:8440 --token-file fleet/admin.token --devices 1000 \\
       --requests 100000 --concurrency 64 --rollout --json";

/// Arguments of `mote fleet load`.
#[derive(clap::Args, Debug)]
#[command(about = "Measure check-ins per second and latency against a server", after_help = LOAD_HELP)]
pub struct LoadArgs {
    #[arg(long)]
    url: String,
    /// The file holding the admin token.
    #[arg(long)]
    token_file: PathBuf,
    #[arg(long, default_value_t = 1000)]
    devices: usize,
    #[arg(long, default_value_t = 100_000)]
    requests: usize,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Publish a test package and roll it out to the load devices first.
    #[arg(long)]
    rollout: bool,
    #[arg(long)]
    json: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    match a.command {
        Command::Serve(s) => serve(s),
        Command::Load(l) => load(l),
    }
}

fn serve(a: ServeArgs) -> Result<ExitCode> {
    mote_server::init_logging();
    let mut c = mote_server::Config::new(a.listen, a.data.clone());
    c.db = a.db;
    c.admin_token_file = a.admin_token_file.clone();
    c.root = a.root;
    c.tick = Duration::from_millis(a.tick_ms.max(10));
    c.max_package_bytes = a.max_package_mb.saturating_mul(1 << 20);
    c.handle_signals = true;
    let s = mote_server::spawn(c).map_err(anyhow::Error::msg)?;
    let token = a.admin_token_file.unwrap_or_else(|| a.data.join("admin.token"));
    println!("listening on {}", s.url());
    println!("admin token in {}", token.display());
    use std::io::Write;
    std::io::stdout().flush()?;
    s.wait().map_err(anyhow::Error::msg)?;
    Ok(ExitCode::SUCCESS)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

fn load(a: LoadArgs) -> Result<ExitCode> {
    if a.devices == 0 || a.concurrency == 0 {
        bail!("--devices and --concurrency must be at least 1");
    }
    let token = std::fs::read_to_string(&a.token_file)
        .with_context(|| format!("cannot read the admin token `{}`", a.token_file.display()))?;
    let admin = Client::new(&a.url, token.trim());
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() % 1_000_000_000;
    let target = format!("load-{run}");
    let t = Instant::now();
    let mut devices = Vec::with_capacity(a.devices);
    for i in 0..a.devices {
        let e = Enrol { id: format!("load-{run}-{i}"), target: target.clone(), labels: Default::default() };
        let r: Enrolled = admin.call("POST", "/v1/devices", Some(&e)).context("enrolling load devices")?;
        devices.push(r.token);
    }
    eprintln!("enrolled {} devices in {:.1} s", a.devices, t.elapsed().as_secs_f64());
    if a.rollout {
        let signer = mote_pkg::make::TestSigner::generate(u64::from(u32::MAX)).map_err(anyhow::Error::msg)?;
        let manifest = serde_json::json!({"name": "load", "version": 1, "target": target, "inputs": [],
            "outputs": [], "min_runtime": "1.0"});
        let payload = mote_pkg::payload::join(&manifest.to_string(), &[0u8; 4096]).map_err(anyhow::Error::msg)?;
        let pkg = signer.package("load", 1, &target, &payload).map_err(anyhow::Error::msg)?;
        let r = admin.raw("POST", "/v1/packages", Some(&pkg), &[])?;
        let _: serde_json::Value = mote_fleet::client::parse("/v1/packages", r)?;
        let gates = Gates { min_stage_seconds: 3600, ..Gates::default() };
        let nr = NewRollout { model: "load".into(), version: 1, target: target.clone(), stages: vec![100.0], gates };
        let st: RolloutStatus = admin.call("POST", "/v1/rollouts", Some(&nr))?;
        eprintln!("rollout {} of a test package to the {} load devices", st.id, a.devices);
    }
    let devices = Arc::new(devices);
    let next = Arc::new(AtomicUsize::new(0));
    let installs = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let threads: Vec<_> = (0..a.concurrency)
        .map(|_| {
            let (devices, next, installs, admin) = (devices.clone(), next.clone(), installs.clone(), admin.clone());
            let (requests, model) = (a.requests, if a.rollout { "load" } else { "" });
            std::thread::spawn(move || -> Result<Vec<u32>> {
                let mut lat = Vec::new();
                let client = Client::new(&admin.url(""), "");
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        return Ok(lat);
                    }
                    let c = client.with_token(&devices[i % devices.len()]);
                    let body = CheckIn {
                        model: model.into(),
                        version: 0,
                        sha256: String::new(),
                        metrics: Some(Metrics {
                            latency_ms: 5.0 + (i % 7) as f64,
                            confidence_hist: [0, 0, 0, 0, 1, 2, 4, 8, 16, 8],
                            inferences: 100,
                        }),
                    };
                    let s = Instant::now();
                    let act = c.checkin(&body)?;
                    lat.push(s.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                    if matches!(act, Action::Install { .. }) {
                        installs.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let mut lat = Vec::with_capacity(a.requests);
    for th in threads {
        lat.extend(th.join().map_err(|_| anyhow::anyhow!("a load thread panicked"))??);
    }
    let secs = t.elapsed().as_secs_f64();
    lat.sort_unstable();
    let rate = lat.len() as f64 / secs;
    let (p50, p99, max) = (percentile(&lat, 50.0), percentile(&lat, 99.0), percentile(&lat, 100.0));
    let installs = installs.load(Ordering::Relaxed);
    if a.json {
        println!(
            "{}",
            serde_json::json!({"devices": a.devices, "requests": lat.len(), "concurrency": a.concurrency,
                "rollout": a.rollout, "seconds": secs, "checkins_per_second": rate, "p50_ms": p50, "p99_ms": p99,
                "max_ms": max, "install_answers": installs})
        );
    } else {
        println!(
            "{} check-ins from {} devices over {} connections in {secs:.2} s: {rate:.0}/s, p50 {p50:.2} ms, \
             p99 {p99:.2} ms, max {max:.2} ms ({installs} told to install)",
            lat.len(),
            a.devices,
            a.concurrency
        );
    }
    Ok(ExitCode::SUCCESS)
}
