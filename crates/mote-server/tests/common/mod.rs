//! Test helpers: a server on loopback (SQLite in a fresh directory, or a fresh PostgreSQL
//! database when `MOTE_TEST_POSTGRES` is set), packages signed by test keys, simple agents.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mote_fleet::api::{Action, CheckIn, Enrol, Enrolled, Metrics, NewRollout, Outcome, Report, RolloutStatus};
use mote_fleet::client::Client;
use mote_pkg::make::TestSigner;
use mote_server::{Config, Server};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static N: AtomicUsize = AtomicUsize::new(0);

pub fn tmp(name: &str) -> PathBuf {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("mote-server-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The PostgreSQL URL of a fresh database, or `None` (skipped, with the reason printed) when
/// `MOTE_TEST_POSTGRES` is unset; panics then if `MOTE_REQUIRE_POSTGRES=1`.
pub fn fresh_postgres(name: &str) -> Option<String> {
    let Ok(url) = std::env::var("MOTE_TEST_POSTGRES") else {
        let msg = "MOTE_TEST_POSTGRES is not set (scripts/postgres-env.sh starts a throwaway server and prints it)";
        if std::env::var("MOTE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("MOTE_REQUIRE_POSTGRES=1 but {msg}");
        }
        eprintln!("SKIPPED {name} on PostgreSQL: {msg}");
        return None;
    };
    let (base, _) = url.rsplit_once('/').expect("MOTE_TEST_POSTGRES is postgres://USER@HOST:PORT/DB");
    let db = format!("mote_{}_{}_{}", name, std::process::id(), N.fetch_add(1, Ordering::SeqCst));
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect to MOTE_TEST_POSTGRES");
    c.batch_execute(&format!("CREATE DATABASE {db}")).expect("create a test database");
    Some(format!("{base}/{db}"))
}

/// A config on an ephemeral loopback port in a fresh directory, for `backend`; `None` when
/// PostgreSQL is wanted but not available.
pub fn config(backend: Backend, name: &str) -> Option<Config> {
    let mut c = Config::new("127.0.0.1:0".parse().unwrap(), tmp(name));
    c.tick = Duration::from_millis(50);
    if backend == Backend::Postgres {
        c.db = Some(fresh_postgres(name)?);
    }
    Some(c)
}

pub fn start(config: Config) -> (Server, Client) {
    let s = mote_server::spawn(config).expect("server starts");
    let admin = Client::new(&s.url(), &s.admin_token);
    (s, admin)
}

/// A payload: a manifest and `n` bytes of pseudo-model that change a little with `version`.
pub fn payload(name: &str, version: u64, target: &str, n: usize) -> Vec<u8> {
    let manifest = serde_json::json!({"name": name, "version": version, "target": target, "inputs": [],
        "outputs": [], "min_runtime": "1.0"});
    let mut model: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
    for i in (0..n).step_by(997) {
        model[i] = version as u8;
    }
    mote_pkg::payload::join(&manifest.to_string(), &model).unwrap()
}

pub fn signer() -> TestSigner {
    TestSigner::generate(u64::from(u32::MAX)).unwrap()
}

pub fn package(s: &TestSigner, name: &str, version: u64, target: &str) -> Vec<u8> {
    s.package(name, version, target, &payload(name, version, target, 20_000)).unwrap()
}

pub fn hex_sha(b: &[u8]) -> String {
    mote_pkg::make::hex(&Sha256::digest(b))
}

pub fn publish(admin: &Client, pkg: &[u8]) -> mote_fleet::api::Package {
    let r = admin.raw("POST", "/v1/packages", Some(pkg), &[]).unwrap();
    mote_fleet::client::parse("/v1/packages", r).unwrap()
}

/// Enrols `n` devices `{prefix}-{i}` of `target`; their clients.
pub fn enrol(admin: &Client, prefix: &str, target: &str, n: usize) -> Vec<(String, Client)> {
    (0..n)
        .map(|i| {
            let id = format!("{prefix}-{i}");
            let e = Enrol { id: id.clone(), target: target.into(), labels: Default::default() };
            let r: Enrolled = admin.call("POST", "/v1/devices", Some(&e)).unwrap();
            (id, admin.with_token(&r.token))
        })
        .collect()
}

pub fn rollout(admin: &Client, n: &NewRollout) -> RolloutStatus {
    admin.call("POST", "/v1/rollouts", Some(n)).unwrap()
}

pub fn status(admin: &Client, id: i64) -> RolloutStatus {
    admin.call::<(), _>("GET", &format!("/v1/rollouts/{id}"), None).unwrap()
}

/// A simulated device: what it runs, the model in its other slot, and how its gate and model
/// behave.
#[derive(Clone, Debug)]
pub struct Agent {
    pub id: String,
    pub client: Client,
    pub model: String,
    pub version: u64,
    pub sha256: String,
    pub other: Option<(u64, String)>,
    /// What installing the new model gives.
    pub outcome: Outcome,
    /// The metrics of the model it runs.
    pub metrics: fn(&Agent) -> Metrics,
}

pub fn plain_metrics(_: &Agent) -> Metrics {
    Metrics { latency_ms: 10.0, confidence_hist: [0, 0, 0, 0, 0, 1, 2, 4, 8, 5], inferences: 100 }
}

impl Agent {
    pub fn new(id: &str, client: Client, model: &str, version: u64, sha256: &str) -> Agent {
        Agent {
            id: id.into(),
            client,
            model: model.into(),
            version,
            sha256: sha256.into(),
            other: None,
            outcome: Outcome::Installed,
            metrics: plain_metrics,
        }
    }

    /// One check-in and what it says: download and install (reporting `self.outcome`) or revert.
    pub fn step(&mut self) -> Action {
        let c = CheckIn {
            model: self.model.clone(),
            version: self.version,
            sha256: self.sha256.clone(),
            metrics: Some((self.metrics)(self)),
        };
        let a = self.client.checkin(&c).unwrap();
        match &a {
            Action::None => {}
            Action::Install { rollout, version, sha256, payload_sha256, size, url, .. } => {
                let pkg = match self.client.download(url, *size) {
                    Ok(p) => p,
                    // The rollout halted between the check-in and the download: nothing to install.
                    Err(mote_fleet::client::ClientError::Status { status: 403, .. }) => return Action::None,
                    Err(e) => panic!("{}: {e}", self.id),
                };
                assert_eq!(&hex_sha(&pkg), sha256, "downloaded bytes hash to the offered SHA-256");
                if self.outcome == Outcome::Installed {
                    self.other = Some((self.version, self.sha256.clone()));
                    self.version = *version;
                    self.sha256 = payload_sha256.clone();
                }
                let r = Report { rollout: *rollout, version: *version, outcome: self.outcome, gate: None, error: None };
                self.client.report(&r).unwrap();
            }
            Action::Revert { to_version, .. } => {
                let (v, sha) = self.other.take().expect("revert only after an install");
                assert_eq!(v, *to_version);
                self.other = Some((self.version, self.sha256.clone()));
                self.version = v;
                self.sha256 = sha;
            }
        }
        a
    }
}

/// Declares `$name` twice: on SQLite, and on PostgreSQL (skipped unless `MOTE_TEST_POSTGRES`).
#[macro_export]
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$body($crate::common::Backend::Sqlite);
            }

            #[test]
            fn postgres() {
                super::$body($crate::common::Backend::Postgres);
            }
        }
    };
}
