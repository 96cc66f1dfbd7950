//! The admin endpoints: packages, devices, rollouts; and the OpenAPI document.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use mote_fleet::api::{
    DeltaInfo, DeviceInfo, Enrol, Enrolled, Gates, Halt, NewRollout, Package, Resume, RolloutState, RolloutStatus,
};

use crate::db::{Val, transaction};
use crate::error::{ApiError, ApiResult, body, json};
use crate::rollout::transition;
use crate::state::{self, Device, Rollout};
use crate::{App, auth, now_ms, publish};

const OPENAPI: &str = include_str!("openapi.json");

/// `GET /v1/openapi.json` (no token needed).
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

fn api_package(p: &state::Package) -> Package {
    Package {
        name: p.name.clone(),
        version: p.version,
        target: p.target.clone(),
        sha256: p.sha256.clone(),
        payload_sha256: p.payload_sha256.clone(),
        size: p.size,
        deltas: p
            .deltas
            .iter()
            .map(|(from, &(from_version, size))| DeltaInfo { from_version, from_payload_sha256: from.clone(), size })
            .collect(),
    }
}

/// The answer when `p` is already published (the same bytes), or a conflict when its name,
/// target and version are published with other bytes.
fn published(app: &App, p: &publish::Parsed) -> ApiResult<Option<(StatusCode, Json<Package>)>> {
    let st = app.state.lock().expect("state lock");
    if let Some(old) = st.packages.get(&p.sha256) {
        return Ok(Some((StatusCode::OK, Json(api_package(old)))));
    }
    if let Some(o) = st.packages.values().find(|o| o.name == p.name && o.target == p.target && o.version == p.version) {
        return Err(ApiError::conflict(format!(
            "{} v{} for {} is already published with another content ({}): publish a new version",
            p.name, p.version, p.target, o.sha256
        )));
    }
    Ok(None)
}

/// `POST /v1/packages`: the body is the `.motepkg`.
pub async fn publish(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Package>)> {
    auth::admin(&app, &h)?;
    let b = body(b)?;
    let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
    let p = publish::parse(&b, app.root.as_deref(), now)?;
    if let Some(done) = published(&app, &p)? {
        return Ok(done);
    }
    // Storing (by SHA-256, idempotent) and making deltas may take seconds: outside the writer lock.
    let rec = publish::store(&app, b.to_vec(), &p).await?;
    let _w = app.writer.lock().await;
    if let Some(done) = published(&app, &p)? {
        return Ok(done);
    }
    let r2 = rec.clone();
    app.db
        .call(move |c| {
            transaction(c, |c| {
                c.execute(
                    "INSERT INTO packages (sha256, payload_sha256, name, version, target, size, meta_len, created)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        r2.sha256.as_str().into(),
                        r2.payload_sha256.as_str().into(),
                        r2.name.as_str().into(),
                        r2.version.into(),
                        r2.target.as_str().into(),
                        r2.size.into(),
                        r2.meta_len.into(),
                        now_ms().into(),
                    ],
                )?;
                for (from, (v, size)) in &r2.deltas {
                    c.execute(
                        "INSERT INTO deltas (to_sha256, from_payload_sha256, from_version, size) VALUES ($1, $2, $3, $4)",
                        &[r2.sha256.as_str().into(), from.as_str().into(), (*v).into(), (*size).into()],
                    )?;
                }
                Ok(())
            })
        })
        .await?;
    tracing::info!(name = %rec.name, version = rec.version, target = %rec.target, size = rec.size, "package published");
    let out = api_package(&rec);
    app.state.lock().expect("state lock").packages.insert(rec.sha256.clone(), rec);
    Ok((StatusCode::CREATED, Json(out)))
}

/// `GET /v1/packages`.
pub async fn packages(State(app): State<Arc<App>>, h: HeaderMap) -> ApiResult<Json<Vec<Package>>> {
    auth::admin(&app, &h)?;
    let st = app.state.lock().expect("state lock");
    let mut v: Vec<Package> = st.packages.values().map(api_package).collect();
    v.sort_by(|a, b| (&a.name, &a.target, a.version).cmp(&(&b.name, &b.target, b.version)));
    Ok(Json(v))
}

fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// `POST /v1/devices`: enrols a device, answers its token.
pub async fn enrol(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Enrolled>)> {
    auth::admin(&app, &h)?;
    let e: Enrol = json(&body(b)?, "enrolment")?;
    if !valid_id(&e.id) || !valid_id(&e.target) {
        return Err(ApiError::bad_request(
            "enrolment: id and target must be 1-128 characters of letters, digits and . _ : -",
        ));
    }
    let _w = app.writer.lock().await;
    if app.state.lock().expect("state lock").devices.contains_key(&e.id) {
        return Err(ApiError::conflict(format!("device `{}` is already enrolled: choose another id", e.id)));
    }
    let token = format!("{}.{}", e.id, auth::secret().map_err(|e| ApiError::internal("token", e))?);
    let digest = auth::digest(&token);
    let labels = serde_json::to_string(&e.labels).expect("serializable");
    let (id, target) = (e.id.clone(), e.target.clone());
    let now = now_ms();
    app.db
        .call(move |c| {
            c.execute(
                "INSERT INTO devices (id, target, labels, token_sha256, model, version, sha256, last_seen, enrolled)
                 VALUES ($1, $2, $3, $4, '', 0, '', 0, $5)",
                &[id.into(), target.into(), labels.into(), mote_pkg::make::hex(&digest).into(), now.into()],
            )
        })
        .await?;
    let dev = Device {
        target: e.target,
        labels: e.labels,
        token_sha256: digest,
        model: String::new(),
        version: 0,
        sha256: String::new(),
        last_seen: 0,
    };
    tracing::info!(device = %e.id, target = %dev.target, "device enrolled");
    app.state.lock().expect("state lock").devices.insert(e.id.clone(), dev);
    Ok((StatusCode::CREATED, Json(Enrolled { id: e.id, token })))
}

/// `GET /v1/devices`.
pub async fn devices(State(app): State<Arc<App>>, h: HeaderMap) -> ApiResult<Json<Vec<DeviceInfo>>> {
    auth::admin(&app, &h)?;
    let st = app.state.lock().expect("state lock");
    let mut v: Vec<DeviceInfo> = st.devices.iter().map(|(id, d)| st.device_info(id, d)).collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Json(v))
}

fn check_gates(g: &Gates) -> ApiResult<()> {
    let rates =
        [("max_install_failure_rate", g.max_install_failure_rate), ("max_gate_failure_rate", g.max_gate_failure_rate)];
    for (k, v) in rates {
        if !(0.0..=1.0).contains(&v) {
            return Err(ApiError::bad_request(format!("gates.{k} = {v}: a share between 0 and 1")));
        }
    }
    if !(g.max_latency_regression.is_finite() && g.max_latency_regression > 0.0) {
        return Err(ApiError::bad_request("gates.max_latency_regression: a ratio > 0 (1.5 = 50% slower)"));
    }
    if !(g.max_confidence_shift.is_finite() && g.max_confidence_shift >= 0.0) {
        return Err(ApiError::bad_request("gates.max_confidence_shift: a PSI >= 0 (0.1 small, 0.25 large)"));
    }
    Ok(())
}

fn rollout_id(s: &str) -> ApiResult<i64> {
    s.parse().map_err(|_| ApiError::bad_request(format!("`{s}` is not a rollout id (a number)")))
}

fn status(app: &App, id: i64) -> ApiResult<RolloutStatus> {
    app.state.lock().expect("state lock").status(id).ok_or_else(|| ApiError::not_found(format!("no rollout {id}")))
}

/// `POST /v1/rollouts`.
pub async fn create_rollout(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<RolloutStatus>)> {
    auth::admin(&app, &h)?;
    let n: NewRollout = json(&body(b)?, "rollout")?;
    let s = &n.stages;
    if s.is_empty() || s.len() > 20 || s.windows(2).any(|w| w[0] >= w[1]) || s[0] <= 0.0 || s[s.len() - 1] != 100.0 {
        return Err(ApiError::bad_request(format!(
            "stages {s:?}: increasing percentages of the target's devices, ending at 100 (e.g. [1, 10, 50, 100])"
        )));
    }
    check_gates(&n.gates)?;
    let _w = app.writer.lock().await;
    let (id, p) = {
        let st = app.state.lock().expect("state lock");
        let p = st.packages.values().find(|p| p.name == n.model && p.version == n.version && p.target == n.target);
        let p = p.cloned().ok_or_else(|| {
            ApiError::not_found(format!(
                "no package {} v{} for {}: publish it first (POST /v1/packages)",
                n.model, n.version, n.target
            ))
        })?;
        if let Some(r) = st
            .rollouts
            .values()
            .find(|r| r.model == n.model && r.target == n.target && r.state == RolloutState::Running)
        {
            return Err(ApiError::conflict(format!(
                "rollout {} of {} v{} for {} is still running: halt it first (POST /v1/rollouts/{}/halt)",
                r.id, r.model, r.version, r.target, r.id
            )));
        }
        (st.rollouts.keys().next_back().map_or(1, |k| k + 1), p)
    };
    let now = now_ms();
    let r = Rollout {
        id,
        model: n.model,
        version: n.version,
        target: n.target,
        sha256: p.sha256,
        payload_sha256: p.payload_sha256,
        stages: n.stages,
        gates: n.gates,
        state: RolloutState::Running,
        stage: 0,
        stage_started: now,
        halt: None,
        assigned: HashMap::new(),
        reports: HashMap::new(),
        new_samples: HashMap::new(),
        base_samples: HashMap::new(),
    };
    let r2 = r.clone();
    app.db
        .call(move |c| {
            c.execute(
                "INSERT INTO rollouts (id, model, version, target, sha256, stages, gates, state, stage, stage_started, halt, created)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, NULL, $10)",
                &[
                    Val::Int(r2.id),
                    r2.model.as_str().into(),
                    r2.version.into(),
                    r2.target.as_str().into(),
                    r2.sha256.as_str().into(),
                    serde_json::to_string(&r2.stages).expect("serializable").into(),
                    serde_json::to_string(&r2.gates).expect("serializable").into(),
                    r2.state.as_str().into(),
                    now.into(),
                    now.into(),
                ],
            )
        })
        .await?;
    tracing::info!(rollout = id, model = %r.model, version = r.version, target = %r.target, "rollout created");
    app.state.lock().expect("state lock").rollouts.insert(id, r);
    Ok((StatusCode::CREATED, Json(status(&app, id)?)))
}

/// `GET /v1/rollouts`.
pub async fn rollouts(State(app): State<Arc<App>>, h: HeaderMap) -> ApiResult<Json<Vec<RolloutStatus>>> {
    auth::admin(&app, &h)?;
    let mut st = app.state.lock().expect("state lock");
    let ids: Vec<i64> = st.rollouts.keys().copied().collect();
    Ok(Json(ids.into_iter().filter_map(|id| st.status(id)).collect()))
}

/// `GET /v1/rollouts/{id}`.
pub async fn rollout(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<RolloutStatus>> {
    auth::admin(&app, &h)?;
    Ok(Json(status(&app, rollout_id(&id)?)?))
}

/// `POST /v1/rollouts/{id}/halt`.
pub async fn halt(State(app): State<Arc<App>>, h: HeaderMap, Path(id): Path<String>) -> ApiResult<Json<RolloutStatus>> {
    auth::admin(&app, &h)?;
    let id = rollout_id(&id)?;
    if status(&app, id)?.state == RolloutState::Completed {
        return Err(ApiError::conflict(format!(
            "rollout {id} is completed: publish and roll out a new version instead"
        )));
    }
    let h = Halt { gate: "manual".into(), reason: "halted by an admin".into(), value: 0.0, threshold: 0.0, n: 0 };
    transition(&app, id, None, Some((RolloutState::Halted, Some(h)))).await?;
    Ok(Json(status(&app, id)?))
}

/// `POST /v1/rollouts/{id}/resume`: optionally `{"gates": {...}}` with new thresholds.
pub async fn resume(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    Path(id): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<RolloutStatus>> {
    auth::admin(&app, &h)?;
    let id = rollout_id(&id)?;
    let b = body(b)?;
    let r: Resume = if b.is_empty() { Resume::default() } else { json(&b, "resume")? };
    if status(&app, id)?.state != RolloutState::Halted {
        return Err(ApiError::conflict(format!("rollout {id} is not halted")));
    }
    if let Some(g) = &r.gates {
        check_gates(g)?;
        let _w = app.writer.lock().await;
        let js = serde_json::to_string(g).expect("serializable");
        app.db
            .call(move |c| c.execute("UPDATE rollouts SET gates = $1 WHERE id = $2", &[js.into(), Val::Int(id)]))
            .await?;
        if let Some(ro) = app.state.lock().expect("state lock").rollouts.get_mut(&id) {
            ro.gates = g.clone();
        }
    }
    transition(&app, id, None, Some((RolloutState::Running, None))).await?;
    Ok(Json(status(&app, id)?))
}
