//! The agent's local inference API (`mote agent run`): `GET /v1/status`, `POST /v1/infer` on
//! loopback TCP or a Unix socket, axum on a small tokio runtime of its own thread.
//!
//! Invariant: the served model is an `Arc<Loaded>` behind a `RwLock` that is replaced only after
//! the store has committed a new model; a request takes the `Arc` it finds and finishes on it,
//! so no request sees a half-installed model or an error caused by an update.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use anyhow::{Context, Result};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mote_core::DType;
use mote_fleet::api::Metrics;
use mote_ir::{Tensor, Value};
use mote_rt::Runtime;
use mote_rt::host::AlignedBuf;
use serde::Deserialize;

/// A verified, committed model ready to run.
pub struct Loaded {
    pub name: String,
    pub version: u64,
    pub slot: usize,
    pub sha256: String,
    /// Validated once at load. Declared before `_model` so that it is dropped first: it
    /// borrows `_model`'s bytes.
    rt: Runtime<'static>,
    /// The `.mote` bytes `rt` runs: a heap block that never moves (moving the `AlignedBuf`
    /// moves only its handle) and is never written after load.
    _model: AlignedBuf,
    arena: Mutex<AlignedBuf>,
    /// Each input's name, dtype and shape.
    inputs: Vec<(String, DType, Vec<usize>)>,
}

impl Loaded {
    /// Loads the `.mote` inside a store payload (`mote_pkg::payload`).
    pub fn new(rec: &mote_fleet::SlotRecord, slot: usize, payload: &[u8]) -> Result<Loaded> {
        let (_, model) = mote_pkg::payload::split(payload).map_err(|e| anyhow::anyhow!("the payload: {e}"))?;
        let model = AlignedBuf::from_bytes(model);
        // SAFETY: the bytes are `model`'s heap block, which stays where it is when `model` moves
        // into the struct (as `_model`) and is never written or freed while `rt` lives (`rt` is dropped
        // first, by field order), so the 'static borrow never outlives them.
        let bytes: &'static [u8] = unsafe { std::slice::from_raw_parts(model.as_ref().as_ptr(), model.as_ref().len()) };
        let rt = Runtime::load(bytes).map_err(|e| anyhow::anyhow!("the model does not load: {e}"))?;
        let inputs = rt
            .inputs()
            .map(|i| (i.name.to_string(), i.dtype, i.dims().iter().map(|&d| d as usize).collect()))
            .collect();
        let arena = Mutex::new(AlignedBuf::zeroed(rt.arena_size()));
        Ok(Loaded {
            name: rec.name.clone(),
            version: rec.model_version,
            slot,
            sha256: rec.sha256.clone(),
            rt,
            _model: model,
            arena,
            inputs,
        })
    }

    /// Runs the model on `named` inputs; the outputs by name and the milliseconds the run took
    /// (the invocation with its input and output copies).
    fn run(&self, named: &[(String, Value)]) -> Result<(Vec<(String, Tensor)>, f64), String> {
        let rt = &self.rt;
        let mut arena = self.arena.lock().unwrap_or_else(|p| p.into_inner());
        let t = Instant::now();
        let outs = mote_compile::host::run_named(rt, &mut arena, named)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let names: Vec<String> = rt.outputs().map(|o| o.name.to_string()).collect();
        let outs = names
            .into_iter()
            .zip(outs)
            .filter_map(|(n, v)| match v {
                Value::Tensor(t) => Some((n, t)),
                _ => None,
            })
            .collect();
        Ok((outs, ms))
    }
}

/// Inferences served since the last check-in, by the model whose payload is `sha256`.
#[derive(Default)]
struct Window {
    sha256: String,
    latencies: Vec<f64>,
    hist: [u32; 10],
    count: u64,
}

/// What the loop and the API share.
pub struct Shared {
    model: RwLock<Option<Arc<Loaded>>>,
    served: AtomicU64,
    window: Mutex<Window>,
}

/// The most latency samples kept between two check-ins (the median of a sample of them).
const MAX_SAMPLES: usize = 100_000;

impl Shared {
    pub fn new(model: Option<Loaded>) -> Shared {
        let window =
            Window { sha256: model.as_ref().map(|m| m.sha256.clone()).unwrap_or_default(), ..Window::default() };
        Shared { model: RwLock::new(model.map(Arc::new)), served: AtomicU64::new(0), window: Mutex::new(window) }
    }

    pub fn current(&self) -> Option<Arc<Loaded>> {
        self.model.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Serves `m` from now on (requests in flight finish on the old one).
    pub fn swap(&self, m: Loaded) {
        // Metrics describe one model: the window restarts with the new one.
        *self.window.lock().unwrap_or_else(|p| p.into_inner()) =
            Window { sha256: m.sha256.clone(), ..Window::default() };
        *self.model.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(m));
    }

    /// The metrics of the inferences since the last call (`None` without any).
    pub fn take_metrics(&self) -> Option<Metrics> {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if w.count == 0 {
            return None;
        }
        let sha256 = w.sha256.clone();
        let mut w = std::mem::replace(&mut *w, Window { sha256, ..Window::default() });
        w.latencies.sort_by(f64::total_cmp);
        let latency_ms = w.latencies.get(w.latencies.len() / 2).copied().unwrap_or(0.0);
        Some(Metrics { latency_ms, confidence_hist: w.hist, inferences: w.count })
    }

    /// Puts metrics back after a check-in that did not reach the server.
    pub fn restore_metrics(&self, m: Metrics) {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        w.count += m.inferences;
        for (a, b) in w.hist.iter_mut().zip(m.confidence_hist) {
            *a += b;
        }
        if w.latencies.len() < MAX_SAMPLES {
            w.latencies.push(m.latency_ms);
        }
    }

    /// Counts an inference by the model `sha256`; only the current model's go into the window.
    fn record(&self, sha256: &str, latency_ms: f64, confidence: Option<f32>) {
        self.served.fetch_add(1, Ordering::Relaxed);
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if w.sha256 != sha256 {
            return;
        }
        w.count += 1;
        if w.latencies.len() < MAX_SAMPLES {
            w.latencies.push(latency_ms);
        }
        if let Some(c) = confidence {
            w.hist[((c.clamp(0.0, 1.0) * 10.0) as usize).min(9)] += 1;
        }
    }
}

/// The top-1 confidence of a classifier's output: its largest value if it already is a
/// probability vector, else the largest softmax probability.
fn confidence(t: &Tensor) -> Option<f32> {
    let v = t.to_f32_vec().ok().filter(|v| !v.is_empty() && v.iter().all(|x| x.is_finite()))?;
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = v.iter().sum();
    if v.iter().all(|&x| (0.0..=1.0).contains(&x)) && (sum - 1.0).abs() < 1e-3 {
        return Some(max);
    }
    Some(1.0 / v.iter().map(|&x| (x - max).exp()).sum::<f32>())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InferRequest {
    inputs: BTreeMap<String, InputJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputJson {
    shape: Vec<usize>,
    data: Vec<f64>,
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({"error": msg.into()}))).into_response()
}

fn build<T: mote_ir::tensor::Elem>(shape: Vec<usize>, data: &[f64]) -> Result<Tensor, String> {
    Tensor::from_vec(shape, data.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>()).map_err(|e| e.to_string())
}

/// The request's inputs as tensors of the model's dtypes, checked against its shapes.
fn tensors(m: &Loaded, req: InferRequest) -> Result<Vec<(String, Value)>, String> {
    let expected = || m.inputs.iter().map(|(n, d, s)| format!("`{n}` {d} {s:?}")).collect::<Vec<_>>().join(", ");
    if let Some(k) = req.inputs.keys().find(|k| !m.inputs.iter().any(|(n, ..)| n == *k)) {
        return Err(format!("unknown input `{k}`: the model takes {}", expected()));
    }
    let mut named = Vec::new();
    for (name, dtype, shape) in &m.inputs {
        let i =
            req.inputs.get(name).ok_or_else(|| format!("missing input `{name}`: the model takes {}", expected()))?;
        if &i.shape != shape {
            return Err(format!("input `{name}` has shape {:?}, the model takes {shape:?}", i.shape));
        }
        let n: usize = shape.iter().product();
        if i.data.len() != n {
            return Err(format!("input `{name}`: shape {shape:?} holds {n} values, `data` has {}", i.data.len()));
        }
        let integer = !matches!(dtype, DType::F32 | DType::F64 | DType::F16 | DType::BF16);
        if integer && let Some(x) = i.data.iter().find(|x| x.fract() != 0.0) {
            return Err(format!("input `{name}` is {dtype}: {x} is not an integer"));
        }
        let s = shape.clone();
        let t = match dtype {
            DType::F32 => build::<f32>(s, &i.data),
            DType::F64 => build::<f64>(s, &i.data),
            DType::U8 => build::<u8>(s, &i.data),
            DType::I8 => build::<i8>(s, &i.data),
            DType::U16 => build::<u16>(s, &i.data),
            DType::I16 => build::<i16>(s, &i.data),
            DType::I32 => build::<i32>(s, &i.data),
            DType::I64 => build::<i64>(s, &i.data),
            DType::Bool => build::<bool>(s, &i.data),
            other => Err(format!("input `{name}` is {other}, which the JSON API does not take (f32, f64 or integers)")),
        }?;
        named.push((name.clone(), Value::Tensor(t)));
    }
    Ok(named)
}

async fn status(State(s): State<Arc<Shared>>) -> Response {
    let served = s.served.load(Ordering::Relaxed);
    let body = match s.current() {
        Some(m) => serde_json::json!({"model": m.name, "version": m.version, "slot": (["A", "B"][m.slot]),
            "sha256": m.sha256, "inferences": served}),
        None => serde_json::json!({"model": null, "version": null, "slot": null, "sha256": null, "inferences": served}),
    };
    Json(body).into_response()
}

async fn infer(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req: InferRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body must be {{\"inputs\": {{\"NAME\": {{\"shape\": [..], \"data\": [..]}}}}}}: {e}"),
            );
        }
    };
    let Some(m) = s.current() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "no model is installed yet: the agent is waiting for one");
    };
    let named = match tensors(&m, req) {
        Ok(n) => n,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let job = tokio::task::spawn_blocking(move || {
        let r = m.run(&named);
        (m, r)
    });
    let (m, r) = match job.await {
        Ok(x) => x,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("the inference failed: {e}")),
    };
    let (outs, latency_ms) = match r {
        Ok(o) => o,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    s.record(&m.sha256, latency_ms, outs.first().and_then(|(_, t)| confidence(t)));
    let outputs: serde_json::Map<String, serde_json::Value> = outs
        .iter()
        .map(|(n, t)| {
            let data = t.to_f64_vec().unwrap_or_default();
            (n.clone(), serde_json::json!({"dtype": t.dtype().to_string(), "shape": t.shape(), "data": data}))
        })
        .collect();
    Json(serde_json::json!({"model": m.name, "version": m.version, "latency_ms": latency_ms, "outputs": outputs}))
        .into_response()
}

/// Where the API listens.
pub enum Listen {
    Tcp(String),
    Unix(std::path::PathBuf),
}

/// Starts the API on its own thread; returns once it listens, with the address it took.
pub fn spawn(shared: Arc<Shared>, listen: Listen) -> Result<String> {
    let app = axum::Router::new()
        .route("/v1/status", axum::routing::get(status))
        .route("/v1/infer", axum::routing::post(infer))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "unknown endpoint: GET /v1/status, POST /v1/infer") })
        .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
        .with_state(shared);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (tx, rx) = std::sync::mpsc::channel::<Result<String>>();
    std::thread::Builder::new()
        .name("mote-agent-api".into())
        .spawn(move || {
            rt.block_on(async move {
                match listen {
                    Listen::Tcp(addr) => match tokio::net::TcpListener::bind(&addr).await {
                        Ok(l) => {
                            let at = l.local_addr().map(|a| format!("http://{a}")).unwrap_or(addr);
                            let _ = tx.send(Ok(at));
                            let _ = axum::serve(l, app).await;
                        }
                        Err(e) => drop(tx.send(Err(anyhow::anyhow!("cannot listen on {addr}: {e}")))),
                    },
                    Listen::Unix(path) => {
                        // A socket left by an earlier run is replaced; any other file is not.
                        use std::os::unix::fs::FileTypeExt;
                        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket()) {
                            let _ = std::fs::remove_file(&path);
                        }
                        match tokio::net::UnixListener::bind(&path) {
                            Ok(l) => {
                                let _ = tx.send(Ok(format!("unix:{}", path.display())));
                                let _ = axum::serve(l, app).await;
                            }
                            Err(e) => drop(tx.send(Err(anyhow::anyhow!("cannot listen on `{}`: {e}", path.display())))),
                        }
                    }
                }
            })
        })
        .context("cannot start the API thread")?;
    rx.recv().context("the API thread stopped")?
}
