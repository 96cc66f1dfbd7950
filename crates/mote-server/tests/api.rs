//! The fleet API over real HTTP on loopback, on SQLite and (with `MOTE_TEST_POSTGRES`) on
//! PostgreSQL: publishing, enrolment, check-ins, Range downloads, token rules, bad input,
//! refused packages, each gate halting a rollout and the revert that follows, and a rollout
//! advancing through all its stages.

mod common;

use common::*;
use mote_fleet::api::{Action, CheckIn, Gates, Metrics, NewRollout, Outcome, Package, RolloutState};
use mote_fleet::client::Client;

fn new_rollout(version: u64, stages: &[f64], gates: Gates) -> NewRollout {
    NewRollout { model: "kws".into(), version, target: "x86_64".into(), stages: stages.to_vec(), gates }
}

fn error_of(r: &mote_fleet::client::Response) -> String {
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("errors are JSON");
    v["error"].as_str().expect("an error message").to_string()
}

both!(publish_checkin_and_resumed_downloads, publish_checkin_and_resumed_downloads_on);
fn publish_checkin_and_resumed_downloads_on(b: Backend) {
    let Some(cfg) = config(b, "dl") else { return };
    let (_s, admin) = start(cfg);
    let signer = signer();
    let (p1, p2) = (package(&signer, "kws", 1, "x86_64"), package(&signer, "kws", 2, "x86_64"));
    let a = publish(&admin, &p1);
    assert_eq!((a.name.as_str(), a.version, a.size, a.deltas.len()), ("kws", 1, p1.len() as u64, 0));
    let b2 = publish(&admin, &p2);
    assert_eq!(b2.deltas.len(), 1, "a delta from v1");
    assert!(b2.deltas[0].size < p2.len() as u64 / 4, "{b2:?}");
    assert_eq!(publish(&admin, &p2).sha256, b2.sha256, "publishing again is idempotent");
    let other = package(&common::signer(), "kws", 2, "x86_64");
    let r = admin.raw("POST", "/v1/packages", Some(&other), &[]).unwrap();
    assert!(r.status == 409 && error_of(&r).contains("already published"), "{}", error_of(&r));
    let listed: Vec<Package> = admin.call::<(), _>("GET", "/v1/packages", None).unwrap();
    assert_eq!(listed.len(), 2);

    let devs = enrol(&admin, "d", "x86_64", 3);
    let listed: Vec<serde_json::Value> = admin.call::<(), _>("GET", "/v1/devices", None).unwrap();
    assert_eq!(listed.len(), 3);
    let gates = Gates { min_stage_seconds: 0, ..Gates::default() };
    let r = rollout(&admin, &new_rollout(2, &[100.0], gates));
    assert_eq!((r.state, r.stage_devices, r.target_devices), (RolloutState::Running, 3, 3));

    let dev = &devs[0].1;
    let c = CheckIn { model: "kws".into(), version: 1, sha256: a.payload_sha256.clone(), metrics: None };
    let Action::Install { url, size, delta: Some(delta), sha256, .. } = dev.checkin(&c).unwrap() else {
        panic!("an install with a delta")
    };
    assert_eq!((size, sha256.as_str()), (p2.len() as u64, b2.sha256.as_str()));
    let full = dev.raw("GET", &url, None, &[]).unwrap();
    assert_eq!((full.status, full.body == p2), (200, true));
    // An interrupted download resumes from the middle and gives identical bytes.
    let mid = p2.len() / 2;
    let first = dev.raw("GET", &url, None, &[("Range", &format!("bytes=0-{}", mid - 1))]).unwrap();
    assert_eq!(first.status, 206);
    assert_eq!(first.content_range.as_deref(), Some(format!("bytes 0-{}/{}", mid - 1, p2.len()).as_str()));
    let rest = dev.raw("GET", &url, None, &[("Range", &format!("bytes={mid}-"))]).unwrap();
    assert_eq!(rest.status, 206);
    assert!([first.body, rest.body].concat() == p2);
    let tail = dev.raw("GET", &url, None, &[("Range", "bytes=-10")]).unwrap();
    assert!(tail.status == 206 && tail.body == p2[p2.len() - 10..]);
    for bad in [format!("bytes={}-", p2.len()), "bytes=9-3".into(), "bytes=0-1,5-6".into(), "lines=1-2".into()] {
        let r = dev.raw("GET", &url, None, &[("Range", &bad)]).unwrap();
        assert_eq!(r.status, 416, "{bad}");
        assert_eq!(r.content_range.as_deref(), Some(format!("bytes */{}", p2.len()).as_str()));
        assert!(error_of(&r).contains("bad Range"), "{}", error_of(&r));
    }
    // The delta rebuilds the payload; with the package's metadata (a Range of the full
    // package) it is the new package, byte for byte.
    let d = dev.download(&delta.url, delta.size).unwrap();
    let (old_payload, _) = mote_server_payload(&p1);
    let rebuilt = mote_pkg::delta::apply(&old_payload, &d, 1 << 30).unwrap();
    let meta = dev.raw("GET", &url, None, &[("Range", &format!("bytes=0-{}", delta.meta_len - 1))]).unwrap();
    assert!([meta.body, rebuilt].concat() == p2);
    let rep =
        mote_fleet::api::Report { rollout: r.id, version: 2, outcome: Outcome::Installed, gate: None, error: None };
    dev.report(&rep).unwrap();
    assert_eq!(status(&admin, r.id).counts.installed, 1);
}

fn mote_server_payload(pkg: &[u8]) -> (Vec<u8>, usize) {
    let dev = mote_pkg::Device { name: "", target: "", now: 0, max_metadata: u32::MAX, max_payload: u64::MAX };
    let s = mote_pkg::verify::Sections::parse(pkg, &dev).unwrap();
    let (p, at) = s.payload.unwrap();
    (p.to_vec(), at)
}

both!(tokens_and_bad_input, tokens_and_bad_input_on);
fn tokens_and_bad_input_on(b: Backend) {
    let Some(cfg) = config(b, "tok") else { return };
    let (s, admin) = start(cfg);
    let nobody = Client::new(&s.url(), "");
    let r = nobody.raw("GET", "/v1/packages", None, &[]).unwrap();
    assert!(r.status == 401 && error_of(&r).contains("missing token"), "{}", error_of(&r));
    let r = nobody.with_token("d-0.00ff").raw("GET", "/v1/devices", None, &[]).unwrap();
    assert!(r.status == 401 && error_of(&r).contains("wrong token"));
    let r = nobody.with_token(&format!("{}x", s.admin_token)).raw("GET", "/v1/devices", None, &[]).unwrap();
    assert_eq!(r.status, 401);

    let arm = enrol(&admin, "arm", "cortex-m4", 1);
    let x86 = enrol(&admin, "x86", "x86_64", 1);
    let (arm, x86) = (&arm[0].1, &x86[0].1);
    let r = x86.raw("GET", "/v1/packages", None, &[]).unwrap();
    assert!(r.status == 403 && error_of(&r).contains("admin token"), "{}", error_of(&r));
    let r = admin.raw("POST", "/v1/checkin", Some(b"{}"), &[]).unwrap();
    assert!(r.status == 403 && error_of(&r).contains("device token"));
    // A stolen token of one device is not another's: the id in the token must match the digest.
    let forged = format!("arm-0.{}", x86.token().rsplit_once('.').unwrap().1);
    assert_eq!(nobody.with_token(&forged).raw("POST", "/v1/checkin", Some(b"{}"), &[]).unwrap().status, 401);

    let signer = signer();
    let p = publish(&admin, &package(&signer, "kws", 1, "cortex-m4"));
    let gates = Gates { min_stage_seconds: 0, ..Gates::default() };
    let ro = NewRollout { model: "kws".into(), version: 1, target: "cortex-m4".into(), stages: vec![100.0], gates };
    let ro = rollout(&admin, &ro);
    let c = CheckIn { model: String::new(), version: 0, sha256: String::new(), metrics: None };
    assert!(matches!(arm.checkin(&c).unwrap(), Action::Install { .. }));
    assert_eq!(x86.checkin(&c).unwrap(), Action::None);
    let url = format!("/v1/artifacts/{}", p.sha256);
    assert_eq!(arm.raw("GET", &url, None, &[]).unwrap().status, 200);
    let r = x86.raw("GET", &url, None, &[]).unwrap();
    assert!(r.status == 403 && error_of(&r).contains("not assigned"), "{}", error_of(&r));
    let rep =
        mote_fleet::api::Report { rollout: ro.id, version: 1, outcome: Outcome::Installed, gate: None, error: None };
    let r = x86.raw("POST", "/v1/reports", Some(&serde_json::to_vec(&rep).unwrap()), &[]).unwrap();
    assert!(r.status == 403 && error_of(&r).contains("was not told to install"), "{}", error_of(&r));
    let wrong = mote_fleet::api::Report { version: 7, ..rep.clone() };
    let r = arm.raw("POST", "/v1/reports", Some(&serde_json::to_vec(&wrong).unwrap()), &[]).unwrap();
    assert_eq!(r.status, 422);

    for (body, what) in [
        (&b"{not json"[..], "invalid JSON"),
        (br#"{"model":"kws","version":-1,"sha256":""}"#, "invalid JSON"),
        (br#"{"model":"kws","version":1,"sha256":"abc"}"#, "64 hex digits"),
    ] {
        let r = arm.raw("POST", "/v1/checkin", Some(body), &[]).unwrap();
        assert!(r.status == 400 && error_of(&r).contains(what), "{}", error_of(&r));
    }
    let huge = vec![b' '; 100 << 10];
    let r = arm.raw("POST", "/v1/checkin", Some(&huge), &[]).unwrap();
    assert!(r.status == 413 && error_of(&r).contains("body"), "{}", error_of(&r));
    let r = admin.raw("GET", "/v1/artifacts/zz", None, &[]).unwrap();
    assert!(r.status == 400 && error_of(&r).contains("SHA-256"));
    let r = admin.raw("GET", &format!("/v1/artifacts/{}", "0".repeat(64)), None, &[]).unwrap();
    assert_eq!(r.status, 404);
    let r = admin.raw("GET", "/v1/nothing", None, &[]).unwrap();
    assert!(r.status == 404 && error_of(&r).contains("openapi"));
    let r = admin.raw("DELETE", "/v1/packages", None, &[]).unwrap();
    assert!(r.status == 405 && error_of(&r).contains("method"), "{}", String::from_utf8_lossy(&r.body));
    let r = admin.raw("POST", "/v1/packages", Some(b"MOTEPKG1garbage"), &[]).unwrap();
    assert!(r.status == 422 && error_of(&r).contains("malformed package"), "{}", error_of(&r));
    let e = serde_json::json!({"id": "arm-0", "target": "cortex-m4"}).to_string();
    assert_eq!(admin.raw("POST", "/v1/devices", Some(e.as_bytes()), &[]).unwrap().status, 409);
    let e = serde_json::json!({"id": "bad id/", "target": "x"}).to_string();
    assert_eq!(admin.raw("POST", "/v1/devices", Some(e.as_bytes()), &[]).unwrap().status, 400);
    for (body, code) in [
        (serde_json::json!({"model": "kws", "version": 1, "target": "cortex-m4", "stages": [10, 5, 100]}), 400),
        (serde_json::json!({"model": "kws", "version": 1, "target": "cortex-m4", "stages": [10, 50]}), 400),
        (
            serde_json::json!({"model": "kws", "version": 1, "target": "cortex-m4", "gates": {"max_gate_failure_rate": 2}}),
            400,
        ),
        (serde_json::json!({"model": "kws", "version": 9, "target": "cortex-m4"}), 404),
        (serde_json::json!({"model": "kws", "version": 1, "target": "cortex-m4"}), 409),
    ] {
        let r = admin.raw("POST", "/v1/rollouts", Some(body.to_string().as_bytes()), &[]).unwrap();
        assert_eq!(r.status, code, "{body}: {}", error_of(&r));
    }
    assert_eq!(admin.raw("GET", "/v1/rollouts/x", None, &[]).unwrap().status, 400);
    assert_eq!(admin.raw("GET", "/v1/rollouts/99", None, &[]).unwrap().status, 404);
    let spec: serde_json::Value = nobody.call::<(), _>("GET", "/v1/openapi.json", None).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let documented: Vec<&String> = spec["paths"].as_object().unwrap().keys().collect();
    let mut served = [
        "/v1/openapi.json",
        "/v1/packages",
        "/v1/devices",
        "/v1/rollouts",
        "/v1/rollouts/{id}",
        "/v1/rollouts/{id}/halt",
        "/v1/rollouts/{id}/resume",
        "/v1/checkin",
        "/v1/reports",
        "/v1/artifacts/{sha256}",
        "/v1/artifacts/{sha256}/delta/{from}",
    ];
    served.sort_unstable();
    assert_eq!(documented, served, "every endpoint is documented in openapi.json, and only those");
}

both!(tampered_packages_are_refused, tampered_packages_are_refused_on);
fn tampered_packages_are_refused_on(b: Backend) {
    let Some(mut cfg) = config(b, "root") else { return };
    let signer = signer();
    let root = cfg.data.join("root.meta");
    std::fs::write(&root, &signer.root).unwrap();
    cfg.root = Some(root);
    let (_s, admin) = start(cfg);
    let good = package(&signer, "kws", 1, "x86_64");
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let r = admin.raw("POST", "/v1/packages", Some(&bad), &[]).unwrap();
    assert!(r.status == 422 && error_of(&r).contains("tampered payload"), "{}", error_of(&r));
    let foreign = package(&common::signer(), "kws", 1, "x86_64");
    let r = admin.raw("POST", "/v1/packages", Some(&foreign), &[]).unwrap();
    assert!(r.status == 422 && error_of(&r).contains("unknown key"), "{}", error_of(&r));
    assert_eq!(admin.raw("POST", "/v1/packages", Some(&good), &[]).unwrap().status, 201);
}

/// A fleet of 20 devices on v1 and a rollout of v2 to all of them whose devices behave per
/// `kind`: the rollout halts on that gate, the devices that installed are told to revert, and
/// no other device is offered v2.
fn halts_on(b: Backend, kind: &str) {
    let Some(cfg) = config(b, kind) else { return };
    let (_s, admin) = start(cfg);
    let signer = signer();
    let v1 = publish(&admin, &package(&signer, "kws", 1, "x86_64"));
    publish(&admin, &package(&signer, "kws", 2, "x86_64"));
    let mut agents: Vec<Agent> = enrol(&admin, "d", "x86_64", 20)
        .into_iter()
        .map(|(id, c)| Agent::new(&id, c, "kws", 1, &v1.payload_sha256))
        .collect();
    for (i, a) in agents.iter_mut().enumerate() {
        match kind {
            "install" if i % 10 >= 7 => a.outcome = Outcome::InstallFailed,
            "gate" if i % 10 >= 7 => a.outcome = Outcome::GateFailed,
            "latency" => {
                a.metrics = |a| Metrics { latency_ms: if a.version == 2 { 31.0 } else { 10.0 }, ..plain_metrics(a) }
            }
            "confidence" => {
                a.metrics = |a| {
                    let low = [6, 8, 4, 2, 1, 0, 0, 0, 0, 0];
                    Metrics {
                        confidence_hist: if a.version == 2 { low } else { plain_metrics(a).confidence_hist },
                        ..plain_metrics(a)
                    }
                }
            }
            _ => {}
        }
    }
    let gates = Gates { min_reports: 5, min_stage_seconds: 3600, ..Gates::default() };
    let r = rollout(&admin, &new_rollout(2, &[100.0], gates));
    let mut st = status(&admin, r.id);
    for _ in 0..10 {
        for a in &mut agents {
            a.step();
        }
        std::thread::sleep(std::time::Duration::from_millis(120));
        st = status(&admin, r.id);
        if st.state == RolloutState::Halted {
            break;
        }
    }
    let halt = st.halt.clone().expect("halted");
    let gate = match kind {
        "install" => "max_install_failure_rate",
        "gate" => "max_gate_failure_rate",
        "latency" => "max_latency_regression",
        _ => "max_confidence_shift",
    };
    assert_eq!(halt.gate, gate, "{halt:?}");
    assert!(halt.value > halt.threshold && halt.reason.contains(gate), "{halt:?}");
    assert!(st.counts.installed > 0, "some devices installed before the halt: {st:?}");
    for a in &mut agents {
        let was_new = a.version == 2;
        let act = a.step();
        if was_new {
            assert_eq!(act, Action::Revert { rollout: r.id, to_version: 1 }, "{}", a.id);
        } else {
            assert_eq!(act, Action::None, "{}: nobody new gets a halted model", a.id);
        }
    }
    assert!(agents.iter().all(|a| a.version == 1));
    for a in &mut agents {
        assert_eq!(a.step(), Action::None);
    }
    std::thread::sleep(std::time::Duration::from_millis(120));
    let st = status(&admin, r.id);
    assert_eq!(st.counts.reverted, st.counts.installed, "every device that installed reverted: {st:?}");
    // Resuming with the failing gate relaxed runs again.
    let relaxed = serde_json::json!({"gates": {"max_install_failure_rate": 1.0, "max_gate_failure_rate": 1.0,
        "max_latency_regression": 100.0, "max_confidence_shift": 100.0, "min_reports": 5, "min_stage_seconds": 3600}});
    let resumed: mote_fleet::api::RolloutStatus =
        admin.call("POST", &format!("/v1/rollouts/{}/resume", r.id), Some(&relaxed)).unwrap();
    assert_eq!((resumed.state, resumed.halt), (RolloutState::Running, None));
    let halted: mote_fleet::api::RolloutStatus =
        admin.call::<(), _>("POST", &format!("/v1/rollouts/{}/halt", r.id), None).unwrap();
    assert_eq!(halted.halt.map(|h| h.gate).as_deref(), Some("manual"));
}

fn halts_on_install_failures(b: Backend) {
    halts_on(b, "install");
}
fn halts_on_gate_failures(b: Backend) {
    halts_on(b, "gate");
}
fn halts_on_latency_regression(b: Backend) {
    halts_on(b, "latency");
}
fn halts_on_confidence_shift(b: Backend) {
    halts_on(b, "confidence");
}
both!(halt_install_failures, halts_on_install_failures);
both!(halt_gate_failures, halts_on_gate_failures);
both!(halt_latency_regression, halts_on_latency_regression);
both!(halt_confidence_shift, halts_on_confidence_shift);

both!(advances_through_all_stages, advances_through_all_stages_on);
fn advances_through_all_stages_on(b: Backend) {
    let Some(cfg) = config(b, "stages") else { return };
    let (_s, admin) = start(cfg);
    let signer = signer();
    let v1 = publish(&admin, &package(&signer, "kws", 1, "x86_64"));
    publish(&admin, &package(&signer, "kws", 2, "x86_64"));
    let mut agents: Vec<Agent> = enrol(&admin, "d", "x86_64", 100)
        .into_iter()
        .map(|(id, c)| Agent::new(&id, c, "kws", 1, &v1.payload_sha256))
        .collect();
    let gates = Gates { min_reports: 5, min_stage_seconds: 0, ..Gates::default() };
    let r = rollout(&admin, &new_rollout(2, &[1.0, 10.0, 50.0, 100.0], gates));
    assert_eq!((r.stage, r.stage_devices), (0, 1));
    // The first stage is one device of 100: exactly one check-in is told to install.
    let c = |a: &Agent| CheckIn { model: "kws".into(), version: 1, sha256: a.sha256.clone(), metrics: None };
    let offered = agents.iter().filter(|a| matches!(a.client.checkin(&c(a)).unwrap(), Action::Install { .. })).count();
    assert_eq!(offered, 1);
    let mut seen = vec![0];
    for _ in 0..40 {
        for a in &mut agents {
            a.step();
        }
        std::thread::sleep(std::time::Duration::from_millis(120));
        let st = status(&admin, r.id);
        assert_ne!(st.state, RolloutState::Halted, "{st:?}");
        if seen.last() != Some(&st.stage) {
            seen.push(st.stage);
        }
        if st.state == RolloutState::Completed && agents.iter().all(|a| a.version == 2) {
            break;
        }
    }
    let st = status(&admin, r.id);
    assert_eq!(st.state, RolloutState::Completed);
    assert!(seen.windows(2).all(|w| w[0] < w[1]) && seen.last() == Some(&3), "stages seen {seen:?}");
    assert_eq!((st.counts.installed, st.counts.offered), (100, 100));
    // The devices that installed in the last round have not checked in since: their report says
    // what they run, so none counts as reverted.
    assert_eq!(st.counts.reverted, 0, "{st:?}");
    assert!(agents.iter().all(|a| a.version == 2));
}
