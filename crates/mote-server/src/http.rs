//! The router, start-up (database, artifact store, state, admin token) and the periodic tick.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use object_store::local::LocalFileSystem;

use crate::error::ApiError;
use crate::{App, Config, artifacts, auth, db, device, rollout, routes, state};

/// JSON bodies other than packages.
const JSON_LIMIT: usize = 64 << 10;

pub fn router(app: Arc<App>, max_package: usize) -> Router {
    let packages = Router::new()
        .route("/v1/packages", post(routes::publish).get(routes::packages))
        .layer(DefaultBodyLimit::max(max_package));
    Router::new()
        .route("/v1/openapi.json", get(routes::openapi))
        .route("/v1/devices", post(routes::enrol).get(routes::devices))
        .route("/v1/rollouts", post(routes::create_rollout).get(routes::rollouts))
        .route("/v1/rollouts/{id}", get(routes::rollout))
        .route("/v1/rollouts/{id}/halt", post(routes::halt))
        .route("/v1/rollouts/{id}/resume", post(routes::resume))
        .route("/v1/checkin", post(device::checkin))
        .route("/v1/reports", post(device::report))
        .route("/v1/artifacts/{sha}", get(artifacts::full))
        .route("/v1/artifacts/{sha}/delta/{from}", get(artifacts::delta))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .merge(packages)
        .fallback(|| async { ApiError::not_found("no such endpoint: the API is described at GET /v1/openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint does not take that method: see GET /v1/openapi.json",
            )
        })
        .with_state(app)
}

async fn open(config: &Config) -> Result<(Arc<App>, String), String> {
    std::fs::create_dir_all(config.data.join("artifacts"))
        .map_err(|e| format!("cannot create `{}`: {e}", config.data.display()))?;
    let admin = auth::admin_token(config.admin_token_file.as_deref(), &config.data)?;
    let url = config.db.clone().unwrap_or_else(|| config.data.join("fleet.db").to_string_lossy().into_owned());
    let db = tokio::task::spawn_blocking(move || db::Db::open(&url))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let st = db.call(state::State::load).await.map_err(|e| format!("cannot load the state: {e}"))?;
    let store = LocalFileSystem::new_with_prefix(config.data.join("artifacts"))
        .map_err(|e| format!("cannot open the artifact store: {e}"))?;
    let root = match &config.root {
        Some(p) => Some(std::fs::read(p).map_err(|e| format!("cannot read the root `{}`: {e}", p.display()))?),
        None => None,
    };
    tracing::info!(
        db = db.kind,
        devices = st.devices.len(),
        packages = st.packages.len(),
        rollouts = st.rollouts.len(),
        "state loaded"
    );
    let app = App {
        db,
        store: Arc::new(store),
        state: Mutex::new(st),
        writer: tokio::sync::Mutex::new(()),
        admin_sha256: auth::digest(&admin),
        root,
    };
    Ok((Arc::new(app), admin))
}

type Ready = std::sync::mpsc::Sender<Result<(SocketAddr, String), String>>;

/// Serves until `stop` (or a signal when `config.handle_signals`).
pub async fn serve(config: Config, ready: Ready, stop: tokio::sync::oneshot::Receiver<()>) -> Result<(), String> {
    let started = async {
        let (app, admin) = open(&config).await?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        Ok::<_, String>((app, admin, listener, addr))
    };
    let (app, admin, listener, addr) = match started.await {
        Ok(v) => v,
        Err(e) => {
            let _ = ready.send(Err(e.clone()));
            return Err(e);
        }
    };
    rollout::tick(&app).await;
    let ticker = {
        let app = app.clone();
        let every = config.tick;
        tokio::spawn(async move {
            let mut t = tokio::time::interval(every);
            loop {
                t.tick().await;
                rollout::tick(&app).await;
            }
        })
    };
    tracing::info!("listening on http://{addr}");
    let _ = ready.send(Ok((addr, admin)));
    let signals = config.handle_signals;
    let shutdown = async move {
        if signals {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let term = async move {
                match term.as_mut() {
                    Some(t) => t.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop => {}
                _ = tokio::signal::ctrl_c() => {}
                _ = term => {}
            }
        } else {
            let _ = stop.await;
        }
        tracing::info!("stopping");
    };
    let router = router(app.clone(), config.max_package_bytes);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await.map_err(|e| format!("server error: {e}"))?;
    ticker.abort();
    rollout::flush(&app).await.map_err(|e| format!("cannot flush check-ins at shutdown: {e}"))?;
    Ok(())
}
