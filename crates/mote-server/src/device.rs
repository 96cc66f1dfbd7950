//! The device endpoints: check-in (what to do next) and install reports.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use mote_fleet::api::{Action, CheckIn, DeltaOffer, Outcome, Report, RolloutState};

use crate::db::Val;
use crate::error::{ApiError, ApiResult, body, json};
use crate::rollout::{NewReport, transition};
use crate::state::{Assignment, State as Fleet};
use crate::{App, auth, now_ms};

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What `id`, which now runs `c`, should do; and the assignment to record if it is told to
/// install for the first time.
fn decide(st: &mut Fleet, id: &str, c: &CheckIn, now: i64) -> (Action, Option<(i64, Assignment)>) {
    let Fleet { devices, rollouts, stages, packages, dirty_devices, dirty_samples, .. } = st;
    let Some(dev) = devices.get_mut(id) else { return (Action::None, None) };
    dev.model.clone_from(&c.model);
    dev.version = c.version;
    dev.sha256.clone_from(&c.sha256);
    dev.last_seen = now;
    dirty_devices.insert(id.to_string());
    let target = dev.target.clone();
    let Some(r) =
        rollouts.values_mut().rev().find(|r| r.target == target && (r.model == c.model || c.model.is_empty()))
    else {
        return (Action::None, None);
    };
    let on_new = c.sha256 == r.payload_sha256;
    if let Some(m) = &c.metrics {
        if on_new {
            r.new_samples.insert(id.to_string(), m.clone());
        } else if !c.model.is_empty() && r.state != RolloutState::Completed {
            r.base_samples.insert(id.to_string(), m.clone());
        }
        if on_new || !c.model.is_empty() {
            dirty_samples.insert((r.id, id.to_string(), on_new));
        }
    }
    match r.state {
        RolloutState::Halted => {
            if on_new {
                let to_version = r.assigned.get(id).map_or(0, |a| a.from_version);
                return (Action::Revert { rollout: r.id, to_version }, None);
            }
            (Action::None, None)
        }
        RolloutState::Running | RolloutState::Completed => {
            let newer = c.model.is_empty() || c.version < r.version;
            if on_new || !newer || r.reports.contains_key(id) {
                return (Action::None, None);
            }
            if r.state == RolloutState::Running && !stages.contains(devices, r, id) {
                return (Action::None, None);
            }
            let Some(p) = packages.get(&r.sha256) else { return (Action::None, None) };
            let delta = p.deltas.get(&c.sha256).filter(|_| p.meta_len > 0).map(|&(_, size)| DeltaOffer {
                from_sha256: c.sha256.clone(),
                size,
                url: format!("/v1/artifacts/{}/delta/{}", p.sha256, c.sha256),
                meta_len: p.meta_len,
            });
            let action = Action::Install {
                rollout: r.id,
                version: r.version,
                sha256: p.sha256.clone(),
                payload_sha256: p.payload_sha256.clone(),
                size: p.size,
                url: format!("/v1/artifacts/{}", p.sha256),
                delta,
            };
            let new = (!r.assigned.contains_key(id))
                .then(|| (r.id, Assignment { from_version: c.version, from_sha256: c.sha256.clone() }));
            (action, new)
        }
    }
}

/// `POST /v1/checkin`.
pub async fn checkin(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Action>> {
    let id = auth::device(&app, &h)?;
    let c: CheckIn = json(&body(b)?, "check-in")?;
    if !(c.sha256.is_empty() || is_hex64(&c.sha256)) {
        return Err(ApiError::bad_request("check-in: sha256 must be 64 hex digits (the installed payload's) or empty"));
    }
    if c.model.len() > 256 {
        return Err(ApiError::bad_request("check-in: the model name is over 256 bytes"));
    }
    if let Some(m) = &c.metrics
        && !(m.latency_ms.is_finite() && m.latency_ms >= 0.0)
    {
        return Err(ApiError::bad_request("check-in: metrics.latency_ms must be a finite number >= 0"));
    }
    let now = now_ms();
    let (action, new) = decide(&mut app.state.lock().expect("state lock"), &id, &c, now);
    if let Some((rid, a)) = new {
        let (dev, a2) = (id.clone(), a.clone());
        app.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO assignments (rollout, device, from_version, from_sha256, offered)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (rollout, device) DO NOTHING",
                    &[Val::Int(rid), dev.into(), a2.from_version.into(), a2.from_sha256.into(), now.into()],
                )
            })
            .await?;
        let mut st = app.state.lock().expect("state lock");
        if let Some(r) = st.rollouts.get_mut(&rid) {
            r.assigned.entry(id.clone()).or_insert(a);
        }
    }
    if !matches!(action, Action::None) {
        tracing::debug!(device = %id, ?action, "check-in");
    }
    Ok(Json(action))
}

/// `POST /v1/reports`.
pub async fn report(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = auth::device(&app, &h)?;
    let b = body(b)?;
    let r: Report = json(&b, "report")?;
    {
        let st = app.state.lock().expect("state lock");
        let ro = st.rollouts.get(&r.rollout).ok_or_else(|| {
            ApiError::not_found(format!("no rollout {}: report on the rollout a check-in named", r.rollout))
        })?;
        if !ro.assigned.contains_key(&id) {
            return Err(ApiError::forbidden(format!(
                "device `{id}` was not told to install rollout {}: it may report only on rollouts it was assigned",
                r.rollout
            )));
        }
        if r.version != ro.version {
            return Err(ApiError::unprocessable(format!(
                "rollout {} installs version {}, the report is about version {}",
                r.rollout, ro.version, r.version
            )));
        }
    }
    let n = NewReport {
        device: id,
        version: r.version,
        outcome: r.outcome,
        body: String::from_utf8_lossy(&b).into_owned(),
    };
    tracing::debug!(device = %n.device, rollout = r.rollout, outcome = r.outcome.as_str(), "report");
    let device = n.device.clone();
    let state = transition(&app, r.rollout, Some(n), None).await?;
    if r.outcome == Outcome::Installed {
        // The device runs the new payload from now on, not what its last check-in said: until
        // its next check-in it must not count as having reverted.
        let mut st = app.state.lock().expect("state lock");
        let Fleet { devices, rollouts, dirty_devices, .. } = &mut *st;
        if let (Some(ro), Some(d)) = (rollouts.get(&r.rollout), devices.get_mut(&device)) {
            d.model.clone_from(&ro.model);
            d.version = ro.version;
            d.sha256.clone_from(&ro.payload_sha256);
            dirty_devices.insert(device);
        }
    }
    Ok(Json(serde_json::json!({"recorded": true, "rollout_state": state})))
}
