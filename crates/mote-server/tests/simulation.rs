//! A simulated fleet of 1,000 agents (threads in this process, real HTTP on loopback): a model
//! whose safeguard gate fails on 30% of devices (decided by a seeded hash of the device id) is
//! halted within the first stage, before 5% of the fleet installed it, and every install is
//! reverted; then a good model rolls out to 100%.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use mote_fleet::api::{Gates, NewRollout, Outcome, RolloutState, RolloutStatus};
use mote_fleet::client::Client;
use sha2::{Digest, Sha256};

const FLEET: usize = 1000;
const THREADS: usize = 16;

/// Whether the bad model's gate fails on `id` (about 30% of ids).
fn gate_fails(id: &str) -> bool {
    let h = Sha256::digest(format!("seed-14:{id}").as_bytes());
    u16::from_le_bytes([h[0], h[1]]) as u32 * 100 < 30 * 65536
}

/// Runs every agent in rounds (check-in and whatever it says) on `THREADS` threads until
/// `done` holds for the rollout's status, or `limit` passes, then in quiet rounds on this
/// thread; returns the agents and the first status that was not `running`.
fn run(
    admin: &Client,
    agents: Vec<Agent>,
    id: i64,
    limit: Duration,
    done: impl Fn(&RolloutStatus, &[Agent]) -> bool,
) -> (Vec<Agent>, RolloutStatus) {
    let stop = Arc::new(AtomicBool::new(false));
    let n = agents.len();
    let shared: Arc<Vec<Mutex<Agent>>> = Arc::new(agents.into_iter().map(Mutex::new).collect());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (stop, shared) = (stop.clone(), shared.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    for i in (t..n).step_by(THREADS) {
                        shared[i].lock().unwrap().step();
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    let snapshot = |s: &[Mutex<Agent>]| s.iter().map(|m| m.lock().unwrap().clone()).collect::<Vec<Agent>>();
    let start = Instant::now();
    let mut first = None;
    while start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(50));
        let st = status(admin, id);
        let snapshot = snapshot(&shared);
        if first.is_none() && st.state != RolloutState::Running {
            first = Some(st.clone());
        }
        if done(&st, &snapshot) {
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    handles.into_iter().for_each(|h| h.join().unwrap());
    let mut agents = snapshot(&shared);
    // Rounds until every device has told the server what it runs after its last action.
    for _ in 0..5 {
        let acted = agents.iter_mut().map(Agent::step).filter(|a| *a != mote_fleet::api::Action::None).count();
        if acted == 0 {
            break;
        }
    }
    let st = status(admin, id);
    (agents, first.unwrap_or(st))
}

fn fleet_of_1000_on(b: Backend) {
    let Some(cfg) = config(b, "sim") else { return };
    let (_s, admin) = start(cfg);
    let signer = signer();
    let v1 = publish(&admin, &package(&signer, "kws", 1, "x86_64"));
    publish(&admin, &package(&signer, "kws", 2, "x86_64"));
    let t = Instant::now();
    let agents: Vec<Agent> = enrol(&admin, "sim", "x86_64", FLEET)
        .into_iter()
        .map(|(id, c)| {
            let mut a = Agent::new(&id, c, "kws", 1, &v1.payload_sha256);
            if gate_fails(&id) {
                a.outcome = Outcome::GateFailed;
            }
            a
        })
        .collect();
    let failing = agents.iter().filter(|a| a.outcome == Outcome::GateFailed).count();
    println!("enrolled {FLEET} devices in {:.2} s; the bad model's gate fails on {failing}", t.elapsed().as_secs_f64());
    assert!((250..350).contains(&failing), "{failing}");

    // The bad model, with the default gates and stages (1%, 10%, 50%, 100%).
    let nr = NewRollout {
        model: "kws".into(),
        version: 2,
        target: "x86_64".into(),
        stages: vec![1.0, 10.0, 50.0, 100.0],
        gates: Gates::default(),
    };
    let r = rollout(&admin, &nr);
    let all_back = |st: &RolloutStatus, a: &[Agent]| {
        st.state == RolloutState::Halted
            && st.counts.reverted == st.counts.installed
            && a.len() == FLEET
            && a.iter().all(|x| x.version == 1)
    };
    let (agents, at_halt) = run(&admin, agents, r.id, Duration::from_secs(60), all_back);
    let end = status(&admin, r.id);
    let halt = at_halt.halt.clone().expect("the bad model is halted");
    println!(
        "bad model: halted in stage {} ({}% = {} devices): {}; at the halt {} devices had installed it \
         ({:.1}% of the fleet), {} failed the gate, {} were offered it; afterwards {} reverted, {} run it",
        at_halt.stage,
        at_halt.stages[at_halt.stage],
        at_halt.stage_devices,
        halt.reason,
        at_halt.counts.installed,
        100.0 * at_halt.counts.installed as f64 / FLEET as f64,
        at_halt.counts.gate_failed,
        at_halt.counts.offered,
        end.counts.reverted,
        agents.iter().filter(|a| a.version == 2).count(),
    );
    assert_eq!(at_halt.stage, 0, "halted within the first stage");
    assert!(end.counts.installed < (FLEET / 20) as u64, "before 5% of the fleet installed it: {end:?}");
    assert_eq!(halt.gate, "max_gate_failure_rate");
    assert!(agents.iter().all(|a| a.version == 1), "every install reverted");
    assert_eq!(end.counts.reverted, end.counts.installed);

    // A good model reaches every device.
    let v3 = publish(&admin, &package(&signer, "kws", 3, "x86_64"));
    let agents: Vec<Agent> = agents.into_iter().map(|a| Agent { outcome: Outcome::Installed, ..a }).collect();
    let nr = NewRollout { version: 3, gates: Gates { min_stage_seconds: 1, ..Gates::default() }, ..nr };
    let r = rollout(&admin, &nr);
    let t = Instant::now();
    let everywhere = |st: &RolloutStatus, a: &[Agent]| {
        st.state == RolloutState::Completed && a.len() == FLEET && a.iter().all(|x| x.sha256 == v3.payload_sha256)
    };
    let (agents, _) = run(&admin, agents, r.id, Duration::from_secs(120), everywhere);
    let st = status(&admin, r.id);
    println!(
        "good model: {:?} in {:.1} s, {} of {FLEET} devices run it, {} reports",
        st.state,
        t.elapsed().as_secs_f64(),
        agents.iter().filter(|a| a.version == 3).count(),
        st.counts.installed
    );
    assert_eq!(st.state, RolloutState::Completed);
    assert!(agents.iter().all(|a| a.version == 3));
    assert_eq!(st.counts.installed, FLEET as u64);
}

both!(fleet_of_1000, fleet_of_1000_on);
