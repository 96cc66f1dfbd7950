//! Rollout state transitions: a report and the decision it leads to are committed in one
//! transaction, then applied in memory; the tick flushes batched check-in data and evaluates
//! every running rollout (for stages waiting on time or on check-in metrics).

use mote_fleet::api::{Halt, Outcome, RolloutState};

use crate::db::{DbError, Val, transaction};
use crate::engine::{Decision, evaluate};
use crate::error::{ApiError, ApiResult};
use crate::state::ReportRec;
use crate::{App, now_ms};

/// A device's report to record with a decision.
#[derive(Clone, Debug)]
pub struct NewReport {
    pub device: String,
    pub version: u64,
    pub outcome: Outcome,
    pub body: String,
}

/// The rollout fields a transition writes.
#[derive(Clone, Debug)]
struct Row {
    state: RolloutState,
    stage: usize,
    stage_started: i64,
    halt: Option<Halt>,
}

/// Records `report` (if any) on rollout `id`, evaluates the stage and commits both; `force`
/// replaces the engine's decision (an admin's halt or resume). Returns the new state.
pub async fn transition(
    app: &App,
    id: i64,
    report: Option<NewReport>,
    force: Option<(RolloutState, Option<Halt>)>,
) -> ApiResult<RolloutState> {
    let _w = app.writer.lock().await;
    let now = now_ms();
    let (row, rec) = {
        let mut st = app.state.lock().expect("state lock");
        let st = &mut *st;
        let r = st.rollouts.get(&id).ok_or_else(|| ApiError::not_found(format!("no rollout {id}")))?;
        if report.is_none() && force.is_none() {
            // The tick: most evaluations change nothing, so decide before copying the rollout.
            let (n, k, _) = st.stages.bound(&st.devices, r);
            if evaluate(r, n, k, now) == Decision::Stay {
                return Ok(r.state);
            }
        }
        let mut r = r.clone();
        let rec = report.as_ref().map(|n| ReportRec { outcome: n.outcome, stage: r.stage });
        if let (Some(n), Some(rec)) = (&report, rec) {
            r.reports.insert(n.device.clone(), rec);
        }
        let before = (r.state, r.stage);
        let forced = force.is_some();
        match force {
            Some((state, halt)) => {
                r.state = state;
                r.halt = halt;
                r.stage_started = now;
            }
            None => {
                let (n, k, _) = st.stages.bound(&st.devices, &r);
                match evaluate(&r, n, k, now) {
                    Decision::Stay => {}
                    Decision::Halt(h) => {
                        tracing::warn!(rollout = id, stage = r.stage, reason = %h.reason, "rollout halted");
                        r.state = RolloutState::Halted;
                        r.halt = Some(h);
                    }
                    Decision::Advance => {
                        r.stage += 1;
                        r.stage_started = now;
                        tracing::info!(rollout = id, stage = r.stage, percent = r.stages[r.stage], "rollout advanced");
                    }
                    Decision::Complete => {
                        r.state = RolloutState::Completed;
                        tracing::info!(rollout = id, "rollout completed");
                    }
                }
            }
        }
        if report.is_none() && !forced && before == (r.state, r.stage) {
            return Ok(r.state);
        }
        (Row { state: r.state, stage: r.stage, stage_started: r.stage_started, halt: r.halt }, rec)
    };
    let (row2, report2) = (row.clone(), report.clone());
    app.db
        .call(move |c| {
            transaction(c, |c| {
                if let (Some(n), Some(rec)) = (&report2, rec) {
                    c.execute(
                        "INSERT INTO reports (rollout, device, version, outcome, stage, body, at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (rollout, device) DO UPDATE SET version = excluded.version,
                         outcome = excluded.outcome, stage = excluded.stage, body = excluded.body, at = excluded.at",
                        &[
                            Val::Int(id),
                            n.device.as_str().into(),
                            n.version.into(),
                            n.outcome.as_str().into(),
                            (rec.stage as i64).into(),
                            n.body.as_str().into(),
                            now.into(),
                        ],
                    )?;
                }
                let halt = row2.halt.as_ref().map(|h| serde_json::to_string(h).expect("serializable"));
                c.execute(
                    "UPDATE rollouts SET state = $1, stage = $2, stage_started = $3, halt = $4 WHERE id = $5",
                    &[
                        row2.state.as_str().into(),
                        (row2.stage as i64).into(),
                        row2.stage_started.into(),
                        halt.into(),
                        Val::Int(id),
                    ],
                )?;
                Ok(())
            })
        })
        .await?;
    let mut st = app.state.lock().expect("state lock");
    let r = st.rollouts.get_mut(&id).expect("rollouts are never removed");
    if let (Some(n), Some(rec)) = (report, rec) {
        r.reports.insert(n.device, rec);
    }
    (r.state, r.stage, r.stage_started, r.halt) = (row.state, row.stage, row.stage_started, row.halt);
    Ok(row.state)
}

/// Writes the devices' last check-ins and metric samples changed since the last flush.
pub async fn flush(app: &App) -> Result<(), DbError> {
    let (devices, samples, keys) = {
        let mut st = app.state.lock().expect("state lock");
        let st = &mut *st;
        let keys = (st.dirty_devices.clone(), st.dirty_samples.clone());
        let devices: Vec<[Val; 5]> = std::mem::take(&mut st.dirty_devices)
            .into_iter()
            .filter_map(|id| {
                let d = st.devices.get(&id)?;
                Some([
                    d.model.as_str().into(),
                    d.version.into(),
                    d.sha256.as_str().into(),
                    d.last_seen.into(),
                    id.into(),
                ])
            })
            .collect();
        let samples: Vec<[Val; 5]> = std::mem::take(&mut st.dirty_samples)
            .into_iter()
            .filter_map(|(rid, dev, new)| {
                let r = st.rollouts.get(&rid)?;
                let m = if new { r.new_samples.get(&dev)? } else { r.base_samples.get(&dev)? };
                let hist = serde_json::to_string(&m.confidence_hist).expect("serializable");
                Some([
                    Val::Int(rid),
                    dev.into(),
                    if new { "new" } else { "base" }.into(),
                    m.latency_ms.into(),
                    hist.into(),
                ])
            })
            .collect();
        (devices, samples, keys)
    };
    if devices.is_empty() && samples.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let r = app
        .db
        .call(move |c| {
            transaction(c, |c| {
                for d in &devices {
                    c.execute("UPDATE devices SET model = $1, version = $2, sha256 = $3, last_seen = $4 WHERE id = $5", d)?;
                }
                for s in samples {
                    let [r, d, side, lat, hist] = s;
                    c.execute(
                        "INSERT INTO samples (rollout, device, side, latency_ms, hist, at) VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (rollout, device, side) DO UPDATE SET latency_ms = excluded.latency_ms,
                         hist = excluded.hist, at = excluded.at",
                        &[r, d, side, lat, hist, now.into()],
                    )?;
                }
                Ok(())
            })
        })
        .await;
    if r.is_err() {
        // Written at the next flush (the values in memory are the newest).
        let mut st = app.state.lock().expect("state lock");
        st.dirty_devices.extend(keys.0);
        st.dirty_samples.extend(keys.1);
    }
    r
}

/// Flushes, then evaluates every running rollout.
pub async fn tick(app: &App) {
    if let Err(e) = flush(app).await {
        tracing::error!("cannot flush check-ins: {e}");
    }
    let running: Vec<i64> = {
        let st = app.state.lock().expect("state lock");
        st.rollouts.values().filter(|r| r.state == RolloutState::Running).map(|r| r.id).collect()
    };
    for id in running {
        if let Err(e) = transition(app, id, None, None).await {
            tracing::error!(rollout = id, "cannot evaluate: {}", e.message);
        }
    }
}
