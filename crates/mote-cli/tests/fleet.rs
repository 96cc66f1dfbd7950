//! `mote fleet serve` as a child process: killed with SIGKILL in the middle of a rollout and
//! restarted on the same data directory, it has lost nothing (stage, counts, reports,
//! devices, packages) and the rollout continues to the same end; on SQLite, and on PostgreSQL
//! when `MOTE_TEST_POSTGRES` is set (`scripts/postgres-env.sh`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use mote_fleet::api::{
    Action, CheckIn, Enrol, Enrolled, Gates, NewRollout, Outcome, Report, RolloutState, RolloutStatus,
};
use mote_fleet::client::Client;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mote-fleet-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts the server on an ephemeral port; the child, its URL and its standard output (kept
/// open: the server would get SIGPIPE on its next line).
fn serve(data: &Path, db: Option<&str>) -> (Child, String, BufReader<std::process::ChildStdout>) {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(data.join("server.log")).unwrap();
    let db: Vec<&str> = db.map(|u| vec!["--db", u]).unwrap_or_default();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(["fleet", "serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0", "--tick-ms", "50"])
        .args(db)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("mote fleet serve starts");
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line}")).to_string();
    (child, url, out)
}

fn package(signer: &mote_pkg::make::TestSigner, version: u64) -> Vec<u8> {
    let manifest = serde_json::json!({"name": "kws", "version": version, "target": "x86_64", "inputs": [],
        "outputs": [], "min_runtime": "1.0"});
    let model: Vec<u8> = (0..8000u32).map(|i| (i * 13 % 251) as u8 ^ version as u8).collect();
    signer.package("kws", version, "x86_64", &mote_pkg::payload::join(&manifest.to_string(), &model).unwrap()).unwrap()
}

/// A device: its token, and the payload it runs.
struct Dev {
    token: String,
    version: u64,
    sha256: String,
}

/// One check-in of `d`; installs (and reports) what it is offered. Whether it reported.
fn step(base: &Client, d: &mut Dev) -> bool {
    let c = base.with_token(&d.token);
    let ci = CheckIn { model: "kws".into(), version: d.version, sha256: d.sha256.clone(), metrics: None };
    match c.checkin(&ci).unwrap() {
        Action::Install { rollout, version, payload_sha256, url, size, .. } => {
            assert_eq!(c.download(&url, size).unwrap().len() as u64, size);
            (d.version, d.sha256) = (version, payload_sha256);
            c.report(&Report { rollout, version, outcome: Outcome::Installed, gate: None, error: None }).unwrap();
            true
        }
        Action::None => false,
        other => panic!("unexpected {other:?}"),
    }
}

fn status(admin: &Client, id: i64) -> RolloutStatus {
    admin.call::<(), _>("GET", &format!("/v1/rollouts/{id}"), None).unwrap()
}

#[test]
fn server_killed_mid_rollout_continues_after_restart() {
    killed_mid_rollout(&tmp("restart"), None);
}

#[test]
fn server_killed_mid_rollout_continues_after_restart_on_postgres() {
    let Ok(url) = std::env::var("MOTE_TEST_POSTGRES") else {
        let msg = "MOTE_TEST_POSTGRES is not set (scripts/postgres-env.sh starts a throwaway server and prints it)";
        assert!(std::env::var("MOTE_REQUIRE_POSTGRES").as_deref() != Ok("1"), "MOTE_REQUIRE_POSTGRES=1 but {msg}");
        eprintln!("SKIPPED the restart test on PostgreSQL: {msg}");
        return;
    };
    let db = format!("mote_cli_restart_{}", std::process::id());
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect to MOTE_TEST_POSTGRES");
    c.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    let (base, _) = url.rsplit_once('/').expect("postgres://USER@HOST:PORT/DB");
    killed_mid_rollout(&tmp("restart-pg"), Some(&format!("{base}/{db}")));
}

fn killed_mid_rollout(data: &Path, db: Option<&str>) {
    let data = data.to_path_buf();
    let (mut child, url, _out) = serve(&data, db);
    let token = std::fs::read_to_string(data.join("admin.token")).unwrap();
    let admin = Client::new(&url, token.trim());
    let signer = mote_pkg::make::TestSigner::generate(u64::from(u32::MAX)).unwrap();
    for v in [1, 2] {
        let r = admin.raw("POST", "/v1/packages", Some(&package(&signer, v)), &[]).unwrap();
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    }
    let v1_sha = {
        let ps: Vec<mote_fleet::api::Package> = admin.call::<(), _>("GET", "/v1/packages", None).unwrap();
        ps.iter().find(|p| p.version == 1).unwrap().payload_sha256.clone()
    };
    let mut devs: Vec<Dev> = (0..60)
        .map(|i| {
            let e = Enrol { id: format!("d{i}"), target: "x86_64".into(), labels: Default::default() };
            let r: Enrolled = admin.call("POST", "/v1/devices", Some(&e)).unwrap();
            Dev { token: r.token, version: 1, sha256: v1_sha.clone() }
        })
        .collect();
    let gates = Gates { min_reports: 10, min_stage_seconds: 0, ..Gates::default() };
    let nr =
        NewRollout { model: "kws".into(), version: 2, target: "x86_64".into(), stages: vec![10.0, 50.0, 100.0], gates };
    let r: RolloutStatus = admin.call("POST", "/v1/rollouts", Some(&nr)).unwrap();

    // Halfway: in the second stage with fewer reports than it needs to advance (6 + 10).
    let mut reported = 0;
    'half: for _ in 0..20 {
        for d in &mut devs {
            reported += usize::from(step(&admin, d));
            let st = status(&admin, r.id);
            if st.stage == 1 && st.counts.installed >= 9 {
                break 'half;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(60));
    }
    let before = status(&admin, r.id);
    assert_eq!((before.stage, before.state), (1, RolloutState::Running), "{before:?}");
    assert_eq!(before.counts.installed as usize, reported);
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, url, _out) = serve(&data, db);
    let admin = Client::new(&url, token.trim());
    let after = status(&admin, r.id);
    assert_eq!(
        (after.state, after.stage, after.stage_started, after.counts.installed, after.counts.offered),
        (before.state, before.stage, before.stage_started, before.counts.installed, before.counts.offered),
        "nothing lost: {before:?} vs {after:?}"
    );
    let devices: Vec<serde_json::Value> = admin.call::<(), _>("GET", "/v1/devices", None).unwrap();
    let packages: Vec<mote_fleet::api::Package> = admin.call::<(), _>("GET", "/v1/packages", None).unwrap();
    assert_eq!((devices.len(), packages.len(), packages[1].deltas.len()), (60, 2, 1));

    for _ in 0..40 {
        for d in &mut devs {
            reported += usize::from(step(&admin, d));
        }
        if status(&admin, r.id).state == RolloutState::Completed && devs.iter().all(|d| d.version == 2) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(60));
    }
    let end = status(&admin, r.id);
    assert_eq!((end.state, end.stage, end.counts.installed, reported), (RolloutState::Completed, 2, 60, 60), "{end:?}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn fleet_help_teaches_with_examples() {
    for args in [&["fleet", "--help"][..], &["fleet", "serve", "--help"], &["fleet", "load", "--help"]] {
        let o = Command::new(env!("CARGO_BIN_EXE_mote")).args(args).output().unwrap();
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && s.contains("Examples:") && s.contains("mote fleet"), "{args:?}: {s}");
    }
}
