//! `mote agent run` against `mote fleet serve`, all real processes on loopback: three agents
//! take v1 then v2 while a client keeps calling one of them; a model failing the safeguard gate
//! and one whose outputs drift in the field are halted and the agents that took it revert; an
//! agent killed with SIGKILL in the middle of a download resumes it after a restart.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::value_info;
use mote_fleet::api::{Enrol, Enrolled, Gates, NewRollout, RolloutState, RolloutStatus};
use mote_fleet::client::Client;
use mote_onnx::proto::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto};
use prost::Message;

const IN: usize = 16;

fn mote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mote")).args(args).output().expect("mote runs")
}

fn check(o: Output) -> Output {
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    o
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mote-agent-net-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// y = Softmax(x · W), x: f32[1, 16], W: f32[16, n] from `w(i)`.
fn classifier(n: usize, w: impl Fn(usize) -> f32) -> Vec<u8> {
    let weight = TensorProto {
        name: Some("w".into()),
        dims: vec![IN as i64, n as i64],
        data_type: Some(1),
        float_data: (0..IN * n).map(w).collect(),
        ..Default::default()
    };
    let node = |op: &str, i: &[&str], o: &str| NodeProto {
        op_type: Some(op.into()),
        name: Some(o.into()),
        input: i.iter().map(|s| s.to_string()).collect(),
        output: vec![o.into()],
        ..Default::default()
    };
    let graph = GraphProto {
        name: Some("classifier".into()),
        node: vec![node("MatMul", &["x", "w"], "logits"), node("Softmax", &["logits"], "y")],
        initializer: vec![weight],
        input: vec![value_info("x", &[Some(1), Some(IN as i64)])],
        output: vec![value_info("y", &[Some(1), Some(n as i64)])],
        ..Default::default()
    };
    let opset_import = vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(17) }];
    ModelProto { ir_version: Some(8), opset_import, graph: Some(graph), ..Default::default() }.encode_to_vec()
}

/// The sample input, written as .npy; the same values the clients send.
fn sample() -> Vec<f32> {
    (0..IN).map(|i| (i as f32 - 7.5) / 4.0).collect()
}

fn npy(path: &Path, v: &[f32]) {
    std::fs::write(path, common::npy_bytes(&[1, v.len()], v)).unwrap();
}

/// Keys, a root, and packages of `classifier` models signed with them.
struct Signer {
    dir: PathBuf,
}

impl Signer {
    fn new(dir: &Path) -> Signer {
        let p = |n: &str| s(&dir.join(n)).to_string();
        for k in ["root", "t", "s", "ts"] {
            check(mote(&["keygen", "-o", &p(&format!("keys/{k}"))]));
        }
        check(mote(&[
            "sign",
            "--new-root",
            "--root-key",
            &p("keys/root.pub"),
            "--targets-key",
            &p("keys/t.pub"),
            "--snapshot-key",
            &p("keys/s.pub"),
            "--timestamp-key",
            &p("keys/ts.pub"),
            "--key",
            &p("keys/root.key"),
            "-o",
            &p("root.meta"),
        ]));
        npy(&dir.join("x.npy"), &sample());
        Signer { dir: dir.to_path_buf() }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root.meta")
    }

    /// Compiles `onnx` and packs it as `version` with the golden input; `extra` pack options.
    fn pack(&self, onnx: &[u8], version: u64, extra: &[&str]) -> Vec<u8> {
        let p = |n: &str| s(&self.dir.join(n)).to_string();
        std::fs::write(self.dir.join("m.onnx"), onnx).unwrap();
        check(mote(&["compile", &p("m.onnx"), "-o", &p("m.mote")]));
        let out = p(&format!("v{version}.motepkg"));
        let v = version.to_string();
        let args = ["pack", &p("m.mote"), "--name", "m", "--model-version", &v, "--target", "x86_64"];
        let keys = [
            "--targets-key",
            &p("keys/t.key"),
            "--snapshot-key",
            &p("keys/s.key"),
            "--timestamp-key",
            &p("keys/ts.key"),
        ];
        let more = ["--root", &p("root.meta"), "--golden", &p("x.npy"), "-o", &out];
        check(mote(&[&args[..], &keys[..], &more[..], extra].concat()));
        std::fs::read(&out).unwrap()
    }
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` with stdout piped, stderr appended to `log`; the URL from its first line
/// `listening on URL`, and the reader kept open (a closed pipe would kill it at its next line).
fn start(mut cmd: Command, log: &Path) -> (Proc, String, BufReader<std::process::ChildStdout>) {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let mut child = cmd.stdout(Stdio::piped()).stderr(log).spawn().expect("starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line:?}")).to_string();
    (Proc(child), url, out)
}

struct Fleet {
    dir: PathBuf,
    url: String,
    admin: Client,
    server: Option<(Proc, BufReader<std::process::ChildStdout>)>,
}

impl Fleet {
    fn new(dir: &Path, root: &Path) -> Fleet {
        Fleet::on(dir, root, "127.0.0.1:0")
    }

    /// `mote fleet serve` on `listen` with its data in `DIR/fleet`.
    fn on(dir: &Path, root: &Path, listen: &str) -> Fleet {
        let data = dir.join("fleet");
        std::fs::create_dir_all(&data).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
        cmd.args(["fleet", "serve", "--data", s(&data), "--listen", listen, "--tick-ms", "50", "--root"]).arg(root);
        let (p, url, out) = start(cmd, &dir.join("server.log"));
        let token = std::fs::read_to_string(data.join("admin.token")).unwrap();
        let admin = Client::new(&url, token.trim());
        Fleet { dir: dir.to_path_buf(), url, admin, server: Some((p, out)) }
    }

    fn publish(&self, pkg: &[u8]) -> mote_fleet::api::Package {
        let r = self.admin.raw("POST", "/v1/packages", Some(pkg), &[]).unwrap();
        assert!(r.status == 201 || r.status == 200, "{}", String::from_utf8_lossy(&r.body));
        serde_json::from_slice(&r.body).unwrap()
    }

    fn rollout(&self, version: u64, stages: &[f64], gates: Gates) -> i64 {
        let nr = NewRollout { model: "m".into(), version, target: "x86_64".into(), stages: stages.to_vec(), gates };
        self.admin.call::<_, RolloutStatus>("POST", "/v1/rollouts", Some(&nr)).unwrap().id
    }

    fn status(&self, id: i64) -> RolloutStatus {
        self.admin.call::<(), _>("GET", &format!("/v1/rollouts/{id}"), None).unwrap()
    }

    /// Enrols `id` and writes its token to `DIR/id.token`.
    fn enrol(&self, id: &str) -> PathBuf {
        let e = Enrol { id: id.into(), target: "x86_64".into(), labels: Default::default() };
        let r: Enrolled = self.admin.call("POST", "/v1/devices", Some(&e)).unwrap();
        let p = self.dir.join(format!("{id}.token"));
        std::fs::write(&p, r.token).unwrap();
        p
    }
}

/// A running `mote agent run`.
struct Agent {
    id: String,
    api: Client,
    log: PathBuf,
    _proc: (Proc, BufReader<std::process::ChildStdout>),
}

fn agent(f: &Fleet, id: &str, root: &Path, extra: &[&str]) -> Agent {
    let token = f.dir.join(format!("{id}.token"));
    let token = if token.exists() { token } else { f.enrol(id) };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
    cmd.args(["agent", "run", "--server", &f.url, "--token-file", s(&token), "--store"])
        .arg(f.dir.join(format!("{id}.store")))
        .args(["--root", s(root), "--name", "m", "--target", "x86_64", "--interval", "200ms"])
        .args(["--listen", "127.0.0.1:0", "--gate-runs", "3"])
        .args(extra);
    let log = f.dir.join(format!("{id}.log"));
    let (p, url, out) = start(cmd, &log);
    Agent { id: id.into(), api: Client::new(&url, ""), log, _proc: (p, out) }
}

impl Agent {
    fn status(&self) -> serde_json::Value {
        self.api.call::<(), _>("GET", "/v1/status", None).unwrap()
    }

    fn version(&self) -> Option<u64> {
        self.status()["version"].as_u64()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn wait(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(t.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn infer_body() -> Vec<u8> {
    serde_json::json!({"inputs": {"x": {"shape": [1, IN], "data": sample()}}}).to_string().into_bytes()
}

/// Calls `/v1/infer` on `api` until `stop`; every answer's model version, and every error.
fn client(api: Client, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<(Vec<u64>, Vec<String>)> {
    std::thread::spawn(move || {
        let (mut versions, mut errors) = (Vec::new(), Vec::new());
        let body = infer_body();
        while !stop.load(Ordering::Relaxed) {
            match api.raw("POST", "/v1/infer", Some(&body), &[]) {
                Ok(r) if r.status == 200 => {
                    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                    versions.push(v["version"].as_u64().unwrap());
                }
                Ok(r) => errors.push(format!("HTTP {}: {}", r.status, String::from_utf8_lossy(&r.body))),
                Err(e) => errors.push(e.to_string()),
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        (versions, errors)
    })
}

/// Weights giving confident answers on the sample; `bump` changes a few of them.
fn weights(n: usize, bump: f32) -> impl Fn(usize) -> f32 {
    move |i| {
        let (r, c) = (i / n, i % n);
        let base = ((r * 7 + c * 13) % 17) as f32 / 4.0 - 2.0;
        if c == 0 && r < 4 { base + bump } else { base }
    }
}

fn quick() -> Gates {
    Gates { min_stage_seconds: 0, ..Gates::default() }
}

#[test]
fn three_agents_take_v1_then_v2_while_serving() {
    let dir = tmp("rollout");
    let signer = Signer::new(&dir);
    let f = Fleet::new(&dir, &signer.root());
    f.publish(&signer.pack(&classifier(10, weights(10, 0.0)), 1, &[]));
    let agents: Vec<Agent> = (0..3).map(|i| agent(&f, &format!("dev-{i}"), &signer.root(), &[])).collect();
    // Before any install the API answers, and says there is nothing to serve yet.
    assert_eq!(agents[0].status()["version"], serde_json::Value::Null);
    let r = agents[0].api.raw("POST", "/v1/infer", Some(&infer_body()), &[]).unwrap();
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));

    let r1 = f.rollout(1, &[34.0, 100.0], quick());
    wait("v1 on all three agents", 60, || agents.iter().all(|a| a.version() == Some(1)));
    wait("rollout 1 completed", 30, || f.status(r1).state == RolloutState::Completed);

    let stop = Arc::new(AtomicBool::new(false));
    let calls = client(agents[0].api.clone(), stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    let p2 = f.publish(&signer.pack(&classifier(10, weights(10, 0.5)), 2, &[]));
    let r2 = f.rollout(2, &mote_fleet::api::DEFAULT_STAGES, quick());
    wait("v2 on all three agents", 90, || agents.iter().all(|a| a.version() == Some(2)));
    wait("rollout 2 completed", 30, || f.status(r2).state == RolloutState::Completed);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (versions, errors) = calls.join().unwrap();

    assert!(errors.is_empty(), "{} errors, first: {:?}", errors.len(), errors.first());
    assert!(versions.first() == Some(&1) && versions.last() == Some(&2), "{versions:?}");
    assert!(versions.windows(2).all(|w| w[0] <= w[1]), "the version went back");
    let counts = f.status(r2).counts;
    assert_eq!((counts.installed, counts.offered, counts.gate_failed, counts.reverted), (3, 3, 0, 0), "{counts:?}");
    // The agents took the delta (v2 differs from v1 in four weights).
    assert!(!p2.deltas.is_empty(), "the server made no delta: {p2:?}");
    for a in &agents {
        assert!(a.log().contains("rebuilt the package from a"), "{}: {}", a.id, a.log());
    }
    let st = agents[0].status();
    assert!(st["inferences"].as_u64().unwrap() >= versions.len() as u64, "{st}");
    assert_eq!(st["sha256"].as_str().unwrap(), p2.payload_sha256);
    eprintln!("{} inferences during the rollout, none failed; v1 then v2", versions.len());
}

#[test]
fn bad_models_are_halted_and_agents_that_took_one_revert() {
    let dir = tmp("halt");
    let signer = Signer::new(&dir);
    let f = Fleet::new(&dir, &signer.root());
    f.publish(&signer.pack(&classifier(10, weights(10, 0.0)), 1, &[]));
    let agents: Vec<Agent> = (0..3).map(|i| agent(&f, &format!("dev-{i}"), &signer.root(), &[])).collect();
    let r1 = f.rollout(1, &[100.0], quick());
    wait("v1 on all three agents", 60, || agents.iter().all(|a| a.version() == Some(1)));
    wait("rollout 1 completed", 30, || f.status(r1).state == RolloutState::Completed);
    let stop = Arc::new(AtomicBool::new(false));
    let calls: Vec<_> = agents.iter().map(|a| client(a.api.clone(), stop.clone())).collect();

    // v2 cannot meet its latency budget on any device: the safeguard gate refuses it, the first
    // gate_failed report halts the rollout, every agent keeps serving v1.
    f.publish(&signer.pack(&classifier(10, weights(10, 0.0)), 2, &["--latency-ms", "0.0000001"]));
    let r2 = f.rollout(2, &[100.0], quick());
    wait("rollout 2 halted", 60, || f.status(r2).state == RolloutState::Halted);
    let st = f.status(r2);
    assert_eq!(st.halt.as_ref().unwrap().gate, "max_gate_failure_rate", "{st:?}");
    assert_eq!(st.counts.installed, 0, "{st:?}");

    // v3 passes the gate (its golden outputs are its own) but answers with no confidence: the
    // agents of the first stage (two of three) install it, their confidence histograms shift
    // against the baseline's, the rollout halts and they revert to v1, which their other slot
    // holds (the slot v2's failed install wrote to is the one v3 then took).
    f.publish(&signer.pack(&classifier(10, |_| 0.0), 3, &[]));
    let gates = Gates { min_reports: 1, min_stage_seconds: 3600, max_latency_regression: 1e6, ..Gates::default() };
    let r3 = f.rollout(3, &[34.0, 100.0], gates);
    wait("rollout 3 halted", 60, || f.status(r3).state == RolloutState::Halted);
    let st = f.status(r3);
    assert_eq!(st.halt.as_ref().unwrap().gate, "max_confidence_shift", "{st:?}");
    // The halt may come before the second device of the stage has installed (then it never does).
    wait("every agent back on v1", 30, || agents.iter().all(|a| a.version() == Some(1)));
    let installed = f.status(r3).counts.installed;
    assert!((1..=2).contains(&installed), "{:?}", f.status(r3));
    wait("the server counts the reverts", 30, || f.status(r3).counts.reverted == installed);
    let reverted: Vec<&Agent> = agents.iter().filter(|a| a.log().contains("reverted to v1")).collect();
    assert_eq!(reverted.len() as u64, installed);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for (a, c) in agents.iter().zip(calls) {
        let (versions, errors) = c.join().unwrap();
        assert!(errors.is_empty(), "{}: {} errors, first: {:?}", a.id, errors.len(), errors.first());
        assert_eq!(versions.last(), Some(&1), "{}", a.id);
        assert!(!versions.contains(&2), "{}: served the model that failed its gate", a.id);
    }
}

#[test]
fn a_download_killed_with_sigkill_resumes_after_a_restart() {
    let dir = tmp("resume");
    let signer = Signer::new(&dir);
    let f = Fleet::new(&dir, &signer.root());
    // 16 x 65536 f32 weights: a 4 MiB package, downloaded at 2 MB/s.
    let n = 65536;
    let p = f.publish(&signer.pack(&classifier(n, |i| ((i % 97) as f32 - 48.0) / 64.0), 1, &[]));
    assert!(p.size > 4 << 20, "{p:?}");
    let rate = ["--max-download-rate", "2000000"];
    let a = agent(&f, "dev-0", &signer.root(), &rate);
    f.rollout(1, &[100.0], quick());
    let part = f.dir.join("dev-0.store/download.part");
    let len = || std::fs::metadata(&part).map_or(0, |m| m.len());
    wait("a megabyte downloaded", 60, || len() > 1 << 20);
    let Agent { _proc: (mut proc, _), log, .. } = a;
    // SIGKILL (Child::kill) in the middle of the download.
    proc.0.kill().unwrap();
    proc.0.wait().unwrap();
    let held = len();
    assert!(held > 1 << 20 && held < p.size, "{held} of {}", p.size);
    let a = agent(&f, "dev-0", &signer.root(), &rate);
    wait("v1 installed after the restart", 60, || a.version() == Some(1));
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text.lines().find(|l| l.contains("download resumed at byte")).unwrap_or_else(|| panic!("{text}"));
    let at: u64 = line.split("at byte ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(at >= held && at < p.size, "{line}; {held} held at the kill");
    assert!(!part.exists(), "the partial download is removed after the install");
    let r = a.api.raw("POST", "/v1/infer", Some(&infer_body()), &[]).unwrap();
    assert_eq!(r.status, 200);
    eprintln!("killed at {held} of {} bytes; {line}", p.size);
}

#[test]
fn agents_keep_serving_while_the_server_is_down_and_carry_on_after() {
    let dir = tmp("outage");
    let signer = Signer::new(&dir);
    // A port below the ephemeral range (32768-60999 on Linux), so that while the server is down
    // no process started with port 0, and no connection of the agent's own, can take it.
    let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
    let port = (0..1000u16).map(|k| 20000 + (std::process::id() as u16 % 10000 + k * 7) % 10000).find(|&p| free(p));
    let listen = format!("127.0.0.1:{}", port.expect("a free port between 20000 and 30000"));
    let mut f = Fleet::on(&dir, &signer.root(), &listen);
    f.publish(&signer.pack(&classifier(10, weights(10, 0.0)), 1, &[]));
    let a = agent(&f, "dev-0", &signer.root(), &[]);
    let r1 = f.rollout(1, &[100.0], quick());
    wait("v1 installed", 60, || a.version() == Some(1));
    let stop = Arc::new(AtomicBool::new(false));
    let calls = client(a.api.clone(), stop.clone());
    // The server goes away: the agent's check-ins (or its report on v1, if the kill came first)
    // fail, it backs off and keeps serving v1.
    f.server = None;
    wait("failed calls to the server", 30, || a.log().matches("failed, will retry").count() >= 3);
    assert_eq!(a.version(), Some(1));
    let f = Fleet::on(&dir, &signer.root(), &listen);
    // The report on v1 arrives (now, if the kill came before it was sent).
    wait("rollout 1 completed", 90, || f.status(r1).state == RolloutState::Completed);
    f.publish(&signer.pack(&classifier(10, weights(10, 0.5)), 2, &[]));
    f.rollout(2, &[100.0], quick());
    wait("v2 installed after the outage", 90, || a.version() == Some(2));
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (versions, errors) = calls.join().unwrap();
    assert!(errors.is_empty(), "{} errors, first: {:?}", errors.len(), errors.first());
    assert!(versions.first() == Some(&1) && versions.last() == Some(&2), "{versions:?}");
}

/// The files an agent leaves when it is killed between the store's commit and its report (made
/// here by hand: that window is too short to hit with a kill): the restarted agent reports the
/// install, so the rollout completes. Without the report the rollout would wait for it forever.
#[test]
fn an_install_committed_before_a_crash_is_reported_after_the_restart() {
    let dir = tmp("report");
    let signer = Signer::new(&dir);
    let f = Fleet::new(&dir, &signer.root());
    f.publish(&signer.pack(&classifier(10, weights(10, 0.0)), 1, &[]));
    f.publish(&signer.pack(&classifier(10, weights(10, 0.5)), 2, &[]));
    let a = agent(&f, "dev-0", &signer.root(), &[]);
    let r1 = f.rollout(1, &[100.0], quick());
    wait("v1 installed", 90, || f.status(r1).state == RolloutState::Completed);
    drop(a);
    // The device is told to install v2 (the check-in the agent would make), installs it and is
    // killed right after the commit: the store serves v2, `installing.json` names the rollout,
    // no report was sent.
    let r2 = f.rollout(2, &[100.0], quick());
    let store = f.dir.join("dev-0.store");
    let token = std::fs::read_to_string(f.dir.join("dev-0.token")).unwrap();
    let device = Client::new(&f.url, &token);
    let (_, rec, _) = mote_fleet::Store::open(&store, None).unwrap().serving_record().unwrap();
    let ci = mote_fleet::api::CheckIn { model: "m".into(), version: 1, sha256: rec.sha256, metrics: None };
    let action = device.checkin(&ci).unwrap();
    assert!(matches!(action, mote_fleet::api::Action::Install { rollout, version: 2, .. } if rollout == r2));
    let pkg = dir.join("v2.motepkg");
    let args = ["agent", "install", s(&pkg), "--store", s(&store), "--name", "m", "--target", "x86_64"];
    check(mote(&[&args[..], &["--gate-runs", "3"]].concat()));
    std::fs::write(store.join("installing.json"), format!(r#"{{"rollout": {r2}, "version": 2}}"#)).unwrap();
    assert_eq!(f.status(r2).counts.installed, 0);
    let a = agent(&f, "dev-0", &signer.root(), &[]);
    wait("rollout 2 completed", 30, || f.status(r2).state == RolloutState::Completed);
    assert_eq!(f.status(r2).counts.installed, 1);
    assert_eq!(a.version(), Some(2));
    assert!(a.log().contains("v2 was committed before a restart: reporting it installed"), "{}", a.log());
    assert!(!store.join("installing.json").exists() && !store.join("report.json").exists());
}

/// A delta that does not rebuild the signed payload (here: damaged in the server's artifact
/// store) is dropped for the full package.
#[test]
fn a_delta_that_does_not_hash_right_falls_back_to_the_full_package() {
    let dir = tmp("bad-delta");
    let signer = Signer::new(&dir);
    let f = Fleet::new(&dir, &signer.root());
    f.publish(&signer.pack(&classifier(10, weights(10, 0.0)), 1, &[]));
    let a = agent(&f, "dev-0", &signer.root(), &[]);
    let r1 = f.rollout(1, &[100.0], quick());
    wait("rollout 1 completed", 60, || f.status(r1).state == RolloutState::Completed);
    let p2 = f.publish(&signer.pack(&classifier(10, weights(10, 0.5)), 2, &[]));
    let deltas = f.dir.join("fleet/artifacts/deltas").join(&p2.sha256);
    let delta = std::fs::read_dir(&deltas).unwrap().next().expect("a delta from v1").unwrap().path();
    let mut bytes = std::fs::read(&delta).unwrap();
    let k = bytes.len() - 3;
    bytes[k] ^= 0x55;
    std::fs::write(&delta, bytes).unwrap();
    let r2 = f.rollout(2, &[100.0], quick());
    wait("rollout 2 completed", 60, || f.status(r2).state == RolloutState::Completed);
    assert_eq!(a.version(), Some(2));
    let log = a.log();
    assert!(log.contains("the delta did not give the package") && !log.contains("rebuilt the package"), "{log}");
}

#[test]
fn bad_inference_requests_are_clear_400s() {
    let dir = tmp("bad-requests");
    let signer = Signer::new(&dir);
    let f = Fleet::new(&dir, &signer.root());
    f.publish(&signer.pack(&classifier(10, weights(10, 0.0)), 1, &[]));
    let a = agent(&f, "dev-0", &signer.root(), &[]);
    f.rollout(1, &[100.0], quick());
    wait("v1 installed", 60, || a.version() == Some(1));
    let cases: [(&str, &str); 7] = [
        ("{", "the body must be"),
        (r#"{"inputs": {"x": {"shape": [1, 3], "data": [1, 2, 3]}}}"#, "has shape [1, 3], the model takes [1, 16]"),
        (r#"{"inputs": {"x": {"shape": [1, 16], "data": [1]}}}"#, "holds 16 values, `data` has 1"),
        (r#"{"inputs": {"z": {"shape": [1], "data": [1]}}}"#, "unknown input `z`"),
        (r#"{"inputs": {}}"#, "missing input `x`"),
        (r#"{"inputs": {"x": {"shape": [1, 16], "data": ["a"]}}}"#, "the body must be"),
        (r#"{"inputs": {"x": {"shape": [1, 16], "data": [1e999]}}}"#, "the body must be"),
    ];
    for (body, want) in cases {
        let r = a.api.raw("POST", "/v1/infer", Some(body.as_bytes()), &[]).unwrap();
        let e: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(r.status, 400, "{body}: {e}");
        assert!(e["error"].as_str().unwrap().contains(want), "{body}: {e}");
    }
    let r = a.api.raw("GET", "/v1/nothing", None, &[]).unwrap();
    assert_eq!(r.status, 404);
    // And the agent still serves.
    let r = a.api.raw("POST", "/v1/infer", Some(&infer_body()), &[]).unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[test]
fn the_api_listens_on_a_unix_socket() {
    let dir = tmp("socket");
    let signer = Signer::new(&dir);
    let f = Fleet::new(&dir, &signer.root());
    let sock = dir.join("agent.sock");
    let token = f.enrol("dev-0");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
    cmd.args(["agent", "run", "--server", &f.url, "--token-file", s(&token), "--store", s(&dir.join("store"))]).args([
        "--root",
        s(&signer.root()),
        "--name",
        "m",
        "--target",
        "x86_64",
        "--socket",
        s(&sock),
    ]);
    let (_p, at, _out) = start(cmd, &dir.join("agent.log"));
    assert_eq!(at, format!("unix:{}", sock.display()));
    use std::io::{Read, Write};
    let mut c = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    c.write_all(b"GET /v1/status HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("\"inferences\":0"), "{answer}");
}
