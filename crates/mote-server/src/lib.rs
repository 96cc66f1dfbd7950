//! Mote's fleet update server (`mote fleet serve`): stores signed packages and the deltas
//! between them, enrols devices, answers their check-ins, and runs staged rollouts that advance
//! while their gates hold and halt (telling devices to revert) when install failures, gate
//! failures, latency regression or a confidence shift exceed the thresholds. See `docs/FLEET.md`.
//!
//! Storage: SQLite (one file, WAL) or PostgreSQL behind [`db::Conn`], the same SQL; artifacts
//! through `object_store` (a local directory, addressed by SHA-256). The state lives in memory
//! ([`state`]) and every change that matters (enrolments, packages, rollouts, reports, stage
//! transitions) is committed to the database before it is applied, so a killed server loses
//! nothing but the last tick of check-in timestamps and metric samples.
//!
//! Only this crate uses tokio, axum and SQL; device-side crates (`mote-fleet`, `mote-pkg`) do
//! not depend on it. The wire types are `mote_fleet::api`.

pub mod auth;
pub mod db;
pub mod engine;
pub mod error;
pub mod state;

mod artifacts;
mod device;
mod http;
mod publish;
mod rollout;
mod routes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::ObjectStore;

/// How to run the server.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// The data directory: `fleet.db` (SQLite), `artifacts/`, `admin.token`.
    pub data: PathBuf,
    /// A `postgres://` URL, else SQLite in `data/fleet.db`.
    pub db: Option<String>,
    pub admin_token_file: Option<PathBuf>,
    /// A trusted root: packages must verify against it to be published.
    pub root: Option<PathBuf>,
    /// How often batched check-in data is flushed and rollouts are evaluated.
    pub tick: Duration,
    /// The largest package accepted.
    pub max_package_bytes: usize,
    /// Stop on SIGINT/SIGTERM (the command line), flushing batched writes first.
    pub handle_signals: bool,
}

impl Config {
    pub fn new(listen: SocketAddr, data: PathBuf) -> Config {
        Config {
            listen,
            data,
            db: None,
            admin_token_file: None,
            root: None,
            tick: Duration::from_millis(500),
            max_package_bytes: 256 << 20,
            handle_signals: false,
        }
    }
}

/// The shared server state.
pub struct App {
    pub db: db::Db,
    pub store: Arc<dyn ObjectStore>,
    pub state: Mutex<state::State>,
    /// Serializes state transitions (reports, rollout changes) so each is one transaction.
    pub writer: tokio::sync::Mutex<()>,
    pub admin_sha256: [u8; 32],
    pub root: Option<Vec<u8>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("db", &self.db.kind).finish_non_exhaustive()
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pub admin_token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Server {
    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving, flushes batched writes and waits.
    pub fn stop(mut self) -> Result<(), String> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), String> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| "the server thread panicked".to_string())?,
            None => Ok(()),
        }
    }

    /// Blocks until the server stops (by signal, in `run`).
    pub fn wait(mut self) -> Result<(), String> {
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| "the server thread panicked".to_string())?,
            None => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Opens the database and the artifact store, loads the state and serves on its own runtime
/// (two worker threads) in a background thread; returns once it listens.
pub fn spawn(config: Config) -> Result<Server, String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("mote-server".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the async runtime: {e}"))?;
            rt.block_on(http::serve(config, ready_tx, stop_rx))
        })
        .map_err(|e| format!("cannot start the server thread: {e}"))?;
    match ready_rx.recv() {
        Ok(Ok((addr, admin_token))) => Ok(Server { addr, admin_token, stop: Some(stop_tx), thread: Some(thread) }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => Err(thread.join().map_or_else(
            |_| "the server thread panicked".into(),
            |r| r.err().unwrap_or_else(|| "the server stopped while starting".into()),
        )),
    }
}

/// Logs to stderr (`RUST_LOG` filters; `info` by default).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
